#include "handoff/conformance/relay.hpp"

#include "handoff/conformance/process.hpp"

#include <cstdio>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace handoff::conformance {

namespace {

sockaddr_un address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    return addr;
}

bool send_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return false;
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

} // namespace

Relay::Relay(std::string listen_path, std::string target_path, bool held)
    : listen_path_(std::move(listen_path)), target_path_(std::move(target_path)), open_(!held) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_un addr = address(listen_path_);
    ::unlink(listen_path_.c_str());
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 1) != 0) {
        ::close(listen_fd_);
        throw HarnessError("relay cannot listen on " + listen_path_);
    }
    accept_ = std::thread([this] { accept_loop(); });
}

Relay::~Relay() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    cut();
    for (std::thread* t : {&accept_, &up_, &down_, &back_}) {
        if (t->joinable()) {
            t->join();
        }
    }
    ::close(listen_fd_);
    std::lock_guard lock(mu_);
    if (src_fd_ >= 0) {
        ::close(src_fd_);
    }
    if (dst_fd_ >= 0) {
        ::close(dst_fd_);
    }
}

void Relay::accept_loop() {
    // Poll so that the destructor's stop_ ends the wait.
    for (;;) {
        {
            std::lock_guard lock(mu_);
            if (stop_) {
                return;
            }
        }
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
            continue;
        }
        const int src = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (src < 0) {
            return;
        }
        const int dst = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_un addr = address(target_path_);
        if (::connect(dst, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
            ::close(src);
            ::close(dst);
            return;
        }
        {
            std::lock_guard lock(mu_);
            src_fd_ = src;
            dst_fd_ = dst;
        }
        up_ = std::thread([this] { up_loop(); });
        down_ = std::thread([this] { down_loop(); });
        back_ = std::thread([this] { back_loop(); });
        return; // one migration per relay
    }
}

void Relay::up_loop() {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(src_fd_, buf, sizeof(buf), 0);
        std::lock_guard lock(mu_);
        if (n <= 0) {
            src_eof_ = true;
            if (!open_) {
                // The source gave up while the stream was held (failed or cancelled): the
                // destination sees its connection end without the held bytes.
                ::shutdown(dst_fd_, SHUT_RDWR);
            }
            cv_.notify_all();
            return;
        }
        buffer_.append(buf, static_cast<std::size_t>(n));
        cv_.notify_all();
    }
}

void Relay::down_loop() {
    for (;;) {
        std::string chunk;
        bool eof = false;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stop_ || (open_ && (!buffer_.empty() || src_eof_)); });
            if (stop_) {
                return;
            }
            chunk.swap(buffer_);
            eof = src_eof_ && chunk.empty();
        }
        if (eof) {
            ::shutdown(dst_fd_, SHUT_WR);
            return;
        }
        if (!send_all(dst_fd_, chunk.data(), chunk.size())) {
            return;
        }
    }
}

void Relay::back_loop() {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(dst_fd_, buf, sizeof(buf), 0);
        if (n <= 0) {
            ::shutdown(src_fd_, SHUT_RDWR);
            return;
        }
        if (!send_all(src_fd_, buf, static_cast<std::size_t>(n))) {
            return;
        }
    }
}

void Relay::release() {
    {
        std::lock_guard lock(mu_);
        open_ = true;
    }
    cv_.notify_all();
}

bool Relay::held() const {
    std::lock_guard lock(mu_);
    return !open_;
}

void Relay::cut() {
    std::lock_guard lock(mu_);
    if (src_fd_ >= 0) {
        ::shutdown(src_fd_, SHUT_RDWR);
    }
    if (dst_fd_ >= 0) {
        ::shutdown(dst_fd_, SHUT_RDWR);
    }
    stop_ = true;
    cv_.notify_all();
}

} // namespace handoff::conformance
