// The global run state and QEMU's table of allowed run-state transitions
// (softmmu/runstate.c in 8.0, system/runstate.c from 8.1). runstate_set() aborts on a transition
// the table does not list, and asserts new_state < RUN_STATE__MAX first.
#pragma once

#include "handoff/impl/qemu_version.hpp"

#include <string_view>

namespace handoff::impl {

// QAPI's RunState: no negative enumerators, so the compiler gives it an unsigned type and
// `s->vm_old_state = -1` stores UINT_MAX (see kRunStateUnset).
enum class RunState : unsigned {
    debug,
    inmigrate,
    internal_error,
    io_error,
    paused,
    postmigrate,
    prelaunch,
    finish_migrate,
    restore_vm,
    running,
    save_vm,
    shutdown,
    suspended,
    watchdog,
    guest_panicked,
    colo,
    max_, // RUN_STATE__MAX
};

// migrate_init(): s->vm_old_state = -1.
inline constexpr RunState kRunStateUnset = static_cast<RunState>(~0u);

std::string_view to_string(RunState s);

// runstate_transitions_def[] of the given version (research notes section 1.2).
bool runstate_transition_allowed(const MigrationPolicy& policy, RunState from, RunState to);

// runstate_is_live() (9.0): RUNNING or SUSPENDED.
inline bool runstate_is_live(RunState s) {
    return s == RunState::running || s == RunState::suspended;
}

class RunStateMachine {
  public:
    explicit RunStateMachine(const MigrationPolicy& policy, RunState initial = RunState::prelaunch)
        : policy_(policy), current_(initial) {}

    // system/runstate.c runstate_set(): assert(new_state < RUN_STATE__MAX); same state: no-op;
    // a transition missing from the table: error_report + abort().
    void runstate_set(RunState new_state);
    RunState runstate_get() const { return current_; }
    bool runstate_check(RunState s) const { return current_ == s; }
    bool runstate_is_running() const { return current_ == RunState::running; }
    bool runstate_needs_reset() const {
        return current_ == RunState::internal_error || current_ == RunState::shutdown;
    }

  private:
    const MigrationPolicy& policy_;
    RunState current_;
};

} // namespace handoff::impl
