// QEMU v9.2 (9.2.4, the last release before the 10.0 redesign). Changes from 8.1 that touch this
// path: migration_stop_vm() records s->vm_old_state for postcopy_start() too (Steve Sistare, 9.0);
// ram_save_complete() returns qemu_fflush()'s error, so a completion whose stream was already shut
// down fails before bdrv_inactivate_all(); migration_completion_end() moves the *current* state to
// COMPLETED (a cancel that lands after the checks is overwritten); bdrv_can_snapshot() refuses
// inactive nodes (d3007d348a, 9.0). migration_completion_failed() keeps 8.1's `fail:` logic.
// Read from migration.c 9.2.4 (:216 migration_stop_vm, :2719 migration_completion_precopy, :2771
// migration_completion_failed, :2802 migration_completion).
#pragma once

#include "handoff/model/tables/v8_1.hpp"

namespace handoff::model::tables {

namespace v9_2 {

inline constexpr auto savevm = row<"savevm">(
    Actor::qmp, with_params<P::host>{},
    "`savevm`/`snapshot-save` with no migration running, in any run state: bdrv_can_snapshot() "
    "tests bdrv_is_writable() (d3007d348a), so an inactive node refuses the snapshot before "
    "anything is written; a disk with a node without a driver (its own, or one below it) is left "
    "out (refused only if every disk is); otherwise migrate_init() resets vm_old_state and "
    "s->state ends COMPLETED, or FAILED if "
    "the storage does not answer. The nodes snapshotted are the disks' (the graph's roots); the "
    "writes go on down each disk's data path, asserting that each node there is active.",
    "save_snapshot(), bdrv_can_snapshot() (block/snapshot.c, 9.0+; d3007d348a), "
    "bdrv_all_snapshots_includes_bs() (!bdrv_is_inserted() when bs->drv == NULL)",
    alive(h) && !migration_is_running(h) && pc(h) == PC::IDLE,
    effect(when(snapshot_has_node(h) &&
                    forall(n, implies(is_root(n) && inserted(h, n), node(h, n) != NS::INACTIVE)),
                qemu_assert(!snapshot_meets_inactive(h), Crash::WRITE_TO_INACTIVE),
                set(vm_old_state(h), RS::UNSET),
                set(mig(h), ite(storage_ok, MS::COMPLETED, MS::FAILED)))));

// migration_completion_precopy() (9.2.4:2719): s->block_inactive = !migrate_colo() before the
// attempt; qemu_savevm_state_complete_precopy() fails before the non-iterable part (and so before
// bdrv_inactivate_all()) when ram_save_complete()'s qemu_fflush() reports the shut-down stream.
constexpr auto savevm_complete_precopy(auto host) {
    return group(
        "savevm_complete_precopy", "h",
        "migration_completion_precopy() sets s->block_inactive = !migrate_colo(), then "
        "qemu_savevm_state_complete_precopy(): ram_save_complete() returns the stream's error "
        "first if it was shut down (nothing inactivated); otherwise bdrv_inactivate_all() before "
        "QEMU_VM_EOF, and on failure qemu_file_set_error() and no EOF.",
        set(block_inactive(host), true),
        when_else(file_error(host),
                  block(no_block_operation(), set(pc(host), PC::COMPLETION_FAILED)),
                  block(set(tried_inactivate(host), true), bdrv_inactivate_all_asserting(host),
                        set(stream_eof(host), inactivation_ok(host)),
                        set(file_error(host), !inactivation_ok(host)),
                        set(pc(host), ite(inactivation_ok(host), PC::COMPLETION_SAVED,
                                          PC::COMPLETION_FAILED)))));
}

inline constexpr auto migration_completion_save = row<"migration_completion_save">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "Without pause-before-switchover, one BQL section stops the VM (migration_stop_vm()), sets "
    "s->block_inactive, completes the device state and inactivates every node (possibly failing "
    "at node `fail`).",
    "migration_completion_precopy() (migration.c:2719, v9.2.4)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !pause_before_switchover,
    effect(v8_1::stop_vm_for_completion(h), savevm_complete_precopy(h)));

inline constexpr auto migration_switchover_resume = row<"migration_switchover_resume">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "s->pause_sem was posted and the state is still PRE_SWITCHOVER: it becomes DEVICE, the BQL "
    "is taken, s->block_inactive is set and the device state is completed with inactivation.",
    "migration_maybe_pause(), migration_completion_precopy() (migration.c:2719, v9.2.4)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(mig(h), MS::DEVICE), set(active_state(h), MS::DEVICE),
           savevm_complete_precopy(h)));

inline constexpr auto migration_completion_checks_pass = row<"migration_completion_checks_pass">(
    Actor::thread, with_params<P::host>{},
    "close_return_path_on_source() and qemu_file_get_error() find no error: the destination "
    "loaded the stream. migration_completion_end() is next, and takes the BQL.",
    "migration_completion() (migration.c:2802, v9.2.4)",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && !file_error(h) && !rp_error(h) && alive(peer(h)) &&
        (incoming(peer(h)) == IN::LOADED || incoming(peer(h)) == IN::DONE),
    effect(set(pc(h), PC::COMPLETION_END)));

inline constexpr auto migration_completion_end = row<"migration_completion_end">(
    Actor::thread, with_params<P::host>{},
    "migration_completion_end(): migrate_set_state(&s->state, s->state, COMPLETED) -- from "
    "whatever the state is now, so a migrate_cancel that landed after the checks (and may "
    "already have re-activated the disks) is overwritten.",
    "migration_completion_end() (migration.c, v9.2.4)", alive(h) && pc(h) == PC::COMPLETION_END,
    effect(set(mig(h), MS::COMPLETED), set(pc(h), PC::FINISH)));

// migration_stop_vm() (9.2.4:216) for postcopy_start(): vm_old_state is recorded now.
constexpr auto postcopy_stop_and_inactivate(auto host) {
    return group(
        "postcopy_stop_and_inactivate", "h",
        "postcopy_start(): ACTIVE -> POSTCOPY_ACTIVE, migration_stop_vm() (s->vm_old_state "
        "= runstate_get(), global_state_store(), vm_stop_force_state(FINISH_MIGRATE) "
        "whose flush may fail: `flush_fails`), then bdrv_inactivate_all().",
        set(vm_old_state(host), runstate(host)), set(global_state(host), runstate(host)),
        runstate_set(host, RS::FINISH_MIGRATE),
        assume(implies(flush_fails, !storage_ok && fail == none && !half)),
        when(!flush_fails, set(tried_inactivate(host), true), bdrv_inactivate_all_asserting(host)));
}

inline constexpr auto postcopy_start_ok = row<"postcopy_start_ok">(
    Actor::thread, with_params<P::host>{},
    "postcopy_start() succeeds: the VM is stopped, every node inactivated, and the package with "
    "the `run` command reaches the destination; the thread goes on in POSTCOPY_ACTIVE.",
    "postcopy_start() (migration.c, v9.2.4)", postcopy_start_guard(h),
    effect(postcopy_stop_and_inactivate(h), assume(!flush_fails && inactivation_ok(h)),
           set(mig(h), MS::POSTCOPY_ACTIVE), set(incoming(peer(h)), IN::POSTCOPY)));

inline constexpr auto postcopy_start_fails = row<"postcopy_start_fails">(
    Actor::thread, with_params<P::host, P::flush_fails, P::fail, P::half>{},
    "postcopy_start() fails in migration_stop_vm()'s flush or in bdrv_inactivate_all() (at node "
    "`fail`): `fail:` moves POSTCOPY_ACTIVE -> FAILED; restart_block is still false, so nothing "
    "is re-activated.",
    "postcopy_start() fail label (migration.c, v9.2.4)", postcopy_start_guard(h),
    effect(postcopy_stop_and_inactivate(h), assume(flush_fails || !inactivation_ok(h)),
           set(file_error(h), true), set(mig(h), MS::FAILED)));

inline constexpr auto postcopy_start_package_fails = row<"postcopy_start_package_fails">(
    Actor::fault, with_params<P::host, P::reactivate_fail, P::broken>{},
    "postcopy_start() inactivated every node, then building or sending the package fails before "
    "the last point of recovery: `fail:` moves POSTCOPY_ACTIVE -> FAILED and, restart_block being "
    "set, calls bdrv_activate_all() (its error is only reported).",
    "postcopy_start() restart_block, fail_closefb/fail (migration.c, v9.2.4)",
    postcopy_start_guard(h),
    effect(set(vm_old_state(h), runstate(h)), set(global_state(h), runstate(h)),
           runstate_set(h, RS::FINISH_MIGRATE), inactivate_then_reactivate(h),
           set(file_error(h), true), set(mig(h), MS::FAILED)));

inline constexpr auto postcopy_start_send_fails = row<"postcopy_start_send_fails">(
    Actor::fault, with_params<P::host>{},
    "postcopy_start() inactivated every node, then sending the package (or the check after the "
    "BQL is dropped) fails after the last point of recovery: POSTCOPY_ACTIVE -> FAILED, nothing "
    "is re-activated, and the destination does not run.",
    "postcopy_start() `restart_block = false`, fail_closefb/fail (migration.c, v9.2.4)",
    postcopy_start_guard(h),
    effect(postcopy_stop_and_inactivate(h), assume(!flush_fails && inactivation_ok(h)),
           set(file_error(h), true), set(mig(h), MS::FAILED)));

inline constexpr auto rows_a = replace_row<"savevm">(v8_1_rows, savevm);
inline constexpr auto rows_b =
    replace_row<"migration_completion_save">(rows_a, migration_completion_save);
inline constexpr auto rows_c =
    replace_row<"migration_switchover_resume">(rows_b, migration_switchover_resume);
inline constexpr auto rows_d =
    replace_row<"migration_completion_done">(rows_c, migration_completion_checks_pass);
inline constexpr auto rows_e = add_rows(rows_d, migration_completion_end);
inline constexpr auto rows_f = replace_row<"postcopy_start_ok">(rows_e, postcopy_start_ok);
inline constexpr auto rows_g = replace_row<"postcopy_start_fails">(rows_f, postcopy_start_fails);
inline constexpr auto rows_h =
    replace_row<"postcopy_start_package_fails">(rows_g, postcopy_start_package_fails);
inline constexpr auto rows =
    replace_row<"postcopy_start_send_fails">(rows_h, postcopy_start_send_fails);

} // namespace v9_2

inline constexpr auto v9_2_rows = v9_2::rows;
static_assert(validate_table<v9_2_rows>());

} // namespace handoff::model::tables
