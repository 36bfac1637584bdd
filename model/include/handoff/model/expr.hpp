// The expression language in which every guard, effect and invariant is written once. An
// expression is a constexpr value whose type records its structure (an expression template); the
// table is therefore compile-time data, and the same expression is evaluated on concrete states,
// printed for the specification and lowered to Z3 through its runtime form (ast.hpp), produced by
// emit().
//
//   runstate(h) == RunState::RUNNING && forall(n, node(h, n) == NodeState::ACTIVE)
//   set(runstate(h), RunState::FINISH_MIGRATE)
//   set(node(h, n), ite(n < fail, NodeState::INACTIVE, node(h, n)))   // every node n at once
#pragma once

#include "handoff/model/ast.hpp"
#include "handoff/model/graph.hpp"
#include "handoff/model/vocabulary.hpp"

#include <array>
#include <concepts>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace handoff::model::dsl {

struct HostSort {};
struct NodeSort {};

struct AstBuilder {
    Ast& ast;
};

template <class T>
concept Expr = requires {
    typename T::sort;
};

template <class T>
concept Enumerated = requires {
    domain_of<T>::value;
};

// ---- leaves ------------------------------------------------------------------------------------

template <class T>
struct Lit {
    using sort = T;
    T value;
    int emit(AstBuilder& b) const {
        return b.ast.add({.op = Op::Lit,
                          .sort = Sort::Value,
                          .domain = domain_of<T>::value,
                          .a = static_cast<std::int16_t>(value)});
    }
};

template <int Slot>
struct HostVar {
    using sort = HostSort;
    static constexpr int slot = Slot;
    int emit(AstBuilder& b) const {
        return b.ast.add({.op = Op::Bound, .sort = Sort::Host, .a = Slot});
    }
};

template <int Slot>
struct NodeVar {
    using sort = NodeSort;
    static constexpr int slot = Slot;
    int emit(AstBuilder& b) const {
        return b.ast.add({.op = Op::Bound, .sort = Sort::Node, .a = Slot});
    }
};

template <Expr H>
struct PeerOf {
    using sort = HostSort;
    H h;
    int emit(AstBuilder& b) const {
        int k = h.emit(b);
        return b.ast.add({.op = Op::Peer, .sort = Sort::Host, .kid = {k, -1, -1}});
    }
};

struct NoneNode {
    using sort = NodeSort;
    int emit(AstBuilder& b) const { return b.ast.add({.op = Op::NoneNode, .sort = Sort::Node}); }
};

template <Param P>
struct ParamRef {
    using sort = std::conditional_t<
        param_info(P).kind == ParamKind::Flag, bool,
        std::conditional_t<param_info(P).kind == ParamKind::Host, HostSort, NodeSort>>;
    static constexpr Param param = P;
    int emit(AstBuilder& b) const {
        Sort s = param_info(P).kind == ParamKind::Flag   ? Sort::Value
                 : param_info(P).kind == ParamKind::Host ? Sort::Host
                                                         : Sort::Node;
        return b.ast.add({.op = Op::Param,
                          .sort = s,
                          .domain = DomainId::Bool,
                          .a = static_cast<std::int16_t>(P)});
    }
};

// A state variable: global (H = void), per host, or per host and node.
template <Var V, class H = void, class N = void>
struct Ref {
    using sort = typename var_type<V>::type;
    static constexpr Var var = V;
    [[no_unique_address]] std::conditional_t<std::is_void_v<H>, std::tuple<>, H> h{};
    [[no_unique_address]] std::conditional_t<std::is_void_v<N>, std::tuple<>, N> n{};

    int emit(AstBuilder& b) const {
        int hk = -1, nk = -1;
        if constexpr (!std::is_void_v<H>) {
            hk = h.emit(b);
        }
        if constexpr (!std::is_void_v<N>) {
            nk = n.emit(b);
        }
        return b.ast.add({.op = Op::Var,
                          .sort = Sort::Value,
                          .domain = var_info(V).domain,
                          .a = static_cast<std::int16_t>(V),
                          .kid = {hk, nk, -1}});
    }
};

// ---- compound expressions ----------------------------------------------------------------------

template <class T>
constexpr auto lift(T v) {
    if constexpr (Expr<T>) {
        return v;
    } else {
        return Lit<T>{v};
    }
}
template <class T>
using lifted_t = decltype(lift(std::declval<T>()));

template <Op O, Expr A, Expr B>
struct Binary {
    using sort = bool;
    A a;
    B b;
    int emit(AstBuilder& bld) const {
        int x = a.emit(bld);
        int y = b.emit(bld);
        return bld.ast.add(
            {.op = O, .sort = Sort::Value, .domain = DomainId::Bool, .kid = {x, y, -1}});
    }
};

template <Expr A>
struct Negation {
    using sort = bool;
    A a;
    int emit(AstBuilder& b) const {
        int x = a.emit(b);
        return b.ast.add(
            {.op = Op::Not, .sort = Sort::Value, .domain = DomainId::Bool, .kid = {x, -1, -1}});
    }
};

template <Expr C, Expr T, Expr F>
struct Conditional {
    using sort = typename T::sort;
    C c;
    T t;
    F f;
    int emit(AstBuilder& b) const {
        int x = c.emit(b), y = t.emit(b), z = f.emit(b);
        AstNode node = b.ast[y];
        return b.ast.add(
            {.op = Op::Ite, .sort = node.sort, .domain = node.domain, .kid = {x, y, z}});
    }
};

template <Op O, class Bound, Expr Body>
struct Quantified {
    using sort = bool;
    Body body;
    int emit(AstBuilder& b) const {
        int k = body.emit(b);
        constexpr Sort bs =
            std::is_same_v<typename Bound::sort, HostSort> ? Sort::Host : Sort::Node;
        return b.ast.add({.op = O,
                          .sort = Sort::Value,
                          .domain = DomainId::Bool,
                          .bound_sort = bs,
                          .a = Bound::slot,
                          .kid = {k, -1, -1}});
    }
};

struct NoArg {
    using sort = void;
};

// A named definition, printed by its name (the specification lists its body once).
template <Expr Body, class A1 = NoArg, class A2 = NoArg>
struct Named {
    using sort = typename Body::sort;
    std::string_view name;
    Body body;
    A1 a1{};
    A2 a2{};
    int emit(AstBuilder& b) const {
        int k = body.emit(b);
        int x = -1, y = -1;
        if constexpr (!std::is_same_v<A1, NoArg>) {
            x = a1.emit(b);
        }
        if constexpr (!std::is_same_v<A2, NoArg>) {
            y = a2.emit(b);
        }
        AstNode node = b.ast[k];
        return b.ast.add({.op = Op::Named,
                          .sort = node.sort,
                          .domain = node.domain,
                          .kid = {k, x, y},
                          .text = name});
    }
};

template <Expr From, Expr To>
struct RunstateAllowed {
    using sort = bool;
    From from;
    To to;
    int emit(AstBuilder& b) const {
        int x = from.emit(b), y = to.emit(b);
        return b.ast.add({.op = Op::RunstateOk,
                          .sort = Sort::Value,
                          .domain = DomainId::Bool,
                          .kid = {x, y, -1}});
    }
};

// A static relation of the block graph (graph.hpp): fixed by the instance, read by no variable.
template <NodeRelation R, Expr A, class B = NoArg>
struct GraphRelation {
    using sort = bool;
    A a;
    B b{};
    int emit(AstBuilder& builder) const {
        const int x = a.emit(builder);
        int y = -1;
        if constexpr (!std::is_same_v<B, NoArg>) {
            y = b.emit(builder);
        }
        return builder.ast.add({.op = Op::NodeRel,
                                .sort = Sort::Value,
                                .domain = DomainId::Bool,
                                .a = static_cast<std::int16_t>(R),
                                .kid = {x, y, -1}});
    }
};

template <class A>
concept NodeExpr = Expr<A> && std::same_as<typename A::sort, NodeSort>;

// x is the node of a BlockBackend and has no block-node parent: bdrv_next() visits it.
template <NodeExpr X>
constexpr auto is_root(X x) {
    return GraphRelation<NodeRelation::is_root, X>{x};
}
// p is a block-node parent of x (a file, backing or filtered child edge p -> x).
template <NodeExpr P, NodeExpr X>
constexpr auto parent_of(P p, X x) {
    return GraphRelation<NodeRelation::parent_of, P, X>{p, x};
}
// bdrv_inactivate_all()'s top-down walk reaches a before b (`none` comes after every node).
template <NodeExpr A, NodeExpr B>
constexpr auto inactivated_before(A a, B b) {
    return GraphRelation<NodeRelation::inactivated_before, A, B>{a, b};
}
// bdrv_activate_all()'s bottom-up walk reaches a before b (`none` comes after every node).
template <NodeExpr A, NodeExpr B>
constexpr auto activated_before(A a, B b) {
    return GraphRelation<NodeRelation::activated_before, A, B>{a, b};
}
// The same walk with a shared node met under its first parent instead of its last.
template <NodeExpr A, NodeExpr B>
constexpr auto inactivated_before_early(A a, B b) {
    return GraphRelation<NodeRelation::inactivated_before_early, A, B>{a, b};
}
// x has two block-node parents and p is the first of them in the walks' order.
template <NodeExpr P, NodeExpr X>
constexpr auto first_sharing_parent(P p, X x) {
    return GraphRelation<NodeRelation::first_sharing_parent, P, X>{p, x};
}
// x has two block-node parents, or is below a node that has, and p is the last of them.
template <NodeExpr P, NodeExpr X>
constexpr auto last_sharing_parent(P p, X x) {
    return GraphRelation<NodeRelation::last_sharing_parent, P, X>{p, x};
}
// bdrv_activate_all() enters a (and tests its driver) before it has finished b; never a == b.
template <NodeExpr A, NodeExpr B>
constexpr auto activation_enters_before(A a, B b) {
    return GraphRelation<NodeRelation::activation_enters_before, A, B>{a, b};
}
// x is a format node opened read-write (no backing image): activating it takes the image's write
// lock.
template <NodeExpr X>
constexpr auto takes_write_lock(X x) {
    return GraphRelation<NodeRelation::takes_write_lock, X>{x};
}
// x is a format node (qcow2): the only kind whose re-open can fail and leave bs->drv = NULL.
template <NodeExpr X>
constexpr auto is_format(X x) {
    return GraphRelation<NodeRelation::is_format, X>{x};
}
// x is p's filtered child: the filter passes its users' permissions, WRITE too, on to x.
template <NodeExpr P, NodeExpr X>
constexpr auto filter_of(P p, X x) {
    return GraphRelation<NodeRelation::filter_of, P, X>{p, x};
}
// A write to p goes on to x: p's image file (p a format node) or its filtered child.
template <NodeExpr P, NodeExpr X>
constexpr auto writes_through(P p, X x) {
    return GraphRelation<NodeRelation::writes_through, P, X>{p, x};
}

// ---- operators ---------------------------------------------------------------------------------

template <class A, class B>
concept Comparable =
    (Expr<A> || Expr<B>)&&std::same_as<typename lifted_t<A>::sort, typename lifted_t<B>::sort>;

template <class A, class B>
requires Comparable<A, B>
constexpr auto operator==(A a, B b) {
    return Binary<Op::Eq, lifted_t<A>, lifted_t<B>>{lift(a), lift(b)};
}
template <class A, class B>
requires Comparable<A, B>
constexpr auto operator!=(A a, B b) {
    return Binary<Op::Ne, lifted_t<A>, lifted_t<B>>{lift(a), lift(b)};
}
template <Expr A, Expr B>
requires std::same_as<typename A::sort, NodeSort> && std::same_as<typename B::sort, NodeSort>
constexpr auto operator<(A a, B b) {
    return Binary<Op::Lt, A, B>{a, b};
}
template <Expr A, Expr B>
requires std::same_as<typename A::sort, NodeSort> && std::same_as<typename B::sort, NodeSort>
constexpr auto operator<=(A a, B b) {
    return Binary<Op::Le, A, B>{a, b};
}

template <class A>
concept BoolExpr = Expr<A> && std::same_as<typename A::sort, bool>;
template <class A, class B>
concept BoolOperands = (BoolExpr<A> || BoolExpr<B>)&&std::same_as<
    typename lifted_t<A>::sort, bool>&& std::same_as<typename lifted_t<B>::sort, bool>;

template <class A, class B>
requires BoolOperands<A, B>
constexpr auto operator&&(A a, B b) {
    return Binary<Op::And, lifted_t<A>, lifted_t<B>>{lift(a), lift(b)};
}
template <class A, class B>
requires BoolOperands<A, B>
constexpr auto operator||(A a, B b) {
    return Binary<Op::Or, lifted_t<A>, lifted_t<B>>{lift(a), lift(b)};
}
template <BoolExpr A>
constexpr auto operator!(A a) {
    return Negation<A>{a};
}
template <BoolExpr A, BoolExpr B>
constexpr auto implies(A a, B b) {
    return Binary<Op::Implies, A, B>{a, b};
}

template <class C, class T, class F>
constexpr auto ite(C c, T t, F f) {
    static_assert(std::same_as<typename lifted_t<C>::sort, bool>, "ite: condition must be boolean");
    static_assert(std::same_as<typename lifted_t<T>::sort, typename lifted_t<F>::sort>,
                  "ite: both branches must have the same sort");
    return Conditional<lifted_t<C>, lifted_t<T>, lifted_t<F>>{lift(c), lift(t), lift(f)};
}

template <class Bound, BoolExpr Body>
constexpr auto forall(Bound, Body body) {
    return Quantified<Op::Forall, Bound, Body>{body};
}
template <class Bound, BoolExpr Body>
constexpr auto exists(Bound, Body body) {
    return Quantified<Op::Exists, Bound, Body>{body};
}

template <Expr Body>
constexpr auto named(std::string_view name, Body body) {
    return Named<Body>{name, body};
}
template <Expr Body, Expr A1>
constexpr auto named(std::string_view name, Body body, A1 a1) {
    return Named<Body, A1>{name, body, a1};
}
template <Expr Body, Expr A1, Expr A2>
constexpr auto named(std::string_view name, Body body, A1 a1, A2 a2) {
    return Named<Body, A1, A2>{name, body, a1, a2};
}

template <Expr From, class To>
constexpr auto runstate_transition_allowed(From from, To to) {
    return RunstateAllowed<From, lifted_t<To>>{from, lift(to)};
}

// ---- bound variables, parameters, state variables ----------------------------------------------

inline constexpr HostVar<0> h{}; // the row's host, or the host an invariant quantifies over
inline constexpr HostVar<1> g{}; // a second host variable for invariants
inline constexpr NodeVar<0> n{}; // node variables
inline constexpr NodeVar<1> m{};
inline constexpr NoneNode none{};
inline constexpr Lit<bool> TRUE{true};
inline constexpr Lit<bool> FALSE{false};

template <Expr H>
constexpr auto peer(H host) {
    return PeerOf<H>{host};
}

inline constexpr ParamRef<Param::fail> fail{};
inline constexpr ParamRef<Param::half> half{};
inline constexpr ParamRef<Param::broken> broken{};
inline constexpr ParamRef<Param::flush_fails> flush_fails{};
inline constexpr ParamRef<Param::target> target{};
inline constexpr ParamRef<Param::reactivate_fail> refail{};

template <Var V>
inline constexpr Ref<V> global{};

inline constexpr auto storage_ok = global<Var::storage_ok>;
inline constexpr auto late_block_activate = global<Var::cap_late_block_activate>;
inline constexpr auto pause_before_switchover = global<Var::cap_pause_before_switchover>;
inline constexpr auto postcopy = global<Var::cap_postcopy>;
inline constexpr auto autostart_policy = global<Var::cap_autostart>;
inline constexpr auto image_locking = global<Var::image_locking>;
inline constexpr auto crash = global<Var::crash>;
inline constexpr auto starts_left = global<Var::starts_left>;
inline constexpr auto set_active_left = global<Var::set_active_left>;
inline constexpr auto documented_use = global<Var::documented_use>;

#define HANDOFF_HOST_VAR(name)                                                                     \
    template <Expr H>                                                                              \
    constexpr auto name(H host) {                                                                  \
        return Ref<Var::name, H>{host, {}};                                                        \
    }
HANDOFF_HOST_VAR(alive)
HANDOFF_HOST_VAR(runstate)
HANDOFF_HOST_VAR(mig)
HANDOFF_HOST_VAR(pc)
HANDOFF_HOST_VAR(active_state)
HANDOFF_HOST_VAR(pause_sem)
HANDOFF_HOST_VAR(block_inactive)
HANDOFF_HOST_VAR(vm_was_running)
HANDOFF_HOST_VAR(vm_old_state)
HANDOFF_HOST_VAR(global_state)
HANDOFF_HOST_VAR(received_state)
HANDOFF_HOST_VAR(migration_block_active)
HANDOFF_HOST_VAR(stream_eof)
HANDOFF_HOST_VAR(file_error)
HANDOFF_HOST_VAR(rp_error)
HANDOFF_HOST_VAR(incoming)
HANDOFF_HOST_VAR(autostart)
HANDOFF_HOST_VAR(started_inactive)
HANDOFF_HOST_VAR(tried_inactivate)
#undef HANDOFF_HOST_VAR

template <Expr H, Expr N>
constexpr auto node(H host, N index) {
    return Ref<Var::node, H, N>{host, index};
}

// ---- statements --------------------------------------------------------------------------------

// The identity of an assignment's target within a row, for the "written twice" check: the
// variable and how its host is named (global, h, peer(h)).
struct WriteKey {
    Var var;
    int host; // -1 global, 0 h, 1 peer(h)
};

template <class H>
constexpr int host_key() {
    if constexpr (std::is_void_v<H>) {
        return -1;
    } else if constexpr (std::is_same_v<H, HostVar<0>>) {
        return 0;
    } else {
        return 1;
    }
}

template <Var V, class H, class Value>
struct Assign {
    Ref<V, H> target;
    Value value;
    static constexpr WriteKey key{V, host_key<H>()};
};

template <class H, int Slot, class Value>
struct AssignNodes {
    Ref<Var::node, H, NodeVar<Slot>> target;
    Value value;
    static constexpr WriteKey key{Var::node, host_key<H>()};
};

template <BoolExpr Cond>
struct Assertion {
    Cond cond;
    Crash reason;
};

template <BoolExpr Cond>
struct Assumption {
    Cond cond;
};

// if (cond) { then... } else { otherwise... }: Then and Else are tuples of statements.
template <BoolExpr Cond, class Then, class Else>
struct Conditionally {
    Cond cond;
    Then then_stmts;
    Else else_stmts;
};

template <class Arg, class... S>
struct GroupOf {
    std::string_view name;
    std::string_view args;
    std::string_view doc;
    Arg arg;
    std::tuple<S...> stmts;
};
template <class... S>
using Group = GroupOf<NoArg, S...>;

template <Var V, class H, class Value>
constexpr auto set(Ref<V, H> dest, Value value) {
    static_assert(std::same_as<typename lifted_t<Value>::sort, typename var_type<V>::type>,
                  "set: the value's sort differs from the variable's");
    return Assign<V, H, lifted_t<Value>>{dest, lift(value)};
}
template <class H, int Slot, class Value>
constexpr auto set(Ref<Var::node, H, NodeVar<Slot>> dest, Value value) {
    static_assert(std::same_as<typename lifted_t<Value>::sort, NodeState>,
                  "set: a node's value must be a NodeState");
    return AssignNodes<H, Slot, lifted_t<Value>>{dest, lift(value)};
}

// QEMU's assert(): if `cond` does not hold, the process aborts with `reason`.
template <BoolExpr Cond>
constexpr auto qemu_assert(Cond cond, Crash reason) {
    return Assertion<Cond>{cond, reason};
}

// The row's parameters describe an outcome that is possible here (see StmtKind::Assume).
template <BoolExpr Cond>
constexpr auto assume(Cond cond) {
    return Assumption<Cond>{cond};
}

template <class... S>
constexpr auto group(std::string_view name, std::string_view args, std::string_view doc, S... s) {
    return Group<S...>{name, args, doc, NoArg{}, std::tuple<S...>{s...}};
}
// A group whose call prints an expression argument after `args`: runstate_set(h, FINISH_MIGRATE).
template <Expr Arg, class... S>
constexpr auto group_with(std::string_view name, std::string_view args, Arg arg,
                          std::string_view doc, S... s) {
    return GroupOf<Arg, S...>{name, args, doc, arg, std::tuple<S...>{s...}};
}

template <BoolExpr Cond, class... S>
constexpr auto when(Cond cond, S... s) {
    return Conditionally<Cond, std::tuple<S...>, std::tuple<>>{cond, {s...}, {}};
}
template <BoolExpr Cond, class... T, class... E>
constexpr auto when_else(Cond cond, std::tuple<T...> then_stmts, std::tuple<E...> else_stmts) {
    return Conditionally<Cond, std::tuple<T...>, std::tuple<E...>>{cond, then_stmts, else_stmts};
}
template <class... S>
constexpr auto block(S... s) {
    return std::tuple<S...>{s...};
}

template <class... S>
constexpr auto effect(S... s) {
    return std::tuple<S...>{s...};
}

// ---- statement traversal (compile time: write keys; run time: emission) ------------------------

// The variables a statement list writes, as a small constexpr set. A variable may be written in
// both branches of a conditional, but not twice on one path.
struct WriteSet {
    std::array<WriteKey, 48> keys{};
    std::size_t size = 0;
    int twice = kVarCount; // the first variable written twice on one path, or kVarCount

    constexpr bool contains(WriteKey k) const {
        for (std::size_t i = 0; i < size; ++i) {
            if (keys[i].var == k.var && keys[i].host == k.host) {
                return true;
            }
        }
        return false;
    }
    constexpr void add(WriteKey k) {
        if (contains(k)) {
            if (twice == kVarCount) {
                twice = static_cast<int>(k.var);
            }
            return;
        }
        keys[size++] = k;
    }
    constexpr void add_all(const WriteSet& other) {
        for (std::size_t i = 0; i < other.size; ++i) {
            add(other.keys[i]);
        }
        if (twice == kVarCount) {
            twice = other.twice;
        }
    }
};

template <class S>
struct stmt_writes;

template <class... S>
constexpr WriteSet writes_of(std::type_identity<std::tuple<S...>>) {
    WriteSet w;
    (w.add_all(stmt_writes<S>::value()), ...);
    return w;
}

template <Var V, class H, class Value>
struct stmt_writes<Assign<V, H, Value>> {
    static constexpr WriteSet value() {
        WriteSet w;
        w.add(Assign<V, H, Value>::key);
        return w;
    }
};
template <class H, int Slot, class Value>
struct stmt_writes<AssignNodes<H, Slot, Value>> {
    static constexpr WriteSet value() {
        WriteSet w;
        w.add(AssignNodes<H, Slot, Value>::key);
        return w;
    }
};
template <class Cond>
struct stmt_writes<Assertion<Cond>> {
    static constexpr WriteSet value() { return {}; }
};
template <class Cond>
struct stmt_writes<Assumption<Cond>> {
    static constexpr WriteSet value() { return {}; }
};
template <class Arg, class... S>
struct stmt_writes<GroupOf<Arg, S...>> {
    static constexpr WriteSet value() { return writes_of(std::type_identity<std::tuple<S...>>{}); }
};
template <class Cond, class Then, class Else>
struct stmt_writes<Conditionally<Cond, Then, Else>> {
    static constexpr WriteSet value() {
        WriteSet then_w = writes_of(std::type_identity<Then>{});
        WriteSet else_w = writes_of(std::type_identity<Else>{});
        WriteSet w = then_w;
        for (std::size_t i = 0; i < else_w.size; ++i) {
            if (!w.contains(else_w.keys[i])) {
                w.add(else_w.keys[i]);
            }
        }
        if (w.twice == kVarCount) {
            w.twice = else_w.twice;
        }
        return w;
    }
};

// The first variable an effect writes twice on one path, or kVarCount if none.
template <class Eff>
constexpr int first_double_write(std::type_identity<Eff> eff) {
    return writes_of(eff).twice;
}

struct StmtEmitter {
    AstBuilder& b;
    Effect& out;
    int group = -1;

    template <Var V, class H, class Value>
    void operator()(const Assign<V, H, Value>& s) {
        int hk = -1;
        if constexpr (!std::is_void_v<H>) {
            hk = s.target.h.emit(b);
        }
        out.stmts.push_back({.kind = StmtKind::Assign,
                             .var = V,
                             .host = hk,
                             .value = s.value.emit(b),
                             .group = group});
    }
    template <class H, int Slot, class Value>
    void operator()(const AssignNodes<H, Slot, Value>& s) {
        out.stmts.push_back({.kind = StmtKind::AssignNodes,
                             .var = Var::node,
                             .host = s.target.h.emit(b),
                             .node_slot = Slot,
                             .value = s.value.emit(b),
                             .group = group});
    }
    template <class Cond>
    void operator()(const Assertion<Cond>& s) {
        out.stmts.push_back({.kind = StmtKind::Assert,
                             .value = s.cond.emit(b),
                             .reason = s.reason,
                             .group = group});
    }
    template <class Cond>
    void operator()(const Assumption<Cond>& s) {
        out.stmts.push_back({.kind = StmtKind::Assume, .value = s.cond.emit(b), .group = group});
    }
    template <class Cond, class Then, class Else>
    void operator()(const Conditionally<Cond, Then, Else>& s) {
        out.stmts.push_back({.kind = StmtKind::If, .value = s.cond.emit(b), .group = group});
        std::apply([&](const auto&... x) { ((*this)(x), ...); }, s.then_stmts);
        if constexpr (std::tuple_size_v < Else >> 0) {
            out.stmts.push_back({.kind = StmtKind::Else, .group = group});
            std::apply([&](const auto&... x) { ((*this)(x), ...); }, s.else_stmts);
        }
        out.stmts.push_back({.kind = StmtKind::EndIf, .group = group});
    }
    template <class Arg, class... S>
    void operator()(const GroupOf<Arg, S...>& s) {
        int saved = group;
        int arg = -1;
        if constexpr (!std::is_same_v<Arg, NoArg>) {
            arg = s.arg.emit(b);
        }
        out.groups.push_back({s.name, s.args, s.doc, saved, arg});
        group = static_cast<int>(out.groups.size()) - 1;
        std::apply([&](const auto&... x) { ((*this)(x), ...); }, s.stmts);
        group = saved;
    }
};

template <class... S>
void emit_effect(const std::tuple<S...>& eff, AstBuilder& b, Effect& out) {
    StmtEmitter e{b, out};
    std::apply([&](const auto&... x) { (e(x), ...); }, eff);
}

} // namespace handoff::model::dsl
