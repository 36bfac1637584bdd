// The explicit-state engine: the model's breadth-first exploration of a finite instance. Its
// "holds" covers that instance only, and its traces are replayed like every other engine's.
#include "handoff/proofs/engines.hpp"

namespace handoff::proofs {

std::vector<Result> run_explicit(const model::Interpreter& interp,
                                 const std::vector<const model::InvariantData*>& invs) {
    const model::Exploration e = model::explore(interp, invs);
    std::vector<Result> out;
    for (const auto& v : e.verdicts) {
        Result r;
        r.version = std::string(interp.table().version);
        r.invariant = std::string(v.invariant->name);
        r.engine = "explicit";
        r.seconds = e.seconds;
        r.states = e.states;
        r.depth = e.depth;
        if (v.violated) {
            r.trace = v.trace;
            r.depth = static_cast<int>(v.trace->steps.size());
            if (auto error = replay_error(interp, *v.invariant, *v.trace)) {
                r.bug = true;
                r.trace.reset();
                r.detail = "BUG: the explicit trace does not replay: " + *error;
            } else if (v.invariant->kind == model::InvariantKind::Recoverability) {
                r.verdict = Verdict::violated;
                r.detail = "for this instance: a reachable state from which no recovery exists "
                           "(shortest path to it shown, replayed on the interpreter)";
            } else {
                r.verdict = Verdict::violated;
                r.detail = "shortest counterexample (breadth-first), replayed on the interpreter";
            }
        } else if (e.complete) {
            r.verdict = Verdict::proved;
            r.detail = "for this instance: every one of " + std::to_string(e.states) +
                       " reachable states explored";
        } else {
            r.verdict = Verdict::bounded;
            r.detail =
                "state limit reached: no violation among " + std::to_string(e.states) + " states";
        }
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace handoff::proofs
