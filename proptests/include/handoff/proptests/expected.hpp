// Which (version, invariant) pairs are violated. The proof checker's committed manifest does not
// exist yet, so the verdicts come from the model's explicit explorer on the property tests'
// instance (2 nodes, one fresh start, no image locking), explored once with postcopy off and once
// with pause-before-switchover off (the property tests never combine the two). No hand-written
// list.
#pragma once

#include "handoff/model/invariants.hpp"

#include <string>
#include <vector>

namespace handoff::proptests {

struct ExpectedVerdicts {
    std::vector<const model::InvariantData*> holding;  // no violation found by the explorer
    std::vector<const model::InvariantData*> violated; // with a replayed trace
    std::string source;                                // how they were obtained
};

const ExpectedVerdicts& expected_verdicts(const std::string& version);

} // namespace handoff::proptests
