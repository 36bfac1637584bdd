// The seed scenario (domain reference, section 4; RHBZ 2058982), driven step by step.
#include "handoff/model/explore.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

namespace handoff::model::testing {
namespace {

constexpr int A = 0; // node A (inactivated first in bdrv_next order)
constexpr int B = 1; // node B (its inactivation fails)

int node_of(const Interpreter& i, const State& s, int host, int n) {
    return i.get(s, Var::node, host, n);
}
constexpr int ACTIVE = static_cast<int>(NodeState::ACTIVE);
constexpr int INACTIVE = static_cast<int>(NodeState::INACTIVE);

// Steps 1-10 of the seed: NFS goes away, inactivation fails at B after A was inactivated, the
// destination's load fails, and the source resumes.
State first_migration_fails(const Interpreter& i, State s) {
    s = step(i, s, "storage_lost");
    s = step(i, s, "qmp_migrate", {{Param::host, host0}});
    s = step(i, s, "migration_thread_setup", {{Param::host, host0}});
    s = step(i, s, "migration_completion_begin", {{Param::host, host0}});
    s = step(i, s, "migration_completion_save", {{Param::host, host0}, {Param::fail, B}});
    EXPECT_EQ(node_of(i, s, host0, A), INACTIVE);
    EXPECT_EQ(node_of(i, s, host0, B), ACTIVE);
    return s;
}

TEST(SeedScenario, V8_0_0_ResumesWithAnInactiveNodeThenAssertsOnTheSecondMigration) {
    const Interpreter i(*find_version("v8.0.0"), fixed_instance(2));
    State s = first_migration_fails(i, initial_state(i));
    EXPECT_EQ(i.get(s, Var::block_inactive, host0), 0) << "8.0 sets block_inactive only on success";
    s = step(i, s, "migration_completion_fail", {{Param::host, host0}});
    EXPECT_EQ(i.get(s, Var::mig, host0), static_cast<int>(MigStatus::FAILED));
    s = step(i, s, "incoming_load_fails", {{Param::host, host1}});
    EXPECT_EQ(i.get(s, Var::alive, host1), 0);
    s = step(i, s, "migration_iteration_finish_resume", {{Param::host, host0}});
    // Step 10: the guest runs on the source while node A is inactive.
    EXPECT_EQ(i.get(s, Var::runstate, host0), static_cast<int>(RunState::RUNNING));
    EXPECT_EQ(node_of(i, s, host0, A), INACTIVE);
    EXPECT_EQ(i.get(s, Var::started_inactive, host0), 1);
    const InvariantData& running = *find_invariant("running-implies-active");
    EXPECT_FALSE(holds(i, running, s));

    // Step 12b: the NFS server is back and management migrates again to a fresh destination.
    s = step(i, s, "storage_restored");
    s = step(i, s, "start_destination", {{Param::host, host1}});
    s = step(i, s, "qmp_migrate", {{Param::host, host0}});
    s = step(i, s, "migration_thread_setup", {{Param::host, host0}});
    s = step(i, s, "migration_completion_begin", {{Param::host, host0}});
    s = step(i, s, "migration_completion_save", {{Param::host, host0}});
    EXPECT_EQ(i.get(s, Var::crash), static_cast<int>(Crash::DOUBLE_INACTIVATE));
    EXPECT_EQ(i.get(s, Var::crash_host), host0);
}

TEST(SeedScenario, V8_1_FailLabelReactivatesSoTheSourceResumesWithEveryNodeActive) {
    const Interpreter i(*find_version("v8.1"), fixed_instance(2));
    State s = first_migration_fails(i, initial_state(i));
    EXPECT_EQ(i.get(s, Var::block_inactive, host0), 1) << "403d18ae: set before the attempt";
    // The storage is still away: bdrv_activate_all() must fail at A, whose qcow2 re-open reads
    // the header ...
    EXPECT_TRUE(enabled(i, s, "migration_completion_fail", {{Param::host, host0}, {Param::fail, A}}));
    EXPECT_FALSE(enabled(i, s, "migration_completion_fail", {{Param::host, host0}}));
    // ... and with the storage back it must succeed.
    s = step(i, s, "storage_restored");
    EXPECT_FALSE(enabled(i, s, "migration_completion_fail", {{Param::host, host0}, {Param::fail, A}}));
    s = step(i, s, "migration_completion_fail", {{Param::host, host0}});
    EXPECT_EQ(node_of(i, s, host0, A), ACTIVE);
    EXPECT_EQ(i.get(s, Var::block_inactive, host0), 0);
    s = step(i, s, "incoming_load_fails", {{Param::host, host1}});
    s = step(i, s, "migration_iteration_finish_resume", {{Param::host, host0}});
    EXPECT_EQ(i.get(s, Var::runstate, host0), static_cast<int>(RunState::RUNNING));
    EXPECT_EQ(i.get(s, Var::started_inactive, host0), 0);
    s = step(i, s, "start_destination", {{Param::host, host1}});
    s = step(i, s, "qmp_migrate", {{Param::host, host0}});
    s = step(i, s, "migration_thread_setup", {{Param::host, host0}});
    s = step(i, s, "migration_completion_begin", {{Param::host, host0}});
    s = step(i, s, "migration_completion_save", {{Param::host, host0}});
    EXPECT_EQ(i.get(s, Var::crash), static_cast<int>(Crash::NONE));
}

TEST(SeedScenario, V8_1_ReactivationWhileStorageIsAwayKeepsTheFlagAndTheGuestResumesAnyway) {
    // 6dab4c93 re-activates, but if that fails too the guest is still resumed: the checker's
    // business to judge; here we pin the table's reading of migration_iteration_finish().
    const Interpreter i(*find_version("v8.1"), fixed_instance(2));
    State s = first_migration_fails(i, initial_state(i));
    s = step(i, s, "migration_completion_fail", {{Param::host, host0}, {Param::fail, A}});
    EXPECT_EQ(node_of(i, s, host0, A), INACTIVE);
    EXPECT_EQ(i.get(s, Var::block_inactive, host0), 1);
    s = step(i, s, "incoming_load_fails", {{Param::host, host1}});
    s = step(i, s, "migration_iteration_finish_resume", {{Param::host, host0}});
    EXPECT_EQ(i.get(s, Var::runstate, host0), static_cast<int>(RunState::RUNNING));
    EXPECT_EQ(i.get(s, Var::started_inactive, host0), 1);
}

TEST(SeedScenario, ExploreFindsItAsAShortestTraceOnV8_0_0) {
    const Interpreter i(*find_version("v8.0.0"), fixed_instance(2));
    const Exploration e = explore(i, {find_invariant("no-vm-start-while-inactive")});
    ASSERT_TRUE(e.complete);
    ASSERT_EQ(e.verdicts.size(), 1u);
    ASSERT_TRUE(e.verdicts[0].violated);
    std::vector<std::string> rows;
    for (const auto& ts : e.verdicts[0].trace->steps) {
        rows.emplace_back(i.table().rows[static_cast<std::size_t>(ts.step.row)].name);
    }
    // The seed's story: storage gone, partial inactivation, fail without reactivation, vm_start.
    const std::vector<std::string> expected{
        "storage_lost",          "qmp_migrate",         "migration_thread_setup",
        "migration_completion_begin", "migration_completion_save", "migration_completion_fail",
        "migration_iteration_finish_resume"};
    EXPECT_EQ(rows, expected) << format_trace(i, *e.verdicts[0].trace);
}

} // namespace
} // namespace handoff::model::testing
