// The QMP client (conformance/src/qmp.cpp) on arbitrary bytes from "QEMU": the greeting, the
// replies and events of a few commands, as the harness sends them. The bytes arrive through a
// socket pair whose far end is closed after them, so every read ends (in a reply, or in "QMP
// connection closed") without waiting. Only HarnessError may come out: the harness turns it into
// "harness failure" (exit code 4 of replay-qemu, the harness's own failure); any other exception
// would be an internal error, and a leaked socket would end the process's descriptors.
#include "fuzz_support.hpp"

#include "handoff/conformance/qmp.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace c = handoff::conformance;
    if (size > 65536) {
        return 0; // more than a socket pair holds without a reader; replies are far shorter
    }
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        handoff::fuzz::broken(std::string("socketpair: ") + std::strerror(errno),
                              "(descriptors leaked by earlier inputs?)");
    }
    std::size_t sent = 0;
    while (sent < size) {
        const ssize_t n = ::send(fds[1], data + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            break;
        }
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fds[1], SHUT_WR);
    try {
        c::QmpClient qmp(fds[0], c::milliseconds(1000));
        qmp.execute("query-status");
        qmp.execute_ok("query-block");
        qmp.hmp("info block");
        qmp.execute_ok("query-named-block-nodes", {{"flat", true}});
    } catch (const c::HarnessError&) {
    }
    ::close(fds[1]);
    return 0;
}
