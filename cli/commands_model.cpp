// Subcommands that read the model only: versions, invariants, spec, diff, explore.
#include "commands.hpp"
#include "instance_options.hpp"
#include "progress.hpp"
#include "replay_on_version.hpp"

#include "handoff/conformance/controls.hpp"
#include "handoff/impl/qemu_version.hpp"
#include "handoff/model/explore.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/spec.hpp"
#include "handoff/model/story.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace handoff::cli {

using namespace handoff::model;

namespace {

std::vector<const InvariantData*> select_invariants(const TableData& table,
                                                    const std::vector<std::string>& names) {
    std::vector<const InvariantData*> out;
    if (names.empty()) {
        for (const auto& inv : all_invariants()) {
            if (inv.applies_to(table.version)) {
                out.push_back(&inv);
            }
        }
        return out;
    }
    for (const auto& name : names) {
        const InvariantData& inv = require_invariant(name);
        if (!inv.applies_to(table.version)) {
            throw UsageError(
                fmt::format("invariant '{}' does not apply to {}", name, table.version));
        }
        out.push_back(&inv);
    }
    return out;
}

// What else checks a version besides the model: the property tests run the versions impl/ has a
// MigrationPolicy for, and the conformance harness replays traces on the versions with a real QEMU.
std::string tested_by(std::string_view version) {
    const bool has_policy =
        std::any_of(impl::all_qemu_versions.begin(), impl::all_qemu_versions.end(),
                    [&](impl::QemuVersion v) { return impl::to_string(v) == version; });
    const conformance::BinaryControls* binary = conformance::binary_controls_for(version);
    return fmt::format("{}; {}",
                       has_policy ? "impl/ policy: the property tests run it"
                                  : "no impl/ policy: the property tests do not run it",
                       binary != nullptr
                           ? fmt::format("conformance replays its traces on {}", binary->qemu)
                           : std::string("no real QEMU: conformance does not replay it"));
}

std::string verdict_word(const Exploration& e, const InvariantVerdict& v) {
    if (v.violated) {
        return "violated";
    }
    return e.complete ? "holds" : "unknown";
}

void print_exploration(const Interpreter& interp, const InstanceOptions& opts, const Exploration& e,
                       bool with_traces) {
    fmt::print("{} ({}): {} states, {} transitions, depth {}, {:.1f} s{}\n", interp.table().version,
               opts.describe(), e.states, e.transitions, e.depth, e.seconds,
               e.complete ? "" : " -- state limit reached, exploration incomplete");
    for (const auto& v : e.verdicts) {
        std::string detail;
        if (v.violated) {
            detail = fmt::format("shortest trace: {} steps; {} violating states",
                                 v.trace->steps.size(), v.violating);
        } else if (e.complete) {
            detail = "for this instance (every reachable state explored)";
        }
        fmt::print("  {:<40} {:<9} {}\n", v.invariant->name, verdict_word(e, v), detail);
    }
    if (!with_traces) {
        return;
    }
    for (const auto& v : e.verdicts) {
        if (v.violated) {
            fmt::print("\n{} violated on {}:\n{}", v.invariant->name, interp.table().version,
                       format_story(interp, *v.trace, v.invariant));
        }
    }
}

nlohmann::json read_json_file(const std::string& file, const char* what) {
    std::ifstream in(file);
    if (!in) {
        throw UsageError(fmt::format("cannot read '{}': {}", file, std::strerror(errno)));
    }
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw UsageError(fmt::format("{}: not {}: {}", file, what, e.what()));
    }
}

// A stored counterexample as a story for the page: its headline if the file has one, otherwise
// its steps (parameters that say nothing happened, `none` and `no`, left out). The trace is read
// through trace_from_json(), so a stale trace is refused rather than printed.
SpecStory read_story(const std::filesystem::path& file, const TableData& table) {
    const nlohmann::json j = read_json_file(file.string(), "a JSON trace");
    SpecStory story;
    story.link = file.generic_string();
    try {
        const proofs::TraceHeader h = proofs::read_trace_header(j);
        if (h.table != &table) {
            throw proofs::TraceError("the trace is for " + std::string(h.table->version) +
                                     ", not " + std::string(table.version));
        }
        const Interpreter interp(table, h.instance);
        const Trace trace = proofs::trace_from_json(interp, j);
        std::string on;
        for (const auto& cap : proofs::kCapabilityNames) {
            if (interp.get(trace.initial, cap.var) != 0) {
                on += (on.empty() ? "" : ", ") + std::string(cap.name);
            }
        }
        story.start = "host 0 " +
                      value_name(DomainId::RunState, interp.get(trace.initial, Var::runstate, 0)) +
                      (on.empty() ? ", every capability off"
                                  : " with " + on + " on (every other capability off)");
        for (const auto& ts : trace.steps) {
            const RowData& row = table.rows[static_cast<std::size_t>(ts.step.row)];
            std::string params;
            for (Param p : row.params) {
                const int value = ts.step.params[static_cast<std::size_t>(p)];
                const ParamKind kind = param_info(p).kind;
                if ((kind == ParamKind::NodeOrNone && value >= h.instance.nodes) ||
                    (kind == ParamKind::Flag && value == 0)) {
                    continue;
                }
                params += (params.empty() ? "" : ", ") + std::string(param_info(p).name) + "=" +
                          param_value_name(p, value, h.instance.nodes);
            }
            story.steps.push_back({std::string(row.name), params});
        }
    } catch (const proofs::TraceError& e) {
        throw UsageError(fmt::format("{}: {}", file.string(), e.what()));
    }
    if (j.contains("headline") && j["headline"].is_string()) {
        story.headline = j["headline"].get<std::string>();
    }
    return story;
}

// The verdicts of one version in the checker's expected results (proofs/expected.json, written by
// proofs/regenerate) and the stories of its violations, from the traces beside the manifest:
// traces/<version>/<invariant>.json, or traces/<version>/any/<invariant>.json for a result of the
// `any` environment profile. Links are relative to the directory the page is written to when
// `file` is given relative to it.
SpecResults read_spec_results(const std::string& file, const TableData& table) {
    const nlohmann::json j = read_json_file(file, "a JSON manifest");
    SpecResults out;
    out.manifest_link = std::filesystem::path(file).generic_string();
    const std::filesystem::path traces = std::filesystem::path(file).parent_path() / "traces";
    try {
        // The instance of every result (the environment profile is per result).
        const nlohmann::json& inst = j.at("instance");
        const int nodes = inst.at("nodes").get<int>();
        const int starts = inst.at("starts").get<int>();
        const int calls = inst.at("set_active_calls").get<int>();
        std::string caps;
        for (const auto& c : inst.at("caps").get<std::vector<std::string>>()) {
            caps += (caps.empty() ? "" : ", ") + c;
        }
        out.instance = fmt::format(
            "N = {} node{}, {} process start{}, {} blockdev-set-active call{}, {}", nodes,
            nodes == 1 ? "" : "s", starts, starts == 1 ? "" : "s", calls, calls == 1 ? "" : "s",
            caps.empty() ? "every capability combination" : caps);
        for (const auto& r : j.at("results")) {
            if (r.at("version").get<std::string>() != table.version) {
                continue;
            }
            SpecVerdict v;
            v.invariant = r.at("invariant").get<std::string>();
            v.verdict = r.at("verdict").get<std::string>();
            v.engine = r.value("engine", "");
            v.steps = r.value("steps", 0);
            v.depth = r.value("depth", 0);
            const std::string env = r.value("env", "");
            if (env != "" && env != "documented" && env != "any") {
                throw UsageError(
                    fmt::format("{}: unknown env '{}' (expected documented or any)", file, env));
            }
            out.profiles = out.profiles || !env.empty();
            if (v.verdict == "violated") {
                std::filesystem::path trace = traces / std::string(table.version);
                if (env == "any") {
                    trace /= "any";
                }
                v.story = read_story(trace / (v.invariant + ".json"), table);
            }
            (env == "any" ? out.any : out.documented).push_back(std::move(v));
        }
    } catch (const nlohmann::json::exception& e) {
        throw UsageError(fmt::format("{}: not a manifest of handoff check: {}", file, e.what()));
    }
    return out;
}

} // namespace

void register_model_commands(CLI::App& app) {
    auto* versions = app.add_subcommand("versions", "List the QEMU versions the model knows");
    versions->callback([] {
        for (const TableData* t : all_versions()) {
            fmt::print("{:<10} {}\n{:<10} read from {}\n{:<10} {}\n", t->version,
                       t->based_on.empty() ? std::string("(first table)")
                                           : fmt::format("derived from {}", t->based_on),
                       "", t->source, "", tested_by(t->version));
        }
    });

    auto* invariants = app.add_subcommand("invariants", "List the invariants and where they apply");
    invariants->callback([] {
        for (const auto& inv : all_invariants()) {
            std::string where;
            for (auto v : inv.versions()) {
                where += (where.empty() ? "" : ", ") + std::string(v);
            }
            fmt::print("{}\n  {}\n  applies to: {} ({})\n  source: {}\n\n", inv.name, inv.statement,
                       where.empty() ? "no version" : where, inv.applies_where.describe(),
                       inv.source);
        }
    });

    struct SpecArgs {
        std::string version;
        std::string format = "md";
        std::string results;
        std::string graph; // "": no block graph section
        int disks = 2;
    };
    auto sa = std::make_shared<SpecArgs>();
    auto* spec =
        app.add_subcommand("spec", "Print a version's specification (Markdown or Graphviz)");
    spec->add_option("--version", sa->version, "QEMU version, e.g. v8.1")->required();
    spec->add_option("--format", sa->format, "md or dot")->capture_default_str();
    spec->add_option("--results", sa->results,
                     "The checker's expected results (proofs/expected.json, with the traces in "
                     "traces/ beside it): the page shows the version's verdicts and stories, "
                     "linked relative to the current directory");
    spec->add_option("--graph", sa->graph,
                     "Also draw an instance's block graph (flat, chain, shared-base, job): each "
                     "node's kind, parent and place in QEMU's two walks (a section of the page, "
                     "a cluster of the picture)");
    spec->add_option("--disks", sa->disks, "With --graph: disks per host (default 2)")
        ->check(CLI::Range(1, 16));
    spec->callback([sa] {
        const TableData& table = require_version(sa->version);
        std::optional<BlockGraph> graph;
        if (!sa->graph.empty()) {
            const GraphShape shape = require_graph_shape(sa->graph);
            try {
                graph = BlockGraph::make(shape, BlockGraph::node_count(shape, sa->disks));
            } catch (const std::invalid_argument& e) {
                throw UsageError(fmt::format("--graph {}: {}", sa->graph, e.what()));
            }
        }
        if (sa->format == "md") {
            std::string page;
            if (sa->results.empty()) {
                page = render_spec_markdown(table);
            } else {
                const SpecResults results = read_spec_results(sa->results, table);
                page = render_spec_markdown(table, &results);
            }
            if (graph) {
                // After the page's opening (its title and summary): before its first "## ".
                const std::size_t at = page.find("\n## ");
                const std::size_t where = at == std::string::npos ? page.size() : at + 1;
                page.insert(where, render_block_graph_markdown(*graph, sa->disks));
            }
            std::cout << page;
        } else if (sa->format == "dot") {
            if (!sa->results.empty()) {
                throw UsageError("--results is for the Markdown page (--format md), not the "
                                 "picture");
            }
            std::string picture = render_spec_dot(table);
            if (graph) {
                picture.insert(picture.rfind('}'), render_block_graph_dot(*graph));
            }
            std::cout << picture;
        } else {
            throw UsageError(
                fmt::format("unknown format '{}' (expected one of: md, dot)", sa->format));
        }
    });

    auto legend_version = std::make_shared<std::string>();
    auto* legend_cmd = app.add_subcommand(
        "legend", "Every abbreviation of a printed trace: notation, parameters (h, fail, half, "
                  "refail, ...), variables (pc, node[h][n], ...) and values");
    legend_cmd->add_option("--version", *legend_version,
                           "Also list this version's rows with their sentences, e.g. v8.0.0");
    legend_cmd->callback([legend_version] {
        std::cout << legend(legend_version->empty() ? nullptr : &require_version(*legend_version));
    });

    auto diff_versions = std::make_shared<std::vector<std::string>>();
    auto diff_traces = std::make_shared<std::string>();
    auto* diff = app.add_subcommand("diff", "Show the rows that differ between two versions");
    diff->add_option("versions", *diff_versions, "V1 V2")->required()->expected(2);
    diff->add_option("--traces", *diff_traces,
                     "Also replay V1's stored counterexamples (DIR/V1/*.json, e.g. DIR = "
                     "proofs/traces) on V2 and list, per row, the ones V2 stops there");
    diff->callback([diff_versions, diff_traces] {
        const TableData& a = require_version((*diff_versions)[0]);
        const TableData& b = require_version((*diff_versions)[1]);
        std::cout << render_diff(a, b);
        if (!diff_traces->empty()) {
            std::cout.flush();
            print_blocked_traces(a, b, *diff_traces);
        }
    });

    struct ExploreArgs {
        std::string version;
        std::vector<std::string> invariants;
        InstanceOptions instance;
        bool json = false;
        bool quiet = false;
        std::string evaluator = "compiled";
        unsigned jobs = std::max(1U, std::thread::hardware_concurrency());
    };
    auto ex = std::make_shared<ExploreArgs>();
    auto* explore_cmd = app.add_subcommand(
        "explore", "Explore every reachable state of a finite instance (breadth-first)");
    explore_cmd->add_option("--version", ex->version, "QEMU version, e.g. v8.0.0")->required();
    explore_cmd->add_option("--invariant", ex->invariants,
                            "Check only this invariant (repeatable); default: all that apply");
    ex->instance.add_to(explore_cmd);
    explore_cmd->add_flag("--json", ex->json, "Write the results as JSON");
    explore_cmd->add_flag("--quiet", ex->quiet,
                          "No progress line on stderr (it is shown only on a terminal anyway)");
    explore_cmd
        ->add_option("--evaluator", ex->evaluator,
                     "How states are expanded: compiled (the table specialised for the instance) "
                     "or ast (the general evaluator; the same states and verdicts, for measuring)")
        ->check(CLI::IsMember({"compiled", "ast"}))
        ->capture_default_str();
    explore_cmd
        ->add_option("--jobs", ex->jobs,
                     "Threads that expand states (the same states, numbering and traces for any "
                     "number)")
        ->check(CLI::Range(1U, 64U))
        ->capture_default_str();
    explore_cmd->callback([ex] {
        const TableData& table = require_version(ex->version);
        const auto invs = select_invariants(table, ex->invariants);
        const Interpreter interp(table, ex->instance.instance());
        Exploration e;
        {
            ProgressLine progress(ex->quiet);
            ExploreLimits limits;
            limits.by_ast = ex->evaluator == "ast";
            limits.threads = ex->jobs;
            if (progress.enabled()) {
                limits.on_progress = [&](const ExploreProgress& p) {
                    const double rate =
                        p.seconds > 0 ? static_cast<double>(p.expanded) / p.seconds : 0;
                    progress.show(fmt::format(
                        "explore {}: {} states found, {} expanded, depth {}, "
                        "{} states/s, {:.0f} s",
                        table.version, with_thousands(p.states), with_thousands(p.expanded),
                        p.depth, with_thousands(static_cast<std::size_t>(rate)), p.seconds));
                };
            }
            e = explore(interp, invs, limits);
        }
        bool any_violated = false;
        for (const auto& v : e.verdicts) {
            any_violated = any_violated || v.violated;
        }
        exit_code() = any_violated ? 1 : (e.complete ? 0 : 3);
        if (!ex->json) {
            print_exploration(interp, ex->instance, e, true);
            return;
        }
        nlohmann::json results = nlohmann::json::array();
        for (const auto& v : e.verdicts) {
            nlohmann::json r{{"version", table.version},       {"invariant", v.invariant->name},
                             {"verdict", verdict_word(e, v)},  {"engine", "explicit"},
                             {"seconds", e.seconds},           {"states", e.states},
                             {"violating_states", v.violating}};
            if (v.trace) {
                // The trace file format of `handoff check --json` and `trace --json`: replayable.
                r["trace"] = proofs::trace_to_json(interp, *v.trace, v.invariant);
            }
            results.push_back(r);
        }
        nlohmann::json out{{"version", table.version}, {"instance", ex->instance.json()},
                           {"states", e.states},       {"transitions", e.transitions},
                           {"depth", e.depth},         {"complete", e.complete},
                           {"seconds", e.seconds},     {"results", results}};
        std::cout << out.dump(2) << "\n";
    });
}

} // namespace handoff::cli
