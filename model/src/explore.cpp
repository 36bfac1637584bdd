#include "handoff/model/explore.hpp"

#include "handoff/model/printer.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <thread>

namespace handoff::model {

bool holds(const Interpreter& interp, const InvariantData& inv, const State& s) {
    return interp.holds(inv, s);
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
        if (words_ > kMaxWords) {
            throw std::invalid_argument("the instance's states do not fit the explorer's 256 bits");
        }
        int bit = 0;
        for (int b : bits_) {
            place_.push_back({static_cast<std::uint8_t>(bit / 64),
                              static_cast<std::uint8_t>(bit % 64), bit % 64 + b > 64});
            bit += b;
        }
    }
    static constexpr int kMaxWords = 4;
    int words() const { return words_; }

    void pack(const State& s, std::uint64_t* out) const {
        std::fill(out, out + words_, 0);
        for (std::size_t i = 0; i < place_.size(); ++i) {
            const std::uint64_t v = static_cast<unsigned char>(s[i]);
            const Place p = place_[i];
            out[p.word] |= v << p.shift;
            if (p.spills) {
                out[p.word + 1] |= v >> (64 - p.shift);
            }
        }
    }
    // `to` packed into `out`, from `from` and its packing: a successor differs from its state in
    // a few slots, so only the slots whose bytes differ are written (compared eight at a time).
    void repack(const State& from, const std::uint64_t* from_packed, const State& to,
                std::uint64_t* out) const {
        std::copy(from_packed, from_packed + words_, out);
        const std::size_t n = place_.size();
        for (std::size_t i = 0; i < n; i += 8) {
            if (i + 8 <= n) {
                std::uint64_t a = 0;
                std::uint64_t b = 0;
                std::memcpy(&a, from.data() + i, 8);
                std::memcpy(&b, to.data() + i, 8);
                if (a == b) {
                    continue;
                }
            }
            for (std::size_t j = i; j < std::min(n, i + 8); ++j) {
                if (from[j] != to[j]) {
                    set_slot(j, static_cast<unsigned char>(to[j]), out);
                }
            }
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
    struct Place {
        std::uint8_t word;
        std::uint8_t shift;
        bool spills; // the slot's high bits go on in the next word
    };
    void set_slot(std::size_t i, std::uint64_t v, std::uint64_t* out) const {
        const Place p = place_[i];
        const std::uint64_t width_mask = (std::uint64_t{1} << bits_[i]) - 1;
        out[p.word] = (out[p.word] & ~(width_mask << p.shift)) | (v << p.shift);
        if (p.spills) {
            out[p.word + 1] =
                (out[p.word + 1] & ~(width_mask >> (64 - p.shift))) | (v >> (64 - p.shift));
        }
    }
    std::vector<int> bits_;
    std::vector<Place> place_;
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

    // Packs `s` into `key` (Packer::kMaxWords words) and returns its hash().
    std::uint64_t pack(const State& s, std::uint64_t* key) const {
        packer.pack(s, key);
        return hash(key, packer.words());
    }
    // A loop, not std::equal: that calls memcmp for these few words.
    static bool same_key(const std::uint64_t* a, const std::uint64_t* b, int n) {
        for (int i = 0; i < n; ++i) {
            if (a[i] != b[i]) {
                return false;
            }
        }
        return true;
    }
    // The index of a packed state with its hash(), or UINT32_MAX; only reads the graph, so
    // several threads may look up while no thread inserts.
    std::uint32_t find(const std::uint64_t* key, std::uint64_t key_hash) const {
        const int n = packer.words();
        const std::size_t mask = slots.size() - 1;
        for (std::size_t i = key_hash & mask;; i = (i + 1) & mask) {
            if (slots[i] == UINT32_MAX ||
                same_key(key, &packed[static_cast<std::size_t>(slots[i]) * n], n)) {
                return slots[i];
            }
        }
    }
    // The index of a packed state with its hash(), adding it if new; `added` says which.
    std::uint32_t insert(const std::uint64_t* key, std::uint64_t key_hash, bool& added) {
        const int n = packer.words();
        if (2 * (size() + 1) > slots.size()) {
            rehash();
        }
        const std::size_t mask = slots.size() - 1;
        for (std::size_t i = key_hash & mask;; i = (i + 1) & mask) {
            if (slots[i] == UINT32_MAX) {
                slots[i] = static_cast<std::uint32_t>(size());
                packed.insert(packed.end(), key, key + n);
                parent.push_back(0);
                via.push_back(0);
                added = true;
                return slots[i];
            }
            if (same_key(key, &packed[static_cast<std::size_t>(slots[i]) * n], n)) {
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

    auto holds_here = [&](const InvariantData& inv, const State& s) {
        if (limits.by_ast) {
            Env env;
            return interp.eval(invariants_ast(), inv.expr, s, env) != 0;
        }
        return interp.holds(inv, s);
    };
    // A state's invariants are checked when it is expanded (in the order of its id, so the first
    // violation found is one of the shallowest), and, if the exploration stops early, for every
    // state found but not expanded.
    const auto record_invariants = [&](std::uint32_t id, const std::uint8_t* violated) {
        for (std::size_t i = 0; i < invariants.size(); ++i) {
            if (violated[i] != 0) {
                ++violations[i];
                if (!first_violation[i]) {
                    first_violation[i] = id;
                }
            }
        }
    };
    const auto check_invariants = [&](const State& s, std::uint8_t* violated) {
        for (std::size_t i = 0; i < invariants.size(); ++i) {
            violated[i] = invariants[i]->kind == InvariantKind::StatePredicate &&
                          !holds_here(*invariants[i], s);
        }
    };
    const auto insert = [&](const std::uint64_t* key, std::uint64_t key_hash, std::uint32_t parent,
                            const Step& step) {
        bool added = false;
        const std::uint32_t id = g.insert(key, key_hash, added);
        if (added) {
            g.parent[id] = parent == UINT32_MAX ? id : parent;
            g.via[id] = Graph::encode(step);
            if (limits.on_found) {
                limits.on_found(g.parent[id]);
            }
        }
        return id;
    };

    Step none;
    none.row = 0;
    const int words = g.packer.words();
    for (const State& s : interp.initial_states()) {
        std::uint64_t key[Packer::kMaxWords];
        insert(key, g.pack(s, key), UINT32_MAX, none);
    }

    // What expanding a run of states found: per state, its invariants and where its successors
    // end; per successor, the step, the packed state and its hash.
    struct Expansion {
        std::vector<std::uint8_t> violated;
        std::vector<std::size_t> ends;
        std::vector<Step> steps;
        std::vector<std::uint64_t> keys;
        std::vector<std::uint64_t> hashes;
        std::vector<std::uint32_t> found; // the successor's id if it was known before the batch
    };
    const auto expand = [&](std::uint32_t from, std::uint32_t to, Expansion& x) {
        x.violated.assign(static_cast<std::size_t>(to - from) * invariants.size(), 0);
        x.ends.clear();
        x.steps.clear();
        x.keys.clear();
        x.hashes.clear();
        x.found.clear();
        for (std::uint32_t id = from; id < to; ++id) {
            const State current = g.state(id);
            const std::uint64_t* current_key = &g.packed[static_cast<std::size_t>(id) * words];
            check_invariants(current, x.violated.data() +
                                          static_cast<std::size_t>(id - from) * invariants.size());
            const auto visit = [&](const Step& step, const State& succ) {
                std::uint64_t key[Packer::kMaxWords];
                g.packer.repack(current, current_key, succ, key);
                const std::uint64_t key_hash = Graph::hash(key, words);
                x.steps.push_back(step);
                x.keys.insert(x.keys.end(), key, key + words);
                x.hashes.push_back(key_hash);
            };
            if (limits.by_ast) {
                interp.successors_by_ast(current, visit);
            } else {
                interp.successors(current, visit);
            }
            x.ends.push_back(x.steps.size());
        }
        // Most successors were found before: looking them up here, in parallel, leaves the
        // calling thread only the new ones to add. A lookup is two cache misses in a row (the
        // slot, then the state it names); they are fetched ahead of use, the slot kLookAhead
        // successors before and the state half as far, so that the misses overlap.
        constexpr std::size_t kLookAhead = 16;
        const std::size_t count = x.hashes.size();
        const std::size_t mask = g.slots.size() - 1;
        x.found.resize(count);
        for (std::size_t i = 0; i < count; ++i) {
            if (i + kLookAhead < count) {
                __builtin_prefetch(&g.slots[x.hashes[i + kLookAhead] & mask]);
            }
            if (i + kLookAhead / 2 < count) {
                const std::uint32_t slot = g.slots[x.hashes[i + kLookAhead / 2] & mask];
                if (slot != UINT32_MAX) {
                    __builtin_prefetch(&g.packed[static_cast<std::size_t>(slot) * words]);
                }
            }
            x.found[i] = g.find(&x.keys[i * static_cast<std::size_t>(words)], x.hashes[i]);
        }
    };

    const unsigned threads = std::max(1U, limits.threads);
    constexpr std::uint32_t kBatchPerThread = 1024;
    std::vector<Expansion> parts(threads);
    out.complete = true;
    // The BFS depth being expanded: the states of depth d end where depth d + 1 began to be added.
    int level = 0;
    std::size_t level_end = g.size();
    std::uint32_t next = 0;
    while (next < g.size() && out.complete) {
        // Expand the next batch of states found so far, one part per thread.
        const std::uint32_t batch_end = static_cast<std::uint32_t>(
            std::min<std::size_t>(g.size(), next + std::size_t{kBatchPerThread} * threads));
        const std::uint32_t per = (batch_end - next + threads - 1) / threads;
        std::vector<std::uint32_t> bounds;
        for (unsigned t = 0; t <= threads; ++t) {
            bounds.push_back(std::min(batch_end, next + per * t));
        }
        if (threads == 1 || batch_end - next < 2 * threads) {
            bounds.assign(threads + 1, batch_end);
            bounds[0] = next;
        }
        {
            std::vector<std::jthread> workers;
            for (unsigned t = 1; t < threads; ++t) {
                if (bounds[t] < bounds[t + 1]) {
                    workers.emplace_back([&, t] { expand(bounds[t], bounds[t + 1], parts[t]); });
                }
            }
            expand(bounds[0], bounds[1], parts[0]);
        }
        // Add their successors in the order one thread would have.
        for (unsigned t = 0; t < threads && out.complete; ++t) {
            const Expansion& x = parts[t];
            std::size_t step_index = 0;
            for (std::uint32_t id = bounds[t]; id < bounds[t + 1]; ++id) {
                if (g.size() > limits.max_states) {
                    out.complete = false;
                    break;
                }
                const bool new_level = id == level_end;
                if (new_level) {
                    ++level;
                    level_end = g.size();
                }
                if (limits.on_progress && (new_level || id % 16384 == 0)) {
                    limits.on_progress(
                        {g.size(), id, level,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                             .count()});
                }
                record_invariants(id, x.violated.data() + static_cast<std::size_t>(id - bounds[t]) *
                                                              invariants.size());
                State current;
                if (limits.on_state || limits.on_step) {
                    current = g.state(id);
                }
                if (limits.on_state) {
                    limits.on_state(current);
                }
                const std::size_t end = x.ends[id - bounds[t]];
                for (; step_index < end; ++step_index) {
                    const Step& step = x.steps[step_index];
                    ++out.transitions;
                    if (limits.on_step) {
                        limits.on_step(current, step);
                    }
                    const std::uint32_t to =
                        x.found[step_index] != UINT32_MAX
                            ? x.found[step_index]
                            : insert(&x.keys[step_index * static_cast<std::size_t>(words)],
                                     x.hashes[step_index], id, step);
                    if (want_recovery &&
                        interp.table().rows[static_cast<std::size_t>(step.row)].actor !=
                            Actor::fault) {
                        g.edge_target.push_back(to);
                    }
                }
                if (want_recovery) {
                    g.edge_offset.push_back(g.edge_target.size());
                }
                next = id + 1;
            }
        }
    }
    // Stopped early: the states found but not expanded have their invariants checked too.
    std::vector<std::uint8_t> violated(invariants.size());
    for (std::uint32_t id = next; id < g.size(); ++id) {
        check_invariants(g.state(id), violated.data());
        record_invariants(id, violated.data());
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
            if (!crashed[s] && holds_here(*rec, st)) {
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
