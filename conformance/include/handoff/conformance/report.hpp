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
};

// Reads a folder of traces (and its command.txt).
TraceSet read_trace_set(const std::string& dir);
// Writes the traces of a `handoff check --json` output into `dir` (replacing its *.json).
void write_trace_set(const nlohmann::json& check, const std::string& command,
                     const std::string& dir);

// The traces of one version: `primary`, the checker's instance, and `alternative`, an instance
// restricted to what the harness drives furthest, used where the primary trace is not
// replayable (empty when there is none). The version picks the real binary (binaries.hpp).
struct ReportGroup {
    TraceSet primary;
    TraceSet alternative;
};

// Replays every trace of every group (and, for a pair whose primary trace is not replayable, the
// same invariant's trace in the group's alternative) and renders the page: a summary for the
// reader first, then per group the table and each replay. `progress` gets one line per replay.
std::string conformance_report(const std::vector<ReportGroup>& groups, const ReplayOptions& options,
                               const std::function<void(const std::string&)>& progress = {});

} // namespace handoff::conformance
