// Explicit-state exploration of a finite instance, breadth-first, so that the first violation of
// an invariant found is one of the shortest. It reports, per invariant, either "holds for this
// instance" (the whole reachable graph was explored) or a violation with its trace.
#pragma once

#include "handoff/model/interpreter.hpp"
#include "handoff/model/invariants.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace handoff::model {

struct TraceStep {
    Step step;
    State state; // the state after the step
};

struct Trace {
    State initial;
    std::vector<TraceStep> steps;
};

struct InvariantVerdict {
    const InvariantData* invariant = nullptr;
    bool violated = false;
    std::optional<Trace> trace; // the shortest violating trace, when violated
    std::size_t violating = 0;  // how many reachable states violate it
};

struct Exploration {
    std::size_t states = 0;
    std::size_t transitions = 0;
    int depth = 0;         // the largest BFS depth (steps from an initial state)
    bool complete = false; // the whole reachable graph was explored (else: hit max_states)
    double seconds = 0;
    std::vector<InvariantVerdict> verdicts;
};

// Where a running exploration is: states found and expanded so far, the BFS depth being
// expanded, seconds since it started.
struct ExploreProgress {
    std::size_t states = 0;
    std::size_t expanded = 0;
    int depth = 0;
    double seconds = 0;
};

struct ExploreLimits {
    std::size_t max_states = 20'000'000;
    // Observers (for coverage): each reachable state when it is expanded, and each of its enabled
    // steps. Either may be empty.
    std::function<void(const State&)> on_state;
    std::function<void(const State&, const Step&)> on_step;
    // Each state when it is first found, in the order of its id (the order on_state sees them):
    // the id of the state it was found from (its own for an initial state). May be empty.
    std::function<void(std::uint32_t parent)> on_found;
    // Called every 16384 expansions and at each new BFS depth (progress output); may be empty.
    std::function<void(const ExploreProgress&)> on_progress;
    // Expand states with the general evaluator instead of the table specialised for the
    // instance (the same states and verdicts; for measuring the difference).
    bool by_ast = false;
    // Threads that expand states (1: the calling thread only). The states, their numbering, the
    // traces and every callback's order are the same for any number: workers expand a batch of
    // states, and the calling thread adds their successors in the order one thread would.
    unsigned threads = 1;
};

Exploration explore(const Interpreter& interp, const std::vector<const InvariantData*>& invariants,
                    const ExploreLimits& limits = {});

// Whether a state satisfies a state invariant (Recoverability invariants: the "recovered"
// predicate).
bool holds(const Interpreter& interp, const InvariantData& inv, const State& s);

// Human-readable trace: numbered steps, each with the row, the QEMU function it stands for, the
// parameters, and only the variables that changed. (The story of a counterexample, with its
// headline and the unchanged variables that matter, is format_story() in story.hpp.)
std::string format_trace(const Interpreter& interp, const Trace& trace);

// Its first line, "  0. initial state: late_block_activate=false ... runstate[0]=RUNNING".
std::string format_initial_state(const Interpreter& interp, const State& initial);

// "runstate[0]", "node[1][0]", "storage_ok".
std::string slot_name(Var v, int host, int node);

// "runstate[0]" / "node[1][0]" / "storage_ok" and the value names.
struct Change {
    std::string variable;
    std::string before;
    std::string after;
};
std::vector<Change> changes(const Interpreter& interp, const State& before, const State& after);
std::vector<Change> describe(const Interpreter& interp, const State& s); // every variable
std::string format_params(const Interpreter& interp, const Step& step);

} // namespace handoff::model
