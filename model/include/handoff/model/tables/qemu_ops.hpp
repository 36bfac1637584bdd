// QEMU's building blocks, written once in the expression language and used by the rows of every
// version: the block layer's walks (block.c), vm_start()/runstate_set() (cpus.c, runstate.c), and
// the predicates the rows' guards share. Each returns a named statement group or a named
// expression, so that the specification prints `bdrv_inactivate_all(h)` and explains it once.
#pragma once

#include "handoff/model/expr.hpp"

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

// The other process holds image x's write lock, so QEMU's image locking makes activating it fail.
// An ACTIVE node holds it, and so does a half-inactivated one: its BDRV_O_INACTIVE flag is clear,
// so bdrv_is_writable_after_reopen() is true and bdrv_default_perms_for_storage() still takes
// WRITE on the file child and unshares WRITE (block.c 10.2.0:2203, :2840-2854); only an INACTIVE
// node shares WRITE (:2812-2813, :2892-2893). (A node without a driver is left out: whether its
// file child keeps the lock depends on where qcow2's re-open failed.)
template <class H, class X>
constexpr auto locked_by_peer(H host, X x) {
    return named(
        "locked_by_peer",
        image_locking && alive(peer(host)) &&
            (node(peer(host), x) == NS::ACTIVE || node(peer(host), x) == NS::HALF_INACTIVE),
        host, x);
}

// bdrv_inactivate_all() and bdrv_activate_all() walk the nodes in bdrv_next() order and stop at the
// first node that fails; a node whose bs->drv is NULL fails at once with -ENOMEDIUM. Node x is
// reached by a walk that stops at index `stop` iff x <= stop and no node before x is BROKEN.
template <class H, class X, class Stop>
constexpr auto reached(H host, X x, Stop stop) {
    constexpr auto y = other_than(X{});
    return named("reached", x <= stop && forall(y, implies(y < x, node(host, y) != NS::BROKEN)), x,
                 stop);
}

// ---- inactivation ------------------------------------------------------------------------------

// Which outcomes of an inactivation walk are possible: it fails only while the storage does not
// answer, at an ACTIVE or half-inactivated node the walk reaches; `half` only with a failure.
template <class H>
constexpr auto inactivation_may_end(H host) {
    return named("inactivation_may_end",
                 (fail == none && !half) ||
                     (!storage_ok && exists(n, n == fail && reached(host, n, fail) &&
                                                   (node(host, n) == NS::ACTIVE ||
                                                    node(host, n) == NS::HALF_INACTIVE))),
                 host);
}

// The walk succeeded: no I/O failure and no node without a driver.
template <class H>
constexpr auto inactivation_ok(H host) {
    return named("inactivation_ok", fail == none && forall(n, node(host, n) != NS::BROKEN), host);
}

// The node values bdrv_inactivate_all() leaves (both semantics: an INACTIVE node is never changed).
template <class H>
constexpr auto inactivated_value(H host, auto x) {
    return ite(reached(host, x, fail) && node(host, x) != NS::BROKEN && x < fail &&
                   node(host, x) != NS::INACTIVE,
               NS::INACTIVE, ite(x == fail && half, NS::HALF_INACTIVE, node(host, x)));
}

// bdrv_inactivate_all() before 10.0 (block.c 8.0.5:6794 and bdrv_inactivate_recurse() :6730):
// top-down in bdrv_next() order, stop at the first failure, no rollback; an already inactive node
// hits assert(!(bs->open_flags & BDRV_O_INACTIVE)). The failing node is left as it was, or
// half-inactivated when blk_root_inactivate() ran before the error.
template <class H>
constexpr auto bdrv_inactivate_all_asserting(H host) {
    return group(
        "bdrv_inactivate_all", "h, fail, half",
        "block.c bdrv_inactivate_all()/bdrv_inactivate_recurse() before 10.0: walks the nodes in "
        "bdrv_next() order and stops at the first failure (node `fail`, or a node without a "
        "driver), rolling nothing back; an already inactive node fails "
        "assert(!(bs->open_flags & BDRV_O_INACTIVE)).",
        assume(inactivation_may_end(host)),
        qemu_assert(forall(n, implies(reached(host, n, fail) && node(host, n) != NS::BROKEN,
                                      node(host, n) != NS::INACTIVE)),
                    Crash::DOUBLE_INACTIVATE),
        set(node(host, n),
            ite(reached(host, n, fail) && node(host, n) != NS::BROKEN && n < fail, NS::INACTIVE,
                ite(n == fail && half, NS::HALF_INACTIVE, node(host, n)))));
}

// bdrv_inactivate_all() from 10.0 ("block: Allow inactivating already inactive nodes"): an
// inactive top-level node is skipped (every node of this model is the root of its disk's tree).
template <class H>
constexpr auto bdrv_inactivate_all_skipping(H host) {
    return group(
        "bdrv_inactivate_all", "h, fail, half",
        "block.c bdrv_inactivate_all()/bdrv_inactivate_recurse(bs, top_level) in 10.x: walks the "
        "nodes in bdrv_next() order, skips inactive top-level nodes, stops at the first failure "
        "(node `fail`, or a node without a driver), rolling nothing back.",
        assume(inactivation_may_end(host)),
        set(node(host, n),
            ite(reached(host, n, fail) && node(host, n) != NS::BROKEN && n < fail, NS::INACTIVE,
                ite(n == fail && half, NS::HALF_INACTIVE, node(host, n)))));
}

// ---- activation --------------------------------------------------------------------------------

// Which outcomes of an activation walk are possible. The walk fails at node `F` only if that node
// needs activating (INACTIVE or half-inactivated) and either the storage does not answer or the
// other process holds the image (image locking); a node held by the other process must fail.
// `B` (qcow2's re-open failed, bs->drv = NULL) needs an INACTIVE node and an I/O failure.
// An INACTIVE node is activated only while the storage answers: bdrv_activate() (block.c
// 8.0.5:6599) runs bdrv_invalidate_cache() on a node with BDRV_O_INACTIVE, and
// qcow2_co_invalidate_cache() (qcow2.c 8.0.5:2781) closes the image and re-opens it with
// qcow2_do_open(), whose first step reads the image header from bs->file; while the storage does
// not answer, that read fails, so the walk stops at that node or before it. (The storage is up or
// down for a whole step, as everywhere in the model: an outage in the middle of a walk, after an
// inactive node was re-opened, has no step; proptests/README.md.)
// qcow2's re-open is never reached while the other process holds the image: bdrv_activate()
// activates the children first, and the file child's bdrv_refresh_perms() takes the image lock
// before any bdrv_invalidate_cache() (block.c 10.0.2:6866-6895, the same order in 8.0.5:6599),
// so a locked image fails with the node still INACTIVE, never BROKEN.
// A half-inactivated node has the flag clear: only the parents' activate callbacks run
// (blk_root_activate() -> blk_set_perm(): permissions and image locks, no read of the image), so
// it may be activated without the storage.
// `val(x)` is node x's state when the walk starts (the current state, or the state an
// inactivation earlier in the same step left).
template <class H, class F, class B, class Val>
constexpr auto activation_may_end_over(std::string_view name, H host, F failing, B breaks,
                                       Val val) {
    auto needs_activation = [&](auto x) {
        return val(x) == NS::INACTIVE || val(x) == NS::HALF_INACTIVE;
    };
    // A node the walk activated before the failing one (or before its end).
    auto activated = [&](auto x) {
        return !locked_by_peer(host, x) && implies(val(x) == NS::INACTIVE, storage_ok);
    };
    return named(name,
                 forall(m, implies(m < failing && reached(host, m, failing) && needs_activation(m),
                                   activated(m))) &&
                     ((failing == none && !breaks) ||
                      exists(n, n == failing && reached(host, n, failing) && needs_activation(n) &&
                                    (!storage_ok || locked_by_peer(host, n)) &&
                                    implies(breaks, val(n) == NS::INACTIVE && !storage_ok &&
                                                        !locked_by_peer(host, n)))),
                 host, failing);
}

template <class H, class F, class B>
constexpr auto activation_may_end(H host, F failing, B breaks) {
    return activation_may_end_over("activation_may_end", host, failing, breaks,
                                   [host](auto x) { return node(host, x); });
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
// are ACTIVE, the ones after the failing node keep their state, and the failing node is BROKEN
// if qcow2's re-open failed, otherwise INACTIVE, whatever it was before. bdrv_activate() (block.c
// 8.0.5:6599, the same through 10.2) sets bs->open_flags |= BDRV_O_INACTIVE on every failure
// after the children: bdrv_refresh_perms(), bdrv_invalidate_cache(), and a parent's activate
// callback. A half-inactivated node (flag clear, its BlockBackends' disable_perm set) only runs
// the callbacks, and when blk_root_activate() -> blk_set_perm() fails (block-backend.c: it puts
// blk->disable_perm back), the node ends with the flag set: INACTIVE, not half-inactivated.
template <class H, class F, class B, class Val>
constexpr auto activated_value(H host, F failing, B breaks, Val val) {
    return ite(reached(host, n, failing) && val(n) != NS::BROKEN && n < failing, NS::ACTIVE,
               ite(n == failing, ite(breaks, NS::BROKEN, NS::INACTIVE), val(n)));
}

template <class F>
constexpr std::string_view activation_args(F) {
    return F::param == Param::fail ? "h, fail, broken" : "h, refail, broken";
}

// bdrv_activate_all() (block.c 8.0.5:6692, bdrv_activate() :6599): bdrv_next() order, bottom-up
// within a tree, a no-op on active nodes, stops at the first failure without rolling back.
template <class H, class F, class B>
constexpr auto bdrv_activate_all(H host, F failing, B breaks) {
    return group(
        "bdrv_activate_all", activation_args(failing),
        "block.c bdrv_activate_all()/bdrv_activate(): walks the nodes in bdrv_next() order, "
        "activates each inactive or half-inactivated node, and stops at the first failure (the "
        "failing node, or a node without a driver), rolling nothing back; the failing node ends "
        "INACTIVE (bdrv_activate() sets BDRV_O_INACTIVE again), or BROKEN if qcow2's re-open "
        "failed.",
        assume(activation_may_end(host, failing, breaks)),
        set(node(host, n),
            activated_value(host, failing, breaks, [host](auto x) { return node(host, x); })));
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
// Its per-process variables go back to fixed values, so that a gone process is one state.
template <class H>
constexpr auto process_exits(H host) {
    return group(
        "process_exits", "h", "The QEMU process ends; a process that is gone holds no image.",
        set(alive(host), false), set(runstate(host), RS::INMIGRATE), set(mig(host), MS::NONE),
        set(pc(host), PC::IDLE), set(incoming(host), IN::NONE), set(block_inactive(host), false),
        set(vm_was_running(host), false), set(vm_old_state(host), RS::UNSET),
        set(global_state(host), RS::UNSET), set(received_state(host), RS::UNSET),
        set(migration_block_active(host), false), set(stream_eof(host), false),
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
