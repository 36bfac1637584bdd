// The proof engines, each one short function over the lowering: BMC, k-induction, PDR (Spacer)
// and the explicit-state explorer of the model. Every engine returns a Result whose verdict obeys
// DESIGN.md "Verdicts are honest": `proved` only from an unbounded engine whose answer was
// certified by plain solver queries, or from a complete exploration of the instance; `violated`
// only with a trace replayed on the interpreter; `bounded` for "no violation up to depth K".
#pragma once

#include "handoff/model/explore.hpp"
#include "handoff/proofs/lowering.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::proofs {

enum class Verdict { proved, violated, bounded, unknown };
std::string_view verdict_name(Verdict v);

struct Result {
    std::string version;
    std::string invariant;
    Verdict verdict = Verdict::unknown;
    std::string engine; // bmc, kind, pdr, explicit
    double seconds = 0;
    int depth = -1;                    // bmc: deepest depth checked, or the trace's length; kind: k
    std::string detail;                // how it was certified, or why the answer is unknown
    std::string cti;                   // k-induction: the counterexample to induction, formatted
    std::string certificate;           // pdr: the certified inductive invariant, readable
    std::optional<model::Trace> trace; // violated: the replayed counterexample
    std::size_t states = 0;            // explicit: states explored
    bool bug = false; // an engine's answer failed its own check (replay or certificate)
};

struct EngineLimits {
    int max_depth = 60;    // BMC depth, or the largest k
    double timeout = 60.0; // seconds, per engine run
};

Result run_bmc(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim);
Result run_kind(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim);
Result run_pdr(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim);
// Explores the instance once for every invariant given (state invariants and `recoverable`).
std::vector<Result> run_explicit(const model::Interpreter& interp,
                                 const std::vector<const model::InvariantData*>& invs);

// Replays a counterexample on the interpreter: the first state is initial, every step is enabled
// and leads to the recorded state, and the last state violates the invariant. Returns what went
// wrong, or nothing.
std::optional<std::string> replay_error(const model::Interpreter& interp,
                                        const model::InvariantData& inv, const model::Trace& trace);

// The counterexample of a BMC model over states[0..k] and steps[0..k-1].
model::Trace extract_trace(const Lowering& low, const z3::model& m,
                           const std::vector<StateVars>& states,
                           const std::vector<StepVars>& steps);

// The lexicographically least action sequence among the models of the solver's assertions under
// `assumptions` (the solver's last check must have been sat).
z3::model canonical(const Lowering& low, z3::solver& solver, z3::expr_vector assumptions,
                    const std::vector<StepVars>& steps);

// A formula over the lowering's template state, printed with our variable and value names.
std::string print_formula(const Lowering& low, const z3::expr& e);

std::string z3_version();

} // namespace handoff::proofs
