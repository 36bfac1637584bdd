// `handoff export --format promela`: a version's table on a finite instance as a Promela model
// for SPIN, generated from the same run-time table data the interpreter walks, so that an
// independent explicit-state checker can count the reachable states and check the invariants.
#pragma once

#include "handoff/model/interpreter.hpp"
#include "handoff/model/invariants.hpp"

#include <string>
#include <vector>

namespace handoff::proofs {

// The model: one global variable per state slot of the instance (the interpreter's Layout), one
// process whose first step chooses one of the interpreter's initial states, and then a loop with
// one d_step per (row, host, parameter choice), guarded by the row's guard, whose body runs the
// row's effect statement by statement. Each of `invariants` (state predicates only) is asserted
// in every state the process reaches: after the initial choice and after every step.
//
// SPIN stores exactly one state more than the interpreter's instance has: the process's start,
// before it has chosen an initial state. A parameter choice that an assumption refuses after the
// effect has changed the state (QEMU's code can end in that way only if the step got that far) is
// rolled back to the state it started from: a step back to an already stored state, which adds
// no state and changes no verdict.
std::string export_promela(const model::Interpreter& interp,
                           const std::vector<const model::InvariantData*>& invariants,
                           const std::string& comment);

} // namespace handoff::proofs
