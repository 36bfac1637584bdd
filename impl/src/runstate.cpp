#include "handoff/impl/runstate.hpp"

#include "handoff/impl/qemu_abort.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <utility>

namespace handoff::impl {

std::string_view to_string(RunState s) {
    switch (s) {
    case RunState::debug:
        return "debug";
    case RunState::inmigrate:
        return "inmigrate";
    case RunState::internal_error:
        return "internal-error";
    case RunState::io_error:
        return "io-error";
    case RunState::paused:
        return "paused";
    case RunState::postmigrate:
        return "postmigrate";
    case RunState::prelaunch:
        return "prelaunch";
    case RunState::finish_migrate:
        return "finish-migrate";
    case RunState::restore_vm:
        return "restore-vm";
    case RunState::running:
        return "running";
    case RunState::save_vm:
        return "save-vm";
    case RunState::shutdown:
        return "shutdown";
    case RunState::suspended:
        return "suspended";
    case RunState::watchdog:
        return "watchdog";
    case RunState::guest_panicked:
        return "guest-panicked";
    case RunState::colo:
        return "colo";
    case RunState::max_:
        break;
    }
    return "(invalid: -1)";
}

namespace {

using R = RunState;
using Transition = std::pair<RunState, RunState>;

// Present in 8.0.0 and every later version (softmmu/runstate.c 8.0; research notes 1.2).
constexpr Transition base_transitions[] = {
    {R::prelaunch, R::inmigrate},

    {R::debug, R::running},
    {R::debug, R::finish_migrate},
    {R::debug, R::prelaunch},

    {R::inmigrate, R::internal_error},
    {R::inmigrate, R::io_error},
    {R::inmigrate, R::paused},
    {R::inmigrate, R::running},
    {R::inmigrate, R::shutdown},
    {R::inmigrate, R::suspended},
    {R::inmigrate, R::watchdog},
    {R::inmigrate, R::guest_panicked},
    {R::inmigrate, R::finish_migrate},
    {R::inmigrate, R::prelaunch},
    {R::inmigrate, R::postmigrate},
    {R::inmigrate, R::colo},

    {R::internal_error, R::paused},
    {R::internal_error, R::finish_migrate},
    {R::internal_error, R::prelaunch},

    {R::io_error, R::running},
    {R::io_error, R::finish_migrate},
    {R::io_error, R::prelaunch},

    {R::paused, R::running},
    {R::paused, R::finish_migrate},
    {R::paused, R::postmigrate},
    {R::paused, R::prelaunch},
    {R::paused, R::colo},

    {R::postmigrate, R::running},
    {R::postmigrate, R::finish_migrate},
    {R::postmigrate, R::prelaunch},

    {R::prelaunch, R::running},
    {R::prelaunch, R::finish_migrate},

    {R::finish_migrate, R::running},
    {R::finish_migrate, R::paused},
    {R::finish_migrate, R::postmigrate},
    {R::finish_migrate, R::prelaunch},
    {R::finish_migrate, R::colo},

    {R::restore_vm, R::running},
    {R::restore_vm, R::prelaunch},

    {R::colo, R::running},
    {R::colo, R::prelaunch},
    {R::colo, R::shutdown},

    {R::running, R::debug},
    {R::running, R::internal_error},
    {R::running, R::io_error},
    {R::running, R::paused},
    {R::running, R::finish_migrate},
    {R::running, R::restore_vm},
    {R::running, R::save_vm},
    {R::running, R::shutdown},
    {R::running, R::watchdog},
    {R::running, R::guest_panicked},
    {R::running, R::colo},

    {R::save_vm, R::running},

    {R::shutdown, R::paused},
    {R::shutdown, R::finish_migrate},
    {R::shutdown, R::prelaunch},
    {R::shutdown, R::colo},

    {R::debug, R::suspended},
    {R::running, R::suspended},
    {R::suspended, R::running},
    {R::suspended, R::finish_migrate},
    {R::suspended, R::prelaunch},
    {R::suspended, R::colo},

    {R::watchdog, R::running},
    {R::watchdog, R::finish_migrate},
    {R::watchdog, R::prelaunch},
    {R::watchdog, R::colo},

    {R::guest_panicked, R::running},
    {R::guest_panicked, R::finish_migrate},
    {R::guest_panicked, R::prelaunch},
};

// a4c6275a "migration: restore vmstate on migration failure" (Vladimir Sementsov-Ogievskiy, 8.1).
constexpr Transition finish_migrate_error_transitions[] = {
    {R::finish_migrate, R::internal_error}, {R::finish_migrate, R::io_error},
    {R::finish_migrate, R::shutdown},       {R::finish_migrate, R::suspended},
    {R::finish_migrate, R::watchdog},       {R::finish_migrate, R::guest_panicked},
};

// Steve Sistare's suspended-runstate series (9.0).
constexpr Transition suspended_transitions[] = {
    {R::prelaunch, R::suspended},  {R::paused, R::suspended},   {R::restore_vm, R::suspended},
    {R::save_vm, R::suspended},    {R::suspended, R::paused},   {R::suspended, R::save_vm},
    {R::suspended, R::restore_vm}, {R::suspended, R::shutdown},
};

template <std::size_t N>
bool listed(const Transition (&table)[N], RunState from, RunState to) {
    return std::find(std::begin(table), std::end(table), Transition{from, to}) != std::end(table);
}

} // namespace

bool runstate_transition_allowed(const MigrationPolicy& policy, RunState from, RunState to) {
    return listed(base_transitions, from, to) ||
           (policy.finish_migrate_to_error_states_allowed &&
            listed(finish_migrate_error_transitions, from, to)) ||
           (policy.suspended_runstate_transitions && listed(suspended_transitions, from, to));
}

void RunStateMachine::runstate_set(RunState new_state) {
    qemu_assert(new_state < RunState::max_, "runstate_set", "new_state < RUN_STATE__MAX");
    if (current_ == new_state) {
        return;
    }
    if (!runstate_transition_allowed(policy_, current_, new_state)) {
        qemu_abort("runstate_set", fmt::format("invalid runstate transition: '{}' -> '{}'",
                                               to_string(current_), to_string(new_state)));
    }
    current_ = new_state;
}

} // namespace handoff::impl
