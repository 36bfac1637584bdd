// docs/conformance.md: for every (version, invariant) pair a `handoff check --json` run found
// violated, the shortest trace, whether it can be replayed on the real QEMU, what QEMU did, and
// the verdict. The page is deterministic (no timings, no temporary paths), so that regenerating
// it and comparing with the committed page tells whether it is current.
#pragma once

#include "handoff/conformance/replay.hpp"

#include <nlohmann/json.hpp>

#include <map>
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

// The traces of one version: `primary`, the checker's instance; `alternative`, an instance
// restricted to what the harness drives furthest, used where the primary trace is not
// replayable; `controllable`, the `handoff check --controllable` traces (each pair's shortest
// trace that uses only the harness's controls, or none within a depth). Either may be empty. The
// version picks the real binary (binaries.hpp).
// `node_by_node`, the controllable traces found without the rows that address every node at
// once (`--without-row blockdev_set_active_all --without-row blockdev_set_inactive_all`): each
// pair's shortest trace through `blockdev-set-active node-name` (QEMU 10.x only).
// `graphs`, the controllable traces on the block graph's shapes (`handoff check --graph SHAPE
// --controllable`), one set per shape, replayed on the graph the harness builds (world.hpp).
struct ReportGroup {
    TraceSet primary;
    TraceSet alternative;
    TraceSet controllable;
    TraceSet node_by_node = {};
    std::vector<TraceSet> graphs = {};
};

// Per version, how its pairs ended on the real binary.
struct Tally {
    int reproduced = 0, diverged = 0, not_replayable = 0, none = 0; // none: no trace within K
};

// Replays every trace of every group (and, for a pair whose primary trace is not replayable, the
// same invariant's trace in the group's alternative; and the controllable traces) and renders
// the page: a summary for the reader first, the traces the harness can drive, then per group the
// table and each replay. `progress` gets one line per replay.
std::string conformance_report(const std::vector<ReportGroup>& groups, const ReplayOptions& options,
                               const std::function<void(const std::string&)>& progress = {});

// The section on the traces the harness can drive (`handoff check --controllable` per version):
// for every pair, its verdict on the version's binary, or "no controllable trace within depth K".
// `tally`, when given, receives the verdicts per set name.
std::string controllable_report(const std::vector<TraceSet>& sets, const ReplayOptions& options,
                                const std::function<void(const std::string&)>& progress = {},
                                std::map<std::string, Tally>* tally = nullptr);

// The same for the node-by-node traces (ReportGroup::node_by_node), under its own heading.
std::string node_by_node_report(const std::vector<TraceSet>& sets, const ReplayOptions& options,
                                const std::function<void(const std::string&)>& progress = {},
                                std::map<std::string, Tally>* tally = nullptr);

// The same for the block graph's sets (ReportGroup::graphs), under its own heading.
std::string graph_report(const std::vector<TraceSet>& sets, const ReplayOptions& options,
                         const std::function<void(const std::string&)>& progress = {},
                         std::map<std::string, Tally>* tally = nullptr);

} // namespace handoff::conformance
