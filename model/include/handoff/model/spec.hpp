// The specification a person reads: one Markdown page per version (docs/spec/), a Graphviz picture
// of the migration-status, run-state and disk-state machines, and the difference between two
// versions as rows.
#pragma once

#include "handoff/model/graph.hpp"
#include "handoff/model/table.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace handoff::model {

// What the checker said about a version, for its page: read by the caller from the expected
// results (proofs/expected.json and its traces; `handoff spec --results`), so that the model does
// not depend on the engines.
struct SpecStep {
    std::string row;
    std::string params; // "h=host 0, fail=none"
};

struct SpecStory {
    std::string headline; // the trace file's one-paragraph headline, if it has one
    std::string start;    // the initial state, briefly (the capabilities that are on)
    std::vector<SpecStep> steps;
    std::string link; // the trace file, as a link relative to the page
};

struct SpecVerdict {
    std::string invariant;
    std::string verdict; // proved, violated, bounded, unknown, ...
    std::string engine;
    int steps = 0; // a violation's length
    int depth = 0; // a bound's depth
    std::optional<SpecStory> story;
};

struct SpecResults {
    std::string manifest_link; // the manifest, as a link relative to the page
    std::string instance;      // the instance the verdicts hold for
    // The manifest records two environment profiles ("env": "documented" / "any"); otherwise
    // `documented` holds its only verdicts and `any` is empty.
    bool profiles = false;
    std::vector<SpecVerdict> documented;
    std::vector<SpecVerdict> any;
};

// `results`: the verdicts and stories for the page; without them the page says so.
std::string render_spec_markdown(const TableData& table, const SpecResults* results = nullptr);
std::string render_spec_dot(const TableData& table);
// The block graph of an instance (`handoff spec --graph`): a Markdown section with every node's
// kind, parent and place in QEMU's walks, and a Graphviz cluster to put inside the picture.
std::string render_block_graph_markdown(const BlockGraph& graph, int disks);
std::string render_block_graph_dot(const BlockGraph& graph);
std::string render_diff(const TableData& from, const TableData& to);

// The variables expression `expr` reads (added to `out`).
void collect_vars(const Ast& ast, int expr, std::set<Var>& out);
// The variables this version's rows read (a variable only ever reset to a constant, such as
// vm_old_state in 8.0 by process_exits(), plays no part in the version), plus the crash.
std::set<Var> used_vars(const TableData& t);

// The file name of a version's page and picture ("v8.1" -> "v8_1").
std::string spec_file_stem(std::string_view version);

} // namespace handoff::model
