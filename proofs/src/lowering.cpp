#include "handoff/proofs/lowering.hpp"

#include <map>
#include <optional>
#include <set>
#include <stdexcept>

namespace handoff::proofs {

using namespace handoff::model;

namespace {

// A Boolean with a known value folded eagerly, so that quantifiers expanded over the instance and
// parameters a row does not declare leave no trace in the formula.
struct B {
    std::optional<bool> known;
    std::optional<z3::expr> term;
};

B bconst(bool v) {
    return B{v, std::nullopt};
}
B bterm(const z3::expr& e) {
    if (e.is_true()) {
        return bconst(true);
    }
    if (e.is_false()) {
        return bconst(false);
    }
    return B{std::nullopt, e};
}

// A value: a Boolean, or, for a finite domain, one predicate per value ("is v").
struct SVal {
    bool boolean = false;
    B b;
    std::vector<B> is;
    int origin = -1; // the pre-state slot this value is, unchanged, or -1
};

class Symbolic {
  public:
    Symbolic(z3::context& ctx, const Ast& ast, const TableData& table, const Layout& layout,
             const BlockGraph& graph)
        : ctx_(ctx), ast_(ast), table_(table), layout_(layout), graph_(graph) {}

    // The current value of every slot, the row's parameters and the bound variables.
    std::vector<SVal> state;
    std::array<SVal, kParamCount> params{};
    std::array<int, 2> hosts{};
    std::array<int, 2> nodes{};

    z3::expr z(const B& b) const { return b.known ? ctx_.bool_val(*b.known) : *b.term; }
    z3::expr z(const SVal& v) const { return z(v.b); }

    B not_(const B& a) const { return a.known ? bconst(!*a.known) : bterm(!*a.term); }
    B and_(const B& a, const B& b) const {
        if (a.known) {
            return *a.known ? b : a;
        }
        if (b.known) {
            return *b.known ? a : b;
        }
        return bterm(*a.term && *b.term);
    }
    B or_(const B& a, const B& b) const {
        if (a.known) {
            return *a.known ? a : b;
        }
        if (b.known) {
            return *b.known ? b : a;
        }
        return bterm(*a.term || *b.term);
    }
    B ite(const B& c, const B& t, const B& f) const {
        if (c.known) {
            return *c.known ? t : f;
        }
        if (t.known && f.known) {
            return *t.known == *f.known ? t : (*t.known ? c : not_(c));
        }
        if (!t.known && !f.known && z3::eq(*t.term, *f.term)) {
            return t;
        }
        return bterm(z3::ite(*c.term, z(t), z(f)));
    }

    static SVal boolean(const B& b) { return SVal{true, b, {}, -1}; }
    static SVal constant(int c, int values) {
        SVal v;
        for (int i = 0; i < values; ++i) {
            v.is.push_back(bconst(i == c));
        }
        return v;
    }
    SVal flag(int c) const { return boolean(bconst(c != 0)); }

    B truth(const SVal& v, int at) const {
        if (!v.boolean) {
            throw std::logic_error("lowering: expression " + std::to_string(at) + " (operator " +
                                   std::to_string(static_cast<int>(ast_[at].op)) +
                                   ") is not a Boolean");
        }
        return v.b;
    }

    B eq(const SVal& a, const SVal& b) const {
        if (a.origin >= 0 && a.origin == b.origin) {
            return bconst(true);
        }
        if (a.boolean) {
            if (a.b.known) {
                return *a.b.known ? b.b : not_(b.b);
            }
            if (b.b.known) {
                return *b.b.known ? a.b : not_(a.b);
            }
            return bterm(*a.b.term == *b.b.term);
        }
        B r = bconst(false);
        for (std::size_t v = 0; v < std::min(a.is.size(), b.is.size()); ++v) {
            r = or_(r, and_(a.is[v], b.is[v]));
        }
        return r;
    }
    B less(const SVal& a, const SVal& b, bool or_equal) const {
        B r = bconst(false);
        for (std::size_t u = 0; u < a.is.size(); ++u) {
            for (std::size_t v = or_equal ? u : u + 1; v < b.is.size(); ++v) {
                r = or_(r, and_(a.is[u], b.is[v]));
            }
        }
        return r;
    }
    SVal ite(const B& c, const SVal& t, const SVal& f) const {
        if (c.known) {
            return *c.known ? t : f;
        }
        if (t.origin >= 0 && t.origin == f.origin) {
            return t;
        }
        if (t.boolean) {
            return boolean(ite(c, t.b, f.b));
        }
        SVal r;
        for (std::size_t v = 0; v < std::max(t.is.size(), f.is.size()); ++v) {
            r.is.push_back(ite(c, v < t.is.size() ? t.is[v] : bconst(false),
                               v < f.is.size() ? f.is[v] : bconst(false)));
        }
        return r;
    }

    SVal read(Var var, const SVal& host, const SVal& node) const {
        std::optional<SVal> result;
        std::optional<B> any;
        for (int h = 0; h < 2; ++h) {
            for (int n = 0; n < layout_.nodes(); ++n) {
                const B at = and_(host.is[static_cast<std::size_t>(h)],
                                  node.is[static_cast<std::size_t>(n)]);
                if (at.known && !*at.known) {
                    continue;
                }
                const SVal& v = state[static_cast<std::size_t>(layout_.offset(var, h, n))];
                if (at.known) { // the index is known: the slot itself
                    return v;
                }
                result = result ? ite(at, v, *result) : v;
            }
        }
        if (!result) {
            throw std::logic_error("node index out of range in a variable reference");
        }
        return *result;
    }

    void write(Var var, const SVal& host, int node, const B& guard, const SVal& value) {
        for (int h = 0; h < 2; ++h) {
            const B g = and_(guard, host.is[static_cast<std::size_t>(h)]);
            if (g.known && !*g.known) {
                continue;
            }
            SVal& slot = state[static_cast<std::size_t>(layout_.offset(var, h, node))];
            slot = ite(g, value, slot);
        }
    }

    B runstate_ok(const SVal& from, const SVal& to) const {
        B result = bconst(false);
        const int unset = static_cast<int>(RunState::UNSET);
        for (int a = 0; a < 8; ++a) {
            for (int b = 0; b < 8; ++b) {
                const bool allowed =
                    a != unset && b != unset &&
                    (a == b ||
                     table_.runstate[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)]);
                if (allowed) {
                    result = or_(result, and_(from.is[static_cast<std::size_t>(a)],
                                              to.is[static_cast<std::size_t>(b)]));
                }
            }
        }
        return result;
    }

    int node_values() const { return layout_.nodes() + 1; }

    SVal eval(int i) {
        SVal v = eval_(i);
        if (v.boolean ? !v.b.known && !v.b.term : v.is.empty()) {
            throw std::logic_error("lowering: expression " + std::to_string(i) + " (operator " +
                                   std::to_string(static_cast<int>(ast_[i].op)) + ") has no value");
        }
        return v;
    }

    SVal eval_(int i) {
        const AstNode& e = ast_[i];
        switch (e.op) {
        case Op::Lit:
            if (e.domain == DomainId::Bool) {
                return flag(e.a);
            }
            return constant(e.a, domain_size(e.domain));
        case Op::Var: {
            const SVal host = e.kid[0] < 0 ? constant(0, 2) : eval(e.kid[0]);
            const SVal node = e.kid[1] < 0 ? constant(0, node_values()) : eval(e.kid[1]);
            return read(static_cast<Var>(e.a), host, node);
        }
        case Op::Param:
            return params[static_cast<std::size_t>(e.a)];
        case Op::Bound:
            return e.sort == Sort::Host
                       ? constant(hosts[static_cast<std::size_t>(e.a)], 2)
                       : constant(nodes[static_cast<std::size_t>(e.a)], node_values());
        case Op::Peer: {
            SVal h = eval(e.kid[0]);
            std::swap(h.is[0], h.is[1]);
            h.origin = -1;
            return h;
        }
        case Op::NoneNode:
            return constant(layout_.nodes(), node_values());
        case Op::Not:
            return boolean(not_(truth(eval(e.kid[0]), e.kid[0])));
        case Op::And: {
            const B a = truth(eval(e.kid[0]), e.kid[0]);
            if (a.known && !*a.known) {
                return boolean(a);
            }
            return boolean(and_(a, truth(eval(e.kid[1]), e.kid[1])));
        }
        case Op::Or: {
            const B a = truth(eval(e.kid[0]), e.kid[0]);
            if (a.known && *a.known) {
                return boolean(a);
            }
            return boolean(or_(a, truth(eval(e.kid[1]), e.kid[1])));
        }
        case Op::Implies: {
            const B a = truth(eval(e.kid[0]), e.kid[0]);
            if (a.known && !*a.known) {
                return flag(1);
            }
            return boolean(or_(not_(a), truth(eval(e.kid[1]), e.kid[1])));
        }
        case Op::Eq:
            return boolean(eq(eval(e.kid[0]), eval(e.kid[1])));
        case Op::Ne:
            return boolean(not_(eq(eval(e.kid[0]), eval(e.kid[1]))));
        case Op::Lt:
            return boolean(less(eval(e.kid[0]), eval(e.kid[1]), false));
        case Op::Le:
            return boolean(less(eval(e.kid[0]), eval(e.kid[1]), true));
        case Op::Ite: {
            const B c = truth(eval(e.kid[0]), e.kid[0]);
            if (c.known) {
                return *c.known ? eval(e.kid[1]) : eval(e.kid[2]);
            }
            return ite(c, eval(e.kid[1]), eval(e.kid[2]));
        }
        case Op::Forall:
        case Op::Exists: {
            const bool forall = e.op == Op::Forall;
            const bool over_hosts = e.bound_sort == Sort::Host;
            int& slot = over_hosts ? hosts[static_cast<std::size_t>(e.a)]
                                   : nodes[static_cast<std::size_t>(e.a)];
            const int saved = slot;
            const int count = over_hosts ? 2 : layout_.nodes();
            B result = bconst(forall);
            for (int k = 0; k < count; ++k) {
                slot = k;
                const B body = truth(eval(e.kid[0]), e.kid[0]);
                result = forall ? and_(result, body) : or_(result, body);
                if (result.known && *result.known != forall) {
                    break;
                }
            }
            slot = saved;
            return boolean(result);
        }
        case Op::Named:
            return eval(e.kid[0]);
        case Op::RunstateOk:
            return boolean(runstate_ok(eval(e.kid[0]), eval(e.kid[1])));
        case Op::NodeRel: {
            // A static relation: a disjunction over the index pairs it holds for (constants when
            // the indices are bound variables, as inside a quantifier).
            const auto relation = static_cast<NodeRelation>(e.a);
            const SVal x = eval(e.kid[0]);
            const SVal y = e.kid[1] < 0 ? constant(0, 1) : eval(e.kid[1]);
            B r = bconst(false);
            for (std::size_t u = 0; u < x.is.size(); ++u) {
                for (std::size_t v = 0; v < y.is.size(); ++v) {
                    if (graph_.holds(relation, static_cast<int>(u), static_cast<int>(v))) {
                        r = or_(r, and_(x.is[u], y.is[v]));
                    }
                }
            }
            return boolean(r);
        }
        }
        throw std::logic_error("unknown expression operator");
    }

    // Runs a row's statements symbolically on `state`; returns the conjunction of its assumptions
    // (each under the path condition that reaches it).
    B run_effect(const RowData& row) {
        struct Frame {
            B outer;
            B cond;
            bool in_else;
        };
        std::vector<Frame> frames;
        B live = bconst(true); // no assertion of this step has failed so far
        B assumptions = bconst(true);
        auto path = [&] {
            if (frames.empty()) {
                return bconst(true);
            }
            const Frame& f = frames.back();
            return and_(f.outer, f.in_else ? not_(f.cond) : f.cond);
        };
        for (const Stmt& st : row.effect.stmts) {
            switch (st.kind) {
            case StmtKind::If: {
                const B outer = path();
                frames.push_back({outer, truth(eval(st.value), st.value), false});
                break;
            }
            case StmtKind::Else:
                frames.back().in_else = true;
                break;
            case StmtKind::EndIf:
                frames.pop_back();
                break;
            case StmtKind::Assign: {
                const B guard = and_(path(), live);
                const SVal host = st.host < 0 ? constant(0, 2) : eval(st.host);
                const SVal value = eval(st.value);
                write(st.var, host, 0, guard, value);
                break;
            }
            case StmtKind::AssignNodes: {
                const B guard = and_(path(), live);
                const SVal host = eval(st.host);
                int& slot = nodes[static_cast<std::size_t>(st.node_slot)];
                const int saved = slot;
                std::vector<SVal> values;
                for (int k = 0; k < layout_.nodes(); ++k) {
                    slot = k;
                    values.push_back(eval(st.value));
                }
                slot = saved;
                for (int k = 0; k < layout_.nodes(); ++k) {
                    write(Var::node, host, k, guard, values[static_cast<std::size_t>(k)]);
                }
                break;
            }
            case StmtKind::Assert: {
                const B fails = and_(and_(path(), live), not_(truth(eval(st.value), st.value)));
                write(Var::crash, constant(0, 2), 0, fails,
                      constant(static_cast<int>(st.reason), domain_size(DomainId::Crash)));
                write(Var::crash_host, constant(0, 2), 0, fails, constant(hosts[0], 2));
                live = and_(live, not_(fails));
                break;
            }
            case StmtKind::Assume: {
                const B reached = and_(path(), live);
                assumptions =
                    and_(assumptions, or_(not_(reached), truth(eval(st.value), st.value)));
                break;
            }
            }
        }
        return assumptions;
    }

  private:
    z3::context& ctx_;
    const Ast& ast_;
    const TableData& table_;
    const Layout& layout_;
    const BlockGraph& graph_;
};

// The predicates "is v" of a binary code.
std::vector<B> decode(const z3::expr_vector& bits, const Lowering::Code& c) {
    std::vector<B> is;
    for (int v = 0; v < c.values; ++v) {
        std::optional<z3::expr> cube;
        for (int j = 0; j < c.width; ++j) {
            const z3::expr bit = bits[static_cast<unsigned>(c.first + j)];
            const z3::expr lit = (v >> j) & 1 ? bit : !bit;
            cube = cube ? *cube && lit : lit;
        }
        is.push_back(bterm(*cube));
    }
    return is;
}

SVal value_of_code(const z3::expr_vector& bits, const Lowering::Code& c, int origin) {
    SVal v;
    if (c.boolean) {
        v = Symbolic::boolean(bterm(bits[static_cast<unsigned>(c.first)]));
    } else {
        v.is = decode(bits, c);
    }
    v.origin = origin;
    return v;
}

int width_for(int values) {
    int w = 1;
    while ((1 << w) < values) {
        ++w;
    }
    return w;
}

bool has_param(const RowData& row, Param p) {
    for (Param q : row.params) {
        if (q == p) {
            return true;
        }
    }
    return false;
}

} // namespace

Lowering::Lowering(z3::context& ctx, const TableData& table, const Instance& instance)
    : ctx_(ctx), table_(table),
      interp_(table, instance), cur_{z3::expr_vector(ctx)}, step_{z3::expr_vector(ctx)},
      template_vars_(ctx), trans_guard_(ctx), step_guard_(ctx), next_function_(ctx),
      action_guard_(ctx), init_template_(ctx), domain_template_(ctx) {
    const Layout& layout = interp_.layout();
    slot_var_.resize(static_cast<std::size_t>(layout.size()));
    for (int v = 0; v < kVarCount; ++v) {
        const Var var = static_cast<Var>(v);
        const int hosts = var_info(var).scope == Scope::Global ? 1 : 2;
        const int nodes = var_info(var).scope == Scope::PerNode ? layout.nodes() : 1;
        for (int h = 0; h < hosts; ++h) {
            for (int n = 0; n < nodes; ++n) {
                slot_var_[static_cast<std::size_t>(layout.offset(var, h, n))] = var;
            }
        }
    }
    for (Var var : slot_var_) {
        const DomainId d = var_info(var).domain;
        Code c;
        c.first = state_bits_;
        c.boolean = d == DomainId::Bool;
        c.values = domain_size(d);
        c.width = c.boolean ? 1 : width_for(c.values);
        state_bits_ += c.width;
        slot_code_.push_back(c);
    }
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        const bool per_host = has_param(table.rows[r], Param::host);
        for (int h = 0; h < (per_host ? 2 : 1); ++h) {
            actions_.push_back({static_cast<int>(r), h});
        }
    }
    act_code_ = Code{0, width_for(static_cast<int>(actions_.size())),
                     static_cast<int>(actions_.size()), false};
    step_bits_ = act_code_.width;
    for (int p = 0; p < kParamCount; ++p) {
        Code c;
        c.first = step_bits_;
        switch (param_info(static_cast<Param>(p)).kind) {
        case ParamKind::Host:
            c = Code{step_bits_, 1, 2, false};
            break;
        case ParamKind::NodeOrNone:
        case ParamKind::Node: // coded over 0..N like every node index; the domain excludes N
            c = Code{step_bits_, width_for(layout.nodes() + 1), layout.nodes() + 1, false};
            break;
        case ParamKind::Flag:
            c = Code{step_bits_, 1, 2, true};
            break;
        }
        step_bits_ += c.width;
        param_code_.push_back(c);
    }

    cur_ = make_state("");
    step_ = make_step("");
    const StateVars nxt = make_state("'");
    for (const auto& e : cur_.bits) {
        template_vars_.push_back(e);
    }
    for (const auto& e : step_.bits) {
        template_vars_.push_back(e);
    }
    for (const auto& e : nxt.bits) {
        template_vars_.push_back(e);
    }

    // Symbolic execution of every action over the template state.
    const int slots = slot_count();
    Symbolic sym(ctx, table.ast, table, layout, interp_.graph());
    std::vector<SVal> pre;
    for (int i = 0; i < slots; ++i) {
        pre.push_back(value_of_code(cur_.bits, slot_code(i), i));
    }
    std::vector<SVal> param_values;
    for (int p = 0; p < kParamCount; ++p) {
        param_values.push_back(
            value_of_code(step_.bits, param_code_[static_cast<std::size_t>(p)], -1));
    }
    const B no_crash =
        sym.eq(pre[static_cast<std::size_t>(layout.offset(Var::crash))],
               Symbolic::constant(static_cast<int>(Crash::NONE), domain_size(DomainId::Crash)));
    // Per slot, the actions that change it and the new value's bits.
    std::vector<std::vector<std::pair<int, std::vector<z3::expr>>>> writes(
        static_cast<std::size_t>(slots));
    z3::expr_vector guards(ctx);
    // Which slots each action may read (in its guard, assumptions and new values) and write: two
    // actions that touch disjoint slots, apart from what both only read, commute.
    std::map<unsigned, int> slot_of_bit; // Z3 AST id of a current-state bit -> slot
    for (int i = 0; i < slots; ++i) {
        for (int j = 0; j < slot_code(i).width; ++j) {
            slot_of_bit[Z3_get_ast_id(
                ctx, cur_.bits[static_cast<unsigned>(slot_code(i).first + j)])] = i;
        }
    }
    auto slots_in = [&](const std::vector<z3::expr>& roots) {
        std::set<int> found;
        std::set<unsigned> seen;
        std::vector<z3::expr> todo(roots);
        while (!todo.empty()) {
            const z3::expr e = todo.back();
            todo.pop_back();
            if (!seen.insert(Z3_get_ast_id(ctx, e)).second) {
                continue;
            }
            if (e.is_const()) {
                if (auto it = slot_of_bit.find(Z3_get_ast_id(ctx, e)); it != slot_of_bit.end()) {
                    found.insert(it->second);
                }
                continue;
            }
            if (e.is_app()) {
                for (unsigned k = 0; k < e.num_args(); ++k) {
                    todo.push_back(e.arg(k));
                }
            }
        }
        return found;
    };
    auto disjoint = [](const std::set<int>& x, const std::set<int>& y) {
        for (int i : x) {
            if (y.count(i) != 0) {
                return false;
            }
        }
        return true;
    };
    std::vector<std::set<int>> read(actions_.size()), written(actions_.size());
    for (std::size_t a = 0; a < actions_.size(); ++a) {
        const RowData& row = table.rows[static_cast<std::size_t>(actions_[a].row)];
        sym.state = pre;
        sym.hosts = {actions_[a].host, 0};
        sym.nodes = {0, 0};
        for (int p = 0; p < kParamCount; ++p) {
            const Param param = static_cast<Param>(p);
            const bool flag = param_info(param).kind == ParamKind::Flag;
            const int values = param_code_[static_cast<std::size_t>(p)].values;
            if (param == Param::host) {
                sym.params[static_cast<std::size_t>(p)] = Symbolic::constant(actions_[a].host, 2);
            } else if (has_param(row, param)) {
                sym.params[static_cast<std::size_t>(p)] = param_values[static_cast<std::size_t>(p)];
            } else {
                const int d = interp_.param_default(param);
                sym.params[static_cast<std::size_t>(p)] =
                    flag ? sym.flag(d) : Symbolic::constant(d, values);
            }
        }
        const B guard = sym.and_(no_crash, sym.truth(sym.eval(row.guard), row.guard));
        const B assumptions = sym.run_effect(row);
        const z3::expr g = sym.z(sym.and_(guard, assumptions));
        action_guard_.push_back(g);
        std::vector<z3::expr> read_from{g};
        guards.push_back(z3::implies(act_is(step_, static_cast<int>(a)), g));
        for (int i = 0; i < slots; ++i) {
            const SVal& v = sym.state[static_cast<std::size_t>(i)];
            if (v.origin == i) {
                continue;
            }
            const Code& c = slot_code(i);
            std::vector<z3::expr> bits;
            for (int j = 0; j < c.width; ++j) {
                if (v.origin >= 0) { // a copy of another slot of the same domain
                    bits.push_back(cur_.bits[static_cast<unsigned>(slot_code(v.origin).first + j)]);
                } else if (c.boolean) {
                    bits.push_back(sym.z(v.b));
                } else {
                    B bit = bconst(false);
                    for (std::size_t x = 0; x < v.is.size(); ++x) {
                        if ((x >> j) & 1) {
                            bit = sym.or_(bit, v.is[x]);
                        }
                    }
                    bits.push_back(sym.z(bit));
                }
            }
            writes[static_cast<std::size_t>(i)].push_back({static_cast<int>(a), bits});
            written[a].insert(i);
            read_from.insert(read_from.end(), bits.begin(), bits.end());
        }
        read[a] = slots_in(read_from);
        // A crash ends the run (no row is enabled after one) and only qemu_assert writes it, so
        // the crash slots make no two actions dependent: commuted_order() keeps the order of a
        // pair whose second step crashes instead.
        for (int i = 0; i < slots; ++i) {
            if (slot_var_[static_cast<std::size_t>(i)] == Var::crash ||
                slot_var_[static_cast<std::size_t>(i)] == Var::crash_host) {
                read[a].erase(i);
                written[a].erase(i);
            }
        }
    }
    for (std::size_t a = 0; a < actions_.size(); ++a) {
        std::vector<bool> row(actions_.size(), false);
        for (std::size_t b = 0; b < actions_.size(); ++b) {
            row[b] = a != b && disjoint(written[a], read[b]) && disjoint(written[a], written[b]) &&
                     disjoint(written[b], read[a]);
        }
        independent_.push_back(std::move(row));
    }
    // Domains of the action selector and the parameters.
    auto in_domain = [&](const z3::expr_vector& bits, const Code& c, int limit) {
        z3::expr_vector any(ctx);
        for (const B& b : decode(bits, Code{c.first, c.width, limit, false})) {
            any.push_back(sym.z(b));
        }
        return z3::mk_or(any);
    };
    guards.push_back(in_domain(step_.bits, act_code_, act_code_.values));
    for (int p = 0; p < kParamCount; ++p) {
        const Code& c = param_code_[static_cast<std::size_t>(p)];
        if (!c.boolean) {
            const bool node_only = param_info(static_cast<Param>(p)).kind == ParamKind::Node;
            guards.push_back(in_domain(step_.bits, c, node_only ? c.values - 1 : c.values));
        }
    }
    step_guard_ = z3::mk_and(guards);
    z3::expr_vector next_bits(ctx);
    for (int i = 0; i < slots; ++i) {
        const Code& c = slot_code(i);
        for (int j = 0; j < c.width; ++j) {
            z3::expr value = cur_.bits[static_cast<unsigned>(c.first + j)];
            for (const auto& [a, bits] : writes[static_cast<std::size_t>(i)]) {
                value = z3::ite(act_is(step_, a), bits[static_cast<std::size_t>(j)], value);
            }
            next_bits.push_back(nxt.bits[static_cast<unsigned>(c.first + j)] == value);
        }
    }
    next_function_ = z3::mk_and(next_bits);
    // The whole relation over cur_, step_ and nxt: guard && next as one flat conjunction, which
    // the SAT layer (sat.hpp) splits into a clause per conjunct.
    for (const auto& b : next_bits) {
        guards.push_back(b);
    }
    trans_guard_ = z3::mk_and(guards);

    // The initial states: the slots every initial state agrees on, and the combinations of the
    // others that occur.
    const auto initial = interp_.initial_states();
    std::vector<int> varying;
    z3::expr_vector init(ctx);
    for (int i = 0; i < slots; ++i) {
        bool same = true;
        for (const auto& s : initial) {
            same =
                same && s[static_cast<std::size_t>(i)] == initial[0][static_cast<std::size_t>(i)];
        }
        if (same) {
            init.push_back(slot_is(
                cur_, i, static_cast<unsigned char>(initial[0][static_cast<std::size_t>(i)])));
        } else {
            varying.push_back(i);
        }
    }
    std::map<std::string, bool> seen;
    z3::expr_vector choices(ctx);
    for (const auto& s : initial) {
        std::string key;
        z3::expr_vector cube(ctx);
        for (int i : varying) {
            key += s[static_cast<std::size_t>(i)];
            cube.push_back(
                slot_is(cur_, i, static_cast<unsigned char>(s[static_cast<std::size_t>(i)])));
        }
        if (seen.emplace(key, true).second) {
            choices.push_back(z3::mk_and(cube));
        }
    }
    init.push_back(z3::mk_or(choices));
    init_template_ = z3::mk_and(init);

    z3::expr_vector dom(ctx);
    for (int i = 0; i < slots; ++i) {
        const Code& c = slot_code(i);
        if (!c.boolean && c.values < (1 << c.width)) {
            dom.push_back(in_domain(cur_.bits, c, c.values));
        }
    }
    domain_template_ = z3::mk_and(dom);
}

std::string Lowering::slot_name(int slot) const {
    const Var var = slot_var_[static_cast<std::size_t>(slot)];
    const VarInfo& info = var_info(var);
    const Layout& layout = interp_.layout();
    std::string name(info.name);
    for (int h = 0; h < 2; ++h) {
        for (int n = 0; n < layout.nodes(); ++n) {
            if (layout.offset(var, h, n) == slot) {
                if (info.scope != Scope::Global) {
                    name += "[" + std::to_string(h) + "]";
                }
                if (info.scope == Scope::PerNode) {
                    name += "[" + std::to_string(n) + "]";
                }
                return name;
            }
        }
    }
    return name;
}

StateVars Lowering::make_state(const std::string& suffix) const {
    StateVars s{z3::expr_vector(ctx_)};
    for (int i = 0; i < slot_count(); ++i) {
        const Code& c = slot_code(i);
        for (int j = 0; j < c.width; ++j) {
            const std::string name =
                slot_name(i) + (c.boolean ? "" : "." + std::to_string(j)) + suffix;
            s.bits.push_back(ctx_.bool_const(name.c_str()));
        }
    }
    return s;
}

StepVars Lowering::make_step(const std::string& suffix) const {
    StepVars p{z3::expr_vector(ctx_)};
    for (int j = 0; j < act_code_.width; ++j) {
        p.bits.push_back(ctx_.bool_const(("act." + std::to_string(j) + suffix).c_str()));
    }
    for (int i = 0; i < kParamCount; ++i) {
        const Code& c = param_code_[static_cast<std::size_t>(i)];
        for (int j = 0; j < c.width; ++j) {
            const std::string name = std::string(param_info(static_cast<Param>(i)).name) +
                                     (c.boolean ? "" : "." + std::to_string(j)) + suffix;
            p.bits.push_back(ctx_.bool_const(name.c_str()));
        }
    }
    return p;
}

z3::expr Lowering::slot_is(const StateVars& s, int slot, int value) const {
    const Code& c = slot_code(slot);
    z3::expr_vector lits(ctx_);
    for (int j = 0; j < c.width; ++j) {
        const z3::expr bit = s.bits[static_cast<unsigned>(c.first + j)];
        lits.push_back((value >> j) & 1 ? bit : !bit);
    }
    return z3::mk_and(lits);
}

z3::expr Lowering::act_is(const StepVars& p, int action) const {
    z3::expr_vector lits(ctx_);
    for (int j = 0; j < act_code_.width; ++j) {
        const z3::expr bit = p.bits[static_cast<unsigned>(j)];
        lits.push_back((action >> j) & 1 ? bit : !bit);
    }
    return z3::mk_and(lits);
}

z3::expr Lowering::instantiate(const z3::expr& e, const StateVars& s, const StepVars& p) const {
    z3::expr_vector from(ctx_), to(ctx_);
    for (unsigned i = 0; i < s.bits.size(); ++i) {
        from.push_back(cur_.bits[i]);
        to.push_back(s.bits[i]);
    }
    for (unsigned i = 0; i < p.bits.size(); ++i) {
        from.push_back(step_.bits[i]);
        to.push_back(p.bits[i]);
    }
    z3::expr copy = e;
    return copy.substitute(from, to);
}

z3::expr Lowering::init(const StateVars& s) const {
    z3::expr copy = init_template_;
    return copy.substitute(cur_.bits, s.bits);
}

z3::expr Lowering::domain(const StateVars& s) const {
    z3::expr copy = domain_template_;
    return copy.substitute(cur_.bits, s.bits);
}

// A relation over the template's current state, step and next state, instantiated.
z3::expr Lowering::over_step(const z3::expr& relation, const StateVars& s, const StepVars& p,
                             const StateVars& t) const {
    z3::expr_vector to(ctx_);
    for (const auto& e : s.bits) {
        to.push_back(e);
    }
    for (const auto& e : p.bits) {
        to.push_back(e);
    }
    for (const auto& e : t.bits) {
        to.push_back(e);
    }
    z3::expr copy = relation;
    return copy.substitute(template_vars_, to);
}

z3::expr Lowering::trans(const StateVars& s, const StepVars& p, const StateVars& t) const {
    return over_step(trans_guard_, s, p, t);
}

z3::expr Lowering::guard(const StateVars& s, const StepVars& p) const {
    return instantiate(step_guard_, s, p);
}

z3::expr Lowering::next(const StateVars& s, const StepVars& p, const StateVars& t) const {
    return over_step(next_function_, s, p, t);
}

z3::expr Lowering::commuted_order(const StepVars& p, const StepVars& q,
                                  const StateVars& after) const {
    const z3::expr crashed =
        !slot_is(after, interp_.layout().offset(Var::crash), static_cast<int>(Crash::NONE));
    z3::expr_vector clauses(ctx_);
    for (std::size_t a = 0; a < actions_.size(); ++a) {
        z3::expr_vector smaller(ctx_);
        for (std::size_t b = 0; b < a; ++b) {
            if (independent_[a][b]) {
                smaller.push_back(act_is(q, static_cast<int>(b)));
            }
        }
        if (!smaller.empty()) {
            clauses.push_back(
                z3::implies(act_is(p, static_cast<int>(a)) && z3::mk_or(smaller), crashed));
        }
    }
    return z3::mk_and(clauses);
}

z3::expr Lowering::enabled(int action, const StateVars& s, const StepVars& p) const {
    return instantiate(action_guard_[static_cast<unsigned>(action)], s, p);
}

z3::expr Lowering::predicate(int expr, const StateVars& s) const {
    Symbolic sym(ctx_, invariants_ast(), table_, interp_.layout(), interp_.graph());
    for (int i = 0; i < slot_count(); ++i) {
        sym.state.push_back(value_of_code(s.bits, slot_code(i), i));
    }
    return sym.z(sym.truth(sym.eval(expr), expr));
}

z3::expr Lowering::predicate(const Ast& ast, int expr, const StateVars& s) const {
    if (expr < 0) {
        return ctx_.bool_val(true);
    }
    Symbolic sym(ctx_, ast, table_, interp_.layout(), interp_.graph());
    for (int i = 0; i < slot_count(); ++i) {
        sym.state.push_back(value_of_code(s.bits, slot_code(i), i));
    }
    return sym.z(sym.truth(sym.eval(expr), expr));
}

z3::expr Lowering::allowed(const StepRestriction& r, const StateVars& s, const StepVars& p) const {
    if (r.row_allowed.size() != table_.rows.size()) {
        throw std::logic_error("a restriction for another table (" + r.name + ")");
    }
    Symbolic sym(ctx_, r.ast, table_, interp_.layout(), interp_.graph());
    for (int i = 0; i < slot_count(); ++i) {
        sym.state.push_back(value_of_code(s.bits, slot_code(i), i));
    }
    z3::expr_vector clauses(ctx_);
    for (std::size_t a = 0; a < actions_.size(); ++a) {
        const int row_index = actions_[a].row;
        const RowData& row = table_.rows[static_cast<std::size_t>(row_index)];
        const int expr = r.row_allowed[static_cast<std::size_t>(row_index)];
        if (expr < 0) {
            clauses.push_back(!act_is(p, static_cast<int>(a)));
            continue;
        }
        // The parameters as the transition reads them (the constructor's choice, per action).
        sym.hosts = {actions_[a].host, 0};
        sym.nodes = {0, 0};
        for (int q = 0; q < kParamCount; ++q) {
            const Param param = static_cast<Param>(q);
            const Code& c = param_code_[static_cast<std::size_t>(q)];
            if (param == Param::host) {
                sym.params[static_cast<std::size_t>(q)] = Symbolic::constant(actions_[a].host, 2);
            } else if (has_param(row, param)) {
                sym.params[static_cast<std::size_t>(q)] = value_of_code(p.bits, c, -1);
            } else {
                const int d = interp_.param_default(param);
                sym.params[static_cast<std::size_t>(q)] = param_info(param).kind == ParamKind::Flag
                                                              ? sym.flag(d)
                                                              : Symbolic::constant(d, c.values);
            }
        }
        const z3::expr ok = sym.z(sym.truth(sym.eval(expr), expr));
        if (!ok.is_true()) {
            clauses.push_back(z3::implies(act_is(p, static_cast<int>(a)), ok));
        }
    }
    return clauses.empty() ? ctx_.bool_val(true) : z3::mk_and(clauses);
}

z3::expr Lowering::invariant(const InvariantData& inv, const StateVars& s) const {
    if (inv.kind != InvariantKind::StatePredicate) {
        throw std::logic_error("only state invariants are lowered to Z3");
    }
    return predicate(inv.expr, s);
}

z3::expr Lowering::equal(const StateVars& a, const StateVars& b) const {
    z3::expr_vector eqs(ctx_);
    for (unsigned i = 0; i < a.bits.size(); ++i) {
        eqs.push_back(a.bits[i] == b.bits[i]);
    }
    return z3::mk_and(eqs);
}

int Lowering::value_of(const z3::model& m, const z3::expr_vector& bits, int first, int width) {
    int value = 0;
    for (int j = 0; j < width; ++j) {
        if (m.eval(bits[static_cast<unsigned>(first + j)], true).is_true()) {
            value |= 1 << j;
        }
    }
    return value;
}

State Lowering::decode_state(const z3::model& m, const StateVars& s) const {
    State out(static_cast<std::size_t>(slot_count()), '\0');
    for (int i = 0; i < slot_count(); ++i) {
        const Code& c = slot_code(i);
        out[static_cast<std::size_t>(i)] = static_cast<char>(value_of(m, s.bits, c.first, c.width));
    }
    return out;
}

Step Lowering::decode_step(const z3::model& m, const StepVars& p) const {
    const int a = value_of(m, p.bits, act_code_.first, act_code_.width);
    const Action& action = actions_.at(static_cast<std::size_t>(a));
    const RowData& row = table_.rows[static_cast<std::size_t>(action.row)];
    Step step;
    step.row = action.row;
    for (int i = 0; i < kParamCount; ++i) {
        step.params[static_cast<std::size_t>(i)] = interp_.param_default(static_cast<Param>(i));
    }
    for (Param q : row.params) {
        const Code& c = param_code_[static_cast<std::size_t>(q)];
        step.params[static_cast<std::size_t>(q)] =
            q == Param::host ? action.host : value_of(m, p.bits, c.first, c.width);
    }
    return step;
}

z3::expr Lowering::is_state(const State& state, const StateVars& s) const {
    z3::expr_vector eqs(ctx_);
    for (int i = 0; i < slot_count(); ++i) {
        eqs.push_back(
            slot_is(s, i, static_cast<unsigned char>(state[static_cast<std::size_t>(i)])));
    }
    return z3::mk_and(eqs);
}

} // namespace handoff::proofs
