// `handoff trace --fork K`: another shortest counterexample that leaves the first one at step K or
// later. One BMC query at the first trace's length: the prefix is pinned (initial state, steps
// before K), the invariant holds before the last state and fails in it, and the steps from K on
// must not all be the first trace's steps (a blocking clause).
#include "handoff/proofs/artifacts.hpp"
#include "handoff/proofs/trace_io.hpp"

#include "watchdog.hpp"

namespace handoff::proofs {

using namespace handoff::model;

namespace {

// The step variables describe exactly this step: its action (row and host) and the values of the
// parameters the row declares (the others are not read by the row).
z3::expr is_step(const Lowering& low, const StepVars& p, const Step& step) {
    const auto& actions = low.actions();
    const RowData& row = low.interp().table().rows[static_cast<std::size_t>(step.row)];
    // Rows without a host parameter have one action, host 0 (their steps' host is 0 too).
    int action = -1;
    for (std::size_t a = 0; a < actions.size(); ++a) {
        if (actions[a].row == step.row &&
            actions[a].host == step.params[static_cast<std::size_t>(Param::host)]) {
            action = static_cast<int>(a);
        }
    }
    if (action < 0) {
        throw std::logic_error("fork: a step of the first trace has no action");
    }
    z3::expr_vector parts(low.ctx());
    parts.push_back(low.act_is(p, action));
    for (Param q : row.params) {
        if (q == Param::host) {
            continue;
        }
        const Lowering::Code& c = low.param_code(q);
        const int value = step.params[static_cast<std::size_t>(q)];
        for (int j = 0; j < c.width; ++j) {
            const z3::expr bit = p.bits[static_cast<unsigned>(c.first + j)];
            parts.push_back(((value >> j) & 1) != 0 ? bit : !bit);
        }
    }
    return z3::mk_and(parts);
}

} // namespace

Fork fork_counterexample(const Lowering& low, const InvariantData& inv, const Trace& first,
                         int from, double timeout) {
    z3::context& ctx = low.ctx();
    Watchdog watchdog(ctx, timeout);
    const std::size_t length = first.steps.size();
    z3::solver solver(ctx);
    std::vector<StateVars> states{low.make_state("@0")};
    std::vector<StepVars> steps;
    solver.add(low.init(states[0]));
    solver.add(low.is_state(first.initial, states[0]));
    z3::expr_vector differs(ctx);
    for (std::size_t i = 0; i < length; ++i) {
        solver.add(low.invariant(inv, states.back()));
        steps.push_back(low.make_step("@" + std::to_string(i)));
        states.push_back(low.make_state("@" + std::to_string(i + 1)));
        solver.add(low.trans(states[i], steps[i], states[i + 1]));
        const z3::expr same = is_step(low, steps[i], first.steps[i].step);
        if (static_cast<int>(i) + 1 < from) {
            solver.add(same);
        } else {
            differs.push_back(!same);
        }
    }
    solver.add(!low.invariant(inv, states.back()));
    solver.add(z3::mk_or(differs));

    Fork out;
    const z3::check_result answer = solver.check();
    if (answer == z3::unsat) {
        out.outcome = Fork::Outcome::none;
        return out;
    }
    if (answer == z3::unknown) {
        out.detail = watchdog.fired() ? "timeout" : "solver unknown: " + solver.reason_unknown();
        return out;
    }
    // canonical()'s queries on the Z3 solver that found the fork.
    struct Z3Unrolling final : UnrollingSolver {
        explicit Z3Unrolling(z3::solver& s) : solver(s) {}
        bool sat(const std::vector<z3::expr>& assumptions) override {
            z3::expr_vector v(solver.ctx());
            for (const z3::expr& a : assumptions) {
                v.push_back(a);
            }
            const z3::check_result answer = solver.check(v);
            if (answer == z3::unknown) {
                throw std::runtime_error("the solver could not decide a query: " +
                                         solver.reason_unknown());
            }
            return answer == z3::sat;
        }
        z3::model model() override { return solver.get_model(); }
        z3::solver& solver;
    } unrolling(solver);
    const z3::model m = canonical(low, unrolling, {}, states.front(), steps);
    Trace t = extract_trace(low, m, states, steps);
    if (auto error = replay_error(low.interp(), inv, t)) {
        out.bug = true;
        out.detail = "BUG: the forked counterexample does not replay on the interpreter: " + *error;
        return out;
    }
    out.outcome = Fork::Outcome::found;
    out.trace = std::move(t);
    return out;
}

} // namespace handoff::proofs
