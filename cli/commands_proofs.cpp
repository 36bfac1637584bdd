// Subcommands of the proof checker: check, prove (the table ./run prove prints), trace, replay,
// export and coverage.
#include "commands.hpp"
#include "instance_options.hpp"
#include "manifest.hpp"
#include "progress.hpp"

#include "handoff/conformance/controls.hpp"
#include "handoff/model/expr.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/story.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proofs/artifacts.hpp"
#include "handoff/proofs/check.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace handoff::cli {

using namespace handoff::model;
using namespace handoff::proofs;

namespace {

// The options every checking command shares: the instance and the engine's limits.
struct CheckArgs {
    std::vector<std::string> versions;
    std::vector<std::string> invariants;
    InstanceOptions instance_opts;
    std::string engine = "auto";
    int depth = -1;
    double timeout = 60;
    double ic3_slice = 30;
    int jobs = 2;
    bool partial_order = false;
    bool certificates = false;
    bool json = false;
    bool controllable = false;
    bool quiet = false;
    std::vector<std::string> without_rows; // --without-row: rows the search may not take

    void add_instance(CLI::App* cmd) { instance_opts.add_to(cmd); }
    void add_engine(CLI::App* cmd) {
        cmd->add_option("--engine", engine, "auto, bmc, kind, pdr, ic3 or explicit")
            ->capture_default_str();
        cmd->add_option("--depth", depth, "BMC depth or largest k (default: the engine's)");
        cmd->add_option("--timeout", timeout, "Seconds per version and invariant")
            ->capture_default_str();
        cmd->add_option("--ic3-slice", ic3_slice,
                        "With --engine auto: seconds of IC3 for each invariant the shallow BMC "
                        "left open (within --timeout)")
            ->capture_default_str();
        cmd->add_option("--jobs", jobs, "Checks run in parallel")->capture_default_str();
        cmd->add_flag("--partial-order", partial_order,
                      "BMC with a partial-order reduction (same verdicts and traces; measured no "
                      "faster, see bench/README.md)");
        cmd->add_flag("--quiet", quiet,
                      "No progress line on stderr (it is shown only on a terminal anyway)");
    }

    Instance instance() const { return instance_opts.instance(); }
    std::string describe() const { return instance_opts.describe(); }

    CheckOptions options() const {
        CheckOptions o;
        o.instance = instance();
        if (engine == "auto") {
            o.engine = Engine::automatic;
        } else if (engine == "bmc") {
            o.engine = Engine::bmc;
        } else if (engine == "kind") {
            o.engine = Engine::kind;
        } else if (engine == "pdr") {
            o.engine = Engine::pdr;
        } else if (engine == "ic3") {
            o.engine = Engine::ic3;
        } else if (engine == "explicit") {
            o.engine = Engine::explicit_state;
        } else {
            throw UsageError(fmt::format(
                "unknown engine '{}' (expected one of: auto, bmc, kind, pdr, ic3, explicit)",
                engine));
        }
        if (depth < -1) {
            throw UsageError(fmt::format("--depth must not be negative, not {}", depth));
        }
        if (!(timeout > 0)) {
            throw UsageError(fmt::format("--timeout must be positive, not {}", timeout));
        }
        if (!(ic3_slice > 0)) {
            throw UsageError(fmt::format("--ic3-slice must be positive, not {}", ic3_slice));
        }
        if (jobs < 1 || jobs > 64) {
            throw UsageError(fmt::format("--jobs must be between 1 and 64, not {}", jobs));
        }
        o.depth = depth;
        o.timeout = timeout;
        o.ic3_slice = ic3_slice;
        o.jobs = jobs;
        o.partial_order = partial_order;
        if (controllable || !without_rows.empty()) {
            const char* what = controllable ? "--controllable" : "--without-row";
            if (engine != "auto" && engine != "bmc") {
                throw UsageError(fmt::format(
                    "{} searches with BMC (and the recovery search for recoverable): --engine {} "
                    "does not {}",
                    what, engine,
                    controllable ? "take the harness's controls"
                                 : "search a restriction of the table"));
            }
            if (partial_order) {
                throw UsageError(fmt::format("--partial-order cannot be combined with {} (a "
                                             "reordered path may need a step the restriction "
                                             "forbids)",
                                             what));
            }
            const auto all = cells();
            for (const std::string& row : without_rows) {
                const bool known = std::any_of(all.begin(), all.end(), [&](const Cell& c) {
                    return std::any_of(c.table->rows.begin(), c.table->rows.end(),
                                       [&](const RowData& r) { return r.name == row; });
                });
                if (!known) {
                    throw UsageError(fmt::format("--without-row: no version checked has a row "
                                                 "'{}' (handoff spec --version V lists them)",
                                                 row));
                }
            }
            for (const Cell& c : all) {
                if (o.restrictions.count(c.table->version) == 0) {
                    o.restrictions.emplace(
                        std::string(c.table->version),
                        std::make_shared<const StepRestriction>(restriction_for(*c.table)));
                }
            }
        }
        return o;
    }

    // The steps the search may take on a version: the harness's controls (--controllable) or
    // every row, less the rows of --without-row.
    StepRestriction restriction_for(const TableData& table) const {
        StepRestriction r;
        if (controllable) {
            r = controllable_for(table);
        } else {
            r.name = "every step";
            r.adjective = "restricted";
            dsl::AstBuilder b{r.ast};
            r.row_allowed.assign(table.rows.size(), dsl::TRUE.emit(b));
        }
        std::string left_out;
        for (std::size_t i = 0; i < table.rows.size(); ++i) {
            if (std::find(without_rows.begin(), without_rows.end(), table.rows[i].name) !=
                without_rows.end()) {
                r.row_allowed[i] = -1;
                left_out += (left_out.empty() ? "" : ", ") + std::string(table.rows[i].name);
            }
        }
        if (!left_out.empty()) {
            r.name += " but " + left_out;
        }
        return r;
    }

    // The harness's controls for a version, or the one-line error for a version without them.
    static StepRestriction controllable_for(const TableData& table) {
        try {
            return conformance::controllable(table);
        } catch (const conformance::NoControls& e) {
            throw UsageError(std::string("--controllable: ") + e.what());
        }
    }

    std::vector<Cell> cells() const {
        std::vector<const TableData*> tables;
        for (const auto& v : versions) {
            tables.push_back(&require_version(v));
        }
        if (tables.empty() && controllable) { // every version the harness has a binary for
            for (const auto& b : conformance::binary_controls()) {
                tables.push_back(&require_version(std::string(b.version)));
            }
        }
        if (tables.empty()) {
            tables = all_versions();
        }
        std::vector<const InvariantData*> invs;
        for (const auto& name : invariants) {
            invs.push_back(&require_invariant(name));
        }
        std::vector<Cell> out;
        for (const TableData* t : tables) {
            if (invs.empty()) {
                for (const auto& c : all_cells({t})) {
                    out.push_back(c);
                }
                continue;
            }
            for (const InvariantData* inv : invs) {
                if (inv->applies_to(t->version)) {
                    out.push_back({t, inv});
                } else if (!versions.empty()) {
                    throw UsageError(
                        fmt::format("invariant '{}' does not apply to {}", inv->name, t->version));
                }
            }
        }
        return out;
    }

    nlohmann::json instance_json() const { return instance_opts.json(); }
};

std::string solver_name() {
    return "z3 " + z3_version();
}

// The trace file names no invariant (proofs/traces/ keep that shape), but its headline tells the
// story of the one it violates.
nlohmann::json trace_json(const Interpreter& interp, const Trace& trace,
                          const InvariantData* invariant) {
    nlohmann::json j = trace_to_json(interp, trace);
    j["headline"] = headline(interp, trace, invariant);
    return j;
}

// Why a proof holds without any row's help ("" if it may not): no row asserts what the invariant
// excludes, or the graph gives its premise nothing to hold on.
std::string vacuous_why(const Result& r, const Instance& instance) {
    const InvariantData& inv = require_invariant(r.invariant);
    if (std::string why = vacuous_by_construction(require_version(r.version), inv); !why.empty()) {
        return why;
    }
    return vacuous_on_graph(inv, instance);
}

nlohmann::json result_json(const Result& r, const CheckArgs& args) {
    nlohmann::json j{{"version", r.version},
                     {"invariant", r.invariant},
                     {"verdict", verdict_name(r.verdict)},
                     {"engine", r.engine},
                     {"seconds", r.seconds},
                     {"detail", r.detail},
                     {"solver", solver_name()},
                     {"instance", args.instance_json()}};
    if (r.depth >= 0) {
        j[r.engine == "kind" ? "k" : "depth"] = r.depth;
    }
    if (r.states > 0) {
        j["states"] = r.states;
    }
    if (!r.certificate.empty()) {
        j["certificate"] = r.certificate;
    }
    if (!r.cti.empty()) {
        j["counterexample_to_induction"] = r.cti;
    }
    if (r.bug) {
        j["bug"] = true;
    }
    if (r.verdict == Verdict::proved) {
        const std::string why = vacuous_why(r, args.instance());
        if (!why.empty()) {
            j["vacuous"] = why;
        }
        j["inductive_alone"] = r.inductive_alone;
    }
    // The restriction's name: under "controllable" when it is the harness's controls (the
    // conformance tools read that key), under "restriction" when it is only --without-row.
    const char* restriction_key = args.controllable ? "controllable" : "restriction";
    if (!r.restriction.empty()) {
        j[restriction_key] = r.restriction;
    }
    if (r.trace) {
        const TableData& table = require_version(r.version);
        const Interpreter interp(table, args.instance());
        j["trace"] = trace_json(interp, *r.trace, find_invariant(r.invariant));
        if (!r.restriction.empty()) {
            j["trace"][restriction_key] = r.restriction;
        }
    }
    return j;
}

int exit_code_of(const std::vector<Result>& results) {
    bool violated = false, all_proved = true, bug = false;
    for (const auto& r : results) {
        violated = violated || r.verdict == Verdict::violated;
        all_proved = all_proved && r.verdict == Verdict::proved;
        bug = bug || r.bug;
    }
    if (bug) {
        return 4;
    }
    return violated ? 1 : (all_proved ? 0 : 3);
}

void report_bugs(const std::vector<Result>& results) {
    for (const auto& r : results) {
        if (r.bug) {
            fmt::print(stderr, "handoff: CHECKER BUG on {} / {} ({}): {}\n", r.version, r.invariant,
                       r.engine, r.detail);
        }
    }
}

std::string verdict_text(const Result& r) {
    switch (r.verdict) {
    case Verdict::violated:
        return fmt::format("VIOLATED ({} steps)", r.trace ? r.trace->steps.size() : 0);
    case Verdict::proved:
        return "proved";
    case Verdict::bounded:
        return r.restriction.empty() ? fmt::format("bounded (depth {})", r.depth)
                                     : fmt::format("none within {}", r.depth);
    case Verdict::unknown:
        return "unknown";
    }
    return "unknown";
}

// What a proof means beyond "proved": vacuous (no row can break the invariant) or the invariant
// inductive by itself (IC3 needed no strengthening).
std::string proof_note(const Result& r, const Instance& instance) {
    if (r.verdict != Verdict::proved) {
        return "";
    }
    if (const std::string why = vacuous_why(r, instance); !why.empty()) {
        return "; vacuous: " + why;
    }
    return r.inductive_alone ? "; the invariant is inductive by itself" : "";
}

void print_results(const std::vector<Result>& results, const CheckArgs& args) {
    for (const auto& r : results) {
        fmt::print("{:<10} {:<38} {:<20} {:<9} {:>6.2f} s  {}{}\n", r.version, r.invariant,
                   verdict_text(r), r.engine, r.seconds, r.detail, proof_note(r, args.instance()));
        if (!r.certificate.empty() && args.certificates) {
            std::string text = "    " + r.certificate;
            for (std::size_t at = text.find('\n'); at != std::string::npos;
                 at = text.find('\n', at + 1)) {
                text.insert(at + 1, "    ");
            }
            fmt::print("    certified inductive invariant:\n{}\n", text);
        }
        if (!r.cti.empty()) {
            fmt::print("    counterexample to induction (not a violation):\n{}", r.cti);
        }
        if (r.trace) {
            const Interpreter interp(require_version(r.version), args.instance());
            fmt::print("{}", format_story(interp, *r.trace, find_invariant(r.invariant)));
        }
    }
}

void register_check(CLI::App& app) {
    auto a = std::make_shared<CheckArgs>();
    auto* cmd = app.add_subcommand(
        "check", "Check invariants with the proof engines: proved, violated, bounded or unknown");
    cmd->add_option("--version", a->versions, "QEMU version (repeatable; default: all)");
    cmd->add_option("--invariant", a->invariants,
                    "Invariant (repeatable; default: every one that applies)");
    a->add_instance(cmd);
    a->add_engine(cmd);
    cmd->add_flag("--json", a->json, "Write the results as JSON");
    cmd->add_flag("--certificate", a->certificates,
                  "Print the inductive invariant behind each IC3 or PDR proof (always in --json)");
    cmd->add_flag("--controllable", a->controllable,
                  "Only traces the conformance harness can drive on the version's real QEMU "
                  "(v7.2, v10.0; conformance/src/controls.cpp): the shortest such "
                  "counterexample, or none within the depth (default " +
                      std::to_string(kControllableDepth) + "); never a proof");
    cmd->add_option("--without-row", a->without_rows,
                    "Search only the paths that never take this row (repeatable; with or "
                    "without --controllable), e.g. --without-row blockdev_set_inactive_all for "
                    "the shortest trace that inactivates node by node; BMC only, never a proof "
                    "(default depth " +
                        std::to_string(kControllableDepth) + ")");
    cmd->footer("Each cell's time is its own: its queries and counterexample, plus an equal share "
                "of the work done for every open invariant of the version at once (BMC unrolls "
                "each version once for all its invariants); the times add up to the work done.\n"
                "Exit codes: 0 every verdict proved, 1 some invariant violated, 2 bad input, 3 "
                "otherwise inconclusive, 4 a checker bug.");
    cmd->callback([a] {
        CheckOptions o = a->options();
        const auto cells = a->cells();
        std::vector<Result> results;
        {
            CheckProgressLine progress(a->quiet, "check");
            progress.attach(o, "");
            results = check(cells, o);
        }
        report_bugs(results);
        exit_code() = exit_code_of(results);
        if (a->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& r : results) {
                out.push_back(result_json(r, *a));
            }
            nlohmann::json top{
                {"solver", solver_name()}, {"instance", a->instance_json()}, {"results", out}};
            if (a->controllable) {
                top["controllable"] = true;
            }
            if (!a->without_rows.empty()) {
                top["without_rows"] = a->without_rows;
            }
            std::cout << top.dump(2) << "\n";
            return;
        }
        fmt::print("instance: {}; solver {}\n", a->describe(), solver_name());
        if (a->controllable) {
            fmt::print("controllable: only traces the conformance harness can drive (rows, "
                       "outcomes and stops of conformance/src/controls.cpp); a bound is not a "
                       "proof\n");
        }
        if (!a->without_rows.empty()) {
            std::string rows;
            for (const auto& row : a->without_rows) {
                rows += (rows.empty() ? "" : ", ") + row;
            }
            fmt::print("without {}: only paths that never take {}; a bound is not a proof\n", rows,
                       a->without_rows.size() == 1 ? "it" : "them");
        }
        print_results(results, *a);
    });
}

// The short form of a verdict in prove's table.
std::string verdict_cell(const Result& r, const Instance& instance) {
    if (r.bug) {
        return "BUG";
    }
    switch (r.verdict) {
    case Verdict::violated:
        return fmt::format("VIOL {}", r.trace ? r.trace->steps.size() : 0);
    case Verdict::proved:
        if (!vacuous_why(r, instance).empty()) {
            return "proved v";
        }
        return r.inductive_alone ? "proved i" : "proved";
    case Verdict::bounded:
        return r.restriction.empty() ? fmt::format("bound {}", r.depth)
                                     : fmt::format("none {}", r.depth);
    case Verdict::unknown:
        return "unknown";
    }
    return "unknown";
}

// One profile's run of prove: the cells and their results.
struct ProfileRun {
    std::string env;
    Instance instance;
    std::vector<Cell> cells;
    std::vector<Result> results;
    const Result* find(const TableData* t, const InvariantData* inv) const {
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (cells[i].table == t && cells[i].invariant == inv) {
                return &results[i];
            }
        }
        return nullptr;
    }
};

bool same_verdict(const Result& a, const Result& b) {
    if (a.verdict != b.verdict || a.bug != b.bug) {
        return false;
    }
    return a.verdict != Verdict::violated ||
           (a.trace && b.trace && a.trace->steps.size() == b.trace->steps.size());
}

// The stories of the violated cells, each told once in one line (its headline cut short,
// model::gist) and named by a letter the table's cells carry: the shipped tables share many
// stories between invariants and versions. Cells whose stories take the same course (the same
// failures, the same last step) share a letter, and the line names every outcome (vm_start()
// runs, for no-vm-start-while-inactive; runstate_set() sets RUNNING, for running-implies-active).
// The letters run in the table's reading order.
struct StoryIndex {
    struct Story {
        std::string label;
        std::string course;
        std::vector<std::string> outcomes;
        bool state_change = false;
        std::vector<std::string> steps; // rows and parameters of each trace told
        std::string outcome() const {
            std::string out;
            for (const std::string& o : outcomes) {
                if (out.empty()) {
                    out = o;
                    continue;
                }
                // ": vm_start() runs" and ": runstate_set() sets ..." read as one list: the
                // later outcomes lose their separator (model::Gist's ": " or ", then ").
                std::string_view rest = o;
                for (std::string_view separator : {", then ", ": ", " "}) {
                    if (rest.starts_with(separator)) {
                        rest.remove_prefix(separator.size());
                        break;
                    }
                }
                if (!rest.empty()) {
                    out += "; " + std::string(rest);
                }
            }
            return out;
        }
    };
    std::vector<Story> stories;
    std::map<const Result*, std::string> label_of;

    void add(const ProfileRun& run, const std::vector<const TableData*>& versions,
             const ProfileRun* differing_from) {
        for (const auto& inv : all_invariants()) {
            for (const TableData* t : versions) {
                const Result* r = run.find(t, &inv);
                if (r == nullptr || r->verdict != Verdict::violated || !r->trace) {
                    continue;
                }
                if (differing_from != nullptr) {
                    const Result* m = differing_from->find(t, &inv);
                    if (m != nullptr && same_verdict(*r, *m)) {
                        continue;
                    }
                }
                std::string steps(t->version);
                for (const auto& ts : r->trace->steps) {
                    steps += fmt::format(" {}", ts.step.row);
                    for (int v : ts.step.params) {
                        steps += fmt::format(",{}", v);
                    }
                }
                const Interpreter interp(*t, run.instance);
                const Gist g = gist(interp, *r->trace, &inv);
                auto it = std::find_if(stories.begin(), stories.end(), [&](const Story& st) {
                    return (st.course == g.course && (st.outcomes.front() == g.outcome ||
                                                      (st.state_change && g.state_change))) ||
                           std::find(st.steps.begin(), st.steps.end(), steps) != st.steps.end();
                });
                if (it == stories.end()) {
                    stories.push_back(
                        {label_for(stories.size()), g.course, {}, g.state_change, {}});
                    it = stories.end() - 1;
                }
                if (std::find(it->outcomes.begin(), it->outcomes.end(), g.outcome) ==
                    it->outcomes.end()) {
                    it->outcomes.push_back(g.outcome);
                }
                it->steps.push_back(steps);
                label_of[r] = it->label;
            }
        }
    }

    // a, b, ..., z, aa, ab, ...
    static std::string label_for(std::size_t i) {
        return i < 26 ? std::string(1, static_cast<char>('a' + i))
                      : label_for(i / 26 - 1) + static_cast<char>('a' + i % 26);
    }

    std::string cell(const Result& r, const Instance& instance) const {
        const auto it = label_of.find(&r);
        return verdict_cell(r, instance) + (it == label_of.end() ? "" : " " + it->second);
    }

    void print(std::size_t from, std::size_t to, std::size_t width) const {
        for (std::size_t i = from; i < to; ++i) {
            // Too long, the failures before the last step are cut short: the step that violates
            // the invariant and its outcome stay.
            const std::string head = fmt::format("{:>3} ", stories[i].label);
            const std::string outcome = stories[i].outcome();
            std::string course = stories[i].course;
            const std::size_t last_step = course.rfind(" > ");
            if (head.size() + course.size() + outcome.size() > width &&
                last_step != std::string::npos) {
                const std::string before = course.substr(0, last_step);
                const std::string rest = course.substr(last_step);
                const std::size_t fixed = head.size() + rest.size() + outcome.size() + 4;
                if (fixed + 20 < width) {
                    course = before.substr(0, width - fixed) + " ..." + rest;
                }
            }
            std::string line = head + course + outcome;
            if (line.size() > width) {
                line = line.substr(0, width - 3) + "...";
            }
            fmt::print("{}\n", line);
        }
    }
};

// Every verdict (and violation length) against the manifest: the number of differences, each
// printed.
int compare_with_manifest(const std::string& path, const nlohmann::json& manifest,
                          const std::vector<ProfileRun>& runs) {
    int differences = 0, compared = 0;
    for (const ProfileRun& run : runs) {
        for (const Result& r : run.results) {
            const std::optional<std::string> expected =
                expected_verdict(manifest, r.version, r.invariant, run.env);
            const std::string now = std::string(verdict_name(r.verdict)) +
                                    (r.verdict == Verdict::violated && r.trace
                                         ? fmt::format(" ({} steps)", r.trace->steps.size())
                                         : "");
            if (!expected) {
                fmt::print("  {} / {} ({} use): {} now, not in the manifest\n", r.version,
                           r.invariant, run.env, now);
                ++differences;
                continue;
            }
            ++compared;
            if (*expected != now) {
                fmt::print("  {} / {} ({} use): {} now, {} expected\n", r.version, r.invariant,
                           run.env, now, *expected);
                ++differences;
            }
        }
    }
    if (differences == 0) {
        fmt::print("Every verdict ({}) is the one {} records.\n", compared, path);
    } else {
        fmt::print("{} verdict{} differ{} from {} ({} compared).\n", differences,
                   differences == 1 ? "" : "s", differences == 1 ? "s" : "", path, compared);
    }
    return differences;
}

// The table ./run prove prints: one row per invariant, one column per version, the verdict under
// the documented environment profile with the one under any use below it where misuse changes it.
void register_prove(CLI::App& app) {
    auto a = std::make_shared<CheckArgs>();
    auto traces = std::make_shared<bool>(false);
    auto expect = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(
        "prove",
        "Check every version against every invariant, under documented use and under any use, "
        "and print the verdict table");
    cmd->add_option("--version", a->versions, "QEMU version (repeatable; default: all)");
    cmd->add_option("--invariant", a->invariants,
                    "Invariant (repeatable; default: every one that applies)");
    a->add_instance(cmd);
    a->add_engine(cmd);
    cmd->add_flag("--traces", *traces, "Print every counterexample in full after the table");
    cmd->add_option("--expect", *expect,
                    "Compare every verdict with a manifest (proofs/expected.json): exit code 0 "
                    "when all match, 1 when some differ");
    cmd->footer(
        "Without --env, both profiles are checked: documented (management uses QEMU as QEMU "
        "documents it; a violation is QEMU's bug) and any (every QMP command whenever QEMU "
        "accepts it).\n"
        "Exit codes: 0 every verdict proved (with --expect: every verdict as the manifest "
        "says), 1 some invariant violated (with --expect: some verdict differs), 2 bad input, 3 "
        "otherwise inconclusive, 4 a checker bug.");
    cmd->callback([a, cmd, traces, expect] {
        // Read before the checks run, so that a bad file is refused at once.
        const nlohmann::json manifest = expect->empty() ? nlohmann::json() : read_manifest(*expect);
        const auto start = std::chrono::steady_clock::now();
        std::vector<std::string> envs{"documented", "any"};
        if (cmd->count("--env") > 0) {
            envs = {a->instance_opts.env};
        }
        // Both profiles in one check(): they share its workers and IC3's lemmas.
        std::vector<ProfileRun> runs;
        for (const auto& env : envs) {
            CheckArgs args = *a;
            args.instance_opts.env = env;
            runs.push_back({env, args.instance(), args.cells(), {}});
        }
        std::vector<Cell> cells;
        for (const ProfileRun& run : runs) {
            for (Cell c : run.cells) {
                c.instance = &run.instance;
                cells.push_back(c);
            }
        }
        std::vector<Result> all;
        {
            CheckProgressLine progress(a->quiet, "prove");
            CheckOptions o = a->options();
            progress.attach(o, "");
            all = check(cells, o);
        }
        for (std::size_t i = 0, next = 0; i < runs.size(); ++i) {
            runs[i].results.assign(all.begin() + static_cast<std::ptrdiff_t>(next),
                                   all.begin() +
                                       static_cast<std::ptrdiff_t>(next + runs[i].cells.size()));
            next += runs[i].cells.size();
        }
        const double total =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        report_bugs(all);
        exit_code() = exit_code_of(all);

        // The columns: the versions checked, in all_versions() order.
        std::vector<const TableData*> versions;
        for (const TableData* t : all_versions()) {
            const auto& checked = runs.front().cells;
            if (std::any_of(checked.begin(), checked.end(),
                            [t](const Cell& c) { return c.table == t; })) {
                versions.push_back(t);
            }
        }
        const ProfileRun& main_run = runs.front();
        const ProfileRun* misuse = runs.size() > 1 ? &runs[1] : nullptr;
        StoryIndex index;
        index.add(main_run, versions, nullptr);
        const std::size_t misuse_stories = index.stories.size();
        if (misuse != nullptr) {
            index.add(*misuse, versions, &main_run);
        }
        constexpr int kFirst = 38, kCell = 11;
        CheckArgs shown = *a;
        shown.instance_opts.env = main_run.env;
        fmt::print("handoff prove: {} ({}, engine {})\n", shown.describe(), solver_name(),
                   a->engine);
        if (misuse != nullptr) {
            fmt::print("Each cell: the verdict under documented use; a \"with misuse\" line: where "
                       "any use (--env any) changes it.\n");
        }
        fmt::print("\n{:<{}}", "invariant", kFirst);
        for (const TableData* t : versions) {
            fmt::print("{:<{}}", t->version, kCell);
        }
        fmt::print("\n{}\n", std::string(kFirst + kCell * versions.size(), '-'));
        for (const auto& inv : all_invariants()) {
            std::string line = fmt::format("{:<{}}", inv.name, kFirst);
            std::string below = fmt::format("{:<{}}", "  with misuse (any use)", kFirst);
            bool applies = false, differs = false;
            for (const TableData* t : versions) {
                const Result* r = main_run.find(t, &inv);
                applies = applies || r != nullptr;
                line += fmt::format("{:<{}}", r ? index.cell(*r, main_run.instance) : "-", kCell);
                const Result* m = misuse ? misuse->find(t, &inv) : nullptr;
                if (r && m && !same_verdict(*r, *m)) {
                    differs = true;
                    below += fmt::format("{:<{}}", index.cell(*m, misuse->instance), kCell);
                } else {
                    below += std::string(kCell, ' ');
                }
            }
            if (!applies && !a->invariants.empty()) {
                continue;
            }
            fmt::print("{}\n", line);
            if (differs) {
                fmt::print("{}\n", below);
            }
        }
        fmt::print(
            "\nVIOL k x: violated, a shortest counterexample of k steps (replayed on the "
            "interpreter), told in story x below. -: does not apply.\nproved: inductive "
            "invariant certified by Z3 (i: inductive by itself; v: vacuous, no row can break "
            "it). bound k: none within k steps, no proof.\n");
        int unknown = 0;
        for (const ProfileRun& run : runs) {
            for (const auto& r : run.results) {
                if (r.verdict == Verdict::unknown || r.verdict == Verdict::bounded) {
                    if (unknown++ == 0) {
                        fmt::print("\nInconclusive:\n");
                    }
                    fmt::print("  {} / {} ({} use): {}\n", r.version, r.invariant, run.env,
                               r.detail);
                }
            }
        }
        if (unknown > 0) {
            // The explicit engine decides any finite instance, at the price of exploring it all
            // (about 5 million states, a minute or more, per version at the default instance).
            fmt::print("  `handoff check --engine explicit` with the same options decides them "
                       "for this instance\n  by exploring every reachable state (a minute or "
                       "more per version).\n");
        }
        if (misuse_stories > 0) {
            fmt::print("\nStories under {} use, by the letter in their cells (--traces tells "
                       "them in full):\n",
                       main_run.env);
            index.print(0, misuse_stories, 150);
        }
        if (index.stories.size() > misuse_stories) {
            fmt::print("Stories where misuse changes the verdict (any use):\n");
            index.print(misuse_stories, index.stories.size(), 150);
        }
        fmt::print("\n{} checks in {:.1f} s ({} job{}); `handoff check --version V --invariant I` "
                   "tells one cell's story in full.\n",
                   all.size(), total, a->jobs, a->jobs == 1 ? "" : "s");
        if (!expect->empty()) {
            const int differences = compare_with_manifest(*expect, manifest, runs);
            const bool bug = exit_code() == 4;
            exit_code() = bug ? 4 : (differences == 0 ? 0 : 1);
        }
        if (!*traces) {
            return;
        }
        for (const ProfileRun& run : runs) {
            for (std::size_t i = 0; i < run.results.size(); ++i) {
                const Result& r = run.results[i];
                if (r.verdict != Verdict::violated || !r.trace) {
                    continue;
                }
                const Interpreter interp(*run.cells[i].table, run.instance);
                fmt::print("\n=== {} violates {} under {} use ({} steps, {}):\n{}", r.version,
                           r.invariant, run.env, r.trace->steps.size(), r.engine,
                           format_story(interp, *r.trace, find_invariant(r.invariant)));
            }
        }
    });
}

} // namespace

void register_proofs_commands(CLI::App& app) {
    register_check(app);
    register_prove(app);
}

} // namespace handoff::cli
