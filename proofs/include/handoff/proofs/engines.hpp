// The proof engines, each a short file over the lowering: BMC and IC3 (on CaDiCaL, through
// proofs/src/sat.hpp), k-induction and PDR (Spacer, on Z3), and the explicit-state explorer of
// the model. Every engine returns a Result whose verdict obeys DESIGN.md "Verdicts are honest":
// `proved` only from an unbounded engine whose answer was certified by plain solver queries, or
// from a complete exploration of the instance; `violated` only with a trace replayed on the
// interpreter; `bounded` for "no violation up to depth K".
#pragma once

#include <algorithm>

#include "handoff/model/explore.hpp"
#include "handoff/proofs/lowering.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::proofs {

enum class Verdict { proved, violated, bounded, unknown };
std::string_view verdict_name(Verdict v);

// A clause over state bits, each literal a bit's name (Lowering::make_state's) and whether the
// bit is true in it: IC3's lemmas by name, so that another lowering (the same version under the
// other profile, another version) can take them as candidates.
struct NamedLiteral {
    std::string bit;
    bool positive = true;
};
using NamedClause = std::vector<NamedLiteral>;

struct Result {
    std::string version;
    std::string invariant;
    Verdict verdict = Verdict::unknown;
    std::string engine; // bmc, kind, pdr, ic3, explicit, recovery
    double seconds = 0;
    int depth = -1;                    // bmc: deepest depth checked, or the trace's length; kind: k
    std::string detail;                // how it was certified, or why the answer is unknown
    std::string cti;                   // k-induction: the counterexample to induction, formatted
    std::string certificate;           // pdr: the certified inductive invariant, readable
    std::optional<model::Trace> trace; // violated: the replayed counterexample
    std::size_t states = 0;            // explicit: states explored
    bool bug = false; // an engine's answer failed its own check (replay or certificate)
    // proved by IC3 with no strengthening clause: the invariant is inductive by itself (every row
    // preserves it from any state that satisfies it).
    bool inductive_alone = false;
    // IC3 reached an initial state from a violation: the invariant is violated, and BMC is asked
    // for the shortest counterexample (only a replayed trace is printed).
    bool ic3_found_violation = false;
    // ic3, proved: the clauses of the certified invariant besides the invariant itself.
    std::shared_ptr<const std::vector<NamedClause>> lemmas;
    // The restriction the search obeyed (EngineLimits::restriction's name), "" for none: a trace is
    // then a shortest one among the restricted paths, and "bounded" means "none of them within
    // the depth".
    std::string restriction;
};

struct EngineLimits {
    int max_depth = 60;         // BMC depth, or the largest k
    double timeout = 60.0;      // seconds, per engine run
    bool confirm_unsafe = true; // PDR: look for the counterexample with BMC when Spacer says unsafe
    bool partial_order = false; // BMC: Lowering::commuted_order between consecutive steps
    // BMC and the recovery search: only paths the restriction allows (its initial states, its
    // steps, ending in its last states). The engines that prove things ignore nothing: they
    // refuse it (check.cpp never hands it to them).
    const model::StepRestriction* restriction = nullptr;
    // IC3: candidate clauses (another proof's lemmas). Those that hold initially and are
    // inductive relative to the invariant and each other (Houdini) are in every frame from the
    // start; the certificate is checked as without them.
    std::shared_ptr<const std::vector<NamedClause>> ic3_seed;
};

Result run_bmc(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim);
// BMC for several state invariants of one version over one unrolling, resumable: run() goes
// deeper until every invariant has a counterexample or is closed (proved by another engine), the
// depth limit is reached or the time is up; a later run() continues where it stopped.
class Bmc {
  public:
    // With a restriction, the unrolling's every step obeys it (as clauses of the step template),
    // the first state is one of its initial states, and a counterexample ends in one of its last
    // states; partial_order must then be false (a commuted path may leave the restriction).
    Bmc(const Lowering& low, std::vector<const model::InvariantData*> invs,
        bool partial_order = false, const model::StepRestriction* restriction = nullptr);
    ~Bmc();
    Bmc(const Bmc&) = delete;
    Bmc& operator=(const Bmc&) = delete;
    // Returns false when stopped by the timeout (or an undecided query).
    bool run(int max_depth, double timeout);
    // Stop working on invariant i (another engine decided it).
    void close(std::size_t i);
    const std::vector<std::size_t>& open() const { return open_; }
    bool is_open(std::size_t i) const {
        return std::find(open_.begin(), open_.end(), i) != open_.end();
    }
    int depth_done() const { return next_depth_ - 1; }
    double seconds() const { return seconds_; } // the whole unrolling's, every invariant's
    // Invariant i's own time: its queries and trace, and an equal share of the joint work (the
    // unrolling and the query for all open invariants) while it was open.
    double own_seconds(std::size_t i) const { return own_seconds_[i]; }
    // Violated with a replayed trace, or bounded by the depth completed (in the order given).
    std::vector<Result> results() const;

  private:
    void solved(std::size_t i, int k, const z3::model& m);
    z3::expr may_end(const StateVars& s) const;

    const Lowering& low_;
    std::vector<const model::InvariantData*> invs_;
    std::vector<Result> results_;
    std::vector<std::size_t> open_;
    struct Unrolling; // the unrolling's clauses and the SAT solver (bmc.cpp)
    std::unique_ptr<Unrolling> unrolling_;
    std::vector<StateVars> states_;
    std::vector<StepVars> steps_;
    int next_depth_ = 0;
    bool partial_order_;
    const model::StepRestriction* restriction_;
    double seconds_ = 0;
    std::vector<double> own_seconds_;
    std::string stopped_;
};

// BMC for several state invariants of one version over one unrolling (results in the same order).
std::vector<Result> run_bmc_all(const Lowering& low,
                                const std::vector<const model::InvariantData*>& invs,
                                const EngineLimits& lim);
Result run_kind(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim);
Result run_pdr(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim);
// IC3 of our own over the state bits (ic3.cpp); "proved" only with a certified invariant, and a
// path it finds to a violation is left to BMC ("unknown").
Result run_ic3(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim);
// The three queries of a certificate: J = cover && Domain holds in the initial states, is
// preserved by every transition, and implies the invariant. Returns what failed, or nothing.
std::optional<std::string> certify(const Lowering& low, const model::InvariantData& inv,
                                   const z3::expr& cover);
// Explores the instance once for every invariant given (state invariants and `recoverable`).
std::vector<Result> run_explicit(const model::Interpreter& interp,
                                 const std::vector<const model::InvariantData*>& invs);

// `recoverable` without exploring the whole instance: the reachable states breadth-first, each
// searched forward (non-fault steps) for a recovery as it is reached; stops at the first state
// without one. Exact either way; "proved" only after every reachable state was reached.
Result run_recoverable(const model::Interpreter& interp, const model::InvariantData& inv,
                       const EngineLimits& lim, std::size_t max_states = 20'000'000);

// Replays a counterexample on the interpreter: the first state is initial, every step is enabled
// and leads to the recorded state, and the last state violates the invariant. Returns what went
// wrong, or nothing.
std::optional<std::string> replay_error(const model::Interpreter& interp,
                                        const model::InvariantData& inv, const model::Trace& trace);
// The same for a trace that must obey a restriction: its initial state, every step and its last
// state are checked against it too (on the interpreter, not the encoding that found the trace).
std::optional<std::string> restriction_error(const model::Interpreter& interp,
                                             const model::StepRestriction& restriction,
                                             const model::Trace& trace);

// The counterexample of a BMC model over states[0..k] and steps[0..k-1].
model::Trace extract_trace(const Lowering& low, const z3::model& m,
                           const std::vector<StateVars>& states,
                           const std::vector<StepVars>& steps);

// What canonical() asks of a solver that holds an unrolling: whether its formulas are
// satisfiable under assumptions (throwing when it cannot tell), and the last model found.
class UnrollingSolver {
  public:
    virtual ~UnrollingSolver() = default;
    virtual bool sat(const std::vector<z3::expr>& assumptions) = 0;
    virtual z3::model model() = 0;
};

// Among the models of the solver's formulas under `assumptions` (the last query must have been
// sat), the one with the lexicographically least action sequence, then the least parameters,
// then the least initial state: a counterexample that does not depend on the solver.
z3::model canonical(const Lowering& low, UnrollingSolver& solver, std::vector<z3::expr> assumptions,
                    const StateVars& initial, const std::vector<StepVars>& steps);

// A formula over the lowering's template state, printed with our variable and value names.
std::string print_formula(const Lowering& low, const z3::expr& e);

std::string z3_version();

} // namespace handoff::proofs
