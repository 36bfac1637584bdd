// Subcommands that produce or read artifacts of the checker: trace (a shortest counterexample, as
// text or as a replayable file), replay (a trace file on the interpreter), export (SMT-LIB 2 for
// independent solvers) and coverage (dead rows and vacuous invariants).
#include "commands.hpp"
#include "instance_options.hpp"
#include "replay_on_version.hpp"

#include "handoff/conformance/controls.hpp"
#include "handoff/model/explore.hpp"
#include "handoff/model/story.hpp"
#include "handoff/proofs/artifacts.hpp"
#include "handoff/proofs/check.hpp"
#include "handoff/proofs/promela.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace handoff::cli {

using namespace handoff::model;
using namespace handoff::proofs;

namespace {

// Where a command's output goes: stdout, or the file of --out (written whole at the end).
void emit(const std::string& out_file, const std::string& text) {
    if (out_file.empty()) {
        std::cout << text;
        return;
    }
    std::ofstream f(out_file);
    f << text;
    f.close();
    if (!f) {
        throw UsageError(fmt::format("cannot write '{}': {}", out_file, std::strerror(errno)));
    }
}

InstanceOptions options_of(const Instance& inst) {
    InstanceOptions o;
    o.nodes = inst.nodes;
    o.starts = inst.starts;
    o.set_active_calls = inst.set_active_calls;
    o.env = inst.documented_use ? "documented" : "any";
    // Kept in a variable: ranging over a member of the temporary would read it after its end.
    const nlohmann::json fields = instance_fields(inst);
    for (const auto& c : fields["caps"]) {
        o.caps.push_back(c.get<std::string>());
    }
    return o;
}

// ---- trace ---------------------------------------------------------------------------------

struct TraceArgs {
    std::string version, invariant, engine = "auto", out;
    InstanceOptions instance;
    bool json = false;
    bool controllable = false;
    int fork = 0;
    int depth = 60;
    bool depth_given = false; // --depth was on the command line (else: 60, or 20 controllable)
    double timeout = 60;
};

std::string first_difference(const Interpreter& interp, const Trace& a, const Trace& b) {
    for (std::size_t i = 0; i < a.steps.size() && i < b.steps.size(); ++i) {
        const Step& x = a.steps[i].step;
        const Step& y = b.steps[i].step;
        if (x.row != y.row || x.params != y.params) {
            const auto& rows = interp.table().rows;
            return fmt::format("it leaves the first at step {}: {} ({}) instead of {} ({})", i + 1,
                               rows[static_cast<std::size_t>(y.row)].name, format_params(interp, y),
                               rows[static_cast<std::size_t>(x.row)].name,
                               format_params(interp, x));
        }
    }
    return "it takes the same steps from another initial state";
}

void run_trace(const TraceArgs& a) {
    const TableData& table = require_version(a.version);
    const InvariantData& inv = require_invariant(a.invariant);
    if (!inv.applies_to(table.version)) {
        throw UsageError(fmt::format("invariant '{}' does not apply to {}", inv.name, a.version));
    }
    const Instance inst = a.instance.instance();
    const bool graph = inv.kind != InvariantKind::StatePredicate;
    if (a.engine != "auto" && a.engine != "bmc" && a.engine != "explicit") {
        throw UsageError(
            fmt::format("unknown engine '{}' (expected one of: auto, bmc, explicit)", a.engine));
    }
    if (graph && a.engine == "bmc") {
        throw UsageError(fmt::format("{} is a graph property: only --engine explicit finds its "
                                     "counterexamples",
                                     inv.name));
    }
    if (graph && a.fork != 0) {
        throw UsageError(
            fmt::format("--fork needs a state invariant; {} is a graph property", inv.name));
    }
    if (a.depth < 0) {
        throw UsageError(fmt::format("--depth must not be negative, not {}", a.depth));
    }
    if (!(a.timeout > 0)) {
        throw UsageError(fmt::format("--timeout must be positive, not {}", a.timeout));
    }
    if (a.fork < 0) {
        throw UsageError(fmt::format("--fork must be a step number (1 or more), not {}", a.fork));
    }
    std::optional<StepRestriction> restriction;
    if (a.controllable) {
        if (a.engine == "explicit") {
            throw UsageError("--controllable searches with BMC (and the recovery search for "
                             "recoverable), not --engine explicit");
        }
        if (a.fork != 0) {
            throw UsageError("--fork cannot be combined with --controllable");
        }
        try {
            restriction = conformance::controllable(table);
        } catch (const conformance::NoControls& e) {
            throw UsageError(std::string("--controllable: ") + e.what());
        }
    }
    const bool use_explicit =
        !a.controllable && (a.engine == "explicit" || (a.engine == "auto" && graph));

    const Interpreter interp(table, inst);
    z3::context ctx;
    const Lowering low(ctx, table, inst);
    EngineLimits lim;
    lim.max_depth = a.depth;
    lim.timeout = a.timeout;
    if (restriction) {
        lim.restriction = &*restriction;
        lim.max_depth = a.depth_given ? a.depth : kControllableDepth;
    }
    Result r = use_explicit ? run_explicit(interp, {&inv}).front()
               : graph      ? run_recoverable(interp, inv, lim)
                            : run_bmc(low, inv, lim);
    const std::string where =
        fmt::format("{} / {} on {}", a.version, inv.name, a.instance.describe());
    if (r.bug) {
        exit_code() = 4;
        fmt::print(stderr, "handoff: CHECKER BUG on {} ({}): {}\n", where, r.engine, r.detail);
        return;
    }
    if (r.verdict != Verdict::violated) {
        exit_code() = r.verdict == Verdict::proved ? 0 : 3;
        if (restriction && r.verdict == Verdict::bounded) {
            emit(a.out, fmt::format("{}: no controllable counterexample within depth {} ({}: {})\n",
                                    where, r.depth, r.engine, r.detail));
            return;
        }
        emit(a.out, fmt::format("{}: no counterexample ({} {}: {})\n", where, r.engine,
                                verdict_name(r.verdict), r.detail));
        return;
    }
    exit_code() = 1;
    Trace trace = *r.trace;
    std::string heading =
        restriction ? fmt::format("{} is violated: a shortest controllable counterexample of {} "
                                  "steps (only {}; {}, replayed on the interpreter)",
                                  where, trace.steps.size(), restriction->name, r.engine)
                    : fmt::format("{} is violated: a shortest counterexample of {} steps ({}, "
                                  "replayed on the interpreter)",
                                  where, trace.steps.size(), r.engine);
    if (a.fork != 0) {
        if (a.fork > static_cast<int>(trace.steps.size())) {
            throw UsageError(fmt::format("--fork must be between 1 and {} (the trace's length), "
                                         "not {}",
                                         trace.steps.size(), a.fork));
        }
        const Fork f = fork_counterexample(low, inv, trace, a.fork, a.timeout);
        if (f.bug) {
            exit_code() = 4;
            fmt::print(stderr, "handoff: CHECKER BUG on {}: {}\n", where, f.detail);
            return;
        }
        if (f.outcome == Fork::Outcome::unknown) {
            exit_code() = 3;
            emit(a.out, fmt::format("{}\n--fork {}: unknown ({})\n", heading, a.fork, f.detail));
            return;
        }
        if (f.outcome == Fork::Outcome::none) {
            emit(a.out,
                 fmt::format("{}\n--fork {}: there is none: every counterexample of {} steps "
                             "that agrees with this one before step {} is this one\n{}",
                             heading, a.fork, trace.steps.size(), a.fork,
                             a.json ? "" : format_story(interp, trace, &inv)));
            return;
        }
        heading = fmt::format("{} is violated: another shortest counterexample of {} steps, the "
                              "same as the first before step {} ({}; replayed on the interpreter)",
                              where, trace.steps.size(), a.fork,
                              first_difference(interp, trace, *f.trace));
        trace = *f.trace;
    }
    if (a.json) {
        nlohmann::json j = trace_to_json(interp, trace, &inv);
        if (restriction) {
            j["controllable"] = restriction->name;
        }
        emit(a.out, j.dump(2) + "\n");
        return;
    }
    emit(a.out, heading + "\n" + format_story(interp, trace, &inv));
}

void register_trace(CLI::App& app) {
    auto a = std::make_shared<TraceArgs>();
    auto* cmd = app.add_subcommand(
        "trace", "A shortest counterexample of one invariant: a headline and numbered steps in "
                 "QEMU's terms (handoff legend explains the abbreviations), or a replayable JSON "
                 "file");
    cmd->add_option("--version", a->version, "QEMU version, e.g. v8.0.0")->required();
    cmd->add_option("--invariant", a->invariant, "Invariant, e.g. no-vm-start-while-inactive")
        ->required();
    a->instance.add_to(cmd);
    cmd->add_flag("--json", a->json, "Write the trace as replayable JSON (see handoff replay)");
    cmd->add_option("--out", a->out, "Write to this file instead of standard output");
    cmd->add_option("--fork", a->fork,
                    "Another shortest counterexample: the same before step K, different from "
                    "step K on (or: there is none)");
    cmd->add_option("--engine", a->engine, "auto (BMC; explicit for recoverable), bmc or explicit")
        ->capture_default_str();
    auto* depth = cmd->add_option("--depth", a->depth,
                                  "Deepest BMC depth tried (default 60; " +
                                      std::to_string(kControllableDepth) + " with --controllable)");
    cmd->add_flag("--controllable", a->controllable,
                  "Only traces the conformance harness can drive on the version's real QEMU "
                  "(v7.2, v10.0; conformance/src/controls.cpp): the shortest such one, or none "
                  "within the depth");
    cmd->add_option("--timeout", a->timeout, "Seconds for the search (and again for --fork)")
        ->capture_default_str();
    cmd->footer(
        "Exit codes: 1 a counterexample was found (printed), 0 the invariant holds (explicit "
        "engine: for this instance), 3 no counterexample found but nothing proved (BMC "
        "depth or timeout reached; a --fork search that timed out), 2 bad input, 4 a "
        "checker bug (a trace that does not replay).");
    cmd->callback([a, depth] {
        a->depth_given = depth->count() > 0;
        run_trace(*a);
    });
}

// ---- replay --------------------------------------------------------------------------------

struct ReplayArgs {
    std::string file, invariant, on_version;
    bool json = false;
};

void run_replay(const ReplayArgs& a) {
    if (!a.on_version.empty()) {
        run_replay_on_version({a.file, a.on_version, a.invariant, a.json});
        return;
    }
    if (a.json) {
        throw UsageError("--json goes with --on-version (replay prints the trace itself as text)");
    }
    LoadedTrace loaded = load_trace_file(a.file);
    TraceHeader& h = loaded.header;
    const Trace& trace = loaded.trace;
    const std::optional<Interpreter>& interp = loaded.interp;
    if (!a.invariant.empty()) {
        const InvariantData& inv = require_invariant(a.invariant);
        if (!inv.applies_to(h.table->version)) {
            throw UsageError(
                fmt::format("invariant '{}' does not apply to {}", inv.name, h.table->version));
        }
        h.invariant = &inv;
    }
    const State& last = trace.steps.empty() ? trace.initial : trace.steps.back().state;
    // The story is told against the invariant the file names, or else the first state invariant
    // the last state violates (the files of proofs/traces/ name none).
    const InvariantData* told = h.invariant;
    for (const auto& inv : all_invariants()) {
        if (told == nullptr && inv.applies_to(h.table->version) &&
            inv.kind == InvariantKind::StatePredicate && !holds(*interp, inv, last)) {
            told = &inv;
        }
    }
    fmt::print("{}: {} steps on {} ({}); replayed on the interpreter: every step enabled, every "
               "recorded state reached\n{}",
               a.file, trace.steps.size(), h.table->version, options_of(h.instance).describe(),
               format_story(*interp, trace, told));
    if (h.invariant != nullptr && h.invariant->kind != InvariantKind::StatePredicate) {
        exit_code() = 3;
        fmt::print("{} is a graph property: replay cannot tell whether the last state is "
                   "unrecoverable (handoff check --engine explicit decides it)\n",
                   h.invariant->name);
        return;
    }
    if (h.invariant != nullptr) {
        const bool violated = !holds(*interp, *h.invariant, last);
        exit_code() = violated ? 0 : 1;
        fmt::print("{}: the last state {} {}\n",
                   violated ? "reaches the violation" : "NO VIOLATION",
                   violated ? "violates" : "satisfies", h.invariant->name);
        return;
    }
    std::string violated;
    for (const auto& inv : all_invariants()) {
        if (inv.applies_to(h.table->version) && inv.kind == InvariantKind::StatePredicate &&
            !holds(*interp, inv, last)) {
            violated += (violated.empty() ? "" : ", ") + std::string(inv.name);
        }
    }
    exit_code() = violated.empty() ? 1 : 0;
    fmt::print("the trace names no invariant; the last state violates: {}\n",
               violated.empty() ? "none" : violated);
}

void register_replay(CLI::App& app) {
    auto a = std::make_shared<ReplayArgs>();
    auto* cmd = app.add_subcommand(
        "replay", "Replay a trace file (handoff trace --json) on the interpreter, tell its story "
                  "and say whether it reaches the violation it claims");
    cmd->add_option("FILE", a->file, "The trace file (JSON)")->required();
    cmd->add_option("--invariant", a->invariant,
                    "The invariant the trace claims to violate (default: the file's "
                    "\"invariant\", else every one is evaluated on the last state)");
    cmd->add_option("--on-version", a->on_version,
                    "Does the fix close it? Map the trace onto another version (rows by name, "
                    "parameters by meaning) and say, per step, whether the story takes the same "
                    "course, another course, or is refused there, and whether it still reaches "
                    "the violation");
    cmd->add_flag("--json", a->json, "With --on-version: the same, machine-readable");
    cmd->footer(
        "Exit codes: 0 the trace replays and its last state violates the invariant it claims, "
        "1 it replays but does not, 3 the invariant is a graph property replay cannot decide, 2 "
        "bad input (unreadable or malformed file, unknown row or parameter, a recorded state the "
        "interpreter does not reach).\n"
        "With --on-version V: 0 the story no longer reaches the violation on V (V refuses a step "
        "or takes another course), 1 it still does, 3 a graph property, 2 bad input. A parameter "
        "the original row lacks means \"nothing else fails\" (none, no); where that is "
        "impossible, the least possible value is taken and the step says so.");
    cmd->callback([a] { run_replay(*a); });
}

// ---- export --------------------------------------------------------------------------------

struct ExportArgs {
    std::string version, format = "smt2", query = "bmc", out;
    std::vector<std::string> invariants;
    InstanceOptions instance;
    int depth = 0;
    CLI::Option* depth_given = nullptr;
    CLI::Option* query_given = nullptr;
};

// The state invariants an export asserts: those named (each must apply to the version and be a
// state predicate; `lacking` says what a graph property has not), or else every one that applies.
// The graph properties left out of "every one" are listed in *skipped.
std::vector<const InvariantData*> exported_invariants(const ExportArgs& a, const TableData& table,
                                                      std::string_view lacking,
                                                      std::string* skipped = nullptr) {
    std::vector<const InvariantData*> invs;
    for (const auto& name : a.invariants) {
        const InvariantData& inv = require_invariant(name);
        if (!inv.applies_to(table.version)) {
            throw UsageError(fmt::format("invariant '{}' does not apply to {}", name, a.version));
        }
        if (inv.kind != InvariantKind::StatePredicate) {
            throw UsageError(fmt::format("{} is a graph property{}", name, lacking));
        }
        invs.push_back(&inv);
    }
    if (invs.empty()) {
        for (const auto& inv : all_invariants()) {
            if (!inv.applies_to(table.version)) {
                continue;
            }
            if (inv.kind == InvariantKind::StatePredicate) {
                invs.push_back(&inv);
            } else if (skipped != nullptr) {
                *skipped += (skipped->empty() ? "" : ", ") + std::string(inv.name);
            }
        }
    }
    return invs;
}

void run_export_promela(const ExportArgs& a, const TableData& table);

void run_export(const ExportArgs& a) {
    const TableData& table = require_version(a.version);
    if (a.format == "promela") {
        run_export_promela(a, table);
        return;
    }
    if (a.format != "smt2") {
        throw UsageError(
            fmt::format("unknown format '{}' (expected one of: smt2, promela)", a.format));
    }
    if (a.query != "bmc" && a.query != "induction") {
        throw UsageError(
            fmt::format("unknown query '{}' (expected one of: bmc, induction)", a.query));
    }
    const Query query = a.query == "bmc" ? Query::bmc : Query::induction;
    const int depth = a.depth_given->count() > 0 ? a.depth : (query == Query::bmc ? 10 : 1);
    if (depth < 0) {
        throw UsageError(fmt::format("--depth must not be negative, not {}", depth));
    }
    if (query == Query::induction && depth < 1) {
        throw UsageError("--depth of an induction query (k) must be at least 1");
    }
    const std::vector<const InvariantData*> invs =
        exported_invariants(a, table, ": it has no SMT-LIB query");
    const Instance inst = a.instance.instance();
    z3::context ctx;
    const Lowering low(ctx, table, inst);
    std::string names;
    for (const auto* inv : invs) {
        names += (names.empty() ? "" : ", ") + std::string(inv->name);
    }
    const std::string comment =
        query == Query::bmc
            ? fmt::format("handoff export: {} on {}\nBMC query at depth {} for: {}\nsat: a "
                          "counterexample of at most {} steps; unsat: no violation up to depth {}",
                          a.version, a.instance.describe(), depth, names, depth, depth)
            : fmt::format("handoff export: {} on {}\nk-induction step query at k = {} for: {}\n"
                          "unsat: the invariants are {}-inductive (with simple paths); sat: a "
                          "counterexample to induction (not necessarily reachable)",
                          a.version, a.instance.describe(), depth, names, depth);
    emit(a.out, export_smt2(low, invs, query, depth, comment));
}

// The instance as Promela: every state invariant that applies (or those named), as assertions.
void run_export_promela(const ExportArgs& a, const TableData& table) {
    if (a.depth_given->count() > 0 || a.query_given->count() > 0) {
        throw UsageError("--depth and --query apply to --format smt2 only (a Promela model is "
                         "the whole instance)");
    }
    std::string skipped;
    const std::vector<const InvariantData*> invs = exported_invariants(
        a, table, ", not a state predicate: it has no Promela assertion", &skipped);
    const Instance inst = a.instance.instance();
    const Interpreter interp(table, inst);
    std::string names;
    for (const auto* inv : invs) {
        names += (names.empty() ? "" : ", ") + std::string(inv->name);
    }
    const std::string comment = fmt::format(
        "handoff export --format promela: {} on {}\n"
        "Asserted in every reachable state: {}\n{}"
        "Check:  spin -o2 -a model.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan -m10000000\n"
        "(stops at the first violation; ./pan -c0 -m10000000 names every violated invariant).\n"
        "\"errors: 0\" with no \"max search depth too small\" warning: every asserted invariant\n"
        "holds for this instance.\n"
        "Count:  ./pan -A -m10000000 (assertions ignored: the whole reachable space). SPIN stores\n"
        "one state more than `handoff explore` counts on the same instance: the process's start,\n"
        "before it chose an initial state.",
        a.version, a.instance.describe(), names.empty() ? "(none)" : names,
        skipped.empty()
            ? ""
            : fmt::format("Not exported: {} (a graph property, not a state predicate)\n", skipped));
    emit(a.out, export_promela(interp, invs, comment));
}

void register_export(CLI::App& app) {
    auto a = std::make_shared<ExportArgs>();
    auto* cmd = app.add_subcommand(
        "export", "Write a version's BMC or k-induction query as SMT-LIB 2 (for z3, cvc5), or "
                  "an instance as a Promela model (for SPIN)");
    cmd->add_option("--version", a->version, "QEMU version, e.g. v8.0.0")->required();
    cmd->add_option("--invariant", a->invariants,
                    "Invariant (repeatable; default: every state invariant that applies)");
    cmd->add_option("--format", a->format, "Output format: smt2 or promela")->capture_default_str();
    a->query_given =
        cmd->add_option("--query", a->query, "bmc or induction (smt2)")->capture_default_str();
    a->depth_given = cmd->add_option("--depth", a->depth,
                                     "BMC depth K (default 10), or k of induction (default 1)");
    cmd->add_option("--out", a->out, "Write to this file instead of standard output");
    a->instance.add_to(cmd);
    cmd->footer("bmc at depth K: sat iff some initial state reaches a violation within K steps. "
                "induction at k: sat iff k distinct states satisfying the invariants can be "
                "followed by one violating them (unsat: k-inductive).\npromela: the instance "
                "(--nodes, --cap, ...) with the invariants as assertions; SPIN stores one state "
                "more than handoff explore counts (its process before the initial choice); "
                "`./pan -A` counts without the assertions.\nExit codes: 0 written, 2 bad input.");
    cmd->callback([a] { run_export(*a); });
}

// ---- coverage ------------------------------------------------------------------------------

struct CoverageArgs {
    std::string version;
    InstanceOptions instance;
    bool json = false;
};

void run_coverage(const CoverageArgs& a) {
    const TableData& table = require_version(a.version);
    const Interpreter interp(table, a.instance.instance());
    const Coverage c = coverage(interp);
    std::vector<const Coverage::RowHost*> dead;
    for (const auto& r : c.rows) {
        if (!r.fired) {
            dead.push_back(&r);
        }
    }
    int vacuous = 0;
    for (const auto& i : c.invariants) {
        vacuous += i.vacuous() ? 1 : 0;
    }
    exit_code() = !c.complete ? 3 : (dead.empty() && vacuous == 0 ? 0 : 1);
    auto row_name = [&](const Coverage::RowHost& r) {
        return std::string(table.rows[static_cast<std::size_t>(r.row)].name);
    };
    auto per_host = [&](const Coverage::RowHost& r) {
        const auto& ps = table.rows[static_cast<std::size_t>(r.row)].params;
        return std::find(ps.begin(), ps.end(), Param::host) != ps.end();
    };
    if (a.json) {
        nlohmann::json rows = nlohmann::json::array(), invs = nlohmann::json::array();
        for (const auto& r : c.rows) {
            nlohmann::json row{{"row", row_name(r)}, {"fires", r.fired}};
            if (per_host(r)) {
                row["host"] = r.host;
            }
            rows.push_back(row);
        }
        for (const auto& i : c.invariants) {
            nlohmann::json inv{{"invariant", i.invariant->name}, {"vacuous", i.vacuous()}};
            if (i.has_premise) {
                inv["premise"] = i.premise_text;
                inv["premise_reachable"] = i.reachable;
            }
            if (i.excludes_crash) {
                inv["crash"] = i.crash_name;
                inv["crash_asserted_by_some_row"] = i.crash_in_table;
            }
            invs.push_back(inv);
        }
        std::cout << nlohmann::json{{"version", table.version},
                                    {"instance", a.instance.json()},
                                    {"states", c.states},
                                    {"complete", c.complete},
                                    {"seconds", c.seconds},
                                    {"dead_rows", dead.size()},
                                    {"vacuous_invariants", vacuous},
                                    {"rows", rows},
                                    {"invariants", invs}}
                         .dump(2)
                  << "\n";
        return;
    }
    fmt::print("coverage of {} on the instance {}: {} reachable states{} in {:.1f} s\n",
               table.version, a.instance.describe(), c.states,
               c.complete ? " (all of them)" : " (INCOMPLETE: the state limit was reached)",
               c.seconds);
    fmt::print("\nrows that never fire from a reachable state ({} of {} row/host pairs):\n",
               dead.size(), c.rows.size());
    if (dead.empty()) {
        fmt::print("  none\n");
    }
    for (const auto* r : dead) {
        fmt::print("  {}{}\n", row_name(*r),
                   per_host(*r) ? fmt::format(" (host {})", r->host) : std::string());
    }
    fmt::print("\ninvariants and their premises (forall ... : A => B has the premise A; crash != X "
               "needs a row that asserts with reason X):\n");
    for (const auto& i : c.invariants) {
        std::string what = "no premise (not of the form A => B)";
        if (i.has_premise) {
            what = (i.reachable ? "premise reachable: " : "VACUOUS, the premise never holds: ") +
                   i.premise_text;
        } else if (i.excludes_crash) {
            what = i.crash_in_table
                       ? "crash " + i.crash_name + " is asserted by some row"
                       : "VACUOUS, no row of " + std::string(table.version) + " can crash with " +
                             i.crash_name + ": it holds by construction";
        }
        fmt::print("  {:<38} {}\n", i.invariant->name, what);
    }
}

void register_coverage(CLI::App& app) {
    auto a = std::make_shared<CoverageArgs>();
    a->instance.nodes = 1;
    auto* cmd = app.add_subcommand(
        "coverage", "Rows that never fire and invariants whose premise is never reachable, by "
                    "exploring a finite instance");
    cmd->add_option("--version", a->version, "QEMU version, e.g. v8.0.0")->required();
    a->instance.add_to(cmd);
    cmd->add_flag("--json", a->json, "Write the coverage as JSON");
    cmd->footer("The answer is for the instance explored (printed first; default: 1 node, every "
                "capability combination, which takes up to a minute per version).\nExit codes: 0 "
                "every row fires and no invariant is vacuous, 1 some row never fires or some "
                "invariant is vacuous, 3 the exploration was incomplete, 2 bad input.");
    cmd->callback([a] { run_coverage(*a); });
}

} // namespace

void register_artifacts_commands(CLI::App& app) {
    register_trace(app);
    register_replay(app);
    register_export(app);
    register_coverage(app);
}

} // namespace handoff::cli
