// The checker: one verdict per (version, invariant), from the engine the user asked for, or, with
// `auto`, from BMC (shortest counterexamples) and then PDR (certified proofs); `recoverable`, a
// graph property, goes to the recovery search, or with --engine explicit to the explicit engine
// (either verdict holds for the instance only).
#pragma once

#include "handoff/proofs/engines.hpp"

#include <string>
#include <vector>

namespace handoff::proofs {

enum class Engine { automatic, bmc, kind, pdr, ic3, explicit_state };

struct CheckOptions {
    Engine engine = Engine::automatic;
    model::Instance instance;
    int depth = -1;        // BMC depth / largest k; -1: the engine's default
    double timeout = 60.0; // seconds per (version, invariant)
    int jobs = 1;          // cells checked in parallel, each with its own Z3 context
    bool partial_order =
        false;               // BMC's partial-order reduction (measured: no gain; bench/README.md)
    double ic3_slice = 30.0; // auto: seconds of IC3 per invariant that shallow BMC left open
};

struct Cell {
    const model::TableData* table = nullptr;
    const model::InvariantData* invariant = nullptr;
};

// Every invariant that applies to each version, in table order.
std::vector<Cell> all_cells(const std::vector<const model::TableData*>& versions);

std::vector<Result> check(const std::vector<Cell>& cells, const CheckOptions& options);

} // namespace handoff::proofs
