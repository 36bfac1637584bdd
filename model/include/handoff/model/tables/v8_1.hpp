// QEMU v8.1: the 2023 fix. 403d18ae (Eric Blake: set s->block_inactive before the inactivation
// attempt), 5d39f44d (Juan Quintela: no local `inactivate`), 6dab4c93 (one `fail:` label that
// re-activates whenever s->block_inactive is set and the state is ACTIVE or DEVICE), and Vladimir
// Sementsov-Ogievskiy's f4584076/a4c6275a (s->vm_old_state replaces s->vm_was_running, and a failed
// migration restores the old run state). Read from migration.c 8.1.0 (:2292 migration_completion,
// :2760 migration_iteration_finish, :1247 migrate_fd_cancel).
#pragma once

#include "handoff/model/tables/v8_0_0.hpp"

namespace handoff::model::tables {

namespace v8_1 {

inline constexpr auto qmp_migrate = row<"qmp_migrate">(
    Actor::qmp, with_params<P::host>{},
    "`migrate` to the listening peer: migrate_prepare() refuses a VM in INMIGRATE or "
    "POSTMIGRATE and a running migration; migrate_init() resets s->vm_old_state to -1 but not "
    "s->block_inactive; the migration thread is created.",
    "qmp_migrate(), migrate_prepare(), migrate_init() (migration.c, v8.1.0)",
    alive(h) && alive(peer(h)) && incoming(peer(h)) == IN::LISTENING &&
        runstate(h) != RS::INMIGRATE && runstate(h) != RS::POSTMIGRATE &&
        !migration_is_running(h) && pc(h) == PC::IDLE,
    effect(set(vm_old_state(h), RS::UNSET), set(global_state(h), RS::UNSET),
           set(tried_inactivate(h), false), set(stream_eof(h), false), set(file_error(h), false),
           set(rp_error(h), false), set(mig(h), MS::SETUP), set(pc(h), PC::SETUP),
           set(incoming(peer(h)), IN::LOADING)));

inline constexpr auto savevm = row<"savevm">(
    Actor::qmp, with_params<P::host>{},
    "`savevm`/`snapshot-save` with no migration running, in any run state: bdrv_can_snapshot() "
    "still tests bdrv_is_read_only(), so inactive nodes are not refused; a node without a driver "
    "is left out (refused only if every node lacks one); migrate_init() resets vm_old_state and "
    "the snapshot writes assert that each included node is active; s->state ends COMPLETED, or "
    "FAILED if the storage does not answer. The nodes snapshotted are the disks' (the graph's "
    "roots); the writes go on down each disk's data path, asserting the same of each node there.",
    "save_snapshot(), bdrv_can_snapshot(), bdrv_all_snapshots_includes_bs() (block/snapshot.c, "
    "v8.1.0), bdrv_co_write_req_prepare()",
    alive(h) && !migration_is_running(h) && pc(h) == PC::IDLE,
    effect(when(
        snapshot_has_node(h), qemu_assert(!snapshot_meets_inactive(h), Crash::WRITE_TO_INACTIVE),
        set(vm_old_state(h), RS::UNSET), set(mig(h), ite(storage_ok, MS::COMPLETED, MS::FAILED)))));

// migration_completion() 8.1 under the BQL: s->vm_old_state = runstate_get(); global_state_store();
// vm_stop_force_state(RUN_STATE_FINISH_MIGRATE).
constexpr auto stop_vm_for_completion(auto host) {
    return group("stop_vm_for_completion", "h",
                 "migration_completion() under the BQL: s->vm_old_state = runstate_get(); "
                 "global_state_store(); vm_stop_force_state(RUN_STATE_FINISH_MIGRATE).",
                 set(vm_old_state(host), runstate(host)), set(global_state(host), runstate(host)),
                 runstate_set(host, RS::FINISH_MIGRATE));
}

// 403d18ae/5d39f44d: `s->block_inactive = !migrate_colo();` before the attempt, so a partial
// failure is remembered.
constexpr auto savevm_complete_precopy(auto host) {
    return group(
        "savevm_complete_precopy", "h",
        "migration_completion() sets s->block_inactive = !migrate_colo() before calling "
        "qemu_savevm_state_complete_precopy(f, false, s->block_inactive), which runs "
        "bdrv_inactivate_all() before QEMU_VM_EOF; on failure qemu_file_set_error() and no EOF.",
        set(block_inactive(host), true), set(tried_inactivate(host), true),
        bdrv_inactivate_all_asserting(host),
        set(stream_eof(host), inactivation_ok(host) && !file_error(host)),
        set(file_error(host), file_error(host) || !inactivation_ok(host)),
        set(pc(host), ite(inactivation_ok(host), PC::COMPLETION_SAVED, PC::COMPLETION_FAILED)));
}

inline constexpr auto migration_completion_flush_fails = row<"migration_completion_flush_fails">(
    Actor::thread, with_params<P::host>{},
    "Under the BQL the VM is stopped, but bdrv_flush_all() in vm_stop_force_state() fails "
    "(storage gone): nothing was inactivated; the BQL is dropped with ret < 0.",
    "migration_completion() (migration.c:2292, v8.1.0), vm_stop_force_state()",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !storage_ok,
    effect(stop_vm_for_completion(h), set(pc(h), PC::COMPLETION_FAILED)));

inline constexpr auto migration_completion_save = row<"migration_completion_save">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "Without pause-before-switchover, one BQL section stops the VM, sets s->block_inactive, "
    "completes the device state and inactivates every node (possibly failing at node `fail`).",
    "migration_completion() (migration.c:2292, v8.1.0; 403d18ae, 5d39f44d)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !pause_before_switchover,
    effect(stop_vm_for_completion(h), savevm_complete_precopy(h)));

inline constexpr auto migration_completion_pause = row<"migration_completion_pause">(
    Actor::thread, with_params<P::host>{},
    "With pause-before-switchover, the VM is stopped, then migration_maybe_pause() drains "
    "s->pause_sem, drops the BQL and moves current_active_state -> PRE_SWITCHOVER (a no-op if "
    "cancelled meanwhile), waiting for migrate-continue.",
    "migration_completion() (2292), migration_maybe_pause() (migration.c, v8.1.0)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && pause_before_switchover && mig(h) != MS::CANCELLING,
    effect(stop_vm_for_completion(h), set(pause_sem(h), false),
           set(mig(h), ite(mig(h) == active_state(h), MS::PRE_SWITCHOVER, mig(h))),
           set(pc(h), PC::SWITCHOVER_WAIT)));

inline constexpr auto migration_completion_cancelled_before_pause =
    row<"migration_completion_cancelled_before_pause">(
        Actor::thread, with_params<P::host>{},
        "With pause-before-switchover but already CANCELLING, migration_maybe_pause() does not "
        "wait and returns -EINVAL: the BQL is dropped with ret < 0.",
        "migration_maybe_pause() (migration.c, v8.1.0)",
        alive(h) && pc(h) == PC::COMPLETION_LOCK && pause_before_switchover &&
            mig(h) == MS::CANCELLING,
        effect(stop_vm_for_completion(h), set(pause_sem(h), false),
               set(pc(h), PC::COMPLETION_FAILED)));

inline constexpr auto migration_switchover_resume = row<"migration_switchover_resume">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "s->pause_sem was posted and the state is still PRE_SWITCHOVER: it becomes DEVICE, the BQL "
    "is taken, s->block_inactive is set and the device state is completed with inactivation.",
    "migration_maybe_pause(), migration_completion() (migration.c:2292, v8.1.0)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(mig(h), MS::DEVICE), set(active_state(h), MS::DEVICE),
           savevm_complete_precopy(h)));

// 6dab4c93: one `fail:` label for every failure of migration_completion().
constexpr auto completion_fail_label(auto host) {
    return group(
        "completion_fail_label", "h",
        "migration_completion() `fail:` (6dab4c93): if s->block_inactive and the state is still "
        "ACTIVE or DEVICE, take the BQL and bdrv_activate_all(), clearing s->block_inactive only "
        "on "
        "success; then current_active_state -> FAILED.",
        when_else(block_inactive(host) && (mig(host) == MS::ACTIVE || mig(host) == MS::DEVICE),
                  block(bdrv_activate_all(host, fail, broken),
                        when(no_activation_error(host, fail), set(block_inactive(host), false))),
                  block(no_block_operation())),
        set(mig(host), ite(mig(host) == active_state(host), MS::FAILED, mig(host))),
        set(pc(host), PC::FINISH));
}

inline constexpr auto migration_completion_fail = row<"migration_completion_fail">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "`if (ret < 0) goto fail`: the single `fail:` label re-activates the disks if "
    "s->block_inactive says they were (tried to be) inactivated.",
    "migration_completion() fail: (migration.c:2292, v8.1.0; 6dab4c93)",
    alive(h) && pc(h) == PC::COMPLETION_FAILED, effect(completion_fail_label(h)));

inline constexpr auto migration_completion_checks_fail = row<"migration_completion_checks_fail">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "After the device state was sent, await_return_path_close_on_source() or "
    "qemu_file_get_error() reports an error (the destination is gone, or the stream was shut "
    "down): `goto fail`, the same label.",
    "migration_completion() (migration.c:2292, v8.1.0; 6dab4c93 merged fail_invalidate into fail)",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && (file_error(h) || rp_error(h) || !alive(peer(h))),
    effect(completion_fail_label(h)));

inline constexpr auto migration_iteration_finish_resume = row<"migration_iteration_finish_resume">(
    Actor::thread, with_params<P::host>{},
    "After a failed or cancelled migration of a VM that was running (s->vm_old_state == "
    "RUNNING), vm_start() resumes the guest (unless it shut down) without looking at the block "
    "layer.",
    "migration_iteration_finish() (migration.c:2760, v8.1.0)",
    alive(h) && pc(h) == PC::FINISH &&
        (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
        vm_old_state(h) == RS::RUNNING,
    effect(when(runstate(h) != RS::SHUTDOWN, vm_start(h)), migrate_fd_cleanup(h)));

inline constexpr auto migration_iteration_finish_stopped =
    row<"migration_iteration_finish_stopped">(
        Actor::thread, with_params<P::host>{},
        "After a failed or cancelled migration of a VM that was not running, a VM still in "
        "FINISH_MIGRATE gets its old run state back: runstate_set(s->vm_old_state) (a4c6275a). "
        "postcopy_start() never sets vm_old_state in 8.1, so after a postcopy failure it is still "
        "-1.",
        "migration_iteration_finish() (migration.c:2760, v8.1.0; a4c6275a)",
        alive(h) && pc(h) == PC::FINISH &&
            (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
            vm_old_state(h) != RS::RUNNING,
        effect(when(runstate(h) == RS::FINISH_MIGRATE, runstate_set(h, vm_old_state(h))),
               migrate_fd_cleanup(h)));

// runstate_transitions_def[] gains FINISH_MIGRATE -> SHUTDOWN (and error states) in a4c6275a.
inline constexpr RunstateTransition kRunstateTransitions[] = {
    {RS::INMIGRATE, RS::RUNNING},
    {RS::INMIGRATE, RS::PAUSED},
    {RS::INMIGRATE, RS::SHUTDOWN},
    {RS::INMIGRATE, RS::FINISH_MIGRATE},
    {RS::INMIGRATE, RS::POSTMIGRATE},
    {RS::PAUSED, RS::RUNNING},
    {RS::PAUSED, RS::FINISH_MIGRATE},
    {RS::PAUSED, RS::POSTMIGRATE},
    {RS::POSTMIGRATE, RS::RUNNING},
    {RS::POSTMIGRATE, RS::FINISH_MIGRATE},
    {RS::FINISH_MIGRATE, RS::RUNNING},
    {RS::FINISH_MIGRATE, RS::PAUSED},
    {RS::FINISH_MIGRATE, RS::POSTMIGRATE},
    {RS::FINISH_MIGRATE, RS::SHUTDOWN},
    {RS::RUNNING, RS::PAUSED},
    {RS::RUNNING, RS::FINISH_MIGRATE},
    {RS::RUNNING, RS::SAVE_VM},
    {RS::RUNNING, RS::SHUTDOWN},
    {RS::SAVE_VM, RS::RUNNING},
    {RS::SHUTDOWN, RS::PAUSED},
    {RS::SHUTDOWN, RS::FINISH_MIGRATE},
};

inline constexpr auto rows_a = replace_row<"qmp_migrate">(v8_0_0_rows, qmp_migrate);
inline constexpr auto rows_b = replace_row<"savevm">(rows_a, savevm);
inline constexpr auto rows_c =
    replace_row<"migration_completion_flush_fails">(rows_b, migration_completion_flush_fails);
inline constexpr auto rows_d =
    replace_row<"migration_completion_save">(rows_c, migration_completion_save);
inline constexpr auto rows_e =
    replace_row<"migration_completion_pause">(rows_d, migration_completion_pause);
inline constexpr auto rows_f = replace_row<"migration_completion_cancelled_before_pause">(
    rows_e, migration_completion_cancelled_before_pause);
inline constexpr auto rows_g =
    replace_row<"migration_switchover_resume">(rows_f, migration_switchover_resume);
inline constexpr auto rows_h =
    replace_row<"migration_completion_fail">(rows_g, migration_completion_fail);
inline constexpr auto rows_i =
    replace_row<"migration_completion_fail_invalidate">(rows_h, migration_completion_checks_fail);
inline constexpr auto rows_j =
    replace_row<"migration_iteration_finish_resume">(rows_i, migration_iteration_finish_resume);
inline constexpr auto rows =
    replace_row<"migration_iteration_finish_stopped">(rows_j, migration_iteration_finish_stopped);

} // namespace v8_1

inline constexpr auto v8_1_rows = v8_1::rows;
static_assert(validate_table<v8_1_rows>());

} // namespace handoff::model::tables
