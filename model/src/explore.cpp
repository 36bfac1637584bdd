#include "handoff/model/explore.hpp"

#include "handoff/model/printer.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <unordered_map>

namespace handoff::model {

bool holds(const Interpreter& interp, const InvariantData& inv, const State& s) {
    Env env;
    return interp.eval(invariants_ast(), inv.expr, s, env) != 0;
}

namespace {

struct Graph {
    std::vector<State> states;
    std::vector<std::uint32_t> parent;
    std::vector<Step> via;
    std::vector<int> depth;
    std::unordered_map<State, std::uint32_t> index;
    // Edges of non-fault rows, for the recoverability analysis.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> recovery_edges;
};

Trace trace_to(const Graph& g, std::uint32_t target) {
    std::vector<std::uint32_t> chain;
    for (std::uint32_t s = target; g.parent[s] != s; s = g.parent[s]) {
        chain.push_back(s);
    }
    Trace t;
    std::uint32_t first = chain.empty() ? target : g.parent[chain.back()];
    t.initial = g.states[first];
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        t.steps.push_back({g.via[*it], g.states[*it]});
    }
    return t;
}

} // namespace

Exploration explore(const Interpreter& interp, const std::vector<const InvariantData*>& invariants,
                    const ExploreLimits& limits) {
    const auto start = std::chrono::steady_clock::now();
    Exploration out;
    Graph g;
    std::vector<std::optional<std::uint32_t>> first_violation(invariants.size());
    std::vector<std::size_t> violations(invariants.size(), 0);
    const bool want_recovery =
        std::any_of(invariants.begin(), invariants.end(), [](const InvariantData* i) {
            return i->kind == InvariantKind::Recoverability;
        });

    auto check = [&](std::uint32_t id) {
        for (std::size_t i = 0; i < invariants.size(); ++i) {
            if (invariants[i]->kind == InvariantKind::StatePredicate &&
                !holds(interp, *invariants[i], g.states[id])) {
                ++violations[i];
                if (!first_violation[i]) {
                    first_violation[i] = id;
                }
            }
        }
    };
    auto add = [&](const State& s, std::uint32_t parent, const Step& step, int depth) {
        auto [it, inserted] = g.index.try_emplace(s, static_cast<std::uint32_t>(g.states.size()));
        if (inserted) {
            g.states.push_back(s);
            g.parent.push_back(parent == UINT32_MAX ? it->second : parent);
            g.via.push_back(step);
            g.depth.push_back(depth);
            check(it->second);
        }
        return it->second;
    };

    for (const State& s : interp.initial_states()) {
        add(s, UINT32_MAX, Step{}, 0);
    }
    out.complete = true;
    for (std::uint32_t next = 0; next < g.states.size(); ++next) {
        if (g.states.size() > limits.max_states) {
            out.complete = false;
            break;
        }
        const State current = g.states[next];
        const int depth = g.depth[next];
        interp.successors(current, [&](const Step& step, const State& succ) {
            ++out.transitions;
            const std::uint32_t to = add(succ, next, step, depth + 1);
            if (want_recovery &&
                interp.table().rows[static_cast<std::size_t>(step.row)].actor != Actor::fault) {
                g.recovery_edges.emplace_back(next, to);
            }
        });
    }
    out.states = g.states.size();
    for (int d : g.depth) {
        out.depth = std::max(out.depth, d);
    }

    // Recoverability: backwards over non-fault steps from the recovered states.
    std::optional<std::uint32_t> unrecoverable;
    std::size_t unrecoverable_count = 0;
    if (want_recovery && out.complete) {
        const InvariantData* rec = nullptr;
        for (const auto* inv : invariants) {
            if (inv->kind == InvariantKind::Recoverability) {
                rec = inv;
            }
        }
        std::vector<std::vector<std::uint32_t>> preds(g.states.size());
        for (auto [from, to] : g.recovery_edges) {
            preds[to].push_back(from);
        }
        std::vector<char> good(g.states.size(), 0);
        std::deque<std::uint32_t> queue;
        for (std::uint32_t s = 0; s < g.states.size(); ++s) {
            if (interp.get(g.states[s], Var::crash) == 0 && holds(interp, *rec, g.states[s])) {
                good[s] = 1;
                queue.push_back(s);
            }
        }
        while (!queue.empty()) {
            const std::uint32_t s = queue.front();
            queue.pop_front();
            for (std::uint32_t p : preds[s]) {
                if (!good[p] && interp.get(g.states[p], Var::crash) == 0) {
                    good[p] = 1;
                    queue.push_back(p);
                }
            }
        }
        // States are numbered in BFS order, so the first bad one is a shallowest one.
        for (std::uint32_t s = 0; s < g.states.size(); ++s) {
            if (!good[s] && interp.get(g.states[s], Var::crash) == 0) {
                ++unrecoverable_count;
                if (!unrecoverable) {
                    unrecoverable = s;
                }
            }
        }
    }

    for (std::size_t i = 0; i < invariants.size(); ++i) {
        InvariantVerdict v;
        v.invariant = invariants[i];
        if (invariants[i]->kind == InvariantKind::Recoverability) {
            v.violated = unrecoverable.has_value();
            v.violating = unrecoverable_count;
            if (unrecoverable) {
                v.trace = trace_to(g, *unrecoverable);
            }
        } else {
            v.violated = first_violation[i].has_value();
            v.violating = violations[i];
            if (first_violation[i]) {
                v.trace = trace_to(g, *first_violation[i]);
            }
        }
        out.verdicts.push_back(std::move(v));
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
}

namespace {

std::string slot_name(const Interpreter& interp, Var v, int host, int node) {
    const VarInfo& info = var_info(v);
    std::string name(info.name);
    if (info.scope != Scope::Global) {
        name += "[" + std::to_string(host) + "]";
    }
    if (info.scope == Scope::PerNode) {
        name += "[" + std::to_string(node) + "]";
    }
    (void)interp;
    return name;
}

template <class F>
void for_each_slot(const Interpreter& interp, F f) {
    for (int v = 0; v < kVarCount; ++v) {
        const Var var = static_cast<Var>(v);
        const VarInfo& info = var_info(var);
        const int hosts = info.scope == Scope::Global ? 1 : 2;
        const int nodes = info.scope == Scope::PerNode ? interp.layout().nodes() : 1;
        for (int h = 0; h < hosts; ++h) {
            for (int n = 0; n < nodes; ++n) {
                f(var, h, n);
            }
        }
    }
}

} // namespace

std::vector<Change> changes(const Interpreter& interp, const State& before, const State& after) {
    std::vector<Change> out;
    for_each_slot(interp, [&](Var v, int h, int n) {
        const int a = interp.get(before, v, h, n), b = interp.get(after, v, h, n);
        if (a != b) {
            out.push_back({slot_name(interp, v, h, n), value_name(var_info(v).domain, a),
                           value_name(var_info(v).domain, b)});
        }
    });
    return out;
}

std::vector<Change> describe(const Interpreter& interp, const State& s) {
    std::vector<Change> out;
    for_each_slot(interp, [&](Var v, int h, int n) {
        out.push_back({slot_name(interp, v, h, n), "",
                       value_name(var_info(v).domain, interp.get(s, v, h, n))});
    });
    return out;
}

std::string format_params(const Interpreter& interp, const Step& step) {
    const RowData& row = interp.table().rows[static_cast<std::size_t>(step.row)];
    std::string out;
    for (Param p : row.params) {
        out +=
            (out.empty() ? "" : ", ") + std::string(param_info(p).name) + "=" +
            param_value_name(p, step.params[static_cast<std::size_t>(p)], interp.layout().nodes());
    }
    return out;
}

std::string format_trace(const Interpreter& interp, const Trace& trace) {
    std::string out = "  0. initial state:";
    // The initial state: only what differs from the usual start is interesting, so print the
    // capabilities and the run states.
    for (const Var v : {Var::cap_late_block_activate, Var::cap_pause_before_switchover,
                        Var::cap_postcopy, Var::cap_autostart, Var::image_locking}) {
        out += " " + std::string(var_info(v).name) + "=" +
               value_name(DomainId::Bool, interp.get(trace.initial, v));
    }
    out += " runstate[0]=" +
           value_name(DomainId::RunState, interp.get(trace.initial, Var::runstate, 0));
    out += "\n";
    State before = trace.initial;
    int number = 1;
    for (const auto& ts : trace.steps) {
        const RowData& row = interp.table().rows[static_cast<std::size_t>(ts.step.row)];
        out += "  " + std::to_string(number++) + ". " + std::string(row.name) + " (" +
               format_params(interp, ts.step) + ")  -- " + std::string(row.qemu) + "\n";
        for (const auto& c : changes(interp, before, ts.state)) {
            out += "       " + c.variable + ": " + c.before + " -> " + c.after + "\n";
        }
        before = ts.state;
    }
    return out;
}

} // namespace handoff::model
