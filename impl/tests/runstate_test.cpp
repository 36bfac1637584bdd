// The run-state table and runstate_set()'s two ways to abort.
#include "handoff/impl/migration.hpp"
#include "handoff/impl/qemu_abort.hpp"
#include "handoff/impl/runstate.hpp"
#include "test_names.hpp"

#include <gtest/gtest.h>

namespace handoff::impl {
namespace {

const MigrationPolicy& v7_2 = policy_for(QemuVersion::v7_2);
const MigrationPolicy& v8_0 = policy_for(QemuVersion::v8_0_0);
const MigrationPolicy& v8_1 = policy_for(QemuVersion::v8_1);
const MigrationPolicy& v9_2 = policy_for(QemuVersion::v9_2);

// The names are QAPI's (qapi/run-state.json RunState, qapi/migration.json MigrationStatus): what
// query-status and query-migrate report and what impl/'s trace prints, as a maintainer reads them.
TEST(QapiNames, RunStatesAndMigrationStatusesAreSpelledAsQemuReportsThem) {
    const std::pair<RunState, std::string_view> run_states[] = {
        {RunState::debug, "debug"},
        {RunState::inmigrate, "inmigrate"},
        {RunState::internal_error, "internal-error"},
        {RunState::io_error, "io-error"},
        {RunState::paused, "paused"},
        {RunState::postmigrate, "postmigrate"},
        {RunState::prelaunch, "prelaunch"},
        {RunState::finish_migrate, "finish-migrate"},
        {RunState::restore_vm, "restore-vm"},
        {RunState::running, "running"},
        {RunState::save_vm, "save-vm"},
        {RunState::shutdown, "shutdown"},
        {RunState::suspended, "suspended"},
        {RunState::watchdog, "watchdog"},
        {RunState::guest_panicked, "guest-panicked"},
        {RunState::colo, "colo"}};
    for (const auto& [state, name] : run_states) {
        EXPECT_EQ(to_string(state), name);
    }
    const std::pair<MigrationStatus, std::string_view> statuses[] = {
        {MigrationStatus::none, "none"},
        {MigrationStatus::setup, "setup"},
        {MigrationStatus::cancelling, "cancelling"},
        {MigrationStatus::cancelled, "cancelled"},
        {MigrationStatus::active, "active"},
        {MigrationStatus::postcopy_active, "postcopy-active"},
        {MigrationStatus::postcopy_paused, "postcopy-paused"},
        {MigrationStatus::completed, "completed"},
        {MigrationStatus::failed, "failed"},
        {MigrationStatus::colo, "colo"},
        {MigrationStatus::pre_switchover, "pre-switchover"},
        {MigrationStatus::device, "device"}};
    for (const auto& [status, name] : statuses) {
        EXPECT_EQ(to_string(status), name);
    }
}

TEST(RunStateTable, MigrationPathsAreAllowedInEveryVersion) {
    for (QemuVersion v : all_qemu_versions) {
        const MigrationPolicy& p = policy_for(v);
        EXPECT_TRUE(runstate_transition_allowed(p, RunState::running, RunState::finish_migrate));
        EXPECT_TRUE(runstate_transition_allowed(p, RunState::paused, RunState::finish_migrate));
        EXPECT_TRUE(runstate_transition_allowed(p, RunState::finish_migrate, RunState::running));
        EXPECT_TRUE(
            runstate_transition_allowed(p, RunState::finish_migrate, RunState::postmigrate));
        EXPECT_TRUE(runstate_transition_allowed(p, RunState::finish_migrate, RunState::paused));
        EXPECT_TRUE(runstate_transition_allowed(p, RunState::postmigrate, RunState::running));
        EXPECT_TRUE(runstate_transition_allowed(p, RunState::inmigrate, RunState::paused));
        EXPECT_TRUE(runstate_transition_allowed(p, RunState::inmigrate, RunState::running));
        // Never listed.
        EXPECT_FALSE(runstate_transition_allowed(p, RunState::postmigrate, RunState::paused));
        EXPECT_FALSE(runstate_transition_allowed(p, RunState::finish_migrate, RunState::save_vm));
        EXPECT_FALSE(runstate_transition_allowed(p, RunState::shutdown, RunState::running));
        EXPECT_FALSE(runstate_transition_allowed(p, RunState::running, RunState::inmigrate));
    }
}

// 7.2 keeps 8.0's table (as the model's v7.2 table does: these entries came with 8.1).
TEST(RunStateTable, FinishMigrateToErrorStatesArrivedIn8_1) {
    EXPECT_FALSE(runstate_transition_allowed(v7_2, RunState::finish_migrate, RunState::shutdown));
    EXPECT_FALSE(runstate_transition_allowed(v8_0, RunState::finish_migrate, RunState::shutdown));
    EXPECT_FALSE(runstate_transition_allowed(v8_0, RunState::finish_migrate, RunState::io_error));
    EXPECT_TRUE(runstate_transition_allowed(v8_1, RunState::finish_migrate, RunState::shutdown));
    EXPECT_TRUE(runstate_transition_allowed(v8_1, RunState::finish_migrate, RunState::io_error));
}

TEST(RunStateTable, SuspendedTransitionsArrivedIn9_0) {
    EXPECT_FALSE(runstate_transition_allowed(v8_1, RunState::paused, RunState::suspended));
    EXPECT_TRUE(runstate_transition_allowed(v9_2, RunState::paused, RunState::suspended));
    EXPECT_TRUE(runstate_transition_allowed(v9_2, RunState::suspended, RunState::shutdown));
}

TEST(RunStateSet, AnUnlistedTransitionAborts) {
    RunStateMachine rs(v8_1, RunState::postmigrate);
    try {
        rs.runstate_set(RunState::paused);
        FAIL() << "expected abort()";
    } catch (const QemuAbort& e) {
        EXPECT_EQ(e.record().function, "runstate_set");
        EXPECT_EQ(e.record().reason, "invalid runstate transition: 'postmigrate' -> 'paused'");
    }
    EXPECT_EQ(rs.runstate_get(), RunState::postmigrate);
}

TEST(RunStateSet, SettingTheCurrentStateIsANoOpEvenIfUnlisted) {
    RunStateMachine rs(v8_0, RunState::running);
    EXPECT_FALSE(runstate_transition_allowed(v8_0, RunState::running, RunState::running));
    EXPECT_NO_THROW(rs.runstate_set(RunState::running));
}

// migrate_init() leaves vm_old_state at -1, which is UINT_MAX for QAPI's unsigned RunState.
TEST(RunStateSet, MinusOneFailsTheRangeAssertion) {
    RunStateMachine rs(v8_1, RunState::finish_migrate);
    try {
        rs.runstate_set(kRunStateUnset);
        FAIL() << "expected the assertion";
    } catch (const QemuAbort& e) {
        EXPECT_EQ(e.record().reason, "Assertion `new_state < RUN_STATE__MAX' failed.");
    }
}

} // namespace
} // namespace handoff::impl
