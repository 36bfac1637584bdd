// Bounded model checking, incremental and by increasing depth: the first counterexample found is
// a shortest one. One solver serves every depth; the negated invariant at depth k is checked under
// an assumption literal, then asserted to hold before the next step is added.
#include "handoff/proofs/engines.hpp"

#include "watchdog.hpp"

namespace handoff::proofs {

// Among the counterexamples of this depth, the one whose sequence of actions is lexicographically
// least (rows in table order, host 0 first): the answer no longer depends on the solver's
// heuristics, and environment failures, which come first in the tables, come first in the story.
z3::model canonical(const Lowering& low, z3::solver& solver, z3::expr_vector assumptions,
                    const std::vector<StepVars>& steps) {
    for (const auto& step : steps) {
        int best = low.decode_action(solver.get_model(), step);
        for (;;) {
            z3::expr_vector tighter(solver.ctx()); // a copy would share the vector
            for (const auto& a : assumptions) {
                tighter.push_back(a);
            }
            z3::expr_vector smaller(solver.ctx());
            for (int a = 0; a < best; ++a) {
                smaller.push_back(low.act_is(step, a));
            }
            tighter.push_back(z3::mk_or(smaller));
            if (solver.check(tighter) != z3::sat) {
                break;
            }
            best = low.decode_action(solver.get_model(), step);
        }
        assumptions.push_back(low.act_is(step, best));
        if (solver.check(assumptions) != z3::sat) {
            throw std::logic_error("BMC: a counterexample vanished while canonicalising it");
        }
    }
    return solver.get_model();
}

Result run_bmc(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim) {
    z3::context& ctx = low.ctx();
    Result r;
    r.version = std::string(low.interp().table().version);
    r.invariant = std::string(inv.name);
    r.engine = "bmc";
    Watchdog watchdog(ctx, lim.timeout);
    z3::solver solver(ctx);
    std::vector<StateVars> states{low.make_state("@0")};
    std::vector<StepVars> steps;
    solver.add(low.init(states[0]));
    for (int k = 0;; ++k) {
        const z3::expr goal = ctx.bool_const(("bad@" + std::to_string(k)).c_str());
        solver.add(z3::implies(goal, !low.invariant(inv, states.back())));
        z3::expr_vector assumptions(ctx);
        assumptions.push_back(goal);
        const z3::check_result answer = solver.check(assumptions);
        if (answer == z3::sat) {
            r.trace = extract_trace(low, canonical(low, solver, assumptions, steps), states, steps);
            r.depth = k;
            if (auto error = replay_error(low.interp(), inv, *r.trace)) {
                r.bug = true;
                r.verdict = Verdict::unknown;
                r.detail =
                    "BUG: the BMC counterexample does not replay on the interpreter: " + *error;
                r.trace.reset();
            } else {
                r.verdict = Verdict::violated;
                r.detail = "shortest counterexample (" + std::to_string(k) +
                           " steps), replayed on the interpreter";
            }
            break;
        }
        if (answer == z3::unknown) {
            r.depth = k - 1;
            r.verdict = k > 0 ? Verdict::bounded : Verdict::unknown;
            r.detail =
                (watchdog.fired() ? "timeout" : "solver unknown: " + solver.reason_unknown()) +
                (k > 0 ? " at depth " + std::to_string(k) + "; no violation up to depth " +
                             std::to_string(k - 1)
                       : "");
            break;
        }
        r.depth = k;
        if (k == lim.max_depth) {
            r.verdict = Verdict::bounded;
            r.detail = "no violation up to depth " + std::to_string(k);
            break;
        }
        solver.add(low.invariant(inv, states.back()));
        steps.push_back(low.make_step("@" + std::to_string(k)));
        states.push_back(low.make_state("@" + std::to_string(k + 1)));
        solver.add(low.trans(states[states.size() - 2], steps.back(), states.back()));
    }
    r.seconds = watchdog.elapsed();
    return r;
}

} // namespace handoff::proofs
