// QEMU v10.2 (10.2.0): QEMU 10.0.2 (the table v10.0) plus what 10.1 and 10.2 changed on this path:
// Peter Xu's 26f65c01 "migration: Do not try to start VM if disk activation fails" (the source
// stays in FINISH_MIGRATE for management to decide) and Juraj Marcin's 725a9e5f78 "migration: Fix
// state transition in postcopy_start() error handling" (`fail:` moves ACTIVE or DEVICE to FAILED;
// it reached stable-10.0 in 10.0.5, after Debian's 10.0.2). Read from migration.c 10.2 (:2728
// postcopy_start, :3551 migration_iteration_finish). The rows inherited from v10.0 cite 10.0.2's
// lines; the domain reference (section 6.3) gives 10.2's for the same code.
#pragma once

#include "handoff/model/tables/v10_0.hpp"

namespace handoff::model::tables {

namespace v10_2 {

using v10_0::inactivate_then_activate;
using v10_0::postcopy_stop;

inline constexpr auto migration_iteration_finish_resume = row<"migration_iteration_finish_resume">(
    Actor::thread, with_params<P::host, P::fail, P::broken>{},
    "After a failed or cancelled migration, migration_block_activate(): if it fails the guest is "
    "not started and the source stays in FINISH_MIGRATE for management to decide; otherwise a "
    "guest that was running is started again (unless it shut down).",
    "migration_iteration_finish() (migration.c:3551, v10.2; Peter Xu's 26f65c01, \"migration: "
    "Do not try to start VM if disk activation fails\")",
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
        "migration_iteration_finish() (migration.c:3551, v10.2; 26f65c01)",
        alive(h) && pc(h) == PC::FINISH &&
            (mig(h) == MS::FAILED || mig(h) == MS::CANCELLED || mig(h) == MS::CANCELLING) &&
            vm_old_state(h) != RS::RUNNING,
        effect(bdrv_activate_all(h, fail, broken),
               when(no_activation_error(h, fail) && runstate(h) == RS::FINISH_MIGRATE,
                    runstate_set(h, vm_old_state(h))),
               migrate_fd_cleanup(h)));

// postcopy_start()'s `fail:` in 10.2 (725a9e5f78): `if (ms->state != MIGRATION_STATUS_CANCELLING)
// migrate_set_state(&ms->state, ms->state, MIGRATION_STATUS_FAILED);`, then
// migration_block_activate(NULL) unconditionally. The error the caller records is not modelled
// here: the migration has ended, and the next migrate_init() clears it.
inline constexpr auto postcopy_start_fails = row<"postcopy_start_fails">(
    Actor::thread,
    with_params<P::host, P::flush_fails, P::fail, P::half, P::reactivate_fail, P::broken>{},
    "postcopy_start() fails in migration_stop_vm()'s flush or in bdrv_inactivate_all() (at node "
    "`fail`): `fail:` moves the state to FAILED unless it is CANCELLING, and "
    "migration_block_activate() re-activates unconditionally.",
    "postcopy_start() fail: (migration.c:2728, v10.2; 725a9e5f78)", postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(flush_fails || !inactivation_ok(h)),
           inactivate_then_activate(h), set(file_error(h), true),
           set(mig(h), ite(mig(h) == MS::CANCELLING, MS::CANCELLING, MS::FAILED))));

inline constexpr auto postcopy_start_package_fails = row<"postcopy_start_package_fails">(
    Actor::fault, with_params<P::host, P::reactivate_fail, P::broken>{},
    "postcopy_start() inactivated every node, then building or sending the package fails (before "
    "or after the last point of recovery): `fail:` moves the state to FAILED unless it is "
    "CANCELLING and re-activates unconditionally.",
    "postcopy_start() fail_closefb/fail (migration.c:2728, v10.2; 725a9e5f78)",
    postcopy_start_guard(h),
    effect(postcopy_stop(h), assume(!flush_fails), assume(forall(n, node(h, n) != NS::BROKEN)),
           inactivate_then_activate(h), set(file_error(h), true),
           set(mig(h), ite(mig(h) == MS::CANCELLING, MS::CANCELLING, MS::FAILED))));

inline constexpr auto r1 =
    replace_row<"migration_iteration_finish_resume">(v10_0_rows, migration_iteration_finish_resume);
inline constexpr auto r2 =
    replace_row<"migration_iteration_finish_stopped">(r1, migration_iteration_finish_stopped);
inline constexpr auto r3 = replace_row<"postcopy_start_fails">(r2, postcopy_start_fails);
inline constexpr auto rows =
    replace_row<"postcopy_start_package_fails">(r3, postcopy_start_package_fails);

} // namespace v10_2

inline constexpr auto v10_2_rows = v10_2::rows;
static_assert(validate_table<v10_2_rows>());

} // namespace handoff::model::tables
