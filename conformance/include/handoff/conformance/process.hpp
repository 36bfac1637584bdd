// Child processes of the harness (qemu-nbd, qemu-system-x86_64): started with their output in
// files, waited for with a deadline, and always ended by PID -- by the owner's destructor, and by
// a SIGINT/SIGTERM handler that kills every live child before the harness dies. Each child also
// gets PR_SET_PDEATHSIG, so a harness killed by SIGKILL takes its children with it.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/types.h>
#include <vector>

namespace handoff::conformance {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A step of the harness did not finish in time, or a process could not be started.
struct HarnessError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// How a child ended.
struct ExitStatus {
    bool signaled = false;
    int code = 0; // exit code, or the signal number when signaled
    std::string text() const;
};

class Process {
  public:
    // Starts argv[0] with stdout and stderr appended to `log_path`, and `env` ("NAME=value")
    // added to the harness's environment.
    Process(std::string name, const std::vector<std::string>& argv, const std::string& log_path,
            const std::vector<std::string>& env = {});
    ~Process(); // kills (SIGKILL) and reaps the child if it is still running
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    const std::string& name() const { return name_; }
    pid_t pid() const { return pid_; }
    const std::string& log_path() const { return log_path_; }

    // The exit status once the child has ended (reaped without blocking), else nothing.
    std::optional<ExitStatus> poll();
    // Waits up to `timeout` for the child to end.
    std::optional<ExitStatus> wait_for(milliseconds timeout);
    // SIGTERM, then SIGKILL after `grace`; always reaps.
    ExitStatus stop(milliseconds grace = milliseconds(2000));
    void kill_now(); // SIGKILL and reap

  private:
    std::string name_;
    std::string log_path_;
    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;
};

// Installs (once) the SIGINT/SIGTERM handler that kills every live child by PID and re-raises.
void install_cleanup_handler();

// Reads a whole file ("" if it does not exist).
std::string read_file(const std::string& path);

} // namespace handoff::conformance
