// The checker: one verdict per (version, invariant), from the engine the user asked for, or, with
// `auto`, from BMC (shortest counterexamples) and then PDR (certified proofs); `recoverable`, a
// graph property, goes to the recovery search, or with --engine explicit to the explicit engine
// (either verdict holds for the instance only).
#pragma once

#include "handoff/proofs/engines.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace handoff::proofs {

enum class Engine { automatic, bmc, kind, pdr, ic3, explicit_state };

// What check() is doing, for a progress line (`handoff check` and `prove` on a terminal).
struct CheckProgress {
    std::size_t cells = 0;            // cells asked for
    std::size_t decided = 0;          // cells with a result so far
    std::vector<std::string> running; // one per busy worker: "v10.2, 6 invariants (auto)"
};

struct CheckOptions {
    Engine engine = Engine::automatic;
    model::Instance instance;
    int depth = -1;        // BMC depth / largest k; -1: the engine's default
    double timeout = 60.0; // seconds per (version, invariant)
    int jobs = 1;          // cells checked in parallel, each with its own Z3 context
    bool partial_order =
        false;               // BMC's partial-order reduction (measured: no gain; bench/README.md)
    double ic3_slice = 30.0; // auto: seconds of IC3 per invariant that shallow BMC left open
    // Per version: search only the paths this restriction allows (`handoff check --controllable`:
    // the conformance harness's controls). When set, every version checked must have one; state
    // invariants go to BMC (to `depth`, default kControllableDepth) and `recoverable` to the
    // recovery search over the restricted paths, whatever `engine` says: a restricted search
    // finds counterexamples or bounds, never proofs.
    std::map<std::string, std::shared_ptr<const model::StepRestriction>, std::less<>> restrictions;
    // Called when a job starts and when it ends, one call at a time, from the workers.
    std::function<void(const CheckProgress&)> on_progress;
};

// The default depth of a restricted search: the harness's traces are longer than the shortest
// ones (they wait where QEMU stops, and take only outcomes it can force).
inline constexpr int kControllableDepth = 30;

struct Cell {
    const model::TableData* table = nullptr;
    const model::InvariantData* invariant = nullptr;
    // The instance to check it on; nullptr: CheckOptions::instance. `prove` gives each profile's
    // cells their own, so that both profiles share one pool of workers and IC3's lemmas.
    const model::Instance* instance = nullptr;
};

// Every invariant that applies to each version, in table order.
std::vector<Cell> all_cells(const std::vector<const model::TableData*>& versions);

// The cells' results in their order. Within one call, every proof IC3 finds offers its lemmas
// to the later IC3 runs on the same invariant (another version, the other profile), which adopt
// those that are inductive for them (Houdini; a proof is still certified as a whole); nothing is
// kept between calls.
std::vector<Result> check(const std::vector<Cell>& cells, const CheckOptions& options);

} // namespace handoff::proofs
