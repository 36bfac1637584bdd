#include "handoff/proofs/lowering.hpp"

#include <map>
#include <optional>
#include <stdexcept>

namespace handoff::proofs {

using namespace handoff::model;

namespace {

// A symbolic value: a known constant (folded eagerly, so that quantifiers expanded over the
// instance and parameters a row does not declare leave no trace in the formula) or a Z3 term.
struct SVal {
    bool boolean = false;
    std::optional<int> known;
    std::optional<z3::expr> term;
};

class Symbolic {
  public:
    Symbolic(z3::context& ctx, const Ast& ast, const TableData& table, const Layout& layout)
        : ctx_(ctx), ast_(ast), table_(table), layout_(layout) {}

    // The current value of every slot, the row's parameters and the bound variables.
    std::vector<SVal> state;
    std::array<SVal, kParamCount> params{};
    std::array<int, 2> hosts{};
    std::array<int, 2> nodes{};

    static SVal constant(int c, bool boolean) { return SVal{boolean, c, std::nullopt}; }
    static SVal term(const z3::expr& e) { return SVal{e.is_bool(), std::nullopt, e}; }

    z3::expr z(const SVal& v) const {
        if (v.known) {
            return v.boolean ? ctx_.bool_val(*v.known != 0) : ctx_.int_val(*v.known);
        }
        return *v.term;
    }

    SVal not_(const SVal& a) const {
        if (a.known) {
            return constant(*a.known == 0, true);
        }
        return term(!z(a));
    }
    SVal and_(const SVal& a, const SVal& b) const {
        if (a.known) {
            return *a.known ? b : constant(0, true);
        }
        if (b.known) {
            return *b.known ? a : constant(0, true);
        }
        return term(z(a) && z(b));
    }
    SVal or_(const SVal& a, const SVal& b) const {
        if (a.known) {
            return *a.known ? constant(1, true) : b;
        }
        if (b.known) {
            return *b.known ? constant(1, true) : a;
        }
        return term(z(a) || z(b));
    }
    SVal eq(const SVal& a, const SVal& b) const {
        if (a.known && b.known) {
            return constant(*a.known == *b.known, true);
        }
        if (!a.known && !b.known && z3::eq(*a.term, *b.term)) {
            return constant(1, true);
        }
        if (a.boolean && a.known) {
            return *a.known ? b : not_(b);
        }
        if (b.boolean && b.known) {
            return *b.known ? a : not_(a);
        }
        return term(z(a) == z(b));
    }
    SVal lt(const SVal& a, const SVal& b) const {
        if (a.known && b.known) {
            return constant(*a.known < *b.known, true);
        }
        return term(z(a) < z(b));
    }
    SVal le(const SVal& a, const SVal& b) const {
        if (a.known && b.known) {
            return constant(*a.known <= *b.known, true);
        }
        return term(z(a) <= z(b));
    }
    SVal ite(const SVal& c, const SVal& t, const SVal& f) const {
        if (c.known) {
            return *c.known ? t : f;
        }
        if (t.known && f.known && *t.known == *f.known) {
            return t;
        }
        if (!t.known && !f.known && z3::eq(*t.term, *f.term)) {
            return t;
        }
        if (t.boolean && t.known && f.known) { // c ? true : false
            return *t.known ? c : not_(c);
        }
        SVal r = term(z3::ite(z(c), z(t), z(f)));
        r.boolean = t.boolean || f.boolean;
        return r;
    }

    // The values an index expression can take: itself if known, else every index.
    static std::vector<int> candidates(const SVal& v, int count) {
        if (v.known) {
            return {*v.known};
        }
        std::vector<int> all;
        for (int i = 0; i < count; ++i) {
            all.push_back(i);
        }
        return all;
    }

    SVal read(Var var, const SVal& host, const SVal& node) const {
        const auto hs = candidates(host, 2);
        const auto ns = candidates(node, layout_.nodes());
        std::optional<SVal> result;
        for (int h : hs) {
            for (int n : ns) {
                if (n >= layout_.nodes()) {
                    throw std::logic_error("node index out of range in a variable reference");
                }
                const SVal v = state[static_cast<std::size_t>(layout_.offset(var, h, n))];
                result = result
                             ? ite(and_(eq(host, constant(h, false)), eq(node, constant(n, false))),
                                   v, *result)
                             : v;
            }
        }
        return *result;
    }

    void write(Var var, const SVal& host, int node, const SVal& guard, const SVal& value) {
        for (int h : candidates(host, 2)) {
            SVal& slot = state[static_cast<std::size_t>(layout_.offset(var, h, node))];
            slot = ite(and_(guard, eq(host, constant(h, false))), value, slot);
        }
    }

    SVal runstate_ok(const SVal& from, const SVal& to) const {
        SVal result = constant(0, true);
        const int unset = static_cast<int>(RunState::UNSET);
        for (int a : candidates(from, 8)) {
            for (int b : candidates(to, 8)) {
                const bool allowed =
                    a != unset && b != unset &&
                    (a == b ||
                     table_.runstate[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)]);
                if (allowed) {
                    result =
                        or_(result, and_(eq(from, constant(a, false)), eq(to, constant(b, false))));
                }
            }
        }
        return result;
    }

    SVal eval(int i) {
        const AstNode& e = ast_[i];
        switch (e.op) {
        case Op::Lit:
            return constant(e.a, e.domain == DomainId::Bool);
        case Op::Var: {
            const SVal host = e.kid[0] < 0 ? constant(0, false) : eval(e.kid[0]);
            const SVal node = e.kid[1] < 0 ? constant(0, false) : eval(e.kid[1]);
            return read(static_cast<Var>(e.a), host, node);
        }
        case Op::Param:
            return params[static_cast<std::size_t>(e.a)];
        case Op::Bound:
            return constant(e.sort == Sort::Host ? hosts[static_cast<std::size_t>(e.a)]
                                                 : nodes[static_cast<std::size_t>(e.a)],
                            false);
        case Op::Peer: {
            const SVal h = eval(e.kid[0]);
            if (h.known) {
                return constant(1 - *h.known, false);
            }
            return term(1 - z(h));
        }
        case Op::NoneNode:
            return constant(layout_.nodes(), false);
        case Op::Not:
            return not_(eval(e.kid[0]));
        case Op::And: {
            const SVal a = eval(e.kid[0]);
            if (a.known && !*a.known) {
                return a;
            }
            return and_(a, eval(e.kid[1]));
        }
        case Op::Or: {
            const SVal a = eval(e.kid[0]);
            if (a.known && *a.known) {
                return a;
            }
            return or_(a, eval(e.kid[1]));
        }
        case Op::Implies: {
            const SVal a = eval(e.kid[0]);
            if (a.known && !*a.known) {
                return constant(1, true);
            }
            return or_(not_(a), eval(e.kid[1]));
        }
        case Op::Eq:
            return eq(eval(e.kid[0]), eval(e.kid[1]));
        case Op::Ne:
            return not_(eq(eval(e.kid[0]), eval(e.kid[1])));
        case Op::Lt:
            return lt(eval(e.kid[0]), eval(e.kid[1]));
        case Op::Le:
            return le(eval(e.kid[0]), eval(e.kid[1]));
        case Op::Ite: {
            const SVal c = eval(e.kid[0]);
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
            SVal result = constant(forall, true);
            for (int k = 0; k < count; ++k) {
                slot = k;
                const SVal body = eval(e.kid[0]);
                result = forall ? and_(result, body) : or_(result, body);
                if (result.known && *result.known != forall) {
                    break;
                }
            }
            slot = saved;
            return result;
        }
        case Op::Named:
            return eval(e.kid[0]);
        case Op::RunstateOk:
            return runstate_ok(eval(e.kid[0]), eval(e.kid[1]));
        }
        throw std::logic_error("unknown expression operator");
    }

    // Runs a row's statements symbolically on `state`; returns the conjunction of its assumptions
    // (each under the path condition that reaches it).
    SVal run_effect(const RowData& row) {
        struct Frame {
            SVal outer;
            SVal cond;
            bool in_else;
        };
        std::vector<Frame> frames;
        SVal live = constant(1, true); // no assertion of this step has failed so far
        SVal assumptions = constant(1, true);
        auto path = [&] {
            if (frames.empty()) {
                return constant(1, true);
            }
            const Frame& f = frames.back();
            return and_(f.outer, f.in_else ? not_(f.cond) : f.cond);
        };
        for (const Stmt& st : row.effect.stmts) {
            switch (st.kind) {
            case StmtKind::If: {
                const SVal outer = path();
                frames.push_back({outer, eval(st.value), false});
                break;
            }
            case StmtKind::Else:
                frames.back().in_else = true;
                break;
            case StmtKind::EndIf:
                frames.pop_back();
                break;
            case StmtKind::Assign: {
                const SVal guard = and_(path(), live);
                const SVal host = st.host < 0 ? constant(0, false) : eval(st.host);
                const SVal value = eval(st.value);
                write(st.var, host, 0, guard, value);
                break;
            }
            case StmtKind::AssignNodes: {
                const SVal guard = and_(path(), live);
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
                const SVal fails = and_(and_(path(), live), not_(eval(st.value)));
                write(Var::crash, constant(0, false), 0, fails,
                      constant(static_cast<int>(st.reason), false));
                write(Var::crash_host, constant(0, false), 0, fails, constant(hosts[0], false));
                live = and_(live, not_(fails));
                break;
            }
            case StmtKind::Assume: {
                const SVal reached = and_(path(), live);
                assumptions = and_(assumptions, or_(not_(reached), eval(st.value)));
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
};

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
      interp_(table, instance), cur_{z3::expr_vector(ctx)}, step_{z3::expr(ctx),
                                                                  z3::expr_vector(ctx)},
      template_vars_(ctx), trans_guard_(ctx), next_(ctx), action_guard_(ctx), init_template_(ctx),
      domain_template_(ctx) {
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
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        const bool per_host = has_param(table.rows[r], Param::host);
        for (int h = 0; h < (per_host ? 2 : 1); ++h) {
            actions_.push_back({static_cast<int>(r), h});
        }
    }

    cur_ = make_state("");
    step_ = make_step("");
    const StateVars nxt = make_state("'");
    for (const auto& e : cur_.slots) {
        template_vars_.push_back(e);
    }
    template_vars_.push_back(step_.act);
    for (const auto& e : step_.params) {
        template_vars_.push_back(e);
    }
    for (const auto& e : nxt.slots) {
        template_vars_.push_back(e);
    }

    // Symbolic execution of every action over the template state.
    const int slots = slot_count();
    std::vector<std::vector<std::pair<int, SVal>>> writes(static_cast<std::size_t>(slots));
    Symbolic sym(ctx, table.ast, table, layout);
    std::vector<SVal> pre;
    for (int i = 0; i < slots; ++i) {
        pre.push_back(Symbolic::term(cur_.slots[static_cast<unsigned>(i)]));
    }
    const SVal no_crash = sym.eq(pre[static_cast<std::size_t>(layout.offset(Var::crash))],
                                 Symbolic::constant(static_cast<int>(Crash::NONE), false));
    z3::expr guard_all = step_.act >= 0 && step_.act < static_cast<int>(actions_.size());
    for (std::size_t a = 0; a < actions_.size(); ++a) {
        const RowData& row = table.rows[static_cast<std::size_t>(actions_[a].row)];
        sym.state = pre;
        sym.hosts = {actions_[a].host, 0};
        sym.nodes = {0, 0};
        for (int p = 0; p < kParamCount; ++p) {
            const Param param = static_cast<Param>(p);
            if (param == Param::host) {
                sym.params[static_cast<std::size_t>(p)] =
                    Symbolic::constant(actions_[a].host, false);
            } else if (has_param(row, param)) {
                sym.params[static_cast<std::size_t>(p)] =
                    Symbolic::term(step_.params[static_cast<unsigned>(p)]);
            } else {
                sym.params[static_cast<std::size_t>(p)] = Symbolic::constant(
                    interp_.param_default(param), param_info(param).kind == ParamKind::Flag);
            }
        }
        const SVal guard = sym.and_(no_crash, sym.eval(row.guard));
        const SVal assumptions = sym.run_effect(row);
        const z3::expr g = sym.z(sym.and_(guard, assumptions));
        action_guard_.push_back(g.simplify());
        guard_all = guard_all && z3::implies(step_.act == static_cast<int>(a), g);
        for (int i = 0; i < slots; ++i) {
            const SVal& v = sym.state[static_cast<std::size_t>(i)];
            if (v.known || !z3::eq(*v.term, cur_.slots[static_cast<unsigned>(i)])) {
                writes[static_cast<std::size_t>(i)].push_back({static_cast<int>(a), v});
            }
        }
    }
    // Parameter domains.
    const int none = layout.nodes();
    for (int p = 0; p < kParamCount; ++p) {
        const z3::expr x = step_.params[static_cast<unsigned>(p)];
        switch (param_info(static_cast<Param>(p)).kind) {
        case ParamKind::Host:
            guard_all = guard_all && x >= 0 && x <= 1;
            break;
        case ParamKind::NodeOrNone:
            guard_all = guard_all && x >= 0 && x <= none;
            break;
        case ParamKind::Node:
            guard_all = guard_all && x >= 0 && x < none;
            break;
        case ParamKind::Flag:
            break;
        }
    }
    trans_guard_ = guard_all;
    z3::expr trans = trans_guard_;
    for (int i = 0; i < slots; ++i) {
        z3::expr value = cur_.slots[static_cast<unsigned>(i)];
        for (const auto& [a, v] : writes[static_cast<std::size_t>(i)]) {
            value = z3::ite(step_.act == a, sym.z(v), value);
        }
        next_.push_back(value);
        trans = trans && nxt.slots[static_cast<unsigned>(i)] == value;
    }
    trans_guard_ = trans; // the whole relation over cur_, step_ and nxt

    // The initial states: the slots every initial state agrees on, and the combinations of the
    // others that occur.
    const auto initial = interp_.initial_states();
    std::vector<int> varying;
    z3::expr init = ctx.bool_val(true);
    for (int i = 0; i < slots; ++i) {
        bool same = true;
        for (const auto& s : initial) {
            same =
                same && s[static_cast<std::size_t>(i)] == initial[0][static_cast<std::size_t>(i)];
        }
        if (same) {
            init = init && cur_.slots[static_cast<unsigned>(i)] ==
                               slot_value(i, static_cast<unsigned char>(
                                                 initial[0][static_cast<std::size_t>(i)]));
        } else {
            varying.push_back(i);
        }
    }
    std::map<std::string, bool> seen;
    z3::expr_vector choices(ctx);
    for (const auto& s : initial) {
        std::string key;
        z3::expr cube = ctx.bool_val(true);
        for (int i : varying) {
            key += s[static_cast<std::size_t>(i)];
            cube = cube &&
                   cur_.slots[static_cast<unsigned>(i)] ==
                       slot_value(i, static_cast<unsigned char>(s[static_cast<std::size_t>(i)]));
        }
        if (seen.emplace(key, true).second) {
            choices.push_back(cube);
        }
    }
    init_template_ = init && z3::mk_or(choices);

    z3::expr dom = ctx.bool_val(true);
    for (int i = 0; i < slots; ++i) {
        const DomainId d = var_info(slot_var_[static_cast<std::size_t>(i)]).domain;
        if (d != DomainId::Bool) {
            const z3::expr x = cur_.slots[static_cast<unsigned>(i)];
            dom = dom && x >= 0 && x < domain_size(d);
        }
    }
    domain_template_ = dom;
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
        const std::string name = slot_name(i) + suffix;
        const DomainId d = var_info(slot_var_[static_cast<std::size_t>(i)]).domain;
        s.slots.push_back(d == DomainId::Bool ? ctx_.bool_const(name.c_str())
                                              : ctx_.int_const(name.c_str()));
    }
    return s;
}

StepVars Lowering::make_step(const std::string& suffix) const {
    StepVars p{ctx_.int_const(("act" + suffix).c_str()), z3::expr_vector(ctx_)};
    for (int i = 0; i < kParamCount; ++i) {
        const ParamInfo& info = param_info(static_cast<Param>(i));
        const std::string name = std::string(info.name) + suffix;
        p.params.push_back(info.kind == ParamKind::Flag ? ctx_.bool_const(name.c_str())
                                                        : ctx_.int_const(name.c_str()));
    }
    return p;
}

z3::expr Lowering::slot_value(int slot, int value) const {
    const DomainId d = var_info(slot_var_[static_cast<std::size_t>(slot)]).domain;
    return d == DomainId::Bool ? ctx_.bool_val(value != 0) : ctx_.int_val(value);
}

z3::expr Lowering::instantiate(const z3::expr& e, const StateVars& s, const StepVars& p) const {
    z3::expr_vector from(ctx_), to(ctx_);
    for (unsigned i = 0; i < s.slots.size(); ++i) {
        from.push_back(cur_.slots[i]);
        to.push_back(s.slots[i]);
    }
    from.push_back(step_.act);
    to.push_back(p.act);
    for (unsigned i = 0; i < p.params.size(); ++i) {
        from.push_back(step_.params[i]);
        to.push_back(p.params[i]);
    }
    z3::expr copy = e;
    return copy.substitute(from, to);
}

z3::expr Lowering::init(const StateVars& s) const {
    z3::expr copy = init_template_;
    return copy.substitute(cur_.slots, s.slots);
}

z3::expr Lowering::domain(const StateVars& s) const {
    z3::expr copy = domain_template_;
    return copy.substitute(cur_.slots, s.slots);
}

z3::expr Lowering::trans(const StateVars& s, const StepVars& p, const StateVars& t) const {
    z3::expr_vector to(ctx_);
    for (const auto& e : s.slots) {
        to.push_back(e);
    }
    to.push_back(p.act);
    for (const auto& e : p.params) {
        to.push_back(e);
    }
    for (const auto& e : t.slots) {
        to.push_back(e);
    }
    z3::expr copy = trans_guard_;
    return copy.substitute(template_vars_, to);
}

z3::expr Lowering::enabled(int action, const StateVars& s, const StepVars& p) const {
    return instantiate(action_guard_[static_cast<unsigned>(action)], s, p);
}

z3::expr Lowering::predicate(int expr, const StateVars& s) const {
    Symbolic sym(ctx_, invariants_ast(), table_, interp_.layout());
    for (const auto& e : s.slots) {
        sym.state.push_back(Symbolic::term(e));
    }
    return sym.z(sym.eval(expr));
}

z3::expr Lowering::invariant(const InvariantData& inv, const StateVars& s) const {
    if (inv.kind != InvariantKind::StatePredicate) {
        throw std::logic_error("only state invariants are lowered to Z3");
    }
    return predicate(inv.expr, s);
}

z3::expr Lowering::equal(const StateVars& a, const StateVars& b) const {
    z3::expr_vector eqs(ctx_);
    for (unsigned i = 0; i < a.slots.size(); ++i) {
        eqs.push_back(a.slots[i] == b.slots[i]);
    }
    return z3::mk_and(eqs);
}

State Lowering::decode_state(const z3::model& m, const StateVars& s) const {
    State out(static_cast<std::size_t>(slot_count()), '\0');
    for (int i = 0; i < slot_count(); ++i) {
        const z3::expr v = m.eval(s.slots[static_cast<unsigned>(i)], true);
        const int value = v.is_bool() ? (v.is_true() ? 1 : 0) : v.get_numeral_int();
        out[static_cast<std::size_t>(i)] = static_cast<char>(value);
    }
    return out;
}

Step Lowering::decode_step(const z3::model& m, const StepVars& p) const {
    const int a = m.eval(p.act, true).get_numeral_int();
    const Action& action = actions_.at(static_cast<std::size_t>(a));
    const RowData& row = table_.rows[static_cast<std::size_t>(action.row)];
    Step step;
    step.row = action.row;
    for (int i = 0; i < kParamCount; ++i) {
        step.params[static_cast<std::size_t>(i)] = interp_.param_default(static_cast<Param>(i));
    }
    for (Param q : row.params) {
        int value = action.host;
        if (q != Param::host) {
            const z3::expr v = m.eval(p.params[static_cast<unsigned>(q)], true);
            value = v.is_bool() ? (v.is_true() ? 1 : 0) : v.get_numeral_int();
        }
        step.params[static_cast<std::size_t>(q)] = value;
    }
    return step;
}

z3::expr Lowering::is_state(const State& state, const StateVars& s) const {
    z3::expr_vector eqs(ctx_);
    for (int i = 0; i < slot_count(); ++i) {
        eqs.push_back(
            s.slots[static_cast<unsigned>(i)] ==
            slot_value(i, static_cast<unsigned char>(state[static_cast<std::size_t>(i)])));
    }
    return z3::mk_and(eqs);
}

} // namespace handoff::proofs
