// "Does the fix close it?": `handoff replay --on-version V TRACE` (a trace of one version replayed
// on another, proofs/retarget.hpp) and `handoff diff A B --traces DIR` (which of A's stored
// counterexamples each changed row blocks on B).
#pragma once

#include "commands.hpp"

#include "handoff/model/explore.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace handoff::cli {

// A trace file read and replayed on its own version (proofs::trace_from_json); a file that does
// not read is a UsageError naming the file.
struct LoadedTrace {
    nlohmann::json json;
    proofs::TraceHeader header;
    std::optional<model::Interpreter> interp;
    model::Trace trace;
};
LoadedTrace load_trace_file(const std::string& file);

struct ReplayOnVersionArgs {
    std::string file, version, invariant;
    bool json = false;
};
// Prints the replay and sets the exit code: 0 the story no longer reaches the violation on the
// version, 1 it still does, 3 the invariant is a graph property the replay cannot decide.
void run_replay_on_version(const ReplayOnVersionArgs& args);

// After `handoff diff A B`: for each of A's stored counterexamples (DIR/A/*.json), where B stops
// it, grouped by the row that changed.
void print_blocked_traces(const model::TableData& from, const model::TableData& to,
                          const std::string& dir);

} // namespace handoff::cli
