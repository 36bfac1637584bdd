// QEMU 10.0-dev: Peter Xu's "migration/block: disk activation rewrite" (merged 2025-01-10:
// 7815f698, e4e5e89b, fca9aef1, 61f2b489, 8c97c5a4, 8597af76), before Kevin Wolf's series
// removed its global flag (c2a189976e). migration/block-active.c keeps one process-wide
// `migration_block_active`; migration_block_activate()/_inactivate() skip the walk when the flag
// says it is already done. s->block_inactive, migration_completion_failed() and the
// re-activation in migrate_fd_cancel() are gone; migration_iteration_finish() activates (ignoring
// the result) before vm_start(); `cont` activates only outside INMIGRATE; the destination always
// activates late. Read from the patch texts (PULL 10-15/25, migration-20250110).
#pragma once

#include "handoff/model/tables/v9_2.hpp"

namespace handoff::model::tables {

namespace v10_0_dev {

// migration_block_activate() (8597af76): skipped while the flag is set; otherwise
// bdrv_activate_all(), and the flag is set only if that succeeded.
template <class H, class F, class B>
constexpr auto migration_block_activate(H host, F failing, B breaks) {
    return group(
        "migration_block_activate", activation_args(failing),
        "migration/block-active.c migration_block_activate(): returns at once if "
        "migration_block_active is set (\"active-skipped\"); otherwise bdrv_activate_all() and, "
        "on success, migration_block_active = true. Its result is the flag.",
        when_else(migration_block_active(host), block(assume(failing == none && !breaks)),
                  block(bdrv_activate_all(host, failing, breaks),
                        set(migration_block_active(host), no_activation_error(host, failing)))));
}

// migration_block_inactivate() (8597af76): skipped while the flag is clear; otherwise
// bdrv_inactivate_all() (still asserting on inactive nodes) and the flag is cleared only on
// success, so after a partial failure it stays set. Its result is !flag.
template <class H>
constexpr auto migration_block_inactivate(H host) {
    return group(
        "migration_block_inactivate", "h, fail, half",
        "migration/block-active.c migration_block_inactivate(): returns at once if "
        "migration_block_active is clear (\"inactive-skipped\"); otherwise bdrv_inactivate_all() "
        "and, on success only, migration_block_active = false. Its result is !flag.",
        when_else(migration_block_active(host),
                  block(set(tried_inactivate(host), true), bdrv_inactivate_all_asserting(host),
                        set(migration_block_active(host), !inactivation_ok(host))),
                  block(assume(fail == none && !half))));
}

inline constexpr auto start_destination = row<"start_destination">(
    Actor::management, with_params<P::host>{},
    "Management starts a fresh QEMU with -incoming on a host without a process: run state "
    "INMIGRATE, every node opened inactive, and qmp_migrate_incoming() clears "
    "migration_block_active.",
    "qemu_init() with -incoming; qmp_migrate_incoming() migration_block_active_setup(false) "
    "(8597af76)",
    !alive(h) && alive(peer(h)) && starts_left != Count::ZERO,
    effect(set(starts_left, decrement(starts_left)), set(alive(h), true),
           set(runstate(h), RS::INMIGRATE), set(incoming(h), IN::LISTENING),
           set(autostart(h), autostart_policy), set(migration_block_active(h), false),
           set(stream_eof(h), false), set(global_state(h), RS::UNSET),
           set(node(h, n), NS::INACTIVE)));

inline constexpr auto qmp_migrate_cancel = row<"qmp_migrate_cancel">(
    Actor::qmp, with_params<P::host>{},
    "`migrate_cancel`: every running state moves to CANCELLING (waking a thread paused in "
    "PRE_SWITCHOVER) and the stream is shut down; the block layer is no longer touched here.",
    "migrate_fd_cancel() (8597af76 removed its bdrv_activate_all())",
    alive(h) && migration_is_running(h),
    effect(set(pause_sem(h), pause_sem(h) || mig(h) == MS::PRE_SWITCHOVER),
           set(mig(h), MS::CANCELLING), set(file_error(h), true)));

inline constexpr auto qmp_cont = row<"qmp_cont">(
    Actor::qmp, with_params<P::host, P::fail, P::broken>{},
    "`cont`: refused in FINISH_MIGRATE; in INMIGRATE it only sets autostart; otherwise "
    "migration_block_activate() and, if the flag is then set, vm_start().",
    "qmp_cont() (monitor/qmp-cmds.c; e4e5e89b, 8597af76)",
    alive(h) && runstate(h) != RS::FINISH_MIGRATE && runstate(h) != RS::SAVE_VM &&
        documented_resume(h),
    effect(when_else(runstate(h) == RS::INMIGRATE,
                     block(set(autostart(h), true), assume(fail == none && !broken)),
                     block(migration_block_activate(h, fail, broken),
                           when(migration_block_active(h), vm_start(h))))));

// qemu_savevm_state_complete_precopy_non_iterable() (8c97c5a4, 8597af76): no s->block_inactive; a
// failed migration_block_inactivate() sets the stream error -EFAULT and sends no EOF.
constexpr auto savevm_complete_precopy(auto host) {
    return group(
        "savevm_complete_precopy", "h",
        "qemu_savevm_state_complete_precopy(): a shut-down stream fails first (nothing "
        "inactivated); otherwise the non-iterable part calls migration_block_inactivate() before "
        "QEMU_VM_EOF and, if it fails, qemu_file_set_error(f, -EFAULT) without EOF.",
        when_else(file_error(host),
                  block(no_block_operation(), set(pc(host), PC::COMPLETION_FAILED)),
                  block(migration_block_inactivate(host),
                        set(stream_eof(host), !migration_block_active(host)),
                        set(file_error(host), migration_block_active(host)),
                        set(pc(host), ite(migration_block_active(host), PC::COMPLETION_FAILED,
                                          PC::COMPLETION_SAVED)))));
}

inline constexpr auto migration_completion_save = row<"migration_completion_save">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "Without pause-before-switchover, one BQL section stops the VM (migration_stop_vm()) and "
    "completes the device state, inactivating through migration_block_inactivate().",
    "migration_completion_precopy() (8c97c5a4), qemu_savevm_state_complete_precopy_non_iterable() "
    "(8597af76)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !pause_before_switchover,
    effect(v8_1::stop_vm_for_completion(h), savevm_complete_precopy(h)));

inline constexpr auto migration_switchover_resume = row<"migration_switchover_resume">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "s->pause_sem was posted and the state is still PRE_SWITCHOVER: it becomes DEVICE, the BQL "
    "is taken, and the device state is completed with migration_block_inactivate().",
    "migration_maybe_pause(), migration_completion_precopy() (8c97c5a4, 8597af76)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(mig(h), MS::DEVICE), set(active_state(h), MS::DEVICE),
           savevm_complete_precopy(h)));

constexpr auto completion_fail_label(auto host) {
    return group("completion_fail_label", "h",
                 "migration_completion() `fail:` without migration_completion_failed() (8597af76): "
                 "only current_active_state -> FAILED.",
                 set(mig(host), ite(mig(host) == active_state(host), MS::FAILED, mig(host))),
                 set(pc(host), PC::FINISH));
}

inline constexpr auto migration_completion_fail = row<"migration_completion_fail">(
    Actor::thread, with_params<P::host>{},
    "`if (ret < 0) goto fail`: the `fail:` label no longer touches the block layer; "
    "migration_iteration_finish() re-activates.",
    "migration_completion() fail: (8597af76 deleted migration_completion_failed())",
    alive(h) && pc(h) == PC::COMPLETION_FAILED, effect(completion_fail_label(h)));

inline constexpr auto migration_completion_checks_fail = row<"migration_completion_checks_fail">(
    Actor::thread, with_params<P::host>{},
    "After the device state was sent, close_return_path_on_source() or qemu_file_get_error() "
    "reports an error: `goto fail`.",
    "migration_completion() (8597af76)",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && (file_error(h) || rp_error(h) || !alive(peer(h))),
    effect(completion_fail_label(h)));

inline constexpr auto migration_iteration_finish_resume = row<"migration_iteration_finish_resume">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "After a failed or cancelled migration of a running VM, migration_block_activate() (result "
    "ignored) and then vm_start() (unless the guest shut down).",
    "migration_iteration_finish() (8597af76)",
    alive(h) && pc(h) == PC::FINISH &&
        (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
        vm_old_state(h) == RS::RUNNING,
    effect(migration_block_activate(h, fail, broken),
           when(runstate(h) != RS::SHUTDOWN, vm_start(h)), migrate_fd_cleanup(h)));

inline constexpr auto migration_iteration_finish_stopped =
    row<"migration_iteration_finish_stopped">(
        Actor::thread, with_params<P::host, P::fail, P::broken>{},
        "After a failed or cancelled migration of a VM that was not running, "
        "migration_block_activate() (result ignored), then a VM still in FINISH_MIGRATE gets its "
        "old run state back.",
        "migration_iteration_finish() (8597af76)",
        alive(h) && pc(h) == PC::FINISH &&
            (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
            vm_old_state(h) != RS::RUNNING,
        effect(migration_block_activate(h, fail, broken),
               when(runstate(h) == RS::FINISH_MIGRATE, runstate_set(h, vm_old_state(h))),
               migrate_fd_cleanup(h)));

constexpr auto postcopy_stop(auto host) {
    return group("postcopy_stop", "h",
                 "postcopy_start(): ACTIVE -> POSTCOPY_ACTIVE, then migration_stop_vm() "
                 "(vm_old_state, global_state_store(), vm_stop_force_state(FINISH_MIGRATE), whose "
                 "flush may fail: `flush_fails`).",
                 set(vm_old_state(host), runstate(host)), set(global_state(host), runstate(host)),
                 runstate_set(host, RS::FINISH_MIGRATE),
                 assume(implies(flush_fails, !storage_ok && fail == none && !half)));
}

inline constexpr auto postcopy_start_ok = row<"postcopy_start_ok">(
    Actor::thread, with_params<P::host>{},
    "postcopy_start() succeeds: the VM is stopped, migration_block_inactivate() succeeds (or is "
    "skipped), and the package reaches the destination.",
    "postcopy_start() (8597af76)", postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(!flush_fails), migration_block_inactivate(h),
           assume(!migration_block_active(h)), set(mig(h), MS::POSTCOPY_ACTIVE),
           set(incoming(peer(h)), IN::POSTCOPY)));

inline constexpr auto postcopy_start_fails = row<"postcopy_start_fails">(
    Actor::thread,
    with_params<P::host, P::flush_fails, P::fail, P::half, P::reactivate_fail, P::broken>{},
    "postcopy_start() fails in migration_stop_vm()'s flush or in migration_block_inactivate() "
    "(at node `fail`, leaving the flag set): `fail:` moves POSTCOPY_ACTIVE -> FAILED and calls "
    "migration_block_activate() unconditionally -- skipped whenever the flag is still set.",
    "postcopy_start() fail: (8597af76)", postcopy_start_guard(h),
    effect(postcopy_stop(h), set(file_error(h), true), set(mig(h), MS::FAILED),
           when_else(flush_fails, block(migration_block_activate(h, refail, broken)),
                     block(migration_block_inactivate(h),
                           assume(migration_block_active(h) && !inactivation_ok(h)),
                           assume(refail == none && !broken)))));

inline constexpr auto postcopy_start_package_fails = row<"postcopy_start_package_fails">(
    Actor::fault, with_params<P::host, P::reactivate_fail, P::broken>{},
    "postcopy_start() inactivated the disks (or skipped it), then building or sending the "
    "package fails, before or after the last point of recovery: `fail:` moves POSTCOPY_ACTIVE -> "
    "FAILED and calls migration_block_activate() unconditionally (restart_block is gone).",
    "postcopy_start() fail: (8597af76)", postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(!flush_fails), set(file_error(h), true),
           set(mig(h), MS::FAILED),
           when_else(migration_block_active(h),
                     block(inactivate_then_reactivate(h),
                           set(migration_block_active(h), no_activation_error(h, refail))),
                     block(migration_block_activate(h, refail, broken)))));

inline constexpr auto process_incoming_migration_bh = row<"process_incoming_migration_bh">(
    Actor::incoming, with_params<P::host, P::fail, P::broken>{},
    "The destination's bottom half always activates late (late-block-activate is ignored): if "
    "the source was running and autostart is set, migration_block_activate() and vm_start() only "
    "if that succeeded (otherwise the run state stays INMIGRATE); if the source was running "
    "without autostart, PAUSED; otherwise the source's run state.",
    "process_incoming_migration_bh() (7815f698, fca9aef1, 8597af76)",
    alive(h) && incoming(h) == IN::LOADED,
    effect(when_else(source_was_running(h) && autostart(h),
                     block(migration_block_activate(h, fail, broken),
                           when(migration_block_active(h), vm_start(h))),
                     block(assume(fail == none && !broken),
                           when_else(source_was_running(h), block(runstate_set(h, RS::PAUSED)),
                                     block(runstate_set(h, received_state(h)))))),
           set(incoming(h), IN::DONE), set(received_state(h), RS::UNSET)));

inline constexpr auto postcopy_run_bh = row<"postcopy_run_bh">(
    Actor::incoming, with_params<P::host, P::fail, P::broken>{},
    "The postcopy destination runs the `run` command: with autostart, "
    "migration_block_activate() and vm_start() only if it succeeded (otherwise the run state "
    "stays INMIGRATE); without autostart, PAUSED with the disks still inactive.",
    "loadvm_postcopy_handle_run_bh() (61f2b489, 8597af76)", alive(h) && incoming(h) == IN::POSTCOPY,
    effect(when_else(autostart(h),
                     block(migration_block_activate(h, fail, broken),
                           when(migration_block_active(h), vm_start(h))),
                     block(assume(fail == none && !broken), runstate_set(h, RS::PAUSED))),
           set(incoming(h), IN::DONE)));

inline constexpr auto r1 = replace_row<"start_destination">(v9_2_rows, start_destination);
inline constexpr auto r2 = replace_row<"qmp_migrate_cancel">(r1, qmp_migrate_cancel);
inline constexpr auto r3 = replace_row<"qmp_cont">(r2, qmp_cont);
inline constexpr auto r4 = replace_row<"migration_completion_save">(r3, migration_completion_save);
inline constexpr auto r5 =
    replace_row<"migration_switchover_resume">(r4, migration_switchover_resume);
inline constexpr auto r6 = replace_row<"migration_completion_fail">(r5, migration_completion_fail);
inline constexpr auto r7 =
    replace_row<"migration_completion_checks_fail">(r6, migration_completion_checks_fail);
inline constexpr auto r8 =
    replace_row<"migration_iteration_finish_resume">(r7, migration_iteration_finish_resume);
inline constexpr auto r9 =
    replace_row<"migration_iteration_finish_stopped">(r8, migration_iteration_finish_stopped);
inline constexpr auto r10 = replace_row<"postcopy_start_ok">(r9, postcopy_start_ok);
inline constexpr auto r11 = replace_row<"postcopy_start_fails">(r10, postcopy_start_fails);
inline constexpr auto r12 =
    replace_row<"postcopy_start_package_fails">(r11, postcopy_start_package_fails);
inline constexpr auto r13 = remove_row<"postcopy_start_send_fails">(r12);
inline constexpr auto r14 =
    replace_row<"process_incoming_migration_bh">(r13, process_incoming_migration_bh);
inline constexpr auto rows = replace_row<"postcopy_run_bh">(r14, postcopy_run_bh);

} // namespace v10_0_dev

inline constexpr auto v10_0_dev_rows = v10_0_dev::rows;
static_assert(validate_table<v10_0_dev_rows>());

} // namespace handoff::model::tables
