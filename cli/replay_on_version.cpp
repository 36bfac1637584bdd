#include "replay_on_version.hpp"

#include "instance_options.hpp"

#include "handoff/model/spec.hpp"
#include "handoff/proofs/retarget.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

namespace handoff::cli {

using namespace handoff::model;
using namespace handoff::proofs;
using json = nlohmann::json;

LoadedTrace load_trace_file(const std::string& file) {
    std::ifstream in(file);
    if (!in) {
        throw UsageError(fmt::format("cannot read '{}': {}", file, std::strerror(errno)));
    }
    LoadedTrace t;
    try {
        t.json = json::parse(in);
    } catch (const json::exception& e) {
        throw UsageError(fmt::format("{}: not a JSON trace: {}", file, e.what()));
    }
    try {
        t.header = read_trace_header(t.json);
        t.interp.emplace(*t.header.table, t.header.instance);
        t.trace = trace_from_json(*t.interp, t.json);
    } catch (const TraceError& e) {
        throw UsageError(fmt::format("{}: {}", file, e.what()));
    }
    return t;
}

namespace {

std::string differences_text(const std::vector<VarDifference>& ds, std::string_view original) {
    std::string out;
    for (const auto& d : ds) {
        out += fmt::format("{}{} = {} ({}: {})", out.empty() ? "" : ", ", d.variable, d.now,
                           original, d.original);
    }
    return out;
}

// `detailed`: a refusal with every false part of its guard or assumption (else the short ones).
std::string course_text(const Retarget& rt, const RetargetStep& r, bool detailed = true) {
    switch (r.course) {
    case Course::same:
        return "same course";
    case Course::another:
        return "takes another course: " + differences_text(r.differences, rt.from->version);
    case Course::refused: {
        std::string out = "refused: " + r.refused;
        constexpr std::size_t short_part = 120;
        bool first = true;
        for (const auto& part : r.false_parts) {
            if (detailed || part.size() < short_part) {
                out += (first ? "; false: " : "; ") + part;
                first = false;
            }
        }
        return out;
    }
    case Course::not_replayed:
        break;
    }
    return fmt::format("not replayed (the story stopped at step {})", rt.stopped_at);
}

const char* course_name(Course c) {
    switch (c) {
    case Course::same:
        return "same";
    case Course::another:
        return "another";
    case Course::refused:
        return "refused";
    case Course::not_replayed:
        break;
    }
    return "not_replayed";
}

std::string_view row_name(const TableData& t, const Step& s) {
    return t.rows[static_cast<std::size_t>(s.row)].name;
}

// The row a step stands for on the other version (its own name if the step was not mapped).
std::string_view row_on_version(const Retarget& rt, const RetargetStep& r) {
    return r.row != nullptr ? r.row->name : row_name(*rt.from, r.original);
}

// The step that stops the story (the first that is refused or takes another course), or 0.
int stopping_step(const Retarget& rt) {
    return rt.reaches_at != 0 ? 0 : rt.first_departure;
}

// "v8.1 stops the story at step 5 (migration_completion_save): ..." or "the story still reaches
// ...": the verdict, then the further departures worth knowing.
std::vector<std::string> verdict_lines(const Retarget& rt) {
    const std::string_view v = rt.to->version;
    std::vector<std::string> out;
    if (!rt.no_initial.empty()) {
        out.push_back(fmt::format("{} stops the story before step 1: {}", v, rt.no_initial));
        return out;
    }
    const std::string inv = rt.invariant != nullptr ? std::string(rt.invariant->name) : "";
    if (rt.initial_violates) {
        out.push_back(
            fmt::format("the story still reaches {} on {} at step 0 (its initial state)", inv, v));
    } else if (rt.reaches_at != 0) {
        out.push_back(
            fmt::format("the story still reaches {} on {} at step {}", inv, v, rt.reaches_at));
    } else if (rt.first_departure != 0) {
        const RetargetStep& r = rt.steps[static_cast<std::size_t>(rt.first_departure - 1)];
        std::string reason = course_text(rt, r);
        if (r.course == Course::same) {
            reason = "only with another outcome: " + r.forced;
        }
        out.push_back(fmt::format("{} stops the story at step {} ({}): {}", v, rt.first_departure,
                                  row_on_version(rt, r), reason));
    } else {
        out.push_back(fmt::format(
            "the story takes the same course on {}{}", v,
            rt.invariant != nullptr
                ? fmt::format(" and does not reach {} (nor does it on {})", inv, rt.from->version)
                : ""));
    }
    // Every other departure: where the story leaves the original's course on the way, marked
    // where it changes what the invariant reads.
    std::set<std::string> read;
    if (rt.invariant != nullptr) {
        std::set<Var> vars;
        collect_vars(invariants_ast(), rt.invariant->expr, vars);
        for (Var var : vars) {
            read.insert(std::string(var_info(var).name));
        }
    }
    const auto reads = [&](const RetargetStep& r) {
        return std::any_of(r.differences.begin(), r.differences.end(), [&](const auto& d) {
            return read.count(d.variable.substr(0, d.variable.find('['))) != 0;
        });
    };
    for (std::size_t k = 0; k < rt.steps.size(); ++k) {
        const RetargetStep& r = rt.steps[k];
        const int number = static_cast<int>(k) + 1;
        const std::string mark =
            reads(r) ? fmt::format(" -- what {} reads", rt.invariant->name) : "";
        if (number == stopping_step(rt)) {
            out.front() += mark;
            continue;
        }
        if (r.course == Course::another || r.course == Course::refused) {
            out.push_back(fmt::format("  step {} ({}) {}{}", number, row_on_version(rt, r),
                                      course_text(rt, r), mark));
        }
        if (!r.forced.empty()) {
            out.push_back(fmt::format("  step {} ({}) goes on only with another outcome: {}",
                                      number, row_on_version(rt, r), r.forced));
        }
    }
    return out;
}

// The command that answers "does V violate the invariant by another story?".
std::string check_command(const Retarget& rt, const Instance& instance) {
    std::string options;
    const json fields = instance_fields(instance);
    if (fields["nodes"] != 2) {
        options += fmt::format(" --nodes {}", fields["nodes"].get<int>());
    }
    if (fields["starts"] != 1) {
        options += fmt::format(" --starts {}", fields["starts"].get<int>());
    }
    if (fields["set_active_calls"] != 1) {
        options += fmt::format(" --set-active-calls {}", fields["set_active_calls"].get<int>());
    }
    for (const auto& c : fields["caps"]) {
        // Documented use fixes image locking on by itself (and refuses it off).
        if (!(instance.documented_use && c == "image-locking=on")) {
            options += " --cap " + c.get<std::string>();
        }
    }
    if (!instance.documented_use) {
        options += " --env any";
    }
    return fmt::format("handoff check --version {} --invariant {}{}", rt.to->version,
                       rt.invariant->name, options);
}

int exit_code_of(const Retarget& rt, const InvariantData& inv) {
    if (inv.kind != InvariantKind::StatePredicate) {
        return 3;
    }
    return rt.initial_violates || rt.reaches_at != 0 ? 1 : 0;
}

json differences_json(const std::vector<VarDifference>& ds) {
    json out = json::array();
    for (const auto& d : ds) {
        out.push_back({{"variable", d.variable}, {"original", d.original}, {"now", d.now}});
    }
    return out;
}

json params_json(const RowData& row, const Step& s) {
    json out = json::object();
    for (Param p : row.params) {
        out[std::string(param_info(p).name)] = s.params[static_cast<std::size_t>(p)];
    }
    return out;
}

json retarget_json(const Retarget& rt, const LoadedTrace& t, const std::string& file) {
    json steps = json::array();
    for (std::size_t k = 0; k < rt.steps.size(); ++k) {
        const RetargetStep& r = rt.steps[k];
        const RowData& row = rt.from->rows[static_cast<std::size_t>(r.original.row)];
        json s{{"step", k + 1},
               {"row", row.name},
               {"params", params_json(row, r.original)},
               {"course", course_name(r.course)},
               {"notes", r.notes},
               {"violates", r.violates}};
        if (r.row != nullptr && r.course != Course::not_replayed) {
            s["row_on_version"] = r.row->name;
            s["params_on_version"] = params_json(*r.row, r.step);
        }
        if (r.course == Course::another || r.course == Course::same) {
            s["differences"] = differences_json(r.differences);
            s["earlier_differences"] = differences_json(r.persisting);
        }
        if (!r.forced.empty()) {
            s["forced"] = r.forced;
        }
        if (r.course == Course::refused) {
            s["refused"] = r.refused;
            s["false_parts"] = r.false_parts;
            s["alternatives"] = r.alternatives;
        }
        steps.push_back(s);
    }
    auto step_or_null = [](int k) { return k == 0 ? json(nullptr) : json(k); };
    json out{{"trace", file},
             {"version", rt.from->version},
             {"on_version", rt.to->version},
             {"invariant", rt.invariant != nullptr ? json(rt.invariant->name) : json(nullptr)},
             {"initial",
              {{"matched", rt.no_initial.empty()},
               {"reason", rt.no_initial},
               {"differences", differences_json(rt.initial_differences)}}},
             {"steps", steps},
             {"verdict",
              {{"reaches", rt.initial_violates || rt.reaches_at != 0},
               {"reaches_at", rt.initial_violates ? json(0) : step_or_null(rt.reaches_at)},
               {"first_departure", step_or_null(rt.first_departure)},
               {"stopped_at", step_or_null(rt.stopped_at)},
               {"text", verdict_lines(rt)}}}};
    if (rt.no_initial.empty()) {
        // The story as far as it goes on the other version: a trace file of that version.
        const Interpreter target(*rt.to, t.header.instance);
        out["replayed"] = trace_to_json(target, rt.replayed, rt.invariant);
    }
    return out;
}

} // namespace

void run_replay_on_version(const ReplayOnVersionArgs& a) {
    const TableData& to = require_version(a.version);
    const LoadedTrace t = load_trace_file(a.file);
    const InvariantData* inv = t.header.invariant;
    if (!a.invariant.empty()) {
        inv = &require_invariant(a.invariant);
    }
    if (inv == nullptr) {
        throw UsageError(fmt::format("{} names no invariant: give --invariant", a.file));
    }
    if (!inv->applies_to(to.version)) {
        throw UsageError(fmt::format("invariant '{}' does not apply to {}", inv->name, to.version));
    }
    const Retarget rt = retarget(*t.interp, t.trace, inv, to);
    exit_code() = exit_code_of(rt, *inv);
    if (a.json) {
        std::cout << retarget_json(rt, t, a.file).dump(2) << "\n";
        return;
    }
    const Interpreter& from = *t.interp;
    const Interpreter target(to, t.header.instance);
    fmt::print("{}: {} steps of {} ({}) replayed on {}, rows by name and parameters by meaning\n",
               a.file, t.trace.steps.size(), rt.from->version, inv->name, to.version);
    if (!rt.no_initial.empty()) {
        fmt::print("  0. initial state -- {}\n", rt.no_initial);
    } else {
        fmt::print("  0. initial state -- {}\n",
                   rt.initial_differences.empty()
                       ? std::string("the same on the variables both versions use")
                       : "differs: " + differences_text(rt.initial_differences, rt.from->version));
    }
    for (std::size_t k = 0; k < rt.steps.size(); ++k) {
        const RetargetStep& r = rt.steps[k];
        const bool replayed = r.course != Course::not_replayed;
        fmt::print("  {}. {} ({}) -- {}{}\n", k + 1, row_name(*rt.from, r.original),
                   format_params(from, r.original), course_text(rt, r),
                   r.violates ? fmt::format("; violates {}", inv->name) : "");
        if (!replayed) {
            continue;
        }
        const std::string here = r.row != nullptr ? format_params(target, r.step) : "";
        if (r.row != nullptr && (r.row->name != row_name(*rt.from, r.original) ||
                                 here != format_params(from, r.original))) {
            fmt::print("       on {}: {} ({})\n", to.version, r.row->name, here);
        }
        for (const auto& note : r.notes) {
            fmt::print("       {}\n", note);
        }
        if (!r.forced.empty()) {
            fmt::print("       {}\n", r.forced);
        }
        if (!r.persisting.empty()) {
            fmt::print("       differs from earlier steps: {}\n",
                       differences_text(r.persisting, rt.from->version));
        }
        if (!r.alternatives.empty()) {
            // The closest few to the story's own outcome.
            constexpr std::size_t shown = 3;
            std::string alts;
            for (std::size_t i = 0; i < r.alternatives.size() && i < shown; ++i) {
                alts += (alts.empty() ? "" : "; ") + r.alternatives[i];
            }
            if (r.alternatives.size() > shown) {
                alts += fmt::format(" (and {} more)", r.alternatives.size() - shown);
            }
            fmt::print("       {} takes this step with: {}\n", to.version, alts);
        } else if (r.course == Course::refused && r.row != nullptr) {
            fmt::print("       {} takes this step with no outcome here\n", to.version);
        }
    }
    for (const auto& line : verdict_lines(rt)) {
        fmt::print("{}\n", line);
    }
    if (inv->kind != InvariantKind::StatePredicate) {
        fmt::print("{} is a graph property: the replay cannot tell whether a state is "
                   "unrecoverable (handoff check --engine explicit decides it)\n",
                   inv->name);
    } else if (rt.first_departure != 0 || rt.reaches_at == 0) {
        fmt::print("whether {} violates {} by another story: {}\n", to.version, inv->name,
                   check_command(rt, t.header.instance));
    }
}

void print_blocked_traces(const TableData& from, const TableData& to, const std::string& dir) {
    const std::filesystem::path folder = std::filesystem::path(dir) / std::string(from.version);
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(folder, ec)) {
        if (e.is_regular_file() && e.path().extension() == ".json") {
            files.push_back(e.path());
        }
    }
    if (ec) {
        throw UsageError(fmt::format("cannot read '{}': {}", folder.string(), ec.message()));
    }
    std::sort(files.begin(), files.end());
    // Per row of `to` where the replay stops: the traces it stops (file, step, reason).
    std::map<std::string, std::vector<std::string>> blocked;
    std::vector<std::string> still, undecided, unread;
    for (const auto& path : files) {
        const std::string name = path.filename().string();
        std::optional<LoadedTrace> t;
        try {
            t.emplace(load_trace_file(path.string()));
        } catch (const UsageError& e) {
            unread.push_back(fmt::format("{} ({})", name, e.what()));
            continue;
        }
        // A stored counterexample is named after its invariant (proofs/traces/V/I.json).
        const InvariantData* inv = t->header.invariant != nullptr
                                       ? t->header.invariant
                                       : find_invariant(path.stem().string());
        if (inv == nullptr || !inv->applies_to(to.version)) {
            unread.push_back(fmt::format("{} ({})", name,
                                         inv == nullptr ? "names no invariant"
                                                        : "its invariant does not apply to " +
                                                              std::string(to.version)));
            continue;
        }
        const Retarget rt = retarget(*t->interp, t->trace, inv, to);
        const int stop = stopping_step(rt);
        if (inv->kind != InvariantKind::StatePredicate) {
            undecided.push_back(
                stop == 0 ? fmt::format("{} (same course)", name)
                          : fmt::format(
                                "{} (departs at step {}, {})", name, stop,
                                row_on_version(rt, rt.steps[static_cast<std::size_t>(stop - 1)])));
        } else if (stop == 0) {
            still.push_back(fmt::format("{} (step {})", name, rt.reaches_at));
        } else {
            const RetargetStep& r = rt.steps[static_cast<std::size_t>(stop - 1)];
            blocked[std::string(row_on_version(rt, r))].push_back(
                fmt::format("{} at step {}: {}", name, stop,
                            r.course == Course::same ? "only with another outcome"
                                                     : course_text(rt, r, false)));
        }
    }
    fmt::print("\nstored counterexamples of {} ({}, {} files) replayed on {}:\n", from.version,
               folder.string(), files.size(), to.version);
    for (const auto& [row, traces] : blocked) {
        const RowData* before = from.find(row);
        fmt::print("row {}{} stops:\n", row,
                   before == nullptr ? fmt::format(" (not a row of {})", from.version) : "");
        for (const auto& line : traces) {
            fmt::print("  {}\n", line);
        }
    }
    auto list = [](const char* title, const std::vector<std::string>& items) {
        if (!items.empty()) {
            fmt::print("{}:\n", title);
            for (const auto& i : items) {
                fmt::print("  {}\n", i);
            }
        }
    };
    list(fmt::format("still reach their violation on {}", to.version).c_str(), still);
    list("graph properties (replay cannot decide)", undecided);
    list("not replayed", unread);
}

} // namespace handoff::cli
