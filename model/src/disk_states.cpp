#include "handoff/model/disk_states.hpp"

#include "handoff/model/interpreter.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <tuple>

namespace handoff::model {

namespace {

// A node's next state depends on the nodes of both hosts (locked_by_peer), whether the peer is
// alive, the storage and image locking; these are tracked exactly, at N = 2. Everything else
// (run states, the migration's state, counters, capabilities) is unknown: an expression evaluates
// to the set of values it can take (a bit mask over its domain; for booleans bit 0 is false and
// bit 1 true), so a guard or an assumption that might hold is taken to hold.
constexpr int kNodes = 2;

struct Local {
    std::array<std::array<std::uint8_t, kNodes>, 2> node{};
    std::array<std::uint8_t, 2> alive{};
    std::uint8_t storage_ok = 0;
    std::uint8_t image_locking = 0;
    auto operator<=>(const Local&) const = default;
};

using Mask = std::uint32_t;
constexpr Mask kFalse = 1;
constexpr Mask kTrue = 2;

Mask full(DomainId d) {
    return (Mask{1} << domain_size(d)) - 1;
}

Mask boolean(bool can_be_false, bool can_be_true) {
    return (can_be_false ? kFalse : 0) | (can_be_true ? kTrue : 0);
}

bool tracked(Var v) {
    return v == Var::node || v == Var::alive || v == Var::storage_ok || v == Var::image_locking;
}

std::uint8_t& slot(Local& s, Var v, int host, int node) {
    switch (v) {
    case Var::node:
        return s.node[static_cast<std::size_t>(host)][static_cast<std::size_t>(node)];
    case Var::alive:
        return s.alive[static_cast<std::size_t>(host)];
    case Var::storage_ok:
        return s.storage_ok;
    case Var::image_locking:
        return s.image_locking;
    default:
        throw std::logic_error("not a tracked variable");
    }
}

class Abstract {
  public:
    explicit Abstract(const TableData& t) : t_(t) {}

    // A host or node index: always known (parameters and bound variables are enumerated).
    int index(int expr, const Local& s, Env& env) const {
        const AstNode& e = t_.ast[expr];
        switch (e.op) {
        case Op::Param:
            return env.params[static_cast<std::size_t>(e.a)];
        case Op::Bound:
            return e.sort == Sort::Host ? env.hosts[static_cast<std::size_t>(e.a)]
                                        : env.nodes[static_cast<std::size_t>(e.a)];
        case Op::Peer:
            return 1 - index(e.kid[0], s, env);
        case Op::NoneNode:
            return kNodes;
        case Op::Named:
            return index(e.kid[0], s, env);
        case Op::Ite: {
            const Mask c = value(e.kid[0], s, env);
            if (c == kTrue || c == kFalse) {
                return index(c == kTrue ? e.kid[1] : e.kid[2], s, env);
            }
            break;
        }
        default:
            break;
        }
        throw std::logic_error("disk states: an index expression that is not known");
    }

    Mask value(int expr, const Local& s, Env& env) const {
        const AstNode& e = t_.ast[expr];
        auto is_index = [&](int k) { return t_.ast[k].sort != Sort::Value; };
        switch (e.op) {
        case Op::Lit:
            return Mask{1} << e.a;
        case Op::Var: {
            const Var v = static_cast<Var>(e.a);
            if (!tracked(v)) {
                return full(var_info(v).domain);
            }
            const int host = e.kid[0] < 0 ? 0 : index(e.kid[0], s, env);
            const int node = e.kid[1] < 0 ? 0 : index(e.kid[1], s, env);
            Local copy = s;
            return Mask{1} << slot(copy, v, host, node);
        }
        case Op::Param:
            return Mask{1} << env.params[static_cast<std::size_t>(e.a)];
        case Op::Not: {
            const Mask a = value(e.kid[0], s, env);
            return boolean((a & kTrue) != 0, (a & kFalse) != 0);
        }
        case Op::And:
        case Op::Or:
        case Op::Implies: {
            Mask a = value(e.kid[0], s, env);
            if (e.op == Op::Implies) {
                a = boolean((a & kTrue) != 0, (a & kFalse) != 0);
            }
            // A left side that decides the result alone: the right side is not evaluated (the
            // walks' closed forms nest deeply, and on the flat graph most of them fold here).
            if (e.op == Op::And && a == kFalse) {
                return kFalse;
            }
            if (e.op != Op::And && a == kTrue) {
                return kTrue;
            }
            const Mask b = value(e.kid[1], s, env);
            if (e.op == Op::And) {
                return boolean((a & kFalse) || (b & kFalse), (a & kTrue) && (b & kTrue));
            }
            return boolean((a & kFalse) && (b & kFalse), (a & kTrue) || (b & kTrue));
        }
        case Op::Eq:
        case Op::Ne:
        case Op::Lt:
        case Op::Le: {
            bool can_true = false, can_false = false;
            if (is_index(e.kid[0])) {
                const int a = index(e.kid[0], s, env), b = index(e.kid[1], s, env);
                const bool r = e.op == Op::Eq   ? a == b
                               : e.op == Op::Ne ? a != b
                               : e.op == Op::Lt ? a < b
                                                : a <= b;
                return boolean(!r, r);
            }
            const Mask a = value(e.kid[0], s, env), b = value(e.kid[1], s, env);
            const bool equal_possible = (a & b) != 0;
            const bool differ_possible = !(a == b && std::popcount(a) == 1);
            can_true = e.op == Op::Eq ? equal_possible : differ_possible;
            can_false = e.op == Op::Eq ? differ_possible : equal_possible;
            return boolean(can_false, can_true);
        }
        case Op::Ite: {
            const Mask c = value(e.kid[0], s, env);
            return ((c & kTrue) ? value(e.kid[1], s, env) : 0) |
                   ((c & kFalse) ? value(e.kid[2], s, env) : 0);
        }
        case Op::Forall:
        case Op::Exists: {
            const bool hosts = e.bound_sort == Sort::Host;
            int& bound = hosts ? env.hosts[static_cast<std::size_t>(e.a)]
                               : env.nodes[static_cast<std::size_t>(e.a)];
            const int saved = bound;
            bool all_true = true, all_false = true, some_true = false, some_false = false;
            for (int i = 0; i < (hosts ? 2 : kNodes); ++i) {
                bound = i;
                const Mask m = value(e.kid[0], s, env);
                all_true = all_true && (m & kTrue);
                all_false = all_false && (m & kFalse);
                some_true = some_true || (m & kTrue);
                some_false = some_false || (m & kFalse);
                // One certainly false (forall) or certainly true (exists) case decides it.
                if (m == (e.op == Op::Forall ? kFalse : kTrue)) {
                    break;
                }
            }
            bound = saved;
            return e.op == Op::Forall ? boolean(some_false, all_true)
                                      : boolean(all_false, some_true);
        }
        case Op::Named:
            return value(e.kid[0], s, env);
        case Op::RunstateOk: {
            const Mask from = value(e.kid[0], s, env), to = value(e.kid[1], s, env);
            const int unset = static_cast<int>(RunState::UNSET);
            Mask out = 0;
            for (int a = 0; a < 32; ++a) {
                for (int b = 0; b < 32; ++b) {
                    if (!(from & (Mask{1} << a)) || !(to & (Mask{1} << b))) {
                        continue;
                    }
                    const bool ok =
                        a != unset && b != unset &&
                        (a == b ||
                         t_.runstate[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)]);
                    out |= ok ? kTrue : kFalse;
                }
            }
            return out;
        }
        case Op::NodeRel: {
            // The picture is of the flat graph of kNodes disks.
            const bool r = flat_.holds(static_cast<NodeRelation>(e.a), index(e.kid[0], s, env),
                                       e.kid[1] < 0 ? 0 : index(e.kid[1], s, env));
            return boolean(!r, r);
        }
        default:
            throw std::logic_error("disk states: an index where a value was expected");
        }
    }

  private:
    const TableData& t_;
    const BlockGraph flat_ = BlockGraph::make(GraphShape::flat, kNodes);
};

struct Branch {
    Local s;
    // Per node, the group of the last statement that wrote it (for the picture's labels).
    std::array<std::array<std::string_view, kNodes>, 2> via{};
    bool ended = false; // an assertion failed: the process crashed, later statements do not run
};

class Runner {
  public:
    Runner(const TableData& t, const RowData& row) : row_(row), a_(t) {}

    void run(std::size_t begin, std::size_t end, std::vector<Branch>& branches, Env& env) const {
        const auto& stmts = row_.effect.stmts;
        for (std::size_t i = begin; i < end; ++i) {
            const Stmt& st = stmts[i];
            if (st.kind == StmtKind::If) {
                std::size_t else_at = 0, endif_at = i + 1;
                for (int depth = 0;; ++endif_at) {
                    const StmtKind k = stmts[endif_at].kind;
                    if (k == StmtKind::If) {
                        ++depth;
                    } else if (k == StmtKind::EndIf && depth-- == 0) {
                        break;
                    } else if (k == StmtKind::Else && depth == 0) {
                        else_at = endif_at;
                    }
                }
                std::vector<Branch> yes, no, out;
                for (const Branch& b : branches) {
                    const Mask c = b.ended ? 0 : a_.value(st.value, b.s, env);
                    if (b.ended) {
                        out.push_back(b);
                    }
                    if (c & kTrue) {
                        yes.push_back(b);
                    }
                    if (c & kFalse) {
                        no.push_back(b);
                    }
                }
                run(i + 1, else_at ? else_at : endif_at, yes, env);
                if (else_at) {
                    run(else_at + 1, endif_at, no, env);
                }
                out.insert(out.end(), yes.begin(), yes.end());
                out.insert(out.end(), no.begin(), no.end());
                branches = std::move(out);
                i = endif_at;
                continue;
            }
            std::vector<Branch> next;
            for (const Branch& b : branches) {
                if (b.ended) {
                    next.push_back(b);
                    continue;
                }
                step(st, b, env, next);
            }
            branches = std::move(next);
        }
    }

  private:
    void step(const Stmt& st, const Branch& b, Env& env, std::vector<Branch>& out) const {
        switch (st.kind) {
        case StmtKind::Assign: {
            if (!tracked(st.var)) {
                out.push_back(b);
                return;
            }
            const int host = st.host < 0 ? 0 : a_.index(st.host, b.s, env);
            const Mask m = a_.value(st.value, b.s, env);
            for (int v = 0; v < 32; ++v) {
                if (m & (Mask{1} << v)) {
                    Branch c = b;
                    slot(c.s, st.var, host, 0) = static_cast<std::uint8_t>(v);
                    out.push_back(c);
                }
            }
            return;
        }
        case StmtKind::AssignNodes: {
            const int host = a_.index(st.host, b.s, env);
            int& bound = env.nodes[static_cast<std::size_t>(st.node_slot)];
            const int saved = bound;
            std::array<Mask, kNodes> masks{};
            for (int k = 0; k < kNodes; ++k) {
                bound = k;
                masks[static_cast<std::size_t>(k)] = a_.value(st.value, b.s, env);
            }
            bound = saved;
            const std::string_view via =
                st.group < 0 ? std::string_view{}
                             : row_.effect.groups[static_cast<std::size_t>(st.group)].name;
            // Every combination of one possible value per node.
            std::vector<Branch> combos{b};
            for (int k = 0; k < kNodes; ++k) {
                std::vector<Branch> more;
                for (const Branch& c : combos) {
                    for (int v = 0; v < 32; ++v) {
                        if (masks[static_cast<std::size_t>(k)] & (Mask{1} << v)) {
                            Branch d = c;
                            auto& value = slot(d.s, Var::node, host, k);
                            if (value != v) {
                                d.via[static_cast<std::size_t>(host)][static_cast<std::size_t>(k)] =
                                    via;
                            }
                            value = static_cast<std::uint8_t>(v);
                            more.push_back(d);
                        }
                    }
                }
                combos = std::move(more);
            }
            out.insert(out.end(), combos.begin(), combos.end());
            return;
        }
        case StmtKind::Assert: {
            const Mask c = a_.value(st.value, b.s, env);
            if (c & kFalse) {
                Branch crashed = b;
                crashed.ended = true;
                out.push_back(crashed);
            }
            if (c & kTrue) {
                out.push_back(b);
            }
            return;
        }
        case StmtKind::Assume:
            if (a_.value(st.value, b.s, env) & kTrue) {
                out.push_back(b);
            }
            return;
        default:
            out.push_back(b);
            return;
        }
    }

    const RowData& row_;
    Abstract a_;
};

bool writes_tracked(const RowData& row) {
    return std::any_of(row.effect.stmts.begin(), row.effect.stmts.end(), [](const Stmt& st) {
        return (st.kind == StmtKind::Assign || st.kind == StmtKind::AssignNodes) && tracked(st.var);
    });
}

} // namespace

std::vector<NodeStateChange> node_state_changes(const TableData& table) {
    const Interpreter interp(table, Instance(kNodes));
    std::set<Local> seen;
    std::vector<Local> work;
    for (const State& full_state : interp.initial_states()) {
        Local s;
        for (int h = 0; h < 2; ++h) {
            for (int k = 0; k < kNodes; ++k) {
                slot(s, Var::node, h, k) =
                    static_cast<std::uint8_t>(interp.get(full_state, Var::node, h, k));
            }
            slot(s, Var::alive, h, 0) =
                static_cast<std::uint8_t>(interp.get(full_state, Var::alive, h));
        }
        s.storage_ok = static_cast<std::uint8_t>(interp.get(full_state, Var::storage_ok));
        s.image_locking = static_cast<std::uint8_t>(interp.get(full_state, Var::image_locking));
        if (seen.insert(s).second) {
            work.push_back(s);
        }
    }
    const Abstract abstract(table);
    // (from, to, row index, via)
    std::set<std::tuple<int, int, std::size_t, std::string_view>> changes;
    while (!work.empty()) {
        const Local s = work.back();
        work.pop_back();
        for (std::size_t r = 0; r < table.rows.size(); ++r) {
            const RowData& row = table.rows[r];
            if (!writes_tracked(row)) {
                continue;
            }
            const Runner runner(table, row);
            std::vector<Param> params;
            std::vector<std::vector<int>> domains;
            Env env;
            for (int p = 0; p < kParamCount; ++p) {
                env.params[static_cast<std::size_t>(p)] =
                    interp.param_default(static_cast<Param>(p));
            }
            for (Param p : row.params) {
                params.push_back(p);
                domains.push_back(interp.param_values(p));
            }
            std::vector<std::size_t> at(params.size(), 0);
            do {
                for (std::size_t k = 0; k < params.size(); ++k) {
                    env.params[static_cast<std::size_t>(params[k])] = domains[k][at[k]];
                }
                env.hosts[0] = env.params[static_cast<std::size_t>(Param::host)];
                if (!(abstract.value(row.guard, s, env) & kTrue)) {
                    continue;
                }
                std::vector<Branch> branches{Branch{s, {}, false}};
                runner.run(0, row.effect.stmts.size(), branches, env);
                for (const Branch& b : branches) {
                    for (int h = 0; h < 2; ++h) {
                        for (int k = 0; k < kNodes; ++k) {
                            const auto hh = static_cast<std::size_t>(h);
                            const auto kk = static_cast<std::size_t>(k);
                            if (s.node[hh][kk] != b.s.node[hh][kk]) {
                                changes.emplace(s.node[hh][kk], b.s.node[hh][kk], r, b.via[hh][kk]);
                            }
                        }
                    }
                    if (seen.insert(b.s).second) {
                        work.push_back(b.s);
                    }
                }
            } while (next_combination(at, domains));
        }
    }
    std::vector<NodeStateChange> out;
    for (const auto& [from, to, r, via] : changes) {
        out.push_back(
            {static_cast<NodeState>(from), static_cast<NodeState>(to), table.rows[r].name, via});
    }
    return out;
}

} // namespace handoff::model
