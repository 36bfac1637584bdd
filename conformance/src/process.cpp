#include "handoff/conformance/process.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace handoff::conformance {

namespace {

// Live children, readable from a signal handler: a fixed array of atomics.
constexpr std::size_t kMaxChildren = 64;
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};

void remember(pid_t pid) {
    for (auto& slot : g_children) {
        pid_t expected = 0;
        if (slot.compare_exchange_strong(expected, pid)) {
            return;
        }
    }
}

void forget(pid_t pid) {
    for (auto& slot : g_children) {
        pid_t expected = pid;
        if (slot.compare_exchange_strong(expected, 0)) {
            return;
        }
    }
}

extern "C" void kill_children_and_reraise(int sig) {
    for (auto& slot : g_children) {
        const pid_t pid = slot.load();
        if (pid > 0) {
            ::kill(pid, SIGKILL);
        }
    }
    std::signal(sig, SIG_DFL);
    ::raise(sig);
}

ExitStatus decode(int status) {
    if (WIFSIGNALED(status)) {
        return {true, WTERMSIG(status)};
    }
    return {false, WEXITSTATUS(status)};
}

} // namespace

std::string ExitStatus::text() const {
    if (signaled) {
        return std::string("killed by signal ") + std::to_string(code) + " (" + strsignal(code) +
               ")";
    }
    return "exit status " + std::to_string(code);
}

void install_cleanup_handler() {
    static const bool installed = [] {
        struct sigaction sa {};
        sa.sa_handler = kill_children_and_reraise;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        sigaction(SIGHUP, &sa, nullptr);
        return true;
    }();
    (void)installed;
}

Process::Process(std::string name, const std::vector<std::string>& argv,
                 const std::string& log_path, const std::vector<std::string>& env)
    : name_(std::move(name)), log_path_(log_path) {
    install_cleanup_handler();
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    // The child's environment is built here: after fork() in a process with threads (the relay's)
    // only async-signal-safe calls are allowed, and setenv() is not one.
    std::vector<std::string> entries;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        bool replaced = false;
        for (const auto& extra : env) {
            const std::string key = extra.substr(0, extra.find('=') + 1);
            replaced = replaced || entry.rfind(key, 0) == 0;
        }
        if (!replaced) {
            entries.push_back(entry);
        }
    }
    entries.insert(entries.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : entries) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw HarnessError("cannot open " + log_path + ": " + std::strerror(errno));
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(fd);
        throw HarnessError("fork failed: " + std::string(std::strerror(errno)));
    }
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);
        }
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, STDIN_FILENO);
        ::execvpe(args[0], args.data(), envp.data());
        const std::string msg = std::string("exec ") + args[0] + " failed\n";
        (void)!::write(STDERR_FILENO, msg.data(), msg.size());
        ::_exit(127);
    }
    ::close(fd);
    remember(pid_);
}

Process::~Process() {
    kill_now();
}

std::optional<ExitStatus> Process::poll() {
    if (status_ || pid_ <= 0) {
        return status_;
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = decode(status);
        forget(pid_);
    }
    return status_;
}

std::optional<ExitStatus> Process::wait_for(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!poll() && Clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(5));
    }
    return poll();
}

ExitStatus Process::stop(milliseconds grace) {
    if (!poll()) {
        ::kill(pid_, SIGTERM);
        if (!wait_for(grace)) {
            kill_now();
        }
    }
    return *status_;
}

void Process::kill_now() {
    if (pid_ > 0 && !poll()) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        status_ = decode(status);
        forget(pid_);
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace handoff::conformance
