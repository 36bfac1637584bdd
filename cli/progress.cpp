#include "progress.hpp"

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <string_view>
#include <sys/ioctl.h>
#include <unistd.h>

namespace handoff::cli {

namespace {
constexpr auto kInterval = std::chrono::milliseconds(250);
} // namespace

ProgressLine::ProgressLine(bool quiet) {
    const char* mode = std::getenv("HANDOFF_PROGRESS");
    enabled_ = !quiet && (::isatty(STDERR_FILENO) == 1 ||
                          (mode != nullptr && std::string_view(mode) == "always"));
}

ProgressLine::~ProgressLine() {
    if (shown_) {
        std::fputs("\r\033[K", stderr); // erase the line: the command's own output follows
        std::fflush(stderr);
    }
}

void ProgressLine::show(const std::string& text) {
    const auto now = std::chrono::steady_clock::now();
    if (!enabled_ || (shown_ && now - last_ < kInterval)) {
        return;
    }
    // One row of the terminal: a longer line would wrap, and \r would not take it back.
    struct winsize size {};
    const std::size_t width =
        ::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1 ? size.ws_col : 80;
    const std::string shown = text.size() < width ? text : text.substr(0, width - 1);
    std::fprintf(stderr, "\r\033[K%s", shown.c_str());
    std::fflush(stderr);
    shown_ = true;
    last_ = now;
}

CheckProgressLine::CheckProgressLine(bool quiet, std::string command)
    : line_(quiet), command_(std::move(command)) {
    if (!line_.enabled()) {
        return;
    }
    ticker_ = std::jthread([this](std::stop_token stop) {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!stop.stop_requested()) {
            refresh();
            wake_.wait_for(lock, stop, kInterval, [] { return false; });
        }
    });
}

CheckProgressLine::~CheckProgressLine() {
    if (ticker_.joinable()) {
        ticker_.request_stop();
        ticker_.join();
    }
}

void CheckProgressLine::attach(proofs::CheckOptions& o, std::string what) {
    if (!line_.enabled()) {
        return;
    }
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        what_ = std::move(what);
        last_ = {};
    }
    o.on_progress = [this](const proofs::CheckProgress& p) {
        const std::lock_guard<std::mutex> lock(mutex_);
        last_ = p;
        refresh(); // at once: a short run may end before the ticker's next turn
    };
}

// Called with mutex_ held, by the ticker and on every event.
void CheckProgressLine::refresh() {
    if (last_.cells == 0) {
        return; // nothing attached yet
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string running;
    for (const auto& r : last_.running) {
        running += (running.empty() ? "; deciding " : " | ") + r;
    }
    line_.show(fmt::format("{}{}: {} of {} cells decided, {:.0f} s{}", command_,
                           what_.empty() ? "" : " (" + what_ + ")", last_.decided, last_.cells,
                           seconds, running));
}

std::string with_thousands(std::size_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

} // namespace handoff::cli
