// A restriction of a table's paths: which steps may be taken in which states (with which
// parameters), which initial states count, and in which states a path may end. It is written in
// the expression language, so that the interpreter evaluates it on concrete states and the Z3
// lowering turns it into constraints of the unrolling: the checker searches the restricted paths
// directly (`handoff check --controllable`, whose restriction is the conformance harness's
// controls) instead of filtering the paths it found without it. The model knows nothing of the
// harness: the restriction is built elsewhere (conformance/src/controls.cpp) and handed in.
#pragma once

#include "handoff/model/interpreter.hpp"

#include <functional>
#include <string>
#include <vector>

namespace handoff::model {

struct StepRestriction {
    std::string name; // what the restriction stands for, one line ("the controls of ...")
    // How the engines call a path it allows: "a shortest controllable counterexample" for the
    // harness's controls, "restricted" for a restriction that only leaves rows out.
    std::string adjective = "controllable";
    Ast ast; // every expression below lives here
    // Per row of the table (by index): a Boolean expression over the pre-state, the row's
    // parameters and its host (the bound host variable h), or -1: the row is never allowed.
    std::vector<int> row_allowed;
    int initial = -1; // over an initial state; -1: every initial state
    int last = -1;    // over the last state of a path (where its violation is seen); -1: any

    bool allows(const Interpreter& interp, const State& pre, const Step& step) const;
    bool initial_ok(const Interpreter& interp, const State& s) const;
    bool last_ok(const Interpreter& interp, const State& s) const;
};

// Every allowed step of `s` with its successor. Unlike Interpreter::successors(), every parameter
// choice is tried (the first allowed one of those leading to the same state is reported): the
// interpreter's first choice may be one the restriction forbids.
void allowed_successors(const Interpreter& interp, const StepRestriction& restriction,
                        const State& s,
                        const std::function<void(const Step&, const State&)>& visit);

} // namespace handoff::model
