// One line of progress on stderr for commands that run long (explore, check, prove): rewritten in
// place, at most a few times a second, and cleared when the work is done. Shown only when stderr
// is a terminal and the user did not ask for --quiet, so pipes, JSON and scripts see nothing.
#pragma once

#include "handoff/proofs/check.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

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

// The progress of proofs::check(): cells decided, the jobs running, the time. A thread of its own
// refreshes the line (one BMC job can take a minute without an event to report).
class CheckProgressLine {
  public:
    CheckProgressLine(bool quiet, std::string command);
    ~CheckProgressLine(); // stops the thread, then clears the line
    CheckProgressLine(const CheckProgressLine&) = delete;
    CheckProgressLine& operator=(const CheckProgressLine&) = delete;

    // Makes `o` report here (nothing when the line is not shown). `what`: the run's name on the
    // line ("documented use" for prove's first profile), or empty.
    void attach(proofs::CheckOptions& o, std::string what);

  private:
    void refresh();

    ProgressLine line_;
    std::string command_;
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::string what_;
    proofs::CheckProgress last_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::jthread ticker_;
};

// 12345678 -> "12,345,678".
std::string with_thousands(std::size_t n);

} // namespace handoff::cli
