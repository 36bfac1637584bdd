// `handoff replay-qemu TRACE.json`: replays a model trace on a real QEMU (the binary the trace's
// version maps to: Debian 12's 7.2.22 for v7.2, the fetched 10.0.x for v10.0; or --qemu DIR) and
// ends in one verdict. Exit codes: 0 reproduced, 1 diverged, 2 bad input (unreadable file,
// malformed trace, unknown version, no binary for the version, a --qemu folder without QEMU),
// 3 not replayable, 4 the harness failed (QEMU missing or not running, a process that would not
// start or answer).
#include "commands.hpp"
#include "instance_options.hpp"
#include "progress.hpp"

#include "handoff/conformance/binaries.hpp"
#include "handoff/conformance/controls.hpp"
#include "handoff/conformance/replay.hpp"
#include "handoff/conformance/report.hpp"

#include "handoff/model/printer.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

namespace handoff::cli {

namespace {

struct ReplayArgs {
    std::string file;
    std::string qemu;
    int timeout_ms = 10000;
    bool keep = false;
    bool json = false;
    bool transcript = false;
};

nlohmann::json read_trace(const std::string& file) {
    std::ifstream in(file);
    if (!in) {
        throw UsageError("cannot read " + file);
    }
    nlohmann::json j;
    try {
        in >> j;
    } catch (const nlohmann::json::exception&) {
        throw UsageError(file + " is not JSON");
    }
    // A `handoff check --json` result carries its trace under "trace".
    if (j.is_object() && j.contains("trace") && !j.contains("steps")) {
        j = j["trace"];
    }
    return j;
}

int run_replay(const ReplayArgs& a) {
    namespace c = handoff::conformance;
    if (!a.qemu.empty()) {
        try {
            c::qemu_at(a.qemu); // a bad option is named before the trace is read
        } catch (const c::BinaryError& e) {
            throw UsageError(e.what());
        }
    }
    nlohmann::json trace = read_trace(a.file);
    // A whole `handoff check --json` output: its one counterexample.
    if (trace.is_object() && trace.contains("results") && trace["results"].is_array()) {
        std::vector<nlohmann::json> found;
        for (const auto& r : trace["results"]) {
            if (r.is_object() && r.contains("trace")) {
                found.push_back(r["trace"]);
            }
        }
        if (found.size() != 1) {
            throw UsageError(fmt::format("{}: the check output holds {} traces, not one (give one "
                                         "result: jq '.results[I]')",
                                         a.file, found.size()));
        }
        trace = found.front();
    }
    c::ReplayOptions opt;
    opt.timeout = c::milliseconds(a.timeout_ms);
    opt.keep_dir = a.keep;
    opt.qemu_dir = a.qemu;
    opt.on_warning = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
    if (!a.json) {
        opt.on_step = [](const c::StepRecord& r) {
            fmt::print("{:>3}. {}{}\n", r.index, r.row,
                       r.params_text.empty() ? "" : " (" + r.params_text + ")");
            if (!r.control.empty()) {
                fmt::print("     control: {} -> {}\n", r.control, r.reply);
            } else {
                fmt::print("     QEMU runs it by itself\n");
            }
            fmt::print("     model:   {}\n", r.predicted);
            if (r.compared) {
                fmt::print("     qemu:    {} [{}]\n", r.observed, r.matched ? "same" : "DIFFERENT");
            } else if (!r.observed.empty()) {
                fmt::print("     qemu:    {} (where it stopped)\n", r.observed);
            }
            std::fflush(stdout);
        };
    }
    c::ReplayResult r;
    try {
        r = c::replay(trace, opt);
    } catch (const c::TraceError& e) {
        throw UsageError(a.file + ": " + e.what());
    } catch (const c::BinaryError& e) {
        throw UsageError(e.what());
    } catch (const c::HarnessError& e) {
        std::fprintf(stderr, "handoff: harness failure: %s\n", e.what());
        return 4;
    }
    if (a.json) {
        nlohmann::json steps = nlohmann::json::array();
        for (const auto& s : r.steps) {
            steps.push_back({{"step", s.index},
                             {"row", s.row},
                             {"params", s.params_text},
                             {"control", s.control},
                             {"reply", s.reply},
                             {"compared", s.compared},
                             {"matched", s.matched},
                             {"model", s.predicted},
                             {"qemu", s.observed}});
        }
        std::cout << nlohmann::json{{"verdict", c::verdict_name(r.verdict)},
                                    {"step", r.step},
                                    {"reason", r.reason},
                                    {"model", r.predicted},
                                    {"qemu", r.observed},
                                    {"qemu_final", r.qemu_behaviour},
                                    {"violated", r.violated},
                                    {"qemu_version", r.qemu_version},
                                    {"qemu_binary", r.qemu_binary},
                                    {"qemu_expected", r.qemu_expected},
                                    {"version_warning", r.version_warning},
                                    {"notes", r.notes},
                                    {"seconds", r.seconds},
                                    {"steps", steps},
                                    {"transcript", c::transcript_json(r.transcript)}}
                         .dump(2)
                  << "\n";
    } else {
        fmt::print("{}\n", r.qemu_version);
        if (!r.notes.empty()) {
            fmt::print("note: {}\n", r.notes);
        }
        switch (r.verdict) {
        case c::Verdict::reproduced:
            fmt::print("verdict: reproduced ({} steps): {}\n", r.step, r.reason);
            break;
        case c::Verdict::diverged:
            fmt::print("verdict: diverged at step {}: {}\n  model: {}\n  qemu:  {}\n", r.step,
                       r.reason, r.predicted, r.observed);
            break;
        case c::Verdict::not_replayable:
            fmt::print("verdict: not replayable: {}\n", r.reason);
            if (!r.predicted.empty()) {
                fmt::print("  model: {}\n  qemu:  {}\n", r.predicted, r.observed);
            }
            break;
        }
        fmt::print("time: {:.1f} s\n", r.seconds);
        if (a.transcript) {
            fmt::print("\ntranscript{}:\n{}", r.transcript.empty() ? " (no QEMU was started)" : "",
                       c::transcript_text(r.transcript));
        }
    }
    switch (r.verdict) {
    case c::Verdict::reproduced:
        return 0;
    case c::Verdict::diverged:
        return 1;
    case c::Verdict::not_replayable:
        return 3;
    }
    return 4;
}

// The controls table of one version, as the checker reads it: per row who takes it, the
// control, and when a controllable trace may take it; then the named conditions' definitions.
void print_controls(const std::string& version) {
    namespace c = handoff::conformance;
    const model::TableData& table = require_version(version);
    model::StepRestriction r;
    try {
        r = c::controllable(table);
    } catch (const c::NoControls& e) {
        throw UsageError(e.what());
    }
    fmt::print("# Controls of the conformance harness: {}\n\n", version);
    fmt::print("Only {} (conformance/src/controls.cpp): `handoff check --controllable` searches "
               "only "
               "paths that start where `initial` holds, take each step where its row's "
               "condition holds (h: the step's host; fail, half, broken: its outcome), and end "
               "where `last` holds.\n\n",
               r.name);
    fmt::print("| row | taken by | control | allowed when |\n|---|---|---|---|\n");
    for (std::size_t i = 0; i < table.rows.size(); ++i) {
        const std::string_view name = table.rows[i].name;
        const c::RowControl* rc = c::row_control(name);
        const std::string side = rc == nullptr || rc->side == c::Side::harness ? "harness" : "QEMU";
        const std::string control =
            rc == nullptr ? "-"
                          : (rc->control == c::Control::by_qemu ? "(QEMU's own step)"
                                                                : std::string(rc->text));
        const int e = r.row_allowed[i];
        const std::string when =
            e < 0 ? "never: " + c::why_no_control(name) : model::print_expr(r.ast, e);
        auto cell = [](std::string text) { // a `|` of an expression would end the cell
            for (std::size_t at = text.find('|'); at != std::string::npos;
                 at = text.find('|', at + 2)) {
                text.insert(at, "\\");
            }
            return text;
        };
        fmt::print("| {} | {} | {} | {} |\n", name, side,
                   cell(rc != nullptr && rc->control == c::Control::none ? "-" : control),
                   cell(when));
    }
    fmt::print("\ninitial: {}\n\nlast: {}\n\nDefinitions:\n\n",
               r.initial < 0 ? "true" : model::print_expr(r.ast, r.initial),
               r.last < 0 ? "true" : model::print_expr(r.ast, r.last));
    std::vector<std::string> done;
    for (int i = 0; i < static_cast<int>(r.ast.nodes.size()); ++i) {
        const model::AstNode& n = r.ast[i];
        if (n.op != model::Op::Named) {
            continue;
        }
        const std::string head = model::print_expr(r.ast, i);
        const std::string name(n.text);
        if (std::find(done.begin(), done.end(), name) != done.end()) {
            continue;
        }
        done.push_back(name);
        fmt::print("- `{}` = `{}`\n", head, model::print_expr(r.ast, n.kid[0]));
    }
}

} // namespace

void register_conformance_commands(CLI::App& app) {
    auto controls_version = std::make_shared<std::string>();
    auto* controls = app.add_subcommand(
        "controls", "Print what the conformance harness can drive on a version's real QEMU (the "
                    "table `handoff check --controllable` searches with), as Markdown");
    controls->add_option("--version", *controls_version, "v7.2 or v10.0")->required();
    controls->callback([controls_version] { print_controls(*controls_version); });

    auto a = std::make_shared<ReplayArgs>();
    auto* cmd = app.add_subcommand(
        "replay-qemu",
        "Replay a model trace (handoff check --json) on the real QEMU, step by step, and say "
        "whether QEMU did what the model predicted");
    cmd->add_option("TRACE", a->file, "The trace file (a trace object, or a check result)")
        ->required();
    cmd->add_option("--qemu", a->qemu,
                    "Run this QEMU instead of the one the trace's version maps to (v7.2: the "
                    "system's qemu-system-x86_64; v10.0: the 10.0.x conformance/fetch-qemu "
                    "unpacks; no other version has one): a folder with bin/ or usr/bin/ "
                    "qemu-system-x86_64 (an installed tree), or a QEMU build directory "
                    "(qemu-system-x86_64, qemu-img, qemu-nbd at its top). Its --version is "
                    "compared with the trace's version; a difference is one warning")
        ->type_name("DIR");
    cmd->add_option("--timeout-ms", a->timeout_ms, "Deadline of every wait (default 10000)")
        ->check(CLI::Range(100, 600000));
    cmd->add_flag("--keep", a->keep, "Keep the temporary folder with QEMU's logs");
    cmd->add_flag("--json", a->json,
                  "Write the result as JSON (with the transcript, as an array of {section, kind, "
                  "host, text})");
    cmd->add_flag("--transcript", a->transcript,
                  "After the verdict, print what was done to QEMU as a reproducer for a bug "
                  "report: the storage commands, each QEMU command line, every QMP command with "
                  "its reply (-> / <-), the relay's and the storage's actions, grouped by model "
                  "step, and how the processes ended; the temporary folder is $DIR and the "
                  "harness's polling is one line per observation (--json always carries it)");
    cmd->footer("Binaries: v7.2 -> qemu-system-x86_64, qemu-img, qemu-nbd on PATH (Debian 12's "
                "7.2.22); v10.0 -> " +
                handoff::conformance::fetched_qemu_dir() +
                " (conformance/fetch-qemu; the folder follows HANDOFF_QEMU_CACHE). The "
                "version line goes into the result.\nExit codes: 0 reproduced, 1 diverged, 2 bad "
                "input (no binary for the trace's version, a --qemu folder without QEMU, ...), 3 "
                "not replayable, 4 the harness failed (QEMU missing or not answering).");
    cmd->callback([a] { exit_code() = run_replay(*a); });

    struct ReportArgs {
        std::vector<std::string> primary, alternative, controllable, node_by_node, graphs;
        std::string split, command, out;
        int timeout_ms = 10000;
        bool quiet = false;
    };
    auto r = std::make_shared<ReportArgs>();
    auto* rep = app.add_subcommand(
        "conformance-report",
        "Write the conformance page (Markdown, to stdout): replay every trace of a folder on the "
        "real QEMU; or, with --split, store the traces of a `handoff check --json` output "
        "(conformance/regenerate runs both)");
    rep->add_option("--traces", r->primary,
                    "Folder of traces (conformance/traces/v7.2); repeat it for each version");
    rep->add_option("--alternative", r->alternative,
                    "Folder of traces from a replayable sub-instance, used where the first "
                    "trace is not replayable; the i-th goes with the i-th --traces");
    rep->add_option("--controllable", r->controllable,
                    "Folder of the traces of a `handoff check --controllable`: a section with "
                    "each pair's verdict, or none within the depth; the i-th goes with the i-th "
                    "--traces");
    rep->add_option("--node-by-node", r->node_by_node,
                    "Folder of the traces of a `handoff check --controllable --without-row "
                    "blockdev_set_active_all --without-row blockdev_set_inactive_all` (QEMU "
                    "10.x): a section like --controllable's; the i-th goes with the i-th "
                    "--traces, - for none");
    rep->add_option("--graph-traces", r->graphs,
                    "Folder of the traces of a `handoff check --graph SHAPE --controllable` "
                    "(conformance/traces/v10.0-chain): a section on the block graph; it goes "
                    "with the --traces folder whose name its own begins with; repeat it");
    rep->add_option("--split", r->split, "A `handoff check --json` output to store as traces");
    rep->add_option("--command", r->command, "With --split: the check command line");
    rep->add_option("--out", r->out, "With --split: the folder to write");
    rep->add_option("--timeout-ms", r->timeout_ms, "Deadline of every wait (default 10000)")
        ->check(CLI::Range(100, 600000));
    rep->add_flag("--quiet", r->quiet,
                  "No progress line on stderr (it is shown only on a terminal anyway)");
    rep->callback([r] {
        namespace c = handoff::conformance;
        if (!r->split.empty()) {
            if (r->out.empty()) {
                throw UsageError("--split needs --out");
            }
            try {
                c::write_trace_set(read_trace(r->split), r->command, r->out);
            } catch (const nlohmann::json::exception& e) {
                throw UsageError(r->split + ": not a check result: " + e.what());
            }
            return;
        }
        if (r->primary.empty()) {
            throw UsageError("give --traces DIR (or --split CHECK.json --out DIR)");
        }
        if (r->alternative.size() > r->primary.size() ||
            r->controllable.size() > r->primary.size() ||
            r->node_by_node.size() > r->primary.size()) {
            throw UsageError("more --alternative, --controllable or --node-by-node folders than "
                             "--traces folders");
        }
        c::ReplayOptions opt;
        opt.timeout = c::milliseconds(r->timeout_ms);
        try {
            std::vector<c::ReportGroup> groups;
            const auto folder = [](const std::vector<std::string>& dirs, std::size_t i) {
                return i < dirs.size() && dirs[i] != "-" ? c::read_trace_set(dirs[i])
                                                         : c::TraceSet{};
            };
            for (std::size_t i = 0; i < r->primary.size(); ++i) {
                groups.push_back({c::read_trace_set(r->primary[i]), folder(r->alternative, i),
                                  folder(r->controllable, i), folder(r->node_by_node, i)});
            }
            for (const std::string& dir : r->graphs) {
                c::TraceSet set = c::read_trace_set(dir);
                const auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
                    return set.name.rfind(g.primary.name + "-", 0) == 0;
                });
                if (group == groups.end()) {
                    throw UsageError("--graph-traces " + dir + ": no --traces folder whose name " +
                                     set.name + " begins with");
                }
                group->graphs.push_back(std::move(set));
            }
            std::string page;
            {
                // The replays' count and the one running: about 150 of them, two minutes.
                ProgressLine progress(r->quiet);
                const auto start = std::chrono::steady_clock::now();
                int replays = 0;
                page = c::conformance_report(groups, opt, [&](const std::string& what) {
                    progress.show(fmt::format(
                        "conformance-report: {} replayed, {:.0f} s; replaying {}", replays++,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count(),
                        what));
                });
            }
            std::cout << page;
        } catch (const c::TraceError& e) {
            throw UsageError(e.what());
        } catch (const c::BinaryError& e) {
            throw UsageError(e.what());
        } catch (const std::filesystem::filesystem_error& e) {
            throw UsageError(e.what());
        } catch (const c::HarnessError& e) {
            std::fprintf(stderr, "handoff: harness failure: %s\n", e.what());
            exit_code() = 4;
        }
    });
}

} // namespace handoff::cli
