// The migration source: qmp_migrate, the migration thread's steps, cancel, and the savevm
// completion. migration/migration.c and migration/savevm.c; line numbers are v8.0.0's
// (blob bda478919333) unless a version is named.
#include "handoff/impl/qemu_instance.hpp"

#include <cerrno>
#include <fmt/format.h>

namespace handoff::impl {

std::string_view to_string(MigrationStatus s) {
    switch (s) {
    case MigrationStatus::none:
        return "none";
    case MigrationStatus::setup:
        return "setup";
    case MigrationStatus::cancelling:
        return "cancelling";
    case MigrationStatus::cancelled:
        return "cancelled";
    case MigrationStatus::active:
        return "active";
    case MigrationStatus::postcopy_active:
        return "postcopy-active";
    case MigrationStatus::postcopy_paused:
        return "postcopy-paused";
    case MigrationStatus::completed:
        return "completed";
    case MigrationStatus::failed:
        return "failed";
    case MigrationStatus::colo:
        return "colo";
    case MigrationStatus::pre_switchover:
        return "pre-switchover";
    case MigrationStatus::device:
        return "device";
    }
    return "?";
}

std::string_view to_string(MigrationThreadStep s) {
    switch (s) {
    case MigrationThreadStep::none:
        return "none";
    case MigrationThreadStep::setup:
        return "setup";
    case MigrationThreadStep::iterate:
        return "iterate";
    case MigrationThreadStep::completion_locked:
        return "completion_locked";
    case MigrationThreadStep::wait_pre_switchover:
        return "wait_pre_switchover";
    case MigrationThreadStep::completion_checks:
        return "completion_checks";
    case MigrationThreadStep::completion_fail:
        return "completion_fail";
    case MigrationThreadStep::postcopy_paused:
        return "postcopy_paused";
    case MigrationThreadStep::iteration_finish:
        return "iteration_finish";
    case MigrationThreadStep::cleanup_bh:
        return "cleanup_bh";
    }
    return "?";
}

bool migration_is_running(MigrationStatus s) {
    switch (s) {
    case MigrationStatus::setup:
    case MigrationStatus::active:
    case MigrationStatus::postcopy_active:
    case MigrationStatus::postcopy_paused:
    case MigrationStatus::pre_switchover:
    case MigrationStatus::device:
    case MigrationStatus::cancelling:
        return true;
    default:
        return false;
    }
}

// ---------------------------------------------------------------------------------------------
// QMP

// qmp_migrate() -> migrate_prepare() -> migrate_init() -> migrate_fd_connect().
CallResult QemuInstance::qmp_migrate(MigrationStream& stream) {
    return guarded("qmp_migrate", [&]() -> CallResult {
        if (migration_is_running(s_.state)) {
            return {CallStatus::error, "There's a migration process in progress"};
        }
        // Not a QEMU check: QEMU has no guard for a migrate issued between the end of the old
        // migration thread's work and its cleanup BH; we refuse instead of modelling two threads.
        if (s_.thread_step != MigrationThreadStep::none) {
            return {CallStatus::error, "the previous migration thread has not been cleaned up"};
        }
        if (runstate_.runstate_check(RunState::inmigrate)) {
            return {CallStatus::error, "Guest is waiting for an incoming migration"};
        }
        if (runstate_.runstate_check(RunState::postmigrate)) {
            return {CallStatus::error,
                    "Can't migrate the vm that was paused due to previous migration"};
        }
        // migrate_init(): s->block_inactive is NOT reset (8.0 - 9.2).
        s_.state = MigrationStatus::none;
        s_.vm_was_running = false;
        s_.vm_old_state = kRunStateUnset;
        s_.start_postcopy = false;
        s_.pause_sem = 0;
        s_.to_dst_file_error = 0;
        s_.error_recorded = false;
        s_.to_dst = &stream;
        s_.postcopy_started = false;
        migrate_set_state(s_.state, MigrationStatus::none, MigrationStatus::setup);
        s_.thread_step = MigrationThreadStep::setup;
        return {};
    });
}

// migrate_fd_cancel() (8.0 2086; 8.1 1247); 10.x migration_cancel() without block operations.
void QemuInstance::migrate_fd_cancel() {
    MigrationStatus old_state;
    do {
        old_state = s_.state;
        if (!migration_is_running(old_state)) {
            break;
        }
        if (old_state == MigrationStatus::pre_switchover) {
            ++s_.pause_sem; // qemu_sem_post(&s->pause_sem)
        }
        migrate_set_state(s_.state, old_state, MigrationStatus::cancelling);
    } while (s_.state != MigrationStatus::cancelling);
    if (s_.state == MigrationStatus::cancelling && s_.to_dst) {
        qemu_file_shutdown();
    }
    // 8597af76 removed this; until then it is the only reader of block_inactive (Kevin Wolf).
    if (policy_.has_block_inactive_field && s_.state == MigrationStatus::cancelling &&
        s_.block_inactive) {
        std::string err;
        block_.bdrv_activate_all(&err);
        if (!err.empty()) {
            log("migrate_fd_cancel: " + err);
        } else {
            s_.block_inactive = false;
        }
    }
}

CallResult QemuInstance::qmp_migrate_cancel() {
    return guarded("qmp_migrate_cancel", [&]() -> CallResult {
        // "After postcopy migration has started, the source machine is not recoverable in case of
        // a migration error. This also means the cancel command cannot be used as cancel should
        // allow the machine to continue operation." (10.0; migration_in_postcopy())
        if (policy_.cancel_refused_in_postcopy && s_.state == MigrationStatus::postcopy_active) {
            return {CallStatus::error, "Postcopy migration in progress, cannot cancel."};
        }
        migrate_fd_cancel();
        return {};
    });
}

CallResult QemuInstance::qmp_migrate_continue() {
    return guarded("qmp_migrate_continue", [&]() -> CallResult {
        if (s_.state != MigrationStatus::pre_switchover) {
            return {CallStatus::error,
                    fmt::format("Migration not in expected state: {}", to_string(s_.state))};
        }
        ++s_.pause_sem;
        return {};
    });
}

CallResult QemuInstance::qmp_migrate_start_postcopy() {
    return guarded("qmp_migrate_start_postcopy", [&]() -> CallResult {
        if (!caps_.postcopy_ram) {
            return {CallStatus::error, "Enable postcopy with migrate_set_capability before the "
                                       "start of migration"};
        }
        if (!migration_is_running(s_.state)) {
            return {CallStatus::error, "Postcopy must be started after migration has been started"};
        }
        s_.start_postcopy = true;
        return {};
    });
}

CallResult QemuInstance::qmp_migrate_set_capabilities(const MigrationCapabilities& caps) {
    return guarded("qmp_migrate_set_capabilities", [&]() -> CallResult {
        if (migration_is_running(s_.state)) {
            return {CallStatus::error, "There's a migration process in progress"};
        }
        caps_ = caps;
        return {};
    });
}

// ---------------------------------------------------------------------------------------------
// QEMUFile

void QemuInstance::qemu_file_set_error(int ret) {
    if (s_.to_dst_file_error == 0) {
        s_.to_dst_file_error = ret;
    }
}

// qemu_file_shutdown(): the socket is shut down both ways; the file reports -EIO from now on.
void QemuInstance::qemu_file_shutdown() {
    qemu_file_set_error(-EIO);
    s_.to_dst->source_shut_down = true;
}

// savevm.c 8.0.5:1503 qemu_savevm_state_complete_precopy() and :1447 ..._non_iterable().
int QemuInstance::qemu_savevm_state_complete_precopy(bool inactivate_disks) {
    // Iterable part: ram_save_complete(). 8.x: `qemu_fflush(f); return 0;`; 9.2:
    // `return qemu_fflush(f);`, so a shut-down file stops the completion here.
    if (policy_.ram_save_complete_returns_file_error && s_.to_dst_file_error) {
        return s_.to_dst_file_error;
    }
    // Non-iterable part: every device's vmstate (writes to a file in error are dropped).
    if (!s_.to_dst_file_error) {
        s_.to_dst->device_state_sent = true;
    }
    if (inactivate_disks) {
        // "Inactivate before sending QEMU_VM_EOF so that the bdrv_activate_all() on the other
        // end won't fail."
        if (policy_.has_migration_block_active_flag) {
            if (!migration_block_inactivate()) {
                // 8597af76: qemu_file_set_error(f, -EFAULT); `return ret;` with ret == 0.
                qemu_file_set_error(-EFAULT);
                return 0;
            }
        } else {
            const int ret = block_.bdrv_inactivate_all();
            if (ret) {
                log(fmt::format("qemu_savevm_state_complete_precopy_non_iterable: "
                                "bdrv_inactivate_all() failed ({})",
                                ret));
                qemu_file_set_error(ret);
                return ret;
            }
        }
    }
    if (!s_.to_dst_file_error) {
        s_.to_dst->eof_sent = true; // qemu_put_byte(f, QEMU_VM_EOF)
    }
    return policy_.ram_save_complete_returns_file_error ? s_.to_dst_file_error : 0;
}

// ---------------------------------------------------------------------------------------------
// The migration thread

CallResult QemuInstance::migration_thread_step(IterationChoice choice) {
    return guarded("migration_thread", [&]() -> CallResult {
        switch (s_.thread_step) {
        case MigrationThreadStep::none:
        case MigrationThreadStep::postcopy_paused:
            return {CallStatus::not_enabled, "no runnable migration thread step"};
        case MigrationThreadStep::setup:
            migration_thread_setup();
            break;
        case MigrationThreadStep::iterate:
            migration_iteration_run(choice);
            break;
        case MigrationThreadStep::completion_locked:
            migration_completion_locked();
            break;
        case MigrationThreadStep::wait_pre_switchover:
            if (s_.pause_sem == 0) {
                return {CallStatus::not_enabled, "waiting on pause_sem (migrate-continue)"};
            }
            migration_completion_wait_pre_switchover();
            break;
        case MigrationThreadStep::completion_checks:
            migration_completion_checks();
            break;
        case MigrationThreadStep::completion_fail:
            migration_completion_fail();
            break;
        case MigrationThreadStep::iteration_finish:
            migration_iteration_finish();
            break;
        case MigrationThreadStep::cleanup_bh:
            migrate_fd_cleanup();
            break;
        }
        return {};
    });
}

// migration_thread(): `while (migration_is_active(s))` decides after every iteration.
void QemuInstance::after_thread_step() {
    if (!migration_is_active(s_.state)) {
        s_.thread_step = MigrationThreadStep::iteration_finish;
    }
}

// migration_thread() start: qemu_savevm_state_setup(); migrate_set_state(SETUP -> ACTIVE).
void QemuInstance::migration_thread_setup() {
    migrate_set_state(s_.state, MigrationStatus::setup, MigrationStatus::active);
    s_.thread_step = MigrationThreadStep::iterate;
    after_thread_step();
}

// migration_iteration_run() (3868) and migration_detect_error().
void QemuInstance::migration_iteration_run(IterationChoice choice) {
    const bool in_postcopy = s_.state == MigrationStatus::postcopy_active;
    if (!in_postcopy && s_.to_dst != nullptr &&
        (s_.to_dst->destination_closed || s_.to_dst->connection_broken) &&
        s_.state == MigrationStatus::active) {
        // The destination process is gone or the connection dropped: the last iteration's writes
        // failed (-EPIPE), and migration_detect_error() at the top of the next loop iteration
        // (migration_thread()) moves ACTIVE -> FAILED before migration_iteration_run() decides.
        qemu_file_set_error(-EPIPE);
        migrate_set_state_any(s_.state, MigrationStatus::failed);
        after_thread_step();
        return;
    }
    if (choice == IterationChoice::complete) {
        migration_completion_begin();
        return;
    }
    if (choice == IterationChoice::start_postcopy && !in_postcopy && s_.start_postcopy) {
        postcopy_start(); // "postcopy failed to start" is only logged; MIG_ITERATE_SKIP
        if (s_.thread_step == MigrationThreadStep::iterate) {
            after_thread_step();
        }
        return;
    }
    // qemu_savevm_state_iterate(), then migration_detect_error().
    if (s_.state == MigrationStatus::cancelling || s_.state == MigrationStatus::cancelled) {
        s_.thread_step = MigrationThreadStep::iteration_finish; // MIG_THR_ERR_FATAL
        return;
    }
    if (s_.to_dst_file_error) {
        if (in_postcopy) {
            // postcopy_pause(): waits for a recovery (not modelled).
            migrate_set_state(s_.state, MigrationStatus::postcopy_active,
                              MigrationStatus::postcopy_paused);
            s_.thread_step = MigrationThreadStep::postcopy_paused;
            return;
        }
        migrate_set_state_any(s_.state, MigrationStatus::failed);
    }
    after_thread_step();
}

// migration_completion() (3426) up to its BQL section: this check runs without the BQL.
void QemuInstance::migration_completion_begin() {
    s_.current_active_state = s_.state;
    s_.completion_ret = 0;
    s_.fail_label = CompletionFailLabel::fail;
    if (s_.state == MigrationStatus::active) {
        s_.completion_in_postcopy = false;
        s_.thread_step = MigrationThreadStep::completion_locked;
    } else if (s_.state == MigrationStatus::postcopy_active) {
        s_.completion_in_postcopy = true;
        s_.thread_step = MigrationThreadStep::completion_locked;
    } else {
        s_.completion_ret = -1; // `else goto fail` / 9.x `ret = -1`
        s_.thread_step = MigrationThreadStep::completion_fail;
    }
}

// The BQL section of migration_completion(): 8.0 3430ff, 8.1 2292ff, 9.2
// migration_completion_precopy() 2719, 10.2 migration_completion_precopy() 3009.
void QemuInstance::migration_completion_locked() {
    s_.thread_step = MigrationThreadStep::completion_checks;
    if (s_.completion_in_postcopy) {
        // qemu_savevm_state_complete_postcopy(): the rest of the stream and EOF.
        if (!s_.to_dst_file_error) {
            s_.to_dst->eof_sent = true;
        }
        return;
    }
    int ret = migration_stop_vm(false); // vm_stop_force_state(): drain + bdrv_flush_all()
    if (ret < 0) {
        s_.completion_ret = ret;
        return;
    }
    if (policy_.switchover_start_inactivates) {
        // 10.2 migration_switchover_prepare() (2934).
        if (s_.state == MigrationStatus::cancelling) {
            log("Switchover is interrupted");
            s_.completion_ret = -EFAULT;
            return;
        }
        if (!caps_.pause_before_switchover) {
            migrate_set_state_any(s_.state, MigrationStatus::device);
            migration_completion_savevm_locked();
            return;
        }
        s_.pause_sem = 0; // drain stale posts
        migrate_set_state_any(s_.state, MigrationStatus::pre_switchover);
        s_.thread_step = MigrationThreadStep::wait_pre_switchover; // bql_unlock(); sem_wait
        return;
    }
    // migration_maybe_pause() (3382).
    if (caps_.pause_before_switchover) {
        s_.pause_sem = 0; // drain stale posts
        if (s_.state != MigrationStatus::cancelling) {
            migrate_set_state(s_.state, s_.current_active_state, MigrationStatus::pre_switchover);
            s_.thread_step = MigrationThreadStep::wait_pre_switchover; // bql_unlock(); sem_wait
            return;
        }
        s_.completion_ret = -EINVAL; // s->state != DEVICE
        return;
    }
    migration_completion_savevm_locked();
}

// migration_maybe_pause() after qemu_sem_wait() (10.2: migration_switchover_prepare()).
void QemuInstance::migration_completion_wait_pre_switchover() {
    --s_.pause_sem;
    migrate_set_state(s_.state, MigrationStatus::pre_switchover, MigrationStatus::device);
    s_.current_active_state = MigrationStatus::device; // *current_active_state = new_state
    s_.thread_step = MigrationThreadStep::completion_checks;
    // bql_lock(); return s->state == new_state ? 0 : -EINVAL;
    if (s_.state != MigrationStatus::device) {
        if (policy_.switchover_start_inactivates) {
            log("Switchover is interrupted");
            s_.completion_ret = -EFAULT;
        } else {
            s_.completion_ret = -EINVAL;
        }
        return;
    }
    migration_completion_savevm_locked();
}

// Still under the BQL: the savevm completion and the inactivation.
void QemuInstance::migration_completion_savevm_locked() {
    s_.thread_step = MigrationThreadStep::completion_checks;
    int ret = 0;
    if (policy_.switchover_start_inactivates) {
        // 10.2 migration_switchover_start(): `if (!migrate_colo()) { if
        // (!migration_block_inactivate()) { "Block inactivate failed during switchover"; ...`
        if (!migration_block_inactivate()) {
            log("Block inactivate failed during switchover");
            s_.completion_ret = -EFAULT;
            return;
        }
        ret = qemu_savevm_state_complete_precopy(false);
    } else if (!policy_.has_block_inactive_field) {
        // 10.0-dev (8c97c5a4 + 8597af76): "Inactivate disks except in COLO".
        ret = qemu_savevm_state_complete_precopy(true);
    } else if (policy_.block_inactive_set_before_inactivation) {
        // 403d18ae / 5d39f44d (in 7.2.3 as cb898262a4 / d2a811dd7d): "Inactivate disks except
        // in COLO, and track that we have done so in order to remember to reactivate them if
        // migration fails or is cancelled."
        s_.block_inactive = true; // !migrate_colo()
        ret = qemu_savevm_state_complete_precopy(s_.block_inactive);
    } else {
        // v8.0.0 3450: `if (inactivate && ret >= 0) s->block_inactive = true;`
        const bool inactivate = true; // !migrate_colo_enabled()
        ret = qemu_savevm_state_complete_precopy(inactivate);
        if (inactivate && ret >= 0) {
            s_.block_inactive = true;
        }
    }
    s_.completion_ret = ret;
}

// migration_completion() after the BQL section (no BQL): return path and file checks.
void QemuInstance::migration_completion_checks() {
    if (s_.completion_ret < 0) {
        s_.fail_label = CompletionFailLabel::fail; // v8.0.0: `goto fail` skips fail_invalidate
        s_.thread_step = MigrationThreadStep::completion_fail;
        return;
    }
    // await_return_path_close_on_source() (8.0 `if (s->rp_state.rp_thread_created)`; 9.2/10.2
    // close_return_path_on_source()), then qemu_file_get_error(s->to_dst_file). The return path
    // thread (source_return_path_thread()) reads the destination's messages; when the destination
    // process is gone its read fails and mark_source_rp_bad() sets rp_state.error, which the
    // await returns: the completion fails (v8.0.0: fail_invalidate).
    // 10.x close_return_path_on_source() ends in `return migrate_has_error(ms);`: an error a
    // failed postcopy_start() recorded fails this completion too.
    const bool rp_open = caps_.return_path || caps_.postcopy_ram;
    const bool rp_fault = faults_.take(&FaultPlan::return_path_error);
    const bool rp_error =
        rp_open &&
        (rp_fault || (s_.to_dst != nullptr && s_.to_dst->destination_closed) || s_.error_recorded);
    if (faults_.take(&FaultPlan::file_error_after_completion)) {
        qemu_file_set_error(-EIO);
    }
    if (rp_error || s_.to_dst_file_error) {
        log(!rp_error  ? "migration_completion: file error"
            : rp_fault ? "migration_completion: return path error"
                       : "migration_completion: return path error (the destination is gone)");
        s_.fail_label = CompletionFailLabel::fail_invalidate;
        s_.thread_step = MigrationThreadStep::completion_fail;
        return;
    }
    if (policy_.completion_end_from_current_state) {
        migrate_set_state_any(s_.state, MigrationStatus::completed); // migration_completion_end()
    } else {
        migrate_set_state(s_.state, s_.current_active_state, MigrationStatus::completed);
    }
    s_.thread_step = MigrationThreadStep::iterate;
    after_thread_step();
}

// The fail label(s) of migration_completion(): v8.0.0 fail_invalidate + fail; 7.2.3+, 8.1 and 9.2
// one fail label (6dab4c93, in 7.2.3 as c0ad2a9191; 9.2 migration_completion_failed() 2771);
// 10.x no block operations.
void QemuInstance::migration_completion_fail() {
    const bool active_or_device =
        s_.state == MigrationStatus::active || s_.state == MigrationStatus::device;
    bool reactivate = false;
    if (policy_.single_fail_label_reactivates) {
        reactivate = s_.block_inactive && active_or_device;
    } else if (policy_.has_block_inactive_field) {
        // v8.0.0 fail_invalidate: "If not doing postcopy, vm_start() will be called: let's regain
        // control on images."
        reactivate = s_.fail_label == CompletionFailLabel::fail_invalidate && active_or_device;
    }
    if (reactivate) {
        std::string err;
        block_.bdrv_activate_all(&err);
        if (!err.empty()) {
            log("migration_completion: " + err); // error_report_err()
        } else {
            s_.block_inactive = false;
        }
    }
    if (policy_.completion_fail_from_any_state_but_cancelling) {
        if (s_.state != MigrationStatus::cancelling) {
            migrate_set_state_any(s_.state, MigrationStatus::failed);
        }
    } else {
        migrate_set_state(s_.state, s_.current_active_state, MigrationStatus::failed);
    }
    s_.thread_step = MigrationThreadStep::iterate;
    after_thread_step();
}

// migration_iteration_finish() (8.0 3904; 8.1 2760; 9.2; 10.2 3551), under the BQL.
void QemuInstance::migration_iteration_finish() {
    s_.thread_step = MigrationThreadStep::cleanup_bh; // migrate_fd_cleanup_schedule()
    switch (s_.state) {
    case MigrationStatus::completed:
        runstate_.runstate_set(RunState::postmigrate);
        return;
    case MigrationStatus::failed:
    case MigrationStatus::cancelled:
    case MigrationStatus::cancelling:
        break;
    default:
        log(fmt::format("migration_iteration_finish: Unknown ending state {}",
                        to_string(s_.state)));
        return;
    }
    if (policy_.iteration_finish_activates) {
        // 8597af76: "Re-activate the block drives if they're inactivated."
        std::string err;
        if (!migration_block_activate(&err) &&
            policy_.iteration_finish_skips_restart_if_activation_fails) {
            return; // 10.2: the VM is not started; the run state stays FINISH_MIGRATE
        }
    }
    bool restart;
    if (!policy_.tracks_vm_old_state) {
        restart = s_.vm_was_running;
    } else if (policy_.restart_uses_runstate_is_live) {
        restart = runstate_is_live(s_.vm_old_state);
    } else {
        restart = s_.vm_old_state == RunState::running;
    }
    if (restart) {
        if (!runstate_.runstate_check(RunState::shutdown)) {
            vm_start();
        }
    } else if (runstate_.runstate_check(RunState::finish_migrate)) {
        // 8.0: runstate_set(POSTMIGRATE); a4c6275a (8.1): runstate_set(s->vm_old_state), which
        // asserts if vm_old_state is still -1 from migrate_init().
        runstate_.runstate_set(policy_.tracks_vm_old_state ? s_.vm_old_state
                                                           : RunState::postmigrate);
    }
}

// migrate_fd_cleanup() bottom half: closes the file; CANCELLING -> CANCELLED.
void QemuInstance::migrate_fd_cleanup() {
    s_.thread_step = MigrationThreadStep::none;
    if (s_.to_dst) {
        s_.to_dst->source_closed = true;
    }
    if (s_.state == MigrationStatus::cancelling) {
        migrate_set_state(s_.state, MigrationStatus::cancelling, MigrationStatus::cancelled);
    }
}

// postcopy_start() (8.0 3196; 9.2 research notes 2.11; 10.0-dev 8597af76; 10.2 research notes
// 5.3). One step: it holds the BQL throughout (before 10.x the ACTIVE -> POSTCOPY_ACTIVE switch
// just before the lock is folded in). pause-before-switchover on this path is not modelled.
void QemuInstance::postcopy_start() {
    bool restart_block = false;
    // Until 10.x: ACTIVE -> POSTCOPY_ACTIVE before taking the BQL. 10.2: ACTIVE -> DEVICE in
    // migration_switchover_start(), DEVICE -> POSTCOPY_ACTIVE at the very end.
    const bool switchover = policy_.switchover_start_inactivates;
    if (!switchover) {
        migrate_set_state(s_.state, MigrationStatus::active, MigrationStatus::postcopy_active);
    }
    s_.postcopy_started = true;
    auto fail = [&] {
        if (policy_.postcopy_fail_from_any_state_but_cancelling) {
            if (s_.state != MigrationStatus::cancelling) {
                migrate_set_state_any(s_.state, MigrationStatus::failed);
            }
        } else {
            // A compare-and-swap: until 10.x the state is POSTCOPY_ACTIVE here; with the
            // switchover restructuring it is ACTIVE (a failed flush) or DEVICE, and nothing
            // changes (725a9e5f78 fixed it).
            migrate_set_state(s_.state, MigrationStatus::postcopy_active, MigrationStatus::failed);
        }
        // 10.x migration_iteration_run(): `if (postcopy_start(s, &local_err))
        // migrate_set_error(s, local_err);`
        s_.error_recorded = policy_.postcopy_start_error_fails_completion;
        // 8597af76: migration_block_activate(NULL) unconditionally (restart_block removed).
        if (policy_.postcopy_fail_always_reactivates) {
            migration_block_activate(nullptr);
        } else if (restart_block) {
            // "A failure happened early enough that we know the destination hasn't accessed
            // block devices, so we're safe to recover."
            std::string err;
            block_.bdrv_activate_all(&err);
            if (!err.empty()) {
                log("postcopy_start: " + err);
            }
        }
        log("postcopy_start: postcopy failed to start");
    };
    if (migration_stop_vm(true) < 0) {
        fail();
        return;
    }
    if (switchover) {
        // migration_switchover_prepare(): a concurrent cancel interrupts the switchover.
        if (s_.state == MigrationStatus::cancelling) {
            log("Switchover is interrupted");
            fail();
            return;
        }
        migrate_set_state_any(s_.state, MigrationStatus::device);
    }
    const bool inactivated = policy_.has_migration_block_active_flag || switchover
                                 ? migration_block_inactivate()
                                 : block_.bdrv_inactivate_all() == 0;
    if (!inactivated) {
        fail();
        return;
    }
    restart_block = true;
    const PostcopyPackageFault package_fault = faults_.take_postcopy_package_fault();
    // Both faults are the socket's: a write to the destination failed, so the connection is
    // broken and the destination's qemu_loadvm_state() sees the error too (its load fails as
    // soon as it reads on, before the source's cleanup closes the file).
    if (package_fault == PostcopyPackageFault::before_package_sent) {
        qemu_file_set_error(-EIO);
        s_.to_dst->connection_broken = true;
    }
    if (s_.to_dst_file_error) {
        log("postcopy_start: Migration stream errored (pre package)");
        fail();
        return;
    }
    restart_block = false; // "Last point of recovery"
    if (package_fault == PostcopyPackageFault::package_send_fails) {
        qemu_file_set_error(-EIO);
        s_.to_dst->connection_broken = true;
        fail();
        return;
    }
    s_.to_dst->device_state_sent = true;
    s_.to_dst->postcopy_package_sent = true;
    if (switchover) {
        migrate_set_state(s_.state, MigrationStatus::device, MigrationStatus::postcopy_active);
    }
}

} // namespace handoff::impl
