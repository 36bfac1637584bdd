// The reachable-state side of `handoff mutate` (proofs/mutate.hpp): the breadth-first parents give
// shortest paths that the interpreter takes, row_differences() finds where a mutant's row leads
// elsewhere and nothing where it does not, same_successors() tells a change that only adds a
// step to the same state from one that changes which states follow, and lockstep() follows a
// mutant and the table from where they went apart until an observer can tell them apart.
#include "handoff/proofs/mutate.hpp"

#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

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

// An observer that sees every slot but those of `hidden` (both hosts), and those of `partly`
// only partly.
std::function<Observed(const State&, const State&)> blind_to(const Interpreter& interp,
                                                             const std::vector<Var>& hidden,
                                                             const std::vector<Var>& partly = {}) {
    return [&interp, hidden, partly](const State& a, const State& b) {
        State x = a, y = b;
        for (const Var v : hidden) {
            for (int h = 0; h < 2; ++h) {
                interp.put(x, v, h, 0, 0);
                interp.put(y, v, h, 0, 0);
            }
        }
        if (x == y) {
            return Observed::same;
        }
        for (const Var v : partly) {
            for (int h = 0; h < 2; ++h) {
                interp.put(x, v, h, 0, 0);
                interp.put(y, v, h, 0, 0);
            }
        }
        return x == y ? Observed::partly : Observed::apart;
    };
}

// Where the mutant's row first leads elsewhere than the table's.
RowDifference first_difference(const Interpreter& table, const Interpreter& mutant,
                               const std::string& row, const ReachableStates& reach) {
    std::optional<RowDifference> first;
    row_differences(table, mutant, row, reach.states, [&](const RowDifference& d) {
        first = d;
        return false;
    });
    if (!first) {
        throw std::logic_error("no difference in " + row);
    }
    return *first;
}

// Two steps of one host's migration thread: one command to impl/ (handoff mutate's directed
// replay passes lockstep() the same).
std::function<bool(const Step&, const Step&)> thread_steps_of_one_host(const Interpreter& interp) {
    return [&interp](const Step& a, const Step& b) {
        const auto host = static_cast<std::size_t>(Param::host);
        const auto& rows = interp.table().rows;
        return rows[static_cast<std::size_t>(a.row)].actor == Actor::thread &&
               rows[static_cast<std::size_t>(b.row)].actor == Actor::thread &&
               a.params[host] == b.params[host];
    };
}

// v8.1 at the small instance, explored, and one of its mutants.
struct V81Mutant {
    explicit V81Mutant(const std::string& id)
        : table(*find_version("v8.1")), interp(table, small_instance()),
          reach(reachable_states(interp, 1'000'000)),
          mutant_table(mutated(table, mutant_named(mutants_of(table), id))),
          mutant(mutant_table, small_instance()) {}
    const TableData& table;
    const Interpreter interp;
    const ReachableStates reach;
    const TableData mutant_table;
    const Interpreter mutant;
};

TEST(Lockstep, ADifferenceTheObserverDoesNotSeeIsNeverToldApart) {
    // Without `file_error[h] := true`, migration_stream_error fails the migration all the same:
    // what follows depends on the failed state (s->state), and the next qmp_migrate clears the
    // stream's error.
    const V81Mutant v("v8.1/migration_stream_error/effect-drop/0");
    const Interpreter &interp = v.interp, &mi = v.mutant;
    const ReachableStates& reach = v.reach;
    const auto observer = blind_to(interp, {Var::file_error});
    std::unordered_set<std::string> seen;
    int differences = 0;
    row_differences(
        interp, mi, "migration_stream_error", reach.states, [&](const RowDifference& d) {
            ++differences;
            EXPECT_TRUE(d.table_next && d.mutant_next);
            const LockstepResult r =
                lockstep(interp, mi, d.table_next.value(), d.mutant_next.value(), observer, seen,
                         1'000'000, [](const std::vector<Step>&) { return true; });
            EXPECT_FALSE(r.told_apart);
            EXPECT_FALSE(r.cut);
            return true;
        });
    EXPECT_GT(differences, 0);
    EXPECT_GT(seen.size(), 0u); // the two went on apart for a while

    // An observer that sees every slot tells them apart where they went apart, and a bound on
    // the pairs cuts the search.
    const RowDifference d = first_difference(interp, mi, "migration_stream_error", reach);
    std::unordered_set<std::string> fresh;
    std::vector<std::vector<Step>> offered;
    const LockstepResult at_once = lockstep(
        interp, mi, *d.table_next, *d.mutant_next,
        [](const State& a, const State& b) { return a == b ? Observed::same : Observed::apart; },
        fresh, 1'000'000,
        [&](const std::vector<Step>& steps) {
            offered.push_back(steps);
            return true;
        });
    EXPECT_TRUE(at_once.told_apart);
    ASSERT_EQ(offered.size(), 1u);
    EXPECT_TRUE(offered[0].empty());
    std::unordered_set<std::string> small;
    EXPECT_TRUE(lockstep(interp, mi, *d.table_next, *d.mutant_next, observer, small, 3,
                         [](const std::vector<Step>&) { return true; })
                    .cut);
}

TEST(Lockstep, TheStepsOfferedTellTheTwoApartAndNoShorterPrefixDoes) {
    // Without `mig[h] := SETUP`, qmp_migrate leaves s->state where it was. An observer blind to
    // s->state sees nothing at first; the migration thread, which reads it, tells them apart.
    const V81Mutant v("v8.1/qmp_migrate/effect-drop/6");
    const Interpreter &interp = v.interp, &mi = v.mutant;
    const ReachableStates& reach = v.reach;
    const auto observer = blind_to(interp, {Var::mig});
    const RowDifference d = first_difference(interp, mi, "qmp_migrate", reach);
    ASSERT_TRUE(d.table_next && d.mutant_next);
    ASSERT_EQ(observer(*d.table_next, *d.mutant_next), Observed::same);
    std::unordered_set<std::string> seen;
    std::vector<std::vector<Step>> offered;
    const LockstepResult r = lockstep(interp, mi, *d.table_next, *d.mutant_next, observer, seen,
                                      1'000'000, [&](const std::vector<Step>& steps) {
                                          offered.push_back(steps);
                                          return offered.size() == 3;
                                      });
    EXPECT_TRUE(r.told_apart);
    ASSERT_EQ(offered.size(), 3u);
    std::size_t last_length = 0;
    for (const std::vector<Step>& steps : offered) {
        ASSERT_FALSE(steps.empty());
        EXPECT_GE(steps.size(), last_length); // breadth-first
        last_length = steps.size();
        for (std::size_t k = 0; k <= steps.size(); ++k) {
            State t = *d.table_next, u = *d.mutant_next;
            for (std::size_t i = 0; i < k; ++i) { // a step one refuses leaves it where it is
                t = interp.apply(t, steps[i]).value_or(t);
                u = mi.apply(u, steps[i]).value_or(u);
            }
            EXPECT_EQ(observer(t, u) == Observed::same, k < steps.size())
                << "after " << k << " steps";
        }
    }
}

TEST(Lockstep, APartlySeenDifferenceIsFollowedToWhereItIsToldApartForSure) {
    // The same mutant, for an observer that sees s->state only partly: the first pair is not
    // offered (no replay could tell it apart), the lockstep goes on to where the migration thread
    // tells the two apart for sure.
    const V81Mutant v("v8.1/qmp_migrate/effect-drop/6");
    const Interpreter &interp = v.interp, &mi = v.mutant;
    const ReachableStates& reach = v.reach;
    const auto observer = blind_to(interp, {}, {Var::mig});
    const RowDifference d = first_difference(interp, mi, "qmp_migrate", reach);
    ASSERT_EQ(observer(*d.table_next, *d.mutant_next), Observed::partly);
    std::unordered_set<std::string> seen;
    std::vector<std::vector<Step>> offered;
    const LockstepResult r = lockstep(interp, mi, *d.table_next, *d.mutant_next, observer, seen,
                                      1'000'000, [&](const std::vector<Step>& steps) {
                                          offered.push_back(steps);
                                          return true;
                                      });
    EXPECT_TRUE(r.told_apart);
    EXPECT_FALSE(r.cut);
    ASSERT_EQ(offered.size(), 1u);
    ASSERT_FALSE(offered[0].empty());
    State t = *d.table_next, u = *d.mutant_next;
    for (const Step& st : offered[0]) {
        EXPECT_NE(observer(t, u), Observed::apart);
        t = interp.apply(t, st).value_or(t);
        u = mi.apply(u, st).value_or(u);
    }
    EXPECT_EQ(observer(t, u), Observed::apart);
}

TEST(Lockstep, TwoRowsOfOneThreadReachingOneStateMeetAgain) {
    // pc := COMPLETION_SAVED after a failed inactivation: the stream's error is set all the same,
    // so the mutant's thread takes migration_completion_checks_fail where the table's takes
    // migration_completion_fail, both the `fail:` label, to the same state. An observer blind to
    // the thread's place (and the return path's error, which only the mutant may meet while it
    // waits) tells them apart only by the row: with the thread's rows interchangeable, never.
    const V81Mutant v("v8.1/migration_completion_save/value/11=COMPLETION_SAVED");
    const Interpreter &interp = v.interp, &mi = v.mutant;
    const auto observer = blind_to(interp, {Var::pc, Var::rp_error});
    const auto same_thread_step = thread_steps_of_one_host(interp);
    std::unordered_set<std::string> seen, seen_by_row;
    int differences = 0, told_apart_by_row = 0;
    row_differences(
        interp, mi, "migration_completion_save", v.reach.states, [&](const RowDifference& d) {
            ++differences;
            const LockstepResult r = lockstep(
                interp, mi, d.table_next.value(), d.mutant_next.value(), observer, seen, 1'000'000,
                [](const std::vector<Step>&) { return true; }, same_thread_step);
            EXPECT_FALSE(r.told_apart);
            EXPECT_FALSE(r.cut);
            told_apart_by_row +=
                lockstep(interp, mi, *d.table_next, *d.mutant_next, observer, seen_by_row,
                         1'000'000, [](const std::vector<Step>&) { return true; })
                    .told_apart;
            return true;
        });
    EXPECT_GT(differences, 0);
    EXPECT_GT(told_apart_by_row, 0); // the same steps alone do not meet again

    // Not a licence for any row: an observer that sees the thread's place still tells them
    // apart where the mutant waits at COMPLETION_SAVED.
    const RowDifference d = first_difference(interp, mi, "migration_completion_save", v.reach);
    std::unordered_set<std::string> fresh;
    EXPECT_TRUE(lockstep(
                    interp, mi, *d.table_next, *d.mutant_next, blind_to(interp, {Var::rp_error}),
                    fresh, 1'000'000, [](const std::vector<Step>&) { return true; },
                    same_thread_step)
                    .told_apart);
}

TEST(Lockstep, AThreadThatLoopsOnceMoreCatchesUpWithinOneCommand) {
    // The `fail:` label sending the thread back to ITERATING instead of FINISH: where the
    // migration failed, the mutant's thread leaves the loop (migration_thread_loop_exit) to the
    // table's very state, and then takes the table's next thread step (resuming the guest); the
    // two are one thread step to impl/. Only after a cancel during the completion can the
    // mutant's thread re-enter migration_completion() (migration_completion_not_active), whose
    // `fail:` moves CANCELLING -> FAILED where the table's thread ends CANCELLED.
    const V81Mutant v("v8.1/migration_completion_fail/value/10=ITERATING");
    const Interpreter &interp = v.interp, &mi = v.mutant;
    const auto observer = blind_to(interp, {}, {Var::pc});
    const auto host = static_cast<std::size_t>(Param::host);
    const auto same_thread_step = thread_steps_of_one_host(interp);
    auto row_name = [&](const Step& st) {
        return std::string(interp.table().rows[static_cast<std::size_t>(st.row)].name);
    };
    int failed = 0, cancelled = 0;
    row_differences(
        interp, mi, "migration_completion_fail", v.reach.states, [&](const RowDifference& d) {
            std::vector<std::vector<Step>> offered;
            std::unordered_set<std::string> seen;
            lockstep(
                interp, mi, d.table_next.value(), d.mutant_next.value(), observer, seen, 1'000'000,
                [&](const std::vector<Step>& steps) {
                    offered.push_back(steps);
                    return false;
                },
                same_thread_step);
            const int h = d.step.params[host];
            if (interp.get(*d.table_next, Var::mig, h) != static_cast<int>(MigStatus::CANCELLING)) {
                ++failed;
                EXPECT_TRUE(offered.empty())
                    << offered.size() << " ways to tell them apart offered";
                return true;
            }
            ++cancelled;
            EXPECT_TRUE(std::any_of(offered.begin(), offered.end(), [&](const auto& steps) {
                return !steps.empty() &&
                       row_name(steps.back()) == "migration_completion_not_active";
            }));
            return true;
        });
    EXPECT_GT(failed, 0);
    EXPECT_GT(cancelled, 0);
}

// The explorer's fast path (the table specialised for the instance, model/src/compiled.hpp) is
// held to the general evaluator on the tables (model_tests); a mutant is a table changed at run
// time (a dropped conjunct, a forced parameter, ...), and the directed replay and the oracle both
// step it by the fast path: the two must agree on mutants too.
TEST(MutantTables, TheFastPathAndTheGeneralEvaluatorTakeTheSameSteps) {
    const TableData& table = *find_version("v10.0-dev");
    const std::vector<Mutant> all = mutants_of(table);
    int checked = 0;
    for (std::size_t k = 0; k < all.size(); k += 23) { // a spread of rows and kinds
        const TableData copy = mutated(table, all[k]);
        const Interpreter interp(copy, small_instance());
        const ReachableStates reach = reachable_states(interp, 5'000);
        for (const State& s : reach.states) {
            std::vector<std::pair<std::string, State>> fast, general;
            interp.successors(s, [&](const Step& step, const State& next) {
                fast.emplace_back(step_text(copy, step), next);
            });
            interp.successors_by_ast(s, [&](const Step& step, const State& next) {
                general.emplace_back(step_text(copy, step), next);
            });
            std::sort(fast.begin(), fast.end());
            std::sort(general.begin(), general.end());
            ASSERT_EQ(fast, general) << all[k].id;
        }
        ++checked;
    }
    EXPECT_GT(checked, 50);
}

} // namespace
} // namespace handoff::proofs
