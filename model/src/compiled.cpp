#include "compiled.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace handoff::model::detail {

namespace {

constexpr int kMaxNesting = 16; // If/Else depth of an effect the fast path runs

[[noreturn]] void node_out_of_range() {
    throw std::logic_error("node index out of range in a variable reference");
}

int nesting_of(const Effect& effect) {
    int depth = 0;
    int most = 0;
    for (const Stmt& st : effect.stmts) {
        if (st.kind == StmtKind::If) {
            most = std::max(most, ++depth);
        } else if (st.kind == StmtKind::EndIf) {
            --depth;
        }
    }
    return most;
}

} // namespace

CompiledTable::CompiledTable(const TableData& table, const Layout& layout, const BlockGraph& graph)
    : table_(table), layout_(layout), graph_(graph), node_count_(layout.nodes()) {
    rows_.reserve(table.rows.size());
    for (const RowData& row : table.rows) {
        rows_.push_back({compile_row(table, row, 0), compile_row(table, row, 1)});
    }
    for (const InvariantData& inv : all_invariants()) {
        Bindings b;
        invariants_.push_back(inv.expr < 0 ? -1 : specialise(invariants_ast(), inv.expr, b));
    }
    for (auto& memo : memo_) {
        memo = {};
    }
    for (auto& reads : reads_) {
        reads = {};
    }
    constants_ = {};
}

std::int32_t CompiledTable::invariant(const InvariantData& inv) const {
    const auto& all = all_invariants();
    if (all.empty() || &inv < all.data() || &inv >= all.data() + all.size()) {
        return -1;
    }
    return invariants_[static_cast<std::size_t>(&inv - all.data())];
}

std::int32_t CompiledTable::add(const CodeNode& n) {
    nodes_.push_back(n);
    return static_cast<std::int32_t>(nodes_.size()) - 1;
}

bool CompiledTable::is_boolean(std::int32_t c) const {
    const CodeNode& n = nodes_[static_cast<std::size_t>(c)];
    switch (n.code) {
    case Code::Const:
        return n.a == 0 || n.a == 1;
    case Code::SlotEq:
    case Code::SlotNe:
    case Code::Not:
    case Code::And:
    case Code::Or:
    case Code::Eq:
    case Code::Ne:
    case Code::Lt:
    case Code::Le:
    case Code::RunstateOk:
    case Code::NodeRel:
        return true;
    default:
        return false;
    }
}

// `c` as the general evaluator's && and || see an operand: 0 or 1.
std::int32_t CompiledTable::boolean(std::int32_t c) {
    if (is_boolean(c)) {
        return c;
    }
    if (is_const(c)) {
        return konst(value_of(c) != 0 ? 1 : 0);
    }
    const std::int32_t zero = konst(0);
    return add({Code::Ne, 0, 0, {c, zero, -1}});
}

std::int32_t CompiledTable::slot_or_var(Var v, std::int32_t host, std::int32_t node) {
    const bool known = (host < 0 || is_const(host)) && (node < 0 || is_const(node));
    if (known) {
        const int h = host < 0 ? 0 : value_of(host);
        const int n = node < 0 ? 0 : value_of(node);
        if (node >= 0 && n >= node_count_) {
            return add({Code::OutOfRange});
        }
        return add({Code::Slot, layout_.offset(v, h, n)});
    }
    const Scope scope = var_info(v).scope;
    const int stride = scope == Scope::Global ? 0 : scope == Scope::PerHost ? 1 : node_count_;
    return add({Code::VarAt,
                layout_.offset(v, 0, 0),
                stride,
                {host, node, scope == Scope::PerNode ? 1 : 0}});
}

std::int32_t CompiledTable::konst(int value) {
    const auto it = constants_.find(value);
    if (it != constants_.end()) {
        return it->second;
    }
    const std::int32_t code = add({Code::Const, value});
    constants_.emplace(value, code);
    return code;
}

std::uint8_t CompiledTable::reads_of(const Ast& ast, int expr) {
    auto& reads = reads_[&ast == &invariants_ast() ? 1 : 0];
    if (reads.size() < ast.nodes.size()) {
        reads.resize(ast.nodes.size(), -1);
    }
    if (reads[static_cast<std::size_t>(expr)] >= 0) {
        return static_cast<std::uint8_t>(reads[static_cast<std::size_t>(expr)]);
    }
    const AstNode& e = ast[expr];
    std::uint8_t mask = 0;
    for (int k : e.kid) {
        if (k >= 0) {
            mask |= reads_of(ast, k);
        }
    }
    if (e.op == Op::Bound) {
        mask |= static_cast<std::uint8_t>(1U << ((e.sort == Sort::Host ? 0 : 2) + e.a));
    } else if (e.op == Op::Param && e.a == static_cast<int>(Param::host)) {
        mask |= 1U << 4;
    } else if (e.op == Op::Forall || e.op == Op::Exists) {
        // The quantifier binds its slot: the body's reads of it are not the expression's.
        mask &= static_cast<std::uint8_t>(~(1U << ((e.bound_sort == Sort::Host ? 0 : 2) + e.a)));
    }
    reads[static_cast<std::size_t>(expr)] = static_cast<std::int8_t>(mask);
    return mask;
}

std::int32_t CompiledTable::specialise(const Ast& ast, int expr, Bindings& b) {
    // Keyed by the bindings the expression reads, each below 32 (at most 16 nodes, the none
    // node, two hosts); the others are 0 in the key.
    const std::uint8_t reads = reads_of(ast, expr);
    auto bound = [&](int bit, int value) {
        return (reads & (1U << bit)) != 0 ? static_cast<std::uint64_t>(value) : 0;
    };
    const std::uint64_t key = static_cast<std::uint64_t>(expr) << 30 | bound(0, b.hosts[0]) << 24 |
                              bound(1, b.hosts[1]) << 18 | bound(2, b.nodes[0]) << 12 |
                              bound(3, b.nodes[1]) << 6 | bound(4, b.host_param + 1);
    auto& memo = memo_[&ast == &invariants_ast() ? 1 : 0];
    if (const auto it = memo.find(key); it != memo.end()) {
        return it->second;
    }
    const std::int32_t code = specialise_uncached(ast, expr, b);
    memo.emplace(key, code);
    return code;
}

std::int32_t CompiledTable::specialise_uncached(const Ast& ast, int expr, Bindings& b) {
    const AstNode& e = ast[expr];
    auto kid = [&](int k) { return specialise(ast, e.kid[k], b); };
    auto make_and = [&](std::int32_t l, std::int32_t r) {
        if (is_const(l)) {
            return value_of(l) != 0 ? boolean(r) : konst(0);
        }
        if (is_const(r) && value_of(r) != 0) {
            return boolean(l);
        }
        return add({Code::And, 0, 0, {l, r, -1}});
    };
    auto make_or = [&](std::int32_t l, std::int32_t r) {
        if (is_const(l)) {
            return value_of(l) != 0 ? konst(1) : boolean(r);
        }
        if (is_const(r) && value_of(r) == 0) {
            return boolean(l);
        }
        return add({Code::Or, 0, 0, {l, r, -1}});
    };
    auto make_not = [&](std::int32_t k) {
        return is_const(k) ? konst(value_of(k) == 0 ? 1 : 0) : add({Code::Not, 0, 0, {k, -1, -1}});
    };
    switch (e.op) {
    case Op::Lit:
        return konst(e.a);
    case Op::Var:
        return slot_or_var(static_cast<Var>(e.a), e.kid[0] < 0 ? -1 : kid(0),
                           e.kid[1] < 0 ? -1 : kid(1));
    case Op::Param:
        if (e.a == static_cast<int>(Param::host) && b.host_param >= 0) {
            return konst(b.host_param);
        }
        return add({Code::Param, e.a});
    case Op::Bound:
        return konst(e.sort == Sort::Host ? b.hosts[static_cast<std::size_t>(e.a)]
                                          : b.nodes[static_cast<std::size_t>(e.a)]);
    case Op::Peer: {
        const std::int32_t k = kid(0);
        return is_const(k) ? konst(1 - value_of(k)) : add({Code::Peer, 0, 0, {k, -1, -1}});
    }
    case Op::NoneNode:
        return konst(node_count_);
    case Op::Not:
        return make_not(kid(0));
    case Op::And: {
        const std::int32_t l = kid(0);
        return make_and(l, kid(1));
    }
    case Op::Or: {
        const std::int32_t l = kid(0);
        return make_or(l, kid(1));
    }
    case Op::Implies: {
        const std::int32_t l = make_not(kid(0));
        return make_or(l, kid(1));
    }
    case Op::Eq:
    case Op::Ne:
    case Op::Lt:
    case Op::Le: {
        std::int32_t l = kid(0);
        std::int32_t r = kid(1);
        if (is_const(l) && is_const(r)) {
            const int x = value_of(l);
            const int y = value_of(r);
            switch (e.op) {
            case Op::Eq:
                return konst(x == y);
            case Op::Ne:
                return konst(x != y);
            case Op::Lt:
                return konst(x < y);
            default:
                return konst(x <= y);
            }
        }
        if ((e.op == Op::Eq || e.op == Op::Ne) && is_const(l)) {
            std::swap(l, r);
        }
        if ((e.op == Op::Eq || e.op == Op::Ne) && is_const(r) &&
            nodes_[static_cast<std::size_t>(l)].code == Code::Slot) {
            return add({e.op == Op::Eq ? Code::SlotEq : Code::SlotNe,
                        nodes_[static_cast<std::size_t>(l)].a, value_of(r)});
        }
        const Code code = e.op == Op::Eq   ? Code::Eq
                          : e.op == Op::Ne ? Code::Ne
                          : e.op == Op::Lt ? Code::Lt
                                           : Code::Le;
        return add({code, 0, 0, {l, r, -1}});
    }
    case Op::Ite: {
        const std::int32_t c = kid(0);
        if (is_const(c)) {
            return value_of(c) != 0 ? kid(1) : kid(2);
        }
        const std::int32_t t = kid(1);
        const std::int32_t f = kid(2);
        return add({Code::Ite, 0, 0, {c, t, f}});
    }
    case Op::Forall:
    case Op::Exists: {
        // Unrolled: body(0) && body(1) && ... (or ||), in the order the general evaluator
        // visits the values, stopping where the result is already decided.
        const bool forall = e.op == Op::Forall;
        const bool hosts = e.bound_sort == Sort::Host;
        int& slot =
            hosts ? b.hosts[static_cast<std::size_t>(e.a)] : b.nodes[static_cast<std::size_t>(e.a)];
        const int saved = slot;
        const int count = hosts ? 2 : node_count_;
        std::int32_t acc = konst(forall ? 1 : 0);
        for (int i = 0; i < count; ++i) {
            slot = i;
            const std::int32_t body = kid(0);
            acc = forall ? make_and(acc, body) : make_or(acc, body);
            if (is_const(acc) && (value_of(acc) != 0) != forall) {
                break;
            }
        }
        slot = saved;
        return acc;
    }
    case Op::Named:
        return kid(0);
    case Op::RunstateOk: {
        const std::int32_t from = kid(0);
        const std::int32_t to = kid(1);
        if (is_const(from) && is_const(to)) {
            const int f = value_of(from);
            const int t = value_of(to);
            const int unset = static_cast<int>(RunState::UNSET);
            return konst(
                f != unset && t != unset &&
                (f == t ||
                 table_.runstate[static_cast<std::size_t>(f)][static_cast<std::size_t>(t)]));
        }
        return add({Code::RunstateOk, 0, 0, {from, to, -1}});
    }
    case Op::NodeRel: {
        const std::int32_t x = kid(0);
        const std::int32_t y = e.kid[1] < 0 ? -1 : kid(1);
        if (is_const(x) && (y < 0 || is_const(y))) {
            return konst(
                graph_.holds(static_cast<NodeRelation>(e.a), value_of(x), y < 0 ? 0 : value_of(y)));
        }
        return add({Code::NodeRel, e.a, 0, {x, y, -1}});
    }
    }
    throw std::logic_error("unknown expression operator");
}

CodeRow CompiledTable::compile_row(const TableData& table, const RowData& row, int host) {
    CodeRow out;
    if (nesting_of(row.effect) > kMaxNesting) {
        return out;
    }
    // As Interpreter::apply() sees a step: the row's host in the host parameter and in the first
    // host slot, every other binding 0.
    Bindings b;
    b.hosts[0] = host;
    b.host_param = host;
    out.guard = specialise(table.ast, row.guard, b);
    out.never = is_const(out.guard) && value_of(out.guard) == 0;
    collect_byte_tests(out.guard, out.byte_tests);
    out.residual = without_byte_tests(out.guard);
    for (const Stmt& st : row.effect.stmts) {
        CodeStmt cs;
        cs.kind = st.kind;
        cs.reason = st.reason;
        switch (st.kind) {
        case StmtKind::Assign: {
            const std::int32_t h = st.host < 0 ? konst(0) : specialise(table.ast, st.host, b);
            if (!is_const(h)) {
                return out; // the general path
            }
            cs.target = layout_.offset(st.var, value_of(h), 0);
            cs.value = specialise(table.ast, st.value, b);
            break;
        }
        case StmtKind::AssignNodes: {
            const std::int32_t h = specialise(table.ast, st.host, b);
            if (!is_const(h)) {
                return out;
            }
            cs.nodes_base = layout_.offset(Var::node, value_of(h), 0);
            int& slot = b.nodes[static_cast<std::size_t>(st.node_slot)];
            const int saved = slot;
            for (int i = 0; i < node_count_; ++i) {
                slot = i;
                cs.per_node.push_back(specialise(table.ast, st.value, b));
            }
            slot = saved;
            break;
        }
        case StmtKind::Assert:
        case StmtKind::Assume:
        case StmtKind::If:
            cs.value = specialise(table.ast, st.value, b);
            break;
        case StmtKind::Else:
        case StmtKind::EndIf:
            break;
        }
        out.stmts.push_back(std::move(cs));
    }
    out.compiled = true;
    return out;
}

void CompiledTable::collect_byte_tests(std::int32_t code, std::vector<ByteTest>& out) const {
    const CodeNode& n = nodes_[static_cast<std::size_t>(code)];
    if (n.code == Code::And) {
        collect_byte_tests(n.kid[0], out);
        collect_byte_tests(n.kid[1], out);
    } else if ((n.code == Code::SlotEq || n.code == Code::SlotNe) && n.b >= 0 && n.b < 256) {
        out.push_back({n.a, static_cast<std::uint8_t>(n.b), n.code == Code::SlotEq});
    }
}

std::int32_t CompiledTable::without_byte_tests(std::int32_t code) {
    const CodeNode n = nodes_[static_cast<std::size_t>(code)];
    if (n.code == Code::And) {
        const std::int32_t l = without_byte_tests(n.kid[0]);
        const std::int32_t r = without_byte_tests(n.kid[1]);
        if (is_const(l) && value_of(l) != 0) {
            return boolean(r);
        }
        if (is_const(r) && value_of(r) != 0) {
            return boolean(l);
        }
        return add({Code::And, 0, 0, {l, r, -1}});
    }
    if ((n.code == Code::SlotEq || n.code == Code::SlotNe) && n.b >= 0 && n.b < 256) {
        return konst(1);
    }
    return code;
}

int CompiledTable::eval(std::int32_t code, const char* s, const int* params) const {
    const CodeNode& n = nodes_[static_cast<std::size_t>(code)];
    auto kid = [&](int k) { return eval(n.kid[k], s, params); };
    switch (n.code) {
    case Code::Const:
        return n.a;
    case Code::Slot:
        return static_cast<unsigned char>(s[n.a]);
    case Code::SlotEq:
        return static_cast<unsigned char>(s[n.a]) == n.b;
    case Code::SlotNe:
        return static_cast<unsigned char>(s[n.a]) != n.b;
    case Code::Param:
        return params[n.a];
    case Code::VarAt: {
        const int host = n.kid[0] < 0 ? 0 : kid(0);
        const int node = n.kid[1] < 0 ? 0 : kid(1);
        if (n.kid[1] >= 0 && node >= node_count_) {
            node_out_of_range();
        }
        return static_cast<unsigned char>(s[n.a + host * n.b + (n.kid[2] != 0 ? node : 0)]);
    }
    case Code::Peer:
        return 1 - kid(0);
    case Code::Not:
        return !kid(0);
    case Code::And:
        return kid(0) && kid(1);
    case Code::Or:
        return kid(0) || kid(1);
    case Code::Eq:
        return kid(0) == kid(1);
    case Code::Ne:
        return kid(0) != kid(1);
    case Code::Lt:
        return kid(0) < kid(1);
    case Code::Le:
        return kid(0) <= kid(1);
    case Code::Ite:
        return kid(0) ? kid(1) : kid(2);
    case Code::RunstateOk: {
        const int from = kid(0);
        const int to = kid(1);
        if (to == static_cast<int>(RunState::UNSET) || from == static_cast<int>(RunState::UNSET)) {
            return 0;
        }
        return from == to ||
               table_.runstate[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)];
    }
    case Code::NodeRel:
        return graph_.holds(static_cast<NodeRelation>(n.a), kid(0), n.kid[1] < 0 ? 0 : kid(1));
    case Code::OutOfRange:
        node_out_of_range();
    }
    throw std::logic_error("unknown compiled expression");
}

bool CompiledTable::run(const CodeRow& row, std::string& next, const int* params, int host) const {
    struct Frame {
        bool outer_runs;
        bool cond;
        bool in_else;
    };
    std::array<Frame, kMaxNesting> frames{};
    int depth = 0;
    auto runs = [&] {
        if (depth == 0) {
            return true;
        }
        const Frame& f = frames[static_cast<std::size_t>(depth - 1)];
        return f.outer_runs && f.cond != f.in_else;
    };
    int values[16];
    for (const CodeStmt& st : row.stmts) {
        switch (st.kind) {
        case StmtKind::If: {
            const bool outer = runs();
            frames[static_cast<std::size_t>(depth++)] = {
                outer, outer && eval(st.value, next.data(), params) != 0, false};
            continue;
        }
        case StmtKind::Else:
            frames[static_cast<std::size_t>(depth - 1)].in_else = true;
            continue;
        case StmtKind::EndIf:
            --depth;
            continue;
        default:
            break;
        }
        if (!runs()) {
            continue;
        }
        switch (st.kind) {
        case StmtKind::Assign:
            next[static_cast<std::size_t>(st.target)] =
                static_cast<char>(eval(st.value, next.data(), params));
            break;
        case StmtKind::AssignNodes:
            for (std::size_t i = 0; i < st.per_node.size(); ++i) {
                values[i] = eval(st.per_node[i], next.data(), params);
            }
            for (std::size_t i = 0; i < st.per_node.size(); ++i) {
                next[static_cast<std::size_t>(st.nodes_base) + i] = static_cast<char>(values[i]);
            }
            break;
        case StmtKind::Assert:
            if (!eval(st.value, next.data(), params)) {
                next[static_cast<std::size_t>(layout_.offset(Var::crash))] =
                    static_cast<char>(st.reason);
                next[static_cast<std::size_t>(layout_.offset(Var::crash_host))] =
                    static_cast<char>(host);
                return true;
            }
            break;
        case StmtKind::Assume:
            if (!eval(st.value, next.data(), params)) {
                return false;
            }
            break;
        default:
            break;
        }
    }
    return true;
}

} // namespace handoff::model::detail
