#include "handoff/conformance/binaries.hpp"

#include "handoff/conformance/process.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <unistd.h>

namespace handoff::conformance {

namespace fs = std::filesystem;

namespace {

bool executable(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string existing_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec) ? p.string() : std::string();
}

} // namespace

const std::vector<KnownBinary>& known_binaries() {
    // The versions Debian 12 can run: its own 7.2.22, and bookworm-backports' 10.0.x unpacked
    // beside it (real-qemu.md section 6). A table that models another release gets a row here
    // once a binary of that release can be had the same way.
    static const std::vector<KnownBinary> table{
        {"v7.2", KnownBinary::Source::system_path, "7.2"},
        {"v10.0", KnownBinary::Source::fetched, "10.0"},
    };
    return table;
}

std::string fetched_qemu_dir() {
    std::string cache;
    if (const char* c = std::getenv("HANDOFF_QEMU_CACHE"); c != nullptr && *c != '\0') {
        cache = c;
    } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
        cache = std::string(x) + "/handoff";
    } else {
        const char* home = std::getenv("HOME");
        cache = std::string(home != nullptr ? home : "") + "/.cache/handoff";
    }
    return cache + "/qemu-10.0";
}

std::optional<QemuBinaries> qemu_in(const std::string& dir) {
    const fs::path root(dir);
    // A QEMU build directory: the programs at its top, the firmware in pc-bios/.
    if (executable(root / "qemu-system-x86_64")) {
        QemuBinaries q;
        q.system = (root / "qemu-system-x86_64").string();
        q.img = (root / "qemu-img").string();
        q.nbd = (root / "qemu-nbd").string();
        q.firmware = existing_dir(root / "pc-bios");
        q.origin = dir;
        return q;
    }
    // An installed tree. Debian's binaries are built for /usr and are not relocatable: without -L
    // and QEMU_MODULE_DIR they would take the system's (7.2's) firmware and modules.
    for (const fs::path& prefix : {root / "usr", root}) {
        if (executable(prefix / "bin" / "qemu-system-x86_64")) {
            QemuBinaries q;
            q.system = (prefix / "bin" / "qemu-system-x86_64").string();
            q.img = (prefix / "bin" / "qemu-img").string();
            q.nbd = (prefix / "bin" / "qemu-nbd").string();
            q.firmware = existing_dir(prefix / "share" / "qemu");
            q.module_dir = existing_dir(prefix / "lib" / "x86_64-linux-gnu" / "qemu");
            if (q.module_dir.empty()) {
                q.module_dir = existing_dir(prefix / "lib" / "qemu");
            }
            q.origin = dir;
            return q;
        }
    }
    return std::nullopt;
}

std::string expected_version(const std::string& model_version) {
    for (const KnownBinary& k : known_binaries()) {
        if (k.model_version == model_version) {
            return std::string(k.expected);
        }
    }
    std::string v = model_version.rfind('v', 0) == 0 ? model_version.substr(1) : model_version;
    return v.substr(0, v.find('-'));
}

bool version_matches(const std::string& line, const std::string& expected) {
    const std::string head = "QEMU emulator version " + expected;
    if (line.rfind(head, 0) != 0) {
        return false;
    }
    const char next = line.size() > head.size() ? line[head.size()] : ' ';
    return next == '.' || next == ' ';
}

QemuBinaries qemu_at(const std::string& dir) {
    auto q = qemu_in(dir);
    if (!q) {
        throw BinaryError("--qemu " + dir +
                          ": no executable qemu-system-x86_64 there, in bin/ or in usr/bin/");
    }
    q->origin = "--qemu " + dir;
    return *q;
}

QemuBinaries select_qemu(const std::string& model_version, const std::string& override_dir) {
    if (!override_dir.empty()) {
        return qemu_at(override_dir);
    }
    std::string have;
    for (const KnownBinary& k : known_binaries()) {
        have += (have.empty() ? "" : ", ") + std::string(k.model_version);
        if (k.model_version != model_version) {
            continue;
        }
        if (k.source == KnownBinary::Source::system_path) {
            QemuBinaries q;
            q.origin = "the system's";
            return q;
        }
        const std::string dir = fetched_qemu_dir();
        auto q = qemu_in(dir);
        if (!q) {
            throw HarnessError("no QEMU " + std::string(k.expected) + " in " + dir +
                               " (run conformance/fetch-qemu, or ./run fetch-qemu)");
        }
        q->origin = dir;
        return *q;
    }
    throw BinaryError("no real QEMU for " + model_version +
                      " on this machine (binaries for: " + have + "); name one with --qemu DIR");
}

std::string qemu_version(const QemuBinaries& q) {
    static std::map<std::string, std::string> seen;
    if (auto it = seen.find(q.system); it != seen.end()) {
        return it->second;
    }
    char tmpl[] = "/tmp/handoff-qemu-version-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd < 0) {
        throw HarnessError("mkstemp failed");
    }
    ::close(fd);
    std::string line;
    std::optional<ExitStatus> st;
    try {
        Process p("qemu-version", {q.system, "--version"}, tmpl);
        st = p.wait_for(milliseconds(10000));
        const std::string out = read_file(tmpl);
        line = out.substr(0, out.find('\n'));
    } catch (const HarnessError&) {
        st.reset();
    }
    ::unlink(tmpl);
    if (!st || st->signaled || st->code != 0 || line.empty()) {
        throw HarnessError(q.system + " --version did not run" +
                           (line.empty() ? std::string() : ": " + line));
    }
    seen[q.system] = line;
    return line;
}

} // namespace handoff::conformance
