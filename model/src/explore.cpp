#include "handoff/model/explore.hpp"

#include "handoff/model/printer.hpp"

#include <algorithm>
#include <chrono>
#include <deque>

namespace handoff::model {

bool holds(const Interpreter& interp, const InvariantData& inv, const State& s) {
    Env env;
    return interp.eval(invariants_ast(), inv.expr, s, env) != 0;
}

namespace {

// States are stored packed: each variable slot takes the bits its domain needs, so that millions
// of states fit in memory and hash quickly. The explorer unpacks a state only to expand it.
class Packer {
  public:
    explicit Packer(const Interpreter& interp) {
        const Layout& layout = interp.layout();
        bits_.resize(static_cast<std::size_t>(layout.size()));
        for (int v = 0; v < kVarCount; ++v) {
            const Var var = static_cast<Var>(v);
            const VarInfo& info = var_info(var);
            int width = 1;
            while ((1 << width) < domain_size(info.domain)) {
                ++width;
            }
            const int hosts = info.scope == Scope::Global ? 1 : 2;
            const int nodes = info.scope == Scope::PerNode ? layout.nodes() : 1;
            for (int h = 0; h < hosts; ++h) {
                for (int n = 0; n < nodes; ++n) {
                    bits_[static_cast<std::size_t>(layout.offset(var, h, n))] = width;
                }
            }
        }
        int total = 0;
        for (int b : bits_) {
            total += b;
        }
        words_ = (total + 63) / 64;
    }
    int words() const { return words_; }

    void pack(const State& s, std::uint64_t* out) const {
        std::fill(out, out + words_, 0);
        int bit = 0;
        for (std::size_t i = 0; i < bits_.size(); ++i) {
            const std::uint64_t v = static_cast<unsigned char>(s[i]);
            out[bit / 64] |= v << (bit % 64);
            if (bit % 64 + bits_[i] > 64) {
                out[bit / 64 + 1] |= v >> (64 - bit % 64);
            }
            bit += bits_[i];
        }
    }
    State unpack(const std::uint64_t* in) const {
        State s(bits_.size(), '\0');
        int bit = 0;
        for (std::size_t i = 0; i < bits_.size(); ++i) {
            std::uint64_t v = in[bit / 64] >> (bit % 64);
            if (bit % 64 + bits_[i] > 64) {
                v |= in[bit / 64 + 1] << (64 - bit % 64);
            }
            s[i] = static_cast<char>(v & ((std::uint64_t{1} << bits_[i]) - 1));
            bit += bits_[i];
        }
        return s;
    }

  private:
    std::vector<int> bits_;
    int words_ = 1;
};

// The reachable graph: packed states in discovery (breadth-first) order, an open-addressing index,
// the BFS tree for traces, and (when asked) the edges of non-fault steps for recoverability.
struct Graph {
    explicit Graph(const Interpreter& i) : interp(i), packer(i) {}

    const Interpreter& interp;
    Packer packer;
    std::vector<std::uint64_t> packed;
    std::vector<std::uint32_t> slots = std::vector<std::uint32_t>(1 << 16, UINT32_MAX);
    std::vector<std::uint32_t> parent;
    std::vector<std::uint64_t> via; // row in the low 8 bits, then 5 bits per parameter
    std::vector<std::uint64_t> edge_offset{0};
    std::vector<std::uint32_t> edge_target;

    std::size_t size() const { return parent.size(); }
    State state(std::uint32_t i) const {
        return packer.unpack(&packed[static_cast<std::size_t>(i) * packer.words()]);
    }

    static std::uint64_t hash(const std::uint64_t* w, int n) {
        std::uint64_t h = 0x9e3779b97f4a7c15ULL;
        for (int i = 0; i < n; ++i) {
            h ^= w[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
            h *= 0xff51afd7ed558ccdULL;
        }
        return h ^ (h >> 33);
    }

    // The index of `s`, adding it if new; `added` says which.
    std::uint32_t insert(const State& s, bool& added) {
        const int n = packer.words();
        std::uint64_t key[4];
        packer.pack(s, key);
        if (2 * (size() + 1) > slots.size()) {
            rehash();
        }
        const std::size_t mask = slots.size() - 1;
        for (std::size_t i = hash(key, n) & mask;; i = (i + 1) & mask) {
            if (slots[i] == UINT32_MAX) {
                slots[i] = static_cast<std::uint32_t>(size());
                packed.insert(packed.end(), key, key + n);
                parent.push_back(0);
                via.push_back(0);
                added = true;
                return slots[i];
            }
            if (std::equal(key, key + n, &packed[static_cast<std::size_t>(slots[i]) * n])) {
                added = false;
                return slots[i];
            }
        }
    }

    void rehash() {
        const int n = packer.words();
        std::vector<std::uint32_t> bigger(slots.size() * 2, UINT32_MAX);
        const std::size_t mask = bigger.size() - 1;
        for (std::uint32_t id = 0; id < size(); ++id) {
            std::size_t i = hash(&packed[static_cast<std::size_t>(id) * n], n) & mask;
            while (bigger[i] != UINT32_MAX) {
                i = (i + 1) & mask;
            }
            bigger[i] = id;
        }
        slots.swap(bigger);
    }

    static std::uint64_t encode(const Step& step) {
        std::uint64_t v = static_cast<std::uint64_t>(step.row);
        for (int p = 0; p < kParamCount; ++p) {
            v |= static_cast<std::uint64_t>(step.params[static_cast<std::size_t>(p)])
                 << (8 + 5 * p);
        }
        return v;
    }
    static Step decode(std::uint64_t v) {
        Step step;
        step.row = static_cast<int>(v & 0xff);
        for (int p = 0; p < kParamCount; ++p) {
            step.params[static_cast<std::size_t>(p)] = static_cast<int>((v >> (8 + 5 * p)) & 0x1f);
        }
        return step;
    }
};

Trace trace_to(const Graph& g, std::uint32_t target) {
    std::vector<std::uint32_t> chain;
    for (std::uint32_t s = target; g.parent[s] != s; s = g.parent[s]) {
        chain.push_back(s);
    }
    Trace t;
    const std::uint32_t first = chain.empty() ? target : g.parent[chain.back()];
    t.initial = g.state(first);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        t.steps.push_back({Graph::decode(g.via[*it]), g.state(*it)});
    }
    return t;
}

} // namespace

Exploration explore(const Interpreter& interp, const std::vector<const InvariantData*>& invariants,
                    const ExploreLimits& limits) {
    const auto start = std::chrono::steady_clock::now();
    Exploration out;
    Graph g(interp);
    std::vector<std::optional<std::uint32_t>> first_violation(invariants.size());
    std::vector<std::size_t> violations(invariants.size(), 0);
    const bool want_recovery =
        std::any_of(invariants.begin(), invariants.end(), [](const InvariantData* i) {
            return i->kind == InvariantKind::Recoverability;
        });

    auto add = [&](const State& s, std::uint32_t parent, const Step& step) {
        bool added = false;
        const std::uint32_t id = g.insert(s, added);
        if (added) {
            g.parent[id] = parent == UINT32_MAX ? id : parent;
            g.via[id] = Graph::encode(step);
            if (limits.on_found) {
                limits.on_found(g.parent[id]);
            }
            for (std::size_t i = 0; i < invariants.size(); ++i) {
                if (invariants[i]->kind == InvariantKind::StatePredicate &&
                    !holds(interp, *invariants[i], s)) {
                    ++violations[i];
                    if (!first_violation[i]) {
                        first_violation[i] = id;
                    }
                }
            }
        }
        return id;
    };

    Step none;
    none.row = 0;
    for (const State& s : interp.initial_states()) {
        add(s, UINT32_MAX, none);
    }
    out.complete = true;
    // The BFS depth being expanded: the states of depth d end where depth d + 1 began to be added.
    int level = 0;
    std::size_t level_end = g.size();
    for (std::uint32_t next = 0; next < g.size(); ++next) {
        if (g.size() > limits.max_states) {
            out.complete = false;
            break;
        }
        const bool new_level = next == level_end;
        if (new_level) {
            ++level;
            level_end = g.size();
        }
        if (limits.on_progress && (new_level || next % 16384 == 0)) {
            limits.on_progress(
                {g.size(), next, level,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
        }
        const State current = g.state(next);
        if (limits.on_state) {
            limits.on_state(current);
        }
        interp.successors(current, [&](const Step& step, const State& succ) {
            ++out.transitions;
            if (limits.on_step) {
                limits.on_step(current, step);
            }
            const std::uint32_t to = add(succ, next, step);
            if (want_recovery &&
                interp.table().rows[static_cast<std::size_t>(step.row)].actor != Actor::fault) {
                g.edge_target.push_back(to);
            }
        });
        if (want_recovery) {
            g.edge_offset.push_back(g.edge_target.size());
        }
    }
    out.states = g.size();
    // Depths from the BFS tree (parents always come before their children).
    std::vector<int> depth(g.size(), 0);
    for (std::uint32_t i = 0; i < g.size(); ++i) {
        depth[i] = g.parent[i] == i ? 0 : depth[g.parent[i]] + 1;
        out.depth = std::max(out.depth, depth[i]);
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
        const std::size_t n = g.size();
        std::vector<std::uint64_t> pred_offset(n + 1, 0);
        for (std::uint32_t t : g.edge_target) {
            ++pred_offset[t + 1];
        }
        for (std::size_t i = 0; i < n; ++i) {
            pred_offset[i + 1] += pred_offset[i];
        }
        std::vector<std::uint32_t> preds(g.edge_target.size());
        std::vector<std::uint64_t> fill(pred_offset.begin(), pred_offset.end() - 1);
        for (std::uint32_t from = 0; from < n; ++from) {
            for (std::uint64_t e = g.edge_offset[from]; e < g.edge_offset[from + 1]; ++e) {
                preds[fill[g.edge_target[e]]++] = from;
            }
        }
        std::vector<char> good(n, 0), crashed(n, 0);
        std::deque<std::uint32_t> queue;
        for (std::uint32_t s = 0; s < n; ++s) {
            const State st = g.state(s);
            crashed[s] = interp.get(st, Var::crash) != 0;
            if (!crashed[s] && holds(interp, *rec, st)) {
                good[s] = 1;
                queue.push_back(s);
            }
        }
        while (!queue.empty()) {
            const std::uint32_t s = queue.front();
            queue.pop_front();
            for (std::uint64_t e = pred_offset[s]; e < pred_offset[s + 1]; ++e) {
                const std::uint32_t p = preds[e];
                if (!good[p] && !crashed[p]) {
                    good[p] = 1;
                    queue.push_back(p);
                }
            }
        }
        // States are numbered in BFS order, so the first bad one is a shallowest one.
        for (std::uint32_t s = 0; s < n; ++s) {
            if (!good[s] && !crashed[s]) {
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

std::string slot_name(Var v, int host, int node) {
    const VarInfo& info = var_info(v);
    std::string name(info.name);
    if (info.scope != Scope::Global) {
        name += "[" + std::to_string(host) + "]";
    }
    if (info.scope == Scope::PerNode) {
        name += "[" + std::to_string(node) + "]";
    }
    return name;
}

namespace {

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
            out.push_back({slot_name(v, h, n), value_name(var_info(v).domain, a),
                           value_name(var_info(v).domain, b)});
        }
    });
    return out;
}

std::vector<Change> describe(const Interpreter& interp, const State& s) {
    std::vector<Change> out;
    for_each_slot(interp, [&](Var v, int h, int n) {
        out.push_back(
            {slot_name(v, h, n), "", value_name(var_info(v).domain, interp.get(s, v, h, n))});
    });
    return out;
}

std::string format_params(const Interpreter& interp, const Step& step) {
    const RowData& row = interp.table().rows[static_cast<std::size_t>(step.row)];
    std::string out;
    for (Param p : row.params) {
        out += (out.empty() ? "" : ", ") + std::string(param_info(p).name) + "=" +
               param_value_name(p, step.params[static_cast<std::size_t>(p)], interp.graph());
    }
    return out;
}

std::string format_initial_state(const Interpreter& interp, const State& initial) {
    std::string out = "  0. initial state:";
    // The initial state: only what differs from the usual start is interesting, so print the
    // capabilities and the run states.
    for (const Var v : {Var::cap_late_block_activate, Var::cap_pause_before_switchover,
                        Var::cap_postcopy, Var::cap_autostart, Var::image_locking}) {
        out += " " + std::string(var_info(v).name) + "=" +
               value_name(DomainId::Bool, interp.get(initial, v));
    }
    return out +
           " runstate[0]=" + value_name(DomainId::RunState, interp.get(initial, Var::runstate, 0));
}

std::string format_trace(const Interpreter& interp, const Trace& trace) {
    std::string out = format_initial_state(interp, trace.initial) + "\n";
    if (const std::string legend = graph_legend(interp.graph()); !legend.empty()) {
        out += "     " + legend + "\n";
    }
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
