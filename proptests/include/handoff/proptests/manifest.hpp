// The proof checker's committed manifest (proofs/expected.json) and its counterexample traces
// (proofs/traces/<version>/<invariant>.json): the only source of the verdicts the property tests
// expect. Read once, with nlohmann::json; nothing else in proptests/ parses them.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace handoff::proptests {

enum class Verdict { violated, proved, bounded, unknown };
std::string_view to_string(Verdict v);

struct ManifestEntry {
    std::string version;
    std::string invariant;
    Verdict verdict = Verdict::unknown;
    std::string engine;
    int steps = -1; // the counterexample's length (violated), or -1
};

struct Manifest {
    std::string path;
    std::string instance; // the checker's instance, as JSON text (for messages)
    std::vector<ManifestEntry> results;

    std::vector<const ManifestEntry*> for_version(const std::string& version) const;
};

// The manifest at HANDOFF_MANIFEST (set by CMake to proofs/expected.json); throws with the path on
// a missing file or a malformed entry.
const Manifest& manifest();
Manifest read_manifest(const std::string& path);

// One step of a checker trace: a model row with its parameters, and the model state after it.
struct TraceStep {
    std::string row;
    std::map<std::string, int> params;        // parameter name -> value
    std::string params_text;                  // as the checker printed them
    std::map<std::string, std::string> state; // variable -> value name, after the step
};

struct CheckerTrace {
    std::string path;
    std::string version;
    std::string invariant; // from the file name
    int nodes = 2;
    std::string graph = "flat"; // the block graph's shape (model::graph_shape_name)
    int starts = 1;
    std::string env = "any"; // the environment profile the checker found it under
    std::map<std::string, std::string> initial;
    std::vector<TraceStep> steps;
};

// Every trace file under `dir` (HANDOFF_TRACES_DIR: proofs/traces), sorted by path.
std::vector<CheckerTrace> read_traces(const std::string& dir);
CheckerTrace read_trace(const std::string& path);
std::string traces_dir();

} // namespace handoff::proptests
