// The worked example of docs/howto-patch.md: the 2023 fix of the seed bug (RHBZ 2058982) modelled
// as a patch of your own would be, one file on top of v8.0.0. It is the three commits of the
// domain reference, section 5.1, applied to v8.0.0's migration_completion():
//   403d18ae (Eric Blake)    s->block_inactive is set *before* the inactivation attempt, so a
//                            partial failure is remembered;
//   5d39f44d (Juan Quintela) no local `inactivate`: the flag itself is passed on (no behaviour);
//   6dab4c93 (Eric Blake, suggested by Kevin Wolf) one `fail:` label, which re-activates the disks
//                            whenever s->block_inactive is set and the state is ACTIVE or DEVICE.
// Not in it: 8.1's vm_old_state (f4584076, a4c6275a), a separate series. The shipped v8.1 has both;
// cli/tests/howto_example_test.sh checks that this version's verdicts equal v8.1's where only the
// fix matters. Built into build/handoff-fix-2023 (cli/CMakeLists.txt), never into build/handoff.
#include "handoff/model/register_version.hpp"
#include "handoff/model/tables/v8_0_0.hpp"

namespace handoff::model::tables::fix_2023 {

// ---- 403d18ae + 5d39f44d: remember the attempt, not the success -------------------------------

// qemu_savevm_state_complete_precopy(f, false, s->block_inactive) after
// `s->block_inactive = !migrate_colo_enabled();` (COLO is not modelled: the flag is set). v8.0.0's
// group set the flag afterwards, and only if bdrv_inactivate_all() succeeded.
constexpr auto savevm_complete_precopy(auto host) {
    return group(
        "savevm_complete_precopy", "h",
        "migration_completion() sets s->block_inactive = !migrate_colo_enabled() before "
        "qemu_savevm_state_complete_precopy(f, false, s->block_inactive), which runs "
        "bdrv_inactivate_all() before QEMU_VM_EOF; on failure qemu_file_set_error() and no EOF.",
        set(block_inactive(host), true), set(tried_inactivate(host), true),
        bdrv_inactivate_all_asserting(host),
        set(stream_eof(host), inactivation_ok(host) && !file_error(host)),
        set(file_error(host), file_error(host) || !inactivation_ok(host)),
        set(pc(host), ite(inactivation_ok(host), PC::COMPLETION_SAVED, PC::COMPLETION_FAILED)));
}

inline constexpr auto migration_completion_save = row<"migration_completion_save">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "Without pause-before-switchover, one BQL section records s->vm_was_running, stops the VM, "
    "sets s->block_inactive, completes the device state and inactivates every node (possibly "
    "failing at node `fail`).",
    "migration_completion() (migration.c:3426, v8.0.0 with 403d18ae and 5d39f44d)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !pause_before_switchover,
    effect(stop_vm_for_completion_v8_0(h), savevm_complete_precopy(h)));

inline constexpr auto migration_switchover_resume = row<"migration_switchover_resume">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "s->pause_sem was posted and the state is still PRE_SWITCHOVER: it becomes DEVICE, the BQL "
    "is taken, s->block_inactive is set and the device state is completed with inactivation.",
    "migration_maybe_pause() (3382), migration_completion() (3426) (migration.c, v8.0.0 with "
    "403d18ae)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(mig(h), MS::DEVICE), set(active_state(h), MS::DEVICE),
           savevm_complete_precopy(h)));

// ---- 6dab4c93: one `fail:` label that re-activates ---------------------------------------------

// fail:
//     if (s->block_inactive && (s->state == MIGRATION_STATUS_ACTIVE ||
//                               s->state == MIGRATION_STATUS_DEVICE)) {
//         qemu_mutex_lock_iothread();
//         bdrv_activate_all(&local_err);
//         if (local_err) { error_report_err(local_err); } else { s->block_inactive = false; }
//         qemu_mutex_unlock_iothread();
//     }
//     migrate_set_state(&s->state, current_active_state, MIGRATION_STATUS_FAILED);
constexpr auto completion_fail_label(auto host) {
    return group(
        "completion_fail_label", "h",
        "migration_completion() `fail:` (6dab4c93): if s->block_inactive and the state is still "
        "ACTIVE or DEVICE, bdrv_activate_all() under the BQL, clearing s->block_inactive only if "
        "no error was set; then current_active_state -> FAILED.",
        when_else(block_inactive(host) && (mig(host) == MS::ACTIVE || mig(host) == MS::DEVICE),
                  block(bdrv_activate_all(host, fail, broken),
                        when(no_activation_error(host, fail), set(block_inactive(host), false))),
                  block(no_block_operation())),
        set(mig(host), ite(mig(host) == active_state(host), MS::FAILED, mig(host))),
        set(pc(host), PC::FINISH));
}

// Every `goto fail` before the device state was sent: the flush in vm_stop_force_state(),
// migration_maybe_pause() or the inactivation failed.
inline constexpr auto migration_completion_fail = row<"migration_completion_fail">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "`if (ret < 0) goto fail`: the single `fail:` label re-activates the disks if "
    "s->block_inactive says they were (tried to be) inactivated.",
    "migration_completion() fail: (migration.c:3426, v8.0.0 with 6dab4c93)",
    alive(h) && pc(h) == PC::COMPLETION_FAILED, effect(completion_fail_label(h)));

// The `goto fail_invalidate`s after the device state was sent now go to the same label. The row
// gets a new name, as in v8.1, so that `handoff diff` shows the old label removed.
inline constexpr auto migration_completion_checks_fail = row<"migration_completion_checks_fail">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "After the device state was sent, await_return_path_close_on_source() or "
    "qemu_file_get_error() reports an error (the destination is gone, or the stream was shut "
    "down): `goto fail`, the same label.",
    "migration_completion() (migration.c:3426, v8.0.0 with 6dab4c93, which merged "
    "fail_invalidate into fail)",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && (file_error(h) || rp_error(h) || !alive(peer(h))),
    effect(completion_fail_label(h)));

// ---- the table: v8.0.0's with four rows replaced ------------------------------------------------

inline constexpr auto rows = replace_rows(
    v8_0_0_rows, replacing(migration_completion_save), replacing(migration_switchover_resume),
    replacing(migration_completion_fail),
    replacing<"migration_completion_fail_invalidate">(migration_completion_checks_fail));

} // namespace handoff::model::tables::fix_2023

namespace handoff::model {
namespace {

// 6dab4c93 did not touch runstate_transitions_def[]: v8.0.0's.
const RegisterVersion<tables::fix_2023::rows, tables::kRunstateTransitions_v8_0_0> registered{{
    .version = "fix-2023",
    .based_on = "v8.0.0",
    .summary =
        "The 2023 fix as a patch to v8.0.0 (403d18ae, 5d39f44d, 6dab4c93): s->block_inactive "
        "is set before the inactivation attempt, and one `fail:` label re-activates the "
        "disks whenever it is set. The worked example of docs/howto-patch.md.",
    .source = "v8.0.0's migration/migration.c (blob bda47891) with the three commits applied, as "
              "the domain reference (section 5) quotes them",
}};

} // namespace
} // namespace handoff::model
