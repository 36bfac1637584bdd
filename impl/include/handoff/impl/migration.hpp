// Migration bookkeeping of one QEMU process: MigrationState (outgoing), MigrationIncomingState,
// and the stream between two processes.
#pragma once

#include "handoff/impl/runstate.hpp"

#include <optional>
#include <string_view>

namespace handoff::impl {

// qapi MigrationStatus, the values this path uses.
enum class MigrationStatus {
    none,
    setup,
    cancelling,
    cancelled,
    active,
    postcopy_active,
    postcopy_paused,
    completed,
    failed,
    colo,
    pre_switchover,
    device,
};
std::string_view to_string(MigrationStatus s);

// migration_is_running(): a migration that is not over yet (cancel acts, migrate is refused).
bool migration_is_running(MigrationStatus s);
// migration_is_active(): the migration thread keeps iterating.
inline bool migration_is_active(MigrationStatus s) {
    return s == MigrationStatus::active || s == MigrationStatus::postcopy_active;
}

// The migration capabilities this path reads (migrate-set-capabilities).
struct MigrationCapabilities {
    bool pause_before_switchover = false;
    bool late_block_activate = false; // destination; ignored from 10.0 (fca9aef1)
    bool postcopy_ram = false;
    // `return-path`: migrate_fd_connect() opens the return path (open_return_path_on_source())
    // when migrate_return_path() || migrate_postcopy_ram(). On by default here, as in the model:
    // the source's completion then waits for the destination (await_return_path_close_on_source()).
    bool return_path = true;
};

// The wire between a source and a destination: what the destination's qemu_loadvm_state() can
// see of what the source wrote.
struct MigrationStream {
    bool device_state_sent = false;       // non-iterable device state written
    bool eof_sent = false;                // QEMU_VM_EOF written: the destination's load can succeed
    bool postcopy_package_sent = false;   // postcopy_start(): LISTEN + device state + RUN
    bool source_shut_down = false;        // qemu_file_shutdown() (cancel): the destination sees EOF
    bool source_closed = false;           // migrate_fd_cleanup() closed it, or the source died
    bool destination_closed = false;      // the destination exited: its end of the socket closed
    bool connection_broken = false;       // the network connection dropped: both ends see errors
    std::optional<RunState> global_state; // global_state_store() at the source's switchover

    bool ended() const {
        return eof_sent || source_shut_down || source_closed || connection_broken;
    }
};

// Where the migration thread is: the next step it will run between BQL boundaries.
enum class MigrationThreadStep {
    none,                // no migration thread
    setup,               // migration_thread(): qemu_savevm_state_setup(), SETUP -> ACTIVE
    iterate,             // while (migration_is_active(s)) migration_iteration_run(s)
    completion_locked,   // migration_completion(): the BQL section from the VM stop to the savevm
                         // completion (inactivation)
    wait_pre_switchover, // migration_maybe_pause() / migration_switchover_prepare(): waiting on
                         // pause_sem without the BQL
    completion_checks,   // migration_completion() after the BQL section: return path, file error
    completion_fail,     // migration_completion()'s fail label(s)
    postcopy_paused,     // postcopy_pause(): waits for a recovery that is not modelled
    iteration_finish,    // migration_iteration_finish()
    cleanup_bh,          // migrate_fd_cleanup() bottom half
};
std::string_view to_string(MigrationThreadStep s);

// What migration_iteration_run() finds: the test or property test chooses.
enum class IterationChoice {
    iterate,        // pending data above the threshold: one more qemu_savevm_state_iterate()
    complete,       // pending data below the threshold: migration_completion()
    start_postcopy, // start_postcopy was requested and precopy data is small: postcopy_start()
};

// Which label migration_completion() jumped to (v8.0.0 has two).
enum class CompletionFailLabel { fail, fail_invalidate };

struct MigrationState {
    MigrationStatus state = MigrationStatus::none;
    // <= 9.2. Never reset in migrate_init(): a stale true survives into the next migration.
    bool block_inactive = false;
    bool vm_was_running = false;            // 8.0: reset in migrate_init()
    RunState vm_old_state = kRunStateUnset; // 8.1+: reset to -1 in migrate_init()
    bool start_postcopy = false;
    int pause_sem = 0; // posts of s->pause_sem (migrate-continue, cancel)
    // s->to_dst_file: its error (qemu_file_get_error), 0 if none.
    int to_dst_file_error = 0;
    // s->error (migrate_set_error(), migrate_has_error()): cleared by migrate_init().
    bool error_recorded = false;
    MigrationStream* to_dst = nullptr;

    // The migration thread between steps.
    MigrationThreadStep thread_step = MigrationThreadStep::none;
    MigrationStatus current_active_state = MigrationStatus::none;
    int completion_ret = 0;
    bool completion_in_postcopy = false;
    CompletionFailLabel fail_label = CompletionFailLabel::fail;
    bool postcopy_started = false;
};

// Destination side.
enum class IncomingStep {
    none,            // not an incoming migration (or it is over)
    load,            // process_incoming_migration_co(): qemu_loadvm_state() reads the stream
    precopy_bh,      // process_incoming_migration_bh() is scheduled
    postcopy_run_bh, // loadvm_postcopy_handle_run_bh() is scheduled
    postcopy_load,   // the postcopy listen thread reads the rest of the stream
};
std::string_view to_string(IncomingStep s);

struct MigrationIncomingState {
    MigrationStatus state = MigrationStatus::none;
    IncomingStep step = IncomingStep::none;
    MigrationStream* from_src = nullptr;
    bool global_state_received = false;
    RunState global_state = RunState::running;
};

} // namespace handoff::impl
