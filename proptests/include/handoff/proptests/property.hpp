// The property tests proper: RapidCheck state-machine runs of impl/ against the model, with an
// explicit configuration (the seed is fixed unless RC_PARAMS or the soak mode say otherwise).
// Only property.cpp includes RapidCheck's state machinery, so that the test files compile fast.
#pragma once

#include "handoff/model/invariants.hpp"
#include "handoff/proptests/system.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace handoff::proptests {

struct PropertyOptions {
    std::string version;                              // a model version name ("v8.0.0", ...)
    std::vector<const model::InvariantData*> watched; // a violation of one fails the run
    bool oracle = true;                               // check every step against the model
    int test_cases = 200;                             // RapidCheck's maxSuccess
    int max_size = 60;                                // RapidCheck's maxSize (command count)
    std::uint64_t seed = 0;                           // 0: derived from the description
    std::vector<OpKind> kinds;                        // the swarm's pool; empty: default_kinds()
};

struct PropertyOutcome {
    bool passed = false;
    std::string message; // RapidCheck's result message (the shrunk command list on failure)
    Coverage coverage;   // over every test case run, shrinking included
    int test_cases = 0;
    double seconds = 0;
    std::uint64_t seed = 0;
};

// Every command kind the model has rows for. node_fault is not among them: impl/'s one-shot
// node faults fail an operation while the storage answers, a cause of failure the model leaves
// out (see the spec's header). savevm is not among them either: save_snapshot() runs
// migrate_init() and moves s->state NONE -> SETUP -> COMPLETED (or FAILED), which the model's
// savevm row does not write (a model bug, reported; see the README's "Property tests").
// return_path_fault and file_error_fault (an error after the device state was sent while the
// destination lives) have no row in the model, and blockdev-set-active on one node found no
// enabled row in the v10.2 table being edited: reported, left out of the default pool.
std::vector<OpKind> default_kinds();

model::Instance test_instance(); // 2 nodes, 1 fresh start, no image locking
impl::QemuVersion impl_version(const std::string& model_version);

PropertyOutcome check_property(const std::string& description, const PropertyOptions& options);

} // namespace handoff::proptests
