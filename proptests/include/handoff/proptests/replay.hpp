// Replaying a counterexample of the proof checker on the implementation: each model step (a row
// with its parameters) becomes impl/ commands of the property tests (a QMP command, a migration
// thread step, a destination step, a fault armed where the row's parameters say the operation
// fails), run with the oracle on; after each step the implementation's abstracted state must be
// the trace's state, and at the end the implementation must show the same violation.
#pragma once

#include "handoff/model/explore.hpp"
#include "handoff/proptests/manifest.hpp"
#include "handoff/proptests/system.hpp"

#include <optional>
#include <string>
#include <vector>

namespace handoff::proptests {

struct ReplayOutcome {
    bool replayed = false;          // every step ran on impl/ and reached the trace's state
    bool violation = false;         // and the implementation shows the trace's violation
    std::vector<std::string> steps; // per model step: "row(params) -> impl commands"
    std::string failure;            // why not (the step and both states)
    std::string disks;              // the disks' configuration impl/ ran with
    bool ran = false;               // impl/ was run (else the trace could not be set up on it)
};

// `oracle`: the model the oracle holds impl/'s steps to; `trace_model`: the model whose trace it
// is (it checks that a trace relaxed to run on impl/ takes the same steps). Both default to the
// trace's version's table; mutation testing passes a mutant (handoff mutate's directed replay).
ReplayOutcome replay(const CheckerTrace& trace, const model::TableData* oracle = nullptr,
                     const model::TableData* trace_model = nullptr);

// A trace of the model in memory as the trace files hold it (for replay()); `invariant` may be
// empty (the replay then only checks that impl/ takes every step).
CheckerTrace checker_trace(const model::Interpreter& interp, const model::Trace& trace,
                           const std::string& invariant = "");

// The command that carries out a row which is exactly one QMP command, management action or guest
// write on impl/ (qmp_cont -> cont, ...), or nothing for the rows the replay maps otherwise
// (environment events, faults, migration-thread and destination steps).
std::optional<OpKind> command_for_row(const std::string& row);

} // namespace handoff::proptests
