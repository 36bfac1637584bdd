#include "handoff/conformance/report.hpp"

#include "handoff/model/invariants.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

namespace handoff::conformance {

namespace fs = std::filesystem;

namespace {

std::string cell(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|') {
            out += "\\|";
        } else if (c == '\n' || c == '\r') {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::string verdict_text(const ReplayResult& r) {
    switch (r.verdict) {
    case Verdict::reproduced:
        return "**reproduced**";
    case Verdict::diverged:
        return "**diverged at step " + std::to_string(r.step) + "**";
    case Verdict::not_replayable:
        return "not replayable (step " + std::to_string(r.step) + ")";
    }
    return "?";
}

std::string capabilities(const nlohmann::json& trace) {
    std::string out;
    for (const char* cap : {"late_block_activate", "pause_before_switchover", "postcopy",
                            "autostart_policy", "image_locking"}) {
        if (trace["initial"].contains(cap)) {
            out += std::string(out.empty() ? "" : ", ") + cap + "=" +
                   trace["initial"][cap].get<std::string>();
        }
    }
    return out;
}

// A stored trace must still end in a state that violates its invariant on the current model (the
// replay re-runs it on the interpreter first); otherwise the traces are stale.
void require_still_violated(const std::string& set, const std::string& invariant,
                            const ReplayResult& rr) {
    const model::InvariantData* inv = model::find_invariant(invariant);
    if (inv == nullptr) {
        throw TraceError(set + "/" + invariant + ".json: no such invariant");
    }
    if (inv->kind == model::InvariantKind::StatePredicate &&
        rr.violated.find(invariant) == std::string::npos) {
        throw TraceError(set + "/" + invariant + ".json: its last state no longer violates " +
                         invariant + " on the model (regenerate the traces)");
    }
}

// One replay, written out: the trace, the verdict and the step-by-step comparison.
void write_replay(std::ostringstream& out, const std::string& title, const std::string& command,
                  const nlohmann::json& trace, const ReplayResult& rr) {
    out << "\n### " << title << "\n\n"
        << "`" << command << "`: shortest trace, " << trace["steps"].size() << " steps; "
        << capabilities(trace) << ".\n\n";
    int k = 0;
    for (const auto& s : trace["steps"]) {
        ++k;
        out << k << ". `" << s.value("row", "?") << "`";
        const std::string p = s.value("params_text", "");
        if (!p.empty()) {
            out << " (" << p << ")";
        }
        out << "\n";
    }
    if (!rr.notes.empty()) {
        out << "\nReplay note: " << rr.notes << "\n";
    }
    out << "\nVerdict: " << verdict_text(rr) << ". " << rr.reason << ".";
    if (!rr.violated.empty() && rr.verdict != Verdict::reproduced) {
        out << " The trace's last state violates: " << rr.violated << ".";
    }
    out << "\n";
    if (!rr.predicted.empty()) {
        out << "\n- model: " << rr.predicted << "\n- QEMU: " << rr.observed << "\n";
    }
    if (!rr.steps.empty()) {
        out << "\n| step | row | control -> reply | model | QEMU | violated in QEMU's state |\n"
            << "|---|---|---|---|---|---|\n";
        for (const auto& s : rr.steps) {
            out << "| " << s.index << " | " << s.row << " | "
                << cell(s.control.empty() ? "(QEMU)" : s.control + " -> " + s.reply) << " | "
                << cell(s.predicted) << " | "
                << cell(s.compared ? s.observed + (s.matched ? " (same)" : " (DIFFERENT)")
                                   : (s.observed.empty() ? "-" : s.observed + " (stopped)"))
                << " | " << (s.violations.empty() ? "-" : s.violations) << " |\n";
        }
    }
    if (rr.verdict == Verdict::reproduced && !rr.transcript.empty()) {
        // A reproduced story is a bug report waiting to be written: what to run, in order.
        out << "\nReproducer (`handoff replay-qemu --transcript`: the commands the harness ran, "
               "the QMP commands it sent (`->`) and QEMU's replies (`<-`), by model step; "
               "`$DIR` is an empty folder):\n\n```text\n"
            << transcript_text(rr.transcript) << "```\n";
    }
}

} // namespace

TraceSet read_trace_set(const std::string& dir) {
    TraceSet set;
    set.name = fs::path(dir).filename().string();
    std::ifstream cmd(dir + "/command.txt");
    std::getline(cmd, set.command);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".json") {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f);
        nlohmann::json j;
        try {
            in >> j;
        } catch (const nlohmann::json::exception&) {
            throw TraceError(f.string() + " is not JSON");
        }
        if (f.filename() == "none.json") {
            for (const auto& [invariant, bound] : j.items()) {
                set.none.emplace_back(invariant, bound);
            }
        } else {
            set.traces.emplace_back(f.stem().string(), j);
        }
    }
    return set;
}

void write_trace_set(const nlohmann::json& check, const std::string& command,
                     const std::string& dir) {
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".json") {
            fs::remove(e.path());
        }
    }
    const nlohmann::json& results = check.is_object() ? check.at("results") : check;
    nlohmann::json none = nlohmann::json::object();
    for (const auto& r : results) {
        if (r.value("verdict", "") == "violated" && r.contains("trace")) {
            std::ofstream(dir + "/" + r.value("invariant", "unknown") + ".json")
                << r["trace"].dump(1) << "\n";
        } else if (r.contains("controllable") || r.contains("restriction")) {
            // A restricted search that found nothing: the report says so, with its depth.
            none[r.value("invariant", "unknown")] = {{"version", r.value("version", "?")},
                                                     {"depth", r.value("depth", -1)},
                                                     {"detail", r.value("detail", "")}};
        }
    }
    if (!none.empty()) {
        std::ofstream(dir + "/none.json") << none.dump(1) << "\n";
    }
    std::ofstream(dir + "/command.txt") << command << "\n";
}

std::string conformance_report(const std::vector<ReportGroup>& groups, const ReplayOptions& options,
                               const std::function<void(const std::string&)>& progress) {
    std::ostringstream summary, body;
    std::vector<std::string> stories; // one line per reproduced pair, for the summary
    // The restricted traces (those the harness can drive, and those node by node), replayed
    // first: the summary counts them.
    const auto sets_of = [&](TraceSet ReportGroup::*member) {
        std::vector<TraceSet> sets;
        for (const ReportGroup& group : groups) {
            const TraceSet& set = group.*member;
            if (!set.traces.empty() || !set.none.empty()) {
                sets.push_back(set);
            }
        }
        return sets;
    };
    const std::vector<TraceSet> controllable = sets_of(&ReportGroup::controllable);
    const std::vector<TraceSet> node_by_node = sets_of(&ReportGroup::node_by_node);
    std::vector<TraceSet> graphs;
    for (const ReportGroup& group : groups) {
        graphs.insert(graphs.end(), group.graphs.begin(), group.graphs.end());
    }
    std::map<std::string, Tally> driven, by_node, on_graphs;
    const std::string driven_section =
        controllable.empty() ? "" : controllable_report(controllable, options, progress, &driven);
    const std::string node_section =
        node_by_node.empty() ? "" : node_by_node_report(node_by_node, options, progress, &by_node);
    const std::string graph_section =
        graphs.empty() ? "" : graph_report(graphs, options, progress, &on_graphs);
    for (const ReportGroup& group : groups) {
        const TraceSet& primary = group.primary;
        const TraceSet& alternative = group.alternative;
        std::ostringstream table, detail;
        std::string version_line;
        Tally tally;
        // invariant -> where the real QEMU was seen in a state that violates it
        std::map<std::string, std::vector<std::string>> seen_violated;
        table << "| version | invariant | steps | replayable | what the real QEMU did | verdict |\n"
              << "|---|---|---|---|---|---|\n";
        auto run = [&](const std::string& label, const nlohmann::json& trace) {
            if (progress) {
                progress(label);
            }
            ReplayResult rr = replay(trace, options);
            version_line = rr.qemu_version;
            for (const auto& st : rr.steps) {
                std::string rest = st.violations;
                while (!rest.empty()) {
                    const std::size_t comma = rest.find(", ");
                    const std::string inv = rest.substr(0, comma);
                    rest = comma == std::string::npos ? "" : rest.substr(comma + 2);
                    auto& where = seen_violated[inv];
                    const std::string at = label + ", step " + std::to_string(st.index);
                    if (std::find(where.begin(), where.end(), at) == where.end()) {
                        where.push_back(at);
                    }
                }
            }
            return rr;
        };
        for (const auto& entry : primary.traces) {
            // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
            const auto& invariant = entry.first;
            const auto& trace = entry.second;
            const ReplayResult rr = run(primary.name + " " + invariant, trace);
            require_still_violated(primary.name, invariant, rr);
            const std::string version = trace.value("version", "?");
            const std::string anchor = version + "-" + invariant;
            // The pair's verdict is its best replay: the primary trace's, or where that is not
            // replayable, the alternative's.
            Verdict best = rr.verdict;
            std::string best_line;
            auto row = [&](const std::string& name, const nlohmann::json& t,
                           const ReplayResult& r) {
                table << "| " << version << " | [" << invariant << "](#" << anchor << ") "
                      << (name == primary.name ? "" : "(" + name + ")") << " | "
                      << t["steps"].size() << " | "
                      << (r.verdict == Verdict::not_replayable
                              ? "no (step " + std::to_string(r.step) + ")"
                              : "yes")
                      << " | " << cell(r.qemu_behaviour.empty() ? "-" : r.qemu_behaviour) << " | "
                      << verdict_text(r) << " |\n";
                if (r.verdict == Verdict::reproduced && best_line.empty()) {
                    best_line = "- " + version + " " + invariant + " (" +
                                std::to_string(t["steps"].size()) + " steps, instance " + name +
                                "): " + (r.qemu_behaviour.empty() ? "-" : r.qemu_behaviour);
                }
            };
            row(primary.name, trace, rr);
            detail << "\n<a id=\"" << anchor << "\"></a>\n\n## " << version << ": " << invariant
                   << "\n";
            write_replay(detail, "Instance " + primary.name, primary.command, trace, rr);
            if (rr.verdict == Verdict::not_replayable) {
                for (const auto& [inv2, trace2] : alternative.traces) {
                    if (inv2 == invariant && trace2 != trace) {
                        const ReplayResult r2 = run(alternative.name + " " + invariant, trace2);
                        row(alternative.name, trace2, r2);
                        write_replay(detail, "Instance " + alternative.name, alternative.command,
                                     trace2, r2);
                        if (r2.verdict != Verdict::not_replayable) {
                            best = r2.verdict;
                        }
                    }
                }
            }
            switch (best) {
            case Verdict::reproduced:
                ++tally.reproduced;
                break;
            case Verdict::diverged:
                ++tally.diverged;
                break;
            case Verdict::not_replayable:
                ++tally.not_replayable;
                break;
            }
            if (!best_line.empty()) {
                stories.push_back(best_line);
            }
        }
        const std::string binary = version_line.empty() ? "(no trace replayed)" : version_line;
        summary << "| " << primary.name << " | " << binary << " | " << primary.traces.size()
                << " | " << tally.reproduced << " / " << tally.diverged << " / "
                << tally.not_replayable << " | ";
        const auto restricted_cell = [](const std::map<std::string, Tally>& tallies,
                                        const std::string& name) {
            const auto d = tallies.find(name);
            return d == tallies.end() ? std::string("-")
                                      : std::to_string(d->second.reproduced) + " / " +
                                            std::to_string(d->second.diverged) + " / " +
                                            std::to_string(d->second.not_replayable) + " / " +
                                            std::to_string(d->second.none);
        };
        summary << restricted_cell(driven, group.controllable.name) << " | "
                << restricted_cell(by_node, group.node_by_node.name) << " |";
        if (!graphs.empty()) {
            std::string cells;
            for (const TraceSet& set : group.graphs) {
                cells += (cells.empty() ? "" : "; ") + set.name + ": " +
                         restricted_cell(on_graphs, set.name);
            }
            summary << " " << (cells.empty() ? "-" : cells) << " |";
        }
        summary << "\n";
        body << "\n# " << primary.name << " on " << binary << "\n\n"
             << "Instance `" << primary.name << "` is `" << primary.command << "`";
        if (!alternative.traces.empty()) {
            body << "; for a pair whose trace is not replayable, instance `" << alternative.name
                 << "` (`" << alternative.command
                 << "`: no postcopy, local files) gives a second trace";
        }
        body << ". " << primary.traces.size() << " violated pair(s).\n\n" << table.str();
        body << "\nInvariants the real QEMU was observed violating (a compared step whose "
                "matching model state violates them):\n\n";
        if (seen_violated.empty()) {
            body << "- none\n";
        }
        for (const auto& [inv, where] : seen_violated) {
            body << "- " << inv << ":";
            for (std::size_t i = 0; i < where.size(); ++i) {
                body << (i == 0 ? " " : "; ") << where[i];
            }
            body << "\n";
        }
        body << detail.str();
    }
    std::ostringstream out;
    out << "# Conformance: the model's counterexamples replayed on real QEMU binaries\n\n"
        << "Generated by `conformance/regenerate` (do not edit by hand). For each table that "
           "models a QEMU Debian ships, the checker's shortest counterexamples (kept in "
           "`conformance/traces/<instance>/`) are replayed with `handoff replay-qemu` on that "
           "binary. The test `conformance.Qemu.ReportIsCurrent` (label `qemu`) replays them "
           "again and fails when this page differs.\n\n"
        << "## Summary\n\n"
        << "Per version, how its violated pairs ended on the real binary: with the checker's "
           "shortest traces (per pair the best replay: the checker's trace, or where that is not "
           "replayable the restricted instance's), and with the shortest traces that use only "
           "what the harness drives (`handoff check --controllable`; *none*: no such trace "
           "within the depth searched, a bound and not a proof), and with the shortest "
           "controllable traces that address the nodes one by one (`blockdev-set-active "
           "node-name`, QEMU 10.x)"
        << (graphs.empty() ? ""
                           : ", and with the controllable traces on the block graph's "
                             "shapes (chain, shared-base)")
        << ".\n\n"
        << "| instance | real QEMU | violated pairs | shortest traces: reproduced / diverged / "
           "not replayable | controllable traces: reproduced / diverged / not replayable / "
           "none | node by node: reproduced / diverged / not replayable / none |"
        << (graphs.empty() ? "" : " block graph: the same per shape |") << "\n"
        << "|---|---|---|---|---|---|" << (graphs.empty() ? "" : "---|") << "\n"
        << summary.str() << "\nReproduced on the real binary (the checker's shortest traces):\n\n";
    if (stories.empty()) {
        out << "- none\n";
    }
    for (const auto& line : stories) {
        out << cell(line) << "\n";
    }
    out << "\nStates are written as the harness observes them: run state (query-status), "
           "migration status (query-migrate; the model's NONE accepts the incoming status a "
           "destination shows), then each node: ACTIVE (the device holds the write "
           "permission), OPEN (active, but no device holds the write permission: a "
           "half-inactivated node, or an incoming VM that has not run), INACTIVE, BROKEN; or "
           "how the process ended (7.2: the qemu-io probe; 10.x: `query-named-block-nodes`, "
           "`query-block` and the block graph's permissions, never the probe, which aborts "
           "10.0.2 on an inactive node). Steps QEMU takes by itself are compared only where the "
           "real system stops (see conformance/README.md). Verdicts: *reproduced* (QEMU "
           "reached the trace's violating state), *diverged* (QEMU reached a state the model "
           "does not allow: a model or harness bug to fix), *not replayable* (a step has no "
           "real control, or QEMU took another outcome the model also allows and the harness "
           "cannot force the trace's).\n\n"
           "Regenerate with `conformance/regenerate` (new traces from the checker, then the "
           "page) or `conformance/regenerate --report-only` (the stored traces only).\n"
        << driven_section << node_section << graph_section << body.str();
    return out.str();
}

namespace {

// What tells one restricted section from another: its heading, the paragraph under it, and the
// word that marks its replays.
struct RestrictedSection {
    std::string_view heading;
    std::string_view intro;
    std::string_view mark; // "controllable": "v7.2 single-owner (controllable)"
};

std::string restricted_report(const std::vector<TraceSet>& sets, const ReplayOptions& options,
                              const std::function<void(const std::string&)>& progress,
                              std::map<std::string, Tally>* tally,
                              const RestrictedSection& section) {
    std::map<std::string, Tally> counts;
    std::ostringstream table, detail, versions;
    table << "| version | invariant | steps | what the real QEMU did | verdict |\n"
          << "|---|---|---|---|---|\n";
    for (const TraceSet& set : sets) {
        // Every pair of the set, in invariant order: a trace to replay, or none within the depth.
        std::map<std::string, std::pair<const nlohmann::json*, const nlohmann::json*>> pairs;
        for (const auto& [invariant, trace] : set.traces) {
            pairs[invariant].first = &trace;
        }
        for (const auto& [invariant, bound] : set.none) {
            pairs[invariant].second = &bound;
        }
        std::string version_line;
        // On a graph the version cell names the shape too: "v10.0 chain".
        std::string shape;
        for (const auto& entry : set.traces) {
            const std::string g = entry.second.value("graph", std::string("flat"));
            shape = g == "flat" ? "" : " " + g;
        }
        for (const auto& [invariant, entry] : pairs) {
            const auto& [trace, bound] = entry;
            if (trace == nullptr) {
                const int depth = bound->value("depth", -1);
                const std::string verdict =
                    depth >= 0 ? "no controllable trace within depth " + std::to_string(depth)
                               : "no controllable trace found (" + bound->value("detail", "") + ")";
                table << "| " << bound->value("version", set.name) << shape << " | " << invariant
                      << " | - | - | " << verdict << " |\n";
                ++counts[set.name].none;
                continue;
            }
            if (progress) {
                progress(set.name + " " + invariant);
            }
            const ReplayResult rr = replay(*trace, options);
            version_line = rr.qemu_version;
            const std::string version = trace->value("version", "?") + shape;
            require_still_violated(set.name, invariant, rr);
            table << "| " << version << " | " << invariant << " | " << (*trace)["steps"].size()
                  << " | " << cell(rr.qemu_behaviour.empty() ? "-" : rr.qemu_behaviour) << " | "
                  << verdict_text(rr) << " |\n";
            Tally& t = counts[set.name];
            ++(rr.verdict == Verdict::reproduced ? t.reproduced
               : rr.verdict == Verdict::diverged ? t.diverged
                                                 : t.not_replayable);
            write_replay(detail, version + " " + invariant + " (" + std::string(section.mark) + ")",
                         set.command, *trace, rr);
        }
        if (!version_line.empty()) {
            versions << "- `" << set.name << "`: `" << set.command << "` on **" << version_line
                     << "**\n";
        }
    }
    std::ostringstream out;
    out << "\n## " << section.heading << "\n\n"
        << section.intro << "\n\n"
        << versions.str() << "\n"
        << table.str() << detail.str();
    if (tally != nullptr) {
        *tally = counts;
    }
    return out.str();
}

} // namespace

std::string controllable_report(const std::vector<TraceSet>& sets, const ReplayOptions& options,
                                const std::function<void(const std::string&)>& progress,
                                std::map<std::string, Tally>* tally) {
    return restricted_report(
        sets, options, progress, tally,
        {.heading = "Traces the harness can drive",
         .intro = "For every pair the checker finds violated at N = 2 (proofs/expected.json), the "
                  "shortest counterexample that uses only what the harness drives on the "
                  "version's real QEMU (`handoff check --controllable`: the rows, outcomes and "
                  "stop points of conformance/src/controls.cpp, which `handoff controls --version "
                  "V` prints), replayed on that QEMU; or, where there is none, the depth searched "
                  "(a bound, not a proof).",
         .mark = "controllable"});
}

std::string node_by_node_report(const std::vector<TraceSet>& sets, const ReplayOptions& options,
                                const std::function<void(const std::string&)>& progress,
                                std::map<std::string, Tally>* tally) {
    return restricted_report(
        sets, options, progress, tally,
        {.heading = "Node by node: blockdev-set-active node-name",
         .intro = "QEMU 10.x lets management activate and inactivate one node "
                  "(`blockdev-set-active` with a `node-name`: qmp_blockdev_set_active(), "
                  "bdrv_activate() or bdrv_inactivate() of that node; the table's rows "
                  "`blockdev_set_active_node` and `blockdev_set_inactive_node`). For every pair "
                  "the checker finds violated at N = 2, the shortest controllable counterexample "
                  "that never addresses every node at once (`handoff check --controllable "
                  "--without-row blockdev_set_active_all --without-row "
                  "blockdev_set_inactive_all`), replayed on the real QEMU: the harness sends "
                  "`blockdev-set-active node-name=diskN` to the disk's qcow2 node, and compares "
                  "every node after it; or, where there is none, the depth searched (a bound, "
                  "not a proof).",
         .mark = "node by node"});
}

std::string graph_report(const std::vector<TraceSet>& sets, const ReplayOptions& options,
                         const std::function<void(const std::string&)>& progress,
                         std::map<std::string, Tally>* tally) {
    return restricted_report(
        sets, options, progress, tally,
        {.heading = "The block graph on the real binaries",
         .intro = "The checker's shortest controllable counterexamples on the graph shapes "
                  "(`handoff check --graph SHAPE --controllable`, 2 disks: docs/graphs/), "
                  "replayed on the same graph built on the real QEMU. Each disk is opened as "
                  "the model's instance opens it, with `-drive` (every node implicit, so "
                  "bdrv_next() returns the BlockBackends' roots only): chain, a qcow2 over its "
                  "protocol node with a backing qcow2 over its own (`backing.driver=qcow2`); "
                  "shared-base, the second disk's `backing=base` naming the node the first "
                  "opened. Every node has the model's label as its node-name, every image its "
                  "own qemu-nbd (or local file). What cannot be seen is written `-` and not "
                  "compared: on 10.0.2, while a node has no driver, `query-named-block-nodes` "
                  "and `query-block` fail, so only that node (BROKEN) and the nodes a parent "
                  "holds WRITE on (ACTIVE) are seen; on 7.2.22 the probe is sent to format "
                  "nodes only (a write through a protocol node would land on the qcow2 "
                  "header), a backing image answers only whether it has a driver, and \"No "
                  "medium found\" names a node only when no node below it says the same. After "
                  "the storage returns, the harness reads through every protocol node until "
                  "QEMU's NBD client has reconnected. The job shape is not built (no block job "
                  "runs).",
         .mark = "block graph"});
}

} // namespace handoff::conformance
