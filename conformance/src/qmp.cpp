#include "handoff/conformance/qmp.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace handoff::conformance {

QmpClient::QmpClient(const std::string& socket_path, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path)) {
        throw HarnessError("socket path too long: " + socket_path);
    }
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
    for (;;) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
            break;
        }
        ::close(fd_);
        fd_ = -1;
        if (Clock::now() >= deadline) {
            throw HarnessError("no QMP socket at " + socket_path);
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
    handshake(deadline);
}

QmpClient::QmpClient(int connected_fd, milliseconds timeout) : fd_(connected_fd) {
    handshake(Clock::now() + timeout);
}

// A constructor that throws runs no destructor: the socket is closed here.
void QmpClient::handshake(Clock::time_point deadline) {
    try {
        greet(deadline);
    } catch (...) {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        throw;
    }
}

void QmpClient::greet(Clock::time_point deadline) {
    const auto greeting = read_message(deadline);
    if (!greeting.is_object() || !greeting.contains("QMP")) {
        throw HarnessError("unexpected QMP greeting: " + greeting.dump());
    }
    execute_ok("qmp_capabilities");
}

QmpClient::~QmpClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

nlohmann::json QmpClient::read_message(Clock::time_point deadline) {
    for (;;) {
        const auto nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            const std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            if (line.find_first_not_of(" \r\t") == std::string::npos) {
                continue;
            }
            try {
                return nlohmann::json::parse(line);
            } catch (const nlohmann::json::exception&) {
                // Quoted with invalid UTF-8 replaced: dump() throws on it otherwise (found by
                // fuzz/qmp_fuzz.cpp).
                throw HarnessError(
                    "QMP sent a line that is not JSON: " +
                    nlohmann::json(line.substr(0, 200))
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            }
        }
        if (fd_ < 0) {
            throw HarnessError("QMP connection closed");
        }
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            throw HarnessError("QMP reply timed out");
        }
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            continue; // the deadline check above ends the wait
        }
        char buf[4096];
        const ssize_t n = ::read(fd_, buf, sizeof(buf));
        if (n <= 0) {
            ::close(fd_);
            fd_ = -1;
            throw HarnessError("QMP connection closed (the process has gone)");
        }
        buffer_.append(buf, static_cast<std::size_t>(n));
    }
}

nlohmann::json QmpClient::execute(const std::string& command, const nlohmann::json& arguments,
                                  milliseconds timeout) {
    if (fd_ < 0) {
        throw HarnessError("QMP connection closed (the process has gone)");
    }
    const long id = next_id_++;
    nlohmann::json msg{{"execute", command}, {"id", id}};
    if (!arguments.empty()) {
        msg["arguments"] = arguments;
    }
    const std::string text = msg.dump() + "\n";
    Transcript* t = transcript_ != nullptr && !transcript_->muted() ? transcript_ : nullptr;
    if (t != nullptr) {
        t->qmp_sent(host_, command, arguments);
    }
    try {
        if (::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(text.size())) {
            throw HarnessError("QMP send failed: " + std::string(std::strerror(errno)));
        }
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            nlohmann::json reply = read_message(deadline);
            if (reply.contains("event")) {
                events_.push_back(std::move(reply));
                continue;
            }
            if (reply.contains("id") && reply["id"] == id) {
                if (t != nullptr) {
                    t->qmp_reply(host_, reply);
                }
                return reply;
            }
        }
    } catch (const HarnessError& e) {
        // A process that dies on a command (an assertion) answers nothing: that is the story.
        if (t != nullptr) {
            t->add("reply", host_, std::string("(no reply: ") + e.what() + ")");
        }
        throw;
    }
}

nlohmann::json QmpClient::execute_ok(const std::string& command, const nlohmann::json& arguments,
                                     milliseconds timeout) {
    nlohmann::json reply = execute(command, arguments, timeout);
    if (reply.contains("error")) {
        const nlohmann::json& error = reply["error"];
        const bool has_desc =
            error.is_object() && error.contains("desc") && error["desc"].is_string();
        throw HarnessError(
            command + " failed: " + (has_desc ? error["desc"].get<std::string>() : reply.dump()));
    }
    return reply["return"];
}

std::string QmpClient::hmp(const std::string& command_line, milliseconds timeout) {
    const nlohmann::json r =
        execute_ok("human-monitor-command", {{"command-line", command_line}}, timeout);
    return r.is_string() ? r.get<std::string>() : r.dump();
}

} // namespace handoff::conformance
