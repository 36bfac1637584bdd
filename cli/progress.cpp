#include "progress.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>
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
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
    shown_ = true;
    last_ = now;
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
