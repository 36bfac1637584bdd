// The property tests proper: RapidCheck state-machine runs of impl/ against the model, with an
// explicit configuration (the seed is fixed unless RC_PARAMS or the soak mode say otherwise).
// Only property.cpp includes RapidCheck's state machinery, so that the test files compile fast.
//
// What a run prints (stderr), per property: one line naming it with its seed, then one result:
// "passed" (test cases, commands, time), "counterexample found, as expected", "NO
// COUNTEREXAMPLE" or "FAILED" with the shrunk command sequence, where the shrunk run's model
// trace was written, and the line that re-runs exactly this property. Environment:
//   RC_PARAMS="seed=N"                 every property takes seed N (a re-run of a failure);
//   RC_PARAMS="reproduce=..."          runs the shrunk case of the property it names only;
//   HANDOFF_PROPTEST_ONLY=DESCRIPTION  runs only the property of that description;
//   HANDOFF_PROPTEST_SOAK=K            K times the test cases, a random seed (printed);
//   HANDOFF_PROPTEST_TRACE_DIR=DIR     where failing runs' model traces go (default: the build
//                                      directory's Testing/proptest-traces).
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
    std::string version; // a model version name ("v8.0.0", ...)
    // The model the oracle checks against, if not the registered table of `version`: a mutant
    // of it (`handoff mutate`), which must outlive the call.
    const model::TableData* table = nullptr;
    // The impl/ version run against the model of `version` (empty: the same). Another version
    // is a deliberately wrong implementation, for a test that the oracle notices.
    std::string impl_version;
    std::vector<const model::InvariantData*> watched; // a violation of one fails the run
    bool oracle = true;                               // check every step against the model
    int test_cases = 200;                             // RapidCheck's maxSuccess
    int max_size = 60;                                // RapidCheck's maxSize (command count)
    std::uint64_t seed = 0;                           // 0: derived from the description
    std::vector<OpKind> kinds;                        // the swarm's pool; empty: default_kinds()
    std::vector<std::pair<OpKind, int>> weights;      // overrides of the default weights
    std::vector<OpKind> swarm_always;                 // kinds every test case's swarm keeps
    bool half_done = true; // storage outages may leave the disk they hit half inactivated
    // The graph shapes the test cases draw from (impl/ builds the same graph as the model; each
    // shape's instance is test_instance(shape)).
    std::vector<model::GraphShape> graphs{model::GraphShape::flat};
    // Fault arguments half of the faults take (a checker trace's); empty: all random.
    std::vector<std::pair<int, int>> outages_at; // storage_outage_at's (disk, arg)
    std::vector<int> locks_at;                   // lock_fault's disk
    // Capabilities and start most test cases take (e.g. a checker trace's); unset: all random.
    struct Lean {
        Capabilities caps;
        bool start_paused = false;
    };
    std::optional<Lean> lean_to;
    // A counterexample is what the test wants (the checker found the violation too): it is
    // reported as such, not as a failure.
    bool expect_failure = false;
    // A failing run's shrunk case is run once more with the model's path recorded and written as
    // a trace file (handoff replay, handoff replay-qemu) named TRACE_NAME.json (default: the
    // description, made a file name) in trace_dir().
    bool write_trace = true;
    bool shrink = true; // false: report the first failing case as found (`handoff mutate`)
    std::string trace_name;
};

struct PropertyOutcome {
    bool passed = false;    // the property held in every test case
    bool falsified = false; // RapidCheck found a counterexample (and shrank it)
    bool skipped = false;   // RC_PARAMS="reproduce=..." or HANDOFF_PROPTEST_ONLY names another one
    // Falsified: the shrunk case (setup, command list) and what failed; neither passed nor
    // falsified: RapidCheck's reason (gave up, an error); otherwise "".
    std::string message;
    Coverage coverage; // over every test case run, shrinking included
    int test_cases = 0;
    int found_after = 0; // on failure: the test case that failed first (1-based)
    int shrinks = 0;     // on failure: the shrinks RapidCheck accepted
    double seconds = 0;
    std::uint64_t seed = 0;
    std::string trace_path; // on failure: the model trace written, or "" (see trace_note)
    std::string trace_note; // why no trace was written, if none was
};

// Every command kind the model has rows for. Two impl/ faults are not among them: node_fault
// (impl/'s one-shot node faults fail an operation while the storage answers, a cause of failure
// the model leaves out: see the spec's header) and file_error_fault (an error on the stream after
// the savevm completion while the destination lives: the model's stream errors are the
// connection dropping while iterating, connection_drop, and the return path's, return_path_fault).
std::vector<OpKind> default_kinds();
// The weight of a command kind in the random mix (PropertyOptions::weights overrides it).
std::size_t default_weight(OpKind kind);

// The instance of the property tests on a graph shape: flat 2 disks, chain and job 1 disk,
// shared-base its 2; 1 fresh start, no image locking.
int test_nodes(model::GraphShape shape);
model::Instance test_instance(model::GraphShape shape = model::GraphShape::flat);
impl::QemuVersion impl_version(const std::string& model_version);

PropertyOutcome check_property(const std::string& description, const PropertyOptions& options);

// Where failing runs write their model traces: $HANDOFF_PROPTEST_TRACE_DIR, else the build
// directory's Testing/proptest-traces (never the source tree).
std::string trace_dir();

// A model trace file read as `handoff replay` reads it (proofs::trace_from_json on the instance
// its header names): every step must be enabled and reach the recorded state.
struct ModelTraceReplay {
    std::string error;     // "" when the file replays, else what is wrong (one line)
    std::string invariant; // the invariant the file names, or ""
    bool violated = false; // the last state violates it
    std::size_t steps = 0;
};
ModelTraceReplay replay_model_trace(const std::string& path);

} // namespace handoff::proptests
