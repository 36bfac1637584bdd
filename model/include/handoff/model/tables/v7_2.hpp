// QEMU v7.2 as Debian 12 ships it (7.2.22): the 7.2 code with the stable-7.2.3 backports of the
// 2023 fix, cb898262a4 (403d18ae: s->block_inactive is set before the inactivation attempt),
// d2a811dd7d (5d39f44d: no local `inactivate`) and c0ad2a9191 (6dab4c93: one `fail:` label that
// re-activates whenever s->block_inactive is set and the state is ACTIVE or DEVICE). 7.2 does not
// have 8.1's s->vm_old_state (f4584076/a4c6275a came with 8.1 only): s->vm_was_running decides
// between vm_start() and POSTMIGRATE, as in 8.0.0. Derived from v8.0.0 because the backports were
// written against the same migration_completion() (the 8.0.1 and 7.2.3 backports are the same
// three patches). One more backport touches this model: 7.2.9's d3007d348a (savevm refuses
// inactive nodes). Every other row is v8.0.0's.
#pragma once

#include "handoff/model/tables/v8_0_0.hpp"
#include "handoff/model/tables/v8_1.hpp" // the 6dab4c93 `fail:` label, shared

namespace handoff::model::tables {

namespace v7_2 {

// "block: Fix crash when loading snapshot on inactive node" (d3007d348a, Kevin Wolf), backported
// to 7.2.9 (Debian's changelog lists it in the 7.2.9 stable update): bdrv_can_snapshot() tests
// bdrv_is_writable(), so an inactive node refuses the snapshot ("Device '...' is writable but does
// not support snapshots") before anything is written. Found by the conformance harness: the
// v8.0.0 row made `savevm` on a destination in INMIGRATE abort, Debian's 7.2.22 refuses it.
inline constexpr auto savevm = row<"savevm">(
    Actor::qmp, with_params<P::host>{},
    "`savevm`/`snapshot-save` with no migration running, in any run state: bdrv_can_snapshot() "
    "tests bdrv_is_writable() (d3007d348a, backported to 7.2.9), so an inactive node refuses the "
    "snapshot before anything is written; a disk with a node without a driver (its own, or one "
    "below it) is left out (refused only if every disk is); otherwise migrate_init() resets "
    "vm_was_running and s->state ends "
    "COMPLETED, or FAILED if the storage does not answer. The nodes snapshotted are the disks' "
    "(the graph's roots); the writes go on down each disk's data path, asserting that each node "
    "there is active.",
    "save_snapshot(), bdrv_all_can_snapshot(), bdrv_can_snapshot() (block/snapshot.c, v7.2.9+; "
    "d3007d348a), bdrv_all_snapshots_includes_bs() (!bdrv_is_inserted() when bs->drv == NULL)",
    alive(h) && !migration_is_running(h) && pc(h) == PC::IDLE,
    effect(when(snapshot_has_node(h) &&
                    forall(n, implies(is_root(n) && inserted(h, n), node(h, n) != NS::INACTIVE)),
                qemu_assert(!snapshot_meets_inactive(h), Crash::WRITE_TO_INACTIVE),
                set(vm_was_running(h), false),
                set(mig(h), ite(storage_ok, MS::COMPLETED, MS::FAILED)))));

// 403d18ae/5d39f44d as backported to 7.2.3 (cb898262a4, d2a811dd7d): `s->block_inactive =
// !migrate_colo_enabled();` before the attempt, so a partial failure is remembered.
constexpr auto savevm_complete_precopy(auto host) {
    return group(
        "savevm_complete_precopy", "h",
        "migration_completion() sets s->block_inactive = !migrate_colo_enabled() before calling "
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
    "migration_completion() (migration.c, v7.2.3+; cb898262a4 = 403d18ae, d2a811dd7d = "
    "5d39f44d)",
    alive(h) && pc(h) == PC::COMPLETION_LOCK && !pause_before_switchover,
    effect(stop_vm_for_completion_v8_0(h), savevm_complete_precopy(h)));

inline constexpr auto migration_switchover_resume = row<"migration_switchover_resume">(
    Actor::thread, with_params<P::host, P::fail, P::half>{},
    "s->pause_sem was posted and the state is still PRE_SWITCHOVER: it becomes DEVICE, the BQL "
    "is taken, s->block_inactive is set and the device state is completed with inactivation.",
    "migration_maybe_pause(), migration_completion() (migration.c, v7.2.3+; cb898262a4)",
    alive(h) && pc(h) == PC::SWITCHOVER_WAIT && pause_sem(h) && mig(h) == MS::PRE_SWITCHOVER,
    effect(set(pause_sem(h), false), set(mig(h), MS::DEVICE), set(active_state(h), MS::DEVICE),
           savevm_complete_precopy(h)));

// 6dab4c93 as backported to 7.2.3 (c0ad2a9191): one `fail:` label for every failure of
// migration_completion(), the same code as in 8.1.0, so the group is v8.1's.
using v8_1::completion_fail_label;

inline constexpr auto migration_completion_fail = row<"migration_completion_fail">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "`if (ret < 0) goto fail`: the single `fail:` label re-activates the disks if "
    "s->block_inactive says they were (tried to be) inactivated.",
    "migration_completion() fail: (migration.c, v7.2.3+; c0ad2a9191 = 6dab4c93)",
    alive(h) && pc(h) == PC::COMPLETION_FAILED, effect(completion_fail_label(h)));

inline constexpr auto migration_completion_checks_fail = row<"migration_completion_checks_fail">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "After the device state was sent, await_return_path_close_on_source() or "
    "qemu_file_get_error() reports an error (the destination is gone, or the stream was shut "
    "down): `goto fail`, the same label.",
    "migration_completion() (migration.c, v7.2.3+; c0ad2a9191 = 6dab4c93 merged fail_invalidate "
    "into fail)",
    alive(h) && pc(h) == PC::COMPLETION_SAVED && (file_error(h) || rp_error(h) || !alive(peer(h))),
    effect(completion_fail_label(h)));

inline constexpr auto rows_s = replace_row<"savevm">(v8_0_0_rows, savevm);
inline constexpr auto rows_a =
    replace_row<"migration_completion_save">(rows_s, migration_completion_save);
inline constexpr auto rows_b =
    replace_row<"migration_switchover_resume">(rows_a, migration_switchover_resume);
inline constexpr auto rows_c =
    replace_row<"migration_completion_fail">(rows_b, migration_completion_fail);
inline constexpr auto rows =
    replace_row<"migration_completion_fail_invalidate">(rows_c, migration_completion_checks_fail);

} // namespace v7_2

inline constexpr auto v7_2_rows = v7_2::rows;
static_assert(validate_table<v7_2_rows>());

} // namespace handoff::model::tables
