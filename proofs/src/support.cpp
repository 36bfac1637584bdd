// What the engines share: replaying a counterexample on the interpreter, reading a trace out of a
// model, printing a formula over our names, the solver's version.
#include "handoff/proofs/engines.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <algorithm>

namespace handoff::proofs {

using namespace handoff::model;

std::string_view verdict_name(Verdict v) {
    switch (v) {
    case Verdict::proved:
        return "proved";
    case Verdict::violated:
        return "violated";
    case Verdict::bounded:
        return "bounded";
    case Verdict::unknown:
        return "unknown";
    }
    return "unknown";
}

std::string z3_version() {
    unsigned major = 0, minor = 0, build = 0, revision = 0;
    Z3_get_version(&major, &minor, &build, &revision);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build);
}

std::optional<std::string> replay_error(const Interpreter& interp, const InvariantData& inv,
                                        const Trace& trace) {
    if (auto error = path_error(interp, trace)) {
        return error;
    }
    const State& last = trace.steps.empty() ? trace.initial : trace.steps.back().state;
    if (inv.kind == InvariantKind::StatePredicate && holds(interp, inv, last)) {
        return std::string("the last state satisfies the invariant in the interpreter");
    }
    return std::nullopt;
}

Trace extract_trace(const Lowering& low, const z3::model& m, const std::vector<StateVars>& states,
                    const std::vector<StepVars>& steps) {
    Trace t;
    t.initial = low.decode_state(m, states.front());
    for (std::size_t i = 0; i + 1 < states.size(); ++i) {
        t.steps.push_back({low.decode_step(m, steps[i]), low.decode_state(m, states[i + 1])});
    }
    return t;
}

std::string print_formula(const Lowering& low, const z3::expr& e) {
    (void)low; // the constants are named after our variables already ("runstate[0].1": bit 1)
    std::string text = e.to_string();
    text.erase(std::remove(text.begin(), text.end(), '|'), text.end());
    return text;
}

} // namespace handoff::proofs
