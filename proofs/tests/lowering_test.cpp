// The Z3 lowering against the interpreter: the same initial states, the same successors, and a
// BMC counterexample that replays.
#include "handoff/proofs/engines.hpp"

#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <set>

namespace handoff::proofs {
namespace {

using namespace handoff::model;

// Every model of the solver's assertions projected on `state`, by blocking each one found.
std::set<State> enumerate(const Lowering& low, z3::solver& solver, const StateVars& state) {
    std::set<State> out;
    while (solver.check() == z3::sat) {
        const State s = low.decode_state(solver.get_model(), state);
        out.insert(s);
        solver.add(!low.is_state(s, state));
    }
    return out;
}

TEST(Lowering, InitialStatesAreTheInterpreters) {
    for (const TableData* table : all_versions()) {
        for (int nodes : {1, 2}) {
            z3::context ctx;
            const Lowering low(ctx, *table, Instance(nodes));
            const StateVars s = low.make_state("");
            const auto expected = low.interp().initial_states();
            z3::solver solver(ctx);
            solver.add(low.init(s));
            const auto got = enumerate(low, solver, s);
            EXPECT_EQ(got, std::set<State>(expected.begin(), expected.end()))
                << table->version << " N=" << nodes;
        }
    }
}

// For the first states of a breadth-first exploration, the successors the transition relation
// allows are exactly the interpreter's.
TEST(Lowering, SuccessorsAreTheInterpreters) {
    for (const TableData* table : all_versions()) {
        for (int nodes : {1, 2}) {
            z3::context ctx;
            const Lowering low(ctx, *table, Instance(nodes));
            const Interpreter& interp = low.interp();
            const StateVars s = low.make_state("");
            const StateVars t = low.make_state("'");
            const StepVars p = low.make_step("");
            z3::solver solver(ctx);
            solver.add(low.trans(s, p, t));
            std::set<State> seen;
            std::deque<State> queue;
            for (const auto& i : interp.initial_states()) {
                if (seen.insert(i).second) {
                    queue.push_back(i);
                }
            }
            int checked = 0;
            while (!queue.empty() && checked < 100) {
                const State cur = queue.front();
                queue.pop_front();
                std::set<State> expected;
                interp.successors(cur, [&](const Step&, const State& next) {
                    expected.insert(next);
                    if (seen.insert(next).second) {
                        queue.push_back(next);
                    }
                });
                solver.push();
                solver.add(low.is_state(cur, s));
                const auto got = enumerate(low, solver, t);
                solver.pop();
                ASSERT_EQ(got, expected)
                    << table->version << " N=" << nodes << " state #" << checked;
                ++checked;
                // Skip ahead so that deeper states are sampled too.
                for (int k = 0; k < 20 && queue.size() > 1; ++k) {
                    queue.push_back(queue.front());
                    queue.pop_front();
                }
            }
            EXPECT_EQ(checked, 100);
        }
    }
}

TEST(Bmc, FindsTheSeedViolationOnV800AndItReplays) {
    const TableData* table = find_version("v8.0.0");
    ASSERT_NE(table, nullptr);
    const InvariantData* inv = find_invariant("no-vm-start-while-inactive");
    ASSERT_NE(inv, nullptr);
    z3::context ctx;
    const Lowering low(ctx, *table, Instance(2));
    const Result r = run_bmc(low, *inv, EngineLimits{});
    ASSERT_EQ(r.verdict, Verdict::violated) << r.detail;
    ASSERT_TRUE(r.trace.has_value());
    EXPECT_FALSE(replay_error(low.interp(), *inv, *r.trace).has_value());
    // The seed's story: the storage goes away, and a vm_start happens with an inactive node.
    std::vector<std::string_view> rows;
    for (const auto& ts : r.trace->steps) {
        rows.push_back(table->rows[static_cast<std::size_t>(ts.step.row)].name);
    }
    EXPECT_NE(std::find(rows.begin(), rows.end(), "storage_lost"), rows.end())
        << format_trace(low.interp(), *r.trace);
    EXPECT_EQ(r.depth, static_cast<int>(r.trace->steps.size()));
}

TEST(Bmc, ATamperedTraceDoesNotReplay) {
    const TableData* table = find_version("v8.0.0");
    const InvariantData* inv = find_invariant("no-vm-start-while-inactive");
    z3::context ctx;
    const Lowering low(ctx, *table, Instance(1));
    Result r = run_bmc(low, *inv, EngineLimits{});
    ASSERT_EQ(r.verdict, Verdict::violated);
    model::Trace bad = *r.trace;
    bad.steps.pop_back();
    EXPECT_TRUE(replay_error(low.interp(), *inv, bad).has_value());
}

} // namespace
} // namespace handoff::proofs
