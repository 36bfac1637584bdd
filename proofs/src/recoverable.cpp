// Recoverability on the fly: "from every reachable state some sequence of non-fault steps reaches a
// recovered state" (an AG EF property, which no state-invariant engine can check). The explicit
// engine decides it after exploring the whole instance; this engine visits the reachable states
// breadth-first and asks of each one, as it is reached, whether a recovery exists, with a search of
// its own over non-fault steps. The first state without one is a shallowest violation, found
// without exploring the rest of the instance; its forward closure was searched to the end, so the
// verdict is exact. Only a recoverable instance needs the whole exploration.
#include "handoff/proofs/engines.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <unordered_map>
#include <unordered_set>

namespace handoff::proofs {

using namespace handoff::model;

namespace {

struct Visit {
    State parent; // empty for an initial state
    Step step{};
    int depth = 0;
};

bool crashed(const Interpreter& interp, const State& s) {
    return interp.get(s, Var::crash) != static_cast<int>(Crash::NONE);
}

} // namespace

Result run_recoverable(const Interpreter& interp, const InvariantData& inv, const EngineLimits& lim,
                       std::size_t max_states) {
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    Result r;
    r.version = std::string(interp.table().version);
    r.invariant = std::string(inv.name);
    r.engine = "recovery";
    // With a restriction, only its paths lead to the state reported (its initial states, its
    // steps, a state where a path may end), up to lim.max_depth steps; the recovery searched from
    // that state is still the invariant's (any non-fault step): a recovery the harness could not
    // drive is still one.
    const StepRestriction* restriction = lim.restriction;
    r.restriction = restriction == nullptr ? "" : restriction->name;
    auto each_successor = [&](const State& s,
                              const std::function<void(const Step&, const State&)>& visit) {
        if (restriction == nullptr) {
            interp.successors(s, visit);
        } else if (!crashed(interp, s)) {
            allowed_successors(interp, *restriction, s, visit);
        }
    };
    int deepest = 0;

    std::unordered_set<State> recoverable; // states known to reach a recovered state
    std::size_t searched = 0;              // states visited by the recovery searches
    // A breadth-first search from `from` over non-fault steps: every state on the tree path to the
    // first recovered (or known recoverable) state is recoverable too. Returns the closure's size
    // when no recovery exists, or 0.
    auto closure_without_recovery = [&](const State& from) -> std::size_t {
        std::unordered_map<State, State> parent{{from, State()}};
        std::deque<State> queue{from};
        while (!queue.empty()) {
            const State s = queue.front();
            queue.pop_front();
            ++searched;
            if (recoverable.count(s) != 0 || holds(interp, inv, s)) {
                for (State p = s; !p.empty(); p = parent[p]) {
                    recoverable.insert(p);
                }
                return 0;
            }
            interp.successors(s, [&](const Step& step, const State& next) {
                if (interp.table().rows[static_cast<std::size_t>(step.row)].actor == Actor::fault ||
                    crashed(interp, next)) {
                    return;
                }
                if (parent.emplace(next, s).second) {
                    queue.push_back(next);
                }
            });
        }
        return parent.size();
    };

    std::unordered_map<State, Visit> seen;
    std::deque<State> queue;
    for (const State& s : interp.initial_states()) {
        if (restriction != nullptr && !restriction->initial_ok(interp, s)) {
            continue;
        }
        if (seen.emplace(s, Visit{}).second) {
            queue.push_back(s);
        }
    }
    while (!queue.empty()) {
        if (elapsed() > lim.timeout || seen.size() > max_states) {
            r.verdict = Verdict::bounded;
            r.depth = seen.at(queue.front()).depth - 1;
            r.states = seen.size();
            r.detail = (elapsed() > lim.timeout ? std::string("timeout") : "state limit") +
                       (restriction == nullptr
                            ? ": every state within " + std::to_string(r.depth) +
                                  " steps of an initial one is recoverable"
                            : ": no " + restriction->adjective + " counterexample within depth " +
                                  std::to_string(r.depth));
            r.seconds = elapsed();
            return r;
        }
        const State s = queue.front();
        queue.pop_front();
        const Visit& visit = seen.at(s);
        deepest = std::max(deepest, visit.depth);
        if (!crashed(interp, s) && (restriction == nullptr || restriction->last_ok(interp, s))) {
            if (const std::size_t closure = closure_without_recovery(s)) {
                Trace t;
                std::vector<TraceStep> reversed;
                State at = s;
                for (;;) {
                    const Visit& v = seen.at(at);
                    if (v.parent.empty()) {
                        break;
                    }
                    reversed.push_back({v.step, at});
                    at = v.parent;
                }
                t.initial = at;
                t.steps.assign(reversed.rbegin(), reversed.rend());
                r.depth = static_cast<int>(t.steps.size());
                r.states = seen.size();
                std::optional<std::string> error = replay_error(interp, inv, t);
                if (!error && restriction != nullptr) {
                    error = restriction_error(interp, *restriction, t);
                }
                if (error) {
                    r.bug = true;
                    r.detail =
                        "BUG: the path to the unrecoverable state does not replay: " + *error;
                } else {
                    r.verdict = Verdict::violated;
                    r.trace = std::move(t);
                    r.detail = "for this instance: the last state's " + std::to_string(closure) +
                               " successors over non-fault steps were all searched and none has "
                               "recovered (path replayed on the interpreter)";
                    if (restriction != nullptr) {
                        r.detail = "a shortest " + restriction->adjective +
                                   " path (every step one the restriction allows) to a state "
                                   "without a recovery; " +
                                   r.detail;
                    }
                }
                r.seconds = elapsed();
                return r;
            }
        }
        const int depth = visit.depth;
        if (restriction != nullptr && depth >= lim.max_depth) {
            continue;
        }
        each_successor(s, [&](const Step& step, const State& next) {
            if (seen.emplace(next, Visit{s, step, depth + 1}).second) {
                queue.push_back(next);
            }
        });
    }
    if (restriction != nullptr) {
        // Not a proof of the invariant: only the restricted paths were followed.
        const bool exhausted = deepest < lim.max_depth;
        r.verdict = Verdict::bounded;
        r.depth = exhausted ? deepest : lim.max_depth;
        r.states = seen.size();
        r.detail =
            "no " + restriction->adjective + " counterexample within depth " +
            std::to_string(r.depth) +
            (exhausted ? " (every " + restriction->adjective + " path of the instance followed, " +
                             std::to_string(seen.size()) + " states)"
                       : "");
        r.seconds = elapsed();
        return r;
    }
    r.verdict = Verdict::proved;
    r.states = seen.size();
    r.detail = "for this instance: every one of " + std::to_string(seen.size()) +
               " reachable states has a recovery (" + std::to_string(searched) +
               " states searched for them)";
    r.seconds = elapsed();
    return r;
}

} // namespace handoff::proofs
