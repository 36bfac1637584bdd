// QEMU v8.0.0: the code of the seed thread (migration/migration.c blob bda47891, the pre-image of
// Eric Blake's v2 patch; block.c, savevm.c, qmp-cmds.c, cpus.c read from 8.0.5). Every later
// version's table is derived from this one.
#pragma once

#include "handoff/model/row.hpp"
#include "handoff/model/tables/qemu_ops.hpp"

namespace handoff::model::tables {

using P = Param;

// ---- environment and management ----------------------------------------------------------------

inline constexpr auto storage_lost = row<"storage_lost">(
    Actor::fault, with_params<>{},
    "The shared storage (the NFS server) stops answering: from now on flushes, inactivation and "
    "activation may fail at any node.",
    "environment (RHBZ 2058982)", storage_ok, effect(set(storage_ok, false)));

inline constexpr auto storage_restored = row<"storage_restored">(
    Actor::environment, with_params<>{}, "The shared storage answers again.",
    "environment (RHBZ 2058982)", !storage_ok, effect(set(storage_ok, true)));

inline constexpr auto start_destination = row<"start_destination">(
    Actor::management, with_params<P::host>{},
    "Management starts a fresh QEMU with -incoming on a host without a process, to receive a "
    "migration from the other host: run state INMIGRATE, every node opened inactive.",
    "vl.c qemu_init() with -incoming; blockdev.c 8.0.5:608/675 (BDRV_O_INACTIVE when INMIGRATE)",
    !alive(h) && alive(peer(h)) && starts_left != Count::ZERO,
    effect(set(starts_left, decrement(starts_left)), set(alive(h), true),
           set(runstate(h), RS::INMIGRATE), set(incoming(h), IN::LISTENING),
           set(autostart(h), autostart_policy), set(stream_eof(h), false),
           set(global_state(h), RS::UNSET), set(node(h, n), NS::INACTIVE)));

inline constexpr auto quit_after_handover = row<"quit_after_handover">(
    Actor::management, with_params<P::host>{},
    "Management quits the source after a completed migration (libvirt's last step).",
    "qmp_quit() (monitor/qmp-cmds.c) after migration COMPLETED",
    alive(h) && mig(h) == MS::COMPLETED && runstate(h) == RS::POSTMIGRATE && pc(h) == PC::IDLE,
    effect(process_exits(h)));

// ---- QMP commands ------------------------------------------------------------------------------

inline constexpr auto qmp_migrate = row<"qmp_migrate">(
    Actor::qmp, with_params<P::host>{},
    "`migrate` to the listening peer: migrate_prepare() refuses a VM in INMIGRATE or "
    "POSTMIGRATE and a running migration; migrate_init() resets the per-migration fields but "
    "not s->block_inactive; the migration thread is created.",
    "qmp_migrate(), migrate_prepare(), migrate_init() (migration.c, v8.0.0)",
    alive(h) && alive(peer(h)) && incoming(peer(h)) == IN::LISTENING &&
        runstate(h) != RS::INMIGRATE && runstate(h) != RS::POSTMIGRATE &&
        !migration_is_running(h) && pc(h) == PC::IDLE,
    effect(set(vm_was_running(h), false), set(global_state(h), RS::UNSET),
           set(tried_inactivate(h), false), set(stream_eof(h), false), set(file_error(h), false),
           set(rp_error(h), false), set(mig(h), MS::SETUP), set(pc(h), PC::SETUP),
           set(incoming(peer(h)), IN::LOADING)));

inline constexpr auto qmp_migrate_cancel = row<"qmp_migrate_cancel">(
    Actor::qmp, with_params<P::host, P::fail, P::broken>{},
    "`migrate_cancel`: every running state moves to CANCELLING (waking a thread paused in "
    "PRE_SWITCHOVER), the stream is shut down, and if s->block_inactive the disks are "
    "re-activated; the flag is cleared only if that succeeds.",
    "migrate_fd_cancel() (migration.c:2086, v8.0.0)", alive(h) && migration_is_running(h),
    effect(set(pause_sem(h), pause_sem(h) || mig(h) == MS::PRE_SWITCHOVER),
           set(mig(h), MS::CANCELLING), set(file_error(h), true),
           when_else(block_inactive(h),
                     block(bdrv_activate_all(h, fail, broken),
                           set(block_inactive(h), !no_activation_error(h, fail))),
                     block(no_block_operation()))));

inline constexpr auto qmp_migrate_continue = row<"qmp_migrate_continue">(
    Actor::qmp, with_params<P::host>{},
    "`migrate-continue state=pre-switchover`: posts s->pause_sem.",
    "qmp_migrate_continue() (migration.c, v8.0.0)", alive(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), true)));

inline constexpr auto qmp_cont = row<"qmp_cont">(
    Actor::qmp, with_params<P::host, P::fail, P::broken>{},
    "`cont`: refused in FINISH_MIGRATE; otherwise bdrv_activate_all() first (even on a running VM "
    "or a destination in INMIGRATE) and, if that succeeded, vm_start() -- or, in INMIGRATE, "
    "autostart = 1.",
    "qmp_cont() (monitor/qmp-cmds.c 8.0.5:66)",
    alive(h) && runstate(h) != RS::FINISH_MIGRATE && runstate(h) != RS::SAVE_VM &&
        documented_resume(h),
    effect(bdrv_activate_all(h, fail, broken),
           when(no_activation_error(h, fail),
                when_else(runstate(h) == RS::INMIGRATE, block(set(autostart(h), true)),
                          block(vm_start(h))))));

inline constexpr auto qmp_stop = row<"qmp_stop">(
    Actor::qmp, with_params<P::host>{},
    "`stop`: in INMIGRATE clears autostart; on a running VM vm_stop(PAUSED) (flush errors are "
    "ignored).",
    "qmp_stop() (monitor/qmp-cmds.c 8.0.5), vm_stop() (cpus.c)",
    alive(h) && (runstate(h) == RS::RUNNING || runstate(h) == RS::INMIGRATE),
    effect(when_else(runstate(h) == RS::INMIGRATE, block(set(autostart(h), false)),
                     block(runstate_set(h, RS::PAUSED)))));

inline constexpr auto savevm = row<"savevm">(
    Actor::qmp, with_params<P::host>{},
    "`savevm`/`snapshot-save` with no migration running, in any run state: a node without a "
    "driver (the disk's own, or one below it) leaves the disk out of the snapshot (refused only if "
    "every disk is left out: no node takes the VM state); migrate_init() resets vm_was_running and "
    "the VM state and snapshots are written "
    "to every other node, asserting that each is active; s->state ends COMPLETED, or FAILED if "
    "the storage does not answer. The transient SAVE_VM run state is not visible outside the "
    "step. The nodes snapshotted are the disks' (the graph's roots); the writes go on down each "
    "disk's data path, asserting the same of each node there.",
    "save_snapshot(), bdrv_all_find_vmstate_bs() (migration/savevm.c 8.0.5), "
    "bdrv_all_snapshots_includes_bs() (block/snapshot.c 8.0.5:497-506: !bdrv_is_inserted() "
    "when bs->drv == NULL), qemu_savevm_state(), bdrv_co_write_req_prepare()",
    alive(h) && !migration_is_running(h) && pc(h) == PC::IDLE,
    effect(when(
        snapshot_has_node(h), qemu_assert(!snapshot_meets_inactive(h), Crash::WRITE_TO_INACTIVE),
        set(vm_was_running(h), false), set(mig(h), ite(storage_ok, MS::COMPLETED, MS::FAILED)))));

inline constexpr auto guest_write = row<"guest_write">(
    Actor::guest, with_params<P::host, P::target>{},
    "The running guest writes to a disk, through its BlockBackend's node (target, a root of the "
    "graph): the request reaches bdrv_co_write_req_prepare(), which asserts the node is active "
    "(a half-inactivated node's BlockBackend has lost its write permission, which is asserted "
    "too), and goes on down the disk's data path (the image file, a filter's child; not the "
    "backing image), asserting the same of each node. A node without a driver anywhere below "
    "the disk's node (the backing image too) fails the request with -ENOMEDIUM before it "
    "reaches any node.",
    "blk_co_pwritev() -> blk_check_byte_request() (-ENOMEDIUM unless bdrv_is_inserted()) -> "
    "bdrv_co_pwritev_part() -> bdrv_co_write_req_prepare() (block/io.c 8.0.5:1815)",
    alive(h) && runstate(h) == RS::RUNNING && exists(n, n == target && is_root(n)),
    effect(qemu_assert(!exists(n, n == target && write_meets_inactive(h, n) && inserted(h, n)),
                       Crash::WRITE_TO_INACTIVE)));

// ---- the outgoing migration thread -------------------------------------------------------------

inline constexpr auto migration_thread_setup = row<"migration_thread_setup">(
    Actor::thread, with_params<P::host>{},
    "The migration thread finishes qemu_savevm_state_setup() and moves SETUP -> ACTIVE "
    "(a no-op if it was cancelled meanwhile).",
    "migration_thread() (migration.c:4074, v8.0.0)", alive(h) && pc(h) == PC::SETUP,
    effect(set(mig(h), ite(mig(h) == MS::SETUP, MS::ACTIVE, mig(h))), set(pc(h), PC::ITERATING)));

inline constexpr auto migration_thread_loop_exit = row<"migration_thread_loop_exit">(
    Actor::thread, with_params<P::host>{},
    "The thread's loop sees that the migration is no longer active (failed or cancelled) and "
    "leaves the loop.",
    "migration_thread() while (migration_is_active(s)) (migration.c:4074, v8.0.0)",
    alive(h) && pc(h) == PC::ITERATING && mig(h) != MS::ACTIVE && mig(h) != MS::POSTCOPY_ACTIVE,
    effect(set(pc(h), PC::FINISH)));

inline constexpr auto migration_stream_error = row<"migration_stream_error">(
    Actor::fault, with_params<P::host>{},
    "The outgoing stream breaks while iterating (the connection drops); "
    "migration_detect_error() moves ACTIVE -> FAILED.",
    "migration_detect_error() (migration.c, v8.0.0)",
    alive(h) && pc(h) == PC::ITERATING && mig(h) == MS::ACTIVE,
    effect(set(file_error(h), true), set(mig(h), MS::FAILED)));

inline constexpr auto migration_completion_begin = row<"migration_completion_begin">(
    Actor::thread, with_params<P::host>{},
    "The pending data is small: migration_iteration_run() calls migration_completion(), which "
    "reads s->state == ACTIVE (current_active_state) before taking the BQL.",
    "migration_iteration_run() (3868), migration_completion() (3426) (migration.c, v8.0.0)",
    alive(h) && pc(h) == PC::ITERATING && mig(h) == MS::ACTIVE,
    effect(set(active_state(h), MS::ACTIVE), set(pc(h), PC::COMPLETION_LOCK)));

inline constexpr auto migration_completion_not_active = row<"migration_completion_not_active">(
    Actor::thread, with_params<P::host>{},
    "migration_completion() finds the migration cancelled after the loop's check: `goto fail`, "
    "whose migrate_set_state(current_active_state = CANCELLING, FAILED) succeeds.",
    "migration_completion() `else goto fail` (migration.c:3426, v8.0.0)",
    alive(h) && pc(h) == PC::ITERATING && mig(h) == MS::CANCELLING,
    effect(set(mig(h), MS::FAILED), set(pc(h), PC::FINISH)));

// Shared by the completion rows: vm_stop_force_state(RUN_STATE_FINISH_MIGRATE) after recording
// whether the VM was running.
constexpr auto stop_vm_for_completion_v8_0(auto host) {
    return group("stop_vm_for_completion", "h",
                 "migration_completion() under the BQL: s->vm_was_running = runstate_is_running(); "
                 "global_state_store(); vm_stop_force_state(RUN_STATE_FINISH_MIGRATE).",
                 set(vm_was_running(host), runstate(host) == RS::RUNNING),
                 set(global_state(host), runstate(host)), runstate_set(host, RS::FINISH_MIGRATE));
}

// qemu_savevm_state_complete_precopy(f, false, inactivate = true): device state, then
// bdrv_inactivate_all() before QEMU_VM_EOF; on failure qemu_file_set_error(). 8.0 sets
// s->block_inactive only when inactivation succeeded.
constexpr auto savevm_complete_precopy_v8_0(auto host) {
    return group(
        "savevm_complete_precopy", "h",
        "savevm.c qemu_savevm_state_complete_precopy_non_iterable() (8.0.5:1447): "
        "bdrv_inactivate_all() before QEMU_VM_EOF; on failure qemu_file_set_error() and no EOF. "
        "migration_completion() then sets s->block_inactive only if it succeeded "
        "(`if (inactivate && ret >= 0)`). The stream carries EOF unless it was already shut "
        "down.",
        set(tried_inactivate(host), true), bdrv_inactivate_all_asserting(host),
        set(block_inactive(host), block_inactive(host) || inactivation_ok(host)),
        set(stream_eof(host), inactivation_ok(host) && !file_error(host)),
        set(file_error(host), file_error(host) || !inactivation_ok(host)),
        set(pc(host), ite(inactivation_ok(host), PC::COMPLETION_SAVED, PC::COMPLETION_FAILED)));
}

inline constexpr auto migration_completion_flush_fails = row<"migration_completion_flush_fails">(
    Actor::thread, with_params<P::host>{},
    "Under the BQL the VM is stopped, but bdrv_flush_all() in vm_stop_force_state() fails "
    "(storage gone): nothing was inactivated; the BQL is dropped with ret < 0.",
    "migration_completion() (3426), vm_stop_force_state() (cpus.c 8.0.5:730)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !storage_ok,
    effect(stop_vm_for_completion_v8_0(h), set(pc(h), PC::COMPLETION_FAILED)));

inline constexpr auto migration_completion_save = row<"migration_completion_save">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "Without pause-before-switchover, one BQL section stops the VM, completes the device state "
    "and inactivates every node (possibly failing at node `fail`), then drops the BQL.",
    "migration_completion() (3426), qemu_savevm_state_complete_precopy() (savevm.c 8.0.5:1503)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !pause_before_switchover,
    effect(stop_vm_for_completion_v8_0(h), savevm_complete_precopy_v8_0(h)));

inline constexpr auto migration_completion_pause = row<"migration_completion_pause">(
    Actor::thread, with_params<P::host>{},
    "With pause-before-switchover, the VM is stopped, then migration_maybe_pause() drains "
    "s->pause_sem, drops the BQL and moves current_active_state -> PRE_SWITCHOVER (a no-op if "
    "cancelled meanwhile), waiting for migrate-continue.",
    "migration_completion() (3426), migration_maybe_pause() (3382) (migration.c, v8.0.0)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && pause_before_switchover && mig(h) != MS::CANCELLING,
    effect(stop_vm_for_completion_v8_0(h), set(pause_sem(h), false),
           set(mig(h), ite(mig(h) == active_state(h), MS::PRE_SWITCHOVER, mig(h))),
           set(pc(h), PC::SWITCHOVER_WAIT)));

inline constexpr auto migration_completion_cancelled_before_pause =
    row<"migration_completion_cancelled_before_pause">(
        Actor::thread, with_params<P::host>{},
        "With pause-before-switchover but already CANCELLING, migration_maybe_pause() does not "
        "wait and returns -EINVAL: the BQL is dropped with ret < 0.",
        "migration_maybe_pause() (migration.c:3382, v8.0.0)",
        alive(h) && pc(h) == PC::COMPLETION_LOCK && pause_before_switchover &&
            mig(h) == MS::CANCELLING,
        effect(stop_vm_for_completion_v8_0(h), set(pause_sem(h), false),
               set(pc(h), PC::COMPLETION_FAILED)));

inline constexpr auto migration_switchover_resume = row<"migration_switchover_resume">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "s->pause_sem was posted and the state is still PRE_SWITCHOVER: it becomes DEVICE, the BQL "
    "is taken, and the device state is completed with inactivation.",
    "migration_maybe_pause() (3382), migration_completion() (3426) (migration.c, v8.0.0)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(mig(h), MS::DEVICE), set(active_state(h), MS::DEVICE),
           savevm_complete_precopy_v8_0(h)));

inline constexpr auto migration_switchover_cancelled = row<"migration_switchover_cancelled">(
    Actor::thread, with_params<P::host>{},
    "s->pause_sem was posted by migrate_fd_cancel(): PRE_SWITCHOVER -> DEVICE fails, "
    "migration_maybe_pause() returns -EINVAL with current_active_state = DEVICE.",
    "migration_maybe_pause() (migration.c:3382, v8.0.0)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) != MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(active_state(h), MS::DEVICE),
           set(pc(h), PC::COMPLETION_FAILED)));

inline constexpr auto migration_completion_fail = row<"migration_completion_fail">(
    Actor::thread, with_params<P::host>{},
    "`if (ret < 0) goto fail`: the `fail` label only moves current_active_state -> FAILED; it "
    "skips `fail_invalidate`, so nodes inactivated before the failure stay inactive.",
    "migration_completion() labels fail/fail_invalidate (migration.c:3450-3522, v8.0.0)",
    alive(h) && pc(h) == PC::COMPLETION_FAILED,
    effect(set(mig(h), ite(mig(h) == active_state(h), MS::FAILED, mig(h))),
           set(pc(h), PC::FINISH)));

inline constexpr auto migration_completion_fail_invalidate =
    row<"migration_completion_fail_invalidate">(
        Actor::thread, with_params<P::host, P::fail, P::broken>{},
        "After the device state was sent, await_return_path_close_on_source() or "
        "qemu_file_get_error() reports an error (the destination is gone, or the stream was "
        "shut down): `fail_invalidate` re-activates the disks if the state is still ACTIVE or "
        "DEVICE, clearing s->block_inactive on success, then current_active_state -> FAILED.",
        "migration_completion() fail_invalidate (migration.c:3515, v8.0.0; fe904ea824, "
        "6039dd5b1c)",
        alive(h) && pc(h) == PC::COMPLETION_SAVED &&
            (file_error(h) || rp_error(h) || !alive(peer(h))),
        effect(when_else(mig(h) == MS::ACTIVE || mig(h) == MS::DEVICE,
                         block(bdrv_activate_all(h, fail, broken),
                               when(no_activation_error(h, fail), set(block_inactive(h), false))),
                         block(no_block_operation())),
               set(mig(h), ite(mig(h) == active_state(h), MS::FAILED, mig(h))),
               set(pc(h), PC::FINISH)));

inline constexpr auto return_path_error = row<"return_path_error">(
    Actor::fault, with_params<P::host>{},
    "After the device state was sent, the return path reports an error (the destination sent "
    "one, or the connection broke): await_return_path_close_on_source() will fail. The "
    "destination itself may still load the stream.",
    "source_return_path_thread(), await_return_path_close_on_source() (migration.c, v8.0.0)",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && !rp_error(h), effect(set(rp_error(h), true)));

inline constexpr auto migration_completion_done = row<"migration_completion_done">(
    Actor::thread, with_params<P::host>{},
    "The destination loaded the stream and closed the return path, the stream has no error: "
    "current_active_state -> COMPLETED (a no-op if cancelled meanwhile).",
    "migration_completion() (migration.c:3426, v8.0.0), await_return_path_close_on_source()",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && !file_error(h) && !rp_error(h) && alive(peer(h)) &&
        (incoming(peer(h)) == IN::LOADED || incoming(peer(h)) == IN::DONE),
    effect(set(mig(h), ite(mig(h) == active_state(h), MS::COMPLETED, mig(h))),
           set(pc(h), PC::FINISH)));

// migration_iteration_finish() and the migrate_fd_cleanup() bottom half it schedules (which moves
// CANCELLING -> CANCELLED) are one step here.
constexpr auto migrate_fd_cleanup(auto host) {
    return group("migrate_fd_cleanup", "h",
                 "migration.c migrate_fd_cleanup(): the thread is joined and CANCELLING becomes "
                 "CANCELLED. (The thread's local current_active_state dies with it; a stale post "
                 "of s->pause_sem is drained by the next migration_maybe_pause(), so both are "
                 "reset here to keep one state per behaviour.)",
                 set(mig(host), ite(mig(host) == MS::CANCELLING, MS::CANCELLED, mig(host))),
                 set(active_state(host), MS::NONE), set(pause_sem(host), false),
                 set(pc(host), PC::IDLE));
}

inline constexpr auto migration_iteration_finish_completed =
    row<"migration_iteration_finish_completed">(
        Actor::thread, with_params<P::host>{},
        "After a completed migration the source's run state becomes POSTMIGRATE; its disks stay "
        "inactive.",
        "migration_iteration_finish() (migration.c:3904, v8.0.0)",
        alive(h) && pc(h) == PC::FINISH && mig(h) == MS::COMPLETED,
        effect(runstate_set(h, RS::POSTMIGRATE), migrate_fd_cleanup(h)));

inline constexpr auto migration_iteration_finish_resume = row<"migration_iteration_finish_resume">(
    Actor::thread, with_params<P::host>{},
    "After a failed or cancelled migration of a running VM, vm_start() resumes the guest "
    "(unless it shut down) without looking at the block layer.",
    "migration_iteration_finish() (migration.c:3904, v8.0.0)",
    alive(h) && pc(h) == PC::FINISH &&
        (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
        vm_was_running(h),
    effect(when(runstate(h) != RS::SHUTDOWN, vm_start(h)), migrate_fd_cleanup(h)));

inline constexpr auto migration_iteration_finish_stopped =
    row<"migration_iteration_finish_stopped">(
        Actor::thread, with_params<P::host>{},
        "After a failed or cancelled migration of a VM that was not running, FINISH_MIGRATE "
        "becomes POSTMIGRATE.",
        "migration_iteration_finish() (migration.c:3904, v8.0.0)",
        alive(h) && pc(h) == PC::FINISH &&
            (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
            !vm_was_running(h),
        effect(when(runstate(h) == RS::FINISH_MIGRATE, runstate_set(h, RS::POSTMIGRATE)),
               migrate_fd_cleanup(h)));

// ---- postcopy (without pause-before-switchover) ------------------------------------------------

// postcopy_start() up to the package: ACTIVE -> POSTCOPY_ACTIVE, global_state_store(),
// vm_stop_force_state(FINISH_MIGRATE) whose flush may fail, then bdrv_inactivate_all().
// It does not touch s->block_inactive or s->vm_was_running.
constexpr auto postcopy_stop_and_inactivate_v8_0(auto host) {
    return group(
        "postcopy_stop_and_inactivate", "h",
        "migration.c postcopy_start() (3196, v8.0.0): ACTIVE -> POSTCOPY_ACTIVE, "
        "vm_stop_force_state(FINISH_MIGRATE) (its flush may fail: `flush_fails`), then "
        "bdrv_inactivate_all().",
        set(global_state(host), runstate(host)), runstate_set(host, RS::FINISH_MIGRATE),
        assume(implies(flush_fails, !storage_ok && fail == none && !half)),
        when(!flush_fails, set(tried_inactivate(host), true), bdrv_inactivate_all_asserting(host)));
}

constexpr auto postcopy_start_guard(auto host) {
    return alive(host) && pc(host) == PC::ITERATING && mig(host) == MS::ACTIVE && postcopy &&
           !pause_before_switchover && alive(peer(host)) && incoming(peer(host)) == IN::LOADING;
}

inline constexpr auto postcopy_start_ok = row<"postcopy_start_ok">(
    Actor::thread, with_params<P::host>{},
    "postcopy_start() succeeds: the VM is stopped, every node inactivated, and the package with "
    "the `run` command reaches the destination; the thread goes on in POSTCOPY_ACTIVE.",
    "postcopy_start() (migration.c:3196, v8.0.0)", postcopy_start_guard(h),
    effect(postcopy_stop_and_inactivate_v8_0(h), assume(!flush_fails && inactivation_ok(h)),
           set(mig(h), MS::POSTCOPY_ACTIVE), set(incoming(peer(h)), IN::POSTCOPY)));

inline constexpr auto postcopy_start_fails = row<"postcopy_start_fails">(
    Actor::thread, with_params<P::host, P::flush_fails, P::fail, P::half>{},
    "postcopy_start() fails in vm_stop_force_state()'s flush or in bdrv_inactivate_all() (at node "
    "`fail`): `fail:` moves POSTCOPY_ACTIVE -> FAILED; restart_block is still false, so nothing "
    "is re-activated.",
    "postcopy_start() fail label (migration.c:3196, v8.0.0)", postcopy_start_guard(h),
    effect(postcopy_stop_and_inactivate_v8_0(h), assume(flush_fails || !inactivation_ok(h)),
           set(file_error(h), true), set(mig(h), MS::FAILED)));

// postcopy_start()'s `fail:` after a successful inactivation: bdrv_activate_all() runs on nodes
// that are all INACTIVE, so the two walks are written as one update of the nodes (an effect
// writes each variable once): the activation walk over all-INACTIVE nodes, stopping at node
// `refail` (activation_may_end_over(): a node held by the other process must fail; re-opening a
// qcow2 image reads its header, so it needs the storage to answer; `broken`: that re-open failed).
template <class H>
constexpr auto inactivate_then_reactivate(H host) {
    auto all_inactive = [](auto) { return lift(NS::INACTIVE); };
    return group(
        "inactivate_then_reactivate", "h",
        "bdrv_inactivate_all() succeeds on every node (each must have a driver and must not be "
        "inactive already), then bdrv_activate_all() walks the now inactive nodes and stops at "
        "node `refail` (a node held by the other process must fail; `broken`: qcow2's re-open "
        "failed).",
        set(tried_inactivate(host), true),
        qemu_assert(forall(n, implies(node(host, n) != NS::BROKEN, node(host, n) != NS::INACTIVE)),
                    Crash::DOUBLE_INACTIVATE),
        assume(forall(n, node(host, n) != NS::BROKEN)),
        assume(activation_may_end_over("activation_may_end_after_full_inactivation", host, refail,
                                       broken, all_inactive)),
        set(node(host, n), activated_value(host, refail, broken, all_inactive)));
}

inline constexpr auto postcopy_start_package_fails = row<"postcopy_start_package_fails">(
    Actor::fault, with_params<P::host, P::reactivate_fail, P::broken>{},
    "postcopy_start() inactivated every node, then building or sending the package fails before "
    "the last point of recovery: `fail:` moves POSTCOPY_ACTIVE -> FAILED and, restart_block being "
    "set, calls bdrv_activate_all() (its error is only reported).",
    "postcopy_start() restart_block, fail_closefb/fail (migration.c:3196, v8.0.0)",
    postcopy_start_guard(h),
    effect(set(global_state(h), runstate(h)), runstate_set(h, RS::FINISH_MIGRATE),
           inactivate_then_reactivate(h), set(file_error(h), true), set(mig(h), MS::FAILED)));

inline constexpr auto postcopy_start_send_fails = row<"postcopy_start_send_fails">(
    Actor::fault, with_params<P::host>{},
    "postcopy_start() inactivated every node, then sending the package fails after the last "
    "point of recovery (restart_block = false): POSTCOPY_ACTIVE -> FAILED, nothing is "
    "re-activated, and the destination does not run.",
    "postcopy_start() `restart_block = false` then fail_closefb (migration.c:3196, v8.0.0)",
    postcopy_start_guard(h),
    effect(postcopy_stop_and_inactivate_v8_0(h), assume(!flush_fails && inactivation_ok(h)),
           set(file_error(h), true), set(mig(h), MS::FAILED)));

inline constexpr auto migration_completion_postcopy = row<"migration_completion_postcopy">(
    Actor::thread, with_params<P::host>{},
    "In POSTCOPY_ACTIVE, migration_completion() completes the postcopy stream under the BQL and, "
    "once the destination runs, moves POSTCOPY_ACTIVE -> COMPLETED. (Failures after the "
    "switchover lead to POSTCOPY_PAUSED, which this model leaves out.)",
    "migration_completion() POSTCOPY_ACTIVE branch (migration.c:3426, v8.0.0), "
    "qemu_savevm_state_complete_postcopy()",
    alive(h) && pc(h) == PC::ITERATING && mig(h) == MS::POSTCOPY_ACTIVE && alive(peer(h)) &&
        incoming(peer(h)) == IN::DONE,
    effect(set(mig(h), MS::COMPLETED), set(pc(h), PC::FINISH)));

// ---- the destination ---------------------------------------------------------------------------

inline constexpr auto incoming_load_ok = row<"incoming_load_ok">(
    Actor::incoming, with_params<P::host>{},
    "qemu_loadvm_state() reaches QEMU_VM_EOF: process_incoming_migration_bh() is scheduled.",
    "process_incoming_migration_co() (migration.c:593, v8.0.0)",
    alive(h) && incoming(h) == IN::LOADING && stream_eof(peer(h)),
    effect(set(received_state(h), global_state(peer(h))), set(incoming(h), IN::LOADED)));

inline constexpr auto incoming_load_fails = row<"incoming_load_fails">(
    Actor::incoming, with_params<P::host>{},
    "The stream ends without QEMU_VM_EOF (the source failed, was cancelled or is gone): \"load "
    "of migration failed\", and the destination exits with EXIT_FAILURE. Its nodes were never "
    "activated.",
    "process_incoming_migration_co() fail: exit(EXIT_FAILURE) (migration.c:593, v8.0.0)",
    alive(h) && incoming(h) == IN::LOADING &&
        (!alive(peer(h)) || file_error(peer(h)) ||
         (!stream_eof(peer(h)) && !migration_is_running(peer(h)))),
    effect(process_exits(h)));

inline constexpr auto incoming_load_error = row<"incoming_load_error">(
    Actor::fault, with_params<P::host>{},
    "The destination fails to load the device state (a fault of its own): it exits with "
    "EXIT_FAILURE.",
    "process_incoming_migration_co() fail: exit(EXIT_FAILURE) (migration.c:593, v8.0.0)",
    alive(h) && incoming(h) == IN::LOADING, effect(process_exits(h)));

// The source's run state as global_state_store() recorded it, read by the destination
// (global_state_received() is always true here).
constexpr auto source_was_running(auto host) {
    return named("source_was_running", received_state(host) == RS::RUNNING, host);
}

inline constexpr auto process_incoming_migration_bh = row<"process_incoming_migration_bh">(
    Actor::incoming, with_params<P::host, P::fail, P::broken>{},
    "The destination's bottom half: without late-block-activate, or when it will autostart a "
    "guest that was running, it activates every node (an error clears autostart); then it "
    "starts the guest if the source was running and autostart is set, pauses if the source was "
    "running, and otherwise takes the source's run state.",
    "process_incoming_migration_bh() (migration.c:534, v8.0.0)",
    alive(h) && incoming(h) == IN::LOADED,
    effect(when_else(!late_block_activate || (autostart(h) && source_was_running(h)),
                     block(bdrv_activate_all(h, fail, broken),
                           when(!no_activation_error(h, fail), set(autostart(h), false))),
                     block(no_block_operation())),
           when_else(source_was_running(h),
                     block(when_else(autostart(h), block(vm_start(h)),
                                     block(runstate_set(h, RS::PAUSED)))),
                     block(runstate_set(h, received_state(h)))),
           set(incoming(h), IN::DONE), set(received_state(h), RS::UNSET)));

inline constexpr auto postcopy_run_bh = row<"postcopy_run_bh">(
    Actor::incoming, with_params<P::host, P::fail, P::broken>{},
    "The postcopy destination runs the `run` command: it activates every node (an error clears "
    "autostart), then starts the guest if autostart is set, and otherwise pauses.",
    "loadvm_postcopy_handle_run_bh() (migration/savevm.c 8.0.5:2037)",
    alive(h) && incoming(h) == IN::POSTCOPY,
    effect(bdrv_activate_all(h, fail, broken),
           when(!no_activation_error(h, fail), set(autostart(h), false)),
           when_else(autostart(h), block(vm_start(h)), block(runstate_set(h, RS::PAUSED))),
           set(incoming(h), IN::DONE)));

// ---- the table ---------------------------------------------------------------------------------

// runstate_transitions_def[] (softmmu/runstate.c 8.0.5), the pairs among the modelled run states.
inline constexpr RunstateTransition kRunstateTransitions_v8_0_0[] = {
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
    {RS::RUNNING, RS::PAUSED},
    {RS::RUNNING, RS::FINISH_MIGRATE},
    {RS::RUNNING, RS::SAVE_VM},
    {RS::RUNNING, RS::SHUTDOWN},
    {RS::SAVE_VM, RS::RUNNING},
    {RS::SHUTDOWN, RS::PAUSED},
    {RS::SHUTDOWN, RS::FINISH_MIGRATE},
};

inline constexpr auto v8_0_0_rows = rows(
    storage_lost, storage_restored, start_destination, quit_after_handover, qmp_migrate,
    qmp_migrate_cancel, qmp_migrate_continue, qmp_cont, qmp_stop, savevm, guest_write,
    migration_thread_setup, migration_thread_loop_exit, migration_stream_error,
    migration_completion_begin, migration_completion_not_active, migration_completion_flush_fails,
    migration_completion_save, migration_completion_pause,
    migration_completion_cancelled_before_pause, migration_switchover_resume,
    migration_switchover_cancelled, migration_completion_fail, migration_completion_fail_invalidate,
    return_path_error, migration_completion_done, migration_iteration_finish_completed,
    migration_iteration_finish_resume, migration_iteration_finish_stopped, postcopy_start_ok,
    postcopy_start_fails, postcopy_start_package_fails, postcopy_start_send_fails,
    migration_completion_postcopy, incoming_load_ok, incoming_load_fails, incoming_load_error,
    process_incoming_migration_bh, postcopy_run_bh);
static_assert(validate_table<v8_0_0_rows>());

} // namespace handoff::model::tables
