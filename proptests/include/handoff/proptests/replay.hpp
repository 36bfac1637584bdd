// Replaying a counterexample of the proof checker on the implementation: each model step (a row
// with its parameters) becomes impl/ commands of the property tests (a QMP command, a migration
// thread step, a destination step, a fault armed where the row's parameters say the operation
// fails), run with the oracle on; after each step the implementation's abstracted state must be
// the trace's state, and at the end the implementation must show the same violation.
#pragma once

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
};

ReplayOutcome replay(const CheckerTrace& trace);

// The command that carries out a row which is exactly one QMP command, management action or guest
// write on impl/ (qmp_cont -> cont, ...), or nothing for the rows the replay maps otherwise
// (environment events, faults, migration-thread and destination steps).
std::optional<OpKind> command_for_row(const std::string& row);

} // namespace handoff::proptests
