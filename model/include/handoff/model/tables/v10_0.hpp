// QEMU v10.0 as Debian ships it (bookworm-backports 1:10.0.2+ds-2+deb13u1~bpo12+1), read from
// upstream 10.0.2's source (qemu_10.0.2+ds.orig.tar.xz; Debian's own patches were not read).
// Derived from 10.0-dev: Kevin Wolf's "block: Managing inactive nodes" (c2a189976e removes the
// global flag, so migration_block_activate()/_inactivate() always walk the nodes;
// bdrv_inactivate_recurse(bs, top_level) skips an inactive top-level node instead of asserting;
// `blockdev-set-active`), the switchover restructuring (migration_switchover_prepare()/_start():
// the state always passes DEVICE, and the disks are inactivated before the device state is
// completed), and Fabiano Rosas's "migration: Reject qmp_migrate_cancel after postcopy". Not yet
// there (both came with 10.2; 725a9e5f78 reached stable-10.0 only in 10.0.5): Peter Xu's 26f65c01
// "migration: Do not try to start VM if disk activation fails", and 725a9e5f78 "migration: Fix
// state transition in postcopy_start() error handling". Line numbers are 10.0.2's
// migration/migration.c unless a file is named.
#pragma once

#include "handoff/model/tables/v10_0_dev.hpp"

namespace handoff::model::tables {

namespace v10_0 {

inline constexpr auto qmp_migrate_cancel = row<"qmp_migrate_cancel">(
    Actor::qmp, with_params<P::host>{},
    "`migrate_cancel`: refused in postcopy (\"Postcopy migration in progress, cannot cancel.\"); "
    "otherwise every running state moves to CANCELLING (waking a thread paused in "
    "PRE_SWITCHOVER) and the stream is shut down; no block operation.",
    "qmp_migrate_cancel() (:2301-2315; Fabiano Rosas, \"migration: Reject qmp_migrate_cancel "
    "after postcopy\"), migration_cancel() (:1587-1641)",
    alive(h) && migration_is_running(h) && mig(h) != MS::POSTCOPY_ACTIVE,
    effect(set(pause_sem(h), pause_sem(h) || mig(h) == MS::PRE_SWITCHOVER),
           set(mig(h), MS::CANCELLING), set(file_error(h), true)));

inline constexpr auto qmp_cont = row<"qmp_cont">(
    Actor::qmp, with_params<P::host, P::fail, P::broken>{},
    "`cont`: refused in FINISH_MIGRATE; in INMIGRATE it only sets autostart; otherwise "
    "migration_block_activate() (now always bdrv_activate_all()) and vm_start() if no error "
    "was set.",
    "qmp_cont() (monitor/qmp-cmds.c:66-114, v10.0.2; c2a189976e)",
    alive(h) && runstate(h) != RS::FINISH_MIGRATE && runstate(h) != RS::SAVE_VM &&
        documented_resume(h),
    effect(when_else(runstate(h) == RS::INMIGRATE,
                     block(set(autostart(h), true), assume(fail == none && !broken)),
                     block(bdrv_activate_all(h, fail, broken),
                           when(no_activation_error(h, fail), vm_start(h))))));

// migration_switchover_start() (:2918-2946) after migration_switchover_prepare() (:2870-2916) put
// the state in DEVICE: bdrv_inactivate_all() (10.x semantics), then the device state and
// QEMU_VM_EOF.
constexpr auto switchover_and_complete(auto host) {
    return group(
        "switchover_and_complete", "h",
        "migration_switchover_start(): migration_block_inactivate(), i.e. bdrv_inactivate_all(); "
        "if it fails, \"Block inactivate failed during switchover\" and ret = -EFAULT; otherwise "
        "qemu_savevm_state_complete_precopy() sends the device state and QEMU_VM_EOF.",
        set(tried_inactivate(host), true), bdrv_inactivate_all_skipping(host),
        set(stream_eof(host), inactivation_ok(host) && !file_error(host)),
        set(pc(host), ite(inactivation_ok(host), PC::COMPLETION_SAVED, PC::COMPLETION_FAILED)));
}

inline constexpr auto migration_completion_save = row<"migration_completion_save">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "Without pause-before-switchover, one BQL section stops the VM, moves the state to DEVICE "
    "(migration_switchover_prepare()), inactivates every node (possibly failing at node `fail`) "
    "and completes the device state.",
    "migration_completion_precopy() (:2948-2970), migration_switchover_prepare() (:2870), "
    "migration_switchover_start() (:2918) (v10.0.2)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !pause_before_switchover &&
        mig(h) != MS::CANCELLING,
    effect(v8_1::stop_vm_for_completion(h), set(mig(h), MS::DEVICE), switchover_and_complete(h)));

inline constexpr auto migration_completion_pause = row<"migration_completion_pause">(
    Actor::thread, with_params<P::host>{},
    "With pause-before-switchover, the VM is stopped, then migration_switchover_prepare() drains "
    "s->pause_sem, moves the state to PRE_SWITCHOVER, drops the BQL and waits.",
    "migration_completion_precopy() (:2948), migration_switchover_prepare() (:2890-2904) "
    "(v10.0.2)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && pause_before_switchover && mig(h) != MS::CANCELLING,
    effect(v8_1::stop_vm_for_completion(h), set(pause_sem(h), false),
           set(mig(h), MS::PRE_SWITCHOVER), set(pc(h), PC::SWITCHOVER_WAIT)));

inline constexpr auto migration_switchover_interrupted = row<"migration_switchover_interrupted">(
    Actor::thread, with_params<P::host>{},
    "The migration was cancelled before completion took the BQL: the VM is stopped, "
    "migration_switchover_prepare() sees CANCELLING and \"Switchover is interrupted\": ret < 0, "
    "nothing inactivated.",
    "migration_completion_precopy() (:2961-2963), migration_switchover_prepare() (:2872-2875) "
    "(v10.0.2)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && mig(h) == MS::CANCELLING,
    effect(v8_1::stop_vm_for_completion(h), set(pc(h), PC::COMPLETION_FAILED)));

inline constexpr auto migration_switchover_resume = row<"migration_switchover_resume">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "s->pause_sem was posted and the state is still PRE_SWITCHOVER: it becomes DEVICE, the BQL is "
    "taken, every node is inactivated and the device state completed.",
    "migration_switchover_prepare() (:2906-2915), migration_switchover_start() (:2927-2945) "
    "(v10.0.2)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(mig(h), MS::DEVICE), switchover_and_complete(h)));

constexpr auto completion_fail_label(auto host) {
    return group("completion_fail_label", "h",
                 "migration_completion() `fail:` (:3043-3045): unless the state is CANCELLING, "
                 "s->state -> FAILED; no block operation.",
                 set(mig(host), ite(mig(host) == MS::CANCELLING, MS::CANCELLING, MS::FAILED)),
                 set(pc(host), PC::FINISH));
}

inline constexpr auto migration_completion_fail = row<"migration_completion_fail">(
    Actor::thread, with_params<P::host>{},
    "`if (ret < 0) goto fail`: the state becomes FAILED unless it is CANCELLING; "
    "migration_iteration_finish() re-activates.",
    "migration_completion() fail: (:3033-3045, v10.0.2)",
    alive(h) && pc(h) == PC::COMPLETION_FAILED, effect(completion_fail_label(h)));

inline constexpr auto migration_completion_checks_fail = row<"migration_completion_checks_fail">(
    Actor::thread, with_params<P::host>{},
    "After the device state was sent, close_return_path_on_source() (an error of the return "
    "path, or one recorded by an earlier postcopy_start() of this migration) or "
    "qemu_file_get_error() reports an error: `goto fail`.",
    "migration_completion() (:3014-3021), close_return_path_on_source() (:2643-2669) (v10.0.2)",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && (file_error(h) || rp_error(h) || !alive(peer(h))),
    effect(completion_fail_label(h)));

inline constexpr auto migration_completion_not_active = row<"migration_completion_not_active">(
    Actor::thread, with_params<P::host>{},
    "migration_completion() finds the migration cancelled after the loop's check: ret = -1, "
    "`goto fail`, which leaves CANCELLING alone.",
    "migration_completion() (:3002-3008, :3043, v10.0.2)",
    alive(h) && pc(h) == PC::ITERATING && mig(h) == MS::CANCELLING, effect(set(pc(h), PC::FINISH)));

inline constexpr auto migration_iteration_finish_resume = row<"migration_iteration_finish_resume">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "After a failed or cancelled migration of a running VM, migration_block_activate(NULL) (its "
    "result ignored), then vm_start() unless the guest shut down.",
    "migration_iteration_finish() (:3472-3483, v10.0.2: without 26f65c01)",
    alive(h) && pc(h) == PC::FINISH &&
        (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
        vm_old_state(h) == RS::RUNNING,
    effect(bdrv_activate_all(h, fail, broken), when(runstate(h) != RS::SHUTDOWN, vm_start(h)),
           migrate_fd_cleanup(h)));

inline constexpr auto migration_iteration_finish_stopped =
    row<"migration_iteration_finish_stopped">(
        Actor::thread, with_params<P::host, P::fail, P::broken>{},
        "After a failed or cancelled migration of a VM that was not running, "
        "migration_block_activate(NULL) (its result ignored), then a VM still in FINISH_MIGRATE "
        "gets its old run state back.",
        "migration_iteration_finish() (:3479, :3484-3487, v10.0.2)",
        alive(h) && pc(h) == PC::FINISH &&
            (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
            vm_old_state(h) != RS::RUNNING,
        effect(bdrv_activate_all(h, fail, broken),
               when(runstate(h) == RS::FINISH_MIGRATE, runstate_set(h, vm_old_state(h))),
               migrate_fd_cleanup(h)));

// The thread ended with the state in DEVICE (a failed postcopy_start(), below):
// migration_iteration_finish()'s `default:` case, and migration_cleanup(), which changes only
// CANCELLING and closes the stream.
inline constexpr auto migration_iteration_finish_unknown_state =
    row<"migration_iteration_finish_unknown_state">(
        Actor::thread, with_params<P::host>{},
        "The thread left its loop in a state migration_iteration_finish() has no case for "
        "(DEVICE): \"Unknown ending state\", no block operation, no vm_start(), the run state "
        "stays; migration_cleanup() closes the stream and leaves the state as it is, so "
        "migration_is_running() stays true: `migrate` and `savevm` are refused from now on, "
        "`cont` too (FINISH_MIGRATE).",
        "migration_iteration_finish() default: (:3491-3494), migration_cleanup() (:1509-1514) "
        "(v10.0.2)",
        alive(h) && pc(h) == PC::FINISH && mig(h) != MS::COMPLETED && mig(h) != MS::FAILED &&
            mig(h) != MS::CANCELLED && mig(h) != MS::CANCELLING,
        effect(set(file_error(h), true), migrate_fd_cleanup(h)));

// postcopy_start() in 10.0.2 (:2683-2852): no early ACTIVE -> POSTCOPY_ACTIVE; migration_stop_vm(),
// then migration_switchover_start() (DEVICE, inactivation), and on any failure `fail:`.
constexpr auto postcopy_stop(auto host) {
    return group("postcopy_stop", "h",
                 "postcopy_start(): migration_stop_vm() (vm_old_state, global_state_store(), "
                 "vm_stop_force_state(FINISH_MIGRATE), whose flush may fail: `flush_fails`).",
                 set(vm_old_state(host), runstate(host)), set(global_state(host), runstate(host)),
                 runstate_set(host, RS::FINISH_MIGRATE),
                 assume(implies(flush_fails, !storage_ok && fail == none && !half)));
}

inline constexpr auto postcopy_start_ok = row<"postcopy_start_ok">(
    Actor::thread, with_params<P::host>{},
    "postcopy_start() succeeds: the VM is stopped, the state passes DEVICE, every node is "
    "inactivated, the package reaches the destination, and the state becomes POSTCOPY_ACTIVE.",
    "postcopy_start() (:2711-2841, v10.0.2)", postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(!flush_fails), set(tried_inactivate(h), true),
           bdrv_inactivate_all_skipping(h), assume(inactivation_ok(h)),
           set(mig(h), MS::POSTCOPY_ACTIVE), set(incoming(peer(h)), IN::POSTCOPY)));

// The nodes after a (possibly failed) inactivation followed by bdrv_activate_all() with `refail`.
constexpr auto inactivate_then_activate(auto host) {
    auto after_inactivation = [host](auto x) {
        return ite(flush_fails, node(host, x), inactivated_value(host, x));
    };
    return group("inactivate_then_activate", "h",
                 "bdrv_inactivate_all() (skipped if the flush failed; may stop at node `fail`), "
                 "then `fail:`'s unconditional bdrv_activate_all() over what it left (may stop at "
                 "node `refail`).",
                 set(tried_inactivate(host), tried_inactivate(host) || !flush_fails),
                 assume(flush_fails || inactivation_may_end(host)),
                 assume(activation_may_end_over("activation_may_end_after_inactivation", host,
                                                refail, broken, after_inactivation)),
                 set(node(host, n), activated_value(host, refail, broken, after_inactivation)));
}

// `fail:` (:2843-2851) is migrate_set_state(&ms->state, POSTCOPY_ACTIVE, FAILED), a
// compare-and-swap from a state postcopy_start() never leaves the migration in: after a failed
// flush the state is still ACTIVE, after migration_switchover_start() it is DEVICE. So the swap
// does nothing; migration_block_activate(NULL) runs; the caller records the error
// (migrate_set_error(), :3436-3442), which close_return_path_on_source() (:2669) reports at the
// next completion of this migration. Fixed in 10.2 (and 10.0.5) by 725a9e5f78.
inline constexpr auto postcopy_start_fails = row<"postcopy_start_fails">(
    Actor::thread,
    with_params<P::host, P::flush_fails, P::fail, P::half, P::reactivate_fail, P::broken>{},
    "postcopy_start() fails in migration_stop_vm()'s flush or in bdrv_inactivate_all() (at node "
    "`fail`); `fail:`'s compare-and-swap from POSTCOPY_ACTIVE does nothing, "
    "migration_block_activate() re-activates unconditionally, and the error is recorded. After "
    "the flush the state is still ACTIVE and the thread goes on iterating with the VM stopped; "
    "after a failed inactivation it stays DEVICE and the thread leaves its loop.",
    "postcopy_start() fail: (:2714-2722, :2843-2851, v10.0.2; fixed by 725a9e5f78), "
    "migration_iteration_run() (:3436-3442)",
    postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(flush_fails || !inactivation_ok(h)),
           inactivate_then_activate(h), set(rp_error(h), true),
           set(mig(h), ite(flush_fails, MS::ACTIVE, MS::DEVICE))));

inline constexpr auto postcopy_start_package_fails = row<"postcopy_start_package_fails">(
    Actor::fault, with_params<P::host, P::reactivate_fail, P::broken>{},
    "postcopy_start() inactivated every node, then building or sending the package fails (the "
    "stream has an error): `fail:`'s compare-and-swap from POSTCOPY_ACTIVE does nothing, so the "
    "state stays DEVICE; migration_block_activate() re-activates unconditionally and the error "
    "is recorded.",
    "postcopy_start() fail_closefb/fail (:2771-2822, :2843-2851, v10.0.2; fixed by 725a9e5f78)",
    postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(!flush_fails), assume(forall(n, node(h, n) != NS::BROKEN)),
           inactivate_then_activate(h), set(file_error(h), true), set(rp_error(h), true),
           set(mig(h), MS::DEVICE)));

inline constexpr auto migration_completion_postcopy = row<"migration_completion_postcopy">(
    Actor::thread, with_params<P::host>{},
    "In POSTCOPY_ACTIVE, migration_completion() completes the postcopy stream under the BQL; once "
    "the destination runs, close_return_path_on_source() returns migrate_has_error(): an error an "
    "earlier postcopy_start() of this migration recorded fails the completion (`fail:`: FAILED); "
    "otherwise COMPLETED. (Failures after the switchover lead to POSTCOPY_PAUSED, which this "
    "model leaves out.)",
    "migration_completion() (:3004-3005, :3014-3029), migration_completion_postcopy() "
    "(:2972-2989), close_return_path_on_source() (:2669) (v10.0.2)",
    alive(h) && pc(h) == PC::ITERATING && mig(h) == MS::POSTCOPY_ACTIVE && alive(peer(h)) &&
        incoming(peer(h)) == IN::DONE,
    effect(set(mig(h), ite(rp_error(h), MS::FAILED, MS::COMPLETED)), set(pc(h), PC::FINISH)));

inline constexpr auto process_incoming_migration_bh = row<"process_incoming_migration_bh">(
    Actor::incoming, with_params<P::host, P::fail, P::broken>{},
    "The destination's bottom half: if the source was running and autostart is set, "
    "migration_block_activate() and vm_start() only if no error was set (otherwise the run "
    "state stays INMIGRATE); if the source was running without autostart, PAUSED; otherwise the "
    "source's run state. The disks stay inactive until the guest starts.",
    "process_incoming_migration_bh() (:794-847, v10.0.2)", alive(h) && incoming(h) == IN::LOADED,
    effect(when_else(source_was_running(h) && autostart(h),
                     block(bdrv_activate_all(h, fail, broken),
                           when(no_activation_error(h, fail), vm_start(h))),
                     block(assume(fail == none && !broken),
                           when_else(source_was_running(h), block(runstate_set(h, RS::PAUSED)),
                                     block(runstate_set(h, received_state(h)))))),
           set(incoming(h), IN::DONE), set(received_state(h), RS::UNSET)));

inline constexpr auto postcopy_run_bh = row<"postcopy_run_bh">(
    Actor::incoming, with_params<P::host, P::fail, P::broken>{},
    "The postcopy destination runs the `run` command: with autostart, "
    "migration_block_activate() and vm_start() only if no error was set; without autostart, "
    "PAUSED with the disks still inactive.",
    "loadvm_postcopy_handle_run_bh() (migration/savevm.c:2184-2221, v10.0.2)",
    alive(h) && incoming(h) == IN::POSTCOPY,
    effect(when_else(autostart(h),
                     block(bdrv_activate_all(h, fail, broken),
                           when(no_activation_error(h, fail), vm_start(h))),
                     block(assume(fail == none && !broken), runstate_set(h, RS::PAUSED))),
           set(incoming(h), IN::DONE)));

// blockdev-set-active (blockdev.c:3474-3504): no run-state or migration guard.
inline constexpr auto blockdev_set_active_all = row<"blockdev_set_active_all">(
    Actor::qmp, with_params<P::host, P::fail, P::broken>{},
    "`blockdev-set-active active=true` without node-name: bdrv_activate_all(), in any run state "
    "(QEMU checks none); under the documented profile not on an incoming destination.",
    "qmp_blockdev_set_active() (blockdev.c:3474-3489, v10.0.2)",
    alive(h) && set_active_left != Count::ZERO && documented_activation(h),
    effect(set(set_active_left, decrement(set_active_left)), bdrv_activate_all(h, fail, broken)));

inline constexpr auto blockdev_set_inactive_all = row<"blockdev_set_inactive_all">(
    Actor::qmp, with_params<P::host, P::fail, P::half>{},
    "`blockdev-set-active active=false` without node-name: bdrv_inactivate_all(), on a guest in "
    "any run state (QEMU checks none); under the documented profile not on a running guest.",
    "qmp_blockdev_set_active() (blockdev.c:3474-3489, v10.0.2)",
    alive(h) && set_active_left != Count::ZERO && documented_inactivation(h),
    effect(set(set_active_left, decrement(set_active_left)), bdrv_inactivate_all_skipping(h)));

inline constexpr auto blockdev_set_active_node = row<"blockdev_set_active_node">(
    Actor::qmp, with_params<P::host, P::target, P::fail, P::broken>{},
    "`blockdev-set-active node-name=... active=true`: bdrv_activate() of that node, its "
    "children first; under the documented profile not on an incoming destination.",
    "qmp_blockdev_set_active(), bdrv_activate() (blockdev.c:3474-3504, block.c:6852-6922, "
    "v10.0.2)",
    alive(h) && set_active_left != Count::ZERO && documented_activation(h),
    effect(set(set_active_left, decrement(set_active_left)), bdrv_activate_node(h)));

inline constexpr auto blockdev_set_inactive_node = row<"blockdev_set_inactive_node">(
    Actor::qmp, with_params<P::host, P::target, P::fail, P::half>{},
    "`blockdev-set-active node-name=... active=false`: bdrv_inactivate() of that node, refused "
    "while a parent node is active, else the node and its children top-down; under the "
    "documented profile not on a running guest.",
    "qmp_blockdev_set_active(), bdrv_inactivate() (blockdev.c:3474-3504, block.c:7057-7076, "
    "v10.0.2)",
    alive(h) && set_active_left != Count::ZERO && documented_inactivation(h),
    effect(set(set_active_left, decrement(set_active_left)), bdrv_inactivate_node(h)));

inline constexpr auto r1 =
    replace_row<"start_destination">(v10_0_dev_rows, tables::start_destination);
inline constexpr auto r2 = replace_row<"qmp_migrate_cancel">(r1, qmp_migrate_cancel);
inline constexpr auto r3 = replace_row<"qmp_cont">(r2, qmp_cont);
inline constexpr auto r4 = replace_row<"migration_completion_save">(r3, migration_completion_save);
inline constexpr auto r5 =
    replace_row<"migration_completion_pause">(r4, migration_completion_pause);
inline constexpr auto r6 = replace_row<"migration_completion_cancelled_before_pause">(
    r5, migration_switchover_interrupted);
inline constexpr auto r7 =
    replace_row<"migration_switchover_resume">(r6, migration_switchover_resume);
inline constexpr auto r8 = replace_row<"migration_completion_fail">(r7, migration_completion_fail);
inline constexpr auto r9 =
    replace_row<"migration_completion_checks_fail">(r8, migration_completion_checks_fail);
inline constexpr auto r10 =
    replace_row<"migration_iteration_finish_resume">(r9, migration_iteration_finish_resume);
inline constexpr auto r11 =
    replace_row<"migration_iteration_finish_stopped">(r10, migration_iteration_finish_stopped);
inline constexpr auto r12 = replace_row<"postcopy_start_ok">(r11, postcopy_start_ok);
inline constexpr auto r13 = replace_row<"postcopy_start_fails">(r12, postcopy_start_fails);
inline constexpr auto r14 =
    replace_row<"postcopy_start_package_fails">(r13, postcopy_start_package_fails);
inline constexpr auto r15 =
    replace_row<"migration_completion_postcopy">(r14, migration_completion_postcopy);
inline constexpr auto r16 =
    replace_row<"process_incoming_migration_bh">(r15, process_incoming_migration_bh);
inline constexpr auto r17 = replace_row<"postcopy_run_bh">(r16, postcopy_run_bh);
inline constexpr auto r18 =
    replace_row<"migration_completion_not_active">(r17, migration_completion_not_active);
// blockdev-set-active in both forms; each call spends one of management's set_active_left.
inline constexpr auto rows =
    add_rows(r18, migration_iteration_finish_unknown_state, blockdev_set_active_all,
             blockdev_set_inactive_all, blockdev_set_active_node, blockdev_set_inactive_node);

// Inherited rows re-read in 10.0.2's source: each does what its row says (the sentence, guard
// and effect written for the version named on the page), at these lines. Not here:
// storage_lost and storage_restored (no QEMU code). Names the row's sentence uses that 10.0.2
// renamed or dropped are given with the lines.
inline constexpr RowCitation rereads[] = {
    {"start_destination",
     "qemu_init() with -incoming (system/vl.c:3548-3551: runstate_set(RUN_STATE_INMIGRATE); -S "
     "clears autostart, :3162-3163); blockdev.c:608-609, :675-676 (BDRV_O_INACTIVE when "
     "INMIGRATE) (v10.0.2)"},
    {"quit_after_handover", "qmp_quit() (monitor/qmp-cmds.c:44-48, v10.0.2) after migration "
                            "COMPLETED"},
    {"qmp_migrate",
     "qmp_migrate() (:2163-2253), migrate_prepare() (:2067-2081), migrate_init() (:1743-1790: "
     "s->error cleared :1767-1768, vm_old_state = -1 :1778; 10.0.2 has no s->block_inactive), "
     "the thread created by migration_connect() (:4004) (v10.0.2)"},
    {"qmp_migrate_continue", "qmp_migrate_continue() (:2317-2326: qemu_sem_post(&s->pause_sem), "
                             "v10.0.2)"},
    {"qmp_stop", "qmp_stop() (monitor/qmp-cmds.c:50-64), vm_stop() -> do_vm_stop() "
                 "(system/cpus.c:720-734, :290-313: the run state changes only if live) "
                 "(v10.0.2)"},
    {"savevm",
     "HMP savevm: save_snapshot() (migration/savevm.c:3219-3327: bdrv_all_can_snapshot() "
     ":3242, qemu_savevm_state() :1742-1788 refusing a running migration :1748, migrate_init(), "
     "COMPLETED or FAILED :1783-1788), bdrv_can_snapshot() (block/snapshot.c:195-214: "
     "!bdrv_is_writable() refuses an inactive node), bdrv_all_snapshots_includes_bs() (:518-530: "
     "!bdrv_is_inserted() without a driver) (v10.0.2)"},
    {"guest_write",
     "blk_co_do_pwritev_part() (block/block-backend.c:1405-1440) -> bdrv_co_pwritev_part() "
     "(block/io.c:2228; -ENOMEDIUM without a driver, :2242-2243) -> "
     "bdrv_co_write_req_prepare() (block/io.c:1976, :2004-2006) (v10.0.2)"},
    {"migration_thread_setup",
     "migration_thread() (:3693-3694), qemu_savevm_wait_unplug() (:3625: "
     "migrate_set_state(SETUP, ACTIVE), a compare-and-swap, :1449-1457) (v10.0.2)"},
    {"migration_thread_loop_exit",
     "migration_thread() while (migration_is_active()) (:3712), migration_is_active() "
     "(:1209-1215) (v10.0.2)"},
    {"migration_stream_error",
     "migration_detect_error() (:3241-3288: a file error outside POSTCOPY_ACTIVE, state -> "
     "FAILED at :3283) (v10.0.2)"},
    {"migration_completion_begin",
     "migration_iteration_run() (:3429-3432), migration_completion() (:3002: s->state read "
     "before migration_completion_precopy() takes the BQL; 10.0.2 has no current_active_state, "
     "and no v10.0 row reads active_state) (v10.0.2)"},
    {"migration_completion_flush_fails",
     "migration_completion_precopy() (:2952-2958: migration_stop_vm() fails, goto out_unlock), "
     "migration_stop_vm() (:269-284), vm_stop_force_state() (system/cpus.c:799-813) (v10.0.2)"},
    {"migration_switchover_cancelled",
     "migration_switchover_prepare() (:2904-2915; 8.0's migration_maybe_pause()): the post came "
     "from migration_cancel() (:1612-1614; 8.0's migrate_fd_cancel()), PRE_SWITCHOVER -> DEVICE "
     "fails and it returns false; migration_switchover_start() \"Switchover is interrupted\" "
     "(:2922-2925), ret = -EFAULT (:2961-2963); 10.0.2 has no current_active_state (v10.0.2)"},
    {"return_path_error",
     "source_return_path_thread() (:2463-2621: an error message or a broken connection, "
     "migrate_set_error() at :2597-2601), close_return_path_on_source() (:2643-2670, returns "
     "migrate_has_error(); 8.0's await_return_path_close_on_source()) (v10.0.2)"},
    {"migration_completion_checks_pass",
     "migration_completion() (:3014-3029: close_return_path_on_source() and "
     "qemu_file_get_error() find no error, then migration_completion_end()) (v10.0.2)"},
    {"migration_iteration_finish_completed",
     "migration_iteration_finish() (:3463-3466: COMPLETED -> runstate_set(RUN_STATE_POSTMIGRATE)), "
     "migration_cleanup() (:1464-1524; 8.0's migrate_fd_cleanup()) (v10.0.2)"},
    {"incoming_load_ok",
     "process_incoming_migration_co() (:849-924: qemu_loadvm_state() :866 succeeds, "
     "process_incoming_migration_bh() scheduled :902) (v10.0.2)"},
    {"incoming_load_fails",
     "process_incoming_migration_co() fail: (:893, :905-920: \"load of migration failed\", "
     "exit(EXIT_FAILURE) with exit-on-error, which -incoming sets: system/vl.c:2829) (v10.0.2)"},
    {"incoming_load_error",
     "process_incoming_migration_co() fail: (:893, :905-920: exit(EXIT_FAILURE) with "
     "exit-on-error, which -incoming sets: system/vl.c:2829) (v10.0.2)"},
    {"migration_completion_end",
     "migration_completion_end() (:3291-3313: migrate_set_state(&s->state, s->state, COMPLETED) "
     "at :3310-3311) (v10.0.2)"},
};

} // namespace v10_0

inline constexpr auto v10_0_rows = v10_0::rows;
static_assert(validate_table<v10_0_rows>());

} // namespace handoff::model::tables
