// QEMU's building blocks, written once in the expression language and used by the rows of every
// version: the block layer's walks (block.c), vm_start()/runstate_set() (cpus.c, runstate.c), and
// the predicates the rows' guards share. Each returns a named statement group or a named
// expression, so that the specification prints `bdrv_inactivate_all(h)` and explains it once.
#pragma once

#include "handoff/model/expr.hpp"

#include <array>

namespace handoff::model::tables {

using namespace dsl;
using NS = NodeState;
using RS = RunState;
using MS = MigStatus;
using PC = ThreadPc;
using IN = Incoming;

// The other node variable: nested quantifiers use n and m in turn.
template <class X>
constexpr auto other_than(X) {
    if constexpr (std::is_same_v<X, NodeVar<0>>) {
        return m;
    } else {
        return n;
    }
}

constexpr auto all_nodes_active(auto host) {
    return named("all_nodes_active", forall(n, node(host, n) == NS::ACTIVE), host);
}

// The node's BDRV_O_INACTIVE flag is clear: ACTIVE, or half-inactivated (the flag was never set).
// BROKEN has it set: bdrv_activate() sets it again when qcow2's re-open fails.
template <class V>
constexpr auto flag_clear(V v) {
    return v == NS::ACTIVE || v == NS::HALF_INACTIVE;
}

// The other process holds image x's write lock, so QEMU's image locking makes activating x fail.
// Only a format node opened read-write asks for that lock: bdrv_activate() clears its flag and
// bdrv_refresh_perms() asks WRITE of its file child and unshares WRITE
// (bdrv_default_perms_for_storage(), block.c 10.0.2:2806-2883), which file-posix's
// raw_handle_perm_lock() refuses while the other process's node of the same image holds WRITE.
// The file node itself takes no write lock when it is activated under a still inactive parent
// (an inactive parent shares WRITE, :2878-2880), a backing image is opened read-only and asks
// CONSISTENT_READ alone (bdrv_default_perms_for_cow(), :2770-2804), and a filter asks nothing of
// its own; the lock those nodes stand on is taken at the format node above. An ACTIVE node holds
// it, and so does a half-inactivated one: its BDRV_O_INACTIVE flag is clear, so
// bdrv_is_writable_after_reopen() is true (:2184-2190) and the file child keeps WRITE; only an
// INACTIVE node shares WRITE. (A node without a driver is left out: whether its file child keeps
// the lock depends on where qcow2's re-open failed.) On the flat graph every node is such a
// format node, standing for its disk.
template <class H, class X>
constexpr auto locked_by_peer(H host, X x) {
    return named("locked_by_peer",
                 image_locking && takes_write_lock(x) && alive(peer(host)) &&
                     flag_clear(node(peer(host), x)),
                 host, x);
}

// ---- a guest write on the block graph ----------------------------------------------------------

// bdrv_co_write_req_prepare() (block/io.c 10.0.2:1976, 8.0.5:1815) asserts that a node a write
// reaches is active (:2004-2006): not INACTIVE, and not half-inactivated, whose BlockBackend has
// lost WRITE (asserted too).
template <class V>
constexpr auto refuses_write(V v) {
    return v == NS::INACTIVE || v == NS::HALF_INACTIVE;
}

// bdrv_is_inserted() (block.c; later bdrv_co_is_inserted()): node x has a driver,
// and so has every node below it, over every child (the backing image too: the loop takes
// bs->children whatever their role), to the graph's depth. A BlockBackend whose node is not
// inserted fails every request with -ENOMEDIUM in blk_check_byte_request() (block-backend.c,
// !blk_is_available()) before it reaches any node, and
// bdrv_all_snapshots_includes_bs() leaves such a node out of a snapshot. On flat: not BROKEN.
// (Found by the conformance harness: on 7.2.22 a guest write to an inactive disk over a backing
// image without a driver returned "No medium found" where the model had it abort.)
template <int D, class H, class X>
constexpr auto inserted_within(H host, X x) {
    if constexpr (D == 0) {
        return node(host, x) != NS::BROKEN;
    } else {
        constexpr auto c = other_than(X{});
        return node(host, x) != NS::BROKEN &&
               forall(c, implies(parent_of(x, c), inserted_within<D - 1>(host, c)));
    }
}

template <class H, class X>
constexpr auto inserted(H host, X x) {
    return named("inserted", inserted_within<kWalkDepth>(host, x), host, x);
}

// A write to node x meets a node that is not active, going down the data path: x, then the child
// a write goes on to (writes_through: a format node's image file, a filter's filtered child;
// never a backing image), and so on to the graph's depth (kWalkDepth). A node without a driver
// ends the request there: bdrv_co_pwritev_part() returns -ENOMEDIUM (block/io.c 10.0.2:2242-2243)
// before bdrv_co_write_req_prepare() asserts anything (a guest write never gets that far: its
// BlockBackend checks inserted() first). On the flat graph x has no such child.
template <int D, class H, class X>
constexpr auto write_meets_inactive_within(H host, X x) {
    if constexpr (D == 0) {
        return refuses_write(node(host, x));
    } else {
        constexpr auto c = other_than(X{});
        return refuses_write(node(host, x)) ||
               (node(host, x) == NS::ACTIVE &&
                exists(c, writes_through(x, c) && write_meets_inactive_within<D - 1>(host, c)));
    }
}

template <class H, class X>
constexpr auto write_meets_inactive(H host, X x) {
    return named("write_meets_inactive", write_meets_inactive_within<kWalkDepth>(host, x), host, x);
}

// The nodes save_snapshot() snapshots (bdrv_all_snapshots_includes_bs(), block/snapshot.c
// 10.0.2:518-530, 8.0.5:497-506): inserted (a driver here and below: !bdrv_is_inserted() leaves
// the node out), and used by a BlockBackend or without a parent: the graph's roots, the instance
// being opened as -drive opens it (graph.hpp).
template <class H>
constexpr auto snapshot_has_node(H host) {
    return named("snapshot_has_node", exists(n, is_root(n) && inserted(host, n)), host);
}

// The VM state and the snapshots are written into those nodes and go on down their data path,
// bdrv_co_write_req_prepare() asserting on each node that it is not inactive. The writes go
// through the block layer, not a BlockBackend, so a half-inactivated root (its flag clear, its
// file child still writable) takes them. On the flat graph: some node is INACTIVE.
template <class H>
constexpr auto snapshot_meets_inactive(H host) {
    return named(
        "snapshot_meets_inactive",
        exists(n, is_root(n) && inserted(host, n) &&
                      (node(host, n) == NS::INACTIVE ||
                       (flag_clear(node(host, n)) &&
                        exists(m, writes_through(n, m) &&
                                      write_meets_inactive_within<kWalkDepth - 1>(host, m))))),
        host);
}

// ---- the walks on the block graph ---------------------------------------------------------------
//
// QEMU's two walks are recursive loops; the expression language has no loop, so each is written
// as what it leaves, in closed form over the graph's static relations (graph.hpp, and
// docs/design-block-graph.md):
// * which nodes the walk would visit if nothing failed: a start node (every root for the
//   bdrv_next() loop, the one node for blockdev-set-active node-name), and each child of a node
//   the walk passes through, written out to the graph's depth (kWalkDepth);
// * where it stops: at the first node, in the walk's order, whose visit fails. Before that node
//   the walk is exactly the one that would be, so a node is processed iff it would be visited and
//   no failing visit comes before it.
// On the flat graph every node is a root with no children, and this is the loop over node indices
// the tables had before the graph: `inactivated_before(y, x)` is `y < x` there. On a graph with a
// shared node the walk's order depends on the states, between two static orders
// (inactivation_meets_shared_early() below).

// A walk starts at every root (the bdrv_next() loop) or at one node (blockdev-set-active with a
// node-name). `top_level` is QEMU's argument of the same name. Each start names the helpers below
// on the specification's pages.
enum class WalkPart : std::uint8_t {
    inactivation_visits,
    inactivation_enters,
    inactivation_fails_at,
    inactivation_reaches,
    activation_stops_at,
    activation_reaches,
    inactivation_may_end,
    no_inactive_child_entered,
    activation_may_end,
    inactivation_meets_shared_early,
};
struct FromRoots {
    static constexpr std::array<std::string_view, 10> names{
        "inactivation_visits",   "inactivation_enters",
        "inactivation_fails_at", "inactivation_reaches",
        "activation_stops_at",   "activation_reaches",
        "inactivation_may_end",  "no_inactive_child_entered",
        "activation_may_end",    "inactivation_meets_shared_early"};
    // Per depth (0 .. kWalkDepth): the levels of the written-out recursion.
    static constexpr std::array<std::string_view, 3> passes_names{
        "inactivation_passes_0", "inactivation_passes_1", "inactivation_passes"};
    static constexpr std::array<std::string_view, 3> visits_names{
        "activation_visits_0", "activation_visits_1", "activation_visits"};
    template <class X>
    constexpr auto operator()(X x) const {
        return is_root(x);
    }
};
static_assert(kWalkDepth == 2, "FromRoots and FromTarget name one level per depth");
struct FromTarget {
    static constexpr std::array<std::string_view, 10> names{
        "node_inactivation_visits",   "node_inactivation_enters",
        "node_inactivation_fails_at", "node_inactivation_reaches",
        "node_activation_stops_at",   "node_activation_reaches",
        "node_inactivation_may_end",  "node_no_inactive_child_entered",
        "node_activation_may_end",    "node_inactivation_meets_shared_early"};
    static constexpr std::array<std::string_view, 3> passes_names{
        "node_inactivation_passes_0", "node_inactivation_passes_1", "node_inactivation_passes"};
    static constexpr std::array<std::string_view, 3> visits_names{
        "node_activation_visits_0", "node_activation_visits_1", "node_activation_visits"};
    template <class X>
    constexpr auto operator()(X x) const {
        return x == target;
    }
};

// The node states a walk starts from: the host's current ones. (A walk over other values, as
// `fail:`'s activation over what a failed inactivation left, is written out unnamed.)
template <class H>
struct CurrentNodes {
    H host;
    template <class X>
    constexpr auto operator()(X x) const {
        return node(host, x);
    }
};
template <class V>
inline constexpr bool is_current_nodes = false;
template <class H>
inline constexpr bool is_current_nodes<CurrentNodes<H>> = true;

// A helper's body under its name on the specification's pages, when the walk starts from the
// current node states.
template <class Val, class Body, class A1, class A2>
constexpr auto walk_named_as(std::string_view name, Body body, A1 a1, A2 a2) {
    if constexpr (is_current_nodes<Val>) {
        return named(name, body, a1, a2);
    } else {
        return body;
    }
}
template <WalkPart P, class Start, class Val, class Body, class A1, class A2>
constexpr auto walk_named(Body body, A1 a1, A2 a2) {
    if constexpr (is_current_nodes<Val>) {
        return named(Start::names[static_cast<std::size_t>(P)], body, a1, a2);
    } else {
        return body;
    }
}

// bdrv_inactivate_recurse(x) (block.c 8.0.5:6730, 10.0.2:6984) would inactivate node x and go on
// into its children, if nothing failed: x is visited (a start node, or a child of a node the walk
// passes), has a driver (else -ENOMEDIUM), no block-node parent with the flag clear
// (bdrv_has_bds_parent(bs, true): "it will be covered by recursion from the yet active parent";
// a parent this walk passes counts as inactive, since x's visit through it comes after it), and
// its own flag clear (10.x returns 0 on an inactive node without going into its children; before
// 10.0 that node fails an assertion). `D` is how many parent steps up the walk may still look.
template <int D, class H, class Start, class Val, class X>
constexpr auto passes_within(H host, Start start, Val val, X x) {
    if constexpr (D < 0) {
        return FALSE;
    } else {
        constexpr auto p = other_than(X{});
        auto visited =
            start(x) || exists(p, parent_of(p, x) && passes_within<D - 1>(host, start, val, p));
        auto no_active_parent =
            forall(p, implies(parent_of(p, x),
                              !flag_clear(val(p)) || passes_within<D - 1>(host, start, val, p)));
        return walk_named_as<Val>(
            Start::passes_names[static_cast<std::size_t>(D)],
            visited && val(x) != NS::BROKEN && no_active_parent && flag_clear(val(x)), host, x);
    }
}

template <class H, class Start, class Val, class X>
constexpr auto inactivation_passes(H host, Start start, Val val, X x) {
    return passes_within<kWalkDepth>(host, start, val, x);
}

// x is visited by the inactivation walk, if nothing failed before.
template <class H, class Start, class Val, class X>
constexpr auto inactivation_visits(H host, Start start, Val val, X x) {
    constexpr auto p = other_than(X{});
    return walk_named<WalkPart::inactivation_visits, Start, Val>(
        start(x) ||
            exists(p, parent_of(p, x) && passes_within<kWalkDepth - 1>(host, start, val, p)),
        host, x);
}

// x is visited and gets past the -ENOMEDIUM and active-parent checks (where the assertions are).
template <class H, class Start, class Val, class X>
constexpr auto inactivation_enters(H host, Start start, Val val, X x) {
    constexpr auto p = other_than(X{});
    return walk_named<WalkPart::inactivation_enters, Start, Val>(
        inactivation_visits(host, start, val, x) && val(x) != NS::BROKEN &&
            forall(p, implies(parent_of(p, x), !flag_clear(val(p)) || passes_within<kWalkDepth - 1>(
                                                                          host, start, val, p))),
        host, x);
}

// x's visit fails and stops the walk: a node without a driver (-ENOMEDIUM, an error the caller
// sees), or the node `fail` whose inactivation fails (I/O while the storage does not answer).
template <class H, class Start, class Val, class X>
constexpr auto inactivation_fails_at(H host, Start start, Val val, X x) {
    return walk_named<WalkPart::inactivation_fails_at, Start, Val>(
        (val(x) == NS::BROKEN && inactivation_visits(host, start, val, x)) ||
            (x == fail && inactivation_passes(host, start, val, x)),
        host, x);
}

// Where the walk meets a shared node. On a graph where a node has two block-node parents
// (shared-base: the base image under both disks), the walk meets it once from each parent it
// inactivates. bdrv_inactivate_recurse() tests the driver first (-ENOMEDIUM, block.c
// 10.0.2:6992-6994; 8.0.5:6738) and only then skips a node whose parent is still active
// (:6998-7000): so a driverless shared node stops the walk at the first meeting, under its first
// parent when the walk inactivates that one; any other shared node is inactivated, or fails, at
// the last meeting, under its last parent when the walk inactivates that one, else under its
// first (the last was inactive already, or is not on this walk's way). "Early" says that the
// node, and what is below it, sit under the first parent: the order inactivated_before_early.
// The sharing parents are roots (BlockGraph::walk_limit() refuses other graphs), and the walk
// inactivates a root iff it starts there with the flag clear. On a tree there is no shared node,
// and this is false.
template <class H, class Start, class Val, class X>
constexpr auto inactivation_meets_shared_early(H host, Start start, Val val, X x) {
    constexpr auto p = other_than(X{});
    return walk_named<WalkPart::inactivation_meets_shared_early, Start, Val>(
        ite(val(x) == NS::BROKEN,
            exists(p, first_sharing_parent(p, x) && start(p) && flag_clear(val(p))),
            exists(p, last_sharing_parent(p, x) && !(start(p) && flag_clear(val(p))))),
        host, x);
}

// The walk reaches x: x is visited and no visit before it, in the walk's top-down order, failed.
// The order is the one with the shared node under its last parent, unless y's failure or x's
// visit is where the walk meets the shared node early.
template <class H, class Start, class Val, class X>
constexpr auto inactivation_reaches(H host, Start start, Val val, X x) {
    constexpr auto y = other_than(X{});
    return walk_named<WalkPart::inactivation_reaches, Start, Val>(
        inactivation_visits(host, start, val, x) &&
            !exists(y, ite(inactivation_meets_shared_early(host, start, val, y) ||
                               inactivation_meets_shared_early(host, start, val, x),
                           inactivated_before_early(y, x), inactivated_before(y, x)) &&
                           inactivation_fails_at(host, start, val, y)),
        host, x);
}

// ---- inactivation ------------------------------------------------------------------------------

// Which outcomes of an inactivation walk are possible: it fails only while the storage does not
// answer, at a read-write format node the walk reaches and would inactivate; `half` only with a
// failure. Only a format node does I/O when it is inactivated: bdrv_inactivate_recurse() (block.c
// 10.0.2:6984-7050, the same steps in 8.0.5:6730) calls drv->bdrv_inactivate, which only qcow2
// has (qcow2_inactivate(), qcow2.c 10.0.2:6189: bitmaps, cache flushes, the clean mark), then
// the parents' inactivate callbacks (a node parent's, bdrv_child_cb_inactivate(), returns 0; a
// BlockBackend's does no I/O), then sets the flag; a protocol or filter node has no
// bdrv_inactivate, so its inactivation cannot fail on the storage. Nor can a backing image's:
// it is opened read-only (bdrv_backing_options()), so it has no dirty cache entry to write,
// its bitmaps are read-only and not stored (qcow2_store_persistent_dirty_bitmaps() skips them),
// and the flush of its file returns at once (bdrv_co_flush() on a read-only node, block/io.c).
// The format nodes opened read-write are the ones that take the image's write lock:
// takes_write_lock(x). `half` (a BlockBackend parent's blk_root_inactivate() ran, the flag was
// not set: domain reference 2.2) needs a node with a BlockBackend parent, a root; elsewhere
// nothing of a failed inactivation is left half done. (Every node of the flat graph is a
// read-write format node and a root.)
template <class H, class Start = FromRoots>
constexpr auto inactivation_may_end(H host, Start start = {}) {
    const CurrentNodes<H> val{host};
    return named(Start::names[static_cast<std::size_t>(WalkPart::inactivation_may_end)],
                 (fail == none && !half) ||
                     (!storage_ok &&
                      exists(n, n == fail && takes_write_lock(n) && implies(half, is_root(n)) &&
                                    inactivation_reaches(host, start, val, n) &&
                                    inactivation_passes(host, start, val, n))),
                 host);
}

// What the caller of bdrv_inactivate_all() sees: the walk succeeded (no I/O failure and no
// visited node without a driver).
template <class H>
constexpr auto inactivation_ok(H host) {
    const CurrentNodes<H> val{host};
    return named("inactivation_ok",
                 fail == none && !exists(n, node(host, n) == NS::BROKEN &&
                                                inactivation_visits(host, FromRoots{}, val, n)),
                 host);
}

// The node values bdrv_inactivate_all() leaves (both semantics: an inactive node is never changed).
// The failing node is left as it was, or half-inactivated when blk_root_inactivate() ran before
// the error; nothing is rolled back.
template <class H, class X, class Start = FromRoots>
constexpr auto inactivated_value(H host, X x, Start start = {}) {
    const CurrentNodes<H> val{host};
    return ite(inactivation_reaches(host, start, val, x) &&
                   inactivation_passes(host, start, val, x) && x != fail,
               NS::INACTIVE, ite(x == fail && half, NS::HALF_INACTIVE, node(host, x)));
}

// Before 10.0, bdrv_inactivate_recurse() asserts that a node it enters is not inactive yet (only
// bdrv_inactivate_all() walks there: 10.0 brought blockdev-set-active).
template <class H>
constexpr auto no_inactive_node_entered(H host) {
    const CurrentNodes<H> val{host};
    constexpr FromRoots start{};
    return named("no_inactive_node_entered",
                 forall(n, implies(inactivation_reaches(host, start, val, n) &&
                                       inactivation_enters(host, start, val, n),
                                   node(host, n) != NS::INACTIVE)),
                 host);
}

// From 10.0 it returns 0 on an inactive node it enters as a start node (top_level), and asserts
// top_level on any other: "if a child is already inactive before its parent, that's bad".
template <class H, class Start = FromRoots>
constexpr auto no_inactive_child_entered(H host, Start start = {}) {
    const CurrentNodes<H> val{host};
    return named(Start::names[static_cast<std::size_t>(WalkPart::no_inactive_child_entered)],
                 forall(n, implies(inactivation_reaches(host, start, val, n) &&
                                       inactivation_enters(host, start, val, n) && !start(n),
                                   node(host, n) != NS::INACTIVE)),
                 host);
}

// bdrv_inactivate_all() before 10.0 (block.c 8.0.5:6794 and bdrv_inactivate_recurse() :6730):
// the roots in bdrv_next() order, each top-down, a child only once its block-node parents are
// inactive; stop at the first failure, no rollback; an already inactive node fails
// assert(!(bs->open_flags & BDRV_O_INACTIVE)). The failing node is left as it was, or
// half-inactivated when blk_root_inactivate() ran before the error.
template <class H>
constexpr auto bdrv_inactivate_all_asserting(H host) {
    return group(
        "bdrv_inactivate_all", "h, fail, half",
        "block.c bdrv_inactivate_all()/bdrv_inactivate_recurse() before 10.0: walks the roots in "
        "bdrv_next() order, each top-down (a child once its parents are inactive), and stops at "
        "the first failure (node `fail`, or a node without a driver), rolling nothing back; an "
        "already inactive node fails assert(!(bs->open_flags & BDRV_O_INACTIVE)).",
        assume(inactivation_may_end(host)),
        qemu_assert(no_inactive_node_entered(host), Crash::DOUBLE_INACTIVATE),
        set(node(host, n), inactivated_value(host, n)));
}

// bdrv_inactivate_all() from 10.0 ("block: Allow inactivating already inactive nodes"): an
// inactive root is skipped; an inactive child under a parent the walk inactivates fails
// assert(top_level) (block.c 10.0.2:7004-7011).
template <class H>
constexpr auto bdrv_inactivate_all_skipping(H host) {
    return group(
        "bdrv_inactivate_all", "h, fail, half",
        "block.c bdrv_inactivate_all()/bdrv_inactivate_recurse(bs, top_level) in 10.x: walks the "
        "roots in bdrv_next() order, each top-down (a child once its parents are inactive), "
        "skips inactive roots, asserts top_level on an inactive child, stops at the first failure "
        "(node `fail`, or a node without a driver), rolling nothing back.",
        assume(inactivation_may_end(host)),
        qemu_assert(no_inactive_child_entered(host), Crash::INACTIVE_CHILD),
        set(node(host, n), inactivated_value(host, n)));
}

// bdrv_inactivate() of node `target` (10.x, blockdev-set-active node-name=... active=false;
// block.c 10.0.2:7057-7076): refused with "Node has active parent node" while a block-node parent
// has its flag clear; otherwise bdrv_inactivate_recurse(target, true), the walk from that node.
template <class H>
constexpr auto target_has_active_parent(H host) {
    return named("target_has_active_parent",
                 exists(n, parent_of(n, target) && flag_clear(node(host, n))), host);
}

template <class H>
constexpr auto bdrv_inactivate_node(H host) {
    return group(
        "bdrv_inactivate", "h, target, fail, half",
        "block.c bdrv_inactivate(): \"Node has active parent node\" while a block-node parent is "
        "active (nothing changes); otherwise bdrv_inactivate_recurse(target, true): the node, "
        "then its children top-down, stopping at the first failure (node `fail`, or a node "
        "without a driver); an inactive target is skipped, an inactive child asserts top_level.",
        assume(implies(target_has_active_parent(host), fail == none && !half)),
        when(!target_has_active_parent(host), assume(inactivation_may_end(host, FromTarget{})),
             qemu_assert(no_inactive_child_entered(host, FromTarget{}), Crash::INACTIVE_CHILD),
             set(node(host, n), inactivated_value(host, n, FromTarget{}))));
}

// ---- activation --------------------------------------------------------------------------------

// bdrv_activate(x) (block.c 8.0.5:6599, 10.0.2:6852) visits x: a start node, or a child of a
// visited node that has a driver (a node without one returns -ENOMEDIUM before its children).
template <int D, class H, class Start, class Val, class X>
constexpr auto activation_visits_within(H host, Start start, Val val, X x) {
    if constexpr (D <= 0) {
        return walk_named_as<Val>(Start::visits_names[0], start(x), host, x);
    } else {
        constexpr auto p = other_than(X{});
        return walk_named_as<Val>(
            Start::visits_names[static_cast<std::size_t>(D)],
            start(x) || exists(p, parent_of(p, x) && val(p) != NS::BROKEN &&
                                      activation_visits_within<D - 1>(host, start, val, p)),
            host, x);
    }
}

template <class H, class Start, class Val, class X>
constexpr auto activation_visits(H host, Start start, Val val, X x) {
    return activation_visits_within<kWalkDepth>(host, start, val, x);
}

// x's visit stops the walk: the failing node (an error), or a start node without a driver:
// bdrv_activate() returns -ENOMEDIUM without an error and bdrv_activate_all() stops (block.c
// 10.0.2:6862-6864, :6955-6959). A driverless child does not stop anything: its parent tests only
// the error pointer and activates over it (domain reference, section 2.4).
template <class H, class Start, class Val, class X, class F>
constexpr auto activation_stops_at(H host, Start start, Val val, X x, F failing) {
    return walk_named<WalkPart::activation_stops_at, Start, Val>(
        (start(x) && val(x) == NS::BROKEN) ||
            (x == failing && activation_visits(host, start, val, x)),
        x, failing);
}

// The walk reaches x: x is visited and no visit before it, in the walk's bottom-up order (a
// node's children before the node), stopped the walk. A start node without a driver stops it as
// it is entered, before its children: before a shared child it would have met first
// (activation_enters_before); the failing node stops it once its children are done.
template <class H, class Start, class Val, class X, class F>
constexpr auto activation_reaches(H host, Start start, Val val, X x, F failing) {
    constexpr auto y = other_than(X{});
    return walk_named<WalkPart::activation_reaches, Start, Val>(
        activation_visits(host, start, val, x) &&
            !exists(y, ite(val(y) == NS::BROKEN, activation_enters_before(y, x),
                           activated_before(y, x)) &&
                           activation_stops_at(host, start, val, y, failing)),
        x, failing);
}

// Which outcomes of an activation walk are possible. The walk fails at node `F` only if that node
// needs activating (INACTIVE or half-inactivated) and either the storage does not answer or the
// other process holds the image (image locking); a node held by the other process must fail.
// `B` (qcow2's re-open failed, bs->drv = NULL) needs an INACTIVE format node and an I/O failure.
// An INACTIVE node is activated only while the storage answers: bdrv_activate() (block.c
// 8.0.5:6599) runs bdrv_invalidate_cache() on a node with BDRV_O_INACTIVE, and
// qcow2_co_invalidate_cache() (qcow2.c 8.0.5:2781) closes the image and re-opens it with
// qcow2_do_open(), whose first step reads the image header from bs->file; while the storage does
// not answer, that read fails, so the walk stops at that node or before it. A protocol node reads
// nothing when it is activated, but over local files (image_locking) its bdrv_refresh_perms()
// takes the image locks on that storage (file-posix raw_check_perm()), so it needs the storage
// too; an NBD client node takes no lock and does no I/O there, nor does a filter node, so those
// activate without the storage. (The storage is up or down for a whole step, as everywhere in
// the model: an outage in the middle of a walk, after an inactive node was re-opened, has no
// step; proptests/README.md.)
// qcow2's re-open is never reached while the other process holds the image: bdrv_activate()
// runs the node's bdrv_refresh_perms(), which takes the write lock on its file child, before
// bdrv_invalidate_cache() (block.c 10.0.2:6877-6889, the same order in 8.0.5:6599), so a locked
// image fails with the node still INACTIVE, never BROKEN.
// A half-inactivated node has the flag clear: only the parents' activate callbacks run
// (blk_root_activate() -> blk_set_perm(): permissions and image locks, no read of the image), so
// it may be activated without the storage.
// `val(x)` is node x's state when the walk starts (the current state, or the state an
// inactivation earlier in the same step left).
template <class H, class F, class B, class Val, class Start = FromRoots>
constexpr auto activation_may_end_over(std::string_view name, H host, F failing, B breaks, Val val,
                                       Start start = {}) {
    auto needs_activation = [&](auto x) {
        return val(x) == NS::INACTIVE || val(x) == NS::HALF_INACTIVE;
    };
    // A filter over a driverless node cannot be activated: blk_root_activate() gives the guest's
    // BlockBackend its WRITE back, the filter passes it on (bdrv_filter_default_perms()), and the
    // driverless child, whose flag bdrv_activate() set again, refuses it ("Block node is
    // read-only": bdrv_node_refresh_perm(), block.c 10.0.2:2519-2530), so bdrv_activate() of the
    // filter fails with that error. (A qcow2 node asks no WRITE of its backing child,
    // bdrv_default_perms_for_cow() :2783, so it activates over a driverless backing node.)
    auto blocked_by_driverless_child = [&](auto x) {
        constexpr auto c = other_than(decltype(x){});
        return exists(c, filter_of(x, c) && val(c) == NS::BROKEN);
    };
    // Whether activating x needs the storage to answer (above): a format node, or a protocol
    // node over local files; not an NBD client node, not a filter node.
    auto needs_storage = [&](auto x) {
        constexpr auto c = other_than(decltype(x){});
        return is_format(x) || (image_locking && !exists(c, filter_of(x, c)));
    };
    // A node the walk activated before the failing one (or before its end).
    auto activated = [&](auto x) {
        return !locked_by_peer(host, x) &&
               implies(val(x) == NS::INACTIVE, storage_ok || !needs_storage(x)) &&
               !blocked_by_driverless_child(x);
    };
    return named(
        name,
        forall(m, implies(m != failing && activation_reaches(host, start, val, m, failing) &&
                              needs_activation(m),
                          activated(m))) &&
            ((failing == none && !breaks) ||
             exists(n, n == failing && activation_reaches(host, start, val, n, failing) &&
                           needs_activation(n) &&
                           ((!storage_ok && needs_storage(n)) || locked_by_peer(host, n) ||
                            blocked_by_driverless_child(n)) &&
                           implies(breaks, val(n) == NS::INACTIVE && is_format(n) && !storage_ok &&
                                               !locked_by_peer(host, n)))),
        host, failing);
}

template <class H, class F, class B>
constexpr auto activation_may_end(H host, F failing, B breaks) {
    return activation_may_end_over("activation_may_end", host, failing, breaks,
                                   CurrentNodes<H>{host});
}

// What bdrv_activate_all(errp)'s caller observes: every caller tests only the error pointer
// (qmp_cont(), process_incoming_migration_bh(), loadvm_postcopy_handle_run_bh(),
// migrate_fd_cancel(), migration_completion()'s fail label, migration_block_activate()), never the
// result. A failing node sets the error (`failing`); a node without a driver stops the walk with
// -ENOMEDIUM and sets none (block.c bdrv_activate() 8.0.5:6608-6610, 10.2.0:6848-6850;
// bdrv_activate_all() 10.2.0:6940-6947), so to its caller that walk succeeded, although the nodes
// after it in bdrv_next() order keep their state (domain reference, section 2.4).
template <class H, class F>
constexpr auto no_activation_error(H host, F failing) {
    return named("no_activation_error", failing == none, host, failing);
}

// The node values bdrv_activate_all() leaves, starting from `val(n)`: the nodes the walk passed
// are ACTIVE (a parent over a driverless child too), the ones after the stop keep their state,
// and the failing node is BROKEN if qcow2's re-open failed, otherwise INACTIVE, whatever it was
// before; its parents keep their state (bdrv_activate() returns -EINVAL after a child's error
// without touching the parent). bdrv_activate() (block.c 8.0.5:6599, the same through 10.2) sets
// bs->open_flags |= BDRV_O_INACTIVE on every failure after the children: bdrv_refresh_perms(),
// bdrv_invalidate_cache(), and a parent's activate callback. A half-inactivated node (flag clear,
// its BlockBackends' disable_perm set) only runs the callbacks, and when blk_root_activate() ->
// blk_set_perm() fails (block-backend.c: it puts blk->disable_perm back), the node ends with the
// flag set: INACTIVE, not half-inactivated.
template <class H, class F, class B, class Val, class Start = FromRoots>
constexpr auto activated_value(H host, F failing, B breaks, Val val, Start start = {}) {
    return ite(activation_reaches(host, start, val, n, failing) && val(n) != NS::BROKEN &&
                   n != failing,
               NS::ACTIVE, ite(n == failing, ite(breaks, NS::BROKEN, NS::INACTIVE), val(n)));
}

template <class F>
constexpr std::string_view activation_args(F) {
    return F::param == Param::fail ? "h, fail, broken" : "h, refail, broken";
}

// bdrv_activate_all() (block.c 8.0.5:6692, bdrv_activate() :6599): the roots in bdrv_next()
// order, each bottom-up (children first), a no-op on active nodes, stops at the first failure
// without rolling back.
template <class H, class F, class B>
constexpr auto bdrv_activate_all(H host, F failing, B breaks) {
    return group(
        "bdrv_activate_all", activation_args(failing),
        "block.c bdrv_activate_all()/bdrv_activate(): walks the roots in bdrv_next() order, each "
        "bottom-up (children first), activates each inactive or half-inactivated node, and stops "
        "at the first failure (the failing node, or a root without a driver), rolling nothing "
        "back; the failing node ends INACTIVE (bdrv_activate() sets BDRV_O_INACTIVE again), or "
        "BROKEN if qcow2's re-open failed; a parent activates over a child without a driver.",
        assume(activation_may_end(host, failing, breaks)),
        set(node(host, n), activated_value(host, failing, breaks, CurrentNodes<H>{host})));
}

// bdrv_activate() of node `target` (10.x, blockdev-set-active node-name=... active=true;
// block.c 10.0.2:6852): the node's children first, then the node; a driverless target returns
// -ENOMEDIUM without an error (qmp_blockdev_set_active() reports nothing).
template <class H>
constexpr auto bdrv_activate_node(H host) {
    const CurrentNodes<H> val{host};
    return group(
        "bdrv_activate", "h, target, fail, broken",
        "block.c bdrv_activate() of one node: its children first (bottom-up), then the node; "
        "stops at the first failure (node `fail`), rolling nothing back; the failing node ends "
        "INACTIVE, or BROKEN if qcow2's re-open failed; a driverless target changes nothing and "
        "reports no error.",
        assume(activation_may_end_over(
            FromTarget::names[static_cast<std::size_t>(WalkPart::activation_may_end)], host, fail,
            broken, val, FromTarget{})),
        set(node(host, n), activated_value(host, fail, broken, val, FromTarget{})));
}

// A step whose block operation did not run: its outcome parameters are `none`, so that one
// outcome is one transition.
constexpr auto no_block_operation() {
    return group("no_block_operation", "", "The block operation did not run: fail is none.",
                 assume(fail == none && refail == none && !half && !broken));
}

// ---- run state ---------------------------------------------------------------------------------

// runstate_set() (runstate.c): a change that runstate_transitions_def[] does not list aborts.
template <class H, class To>
constexpr auto runstate_set(H host, To to) {
    return group_with(
        "runstate_set", "h", lift(to),
        "runstate.c runstate_set(): aborts with \"invalid runstate transition\" unless "
        "runstate_transitions_def[] allows the change (a change to the same state is "
        "a no-op); vm_old_state -1 fails assert(new_state < RUN_STATE__MAX).",
        qemu_assert(runstate_transition_allowed(runstate(host), to), Crash::INVALID_RUNSTATE),
        set(runstate(host), to));
}

// vm_start() (cpus.c 8.0.5:721): nothing if already running; otherwise runstate RUNNING and the
// vCPUs resume. QEMU checks nothing about the block layer here; the ghost records whether a node
// was not active at that moment.
template <class H>
constexpr auto vm_start(H host) {
    return group("vm_start", "h",
                 "cpus.c vm_start()/vm_prepare_start(): if the VM is not running, runstate_set("
                 "RUNNING) and resume the vCPUs; no block-layer check. The ghost started_inactive "
                 "records a start with a node that is not ACTIVE.",
                 when(runstate(host) != RS::RUNNING,
                      set(started_inactive(host),
                          started_inactive(host) || exists(n, node(host, n) != NS::ACTIVE)),
                      runstate_set(host, RS::RUNNING)));
}

// ---- processes ---------------------------------------------------------------------------------

// The process exits: exit(EXIT_FAILURE) after a failed incoming migration, or management quits it.
// Its per-process variables go back to fixed values, so that a gone process is one state, except
// what it already wrote to the migration socket: the bytes are the kernel's once written, so a
// destination still reads QEMU_VM_EOF and the global state after the source has quit
// (stream_eof, global_state; start_destination clears them for a fresh process).
template <class H>
constexpr auto process_exits(H host) {
    return group(
        "process_exits", "h",
        "The QEMU process ends; a process that is gone holds no image. The stream it wrote "
        "(QEMU_VM_EOF, the global state) stays in the socket for the destination to read.",
        set(alive(host), false), set(runstate(host), RS::INMIGRATE), set(mig(host), MS::NONE),
        set(pc(host), PC::IDLE), set(incoming(host), IN::NONE), set(block_inactive(host), false),
        set(vm_was_running(host), false), set(vm_old_state(host), RS::UNSET),
        set(received_state(host), RS::UNSET), set(migration_block_active(host), false),
        set(file_error(host), false), set(rp_error(host), false), set(pause_sem(host), false),
        set(active_state(host), MS::NONE), set(autostart(host), false),
        set(started_inactive(host), false), set(tried_inactivate(host), false),
        set(node(host, n), NS::INACTIVE));
}

// One less of a management budget (starts_left, set_active_left).
template <class Counter>
constexpr auto decrement(Counter c) {
    return ite(c == Count::THREE, Count::TWO, ite(c == Count::TWO, Count::ONE, Count::ZERO));
}

// migration_is_running() (migration.c): the states in which a migration is in progress.
template <class H>
constexpr auto migration_is_running(H host) {
    return named("migration_is_running",
                 mig(host) == MS::SETUP || mig(host) == MS::ACTIVE ||
                     mig(host) == MS::PRE_SWITCHOVER || mig(host) == MS::DEVICE ||
                     mig(host) == MS::POSTCOPY_ACTIVE || mig(host) == MS::CANCELLING,
                 host);
}

// ---- the environment profile ------------------------------------------------------------------

// What management may do under the `documented` profile (documented_use; `--env any` drops these
// conjuncts). A row that only a use QEMU's documentation does not describe can take carries one
// of these in its guard, so that a violation found under `documented` is QEMU's own bug and one
// found only under `any` needs misuse. QEMU accepts each of these commands at any time; the guard
// states the assumption, it does not claim QEMU refuses anything. The profile's other assumption,
// image locking on, is a fixed value of image_locking: file-posix's `locking` defaults to `auto`,
// on wherever OFD locks exist (qapi/block-core.json 10.0.2:3244-3246).
//
// blockdev-set-active active=false: "Use this to manage the handover of block devices on
// migration with qemu-storage-daemon" (qapi/block-core.json 10.0.2:4949-4952); the handover
// happens with the guest stopped (the iotest qsd-migrate inactivates at pre-switchover). Taking
// a running guest's disks away is not a handover: its next write asserts.
template <class H>
constexpr auto documented_inactivation(H host) {
    return named("documented_inactivation", implies(documented_use, runstate(host) != RS::RUNNING),
                 host);
}

// blockdev-set-active active=true: on a QEMU process (not a storage daemon) the documented manual
// activation is after the migration of a paused VM ("after migrating a paused VM, the user may
// want to perform operations on a block node while the VM is still paused", Kevin Wolf's cover
// letter of "block: Managing inactive nodes", domain reference 6.2). While a migration into or
// out of the process is in progress, the disks are handed over by the migration itself
// (bdrv_inactivate_all() at switchover, process_incoming_migration_bh(), the postcopy `run`
// command, `cont`), not by management.
template <class H>
constexpr auto documented_activation(H host) {
    return named(
        "documented_activation",
        implies(documented_use, !migration_is_running(host) &&
                                    (incoming(host) == IN::NONE || incoming(host) == IN::DONE)),
        host);
}

// `cont` on a source whose migration completed (POSTMIGRATE): management resumes the source only
// when the destination did not take the guest over. libvirt's qemuMigrationSrcRestoreDomainState()
// (src/qemu/qemu_migration.c) restarts the source's CPUs only "through some sort of failure" of
// the migration; after a completed handover it kills the source (quit_after_handover). QEMU
// itself accepts `cont` in POSTMIGRATE whatever the destination does.
template <class H>
constexpr auto documented_resume(H host) {
    return named("documented_resume",
                 implies(documented_use && runstate(host) == RS::POSTMIGRATE,
                         !alive(peer(host)) || incoming(peer(host)) != IN::DONE),
                 host);
}

} // namespace handoff::model::tables
