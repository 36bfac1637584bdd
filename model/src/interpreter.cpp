#include "handoff/model/interpreter.hpp"

#include "compiled.hpp"
#include "handoff/model/invariants.hpp"
#include "handoff/model/versions.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace handoff::model {

Layout::Layout(int nodes) : nodes_(nodes) {
    for (int v = 0; v < kVarCount; ++v) {
        base_[v] = size_;
        switch (kVars[v].scope) {
        case Scope::Global:
            size_ += 1;
            break;
        case Scope::PerHost:
            size_ += 2;
            break;
        case Scope::PerNode:
            size_ += 2 * nodes;
            break;
        }
    }
}

int Layout::offset(Var v, int host, int node) const {
    const int base = base_[static_cast<int>(v)];
    switch (var_info(v).scope) {
    case Scope::Global:
        return base;
    case Scope::PerHost:
        return base + host;
    case Scope::PerNode:
        return base + host * nodes_ + node;
    }
    return base;
}

Interpreter::Interpreter(const TableData& table, const Instance& instance)
    : table_(table), instance_(instance), layout_(instance.nodes),
      graph_(BlockGraph::make(instance.graph, std::max(1, instance.nodes))) {
    if (instance.nodes < 1 || instance.nodes > 16) {
        throw std::invalid_argument("the number of nodes must be between 1 and 16");
    }
    if (const std::string limit = graph_.walk_limit(); !limit.empty()) {
        throw std::invalid_argument(limit);
    }
    if (instance.starts < 0 || instance.starts > 3) {
        throw std::invalid_argument("the number of process starts must be between 0 and 3");
    }
    if (instance.set_active_calls < 0 || instance.set_active_calls > 3) {
        throw std::invalid_argument(
            "the number of blockdev-set-active calls must be between 0 and 3");
    }
    for (const RowData& row : table_.rows) {
        guard_reads_host_only_.push_back(!reads_outcome_params(row.guard));
        RowParams rp;
        rp.hosts = {0};
        for (Param p : row.params) {
            if (p == Param::host) {
                rp.hosts = {0, 1};
            } else {
                rp.outcome.push_back(p);
                rp.domains.push_back(param_values(p));
            }
        }
        row_params_.push_back(std::move(rp));
    }
    compiled_ = compiled_for(table_, layout_, graph_);
}

// The specialised table depends on the table, the node count and the graph only. Interpreters of
// a registered version are made many times over (the replays make one per trace), so its
// specialisations are kept for the life of the process; a table made at run time (a mutant) is
// specialised for its interpreter alone, since another table may later live at its address.
std::shared_ptr<const detail::CompiledTable>
Interpreter::compiled_for(const TableData& table, const Layout& layout, const BlockGraph& graph) {
    const auto& registered = all_versions();
    if (std::find(registered.begin(), registered.end(), &table) == registered.end()) {
        return std::make_shared<const detail::CompiledTable>(table, layout, graph);
    }
    static std::mutex mutex;
    static std::map<std::tuple<const TableData*, int, int>,
                    std::shared_ptr<const detail::CompiledTable>>
        cache;
    const auto key = std::make_tuple(&table, static_cast<int>(graph.shape()), layout.nodes());
    const std::lock_guard<std::mutex> lock(mutex);
    auto& slot = cache[key];
    if (!slot) {
        slot = std::make_shared<const detail::CompiledTable>(table, layout, graph);
    }
    return slot;
}

bool Interpreter::holds(const InvariantData& inv, const State& s) const {
    const std::int32_t code = compiled_->invariant(inv);
    if (code >= 0) {
        const Params none{};
        return compiled_->eval(code, s.data(), none.data()) != 0;
    }
    Env env;
    return eval(invariants_ast(), inv.expr, s, env) != 0;
}

bool Interpreter::reads_outcome_params(int expr) const {
    if (expr < 0) {
        return false;
    }
    const AstNode& e = table_.ast[expr];
    if (e.op == Op::Param && e.a != static_cast<int>(Param::host)) {
        return true;
    }
    for (int k : e.kid) {
        if (reads_outcome_params(k)) {
            return true;
        }
    }
    return false;
}

std::string node_name(const BlockGraph& graph, int node) {
    std::string out = "node " + std::to_string(node);
    if (graph.shape() != GraphShape::flat && node >= 0 && node < graph.size()) {
        out += " (" + graph.nodes()[static_cast<std::size_t>(node)].label + ")";
    }
    return out;
}

std::string param_value_name(Param p, int value, const BlockGraph& graph) {
    const ParamKind kind = param_info(p).kind;
    if ((kind == ParamKind::Node || kind == ParamKind::NodeOrNone) && value < graph.size()) {
        return node_name(graph, value);
    }
    return param_value_name(p, value, graph.size());
}

std::string graph_legend(const BlockGraph& graph) {
    if (graph.shape() == GraphShape::flat) {
        return "";
    }
    std::string out;
    for (int n = 0; n < graph.size(); ++n) {
        const BlockNode& node = graph.nodes()[static_cast<std::size_t>(n)];
        out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + node.label + " (" +
               std::string(node_kind_name(node.kind));
        for (const BlockEdge& e : graph.edges()) {
            if (e.child == n) {
                out +=
                    ", " + std::string(edge_role_name(e.role)) + " of " + std::to_string(e.parent);
            }
        }
        out += ")";
    }
    return "nodes of each host (" + std::string(graph_shape_name(graph.shape())) +
           " graph): " + out;
}

std::string param_value_name(Param p, int value, int nodes) {
    switch (param_info(p).kind) {
    case ParamKind::Host:
        return "host " + std::to_string(value);
    case ParamKind::NodeOrNone:
        return value >= nodes ? "none" : "node " + std::to_string(value);
    case ParamKind::Node:
        return "node " + std::to_string(value);
    case ParamKind::Flag:
        return value ? "yes" : "no";
    }
    return std::to_string(value);
}

std::vector<int> Interpreter::param_values(Param p) const {
    const int nodes = instance_.nodes;
    std::vector<int> values;
    switch (param_info(p).kind) {
    case ParamKind::Host:
        values = {0, 1};
        break;
    case ParamKind::NodeOrNone:
        values.push_back(nodes);
        for (int i = 0; i < nodes; ++i) {
            values.push_back(i);
        }
        break;
    case ParamKind::Node:
        for (int i = 0; i < nodes; ++i) {
            values.push_back(i);
        }
        break;
    case ParamKind::Flag:
        values = {0, 1};
        break;
    }
    return values;
}

int Interpreter::param_default(Param p) const {
    return param_info(p).kind == ParamKind::NodeOrNone ? instance_.nodes : 0;
}

// The initial states: host 0 runs the guest (RUNNING or PAUSED) with every node active; host 1 is
// a destination started with -incoming (INMIGRATE, every node opened inactive). The storage
// answers; the capabilities take every combination unless the instance fixes them.
std::vector<State> Interpreter::initial_states() const {
    State base(static_cast<std::size_t>(layout_.size()), '\0');
    for (int host = 0; host < 2; ++host) {
        put(base, Var::alive, host, 0, 1);
        put(base, Var::vm_old_state, host, 0, static_cast<int>(RunState::UNSET));
        put(base, Var::global_state, host, 0, static_cast<int>(RunState::UNSET));
        put(base, Var::received_state, host, 0, static_cast<int>(RunState::UNSET));
        put(base, Var::mig, host, 0, static_cast<int>(MigStatus::NONE));
        put(base, Var::active_state, host, 0, static_cast<int>(MigStatus::NONE));
    }
    put(base, Var::storage_ok, 0, 0, 1);
    put(base, Var::starts_left, 0, 0, instance_.starts);
    put(base, Var::set_active_left, 0, 0, instance_.set_active_calls);
    put(base, Var::documented_use, 0, 0, instance_.documented_use ? 1 : 0);
    put(base, Var::migration_block_active, 0, 0, 1);
    put(base, Var::autostart, 0, 0, 1);
    put(base, Var::runstate, 1, 0, static_cast<int>(RunState::INMIGRATE));
    put(base, Var::incoming, 1, 0, static_cast<int>(Incoming::LISTENING));
    for (int i = 0; i < instance_.nodes; ++i) {
        put(base, Var::node, 0, i, static_cast<int>(NodeState::ACTIVE));
        put(base, Var::node, 1, i, static_cast<int>(NodeState::INACTIVE));
    }

    std::vector<State> states{base};
    auto branch = [&](auto&& assign, const std::vector<int>& choices) {
        std::vector<State> next;
        for (const auto& s : states) {
            for (int c : choices) {
                State t = s;
                assign(t, c);
                next.push_back(std::move(t));
            }
        }
        states = std::move(next);
    };
    branch([&](State& s, int c) { put(s, Var::runstate, 0, 0, c); },
           {static_cast<int>(RunState::RUNNING), static_cast<int>(RunState::PAUSED)});
    const Var caps[] = {Var::cap_late_block_activate, Var::cap_pause_before_switchover,
                        Var::cap_postcopy, Var::cap_autostart, Var::image_locking};
    for (Var cap : caps) {
        const int fixed = instance_.fixed[static_cast<int>(cap)];
        std::vector<int> choices = fixed < 0 ? std::vector<int>{0, 1} : std::vector<int>{fixed};
        branch(
            [&](State& s, int c) {
                put(s, cap, 0, 0, c);
                if (cap == Var::cap_autostart) {
                    put(s, Var::autostart, 1, 0, c);
                }
            },
            choices);
    }
    return states;
}

int Interpreter::eval(const Ast& ast, int expr, const State& s, Env& env) const {
    const AstNode& e = ast[expr];
    const int nodes = instance_.nodes;
    switch (e.op) {
    case Op::Lit:
        return e.a;
    case Op::Var: {
        const int host = e.kid[0] < 0 ? 0 : eval(ast, e.kid[0], s, env);
        const int node = e.kid[1] < 0 ? 0 : eval(ast, e.kid[1], s, env);
        if (node >= nodes) {
            throw std::logic_error("node index out of range in a variable reference");
        }
        return get(s, static_cast<Var>(e.a), host, node);
    }
    case Op::Param:
        return env.params[static_cast<std::size_t>(e.a)];
    case Op::Bound:
        return e.sort == Sort::Host ? env.hosts[static_cast<std::size_t>(e.a)]
                                    : env.nodes[static_cast<std::size_t>(e.a)];
    case Op::Peer:
        return 1 - eval(ast, e.kid[0], s, env);
    case Op::NoneNode:
        return nodes;
    case Op::Not:
        return !eval(ast, e.kid[0], s, env);
    case Op::And:
        return eval(ast, e.kid[0], s, env) && eval(ast, e.kid[1], s, env);
    case Op::Or:
        return eval(ast, e.kid[0], s, env) || eval(ast, e.kid[1], s, env);
    case Op::Implies:
        return !eval(ast, e.kid[0], s, env) || eval(ast, e.kid[1], s, env);
    case Op::Eq:
        return eval(ast, e.kid[0], s, env) == eval(ast, e.kid[1], s, env);
    case Op::Ne:
        return eval(ast, e.kid[0], s, env) != eval(ast, e.kid[1], s, env);
    case Op::Lt:
        return eval(ast, e.kid[0], s, env) < eval(ast, e.kid[1], s, env);
    case Op::Le:
        return eval(ast, e.kid[0], s, env) <= eval(ast, e.kid[1], s, env);
    case Op::Ite:
        return eval(ast, e.kid[0], s, env) ? eval(ast, e.kid[1], s, env)
                                           : eval(ast, e.kid[2], s, env);
    case Op::Forall:
    case Op::Exists: {
        const bool forall = e.op == Op::Forall;
        const bool hosts = e.bound_sort == Sort::Host;
        int& slot = hosts ? env.hosts[static_cast<std::size_t>(e.a)]
                          : env.nodes[static_cast<std::size_t>(e.a)];
        const int saved = slot;
        const int count = hosts ? 2 : nodes;
        bool result = forall;
        for (int i = 0; i < count; ++i) {
            slot = i;
            if (static_cast<bool>(eval(ast, e.kid[0], s, env)) != forall) {
                result = !forall;
                break;
            }
        }
        slot = saved;
        return result;
    }
    case Op::Named:
        return eval(ast, e.kid[0], s, env);
    case Op::RunstateOk: {
        const int from = eval(ast, e.kid[0], s, env);
        const int to = eval(ast, e.kid[1], s, env);
        if (to == static_cast<int>(RunState::UNSET) || from == static_cast<int>(RunState::UNSET)) {
            return 0;
        }
        return from == to ||
               table_.runstate[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)];
    }
    case Op::NodeRel:
        return graph_.holds(static_cast<NodeRelation>(e.a), eval(ast, e.kid[0], s, env),
                            e.kid[1] < 0 ? 0 : eval(ast, e.kid[1], s, env));
    }
    throw std::logic_error("unknown expression operator");
}

// Runs a row's statements on `next` in order. Returns false if an assumption rules the
// parameters out (its index in *refused_by, if given). A failed assertion records the crash and
// ends the step. `observe(at, next, env)` is called before each statement that runs (a no-op for
// the explorer, inlined away).
template <class Observe>
bool Interpreter::run_effect(const RowData& row, State& next, Env& env, const Observe& observe,
                             std::size_t* refused_by) const {
    const auto& stmts = row.effect.stmts;
    // One frame per open conditional: whether the enclosing code runs, the condition, and
    // whether we are in its else-branch.
    struct Frame {
        bool outer_runs;
        bool cond;
        bool in_else;
    };
    std::vector<Frame> frames;
    auto runs = [&] {
        return frames.empty() ||
               (frames.back().outer_runs && frames.back().cond != frames.back().in_else);
    };
    for (std::size_t at = 0; at < stmts.size(); ++at) {
        const Stmt& st = stmts[at];
        if (st.kind == StmtKind::If) {
            const bool outer = runs();
            if (outer) {
                observe(at, next, env);
            }
            frames.push_back({outer, outer && eval(table_.ast, st.value, next, env) != 0, false});
            continue;
        }
        if (st.kind == StmtKind::Else) {
            frames.back().in_else = true;
            continue;
        }
        if (st.kind == StmtKind::EndIf) {
            frames.pop_back();
            continue;
        }
        if (!runs()) {
            continue;
        }
        observe(at, next, env);
        switch (st.kind) {
        case StmtKind::Assign: {
            const int host = st.host < 0 ? 0 : eval(table_.ast, st.host, next, env);
            put(next, st.var, host, 0, eval(table_.ast, st.value, next, env));
            break;
        }
        case StmtKind::AssignNodes: {
            const int host = eval(table_.ast, st.host, next, env);
            std::vector<int> values(static_cast<std::size_t>(instance_.nodes));
            int& slot = env.nodes[static_cast<std::size_t>(st.node_slot)];
            const int saved = slot;
            for (int i = 0; i < instance_.nodes; ++i) {
                slot = i;
                values[static_cast<std::size_t>(i)] = eval(table_.ast, st.value, next, env);
            }
            slot = saved;
            for (int i = 0; i < instance_.nodes; ++i) {
                put(next, Var::node, host, i, values[static_cast<std::size_t>(i)]);
            }
            break;
        }
        case StmtKind::Assert:
            if (!eval(table_.ast, st.value, next, env)) {
                put(next, Var::crash, 0, 0, static_cast<int>(st.reason));
                put(next, Var::crash_host, 0, 0, env.hosts[0]);
                return true;
            }
            break;
        case StmtKind::Assume:
            if (!eval(table_.ast, st.value, next, env)) {
                if (refused_by != nullptr) {
                    *refused_by = at;
                }
                return false;
            }
            break;
        default:
            break;
        }
    }
    return true;
}

namespace {
struct Unobserved {
    void operator()(std::size_t, const State&, const Env&) const {}
};
} // namespace

std::optional<State> Interpreter::apply(const State& s, const Step& step) const {
    return apply_with(s, step, Unobserved{});
}

std::optional<State> Interpreter::apply(const State& s, const Step& step,
                                        const StatementObserver& observe) const {
    return apply_with(s, step, observe);
}

template <class Observe>
std::optional<State> Interpreter::apply_with(const State& s, const Step& step,
                                             const Observe& observe) const {
    if (get(s, Var::crash) != static_cast<int>(Crash::NONE)) {
        return std::nullopt; // a crash ends the run
    }
    const RowData& row = table_.rows[static_cast<std::size_t>(step.row)];
    const int host = step.params[static_cast<int>(Param::host)];
    if constexpr (std::is_same_v<Observe, Unobserved>) {
        const detail::CodeRow& code = compiled_->row(static_cast<std::size_t>(step.row), host);
        if (code.compiled) {
            if (!compiled_->eval(code.guard, s.data(), step.params.data())) {
                return std::nullopt;
            }
            State next = s;
            if (!compiled_->run(code, next, step.params.data(), host)) {
                return std::nullopt;
            }
            return next;
        }
    }
    Env env;
    env.params = step.params;
    env.hosts[0] = host;
    if (!eval(table_.ast, row.guard, s, env)) {
        return std::nullopt;
    }
    State next = s;
    if (!run_effect(row, next, env, observe)) {
        return std::nullopt;
    }
    return next;
}

std::optional<Interpreter::Refusal> Interpreter::refusal(const State& s, const Step& step) const {
    if (get(s, Var::crash) != static_cast<int>(Crash::NONE)) {
        return Refusal{Refusal::Kind::crashed, 0, s};
    }
    const RowData& row = table_.rows[static_cast<std::size_t>(step.row)];
    Env env;
    env.params = step.params;
    env.hosts[0] = step.params[static_cast<int>(Param::host)];
    if (!eval(table_.ast, row.guard, s, env)) {
        return Refusal{Refusal::Kind::guard, 0, s};
    }
    // run_effect() stops at the refusing assumption, so `next` is the state it was evaluated in.
    State next = s;
    std::size_t stmt = 0;
    if (run_effect(row, next, env, Unobserved{}, &stmt)) {
        return std::nullopt;
    }
    return Refusal{Refusal::Kind::assumption, stmt, std::move(next)};
}

void Interpreter::successors(const State& s,
                             const std::function<void(const Step&, const State&)>& visit) const {
    successors_with<true>(s, visit);
}

void Interpreter::successors_by_ast(
    const State& s, const std::function<void(const Step&, const State&)>& visit) const {
    successors_with<false>(s, visit);
}

template <bool Fast>
void Interpreter::successors_with(
    const State& s, const std::function<void(const Step&, const State&)>& visit) const {
    if (get(s, Var::crash) != static_cast<int>(Crash::NONE)) {
        return;
    }
    // The successors of one row and host found so far, for reporting each once; the strings are
    // reused from row to row. (Not static: `visit` may ask for the successors of another state.)
    std::vector<State> seen;
    std::vector<std::size_t> seen_hash;
    std::size_t seen_count = 0;
    std::size_t next_hash = 0;
    auto already_seen = [&](const State& t) {
        next_hash = std::hash<std::string_view>{}(t);
        for (std::size_t k = 0; k < seen_count; ++k) {
            if (seen_hash[k] == next_hash && seen[k] == t) {
                return true;
            }
        }
        return false;
    };
    auto remember = [&](const State& t) {
        if (seen_count == seen.size()) {
            seen.push_back(t);
            seen_hash.push_back(next_hash);
        } else {
            seen[seen_count].assign(t);
            seen_hash[seen_count] = next_hash;
        }
        ++seen_count;
    };
    State next;
    Env env;
    std::vector<std::size_t> index;
    for (std::size_t r = 0; r < table_.rows.size(); ++r) {
        const RowData& row = table_.rows[r];
        Step step;
        step.row = static_cast<int>(r);
        for (int p = 0; p < kParamCount; ++p) {
            step.params[static_cast<std::size_t>(p)] = param_default(static_cast<Param>(p));
        }
        // The host first: most guards read only the state and the host, and most rows are
        // disabled, so the outcome parameters are enumerated only behind a true guard.
        const RowParams& rp = row_params_[r];
        const auto& outcome = rp.outcome;
        const auto& domains = rp.domains;
        for (int host : rp.hosts) {
            step.params[static_cast<int>(Param::host)] = host;
            const detail::CodeRow& code = compiled_->row(r, host);
            const bool fast = Fast && code.compiled;
            if (fast && !code.passes_byte_tests(s.data())) {
                continue;
            }
            auto guard = [&] {
                if (fast) {
                    // The byte tests passed above.
                    return compiled_->eval(code.residual, s.data(), step.params.data()) != 0;
                }
                env.params = step.params;
                env.hosts[0] = host;
                return eval(table_.ast, row.guard, s, env) != 0;
            };
            auto effect = [&] {
                if (fast) {
                    return compiled_->run(code, next, step.params.data(), host);
                }
                env.params = step.params;
                env.hosts[0] = host;
                return run_effect(row, next, env, Unobserved{});
            };
            if (guard_reads_host_only_[r] && !guard()) {
                continue;
            }
            seen_count = 0;
            index.assign(domains.size(), 0);
            while (true) {
                for (std::size_t k = 0; k < domains.size(); ++k) {
                    step.params[static_cast<std::size_t>(outcome[k])] = domains[k][index[k]];
                }
                if (guard_reads_host_only_[r] || guard()) {
                    next.assign(s);
                    if (effect() && !already_seen(next)) {
                        remember(next);
                        visit(step, next);
                    }
                }
                if (!next_combination(index, domains)) {
                    break;
                }
            }
        }
    }
}

} // namespace handoff::model
