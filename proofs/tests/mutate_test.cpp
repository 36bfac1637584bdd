// The reachable-state side of `handoff mutate` (proofs/mutate.hpp): the breadth-first parents give
// shortest paths that the interpreter takes, row_differences() finds where a mutant's row leads
// elsewhere and nothing where it does not, and same_successors() tells a change that only adds a
// step to the same state from one that changes which states follow.
#include "handoff/proofs/mutate.hpp"

#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace handoff::proofs {
namespace {

using namespace handoff::model;

const Mutant& mutant_named(const std::vector<Mutant>& all, const std::string& id) {
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Mutant& m) { return m.id == id; });
    if (it == all.end()) {
        throw std::invalid_argument("no mutant " + id);
    }
    return *it;
}

// One node, no fresh process, documented use, postcopy, pause-before-switchover and
// late-block-activate off: a small instance (about 30,000 states), explored whole.
Instance small_instance() {
    Instance instance(1);
    instance.documented_use = true;
    instance.starts = 0;
    for (const Var cap :
         {Var::cap_postcopy, Var::cap_pause_before_switchover, Var::cap_late_block_activate}) {
        instance.fixed[static_cast<std::size_t>(cap)] = 0;
    }
    return instance;
}

TEST(ReachableStates, EachParentPathIsAShortestPathTheInterpreterTakes) {
    const TableData& table = *find_version("v8.1");
    const Interpreter interp(table, small_instance());
    const ReachableStates reach = reachable_states(interp, 1'000'000);
    ASSERT_TRUE(reach.complete);
    ASSERT_EQ(reach.parent.size(), reach.states.size());
    // Breadth-first: a parent comes before its child, so paths are never longer than the index.
    std::vector<std::size_t> depth(reach.states.size(), 0);
    for (std::size_t i = 0; i < reach.states.size(); ++i) {
        ASSERT_LE(reach.parent[i], i);
        depth[i] = reach.parent[i] == i ? 0 : depth[reach.parent[i]] + 1;
    }
    for (std::size_t i = 0; i < reach.states.size(); i += reach.states.size() / 97 + 1) {
        const Trace path = path_to(interp, reach, i);
        EXPECT_EQ(path.steps.size(), depth[i]);
        State at = path.initial;
        for (const TraceStep& ts : path.steps) {
            const std::optional<State> next = interp.apply(at, ts.step);
            ASSERT_TRUE(next.has_value()) << "state " << i;
            ASSERT_EQ(*next, ts.state) << "state " << i;
            at = ts.state;
        }
        EXPECT_EQ(at, reach.states[i]);
    }
}

TEST(RowDifferences, NoneForTheTableItselfAndOneForADroppedEffect) {
    const TableData& table = *find_version("v8.1");
    const Interpreter interp(table, small_instance());
    const ReachableStates reach = reachable_states(interp, 1'000'000);
    int count = 0;
    row_differences(interp, interp, "qmp_migrate", reach.states, [&](const RowDifference&) {
        ++count;
        return true;
    });
    EXPECT_EQ(count, 0);

    // Without `mig[h] := SETUP`, qmp_migrate leaves the migration where it was: the first
    // difference is the first qmp_migrate, from an initial state.
    const std::vector<Mutant> all = mutants_of(table);
    const TableData m = mutated(table, mutant_named(all, "v8.1/qmp_migrate/effect-drop/6"));
    const Interpreter mi(m, small_instance());
    std::optional<RowDifference> first;
    row_differences(interp, mi, "qmp_migrate", reach.states, [&](const RowDifference& d) {
        first = d;
        return false;
    });
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(reach.parent[first->state], first->state) << "an initial state";
    ASSERT_TRUE(first->table_next && first->mutant_next);
    EXPECT_NE(*first->table_next, *first->mutant_next);
    const int row = first->step.row;
    EXPECT_FALSE(
        same_successors(interp, mi, row, row_choices(interp, row), reach.states[first->state]));
    EXPECT_EQ(row_difference(interp, mi, "qmp_migrate", reach.states),
              describe_difference(interp, *first));
}

TEST(SameSuccessors, AStepToTheSameStateChangesNothing) {
    // storage_lost without its guard `storage_ok` may also happen when the storage is already
    // gone: a step from a state to itself, so the same states follow everywhere.
    const TableData& table = *find_version("v8.1");
    const Interpreter interp(table, small_instance());
    const ReachableStates reach = reachable_states(interp, 1'000'000);
    const std::vector<Mutant> all = mutants_of(table);
    const TableData m = mutated(table, mutant_named(all, "v8.1/storage_lost/guard-drop/0"));
    const Interpreter mi(m, small_instance());
    int differences = 0, other_successors = 0;
    row_differences(interp, mi, "storage_lost", reach.states, [&](const RowDifference& d) {
        ++differences;
        EXPECT_FALSE(d.table_next.has_value());
        EXPECT_EQ(d.mutant_next, reach.states[d.state]);
        if (!same_successors(interp, mi, d.step.row, row_choices(interp, d.step.row),
                             reach.states[d.state])) {
            ++other_successors;
        }
        return true;
    });
    EXPECT_GT(differences, 0);
    EXPECT_EQ(other_successors, 0);
}

} // namespace
} // namespace handoff::proofs
