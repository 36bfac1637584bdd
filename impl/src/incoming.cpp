// The destination: qmp_migrate_incoming, process_incoming_migration_co/_bh (migration.c) and
// loadvm_postcopy_handle_run_bh (savevm.c).
#include "handoff/impl/qemu_instance.hpp"

#include <fmt/format.h>

namespace handoff::impl {

std::string_view to_string(IncomingStep s) {
    switch (s) {
    case IncomingStep::none:
        return "none";
    case IncomingStep::load:
        return "load";
    case IncomingStep::precopy_bh:
        return "precopy_bh";
    case IncomingStep::postcopy_run_bh:
        return "postcopy_run_bh";
    case IncomingStep::postcopy_load:
        return "postcopy_load";
    }
    return "?";
}

CallResult QemuInstance::qmp_migrate_incoming(MigrationStream& stream) {
    return guarded("qmp_migrate_incoming", [&]() -> CallResult {
        if (!runstate_.runstate_check(RunState::inmigrate) || mis_.state != MigrationStatus::none) {
            return {CallStatus::error, "The incoming migration has already been started"};
        }
        mis_.from_src = &stream;
        mis_.state = MigrationStatus::active; // SETUP -> ACTIVE in process_incoming_migration_co
        mis_.step = IncomingStep::load;
        // 8597af76: migration_block_active_setup(false).
        migration_block_active_ = false;
        return {};
    });
}

// process_incoming_migration_co() (8.0 593; 9.2 research notes 2.13): qemu_loadvm_state().
CallResult QemuInstance::process_incoming_migration_co() {
    return guarded("process_incoming_migration_co", [&]() -> CallResult {
        MigrationStream* in = mis_.from_src;
        if (mis_.step == IncomingStep::postcopy_load) {
            if (!in->ended()) {
                return {CallStatus::not_enabled, "the postcopy stream is still running"};
            }
            if (in->eof_sent) {
                migrate_set_state(mis_.state, MigrationStatus::postcopy_active,
                                  MigrationStatus::completed);
            } else {
                // postcopy_pause_incoming(): waits for a recovery (not modelled).
                migrate_set_state(mis_.state, MigrationStatus::postcopy_active,
                                  MigrationStatus::postcopy_paused);
            }
            mis_.step = IncomingStep::none;
            return {};
        }
        if (mis_.step != IncomingStep::load) {
            return {CallStatus::not_enabled, "no incoming stream to load"};
        }
        if (in->postcopy_package_sent) {
            // loadvm_handle_cmd_packaged(): LISTEN, the device state, then RUN schedules the BH.
            mis_.global_state_received = in->global_state.has_value();
            mis_.global_state = in->global_state.value_or(RunState::running);
            migrate_set_state(mis_.state, MigrationStatus::active,
                              MigrationStatus::postcopy_active);
            mis_.step = IncomingStep::postcopy_run_bh;
            return {};
        }
        // A device's load handler can fail at any section qemu_loadvm_state() reads, before the
        // stream ends.
        const bool load_fault = faults_.take(&FaultPlan::incoming_load_fails);
        if (!in->ended() && !load_fault) {
            return {CallStatus::not_enabled, "the stream has not ended yet"};
        }
        if (!in->eof_sent || load_fault) {
            // "load of migration failed: Input/output error"; fail: ACTIVE -> FAILED; exit().
            log("load of migration failed: Input/output error");
            migrate_set_state(mis_.state, MigrationStatus::active, MigrationStatus::failed);
            mis_.step = IncomingStep::none;
            exited_ = true; // exit(EXIT_FAILURE) (9.1+: mis->exit_on_error, true by default)
            // The process is gone: the kernel closes its sockets, so the source's return path
            // reads EOF.
            mis_.from_src->destination_closed = true;
            log("exit(EXIT_FAILURE)");
            return {CallStatus::error, "load of migration failed: Input/output error"};
        }
        mis_.global_state_received = in->global_state.has_value();
        mis_.global_state = in->global_state.value_or(RunState::running);
        mis_.step = IncomingStep::precopy_bh;
        return {};
    });
}

// process_incoming_migration_bh() (8.0 534; 9.2 research notes 2.13; 10.x 4.3).
CallResult QemuInstance::process_incoming_migration_bh() {
    return guarded("process_incoming_migration_bh", [&]() -> CallResult {
        if (mis_.step != IncomingStep::precopy_bh) {
            return {CallStatus::not_enabled, "process_incoming_migration_bh is not scheduled"};
        }
        mis_.step = IncomingStep::none;
        // migration_get_target_runstate(): RUNNING if no global state was received.
        const RunState target = mis_.global_state_received ? mis_.global_state : RunState::running;
        // 8.x compared with RUNNING, 9.x uses runstate_is_live().
        const bool target_live = policy_.restart_uses_runstate_is_live
                                     ? runstate_is_live(target)
                                     : target == RunState::running;
        if (policy_.destination_always_late_block_activate) {
            // fca9aef1 + 8597af76: "Block activation is always delayed until VM starts, either
            // here (which means we need to start the dest VM right now..), or until qmp_cont()
            // later." On activation failure the run state stays INMIGRATE.
            if (target_live) {
                if (autostart_) {
                    if (migration_block_activate(nullptr)) {
                        vm_start();
                    }
                } else {
                    runstate_.runstate_set(RunState::paused);
                }
            } else {
                runstate_.runstate_set(target);
            }
        } else {
            // "If capability late_block_activate is set: Only fire up the block code now if we're
            // going to restart the guest; otherwise the block code will be started by the cont."
            if (!caps_.late_block_activate || (autostart_ && target_live)) {
                std::string err;
                block_.bdrv_activate_all(&err);
                if (!err.empty()) {
                    log("process_incoming_migration_bh: " + err);
                    autostart_ = false;
                }
            }
            if (target_live) {
                if (autostart_) {
                    vm_start();
                } else {
                    runstate_.runstate_set(RunState::paused);
                }
            } else {
                runstate_.runstate_set(target);
            }
        }
        migrate_set_state(mis_.state, MigrationStatus::active, MigrationStatus::completed);
        return {};
    });
}

// loadvm_postcopy_handle_run_bh() (8.0 savevm.c 2037; 9.2 research notes 2.14; 10.x 61f2b489).
CallResult QemuInstance::loadvm_postcopy_handle_run_bh() {
    return guarded("loadvm_postcopy_handle_run_bh", [&]() -> CallResult {
        if (mis_.step != IncomingStep::postcopy_run_bh) {
            return {CallStatus::not_enabled, "loadvm_postcopy_handle_run_bh is not scheduled"};
        }
        mis_.step = IncomingStep::postcopy_load;
        if (policy_.destination_always_late_block_activate) {
            if (autostart_) {
                if (migration_block_activate(nullptr)) {
                    vm_start(); // on failure the run state stays INMIGRATE
                }
            } else {
                runstate_.runstate_set(RunState::paused);
            }
            return {};
        }
        // "Make sure all file formats throw away their mutable metadata. If we get an error
        // here, just don't restart the VM yet."
        std::string err;
        block_.bdrv_activate_all(&err);
        if (!err.empty()) {
            log("loadvm_postcopy_handle_run_bh: " + err);
            autostart_ = false;
        }
        if (autostart_) {
            vm_start(); // "Hold onto your hats, starting the CPU"
        } else {
            runstate_.runstate_set(RunState::paused);
        }
        return {};
    });
}

} // namespace handoff::impl
