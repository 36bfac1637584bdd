// The interpreter's fast path (the table specialised per instance, model/src/compiled.hpp) against
// the general evaluator it replaces in the explorer: the same enabled steps with the same
// successors, the same refusals and the same invariant values, on the states a breadth-first
// search and random walks reach in every version, on flat and chain graphs, under both profiles.
#include "handoff/model/explore.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <set>

namespace handoff::model::testing {
namespace {

using Successors = std::vector<std::pair<Step, State>>;

Successors fast_successors(const Interpreter& i, const State& s) {
    Successors out;
    i.successors(s, [&](const Step& step, const State& next) { out.emplace_back(step, next); });
    return out;
}

Successors reference_successors(const Interpreter& i, const State& s) {
    Successors out;
    i.successors_by_ast(s,
                        [&](const Step& step, const State& next) { out.emplace_back(step, next); });
    return out;
}

bool same(const Successors& a, const Successors& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (a[k].first.row != b[k].first.row || a[k].first.params != b[k].first.params ||
            a[k].second != b[k].second) {
            return false;
        }
    }
    return true;
}

// Compares everything the fast path computes at `s`; returns the successors.
Successors check_state(const Interpreter& i, const State& s, const std::string& where) {
    const Successors fast = fast_successors(i, s);
    EXPECT_TRUE(same(fast, reference_successors(i, s)))
        << where << ": the successors differ at " << format_initial_state(i, s);
    for (const InvariantData& inv : all_invariants()) {
        if (inv.expr < 0) {
            continue;
        }
        Env env;
        EXPECT_EQ(i.holds(inv, s), i.eval(invariants_ast(), inv.expr, s, env) != 0)
            << where << ": " << inv.name << " at " << format_initial_state(i, s);
    }
    // apply() without an observer takes the fast path, with one the general path; every row on
    // host 0 and 1 with its default outcome, enabled or not.
    const Interpreter::StatementObserver ignore = [](std::size_t, const State&, const Env&) {};
    for (std::size_t r = 0; r < i.table().rows.size(); ++r) {
        for (int host = 0; host < 2; ++host) {
            Step step;
            step.row = static_cast<int>(r);
            for (int p = 0; p < kParamCount; ++p) {
                step.params[static_cast<std::size_t>(p)] = i.param_default(static_cast<Param>(p));
            }
            step.params[static_cast<int>(Param::host)] = host;
            EXPECT_EQ(i.apply(s, step), i.apply(s, step, ignore))
                << where << ": apply " << i.table().rows[r].name << " on host " << host;
        }
    }
    return fast;
}

void check_instance(const TableData& table, const Instance& instance, const std::string& where) {
    const Interpreter i(table, instance);
    constexpr std::size_t kBreadthFirst = 1000;
    std::set<State> seen;
    std::deque<State> queue;
    for (const State& s : i.initial_states()) {
        if (seen.insert(s).second) {
            queue.push_back(s);
        }
    }
    while (!queue.empty() && seen.size() < kBreadthFirst && !::testing::Test::HasFailure()) {
        const State s = queue.front();
        queue.pop_front();
        for (const auto& [step, next] : check_state(i, s, where)) {
            if (seen.insert(next).second) {
                queue.push_back(next);
            }
        }
    }
    // Random walks reach the deep states (second migrations, crashes) breadth-first does not.
    std::mt19937 random(20261207);
    const std::vector<State> initial = i.initial_states();
    for (int walk = 0; walk < 30 && !::testing::Test::HasFailure(); ++walk) {
        State s = initial[random() % initial.size()];
        for (int depth = 0; depth < 50; ++depth) {
            const Successors next = check_state(i, s, where);
            if (next.empty()) {
                break;
            }
            s = next[random() % next.size()].second;
        }
    }
}

TEST(CompiledTable, SameStepsSuccessorsAndInvariantsAsTheGeneralEvaluator) {
    for (const TableData* t : all_versions()) {
        Instance one(1);
        check_instance(*t, one, std::string(t->version) + ", 1 node, any use");
        Instance two(2);
        two.documented_use = true;
        check_instance(*t, two, std::string(t->version) + ", 2 nodes, documented use");
        Instance chain(4);
        chain.graph = GraphShape::chain;
        check_instance(*t, chain, std::string(t->version) + ", chain graph");
    }
}

} // namespace
} // namespace handoff::model::testing
