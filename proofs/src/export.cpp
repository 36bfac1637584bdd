// `handoff export --format smt2`: the BMC query or the k-induction step query of a version, as an
// SMT-LIB 2 benchmark that independent solvers (the z3 and cvc5 command-line programs) can answer.
// Every constant is Boolean (the lowering bit-blasts the domains), so the logic is QF_UF.
#include "handoff/proofs/artifacts.hpp"

#include <sstream>

namespace handoff::proofs {

using namespace handoff::model;

namespace {

// The conjunction of the invariants on one state: the property P the query is about.
z3::expr property(const Lowering& low, const std::vector<const InvariantData*>& invs,
                  const StateVars& s) {
    z3::expr_vector parts(low.ctx());
    for (const InvariantData* inv : invs) {
        parts.push_back(low.invariant(*inv, s));
    }
    return z3::mk_and(parts);
}

} // namespace

std::string export_smt2(const Lowering& low, const std::vector<const InvariantData*>& invs,
                        Query query, int depth, const std::string& comment) {
    z3::context& ctx = low.ctx();
    z3::expr_vector parts(ctx);
    std::vector<StateVars> states;
    const std::string tag = query == Query::bmc ? "@" : "#";
    for (int i = 0; i <= depth; ++i) {
        states.push_back(low.make_state(tag + std::to_string(i)));
    }
    if (query == Query::bmc) {
        // Init, and a step out of every state that satisfies P: a model is a path to the first
        // state that violates P, within `depth` steps (what follows that state is unconstrained).
        parts.push_back(low.init(states.front()));
        z3::expr_vector bad(ctx);
        for (std::size_t i = 0; i < states.size(); ++i) {
            const z3::expr ok = property(low, invs, states[i]);
            bad.push_back(!ok);
            if (i + 1 < states.size()) {
                const StepVars step = low.make_step(tag + std::to_string(i));
                parts.push_back(z3::implies(ok, low.trans(states[i], step, states[i + 1])));
            }
        }
        parts.push_back(z3::mk_or(bad));
    } else {
        for (std::size_t i = 0; i < states.size(); ++i) {
            parts.push_back(low.domain(states[i]));
            if (i > 0) {
                const StepVars step = low.make_step(tag + std::to_string(i - 1));
                parts.push_back(low.trans(states[i - 1], step, states[i]));
            }
            parts.push_back(i + 1 < states.size() ? property(low, invs, states[i])
                                                  : !property(low, invs, states[i]));
            for (std::size_t j = 0; j < i; ++j) {
                parts.push_back(!low.equal(states[j], states[i]));
            }
        }
    }
    std::vector<Z3_ast> assumptions;
    for (unsigned i = 0; i + 1 < parts.size(); ++i) {
        assumptions.push_back(parts[i]);
    }
    const z3::expr last = parts[parts.size() - 1];
    const char* text = Z3_benchmark_to_smtlib_string(ctx, "handoff", "QF_UF", "unknown", "",
                                                     static_cast<unsigned>(assumptions.size()),
                                                     assumptions.data(), last);
    ctx.check_error();
    std::ostringstream out;
    std::istringstream lines(comment);
    for (std::string line; std::getline(lines, line);) {
        out << "; " << line << "\n";
    }
    out << text;
    return out.str();
}

} // namespace handoff::proofs
