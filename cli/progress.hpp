// One line of progress on stderr for commands that run long (`explore` so far): rewritten in
// place, at most a few times a second, and cleared when the work is done. Shown only when stderr
// is a terminal and the user did not ask for --quiet, so pipes, JSON and scripts see nothing.
#pragma once

#include <chrono>
#include <string>

namespace handoff::cli {

class ProgressLine {
  public:
    // `quiet`: the command's --quiet. HANDOFF_PROGRESS=always shows the line on any stderr (the
    // test of this class, which has no terminal), never hides it.
    explicit ProgressLine(bool quiet);
    ~ProgressLine(); // clears the line
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    bool enabled() const { return enabled_; }
    // Shows `text`, unless the last line went out less than a quarter of a second ago.
    void show(const std::string& text);

  private:
    bool enabled_ = false;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_{};
};

// 12345678 -> "12,345,678".
std::string with_thousands(std::size_t n);

} // namespace handoff::cli
