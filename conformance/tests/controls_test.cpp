// The controls table (controls.cpp) against the model's tables and the replay's binaries, and the
// checker's search restricted to it (`handoff check --controllable`): no QEMU runs here.
#include "handoff/conformance/binaries.hpp"
#include "handoff/conformance/controls.hpp"
#include "handoff/model/invariants.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proofs/engines.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <set>
#include <unordered_map>

namespace handoff::conformance {
namespace {

namespace m = handoff::model;
namespace p = handoff::proofs;

const m::TableData& table(std::string_view version) {
    const m::TableData* t = m::find_version(version);
    EXPECT_NE(t, nullptr) << version;
    return *t;
}

const m::InvariantData& invariant(std::string_view name) {
    const m::InvariantData* inv = m::find_invariant(name);
    EXPECT_NE(inv, nullptr) << name;
    return *inv;
}

// Every row of every table with a real QEMU here (binary_controls_for) has a decision, and the
// table names no row that does not exist: a row added to such a table must be classified before a
// trace can use it. A version without a real QEMU needs none (`replay-qemu --qemu DIR` says of
// an unclassified row that the harness cannot drive it), so that modelling a patch takes no entry
// here (docs/howto-patch.md).
TEST(Controls, EveryRowOfEveryTableWithABinaryHasAnEntry) {
    std::set<std::string_view> rows;
    for (const m::TableData* t : m::all_versions()) {
        for (const m::RowData& row : t->rows) {
            rows.insert(row.name);
            if (binary_controls_for(t->version) == nullptr) {
                continue;
            }
            const RowControl* c = row_control(row.name);
            ASSERT_NE(c, nullptr) << row.name << " (" << t->version << ")";
            // The replay's segments: QEMU's own steps are the migration thread's and the
            // destination's rows, whatever their control.
            const bool own = row.actor == m::Actor::thread || row.actor == m::Actor::incoming;
            EXPECT_EQ(c->side == Side::qemu, own) << row.name;
            EXPECT_EQ(c->control == Control::by_qemu, own && c->control != Control::none)
                << row.name;
            if (c->control == Control::none) {
                EXPECT_FALSE(why_no_control(row.name).empty()) << row.name;
            }
        }
    }
    for (const RowControl& c : row_controls()) {
        EXPECT_EQ(rows.count(c.row), 1u) << c.row << " is not a row of any table";
    }
}

// The versions with controls are the versions with a real binary here.
TEST(Controls, OneEntryPerKnownBinary) {
    std::set<std::string_view> with_binary, with_controls;
    for (const KnownBinary& b : known_binaries()) {
        with_binary.insert(b.model_version);
    }
    for (const BinaryControls& b : binary_controls()) {
        with_controls.insert(b.version);
        const m::StepRestriction r = controllable(table(b.version));
        EXPECT_EQ(r.row_allowed.size(), table(b.version).rows.size());
    }
    EXPECT_EQ(with_binary, with_controls);
    EXPECT_THROW(controllable(table("v8.1")), NoControls);
}

// The replay's "needs QEMU held where it does not stop" comes from the same expressions: the
// migration thread between two BQL sections is not a place QEMU stops, the post-EOF window
// (held by the relay) is.
TEST(Controls, WhereQemuStops) {
    const m::TableData& t = table("v7.2");
    m::Instance inst(1);
    inst.fixed[static_cast<int>(m::Var::cap_pause_before_switchover)] = 0;
    inst.fixed[static_cast<int>(m::Var::cap_postcopy)] = 0;
    const m::Interpreter interp(t, inst);
    auto step = [&](const m::State& s, std::string_view row, int host = 0) {
        m::Step st;
        for (std::size_t r = 0; r < t.rows.size(); ++r) {
            if (t.rows[r].name == row) {
                st.row = static_cast<int>(r);
            }
        }
        for (int q = 0; q < m::kParamCount; ++q) {
            st.params[static_cast<std::size_t>(q)] = interp.param_default(static_cast<m::Param>(q));
        }
        st.params[static_cast<std::size_t>(m::Param::host)] = host;
        auto next = interp.apply(s, st);
        EXPECT_TRUE(next.has_value()) << row;
        return next.value_or(s);
    };
    const m::State s0 = interp.initial_states().front();
    EXPECT_EQ(where_qemu_does_not_stop(interp, s0), "");
    const m::State s1 = step(s0, "qmp_migrate");
    EXPECT_EQ(where_qemu_does_not_stop(interp, s1), "host 0's migration thread at SETUP (SETUP)");
    const m::State s2 = step(step(step(s1, "migration_thread_setup"), "migration_completion_begin"),
                             "migration_completion_save");
    EXPECT_EQ(where_qemu_does_not_stop(interp, s2), "");
    const m::State s3 = step(s2, "incoming_load_ok", 1);
    EXPECT_EQ(where_qemu_does_not_stop(interp, s3), "host 0's migration thread at COMPLETION_SAVED "
                                                    "(ACTIVE)");
    // Cancelled in the post-EOF window: the source ends its migration, and its destination,
    // still loading, may fail the load by itself. The replay acts there; the checker does not.
    const m::State s4 =
        step(step(step(s2, "qmp_migrate_cancel"), "migration_completion_checks_fail"),
             "migration_iteration_finish_resume");
    EXPECT_EQ(where_qemu_does_not_stop(interp, s4), "host 1's incoming migration LOADING");
    EXPECT_EQ(where_the_replay_cannot_act(interp, s4), "");
    EXPECT_EQ(where_the_replay_cannot_act(interp, s1),
              "host 0's migration thread at SETUP (SETUP)");
}

// On v7.2 at N = 1 the shortest counterexample of no-vm-start-while-inactive goes through
// postcopy, which the harness does not drive; the restricted search finds a longer one, every
// step of which the controls table allows (checked here row by row on the interpreter, not
// through the encoding that found it).
TEST(Controllable, FindsALongerTraceWhereTheShortestIsNotDrivable) {
    const m::TableData& t = table("v7.2");
    const m::Instance inst(1);
    const m::InvariantData& inv = invariant("no-vm-start-while-inactive");
    z3::context ctx;
    const p::Lowering low(ctx, t, inst);
    const p::Result shortest = p::run_bmc(low, inv, p::EngineLimits{});
    ASSERT_EQ(shortest.verdict, p::Verdict::violated) << shortest.detail;
    const m::StepRestriction r = controllable(t);
    const m::Interpreter& interp = low.interp();
    EXPECT_TRUE(p::restriction_error(interp, r, *shortest.trace).has_value())
        << "the unrestricted shortest trace is drivable: the test needs another pair";

    p::EngineLimits lim;
    lim.max_depth = 12;
    lim.restriction = &r;
    const p::Result found = p::run_bmc(low, inv, lim);
    ASSERT_EQ(found.verdict, p::Verdict::violated) << found.detail;
    EXPECT_FALSE(found.bug);
    EXPECT_EQ(found.restriction, r.name);
    const m::Trace& trace = *found.trace;
    EXPECT_GT(trace.steps.size(), shortest.trace->steps.size());
    EXPECT_FALSE(p::replay_error(interp, inv, trace).has_value());
    EXPECT_EQ(interp.get(trace.initial, m::Var::cap_postcopy), 0);
    m::State pre = trace.initial;
    for (const m::TraceStep& ts : trace.steps) {
        const m::RowData& row = t.rows[static_cast<std::size_t>(ts.step.row)];
        const RowControl* c = row_control(row.name);
        ASSERT_NE(c, nullptr) << row.name;
        EXPECT_NE(c->control, Control::none) << row.name;
        if (c->side == Side::harness) {
            EXPECT_EQ(where_qemu_does_not_stop(interp, pre), "") << row.name;
        }
        EXPECT_TRUE(r.allows(interp, pre, ts.step)) << row.name;
        pre = ts.state;
    }
    EXPECT_EQ(where_qemu_does_not_stop(interp, pre), "");
}

// The shortest restricted path found by BMC (through the Z3 lowering of the restriction) has the
// length of the shortest one a breadth-first search over the interpreter finds (through
// StepRestriction::allows), for every state invariant of both controlled versions at N = 1: the
// encoding neither lets through a step the table forbids nor forbids one it allows.
TEST(Controllable, BmcAgreesWithABreadthFirstSearchOverTheSameControls) {
    for (const BinaryControls& b : binary_controls()) {
        const m::TableData& t = table(b.version);
        const m::Instance inst(1);
        const m::StepRestriction r = controllable(t);
        z3::context ctx;
        const p::Lowering low(ctx, t, inst);
        const m::Interpreter& interp = low.interp();
        // Shortest restricted distance to a state where a path may end, per invariant it
        // violates (BFS over allowed steps, every parameter choice tried).
        constexpr int kDepth = 14;
        std::unordered_map<std::string, int> first; // invariant -> depth
        std::unordered_map<m::State, int> depth;
        std::deque<m::State> queue;
        for (const m::State& s : interp.initial_states()) {
            if (r.initial_ok(interp, s) && depth.emplace(s, 0).second) {
                queue.push_back(s);
            }
        }
        while (!queue.empty()) {
            const m::State s = queue.front();
            queue.pop_front();
            const int d = depth.at(s);
            if (r.last_ok(interp, s)) {
                for (const auto& inv : m::all_invariants()) {
                    if (inv.applies_to(t.version) && inv.kind == m::InvariantKind::StatePredicate &&
                        !m::holds(interp, inv, s)) {
                        first.emplace(std::string(inv.name), d);
                    }
                }
            }
            if (d == kDepth) {
                continue;
            }
            m::allowed_successors(interp, r, s, [&](const m::Step&, const m::State& next) {
                if (depth.emplace(next, d + 1).second) {
                    queue.push_back(next);
                }
            });
        }
        std::vector<const m::InvariantData*> invs;
        for (const auto& inv : m::all_invariants()) {
            if (inv.applies_to(t.version) && inv.kind == m::InvariantKind::StatePredicate) {
                invs.push_back(&inv);
            }
        }
        p::EngineLimits lim;
        lim.max_depth = kDepth;
        lim.restriction = &r;
        const std::vector<p::Result> results = p::run_bmc_all(low, invs, lim);
        int violated = 0;
        for (std::size_t i = 0; i < invs.size(); ++i) {
            const std::string name(invs[i]->name);
            const p::Result& res = results[i];
            EXPECT_FALSE(res.bug) << b.version << " " << name << ": " << res.detail;
            if (first.count(name) == 0) {
                EXPECT_EQ(res.verdict, p::Verdict::bounded) << b.version << " " << name;
                EXPECT_EQ(res.depth, kDepth);
                continue;
            }
            ++violated;
            ASSERT_EQ(res.verdict, p::Verdict::violated) << b.version << " " << name;
            EXPECT_EQ(static_cast<int>(res.trace->steps.size()), first.at(name))
                << b.version << " " << name;
            EXPECT_FALSE(p::restriction_error(interp, r, *res.trace).has_value());
        }
        EXPECT_GT(violated, 0) << b.version;
    }
}

// Within a depth too small for any controllable trace, the answer is a bound, not a proof, for a
// state invariant (BMC) and for recoverable (the restricted recovery search).
TEST(Controllable, NoneWithinASmallDepthIsABound) {
    const m::TableData& t = table("v7.2");
    const m::Instance inst(1);
    const m::StepRestriction r = controllable(t);
    z3::context ctx;
    const p::Lowering low(ctx, t, inst);
    p::EngineLimits lim;
    lim.max_depth = 4;
    lim.restriction = &r;
    const p::Result bmc = p::run_bmc(low, invariant("no-double-inactivate"), lim);
    EXPECT_EQ(bmc.verdict, p::Verdict::bounded);
    EXPECT_EQ(bmc.depth, 4);
    EXPECT_EQ(bmc.detail, "no controllable counterexample within depth 4");
    const p::Result rec = p::run_recoverable(low.interp(), invariant("recoverable"), lim);
    EXPECT_EQ(rec.verdict, p::Verdict::bounded);
    EXPECT_EQ(rec.depth, 4);
    EXPECT_EQ(rec.detail, "no controllable counterexample within depth 4");
    // Unrestricted, a counterexample of at most that length exists (through postcopy): the bound
    // comes from the controls.
    const p::Result any = p::run_recoverable(low.interp(), invariant("recoverable"), {});
    ASSERT_EQ(any.verdict, p::Verdict::violated) << any.detail;
    EXPECT_LE(any.trace->steps.size(), 4u);
}

} // namespace
} // namespace handoff::conformance
