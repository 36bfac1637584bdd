// QEMU v10.2: Kevin Wolf's "block: Managing inactive nodes" (10.0; c2a189976e removed the global
// flag, so migration_block_activate()/_inactivate() always walk the nodes, and
// bdrv_inactivate_recurse(bs, top_level) skips an inactive top-level node instead of asserting),
// `blockdev-set-active`, the switchover restructuring (migration_switchover_prepare()/_start(): the
// state always passes DEVICE, and the disks are inactivated before the device state is completed),
// and Peter Xu's "migration: Do not try to start VM if disk activation fails" (the source stays in
// FINISH_MIGRATE). Read from migration.c 10.2 (:2934 migration_switchover_prepare, :2979
// migration_switchover_start, :3009 migration_completion_precopy, :3058 migration_completion,
// :3551 migration_iteration_finish, :2728 postcopy_start) and blockdev.c:3529.
#pragma once

#include "handoff/model/tables/v10_0_dev.hpp"

namespace handoff::model::tables {

namespace v10_2 {

inline constexpr auto qmp_cont = row<"qmp_cont">(
    Actor::qmp, with_params<P::host, P::fail, P::broken>{},
    "`cont`: refused in FINISH_MIGRATE; in INMIGRATE it only sets autostart; otherwise "
    "migration_block_activate() (now always bdrv_activate_all()) and vm_start() if it succeeded.",
    "qmp_cont() (monitor/qmp-cmds.c, v10.2; c2a189976e)",
    alive(h) && runstate(h) != RS::FINISH_MIGRATE && runstate(h) != RS::SAVE_VM,
    effect(when_else(runstate(h) == RS::INMIGRATE,
                     block(set(autostart(h), true), assume(fail == none && !broken)),
                     block(bdrv_activate_all(h, fail, broken),
                           when(no_activation_error(h, fail), vm_start(h))))));

// migration_switchover_start() (10.2:2979) after migration_switchover_prepare() put the state in
// DEVICE: bdrv_inactivate_all() (10.x semantics), then the device state and QEMU_VM_EOF.
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
    "migration_completion_precopy() (3009), migration_switchover_prepare() (2934), "
    "migration_switchover_start() (2979) (migration.c, v10.2)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !pause_before_switchover &&
        mig(h) != MS::CANCELLING,
    effect(v8_1::stop_vm_for_completion(h), set(mig(h), MS::DEVICE), switchover_and_complete(h)));

inline constexpr auto migration_completion_pause = row<"migration_completion_pause">(
    Actor::thread, with_params<P::host>{},
    "With pause-before-switchover, the VM is stopped, then migration_switchover_prepare() resets "
    "s->pause_event, moves the state to PRE_SWITCHOVER, drops the BQL and waits.",
    "migration_completion_precopy() (3009), migration_switchover_prepare() (2934) (v10.2)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && pause_before_switchover && mig(h) != MS::CANCELLING,
    effect(v8_1::stop_vm_for_completion(h), set(pause_sem(h), false),
           set(mig(h), MS::PRE_SWITCHOVER), set(pc(h), PC::SWITCHOVER_WAIT)));

inline constexpr auto migration_switchover_interrupted = row<"migration_switchover_interrupted">(
    Actor::thread, with_params<P::host>{},
    "The migration was cancelled before completion took the BQL: the VM is stopped, "
    "migration_switchover_prepare() sees CANCELLING and \"Switchover is interrupted\": ret < 0, "
    "nothing inactivated.",
    "migration_completion_precopy() (3009), migration_switchover_prepare() (2934) (v10.2)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && mig(h) == MS::CANCELLING,
    effect(v8_1::stop_vm_for_completion(h), set(pc(h), PC::COMPLETION_FAILED)));

inline constexpr auto migration_switchover_resume = row<"migration_switchover_resume">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "s->pause_event was set and the state is still PRE_SWITCHOVER: it becomes DEVICE, the BQL is "
    "taken, every node is inactivated and the device state completed.",
    "migration_switchover_prepare() (2934), migration_switchover_start() (2979) (v10.2)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(mig(h), MS::DEVICE), switchover_and_complete(h)));

constexpr auto completion_fail_label(auto host) {
    return group("completion_fail_label", "h",
                 "migration_completion() `fail:` (10.2:3058): unless the state is CANCELLING, "
                 "s->state -> FAILED; no block operation.",
                 set(mig(host), ite(mig(host) == MS::CANCELLING, MS::CANCELLING, MS::FAILED)),
                 set(pc(host), PC::FINISH));
}

inline constexpr auto migration_completion_fail = row<"migration_completion_fail">(
    Actor::thread, with_params<P::host>{},
    "`if (ret < 0) goto fail`: the state becomes FAILED unless it is CANCELLING; "
    "migration_iteration_finish() re-activates.",
    "migration_completion() fail: (migration.c:3058, v10.2)",
    alive(h) && pc(h) == PC::COMPLETION_FAILED, effect(completion_fail_label(h)));

inline constexpr auto migration_completion_checks_fail = row<"migration_completion_checks_fail">(
    Actor::thread, with_params<P::host>{},
    "After the device state was sent, close_return_path_on_source() or qemu_file_get_error() "
    "reports an error: `goto fail`.",
    "migration_completion() (migration.c:3058, v10.2)",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && (file_error(h) || rp_error(h) || !alive(peer(h))),
    effect(completion_fail_label(h)));

inline constexpr auto migration_iteration_finish_resume = row<"migration_iteration_finish_resume">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "After a failed or cancelled migration, migration_block_activate(): if it fails the guest is "
    "not started and the source stays in FINISH_MIGRATE for management to decide; otherwise a "
    "guest that was running is started again (unless it shut down).",
    "migration_iteration_finish() (migration.c:3551, v10.2; Peter Xu, \"Do not try to start VM "
    "if disk activation fails\")",
    alive(h) && pc(h) == PC::FINISH &&
        (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
        vm_old_state(h) == RS::RUNNING,
    effect(bdrv_activate_all(h, fail, broken),
           when(no_activation_error(h, fail) && runstate(h) != RS::SHUTDOWN, vm_start(h)),
           migrate_fd_cleanup(h)));

inline constexpr auto migration_iteration_finish_stopped =
    row<"migration_iteration_finish_stopped">(
        Actor::thread, with_params<P::host, P::fail, P::broken>{},
        "After a failed or cancelled migration of a VM that was not running, "
        "migration_block_activate(); if it succeeded, a VM still in FINISH_MIGRATE gets its old "
        "run state back.",
        "migration_iteration_finish() (migration.c:3551, v10.2)",
        alive(h) && pc(h) == PC::FINISH &&
            (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
            vm_old_state(h) != RS::RUNNING,
        effect(bdrv_activate_all(h, fail, broken),
               when(no_activation_error(h, fail) && runstate(h) == RS::FINISH_MIGRATE,
                    runstate_set(h, vm_old_state(h))),
               migrate_fd_cleanup(h)));

// postcopy_start() in 10.2 (:2728): no early ACTIVE -> POSTCOPY_ACTIVE; migration_stop_vm(), then
// migration_switchover_start() (DEVICE, inactivation), and on any failure `fail:` moves a state
// that is not CANCELLING to FAILED and activates unconditionally.
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
    "postcopy_start() (migration.c:2728, v10.2)", postcopy_start_guard(h),
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

inline constexpr auto postcopy_start_fails = row<"postcopy_start_fails">(
    Actor::thread,
    with_params<P::host, P::flush_fails, P::fail, P::half, P::reactivate_fail, P::broken>{},
    "postcopy_start() fails in migration_stop_vm()'s flush or in bdrv_inactivate_all() (at node "
    "`fail`): `fail:` moves the state to FAILED unless it is CANCELLING, and "
    "migration_block_activate() re-activates unconditionally.",
    "postcopy_start() fail: (migration.c:2728, v10.2)", postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(flush_fails || !inactivation_ok(h)),
           inactivate_then_activate(h), set(file_error(h), true),
           set(mig(h), ite(mig(h) == MS::CANCELLING, MS::CANCELLING, MS::FAILED))));

inline constexpr auto postcopy_start_package_fails = row<"postcopy_start_package_fails">(
    Actor::fault, with_params<P::host, P::reactivate_fail, P::broken>{},
    "postcopy_start() inactivated every node, then building or sending the package fails (before "
    "or after the last point of recovery): `fail:` moves the state to FAILED unless it is "
    "CANCELLING and re-activates unconditionally.",
    "postcopy_start() fail_closefb/fail (migration.c:2728, v10.2)", postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(!flush_fails), assume(forall(n, node(h, n) != NS::BROKEN)),
           inactivate_then_activate(h), set(file_error(h), true),
           set(mig(h), ite(mig(h) == MS::CANCELLING, MS::CANCELLING, MS::FAILED))));

inline constexpr auto process_incoming_migration_bh = row<"process_incoming_migration_bh">(
    Actor::incoming, with_params<P::host, P::fail, P::broken>{},
    "The destination's bottom half: if the source was running and autostart is set, "
    "bdrv_activate_all() and vm_start() only if that succeeded (otherwise the run state stays "
    "INMIGRATE); if the source was running without autostart, PAUSED; otherwise the source's "
    "run state. The disks stay inactive until the guest starts.",
    "process_incoming_migration_bh() (migration.c:814, v10.2)",
    alive(h) && incoming(h) == IN::LOADED,
    effect(when_else(source_was_running(h) && autostart(h),
                     block(bdrv_activate_all(h, fail, broken),
                           when(no_activation_error(h, fail), vm_start(h))),
                     block(assume(fail == none && !broken),
                           when_else(source_was_running(h), block(runstate_set(h, RS::PAUSED)),
                                     block(runstate_set(h, received_state(h)))))),
           set(incoming(h), IN::DONE), set(received_state(h), RS::UNSET)));

inline constexpr auto postcopy_run_bh = row<"postcopy_run_bh">(
    Actor::incoming, with_params<P::host, P::fail, P::broken>{},
    "The postcopy destination runs the `run` command: with autostart, bdrv_activate_all() and "
    "vm_start() only if it succeeded; without autostart, PAUSED with the disks still inactive.",
    "loadvm_postcopy_handle_run_bh() (migration/savevm.c, v10.2)",
    alive(h) && incoming(h) == IN::POSTCOPY,
    effect(when_else(autostart(h),
                     block(bdrv_activate_all(h, fail, broken),
                           when(no_activation_error(h, fail), vm_start(h))),
                     block(assume(fail == none && !broken), runstate_set(h, RS::PAUSED))),
           set(incoming(h), IN::DONE)));

// blockdev-set-active (blockdev.c:3529, Kevin Wolf 10.0): no run-state or migration guard.
inline constexpr auto blockdev_set_active_all = row<"blockdev_set_active_all">(
    Actor::qmp, with_params<P::host, P::fail, P::broken>{},
    "`blockdev-set-active active=true` without node-name: bdrv_activate_all(), in any run state.",
    "qmp_blockdev_set_active() (blockdev.c:3529, v10.2)",
    alive(h) && set_active_left != Count::ZERO,
    effect(set(set_active_left, decrement(set_active_left)), bdrv_activate_all(h, fail, broken)));

inline constexpr auto blockdev_set_inactive_all = row<"blockdev_set_inactive_all">(
    Actor::qmp, with_params<P::host, P::fail, P::half>{},
    "`blockdev-set-active active=false` without node-name: bdrv_inactivate_all(), on a guest in "
    "any run state.",
    "qmp_blockdev_set_active() (blockdev.c:3529, v10.2)",
    alive(h) && set_active_left != Count::ZERO,
    effect(set(set_active_left, decrement(set_active_left)), bdrv_inactivate_all_skipping(h)));

inline constexpr auto blockdev_set_active_node = row<"blockdev_set_active_node">(
    Actor::qmp, with_params<P::host, P::target, P::fail, P::broken>{},
    "`blockdev-set-active node-name=... active=true`: bdrv_activate() of one inactive or "
    "half-inactivated node; it fails (`fail` = that node) while the storage does not answer, and "
    "must fail while the other process holds the image or, for an inactive node, while the "
    "storage does not answer (the qcow2 re-open reads the header); a failed node ends inactive, "
    "or broken (`broken`) if the qcow2 re-open failed.",
    "qmp_blockdev_set_active(), bdrv_activate() (blockdev.c:3529, block.c, v10.2)", alive(h),
    effect(
        assume(exists(n, n == target &&
                             (node(h, n) == NS::INACTIVE || node(h, n) == NS::HALF_INACTIVE))),
        assume(fail == none || fail == target),
        assume(exists(
            n, n == target && implies(fail != none, !storage_ok || locked_by_peer(h, n)) &&
                   implies(locked_by_peer(h, n), fail != none) &&
                   implies(node(h, n) == NS::INACTIVE && !storage_ok, fail != none) &&
                   implies(broken, fail != none && !storage_ok && node(h, n) == NS::INACTIVE))),
        set(node(h, n), ite(n == target && fail == none, NS::ACTIVE,
                            ite(n == target, ite(broken, NS::BROKEN, NS::INACTIVE), node(h, n))))));

inline constexpr auto blockdev_set_inactive_node = row<"blockdev_set_inactive_node">(
    Actor::qmp, with_params<P::host, P::target, P::fail, P::half>{},
    "`blockdev-set-active node-name=... active=false`: bdrv_inactivate() of one active or "
    "half-inactivated root node; it fails (`fail` = that node) only while the storage does not "
    "answer, possibly leaving the node half-inactivated.",
    "qmp_blockdev_set_active(), bdrv_inactivate() (blockdev.c:3529, block.c, v10.2)", alive(h),
    effect(assume(exists(n, n == target &&
                                (node(h, n) == NS::ACTIVE || node(h, n) == NS::HALF_INACTIVE))),
           assume(fail == none || (fail == target && !storage_ok)),
           assume(implies(half, fail != none)),
           set(node(h, n), ite(n == target && fail == none, NS::INACTIVE,
                               ite(n == target && half, NS::HALF_INACTIVE, node(h, n))))));

inline constexpr auto migration_completion_not_active = row<"migration_completion_not_active">(
    Actor::thread, with_params<P::host>{},
    "migration_completion() finds the migration cancelled after the loop's check: ret = -1, "
    "`goto fail`, which leaves CANCELLING alone.",
    "migration_completion() (migration.c:3058, v10.2)",
    alive(h) && pc(h) == PC::ITERATING && mig(h) == MS::CANCELLING, effect(set(pc(h), PC::FINISH)));

inline constexpr auto r1 =
    replace_row<"start_destination">(v10_0_dev_rows, tables::start_destination);
inline constexpr auto r2 = replace_row<"qmp_cont">(r1, qmp_cont);
inline constexpr auto r3 = replace_row<"migration_completion_save">(r2, migration_completion_save);
inline constexpr auto r4 =
    replace_row<"migration_completion_pause">(r3, migration_completion_pause);
inline constexpr auto r5 = replace_row<"migration_completion_cancelled_before_pause">(
    r4, migration_switchover_interrupted);
inline constexpr auto r6 =
    replace_row<"migration_switchover_resume">(r5, migration_switchover_resume);
inline constexpr auto r7 = replace_row<"migration_completion_fail">(r6, migration_completion_fail);
inline constexpr auto r8 =
    replace_row<"migration_completion_checks_fail">(r7, migration_completion_checks_fail);
inline constexpr auto r9 =
    replace_row<"migration_iteration_finish_resume">(r8, migration_iteration_finish_resume);
inline constexpr auto r10 =
    replace_row<"migration_iteration_finish_stopped">(r9, migration_iteration_finish_stopped);
inline constexpr auto r11 = replace_row<"postcopy_start_ok">(r10, postcopy_start_ok);
inline constexpr auto r12 = replace_row<"postcopy_start_fails">(r11, postcopy_start_fails);
inline constexpr auto r13 =
    replace_row<"postcopy_start_package_fails">(r12, postcopy_start_package_fails);
inline constexpr auto r14 =
    replace_row<"process_incoming_migration_bh">(r13, process_incoming_migration_bh);
inline constexpr auto r15 = replace_row<"postcopy_run_bh">(r14, postcopy_run_bh);
inline constexpr auto r16 =
    replace_row<"migration_completion_not_active">(r15, migration_completion_not_active);
// The node-name forms of blockdev-set-active (blockdev_set_active_node, blockdev_set_inactive_node
// above) are written but not part of the table: they let any subset of nodes be inactive, which
// multiplies the state space by 4^N per host without a new path to the invariants' premises (the
// all-nodes forms already inactivate and activate while the guest runs, on either host).
inline constexpr auto rows = add_rows(r16, blockdev_set_active_all, blockdev_set_inactive_all);

} // namespace v10_2

inline constexpr auto v10_2_rows = v10_2::rows;
static_assert(validate_table<v10_2_rows>());

} // namespace handoff::model::tables
