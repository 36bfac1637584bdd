// docs/conformance.md: for every (version, invariant) pair a `handoff check --json` run found
// violated, the shortest trace, whether it can be replayed on the real QEMU, what QEMU did, and
// the verdict. The page is deterministic (no timings, no temporary paths), so that regenerating
// it and comparing with the committed page tells whether it is current.
#pragma once

#include "handoff/conformance/replay.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace handoff::conformance {

// One instance of the checker: its command line and the shortest trace of every violated pair,
// by invariant (the files conformance/traces/<instance>/<invariant>.json).
struct TraceSet {
    std::string name;    // the folder name, e.g. "v7.2"
    std::string command; // the check command line that found them
    std::vector<std::pair<std::string, nlohmann::json>> traces; // (invariant, trace), sorted
    // A restricted (`--controllable`) check: the pairs it found no trace for, with the depth it
    // searched ({"depth": K, "detail": "..."}), from none.json.
    std::vector<std::pair<std::string, nlohmann::json>> none;
};

// Reads a folder of traces (and its command.txt).
TraceSet read_trace_set(const std::string& dir);
// Writes the traces of a `handoff check --json` output into `dir` (replacing its *.json); for a
// `--controllable` check, the pairs without a trace go to none.json.
void write_trace_set(const nlohmann::json& check, const std::string& command,
                     const std::string& dir);

// Replays every trace of `primary` (and, for a pair whose primary trace is not replayable, the
// same invariant's trace in `alternative`, an instance restricted to what the harness can drive)
// and renders the page. `progress` gets one line per replay.
std::string conformance_report(const TraceSet& primary, const TraceSet& alternative,
                               const ReplayOptions& options,
                               const std::function<void(const std::string&)>& progress = {});

// The section on the traces the harness can drive (`handoff check --controllable` per version):
// for every pair, its verdict on the version's binary, or "no controllable trace within depth K".
std::string controllable_report(const std::vector<TraceSet>& sets, const ReplayOptions& options,
                                const std::function<void(const std::string&)>& progress = {});

} // namespace handoff::conformance
