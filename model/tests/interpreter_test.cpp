// The concrete interpreter: initial states, enabled steps, assumptions, assertions, and a few
// rows whose behaviour differs between versions for reasons the domain reference names.
#include "handoff/model/explore.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <set>

namespace handoff::model::testing {
namespace {

const InvariantData& inv(const char* name) {
    return *find_invariant(name);
}

TEST(Interpreter, InitialStatesCoverEveryCapabilityCombinationAndBothRunStates) {
    const Interpreter all(*find_version("v8.0.0"), Instance(2));
    EXPECT_EQ(all.initial_states().size(), 64u); // 2 run states x 2^5 capabilities
    const Interpreter fixed(*find_version("v8.0.0"), fixed_instance(2));
    EXPECT_EQ(fixed.initial_states().size(), 2u);
}

TEST(Interpreter, InitialStatesSatisfyEveryStateInvariant) {
    for (const TableData* t : all_versions()) {
        const Interpreter i(*t, Instance(2));
        for (const State& s : i.initial_states()) {
            for (const auto& invariant : all_invariants()) {
                if (invariant.kind == InvariantKind::StatePredicate) {
                    EXPECT_TRUE(holds(i, invariant, s)) << t->version << " " << invariant.name;
                }
            }
        }
    }
}

TEST(Interpreter, LayoutGivesEveryVariableItsOwnSlots) {
    const Layout layout(3);
    std::set<int> offsets;
    int slots = 0;
    for (int v = 0; v < kVarCount; ++v) {
        const Var var = static_cast<Var>(v);
        const int hosts = var_info(var).scope == Scope::Global ? 1 : 2;
        const int nodes = var_info(var).scope == Scope::PerNode ? 3 : 1;
        for (int h = 0; h < hosts; ++h) {
            for (int n = 0; n < nodes; ++n) {
                offsets.insert(layout.offset(var, h, n));
                ++slots;
            }
        }
    }
    EXPECT_EQ(static_cast<int>(offsets.size()), slots);
    EXPECT_EQ(layout.size(), slots);
}

TEST(Interpreter, InactivationFailsOnlyWhileTheStorageIsAway) {
    const Interpreter i(*find_version("v8.0.0"), fixed_instance(2));
    State s = initial_state(i);
    s = step(i, s, "qmp_migrate", {{Param::host, host0}});
    s = step(i, s, "migration_thread_setup", {{Param::host, host0}});
    s = step(i, s, "migration_completion_begin", {{Param::host, host0}});
    EXPECT_FALSE(
        enabled(i, s, "migration_completion_save", {{Param::host, host0}, {Param::fail, 0}}));
    EXPECT_TRUE(enabled(i, s, "migration_completion_save", {{Param::host, host0}}));
    s = step(i, s, "storage_lost");
    EXPECT_TRUE(
        enabled(i, s, "migration_completion_save", {{Param::host, host0}, {Param::fail, 0}}));
    // A half-inactivated node needs a failure.
    EXPECT_FALSE(
        enabled(i, s, "migration_completion_save", {{Param::host, host0}, {Param::half, 1}}));
}

// bdrv_activate() (block.c 8.0.5:6599) on a half-inactivated node (flag clear) only runs the
// parents' activate callbacks; when blk_root_activate() fails it sets BDRV_O_INACTIVE.
TEST(Interpreter, AFailedActivationLeavesAHalfInactivatedNodeInactive) {
    const Interpreter i(*find_version("v8.1"), fixed_instance(2));
    State s = step(i, initial_state(i), "storage_lost");
    s = step(i, s, "qmp_migrate", {{Param::host, host0}});
    s = step(i, s, "migration_thread_setup", {{Param::host, host0}});
    s = step(i, s, "migration_completion_begin", {{Param::host, host0}});
    s = step(i, s, "migration_completion_save",
             {{Param::host, host0}, {Param::fail, 0}, {Param::half, 1}});
    EXPECT_EQ(i.get(s, Var::node, host0, 0), static_cast<int>(NodeState::HALF_INACTIVE));
    // No qcow2 re-open runs on it, so it cannot end without a driver.
    EXPECT_FALSE(enabled(i, s, "migration_completion_fail",
                         {{Param::host, host0}, {Param::fail, 0}, {Param::broken, 1}}));
    const State failed =
        step(i, s, "migration_completion_fail", {{Param::host, host0}, {Param::fail, 0}});
    EXPECT_EQ(i.get(failed, Var::node, host0, 0), static_cast<int>(NodeState::INACTIVE));
    // Its activation does not read the image: it may succeed while the storage is away.
    const State activated = step(i, s, "migration_completion_fail", {{Param::host, host0}});
    EXPECT_EQ(i.get(activated, Var::node, host0, 0), static_cast<int>(NodeState::ACTIVE));
}

// An INACTIVE node's activation re-opens its qcow2 image (bdrv_invalidate_cache() ->
// qcow2_co_invalidate_cache() -> qcow2_do_open() reads the header): not while the storage is away.
TEST(Interpreter, AnInactiveNodeIsNotActivatedWhileTheStorageIsAway) {
    // The incoming destination's nodes are INACTIVE; `cont` activates them before 10.0, and
    // blockdev-set-active does from 10.0.
    for (const auto& [version, row] :
         {std::pair{"v8.0.0", "qmp_cont"}, std::pair{"v10.2", "blockdev_set_active_all"}}) {
        const Interpreter i(*find_version(version), fixed_instance(2));
        State s = step(i, initial_state(i), "storage_lost");
        EXPECT_FALSE(enabled(i, s, row, {{Param::host, host1}})) << version;
        EXPECT_TRUE(enabled(i, s, row, {{Param::host, host1}, {Param::fail, 0}})) << version;
        EXPECT_FALSE(enabled(i, s, row, {{Param::host, host1}, {Param::fail, 1}}))
            << version << ": node 0 would have been re-opened";
        s = step(i, s, "storage_restored");
        EXPECT_TRUE(enabled(i, s, row, {{Param::host, host1}})) << version;
    }
}

TEST(Interpreter, ACrashEndsTheRun) {
    const Interpreter i(*find_version("v8.0.0"), fixed_instance(1));
    State s = initial_state(i);
    s = step(i, s, "qmp_migrate", {{Param::host, host0}});
    s = step(i, s, "migration_thread_setup", {{Param::host, host0}});
    s = step(i, s, "migration_completion_begin", {{Param::host, host0}});
    s = step(i, s, "migration_completion_save", {{Param::host, host0}});
    // The destination exits; the source re-activates in fail_invalidate, resumes, and a guest
    // write to a node must then find it active: here it is, so no crash.
    s = step(i, s, "incoming_load_error", {{Param::host, host1}});
    s = step(i, s, "migration_completion_fail_invalidate", {{Param::host, host0}});
    s = step(i, s, "migration_iteration_finish_resume", {{Param::host, host0}});
    s = step(i, s, "guest_write", {{Param::host, host0}, {Param::target, 0}});
    EXPECT_EQ(i.get(s, Var::crash), static_cast<int>(Crash::NONE));
    // Inactivate behind the guest's back through a postcopy-less second migration that fails...
    State crashed = s;
    i.put(crashed, Var::node, host0, 0, static_cast<int>(NodeState::INACTIVE));
    crashed = step(i, crashed, "guest_write", {{Param::host, host0}, {Param::target, 0}});
    EXPECT_EQ(i.get(crashed, Var::crash), static_cast<int>(Crash::WRITE_TO_INACTIVE));
    int successors = 0;
    i.successors(crashed, [&](const Step&, const State&) { ++successors; });
    EXPECT_EQ(successors, 0);
}

TEST(Interpreter, ContOnAnIncomingDestinationActivatesBefore10_0ButNotAfter) {
    // e4e5e89b "qmp/cont: Only activate disks if migration completed".
    for (const char* version : {"v8.0.0", "v9.2"}) {
        const Interpreter i(*find_version(version), fixed_instance(2));
        State s = step(i, initial_state(i), "qmp_cont", {{Param::host, host1}});
        EXPECT_EQ(i.get(s, Var::node, host1, 0), static_cast<int>(NodeState::ACTIVE)) << version;
        EXPECT_FALSE(holds(i, inv("single-owner"), s)) << version;
    }
    for (const char* version : {"v10.0-dev", "v10.0", "v10.2"}) {
        const Interpreter i(*find_version(version), fixed_instance(2));
        State s = step(i, initial_state(i), "qmp_cont", {{Param::host, host1}});
        EXPECT_EQ(i.get(s, Var::node, host1, 0), static_cast<int>(NodeState::INACTIVE)) << version;
        EXPECT_EQ(i.get(s, Var::autostart, host1), 1) << version;
    }
}

TEST(Interpreter, ImageLockingMakesContOnTheDestinationFail) {
    const Interpreter i(*find_version("v8.0.0"),
                        fixed_instance(2, false, false, false, true, true));
    const State s = initial_state(i);
    EXPECT_FALSE(enabled(i, s, "qmp_cont", {{Param::host, host1}}));
    EXPECT_TRUE(enabled(i, s, "qmp_cont", {{Param::host, host1}, {Param::fail, 0}}));
}

// GitLab #2395: migrate a paused VM host 0 -> host 1 with late-block-activate, then from host 1
// to a fresh destination on host 0, without `cont` in between.
State paused_vm_migrated_twice(const Interpreter& i) {
    State s = initial_state(i, /*running=*/false);
    s = step(i, s, "qmp_migrate", {{Param::host, host0}});
    s = step(i, s, "migration_thread_setup", {{Param::host, host0}});
    s = step(i, s, "migration_completion_begin", {{Param::host, host0}});
    s = step(i, s, "migration_completion_save", {{Param::host, host0}});
    s = step(i, s, "incoming_load_ok", {{Param::host, host1}});
    s = step(i, s, "process_incoming_migration_bh", {{Param::host, host1}});
    EXPECT_EQ(i.get(s, Var::runstate, host1), static_cast<int>(RunState::PAUSED));
    EXPECT_EQ(i.get(s, Var::node, host1, 0), static_cast<int>(NodeState::INACTIVE));
    const bool ends_end = enabled(i, s, "migration_completion_done", {{Param::host, host0}});
    s = step(i, s, ends_end ? "migration_completion_done" : "migration_completion_checks_pass",
             {{Param::host, host0}});
    if (!ends_end) {
        s = step(i, s, "migration_completion_end", {{Param::host, host0}});
    }
    s = step(i, s, "migration_iteration_finish_completed", {{Param::host, host0}});
    s = step(i, s, "quit_after_handover", {{Param::host, host0}});
    s = step(i, s, "start_destination", {{Param::host, host0}});
    s = step(i, s, "qmp_migrate", {{Param::host, host1}});
    s = step(i, s, "migration_thread_setup", {{Param::host, host1}});
    s = step(i, s, "migration_completion_begin", {{Param::host, host1}});
    s = step(i, s, "migration_completion_save", {{Param::host, host1}});
    return s;
}

TEST(GitLab2395, PausedVmMigratedTwiceAssertsBefore10_0) {
    for (const char* version : {"v8.0.0", "v8.1", "v9.2"}) {
        const Interpreter i(*find_version(version),
                            fixed_instance(1, /*late_block_activate=*/true));
        const State s = paused_vm_migrated_twice(i);
        EXPECT_EQ(i.get(s, Var::crash), static_cast<int>(Crash::DOUBLE_INACTIVATE)) << version;
        EXPECT_EQ(i.get(s, Var::crash_host), host1) << version;
    }
}

TEST(GitLab2395, PausedVmMigratedTwiceCompletesFrom10_0) {
    for (const char* version : {"v10.0-dev", "v10.0", "v10.2"}) {
        const Interpreter i(*find_version(version),
                            fixed_instance(1, /*late_block_activate=*/true));
        const State s = paused_vm_migrated_twice(i);
        EXPECT_EQ(i.get(s, Var::crash), static_cast<int>(Crash::NONE)) << version;
        EXPECT_EQ(i.get(s, Var::pc, host1), static_cast<int>(ThreadPc::COMPLETION_SAVED))
            << version;
    }
}

} // namespace
} // namespace handoff::model::testing
