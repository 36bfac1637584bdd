// Which rows of a version's table can fire on the property tests' instance, found on the model
// alone: a bounded breadth-first search over Interpreter::successors() (as model/explore.cpp does)
// and random walks, recording the row of every transition. The row-coverage requirement of the
// refinement test is "every row shown reachable here fired at least once in the CI run".
#pragma once

#include "handoff/model/interpreter.hpp"

#include <cstddef>
#include <set>
#include <string>

namespace handoff::proptests {

struct ReachableRows {
    std::set<std::string> rows;  // rows shown reachable: some reachable state enables them
    std::set<std::string> never; // rows not shown reachable (see `complete`)
    std::size_t states = 0;      // states of the bounded breadth-first search
    long walk_steps = 0;         // steps of the random walks
    bool complete = false;       // every row fired, or the whole reachable graph was explored
};

// Explored once per version and cached; `instance` is test_instance() with postcopy and
// pause-before-switchover never both on (the property tests never combine them).
const ReachableRows& reachable_rows(const std::string& version);

} // namespace handoff::proptests
