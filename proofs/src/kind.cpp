// k-induction with simple-path constraints. The base case is BMC (no violation within k-1 steps of
// an initial state); the step asks whether k consecutive distinct states satisfying the invariant
// can be followed by one that violates it. A satisfiable step is a counterexample to induction:
// its first state need not be reachable, so it is reported as "not inductive at k", never as a
// violation. When the step is unsatisfiable it is re-checked in a fresh solver before "proved".
#include "handoff/proofs/engines.hpp"

#include "watchdog.hpp"

namespace handoff::proofs {

namespace {

std::string format_cti(const Lowering& low, const model::Trace& t) {
    std::string out = "  0. a state that satisfies the invariant (not necessarily reachable):\n";
    for (const auto& c : model::describe(low.interp(), t.initial)) {
        out += "       " + c.variable + " = " + c.after + "\n";
    }
    model::Trace rest{t.initial, t.steps};
    const std::string steps = model::format_trace(low.interp(), rest);
    // format_trace's first line describes the initial state again: drop it.
    out += steps.substr(steps.find('\n') + 1);
    return out;
}

// The step query of k-induction over fresh variables: states t0..tk, all distinct, each of the
// first k satisfying the invariant and the domains, linked by the transition, tk violating it.
z3::expr step_query(const Lowering& low, const model::InvariantData& inv, int k,
                    std::vector<StateVars>& states, std::vector<StepVars>& steps,
                    const std::string& tag) {
    z3::context& ctx = low.ctx();
    z3::expr_vector parts(ctx);
    for (int i = 0; i <= k; ++i) {
        states.push_back(low.make_state(tag + std::to_string(i)));
        parts.push_back(low.domain(states.back()));
        if (i > 0) {
            steps.push_back(low.make_step(tag + std::to_string(i - 1)));
            parts.push_back(
                low.trans(states[static_cast<std::size_t>(i - 1)], steps.back(), states.back()));
        }
        parts.push_back(i < k ? low.invariant(inv, states.back())
                              : !low.invariant(inv, states.back()));
        for (int j = 0; j < i; ++j) {
            parts.push_back(!low.equal(states[static_cast<std::size_t>(j)], states.back()));
        }
    }
    return z3::mk_and(parts);
}

} // namespace

Result run_kind(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim) {
    z3::context& ctx = low.ctx();
    Result r;
    r.version = std::string(low.interp().table().version);
    r.invariant = std::string(inv.name);
    r.engine = "kind";
    Watchdog watchdog(ctx, lim.timeout);

    auto give_up = [&](int k, const std::string& why) {
        r.verdict = Verdict::unknown;
        r.depth = k;
        r.detail = why;
        r.seconds = watchdog.elapsed();
        return r;
    };

    z3::solver base(ctx);
    std::vector<StateVars> reach;
    std::vector<StepVars> reach_steps;
    z3::solver step(ctx);
    std::vector<StateVars> path;
    std::vector<StepVars> path_steps;
    // A deadline of a few hundredths of a second may pass while the first assertions are added,
    // before any check: Z3 then throws "canceled" there too (Deadline's test at 0.01 s).
    try {
        reach.push_back(low.make_state("@0"));
        base.add(low.init(reach[0]));
        path.push_back(low.make_state("#0"));
        step.add(low.domain(path[0]));
    } catch (const z3::exception&) {
        if (!watchdog.fired()) {
            throw;
        }
        return give_up(0, "timeout before the first check (Z3 cancelled at the deadline)");
    }

    for (int k = 1; k <= lim.max_depth; ++k) {
        // The deadline interrupts the context, and nothing Z3 says from then on is believed:
        // with deadlines of 0.02 to 0.09 s on v8.1, an interrupted base case came back `sat`
        // with a model whose trace did not replay (reported as a checker bug until then). So an
        // answer is used only if the watchdog had not fired when the check returned. One that
        // fires after that, in get_model() or the next add(), makes the call throw "canceled"
        // or cuts the model short (the trace then does not replay): that too is this engine's
        // timeout.
        try {
            // Base: no violation in the states reachable in k-1 steps.
            const z3::expr goal = ctx.bool_const(("bad@" + std::to_string(k - 1)).c_str());
            base.add(z3::implies(goal, !low.invariant(inv, reach.back())));
            z3::expr_vector a(ctx);
            a.push_back(goal);
            const auto b = base.check(a);
            if (watchdog.fired()) {
                return give_up(k, "timeout in the base case at k = " + std::to_string(k));
            }
            if (b == z3::unknown) {
                return give_up(k, "solver unknown: " + base.reason_unknown());
            }
            if (b == z3::sat) {
                r.trace = extract_trace(low, base.get_model(), reach, reach_steps);
                r.depth = k - 1;
                if (auto error = replay_error(low.interp(), inv, *r.trace)) {
                    r.trace.reset();
                    // The interrupt landed after the check returned, in get_model().
                    if (watchdog.fired()) {
                        return give_up(k, "timeout in the base case at k = " + std::to_string(k) +
                                              " (the model was cut short by the deadline)");
                    }
                    r.bug = true;
                    return give_up(k,
                                   "BUG: the base-case counterexample does not replay: " + *error);
                }
                r.verdict = Verdict::violated;
                r.detail = "base case of k-induction at k = " + std::to_string(k) +
                           ": shortest counterexample, replayed on the interpreter";
                r.seconds = watchdog.elapsed();
                return r;
            }
            base.add(low.invariant(inv, reach.back()));
            reach_steps.push_back(low.make_step("@" + std::to_string(k - 1)));
            reach.push_back(low.make_state("@" + std::to_string(k)));
            base.add(low.trans(reach[reach.size() - 2], reach_steps.back(), reach.back()));

            // Step: path t0..tk, the invariant on t0..t(k-1), distinct states.
            step.add(low.invariant(inv, path.back()));
            path_steps.push_back(low.make_step("#" + std::to_string(k - 1)));
            path.push_back(low.make_state("#" + std::to_string(k)));
            step.add(low.domain(path.back()));
            step.add(low.trans(path[path.size() - 2], path_steps.back(), path.back()));
            for (std::size_t j = 0; j + 1 < path.size(); ++j) {
                step.add(!low.equal(path[j], path.back()));
            }
            const z3::expr cti = ctx.bool_const(("cti#" + std::to_string(k)).c_str());
            step.add(z3::implies(cti, !low.invariant(inv, path.back())));
            z3::expr_vector c(ctx);
            c.push_back(cti);
            const auto s = step.check(c);
            if (watchdog.fired()) {
                return give_up(k, "timeout in the induction step at k = " + std::to_string(k));
            }
            if (s == z3::unknown) {
                return give_up(k, "solver unknown: " + step.reason_unknown());
            }
            if (s == z3::unsat) {
                // Certify: the same step query, built afresh, in a fresh solver.
                std::vector<StateVars> states;
                std::vector<StepVars> steps2;
                z3::solver fresh(ctx);
                fresh.add(step_query(low, inv, k, states, steps2, "$"));
                const auto again = fresh.check();
                if (watchdog.fired()) {
                    return give_up(k, "timeout in the re-check of the induction step at k = " +
                                          std::to_string(k));
                }
                if (again != z3::unsat) {
                    r.bug = again == z3::sat;
                    return give_up(k, again == z3::sat
                                          ? "BUG: the induction step at k = " + std::to_string(k) +
                                                " is unsat incrementally but sat in a fresh solver"
                                          : "the re-check of the induction step was inconclusive");
                }
                r.verdict = Verdict::proved;
                r.depth = k;
                r.detail = "k-induction at k = " + std::to_string(k) +
                           " (base: no violation within " + std::to_string(k - 1) +
                           " steps; step re-checked unsat in a fresh solver)";
                r.seconds = watchdog.elapsed();
                return r;
            }
            if (k == lim.max_depth) {
                const z3::model m = step.get_model();
                r.cti = format_cti(low, extract_trace(low, m, path, path_steps));
            }
        } catch (const z3::exception&) {
            if (!watchdog.fired()) {
                throw;
            }
            r.trace.reset();
            r.cti.clear();
            return give_up(k, "timeout at k = " + std::to_string(k) +
                                  " (Z3 cancelled at the deadline)");
        }
    }
    return give_up(lim.max_depth, "not inductive at k = " + std::to_string(lim.max_depth) +
                                      " (no violation within " + std::to_string(lim.max_depth - 1) +
                                      " steps either)");
}

} // namespace handoff::proofs
