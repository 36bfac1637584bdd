// Subcommands that read the model only: versions, invariants, spec, diff, explore.
#include "commands.hpp"
#include "instance_options.hpp"

#include "handoff/conformance/controls.hpp"
#include "handoff/impl/qemu_version.hpp"
#include "handoff/model/explore.hpp"
#include "handoff/model/spec.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
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
                       format_trace(interp, *v.trace));
        }
    }
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

    auto spec_version = std::make_shared<std::string>();
    auto spec_format = std::make_shared<std::string>("md");
    auto* spec =
        app.add_subcommand("spec", "Print a version's specification (Markdown or Graphviz)");
    spec->add_option("--version", *spec_version, "QEMU version, e.g. v8.1")->required();
    spec->add_option("--format", *spec_format, "md or dot")->capture_default_str();
    spec->callback([spec_version, spec_format] {
        const TableData& table = require_version(*spec_version);
        if (*spec_format == "md") {
            std::cout << render_spec_markdown(table);
        } else if (*spec_format == "dot") {
            std::cout << render_spec_dot(table);
        } else {
            throw UsageError(
                fmt::format("unknown format '{}' (expected one of: md, dot)", *spec_format));
        }
    });

    auto diff_versions = std::make_shared<std::vector<std::string>>();
    auto* diff = app.add_subcommand("diff", "Show the rows that differ between two versions");
    diff->add_option("versions", *diff_versions, "V1 V2")->required()->expected(2);
    diff->callback([diff_versions] {
        const TableData& a = require_version((*diff_versions)[0]);
        const TableData& b = require_version((*diff_versions)[1]);
        std::cout << render_diff(a, b);
    });

    struct ExploreArgs {
        std::string version;
        std::vector<std::string> invariants;
        InstanceOptions instance;
        bool json = false;
    };
    auto ex = std::make_shared<ExploreArgs>();
    auto* explore_cmd = app.add_subcommand(
        "explore", "Explore every reachable state of a finite instance (breadth-first)");
    explore_cmd->add_option("--version", ex->version, "QEMU version, e.g. v8.0.0")->required();
    explore_cmd->add_option("--invariant", ex->invariants,
                            "Check only this invariant (repeatable); default: all that apply");
    ex->instance.add_to(explore_cmd);
    explore_cmd->add_flag("--json", ex->json, "Write the results as JSON");
    explore_cmd->callback([ex] {
        const TableData& table = require_version(ex->version);
        const auto invs = select_invariants(table, ex->invariants);
        const Interpreter interp(table, ex->instance.instance());
        const Exploration e = explore(interp, invs);
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
