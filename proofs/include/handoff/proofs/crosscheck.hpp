// Engines check each other: every engine that can decide a (version, invariant) pair on a small
// instance decides it, and their answers are compared with the complete exploration of the
// instance (the explicit engine: exact for the instance, shortest counterexamples by breadth-first
// search). A contradiction is a checker bug (`handoff crosscheck` exits with 4), never resolved
// in favour of either side.
//
//   state invariants: explicit, BMC, k-induction, PDR (Spacer), IC3;
//   recoverable:      explicit, the recovery search.
//
// An engine that times out or stops at its depth says "unknown" or "bounded"; that is no
// contradiction. What is one: a proof where the exploration reaches a violation; a violation
// where it proves the invariant; a counterexample shorter than the shortest, or (BMC, the
// recovery search: both promise a shortest one) of another length; BMC bounded at a depth the
// shortest counterexample is within; an engine's own check failing (Result::bug).
#pragma once

#include "handoff/proofs/engines.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace handoff::proofs {

struct CrossCase {
    const model::TableData* table = nullptr;
    const model::InvariantData* invariant = nullptr;
    model::Instance instance;
};

// "v8.1 / recoverable, N = 1, 1 start, 1 set-active call, documented use, postcopy=on ..."
std::string describe(const CrossCase& c);

struct CrossCheck {
    CrossCase the_case;
    std::vector<Result> answers;             // the explicit engine's first
    std::vector<std::string> contradictions; // empty: the engines agree
    bool complete = false;                   // the exploration was complete (else nothing judged)
};

// The contradictions among `answers`, answers.front() being the explicit engine's (pure: the
// comparison the tests check on made-up answers too). `bmc_depth` is the depth BMC was given.
std::vector<std::string> contradictions(const std::vector<Result>& answers, int bmc_depth);

// Runs every engine that applies on the case, each with `timeout` seconds.
CrossCheck cross_check(const CrossCase& c, double timeout);

// `count` cases drawn from every version x invariant x N in {1, 2} x starts in {0, 1} x
// set-active calls in {0, 1} x environment profile x each capability free, off or on (image locking
// on under documented use, as the CLI fixes it), with the generator seeded by `seed`: the same seed
// gives the same cases.
std::vector<CrossCase> sample_cases(std::uint64_t seed, int count);

} // namespace handoff::proofs
