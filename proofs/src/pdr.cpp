// PDR/IC3 through Z3's Spacer. The system is given as constrained Horn clauses over one relation
// Reach(state):  Init(s) -> Reach(s);  Reach(s) && Trans(s, p, t) -> Reach(t);
// Reach(s) && !Inv(s) -> Err. Spacer's "safe" is not trusted: the invariant it returns is
// certified by three plain solver queries before the verdict is "proved". "Unsafe" is confirmed
// by BMC, whose shortest counterexample is replayed on the interpreter.
#include "handoff/proofs/engines.hpp"

#include "watchdog.hpp"

#include <chrono>
#include <memory>

namespace handoff::proofs {

std::optional<std::string> certify(const Lowering& low, const model::InvariantData& inv,
                                   const z3::expr& cover) {
    z3::context& ctx = low.ctx();
    const StateVars& s = low.current();
    const StateVars t = low.make_state("'cert");
    const StepVars p = low.make_step("'cert");
    const z3::expr j = cover && low.domain(s);
    z3::expr moved = cover;
    const z3::expr j_next = moved.substitute(s.bits, t.bits) && low.domain(t);
    struct Query {
        const char* what;
        z3::expr formula;
    };
    const Query queries[] = {
        {"the initial states satisfy it", low.init(s) && !j},
        {"every row preserves it", j && low.trans(s, p, t) && !j_next},
        {"it implies the invariant", j && !low.invariant(inv, s)},
    };
    for (const auto& q : queries) {
        z3::solver solver(ctx);
        solver.add(q.formula);
        const auto answer = solver.check();
        if (answer != z3::unsat) {
            return std::string("certificate query \"") + q.what + "\" answered " +
                   (answer == z3::sat ? "sat (the invariant is not certified)" : "unknown");
        }
    }
    return std::nullopt;
}

Result run_pdr(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim) {
    z3::context& ctx = low.ctx();
    Result r;
    r.version = std::string(low.interp().table().version);
    r.invariant = std::string(inv.name);
    r.engine = "pdr";
    // Only Spacer's query runs under the watchdog: the certificate's queries and the BMC run that
    // confirms "unsafe" must not be interrupted by its deadline.
    auto watchdog = std::make_unique<Watchdog>(ctx, lim.timeout);

    const StateVars& s = low.current();
    const StepVars& p = low.step();
    const StateVars t = low.make_state("'");
    z3::sort_vector sorts(ctx);
    for (const auto& x : s.bits) {
        sorts.push_back(x.get_sort());
    }
    z3::func_decl reach = ctx.function("Reach", sorts, ctx.bool_sort());
    z3::func_decl err = ctx.function("Err", 0, nullptr, ctx.bool_sort());

    z3::fixedpoint fp(ctx);
    z3::params params(ctx);
    params.set("engine", "spacer");
    fp.set(params);
    fp.register_relation(reach);
    fp.register_relation(err);

    z3::expr_vector all(ctx), cur(ctx);
    for (const auto& x : s.bits) {
        all.push_back(x);
        cur.push_back(x);
    }
    for (const auto& x : p.bits) {
        all.push_back(x);
    }
    z3::expr_vector nxt(ctx);
    for (const auto& x : t.bits) {
        all.push_back(x);
        nxt.push_back(x);
    }
    z3::expr init_rule = z3::forall(cur, z3::implies(low.init(s), reach(cur)));
    z3::expr step_rule = z3::forall(all, z3::implies(reach(cur) && low.trans(s, p, t), reach(nxt)));
    z3::expr err_rule = z3::forall(cur, z3::implies(reach(cur) && !low.invariant(inv, s), err()));
    fp.add_rule(init_rule, ctx.str_symbol("init"));
    fp.add_rule(step_rule, ctx.str_symbol("step"));
    fp.add_rule(err_rule, ctx.str_symbol("bad"));

    z3::check_result answer = z3::unknown;
    std::string why;
    try {
        z3::expr query = err();
        answer = fp.query(query);
        if (answer == z3::unknown) {
            why = "Spacer said unknown: " + fp.reason_unknown();
        }
    } catch (const z3::exception& e) {
        why = watchdog->fired() ? "timeout" : std::string("Spacer failed: ") + e.msg();
    }
    const double spacer_seconds = watchdog->elapsed();
    // Nothing an interrupted context says is believed (k-induction's base case has come back
    // `sat` after an interrupt, with a model that did not replay: kind.cpp), and the context
    // stays cancelled, so the certificate's queries on it would throw "canceled". An answer
    // given as the deadline fired is a timeout.
    if (watchdog->fired() && answer != z3::unknown) {
        answer = z3::unknown;
        why = "timeout (Spacer answered as its deadline passed; the context was cancelled "
              "before the answer could be certified)";
    }
    watchdog.reset();
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return spacer_seconds +
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    if (answer == z3::unsat) {
        const z3::expr cover = fp.get_cover_delta(-1, reach).substitute(cur);
        if (auto failure = certify(low, inv, cover)) {
            r.bug = failure->find("sat (") != std::string::npos;
            r.verdict = Verdict::unknown;
            r.detail = (r.bug ? "BUG: Spacer said safe but its invariant failed: "
                              : "Spacer said safe but ") +
                       *failure;
        } else {
            r.verdict = Verdict::proved;
            r.detail = "Spacer's inductive invariant certified by 3 solver queries (initial, "
                       "preserved by every row, implies the invariant)";
            r.certificate = print_formula(low, cover.simplify());
        }
    } else if (answer == z3::sat && !lim.confirm_unsafe) {
        r.verdict = Verdict::unknown;
        r.detail = "Spacer said unsafe (left to BMC)";
    } else if (answer == z3::sat) {
        // Spacer found the property false: let BMC find the shortest counterexample, which is
        // replayed before it is believed.
        EngineLimits rest = lim;
        rest.timeout = std::max(1.0, lim.timeout - elapsed());
        r.seconds = elapsed();
        Result bmc = run_bmc(low, inv, rest);
        bmc.engine = "pdr+bmc";
        bmc.seconds += r.seconds;
        if (bmc.verdict != Verdict::violated) {
            bmc.verdict = Verdict::unknown;
            bmc.detail = "Spacer said unsafe, but BMC found no counterexample: " + bmc.detail;
        }
        return bmc;
    } else {
        r.verdict = Verdict::unknown;
        r.detail = why;
    }
    r.seconds = elapsed();
    return r;
}

} // namespace handoff::proofs
