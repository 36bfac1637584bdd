// handoff mutate: mutation testing of one version's table (proofs/mutate.hpp). Each mutant, a
// copy of the run-time table with one small change, goes to the property tests' oracle (impl/
// against the mutated model, a small budget), and, if the oracle does not notice it, to the
// checker at the default instance under both environment profiles (compared with
// proofs/expected.json); with --equivalence, what survives both meets the instance's reachable
// states (directed_replay()). The report (Markdown, or --json) counts killed, equivalent and
// surviving mutants; the equivalences are read from docs/mutation/equivalent.tsv (id, TAB, why).
#include "commands.hpp"
#include "instance_options.hpp"
#include "progress.hpp"

#include "handoff/model/invariants.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proofs/mutate.hpp"
#include "handoff/proptests/abstraction.hpp"
#include "handoff/proptests/property.hpp"
#include "handoff/proptests/replay.hpp"
#include "handoff/proptests/versions.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_set>

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
    Ic3Seeds seeds; // the table's own proofs' lemmas, offered to IC3 on every mutant
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

// `worker` on `jobs` threads (this one among them), until each returns.
void run_on_workers(int jobs, const std::function<void()>& worker) {
    std::vector<std::thread> pool;
    for (int t = 1; t < std::max(1, jobs); ++t) {
        pool.emplace_back(worker);
    }
    worker();
    for (auto& t : pool) {
        t.join();
    }
}

// The directed replay of one survivor on one profile's reachable states. At each state where the
// mutant's row leads elsewhere than the table's (breadth-first order, so the first ones are near
// the initial states), the two are followed in lockstep from there (proofs::lockstep()): the
// same steps from the two states the row took them to, until they meet again (a step one refuses
// leaves it where it is), looking for a state where they differ in what impl/ shows
// (proptests::hidden_slots()) or in an invariant. Where no such place exists, the two are weakly
// bisimilar from there for the oracle (the checker, which already agreed, sees the same steps
// and invariants): that difference cannot kill the mutant. Otherwise a shortest path to the
// state, the differing step
// and the steps that tell them apart are replayed on impl/ of the version (proptests::replay, as
// `handoff replay` replays a counterexample; where impl/ cannot be driven along that path, again
// with the running guest's writes added to it, with_guest_writes(), and in other orders of its
// independent steps, commuted_paths()):
//  - the table's steps, with the mutant as the oracle's model: when impl/ takes them and the
//    mutant cannot explain impl/'s steps, the refinement check fails: killed;
//  - the mutant's steps, where impl/ takes all but the last and not the last (the mutant claims
//    a step or a state that QEMU, as impl/ follows it, does not have, as a counterexample that
//    does not replay would): killed.
// A difference where the same states follow from the state under both (by a fault row or not, a
// step to the state itself aside) changes no state, transition or verdict either; the mutant is
// equivalent at the instance when every difference is of these two kinds.
struct Directed {
    bool killed = false;
    std::string reason;       // killed: what the replay showed
    std::string difference;   // the first difference where other states follow ("" if none)
    std::string why_not;      // survived: what the first replay showed
    bool row_differs = false; // somewhere, even to the same successors
    bool bisimilar = false;   // somewhere to other states, bisimilar for every observer
    int replays = 0;
    std::size_t pairs = 0; // pairs of states the lockstep visited
};

// `path` with the running guest's writes added: at each state on it, every step of a guest row
// that leaves the state as it is (a write to an active disk), in the table and in the mutant.
// The model keeps no write generation (proptests/README.md, model disagreement 7), so a shortest
// path never writes, and impl/'s disks stay clean on a host the guest has not run on since it
// started: a flush there never fails (bdrv_co_flush() has nothing to do). With the writes, a
// flush failure the table allows there is one impl/ can take. nullopt when no write is possible
// on the path.
std::optional<Trace> with_guest_writes(const Interpreter& table, const Interpreter& mutant,
                                       const Trace& path) {
    Trace out{path.initial, {}};
    bool wrote = false;
    auto write_at = [&](const State& s) {
        table.successors(s, [&](const Step& step, const State& next) {
            if (table.table().rows[static_cast<std::size_t>(step.row)].actor == Actor::guest &&
                next == s && mutant.apply(s, step) == s) {
                out.steps.push_back({step, s});
                wrote = true;
            }
        });
    };
    write_at(path.initial);
    for (const TraceStep& ts : path.steps) {
        out.steps.push_back(ts);
        write_at(ts.state);
    }
    if (!wrote) {
        return std::nullopt;
    }
    return out;
}

// Other paths to the state `path` ends in: two neighbouring steps taken the other way round, where
// both orders lead to the same state, in the table and in the mutant (the last pairs first, up
// to `limit`). The shortest path the exploration found is one order of steps that do not depend
// on each other; impl/ may follow another only. E.g. a cancel before the migration thread's
// setup leaves the model's thread ITERATING in CANCELLING, as a cancel after it does, but QEMU's
// thread (and impl/'s) then never iterates: only the second order shows what the model's thread
// does from there.
std::vector<Trace> commuted_paths(const Interpreter& table, const Interpreter& mutant,
                                  const Trace& path, std::size_t limit) {
    std::vector<Trace> out;
    for (std::size_t k = path.steps.size(); k >= 2 && out.size() < limit; --k) {
        const State& before = k >= 3 ? path.steps[k - 3].state : path.initial;
        const Step& first = path.steps[k - 2].step;
        const Step& second = path.steps[k - 1].step;
        const std::optional<State> middle = table.apply(before, second);
        if (!middle || *middle == before ||
            table.apply(*middle, first) != path.steps[k - 1].state) {
            continue;
        }
        if (mutant.apply(before, second) != middle ||
            mutant.apply(*middle, first) != path.steps[k - 1].state) {
            continue;
        }
        Trace t = path;
        t.steps[k - 2] = {second, *middle};
        t.steps[k - 1] = {first, path.steps[k - 1].state};
        out.push_back(std::move(t));
    }
    return out;
}

Directed directed_replay(const Interpreter& table, const Interpreter& mutant,
                         const std::string& row, const ReachableStates& reach) {
    constexpr int kMaxAttempts = 25; // states replayed before giving up on a survivor
    constexpr int kMaxReplays = 80;  // and replays (each runs impl/ along the path a few times)
    constexpr std::size_t kMaxCandidates = 4; // ways to tell them apart tried, per state
    // At most this many states where the lockstep saw the two only partly apart (it found no way
    // to tell them apart after the row's step) are replayed; later ones are passed over: their
    // replays are of the row's step alone, as at the first ones, and the budget goes to the
    // states where the lockstep found a way (v7.2's migration_completion_fail with pc :=
    // ITERATING: dozens of states where the two part only while the mutant's thread loops once
    // more, before the one where a cancel lets it end FAILED).
    constexpr int kMaxPartlyApart = 3;
    constexpr std::size_t kMaxCommuted = 4;      // other orders of a path impl/ did not follow
    constexpr std::size_t kMaxPairs = 8'000'000; // pairs of states the lockstep visits
    // What the tests observe of a state: what impl/ shows (the oracle) and every invariant's
    // value (the checker; the graph invariants by their predicates, their steps being the same).
    // The migration thread's place impl/ shows as one of several at some steps (pc_to_model()):
    // a difference there alone is partly seen, unless impl/ never tells the two places apart
    // (proptests::pcs_alike()), and then not at all.
    std::vector<const model::InvariantData*> invariants;
    for (const model::InvariantData& inv : model::all_invariants()) {
        if (inv.applies_to(table.table())) {
            invariants.push_back(&inv);
        }
    }
    const std::array<std::size_t, 2> pc_slots{
        static_cast<std::size_t>(table.layout().offset(Var::pc, 0)),
        static_cast<std::size_t>(table.layout().offset(Var::pc, 1))};
    auto invariants_differ = [&](const State& a, const State& b) {
        return std::any_of(invariants.begin(), invariants.end(), [&](const auto* inv) {
            return table.holds(*inv, a) != table.holds(*inv, b);
        });
    };
    const auto no_crash = static_cast<int>(model::Crash::NONE);
    auto observe = [&](const State& a, const State& b) {
        // A crash ends the run, and of a crashed run impl/ shows only the crash and its host
        // (proptests::AbstractState::matches()): what else the crashing row wrote before its
        // assertion (the order of an assertion and an assignment) is not seen.
        if (table.get(a, Var::crash) != no_crash && table.get(b, Var::crash) != no_crash) {
            const bool same_crash = table.get(a, Var::crash) == table.get(b, Var::crash) &&
                                    table.get(a, Var::crash_host) == table.get(b, Var::crash_host);
            return same_crash && !invariants_differ(a, b) ? Observed::same : Observed::apart;
        }
        const std::vector<bool> hidden = proptests::hidden_slots(table, a);
        bool partly = false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (a[i] != b[i] && !hidden[i]) {
                if (i != pc_slots[0] && i != pc_slots[1]) {
                    return Observed::apart;
                }
                const int h = i == pc_slots[0] ? 0 : 1;
                partly = partly || !proptests::pcs_alike(
                                       static_cast<model::ThreadPc>(table.get(a, Var::pc, h)),
                                       static_cast<model::ThreadPc>(table.get(b, Var::pc, h)));
            }
        }
        if (invariants_differ(a, b)) {
            return Observed::apart;
        }
        return partly ? Observed::partly : Observed::same;
    };
    // Two steps of one host's migration thread are one command to impl/ (a thread step; the
    // oracle explains it by any of the thread's rows), and the checker sees only the states:
    // where the mutant reaches the table's state by another thread row, nothing tells them apart.
    const auto host_slot = static_cast<std::size_t>(model::Param::host);
    auto same_thread_step = [&](const Step& a, const Step& b) {
        const auto& rows = table.table().rows;
        return rows[static_cast<std::size_t>(a.row)].actor == model::Actor::thread &&
               rows[static_cast<std::size_t>(b.row)].actor == model::Actor::thread &&
               a.params[host_slot] == b.params[host_slot];
    };
    std::unordered_set<std::string> seen; // the lockstep's pairs, over every state
    // Steps after the row's step that tell the two apart (proofs::lockstep()), for that step.
    struct Candidate {
        Step step;
        std::vector<Step> after;
    };
    std::vector<Candidate> candidates;
    auto same_step = [](const Step& x, const Step& y) {
        return x.row == y.row && x.params == y.params;
    };
    const RowData* changed = table.table().find(row);
    if (changed == nullptr) {
        throw std::invalid_argument("no row " + row);
    }
    const int changed_row = static_cast<int>(changed - table.table().rows.data());
    const std::vector<Params> choices = row_choices(table, changed_row);
    auto short_text = [](std::string text) {
        std::replace(text.begin(), text.end(), '\n', ' ');
        return text.size() > 400 ? text.substr(0, 400) + " ..." : text;
    };
    auto steps_text = [&](const std::vector<model::TraceStep>& steps) {
        std::string out;
        for (const auto& ts : steps) {
            out += (out.empty() ? "`" : "`, `") + step_text(table.table(), ts.step);
        }
        return out + "`";
    };
    Directed out;
    int attempts = 0;
    int partly_apart = 0; // states replayed with no way to tell the two apart
    std::size_t last_state = SIZE_MAX;
    bool state_differs = false; // the last state visited has other successors under the mutant
    row_differences(table, mutant, row, reach.states, [&](const RowDifference& d) {
        out.row_differs = true;
        const State& from = reach.states[d.state];
        // A step the row refuses or takes to the same state, under both, changes no successor.
        if ((!d.table_next || *d.table_next == from) &&
            (!d.mutant_next || *d.mutant_next == from)) {
            return true;
        }
        if (d.state != last_state) {
            last_state = d.state;
            state_differs = !same_successors(table, mutant, changed_row, choices, from);
            if (!state_differs) {
                return true;
            }
            // Follow each of the row's steps that took the two to different states.
            candidates.clear();
            bool apart = false, cut = false;
            for (const Params& params : choices) {
                const Step step{changed_row, params};
                const std::optional<State> t = table.apply(from, step),
                                           m = mutant.apply(from, step);
                if (t == m) {
                    continue;
                }
                // One of them refusing the step stays where it is.
                const LockstepResult r = lockstep(
                    table, mutant, t.value_or(from), m.value_or(from), observe, seen, kMaxPairs,
                    [&](const std::vector<Step>& after) {
                        candidates.push_back({step, after});
                        return candidates.size() >= kMaxCandidates;
                    },
                    same_thread_step);
                out.pairs += r.pairs;
                apart = apart || r.told_apart;
                cut = cut || r.cut;
                if (cut || candidates.size() >= kMaxCandidates) {
                    break;
                }
            }
            if (!apart && !cut) {
                out.bisimilar = true;
                state_differs = false;
                return true;
            }
            if (candidates.empty() && !cut && ++partly_apart > kMaxPartlyApart) {
                state_differs = false;
                return true;
            }
            if (out.difference.empty()) {
                out.difference = describe_difference(table, d);
                if (cut) {
                    out.difference += fmt::format(
                        " (followed in lockstep, the two stay apart beyond {} pairs of states)",
                        kMaxPairs);
                }
            }
            if (++attempts > kMaxAttempts || out.replays >= kMaxReplays) {
                return false;
            }
        } else if (!state_differs) {
            return true;
        }
        const Trace shortest = path_to(table, reach, d.state);
        State at = shortest.initial;
        for (const TraceStep& ts : shortest.steps) { // the path must be the mutant's too
            if (mutant.apply(at, ts.step) != ts.state) {
                if (out.why_not.empty()) {
                    out.why_not = "the shortest path to a later difference is not the mutant's";
                }
                return true;
            }
            at = ts.state;
        }
        // What the replays along one path to the state showed.
        enum class Along { killed, undriven, concluded };
        auto replay_along = [&](const Trace& path) {
            bool undriven = false; // impl/ could not be driven along the path somewhere
            // The path, then `steps`: as a trace file holds it.
            auto trace_with = [&](const std::vector<model::TraceStep>& steps) {
                Trace t = path;
                t.steps.insert(t.steps.end(), steps.begin(), steps.end());
                return proptests::checker_trace(table, t);
            };
            auto note = [&](const std::string& why) {
                if (out.why_not.empty()) {
                    out.why_not =
                        fmt::format("after a path of {} steps, {}", path.steps.size(), why);
                }
            };
            // What a replay showed: impl/ could not be driven (no conclusion), impl/ did what both
            // allow, or the mutant is killed.
            enum class Shown { nothing, allowed, killed };
            // impl/ takes `steps` (the table's) and the mutant cannot explain it: killed.
            auto refinement_fails = [&](const std::vector<model::TraceStep>& steps) {
                const proptests::CheckerTrace t = trace_with(steps);
                ++out.replays;
                const proptests::ReplayOutcome on_table = proptests::replay(t);
                if (!on_table.replayed) {
                    undriven = true;
                    note(fmt::format("impl/ does not take the table's {} ({})", steps_text(steps),
                                     short_text(on_table.failure)));
                    return Shown::nothing;
                }
                ++out.replays;
                const proptests::ReplayOutcome r = proptests::replay(t, &mutant.table());
                if (!r.ran) {
                    note(fmt::format("the replay with the mutant failed to run ({})",
                                     short_text(r.failure)));
                    return Shown::nothing;
                }
                if (r.replayed) {
                    note(fmt::format("impl/ takes the table's {} and the mutant explains it",
                                     steps_text(steps)));
                    return Shown::allowed;
                }
                out.killed = true;
                out.reason = fmt::format(
                    "impl/ takes {} after a path of {} steps, which the mutant does not allow: {}",
                    steps_text(steps), path.steps.size(), short_text(r.failure));
                return Shown::killed;
            };
            // impl/ takes `steps` (the mutant's) but the last one: killed.
            auto not_taken = [&](const std::vector<model::TraceStep>& steps) {
                std::vector<model::TraceStep> before(steps.begin(), steps.end() - 1);
                ++out.replays;
                const proptests::ReplayOutcome on_path = proptests::replay(trace_with(before));
                if (!on_path.replayed) { // no conclusion here
                    undriven = true;
                    note(fmt::format("impl/ cannot be driven along the path ({})",
                                     short_text(on_path.failure)));
                    return Shown::nothing;
                }
                ++out.replays;
                const proptests::ReplayOutcome r =
                    proptests::replay(trace_with(steps), nullptr, &mutant.table());
                if (!r.ran) {
                    note(fmt::format("the mutant's {} cannot be set up on impl/ ({})",
                                     steps_text(steps), short_text(r.failure)));
                    return Shown::nothing;
                }
                if (r.replayed) {
                    note(fmt::format("impl/ takes the mutant's {} too", steps_text(steps)));
                    return Shown::allowed;
                }
                out.killed = true;
                out.reason = fmt::format(
                    "the mutant's {} after a path of {} steps {} not one impl/ takes: {}",
                    steps_text(steps), path.steps.size(), steps.size() == 1 ? "is" : "are",
                    short_text(r.failure));
                return Shown::killed;
            };
            // The step `leader` takes to `next` (the table or the mutant; nothing: it refuses the
            // step, or its replay could not conclude), replayed by `replay_steps`; when impl/ takes
            // it and the other explains it too, the ways the lockstep found to tell the two apart
            // after it, as `leader` takes their steps (one it refuses on the way leaves it where it
            // is, as impl/ would be left by a command it refuses). True when killed.
            auto tell_apart = [&](const Interpreter& leader, const std::optional<State>& next,
                                  const auto& replay_steps) {
                if (next) {
                    const Shown shown =
                        replay_steps(std::vector<model::TraceStep>{{d.step, *next}});
                    if (shown != Shown::allowed) {
                        return shown == Shown::killed;
                    }
                }
                for (const Candidate& c : candidates) {
                    if (!same_step(c.step, d.step) || c.after.empty()) {
                        continue;
                    }
                    std::vector<model::TraceStep> steps;
                    State now = from;
                    bool takes_last = false;
                    for (std::size_t k = 0; k <= c.after.size(); ++k) {
                        const Step& st = k == 0 ? c.step : c.after[k - 1];
                        std::optional<State> n = leader.apply(now, st);
                        takes_last = n.has_value();
                        if (n) {
                            now = *n;
                            steps.push_back({st, std::move(*n)});
                        }
                    }
                    if (!takes_last) {
                        continue; // the other's way to tell them apart
                    }
                    if (out.replays >= kMaxReplays) {
                        return false;
                    }
                    if (replay_steps(steps) == Shown::killed) {
                        return true;
                    }
                }
                return false;
            };
            if (tell_apart(table, d.table_next, refinement_fails)) {
                return Along::killed;
            }
            std::optional<State> mutant_next = d.mutant_next;
            if (mutant_next) {
                // The table reaches it by a step of the same kind (fault, QMP command, thread,
                // ...): impl/ may well take it, no conclusion from it. By another kind only (a
                // stream error that ends where a cancel would), the mutant's step is still its own
                // command to impl/, which may not end there.
                const auto& rows = table.table().rows;
                const model::Actor kind = rows[static_cast<std::size_t>(d.step.row)].actor;
                bool table_reaches = false;
                table.successors(from, [&](const Step& st, const State& next) {
                    table_reaches =
                        table_reaches || (next == *mutant_next &&
                                          rows[static_cast<std::size_t>(st.row)].actor == kind);
                });
                if (table_reaches) {
                    mutant_next.reset();
                }
            }
            if (tell_apart(mutant, mutant_next, not_taken)) {
                return Along::killed;
            }
            return undriven ? Along::undriven : Along::concluded;
        };
        // The shortest path first; where impl/ could not be driven along it, the same path with
        // the running guest's writes, which the model does not record (with_guest_writes()),
        // then the paths that take two neighbouring steps of it the other way round to the same
        // state (commuted_paths()).
        if (const Along along = replay_along(shortest); along != Along::undriven) {
            return along != Along::killed;
        }
        std::vector<Trace> others;
        if (std::optional<Trace> written = with_guest_writes(table, mutant, shortest)) {
            others.push_back(std::move(*written));
        }
        for (Trace& t : commuted_paths(table, mutant, shortest, kMaxCommuted)) {
            others.push_back(std::move(t));
        }
        for (const Trace& other : others) {
            if (out.replays >= kMaxReplays) {
                break;
            }
            if (replay_along(other) == Along::killed) {
                return false;
            }
        }
        return true;
    });
    return out;
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
            {env, io.instance(), expected_cells(manifest, a.expect, a.traces, a.version, env), {}});
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
    if (let_through > 0) {
        // The table's own proofs, once per profile: their lemmas make IC3 on a mutant a repair of
        // that proof rather than a proof from nothing (the checker's part of a v7.2 sample took
        // half the time; bench/README.md).
        show("the checker: the table's own proofs");
        for (Profile& p : profiles) {
            p.seeds = ic3_seeds(table, p.instance, p.expected, a.ic3_seconds);
        }
    }
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
                    const MutantVerdict v =
                        check_mutant(m, p.instance, p.expected, a.ic3_seconds, &p.seeds);
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
    run_on_workers(a.jobs, worker);
    const double checker_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - checker_start).count();

    // Survivors not listed in the equivalences file go to the reachable states of each profile's
    // instance (explored once each, any use first: the property tests run under it), where the
    // mutant's row differs from the table's (directed_replay()); a mutant whose row differs
    // nowhere, or only where the same states follow, is equivalent at the instance.
    int computed = 0, directed_kills = 0, directed_replays = 0;
    std::size_t lockstep_pairs = 0;
    double equivalence_seconds = 0;
    if (a.equivalence) {
        const auto eq_start = std::chrono::steady_clock::now();
        std::vector<Outcome*> open;
        for (Outcome& o : outcomes) {
            if (o.status == Status::survived && equivalences.count(o.mutant->id) == 0) {
                open.push_back(&o);
            }
        }
        std::vector<const Profile*> order;
        for (const Profile& p : profiles) {
            order.insert(p.env == "any" ? order.begin() : order.end(), &p);
        }
        std::vector<std::string> counts;
        std::map<const Outcome*, std::string> differs; // the first difference that matters
        std::set<const Outcome*> row_differs;          // the row differs, to the same successors
        std::set<const Outcome*> bisimilar; // and to other states, bisimilar for every observer
        for (const Profile* p : order) {
            if (open.empty()) {
                break;
            }
            show(fmt::format("the reachable states, exploring the {}-use instance", p->env));
            const Interpreter interp(table, p->instance);
            const ReachableStates reach = reachable_states(interp, 30'000'000, a.jobs);
            if (!reach.complete) {
                break;
            }
            counts.push_back(fmt::format("{} ({} use)", reach.states.size(), p->env));
            // One survivor a worker (impl/ and the interpreter keep no shared state).
            std::vector<char> keep(open.size(), 0);
            std::atomic<std::size_t> next_open{0}, done{0};
            std::atomic<int> kills{0}, replays{0};
            std::atomic<std::size_t> pairs{0};
            std::mutex differs_mutex;
            auto directed_worker = [&] {
                for (std::size_t k = next_open++; k < open.size(); k = next_open++) {
                    Outcome* o = open[k];
                    show(fmt::format(
                        "the directed replay under {} use, {} of {} survivors done ({} killed)",
                        p->env, done.load(), open.size(), directed_kills + kills.load()));
                    const TableData m = mutated(table, *o->mutant);
                    const Interpreter mi(m, p->instance);
                    const Directed d = directed_replay(interp, mi, o->mutant->row, reach);
                    replays += d.replays;
                    pairs += d.pairs;
                    ++done;
                    if (d.killed) {
                        o->status = Status::killed;
                        o->by = "directed replay, " + p->env + " use";
                        o->reason = d.reason;
                        ++kills;
                        continue;
                    }
                    keep[k] = 1;
                    const std::lock_guard<std::mutex> lock(differs_mutex);
                    if (d.row_differs) {
                        row_differs.insert(o);
                    }
                    if (d.bisimilar) {
                        bisimilar.insert(o);
                    }
                    if (!d.difference.empty() && differs.count(o) == 0) {
                        differs[o] =
                            d.difference +
                            (d.why_not.empty() ? "" : "; the directed replay: " + d.why_not);
                    }
                }
            };
            run_on_workers(a.jobs, directed_worker);
            directed_kills += kills;
            directed_replays += replays;
            lockstep_pairs += pairs;
            std::vector<Outcome*> still;
            for (std::size_t k = 0; k < open.size(); ++k) {
                if (keep[k]) {
                    still.push_back(open[k]);
                }
            }
            open = std::move(still);
        }
        // Nothing was explored when every survivor is in the equivalences file.
        const std::string where = counts.empty()       ? ""
                                  : counts.size() == 1 ? counts[0]
                                                       : counts[0] + " and " + counts[1];
        // The variables impl/ does not show of a running process, by name.
        const std::string hidden_names = [&] {
            const Interpreter interp(table, profiles.front().instance);
            State s = interp.initial_states().front();
            interp.put(s, Var::alive, 0, 0, 1);
            interp.put(s, Var::alive, 1, 0, 1);
            const std::vector<bool> hidden = proptests::hidden_slots(interp, s);
            std::vector<std::string> names;
            for (int v = 0; v < kVarCount; ++v) {
                if (var_info(static_cast<Var>(v)).scope == Scope::PerHost &&
                    hidden[static_cast<std::size_t>(interp.layout().offset(static_cast<Var>(v)))]) {
                    names.emplace_back(var_info(static_cast<Var>(v)).name);
                }
            }
            return fmt::format("{}", fmt::join(names, ", "));
        }();
        for (Outcome* o : open) {
            if (const auto it = differs.find(o); it != differs.end()) {
                o->reason = "not equivalent: " + it->second;
            } else if (counts.size() == profiles.size()) {
                o->status = Status::equivalent;
                o->reason =
                    row_differs.count(o) == 0
                        ? fmt::format("computed: from every reachable state of prove's instance "
                                      "({}) the row takes the same steps to the same states",
                                      where)
                    : bisimilar.count(o) != 0
                        ? fmt::format(
                              "computed: where the row leads elsewhere from a reachable state of "
                              "prove's instance ({}), the table and the mutant, followed in "
                              "lockstep until they meet again (or one reaches the other's state "
                              "by another row of the same host's migration thread, one command to "
                              "impl/), take the same steps (or one takes a step the other refuses "
                              "that changes only what impl/ does not show) and differ only in what "
                              "impl/ does not show ({}; the migration thread's place only where "
                              "impl/ shows the two places alike; of a crashed run, all but the "
                              "crash and its host), with "
                              "every invariant the same: weakly bisimilar for the oracle, as the "
                              "checker's verdicts and counterexamples are already the table's; "
                              "elsewhere the same states follow by steps of the same kind",
                              where, hidden_names)
                        : fmt::format(
                              "computed: from every reachable state of prove's instance ({}) the "
                              "same states follow under the mutant as under the table, by steps "
                              "of the same kind (fault or not), where the row differs it only "
                              "adds or drops a step to the same state or one another step also "
                              "takes: the same states, joined by the same transitions, so no "
                              "invariant's verdict changes",
                              where);
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
            killed_by[o.by == "oracle"                      ? "the oracle"
                      : o.by.starts_with("directed replay") ? "the " + o.by
                                                            : cell + " (" + o.by + ")"] += 1;
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
        j["directed_kills"] = directed_kills;
        j["directed_replays"] = directed_replays;
        j["lockstep_pairs"] = lockstep_pairs;
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
            "the mutant does not allow, or (`--equivalence`) when the directed replay tells it "
            "apart: at the first reachable states (breadth-first) where the mutant's row leads "
            "elsewhere than the table's, the two are followed in lockstep (the same steps from "
            "the two states the row took them to, until they meet again, also where one reaches "
            "the other's state by another row of the same host's migration thread) to where they "
            "differ in "
            "what impl/ shows or in an invariant, a shortest path there (and, where impl/ cannot "
            "be driven along it, the same path with the running guest's writes, which the model "
            "does not record, or with two neighbouring steps taken the other way round to the "
            "same state) and the steps are "
            "replayed on impl/ (as `handoff replay` replays a counterexample), and impl/ takes "
            "the table's steps where the mutant does not allow them, or cannot take the mutant's; "
            "*equivalent* when the equivalences file says why it cannot be told apart, or "
            "(`--equivalence`) when, from every state the table reaches at that instance (under "
            "both profiles), its row takes the same steps to the same states as the table's, or "
            "the same states follow by a step of the same kind, or the lockstep never finds such "
            "a place (the two are then weakly bisimilar for what the oracle and the checker "
            "observe); otherwise it *survives*, with where it differs when that was computed. "
            "Score: killed / (mutants - equivalent).\n\n",
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
                   "there), the oracle, or the directed replay:\n\n");
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
                   a.equivalence
                       ? fmt::format(", the reachable states {:.0f} s ({} replays, {} killed; {} "
                                     "pairs of states followed in lockstep; {} equivalent found)",
                                     equivalence_seconds, directed_replays, directed_kills,
                                     lockstep_pairs, computed)
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
                  "Explore the table's reachable states under each profile: follow each "
                  "survivor and the table in lockstep from where they go apart, replay what "
                  "tells them apart on impl/ (the directed replay), and count it equivalent when "
                  "nothing does: no other states follow, or the two differ only in what impl/ "
                  "does not show until they meet again");
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
