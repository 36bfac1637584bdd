// handoff mutate: mutation testing of one version's table (proofs/mutate.hpp). Each mutant, a
// copy of the run-time table with one small change, goes to the checker at the default instance
// under both environment profiles (compared with proofs/expected.json), and, if the checker does
// not notice it, to the property tests' oracle (impl/ against the mutated model, a small budget).
// The report (Markdown, or --json) counts killed, equivalent and surviving mutants; the
// equivalences are read from docs/mutation/equivalent.tsv (id, TAB, why).
#include "commands.hpp"
#include "instance_options.hpp"
#include "progress.hpp"

#include "handoff/model/invariants.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proofs/mutate.hpp"
#include "handoff/proptests/property.hpp"
#include "handoff/proptests/versions.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

namespace handoff::cli {

namespace {

using namespace handoff::model;
using namespace handoff::proofs;

struct MutateArgs {
    std::string version;
    int sample = 0;
    unsigned long seed = 1;
    bool json = false;
    bool list = false;
    std::string expect = "proofs/expected.json";
    std::string traces = "proofs/traces";
    std::string equivalences = "docs/mutation/equivalent.tsv";
    std::vector<std::string> envs{"documented", "any"};
    std::vector<std::string> only;
    int jobs = 1;
    double ic3_seconds = 30;
    int oracle_cases = 1000;
    int oracle_size = 80;
    bool equivalence = false;
    bool quiet = false;
};

struct Profile {
    std::string env;
    Instance instance;
    std::vector<ExpectedCell> expected;
};

// The manifest's cells of one version and profile; UsageError when the file is unreadable or
// has none.
// The steps of a stored counterexample (proofs/traces/V[/any]/I.json) as step_text() writes
// them; UsageError when the file is missing or malformed.
std::vector<std::string> stored_trace(const std::string& dir, const std::string& version,
                                      const std::string& env, const std::string& invariant) {
    const std::string path =
        fmt::format("{}/{}/{}{}.json", dir, version, env == "any" ? "any/" : "", invariant);
    std::ifstream in(path);
    if (!in) {
        throw UsageError(fmt::format("--traces: cannot read {}", path));
    }
    std::vector<std::string> out;
    try {
        const nlohmann::json j = nlohmann::json::parse(in);
        for (const auto& step : j.at("steps")) {
            std::string text = step.at("row").get<std::string>();
            for (const auto& [name, value] : step.at("params").items()) { // sorted by name
                text += fmt::format(" {}={}", name, value.get<int>());
            }
            out.push_back(text);
        }
    } catch (const nlohmann::json::exception& e) {
        throw UsageError(fmt::format("--traces: {} is not a trace file ({})", path, e.what()));
    }
    return out;
}

std::vector<ExpectedCell> expected_cells(const nlohmann::json& manifest, const std::string& path,
                                         const std::string& traces, const std::string& version,
                                         const std::string& env) {
    std::vector<ExpectedCell> out;
    for (const auto& e : manifest["results"]) {
        if (e.value("version", "") != version || e.value("env", "any") != env) {
            continue;
        }
        ExpectedCell cell;
        cell.invariant = find_invariant(e.value("invariant", ""));
        if (cell.invariant == nullptr) {
            throw UsageError(
                fmt::format("{} names an unknown invariant '{}'", path, e.value("invariant", "")));
        }
        const std::string verdict = e.value("verdict", "");
        cell.verdict = verdict == "proved"     ? Verdict::proved
                       : verdict == "violated" ? Verdict::violated
                       : verdict == "bounded"  ? Verdict::bounded
                                               : Verdict::unknown;
        cell.steps = e.value("steps", -1);
        if (cell.verdict == Verdict::violated && !traces.empty()) {
            cell.trace = stored_trace(traces, version, env, e.value("invariant", ""));
        }
        out.push_back(cell);
    }
    if (out.empty()) {
        throw UsageError(fmt::format("{} has no results for {} under {} use", path, version, env));
    }
    return out;
}

// id TAB reason, one a line; `#` starts a comment. A missing file is no equivalences.
std::map<std::string, std::string> read_equivalences(const std::string& path) {
    std::map<std::string, std::string> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto tab = line.find('\t');
        if (tab == std::string::npos) {
            throw UsageError(fmt::format("{}: a line without a tab: {}", path, line));
        }
        out[line.substr(0, tab)] = line.substr(tab + 1);
    }
    return out;
}

// The line of a failed property that says what went wrong: the oracle's "implementation did X,
// model allows only: ..." (with the first step the model allows), or else a watched invariant's
// violation, or else the first line.
std::string oracle_complaint(const std::string& message) {
    std::vector<std::string> lines;
    std::istringstream in(message);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line.substr(std::min(line.find_first_not_of(' '), line.size())));
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].rfind("implementation did", 0) == 0) {
            return lines[i] + (i + 1 < lines.size() ? " " + lines[i + 1] : "");
        }
    }
    for (const auto& line : lines) {
        if (line.find("violat") != std::string::npos) {
            return line;
        }
    }
    return lines.empty() ? "" : lines.front();
}

enum class Status { killed, equivalent, survived };

struct Outcome {
    const Mutant* mutant = nullptr;
    Status status = Status::survived;
    std::string by;     // "checker (documented)", "oracle"
    std::string reason; // the first difference, or the equivalence's reason
    bool bug = false;
};

std::string_view status_name(Status s) {
    return s == Status::killed ? "killed" : s == Status::equivalent ? "equivalent" : "survived";
}

void run_mutate(const MutateArgs& a) {
    const TableData& table = require_version(a.version);
    std::ifstream manifest_in(a.expect);
    if (!manifest_in) {
        throw UsageError(fmt::format("--expect: cannot read {}", a.expect));
    }
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(manifest_in);
    } catch (const nlohmann::json::exception&) {
        throw UsageError(fmt::format("--expect: {} is not JSON", a.expect));
    }
    if (!manifest.contains("results") || !manifest["results"].is_array()) {
        throw UsageError(fmt::format("--expect: {} has no \"results\" array", a.expect));
    }
    std::vector<Profile> profiles;
    for (const std::string& env : a.envs) {
        InstanceOptions io; // the default instance, the one `handoff prove` uses
        io.env = env;
        profiles.push_back(
            {env, io.instance(), expected_cells(manifest, a.expect, a.traces, a.version, env)});
    }
    const auto equivalences = read_equivalences(a.equivalences);

    const std::vector<Mutant> all = mutants_of(table);
    std::vector<const Mutant*> chosen;
    for (const Mutant& m : all) {
        if (a.only.empty() || std::find(a.only.begin(), a.only.end(), m.id) != a.only.end()) {
            chosen.push_back(&m);
        }
    }
    for (const std::string& id : a.only) {
        if (std::none_of(all.begin(), all.end(), [&](const Mutant& m) { return m.id == id; })) {
            throw UsageError(fmt::format("--only: {} has no mutant {}", a.version, id));
        }
    }
    if (a.sample > 0 && static_cast<std::size_t>(a.sample) < chosen.size()) {
        std::mt19937_64 rng(a.seed);
        std::shuffle(chosen.begin(), chosen.end(), rng);
        chosen.resize(static_cast<std::size_t>(a.sample));
        std::sort(chosen.begin(), chosen.end());
    }
    if (a.list) {
        for (const Mutant* m : chosen) {
            fmt::print("{}\t{}\n", m->id, m->description);
        }
        return;
    }

    // The oracle first, since it is the cheaper (about a second a mutant, against several for
    // the checker): impl/ of this version against the mutant, the proved invariants watched (as
    // Refinement/<version> does, with a smaller budget). One thread: RapidCheck's is global.
    const auto start = std::chrono::steady_clock::now();
    // On a terminal, one line says which phase runs and how far it got (cleared before the report).
    std::optional<ProgressLine> progress(std::in_place, a.quiet);
    std::mutex progress_mutex;
    auto show = [&](const std::string& what) {
        const std::lock_guard<std::mutex> lock(progress_mutex);
        progress->show(fmt::format(
            "mutate {}: {}, {:.0f} s", a.version, what,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
    };
    std::vector<Outcome> outcomes(chosen.size());
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        outcomes[i].mutant = chosen[i];
    }
    const bool oracle =
        a.oracle_cases > 0 &&
        std::find(proptests::test_versions().begin(), proptests::test_versions().end(),
                  a.version) != proptests::test_versions().end();
    int oracle_runs = 0;
    if (oracle) {
        std::vector<const InvariantData*> watched;
        for (const ExpectedCell& e : profiles.front().expected) {
            if (e.verdict == Verdict::proved &&
                e.invariant->kind == InvariantKind::StatePredicate) {
                watched.push_back(e.invariant);
            }
        }
        int oracle_killed = 0;
        for (std::size_t i = 0; i < outcomes.size(); ++i) {
            Outcome& o = outcomes[i];
            show(fmt::format("the oracle, mutant {} of {} ({} killed)", i + 1, outcomes.size(),
                             oracle_killed));
            const TableData m = mutated(table, *o.mutant);
            proptests::PropertyOptions po;
            po.version = a.version;
            po.table = &m;
            po.watched = watched;
            po.test_cases = a.oracle_cases;
            po.max_size = a.oracle_size;
            po.write_trace = false;
            po.shrink = false;
            proptests::PropertyOutcome out;
            try {
                out = proptests::check_property("mutant " + o.mutant->id, po);
            } catch (const std::exception& e) {
                o.status = Status::killed;
                o.by = "oracle";
                o.reason = std::string("the property test failed to run: ") + e.what();
                continue;
            }
            ++oracle_runs;
            if (out.falsified) {
                o.status = Status::killed;
                o.by = "oracle";
                o.reason = oracle_complaint(out.message);
                ++oracle_killed;
            }
        }
    }
    // Then the checker, on what the oracle let through, on worker threads (each mutant's Z3
    // context is its own).
    const auto checker_start = std::chrono::steady_clock::now();
    const auto let_through = static_cast<std::size_t>(
        std::count_if(outcomes.begin(), outcomes.end(),
                      [](const Outcome& o) { return o.status == Status::survived; }));
    std::atomic<std::size_t> next{0}, checked{0};
    auto worker = [&] {
        for (std::size_t i = next++; i < chosen.size(); i = next++) {
            Outcome& o = outcomes[i];
            if (o.status != Status::survived) {
                continue;
            }
            show(fmt::format("the checker, {} of the {} mutants the oracle let through done",
                             checked.load(), let_through));
            try {
                const TableData m = mutated(table, *chosen[i]);
                for (const Profile& p : profiles) {
                    const MutantVerdict v = check_mutant(m, p.instance, p.expected, a.ic3_seconds);
                    if (v.killed) {
                        o.status = Status::killed;
                        o.by = "checker, " + p.env + " use";
                        o.reason = v.reason;
                        o.bug = v.bug;
                        break;
                    }
                }
            } catch (const std::exception& e) {
                o.status = Status::killed;
                o.bug = true;
                o.by = "checker";
                o.reason = std::string("the engine failed: ") + e.what();
            }
            ++checked;
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::max(1, a.jobs); ++t) {
        pool.emplace_back(worker);
    }
    worker();
    for (auto& t : pool) {
        t.join();
    }
    const double checker_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - checker_start).count();

    // Survivors not listed in the equivalences file: equivalent at the instance when their row
    // takes the same steps to the same states from every state the table reaches (each
    // profile's instance; the any-use one contains the oracle's).
    int computed = 0;
    double equivalence_seconds = 0;
    if (a.equivalence) {
        const auto eq_start = std::chrono::steady_clock::now();
        std::vector<Outcome*> open;
        for (Outcome& o : outcomes) {
            if (o.status == Status::survived && equivalences.count(o.mutant->id) == 0) {
                open.push_back(&o);
            }
        }
        std::vector<std::string> counts;
        for (const Profile& p : profiles) {
            if (open.empty()) {
                break;
            }
            show(fmt::format("the equivalence check, exploring the {}-use instance", p.env));
            const Interpreter interp(table, p.instance);
            const ReachableStates reach = reachable_states(interp, 30'000'000);
            if (!reach.complete) {
                break;
            }
            counts.push_back(fmt::format("{} ({} use)", reach.states.size(), p.env));
            std::vector<Outcome*> still;
            for (Outcome* o : open) {
                const TableData m = mutated(table, *o->mutant);
                const Interpreter mi(m, p.instance);
                const std::string where = row_difference(interp, mi, o->mutant->row, reach.states);
                if (where.empty()) {
                    still.push_back(o);
                } else {
                    o->reason = "not equivalent: " + where;
                }
            }
            open = std::move(still);
        }
        if (counts.size() == profiles.size()) {
            for (Outcome* o : open) {
                o->status = Status::equivalent;
                o->reason = fmt::format(
                    "computed: from every reachable state of prove's instance ({}) the row "
                    "takes the same steps to the same states",
                    counts.size() == 1 ? counts[0] : counts[0] + " and " + counts[1]);
                ++computed;
            }
        }
        equivalence_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - eq_start).count();
    }
    progress.reset(); // the line is erased before the report
    const double total_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::vector<std::string> stale; // listed as equivalent, but killed
    for (Outcome& o : outcomes) {
        const auto it = equivalences.find(o.mutant->id);
        if (it == equivalences.end()) {
            continue;
        }
        if (o.status != Status::killed) {
            o.status = Status::equivalent;
            o.reason = it->second;
        } else {
            stale.push_back(o.mutant->id);
        }
    }

    // Counts, overall and per kind.
    struct Counts {
        int mutants = 0, killed = 0, equivalent = 0, survived = 0;
        void add(Status s) {
            ++mutants;
            (s == Status::killed ? killed : s == Status::equivalent ? equivalent : survived) += 1;
        }
        double score() const {
            const int relevant = mutants - equivalent;
            return relevant == 0 ? 100.0 : 100.0 * killed / relevant;
        }
    };
    Counts total;
    std::map<std::string, Counts> per_kind;
    std::map<std::string, int> killed_by;
    int bugs = 0;
    for (const Outcome& o : outcomes) {
        total.add(o.status);
        per_kind[std::string(mutation_kind_name(o.mutant->kind))].add(o.status);
        if (o.status == Status::killed) {
            const std::string cell = o.reason.substr(0, o.reason.find(':'));
            killed_by[o.by == "oracle" ? "the oracle" : cell + " (" + o.by + ")"] += 1;
        }
        bugs += o.bug ? 1 : 0;
    }
    const double rate =
        total_seconds > 0 ? static_cast<double>(outcomes.size()) / total_seconds : 0;

    std::string command = "handoff mutate --version " + a.version;
    if (a.sample > 0) {
        command += fmt::format(" --sample {} --seed {}", a.sample, a.seed);
    }
    if (a.envs.size() == 1) {
        command += " --env " + a.envs.front();
    }
    if (a.equivalence) {
        command += " --equivalence";
    }
    if (a.json) {
        nlohmann::json j;
        j["version"] = a.version;
        j["command"] = command;
        j["mutants_generated"] = all.size();
        j["mutants"] = total.mutants;
        j["killed"] = total.killed;
        j["equivalent"] = total.equivalent;
        j["survived"] = total.survived;
        j["score"] = total.score();
        j["seconds"] = total_seconds;
        j["checker_seconds"] = checker_seconds;
        j["bugs"] = bugs;
        j["computed_equivalent"] = computed;
        j["equivalence_seconds"] = equivalence_seconds;
        j["stale_equivalences"] = stale;
        for (const Outcome& o : outcomes) {
            j["results"].push_back({{"id", o.mutant->id},
                                    {"description", o.mutant->description},
                                    {"status", status_name(o.status)},
                                    {"by", o.by},
                                    {"reason", o.reason},
                                    {"bug", o.bug}});
        }
        fmt::print("{}\n", j.dump(2));
    } else {
        fmt::print("# Mutation testing of {}'s table\n\n", a.version);
        fmt::print("Generated by `{}` (docs/mutation/regenerate); equivalences from `{}`.\n\n",
                   command, a.equivalences);
        fmt::print(
            "Each mutant is a copy of the run-time table with one change (proofs/mutate.hpp). "
            "It is *killed* when the checker at `handoff prove`'s instance (2 nodes, every "
            "capability combination; {} use) gives a verdict, counterexample length or "
            "counterexample (its rows and parameters) that differs from `{}` and `{}`, or when the "
            "property tests' oracle ({} test cases of up to {} "
            "commands, impl/ of {} against the mutant, every step) finds an implementation step "
            "the mutant does not allow; *equivalent* when the equivalences file says why it "
            "cannot be told apart, or (`--equivalence`) when its row takes the same steps to the "
            "same states as the table's from every state the table reaches at that instance "
            "(under both profiles; the any-use instance contains the oracle's); otherwise it "
            "*survives*, with where it differs when that was computed. Score: killed / (mutants - "
            "equivalent).\n\n",
            a.envs.size() == 1 ? a.envs.front() : a.envs.front() + " and " + a.envs.back(),
            a.expect, a.traces, oracle ? a.oracle_cases : 0, a.oracle_size, a.version);
        fmt::print("| mutants | killed | equivalent | survived | score |\n|---|---|---|---|---|\n");
        fmt::print("| {} | {} | {} | {} | {:.1f} % |\n\n", total.mutants, total.killed,
                   total.equivalent, total.survived, total.score());
        if (a.sample > 0) {
            fmt::print("A seeded sample of {} of the {} mutants.\n\n", total.mutants, all.size());
        }
        fmt::print("| kind | mutants | killed | equivalent | survived | score |\n"
                   "|---|---|---|---|---|---|\n");
        for (const auto& [kind, c] : per_kind) {
            fmt::print("| {} | {} | {} | {} | {} | {:.1f} % |\n", kind, c.mutants, c.killed,
                       c.equivalent, c.survived, c.score());
        }
        fmt::print("\n## What killed them\n\nThe first cell that differed (a mutant's check stops "
                   "there), or the oracle:\n\n");
        for (const auto& [by, n] : killed_by) {
            fmt::print("* {}: {}\n", by, n);
        }
        if (bugs > 0) {
            fmt::print("\n**{} mutant{} made an engine fail its own check (a checker bug):**\n\n",
                       bugs, bugs == 1 ? "" : "s");
            for (const Outcome& o : outcomes) {
                if (o.bug) {
                    fmt::print("* `{}`: {}\n", o.mutant->id, o.reason);
                }
            }
        }
        fmt::print("\n## Survivors\n\n");
        if (total.survived == 0) {
            fmt::print("None.\n");
        }
        for (const Outcome& o : outcomes) {
            if (o.status == Status::survived) {
                fmt::print("* `{}`: {}{}\n", o.mutant->id, o.mutant->description,
                           o.reason.empty() ? "" : " (" + o.reason + ")");
            }
        }
        fmt::print("\n## Equivalent\n\n");
        if (total.equivalent == 0) {
            fmt::print("None.\n");
        }
        for (const Outcome& o : outcomes) {
            if (o.status == Status::equivalent) {
                fmt::print("* `{}`: {}. Why: {}\n", o.mutant->id, o.mutant->description, o.reason);
            }
        }
        if (!stale.empty()) {
            fmt::print("\n## Listed as equivalent but killed (remove from {})\n\n", a.equivalences);
            for (const auto& id : stale) {
                fmt::print("* `{}`\n", id);
            }
        }
        fmt::print("\n{} mutants in {:.0f} s ({:.2f} per second; the oracle {} runs, the checker "
                   "{:.0f} s on what it let through{}), {} job{}.\n",
                   total.mutants, total_seconds, rate, oracle_runs, checker_seconds,
                   a.equivalence ? fmt::format(", the equivalence check {:.0f} s ({} found)",
                                               equivalence_seconds, computed)
                                 : "",
                   a.jobs, a.jobs == 1 ? "" : "s");
    }
    exit_code() = bugs > 0 ? 4 : total.survived > 0 ? 1 : 0;
}

} // namespace

void register_mutate_commands(CLI::App& app) {
    auto a = std::make_shared<MutateArgs>();
    auto* cmd = app.add_subcommand(
        "mutate", "Mutation testing of a version's table: every small change of its rows, each "
                  "checked against proofs/expected.json and the property tests' oracle");
    cmd->add_option("--version", a->version, "QEMU version")->required();
    cmd->add_option("--sample", a->sample, "Check a seeded sample of this many mutants");
    cmd->add_option("--seed", a->seed, "The sample's seed")->capture_default_str();
    cmd->add_option("--only", a->only, "Check only this mutant (repeatable; see --list)");
    cmd->add_flag("--list", a->list, "List the mutants (id, TAB, change) without checking them");
    cmd->add_flag("--json", a->json, "Every mutant's outcome, machine-readable");
    cmd->add_option("--expect", a->expect, "The manifest of expected verdicts")
        ->capture_default_str();
    cmd->add_option("--traces", a->traces,
                    "The stored counterexamples: a mutant whose counterexample takes other steps "
                    "is killed (\"\": compare verdicts and lengths only)")
        ->capture_default_str();
    cmd->add_option("--equivalences", a->equivalences,
                    "Mutants shown equivalent: id, TAB, the reason, one a line")
        ->capture_default_str();
    cmd->add_option("--env", a->envs, "Environment profile(s) checked (default: both)")
        ->check(CLI::IsMember({"documented", "any"}));
    cmd->add_flag("--equivalence", a->equivalence,
                  "Explore the table's reachable states under each profile and count a survivor "
                  "equivalent when its row takes the same steps to the same states from each");
    cmd->add_option("--jobs", a->jobs, "Mutants checked in parallel")->capture_default_str();
    cmd->add_flag("--quiet", a->quiet,
                  "No progress line on stderr (it is shown only on a terminal anyway)");
    cmd->add_option("--ic3-seconds", a->ic3_seconds,
                    "IC3's time on each cell the manifest says is proved")
        ->capture_default_str();
    cmd->add_option("--oracle-cases", a->oracle_cases,
                    "Property-test cases per surviving mutant (0: no oracle)")
        ->capture_default_str();
    cmd->add_option("--oracle-size", a->oracle_size, "Commands per property-test case")
        ->capture_default_str();
    cmd->footer("Mutant ids are version/row/kind/index (kinds: guard-drop, effect-drop, value, "
                "force, swap).\nExit codes: 0 no survivor, 1 some mutant survived, 2 bad input, "
                "4 an engine failed its own check on a mutant.");
    cmd->callback([a] {
        if (a->jobs < 1) {
            throw UsageError(fmt::format("--jobs must be at least 1, not {}", a->jobs));
        }
        if (a->sample < 0) {
            throw UsageError(fmt::format("--sample must not be negative, not {}", a->sample));
        }
        run_mutate(*a);
    });
}

} // namespace handoff::cli
