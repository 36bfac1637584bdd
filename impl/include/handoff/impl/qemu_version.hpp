// The QEMU versions this implementation follows, and the one place per behaviour where they differ.
//
// Every function that behaves differently between versions reads one named field of
// MigrationPolicy, next to a comment citing the QEMU commit that changed it. There is no
// `if (version == ...)` anywhere else.
#pragma once

#include <array>
#include <string_view>

namespace handoff::impl {

enum class QemuVersion {
    v7_2,      // Debian 12's 7.2.22: 8.0.0's control flow with the 7.2.3 backports of the 2023
               // fix (cb898262a4, d2a811dd7d, c0ad2a9191) and 7.2.9's d3007d348a; no vm_old_state
    v8_0_0,    // migration.c blob bda478919333 (pre-fix: the seed bug, RHBZ 2058982)
    v8_1,      // 403d18ae + 5d39f44d + 6dab4c93 (also in 8.0.1 and 7.2.3 stable)
    v9_2,      // last release with MigrationState.block_inactive; migration_stop_vm()
    v10_0_dev, // Peter Xu's rewrite (migration-20250110) without Kevin Wolf's "Managing inactive
               // nodes": the global migration_block_active flag
    v10_0,     // 10.0.2 as Debian ships it (bookworm-backports): per-node BDRV_O_INACTIVE, before
               // 26f65c01 and 725a9e5f78
    v10_2,     // current design: per-node BDRV_O_INACTIVE is the only truth
};

inline constexpr std::array all_qemu_versions{
    QemuVersion::v7_2,      QemuVersion::v8_0_0, QemuVersion::v8_1, QemuVersion::v9_2,
    QemuVersion::v10_0_dev, QemuVersion::v10_0,  QemuVersion::v10_2};

std::string_view to_string(QemuVersion v);

// Named differences between versions. Each field says what the newer code does and which commit
// made it so; the table in qemu_version.cpp fills it per version.
struct MigrationPolicy {
    // --- block layer (block.c) ---
    // "block: Allow inactivating already inactive nodes" (Kevin Wolf, 10.0):
    // bdrv_inactivate_recurse(bs, top_level) returns 0 for an inactive node at top level and
    // asserts top_level otherwise. Before: assert(!(bs->open_flags & BDRV_O_INACTIVE)).
    bool inactivate_inactive_node_allowed_at_top_level;
    // d3007d348a "block: Fix crash when loading snapshot on inactive node" (9.0; backported to
    // 7.2.9): bdrv_can_snapshot() tests bdrv_is_writable(), which is false for BDRV_O_INACTIVE, so
    // savevm refuses inactive nodes; before, it tested bdrv_is_read_only() and the snapshot write
    // hit the write-path assertion.
    bool snapshot_refuses_inactive_nodes;
    // "block: Add blockdev-set-active QMP command" (10.0, Kevin Wolf's series).
    bool has_blockdev_set_active;

    // --- run-state table (softmmu/runstate.c, system/runstate.c) ---
    // FINISH_MIGRATE -> {INTERNAL_ERROR, IO_ERROR, SHUTDOWN, SUSPENDED, WATCHDOG, GUEST_PANICKED}
    // (Vladimir Sementsov-Ogievskiy, 2023; not in 8.0.0's table).
    bool finish_migrate_to_error_states_allowed;
    // SUSPENDED <-> PAUSED/SAVE_VM/RESTORE_VM/SHUTDOWN and PRELAUNCH/PAUSED -> SUSPENDED (Steve
    // Sistare's "suspended runstate" series, 9.0).
    bool suspended_runstate_transitions;

    // --- source: migration_completion() and its failure labels (migration/migration.c) ---
    // MigrationState.block_inactive exists (removed by 8597af76 "Rewrite disk activation").
    bool has_block_inactive_field;
    // 403d18ae (7.2.3: cb898262a4): s->block_inactive = inactivate is set *before* the savevm
    // completion; before, it was set only when qemu_savevm_state_complete_precopy() returned >= 0.
    bool block_inactive_set_before_inactivation;
    // 6dab4c93 (7.2.3: c0ad2a9191): one `fail:` label that re-activates when s->block_inactive &&
    // (ACTIVE || DEVICE). Before: `goto fail` after a failed savevm skipped `fail_invalidate:`.
    bool single_fail_label_reactivates;
    // "migration: switch from .vm_was_running to .vm_old_state" (8.1): the restart decision in
    // migration_iteration_finish() restores the old run state instead of a boolean.
    bool tracks_vm_old_state;
    // migration_stop_vm() (9.x) records vm_old_state for postcopy_start() too; in 8.1 only
    // migration_completion() sets it and it stays -1 (migrate_init) on the postcopy path.
    bool postcopy_records_vm_old_state;
    // 9.x: runstate_is_live() (RUNNING or SUSPENDED) decides the restart.
    bool restart_uses_runstate_is_live;
    // 9.2 ram_save_complete() ends in `return qemu_fflush(f);` (8.x: `qemu_fflush(f); return 0;`),
    // so a shut-down file fails the completion before the non-iterable part inactivates.
    bool ram_save_complete_returns_file_error;
    // 9.x migration_completion_end(): migrate_set_state(&s->state, s->state, COMPLETED), so a
    // cancel that landed after the file checks is turned into COMPLETED; 8.x used the cmpxchg
    // from current_active_state, which a racing cancel wins.
    bool completion_end_from_current_state;
    // 10.0-dev (8597af76): the global `static bool migration_block_active` in block-active.c.
    bool has_migration_block_active_flag;
    // 8597af76: migrate_fd_cancel() and the completion fail path no longer touch the block
    // layer; migration_iteration_finish() calls migration_block_activate() for FAILED, CANCELLED,
    // CANCELLING and COLO, and does not restart the VM if that fails.
    bool iteration_finish_activates;
    // 10.2: `if (!migration_block_activate(&local_err)) { error_free(local_err); break; }`: the VM
    // is not restarted and the run state stays FINISH_MIGRATE. 10.0-dev ignored the result.
    bool iteration_finish_skips_restart_if_activation_fails;
    // 8597af76: postcopy_start()'s fail: calls migration_block_activate(NULL) unconditionally
    // (restart_block is gone).
    bool postcopy_fail_always_reactivates;
    // 725a9e5f78 "migration: Fix state transition in postcopy_start() error handling" (10.2;
    // 10.0.5): `fail:` moves any state but CANCELLING to FAILED. Before, with the switchover
    // restructuring, it was a compare-and-swap from POSTCOPY_ACTIVE, a state postcopy_start()
    // never leaves the migration in: ACTIVE after a failed flush, DEVICE after the switchover.
    bool postcopy_fail_from_any_state_but_cancelling;
    // 10.x: migration_iteration_run() records a failed postcopy_start()'s error
    // (migrate_set_error()), and close_return_path_on_source() returns migrate_has_error(), so a
    // later completion of the same migration fails.
    bool postcopy_start_error_fails_completion;
    // 10.2: migration_switchover_prepare() always enters DEVICE; migration_switchover_start()
    // does the inactivation; the completion's fail path sets FAILED from any state but
    // CANCELLING.
    bool switchover_start_inactivates;
    // 10.2 migration_completion() fail: `if (s->state != CANCELLING) migrate_set_state(&s->state,
    // s->state, FAILED)`; before: migrate_set_state(&s->state, current_active_state, FAILED).
    bool completion_fail_from_any_state_but_cancelling;

    // --- QMP (monitor/qmp-cmds.c) ---
    // e4e5e89b "qmp/cont: Only activate disks if migration completed": activation moved into
    // the non-INMIGRATE branch.
    bool cont_activates_only_outside_inmigrate;
    // Fabiano Rosas, "migration: Reject qmp_migrate_cancel after postcopy" (10.0):
    // "Postcopy migration in progress, cannot cancel."
    bool cancel_refused_in_postcopy;

    // --- destination (migration/migration.c, migration/savevm.c) ---
    // fca9aef1 + 61f2b489: activation always waits until the VM starts (late-block-activate is
    // the default, for precopy and postcopy); an activation failure leaves the run state alone
    // instead of `autostart = false; runstate_set(PAUSED)`.
    bool destination_always_late_block_activate;
};

const MigrationPolicy& policy_for(QemuVersion v);

} // namespace handoff::impl
