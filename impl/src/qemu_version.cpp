#include "handoff/impl/qemu_version.hpp"

namespace handoff::impl {

std::string_view to_string(QemuVersion v) {
    switch (v) {
    case QemuVersion::v7_2:
        return "v7.2";
    case QemuVersion::v8_0_0:
        return "v8.0.0";
    case QemuVersion::v8_1:
        return "v8.1";
    case QemuVersion::v9_2:
        return "v9.2";
    case QemuVersion::v10_0_dev:
        return "v10.0-dev";
    case QemuVersion::v10_0:
        return "v10.0";
    case QemuVersion::v10_2:
        return "v10.2";
    }
    return "?";
}

namespace {

// v8.0.0: migration.c blob bda478919333 (domain reference, section 3).
constexpr MigrationPolicy v8_0_0_policy{
    .inactivate_inactive_node_allowed_at_top_level = false,
    .snapshot_refuses_inactive_nodes = false,
    .has_blockdev_set_active = false,
    .finish_migrate_to_error_states_allowed = false,
    .suspended_runstate_transitions = false,
    .has_block_inactive_field = true,
    .block_inactive_set_before_inactivation = false,
    .single_fail_label_reactivates = false,
    .tracks_vm_old_state = false,
    .postcopy_records_vm_old_state = false,
    .restart_uses_runstate_is_live = false,
    .ram_save_complete_returns_file_error = false,
    .completion_end_from_current_state = false,
    .has_migration_block_active_flag = false,
    .iteration_finish_activates = false,
    .iteration_finish_skips_restart_if_activation_fails = false,
    .postcopy_fail_always_reactivates = false,
    .postcopy_fail_from_any_state_but_cancelling = false,
    .postcopy_start_error_fails_completion = false,
    .switchover_start_inactivates = false,
    .completion_fail_from_any_state_but_cancelling = false,
    .cont_activates_only_outside_inmigrate = false,
    .cancel_refused_in_postcopy = false,
    .destination_always_late_block_activate = false,
};

// v7.2 as Debian 12 ships it (7.2.22): 7.2's migration_completion() is 8.0.0's, with the
// stable-7.2.3 backports of the 2023 fix, cb898262a4 (403d18ae), d2a811dd7d (5d39f44d, no
// behaviour change) and c0ad2a9191 (6dab4c93), and 7.2.9's backport of d3007d348a (savevm
// refuses inactive nodes). What 8.1 brought besides the fix is not there: no s->vm_old_state
// (s->vm_was_running decides between vm_start() and POSTMIGRATE, so a paused VM whose migration
// fails ends in POSTMIGRATE), and 8.0's runstate_transitions_def[].
constexpr MigrationPolicy v7_2_policy = [] {
    MigrationPolicy p = v8_0_0_policy;
    p.block_inactive_set_before_inactivation = true;
    p.single_fail_label_reactivates = true;
    p.snapshot_refuses_inactive_nodes = true;
    return p;
}();

// v8.1: the 2023 fix (403d18ae, 5d39f44d, 6dab4c93) and vm_old_state.
constexpr MigrationPolicy v8_1_policy = [] {
    MigrationPolicy p = v8_0_0_policy;
    p.finish_migrate_to_error_states_allowed = true;
    p.block_inactive_set_before_inactivation = true;
    p.single_fail_label_reactivates = true;
    p.tracks_vm_old_state = true;
    return p;
}();

// v9.2: migration_stop_vm(), runstate_is_live(), ram_save_complete returns the flush error.
constexpr MigrationPolicy v9_2_policy = [] {
    MigrationPolicy p = v8_1_policy;
    p.postcopy_records_vm_old_state = true;
    p.restart_uses_runstate_is_live = true;
    p.ram_save_complete_returns_file_error = true;
    p.snapshot_refuses_inactive_nodes = true;
    p.suspended_runstate_transitions = true;
    p.completion_end_from_current_state = true;
    return p;
}();

// v10.0-dev: Peter Xu's "migration/block: disk activation rewrite" (e4e5e89b, fca9aef1,
// 61f2b489, 8c97c5a4, 8597af76), before Kevin Wolf's "Managing inactive nodes".
constexpr MigrationPolicy v10_0_dev_policy = [] {
    MigrationPolicy p = v9_2_policy;
    p.has_block_inactive_field = false;
    p.block_inactive_set_before_inactivation = false;
    p.single_fail_label_reactivates = false;
    p.has_migration_block_active_flag = true;
    p.iteration_finish_activates = true;
    p.postcopy_fail_always_reactivates = true;
    p.cont_activates_only_outside_inmigrate = true;
    p.destination_always_late_block_activate = true;
    return p;
}();

// v10.0 (10.0.2): Kevin Wolf's series (c2a189976e removes the global flag; inactive nodes may be
// inactivated again at top level; blockdev-set-active), migration_switchover_start(), and
// migrate_cancel refused in postcopy.
constexpr MigrationPolicy v10_0_policy = [] {
    MigrationPolicy p = v10_0_dev_policy;
    p.inactivate_inactive_node_allowed_at_top_level = true;
    p.has_blockdev_set_active = true;
    p.has_migration_block_active_flag = false;
    p.switchover_start_inactivates = true;
    p.completion_fail_from_any_state_but_cancelling = true;
    p.postcopy_start_error_fails_completion = true;
    p.cancel_refused_in_postcopy = true;
    return p;
}();

// v10.2: 26f65c01 (no restart after a failed activation) and 725a9e5f78 (postcopy_start()'s
// fail: moves ACTIVE or DEVICE to FAILED).
constexpr MigrationPolicy v10_2_policy = [] {
    MigrationPolicy p = v10_0_policy;
    p.iteration_finish_skips_restart_if_activation_fails = true;
    p.postcopy_fail_from_any_state_but_cancelling = true;
    return p;
}();

} // namespace

const MigrationPolicy& policy_for(QemuVersion v) {
    switch (v) {
    case QemuVersion::v7_2:
        return v7_2_policy;
    case QemuVersion::v8_0_0:
        return v8_0_0_policy;
    case QemuVersion::v8_1:
        return v8_1_policy;
    case QemuVersion::v9_2:
        return v9_2_policy;
    case QemuVersion::v10_0_dev:
        return v10_0_dev_policy;
    case QemuVersion::v10_0:
        return v10_0_policy;
    case QemuVersion::v10_2:
        return v10_2_policy;
    }
    return v10_2_policy;
}

} // namespace handoff::impl
