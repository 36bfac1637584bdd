// The property tests proper: RapidCheck state-machine runs of impl/ against the model, with an
// explicit configuration (the seed is fixed unless RC_PARAMS or the soak mode say otherwise).
// Only property.cpp includes RapidCheck's state machinery, so that the test files compile fast.
#pragma once

#include "handoff/model/invariants.hpp"
#include "handoff/proptests/system.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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
    std::vector<std::pair<OpKind, int>> weights;      // overrides of the default weights
    std::vector<OpKind> swarm_always;                 // kinds every test case's swarm keeps
    bool half_done = true; // storage outages may leave the disk they hit half inactivated
    // Fault arguments half of the faults take (a checker trace's); empty: all random.
    std::vector<std::pair<int, int>> outages_at; // storage_outage_at's (disk, arg)
    std::vector<int> locks_at;                   // lock_fault's disk
    // Capabilities and start most test cases take (e.g. a checker trace's); unset: all random.
    struct Lean {
        Capabilities caps;
        bool start_paused = false;
    };
    std::optional<Lean> lean_to;
};

struct PropertyOutcome {
    bool passed = false;
    std::string message; // RapidCheck's result message (the shrunk command list on failure)
    Coverage coverage;   // over every test case run, shrinking included
    int test_cases = 0;
    double seconds = 0;
    std::uint64_t seed = 0;
};

// Every command kind the model has rows for. Two impl/ faults are not among them: node_fault
// (impl/'s one-shot node faults fail an operation while the storage answers, a cause of failure
// the model leaves out: see the spec's header) and file_error_fault (an error on the stream after
// the savevm completion while the destination lives: the model's stream errors are the
// connection dropping while iterating, connection_drop, and the return path's, return_path_fault).
std::vector<OpKind> default_kinds();
// The weight of a command kind in the random mix (PropertyOptions::weights overrides it).
std::size_t default_weight(OpKind kind);

model::Instance test_instance(); // 2 nodes, 1 fresh start, no image locking
impl::QemuVersion impl_version(const std::string& model_version);

PropertyOutcome check_property(const std::string& description, const PropertyOptions& options);

} // namespace handoff::proptests
