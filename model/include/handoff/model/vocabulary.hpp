// The state vocabulary: every variable of the model, its domain, and the QEMU field or fact it
// abstracts. Two QEMU processes live in the model, hosts 0 and 1, each running the same QEMU
// version; either can be the source or the destination of a migration (a second migration may go
// back the other way, to a freshly started destination). Block nodes are indexed 0..N-1 in
// bdrv_next() order on both hosts (node n on host 0 and node n on host 1 open the same image on the
// shared storage).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace handoff::model {

// ---- Domains -----------------------------------------------------------------------------------

// MigrationStatus (qapi/migration.json), the values this model needs. COLO, POSTCOPY_PAUSED,
// POSTCOPY_RECOVER and WAIT_UNPLUG are left out: see the spec's header.
enum class MigStatus : std::uint8_t {
    NONE,
    SETUP,
    ACTIVE,
    PRE_SWITCHOVER,
    DEVICE,
    POSTCOPY_ACTIVE,
    COMPLETED,
    FAILED,
    CANCELLING,
    CANCELLED,
};

// RunState (qapi/run-state.json), the values reachable on this path. UNSET is not a QEMU run
// state: it is the -1 that migrate_init() stores in s->vm_old_state (8.1+), and runstate_set()
// of it is an assertion failure.
enum class RunState : std::uint8_t {
    RUNNING,
    PAUSED,
    FINISH_MIGRATE,
    POSTMIGRATE,
    INMIGRATE,
    SAVE_VM,
    SHUTDOWN,
    UNSET,
};

// A block node's state, abstracting bs->open_flags & BDRV_O_INACTIVE, bs->drv and the parents'
// blk->disable_perm.
enum class NodeState : std::uint8_t {
    ACTIVE,        // BDRV_O_INACTIVE clear, BlockBackends enabled
    INACTIVE,      // BDRV_O_INACTIVE set (bdrv_inactivate_recurse() completed on it)
    HALF_INACTIVE, // flag clear but parent BlockBackends have disable_perm set: inactivation
                   // failed after blk_root_inactivate() (block.c, bdrv_inactivate_recurse)
    BROKEN,        // bs->drv == NULL: a qcow2 re-open failed in qcow2_co_invalidate_cache()
};

// Where the outgoing migration thread (migration_thread(), migration.c) is, at BQL boundaries.
enum class ThreadPc : std::uint8_t {
    IDLE,              // no migration thread
    SETUP,             // qmp_migrate() created it; qemu_savevm_state_setup() not yet done
    ITERATING,         // in the while (migration_is_active()) loop of migration_thread()
    COMPLETION_LOCK,   // migration_completion() saw s->state == ACTIVE, BQL not yet taken
    SWITCHOVER_WAIT,   // migration_maybe_pause(): BQL dropped, waiting on s->pause_sem
    COMPLETION_FAILED, // migration_completion(): BQL dropped with ret < 0, `goto fail` next
    COMPLETION_SAVED,  // migration_completion(): savevm completed, BQL dropped; return-path and
                       // file-error checks next
    COMPLETION_END,    // 9.x+: the checks passed; migration_completion_end() takes the BQL next
    FINISH,            // left the loop: migration_iteration_finish() next
};

// The destination's incoming side (MigrationIncomingState, process_incoming_migration_co()).
enum class Incoming : std::uint8_t {
    NONE,      // not an -incoming process, or not yet connected
    LISTENING, // started with -incoming, waiting for a source
    LOADING,   // qemu_loadvm_state() running
    LOADED,    // stream loaded up to QEMU_VM_EOF: process_incoming_migration_bh() scheduled
    POSTCOPY,  // postcopy package received: loadvm_postcopy_handle_run_bh() scheduled
    DONE,      // the bottom half ran (mis->state COMPLETED, or postcopy running)
};

// Why a QEMU process aborted. NONE while nobody crashed.
enum class Crash : std::uint8_t {
    NONE,
    DOUBLE_INACTIVATE, // block.c bdrv_inactivate_recurse(): assert(!(bs->open_flags &
                       // BDRV_O_INACTIVE)) before 10.0
    INACTIVE_CHILD,    // block.c bdrv_inactivate_recurse() 10.x: assert(top_level) on an
                       // already inactive child
    WRITE_TO_INACTIVE, // block/io.c bdrv_co_write_req_prepare(): assert(!(bs->open_flags &
                       // BDRV_O_INACTIVE)), or the write-permission assert after
                       // blk_root_inactivate() dropped the BlockBackend's permissions
    INVALID_RUNSTATE,  // runstate_set(): "invalid runstate transition" abort(), or
                       // assert(new_state < RUN_STATE__MAX) for vm_old_state == -1
};

enum class Bool : std::uint8_t { FALSE, TRUE };

// A small count (the instance's budget of process starts).
enum class Count : std::uint8_t { ZERO, ONE, TWO, THREE };

// ---- Domain metadata ---------------------------------------------------------------------------

enum class DomainId : std::uint8_t {
    Bool,
    MigStatus,
    RunState,
    NodeState,
    ThreadPc,
    Incoming,
    Crash,
    Host,
    Count,
};

struct DomainInfo {
    std::string_view name;
    std::span<const std::string_view> values;
};

inline constexpr std::array<std::string_view, 2> kBoolNames{"false", "true"};
inline constexpr std::array<std::string_view, 10> kMigStatusNames{
    "NONE",      "SETUP",  "ACTIVE",     "PRE_SWITCHOVER", "DEVICE", "POSTCOPY_ACTIVE",
    "COMPLETED", "FAILED", "CANCELLING", "CANCELLED"};
inline constexpr std::array<std::string_view, 8> kRunStateNames{
    "RUNNING",   "PAUSED",  "FINISH_MIGRATE", "POSTMIGRATE",
    "INMIGRATE", "SAVE_VM", "SHUTDOWN",       "UNSET"};
inline constexpr std::array<std::string_view, 4> kNodeStateNames{"ACTIVE", "INACTIVE",
                                                                 "HALF_INACTIVE", "BROKEN"};
inline constexpr std::array<std::string_view, 9> kThreadPcNames{"IDLE",
                                                                "SETUP",
                                                                "ITERATING",
                                                                "COMPLETION_LOCK",
                                                                "SWITCHOVER_WAIT",
                                                                "COMPLETION_FAILED",
                                                                "COMPLETION_SAVED",
                                                                "COMPLETION_END",
                                                                "FINISH"};
inline constexpr std::array<std::string_view, 6> kIncomingNames{"NONE",   "LISTENING", "LOADING",
                                                                "LOADED", "POSTCOPY",  "DONE"};
inline constexpr std::array<std::string_view, 5> kCrashNames{
    "NONE", "DOUBLE_INACTIVATE", "INACTIVE_CHILD", "WRITE_TO_INACTIVE", "INVALID_RUNSTATE"};

inline constexpr std::array<std::string_view, 2> kHostNames{"0", "1"};
inline constexpr std::array<std::string_view, 4> kCountNames{"0", "1", "2", "3"};

inline constexpr std::array<DomainInfo, 9> kDomains{{
    {"bool", kBoolNames},
    {"MigrationStatus", kMigStatusNames},
    {"RunState", kRunStateNames},
    {"NodeState", kNodeStateNames},
    {"ThreadPc", kThreadPcNames},
    {"Incoming", kIncomingNames},
    {"Crash", kCrashNames},
    {"host", kHostNames},
    {"count", kCountNames},
}};

template <class T>
struct domain_of;
template <>
struct domain_of<bool> : std::integral_constant<DomainId, DomainId::Bool> {};
template <>
struct domain_of<MigStatus> : std::integral_constant<DomainId, DomainId::MigStatus> {};
template <>
struct domain_of<RunState> : std::integral_constant<DomainId, DomainId::RunState> {};
template <>
struct domain_of<NodeState> : std::integral_constant<DomainId, DomainId::NodeState> {};
template <>
struct domain_of<ThreadPc> : std::integral_constant<DomainId, DomainId::ThreadPc> {};
template <>
struct domain_of<Incoming> : std::integral_constant<DomainId, DomainId::Incoming> {};
template <>
struct domain_of<Crash> : std::integral_constant<DomainId, DomainId::Crash> {};
template <>
struct domain_of<Count> : std::integral_constant<DomainId, DomainId::Count> {};

constexpr const DomainInfo& domain_info(DomainId d) {
    return kDomains[static_cast<int>(d)];
}
constexpr int domain_size(DomainId d) {
    return static_cast<int>(domain_info(d).values.size());
}

// ---- Variables ---------------------------------------------------------------------------------

// Global: one value; PerHost: one per QEMU process; PerNode: one per process and block node.
enum class Scope : std::uint8_t { Global, PerHost, PerNode };

// Where a variable comes from: QEMU state, the environment, a capability fixed for the run, or a
// ghost (history) variable that exists only so that an invariant about steps can be stated about
// states.
enum class Origin : std::uint8_t { Qemu, Environment, Capability, Ghost };

enum class Var : std::uint8_t {
    // environment and configuration (global)
    storage_ok,
    cap_late_block_activate,
    cap_pause_before_switchover,
    cap_postcopy,
    cap_autostart,
    image_locking,
    crash,
    crash_host,
    starts_left,
    set_active_left,
    documented_use,
    // per QEMU process
    alive,
    runstate,
    mig,
    pc,
    active_state,
    pause_sem,
    block_inactive,
    vm_was_running,
    vm_old_state,
    global_state,
    received_state,
    migration_block_active,
    stream_eof,
    file_error,
    rp_error,
    incoming,
    autostart,
    started_inactive,
    tried_inactivate,
    // per process and node
    node,
};
inline constexpr int kVarCount = static_cast<int>(Var::node) + 1;

struct VarInfo {
    std::string_view name;
    Scope scope;
    DomainId domain;
    Origin origin;
    std::string_view doc;
};

inline constexpr std::array<VarInfo, kVarCount> kVars{{
    {"storage_ok", Scope::Global, DomainId::Bool, Origin::Environment,
     "The shared storage (the NFS server) answers. While false, flushes, inactivation and "
     "activation may fail at any node, as they did in RHBZ 2058982."},
    {"late_block_activate", Scope::Global, DomainId::Bool, Origin::Capability,
     "Capability late-block-activate (migrate_late_block_activate(); libvirt sets it): the "
     "destination's process_incoming_migration_bh() leaves activation to vm_start/cont."},
    {"pause_before_switchover", Scope::Global, DomainId::Bool, Origin::Capability,
     "Capability pause-before-switchover: migration_maybe_pause() waits in PRE_SWITCHOVER for "
     "migrate-continue."},
    {"postcopy", Scope::Global, DomainId::Bool, Origin::Capability,
     "Capability postcopy-ram: the migration thread may call postcopy_start()."},
    {"autostart_policy", Scope::Global, DomainId::Bool, Origin::Capability,
     "Management starts destinations without -S, so their `autostart` is initially true."},
    {"image_locking", Scope::Global, DomainId::Bool, Origin::Environment,
     "The images are protected by QEMU's image locking (file-posix locks on the shared "
     "storage): activating a node fails while the other live process holds that image active."},
    {"crash", Scope::Global, DomainId::Crash, Origin::Qemu,
     "Which QEMU assertion or abort() fired (NONE while none did). A crash ends the run."},
    {"crash_host", Scope::Global, DomainId::Host, Origin::Qemu,
     "The host whose process crashed; meaningful only when crash != NONE."},
    {"starts_left", Scope::Global, DomainId::Count, Origin::Environment,
     "How many more QEMU processes management may start (the instance's bound on fresh "
     "destinations; --starts, default 1: enough for a second migration from either host)."},
    {"set_active_left", Scope::Global, DomainId::Count, Origin::Environment,
     "How many more blockdev-set-active commands management may issue (the instance's bound, "
     "--set-active-calls, default 1)."},
    {"documented_use", Scope::Global, DomainId::Bool, Origin::Environment,
     "The environment profile (--env): true under `documented` (the default of `handoff check` "
     "and `prove`), where management uses QEMU as QEMU documents it, so that a violation is "
     "QEMU's bug; false under `any` (every QMP command at any time QEMU accepts it). Fixed for "
     "the run. The rows that only misuse can take read it in their guards (named "
     "`documented_*`); the profile also fixes image_locking on."},
    {"alive", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "The QEMU process on this host exists (false after exit(EXIT_FAILURE) of a failed incoming "
     "migration, or after management quit it)."},
    {"runstate", Scope::PerHost, DomainId::RunState, Origin::Qemu,
     "current_run_state (runstate.c), changed only through runstate_set()."},
    {"mig", Scope::PerHost, DomainId::MigStatus, Origin::Qemu,
     "s->state of the outgoing MigrationState (migrate_get_current()); every change is "
     "migrate_set_state(), a compare-and-swap."},
    {"pc", Scope::PerHost, DomainId::ThreadPc, Origin::Qemu,
     "Where the outgoing migration thread is, at BQL boundaries."},
    {"active_state", Scope::PerHost, DomainId::MigStatus, Origin::Qemu,
     "migration_completion()'s local current_active_state (ACTIVE, or DEVICE after "
     "migration_maybe_pause()): the `old` of the final migrate_set_state()."},
    {"pause_sem", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "s->pause_sem was posted (by migrate-continue, or by migrate_fd_cancel() in "
     "PRE_SWITCHOVER)."},
    {"block_inactive", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "s->block_inactive (8.0 to 9.2): migration believes it inactivated the disks. Never reset by "
     "migrate_init()."},
    {"vm_was_running", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "s->vm_was_running (8.0): set in migration_completion(), reset in migrate_init()."},
    {"vm_old_state", Scope::PerHost, DomainId::RunState, Origin::Qemu,
     "s->vm_old_state (8.1+): the run state before migration stopped the VM; -1 (UNSET) after "
     "migrate_init()."},
    {"global_state", Scope::PerHost, DomainId::RunState, Origin::Qemu,
     "The run state global_state_store() recorded when the migration stopped the VM; it travels "
     "in the stream and the destination reads it with global_state_get_runstate(). (Reset by "
     "migrate_init() here: it is read only after the next store.)"},
    {"received_state", Scope::PerHost, DomainId::RunState, Origin::Qemu,
     "The destination's copy of the source's global state, received in the stream "
     "(global_state_get_runstate() in process_incoming_migration_bh())."},
    {"migration_block_active", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "10.0-dev only: the global `migration_block_active` of migration/block-active.c (true at "
     "startup, false in qmp_migrate_incoming())."},
    {"stream_eof", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "The outgoing stream carries QEMU_VM_EOF (qemu_savevm_state_complete_precopy() succeeded), "
     "so the destination can finish loading."},
    {"file_error", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "qemu_file_get_error(s->to_dst_file) != 0: set by qemu_file_set_error() after a failed "
     "inactivation, by qemu_file_shutdown() in migrate_fd_cancel(), or by a broken connection."},
    {"rp_error", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "s->rp_state.error: the return path reported an error (the destination sent one, or the "
     "connection broke), so await_return_path_close_on_source() fails."},
    {"incoming", Scope::PerHost, DomainId::Incoming, Origin::Qemu,
     "The incoming side of this process (MigrationIncomingState)."},
    {"autostart", Scope::PerHost, DomainId::Bool, Origin::Qemu,
     "The process's global `autostart` (false with -S): whether the destination starts the guest "
     "when the incoming migration completes. `cont` in INMIGRATE sets it, `stop` clears it."},
    {"started_inactive", Scope::PerHost, DomainId::Bool, Origin::Ghost,
     "Ghost: vm_start() ran on this host while one of its nodes was not ACTIVE."},
    {"tried_inactivate", Scope::PerHost, DomainId::Bool, Origin::Ghost,
     "Ghost: this process's migration thread has called bdrv_inactivate_all() since the last "
     "migrate_init()."},
    {"node", Scope::PerNode, DomainId::NodeState, Origin::Qemu,
     "The node's state: BDRV_O_INACTIVE in bs->open_flags, bs->drv, parents' disable_perm."},
}};

constexpr const VarInfo& var_info(Var v) {
    return kVars[static_cast<int>(v)];
}

// The C++ type of each variable's values, so that the expression language is typed.
template <Var V>
struct var_type {
    using type = bool;
};
template <>
struct var_type<Var::crash> {
    using type = Crash;
};
template <>
struct var_type<Var::runstate> {
    using type = RunState;
};
template <>
struct var_type<Var::vm_old_state> {
    using type = RunState;
};
template <>
struct var_type<Var::global_state> {
    using type = RunState;
};
template <>
struct var_type<Var::received_state> {
    using type = RunState;
};
template <>
struct var_type<Var::mig> {
    using type = MigStatus;
};
template <>
struct var_type<Var::active_state> {
    using type = MigStatus;
};
template <>
struct var_type<Var::starts_left> {
    using type = Count;
};
template <>
struct var_type<Var::set_active_left> {
    using type = Count;
};
template <>
struct var_type<Var::pc> {
    using type = ThreadPc;
};
template <>
struct var_type<Var::incoming> {
    using type = Incoming;
};
template <>
struct var_type<Var::node> {
    using type = NodeState;
};

// ---- Row parameters ----------------------------------------------------------------------------

// A row's outcome parameters: QEMU code that can end in several ways takes a parameter instead of
// being split into micro-steps (DESIGN.md, "Rows").
enum class Param : std::uint8_t {
    host,            // the process the row runs in (h); its peer is peer(h)
    fail,            // the first node, in bdrv_next() order, at which the block operation fails
                     // for an I/O reason, or none (= N)
    half,            // the failing node is left half-inactivated (BlockBackends disabled)
    broken,          // the failing activation was qcow2's re-open, leaving bs->drv == NULL
    flush_fails,     // bdrv_flush_all() in vm_stop_force_state() fails
    target,          // a node index (guest write, blockdev-set-active node-name)
    reactivate_fail, // fail of a second block operation in the same step (reactivation)
};
inline constexpr int kParamCount = static_cast<int>(Param::reactivate_fail) + 1;

enum class ParamKind : std::uint8_t { Host, NodeOrNone, Node, Flag };

struct ParamInfo {
    std::string_view name;
    ParamKind kind;
    std::string_view doc;
};

inline constexpr std::array<ParamInfo, kParamCount> kParams{{
    {"h", ParamKind::Host, "the host whose QEMU process runs the step"},
    {"fail", ParamKind::NodeOrNone,
     "the first node (bdrv_next order) whose block operation fails, or none"},
    {"half", ParamKind::Flag,
     "the failing node is left half-inactivated (blk_root_inactivate() ran, flag not set)"},
    {"broken", ParamKind::Flag, "the failing activation was qcow2's re-open (bs->drv = NULL)"},
    {"flush_fails", ParamKind::Flag, "bdrv_flush_all() in vm_stop_force_state() returns an error"},
    {"target", ParamKind::Node, "the node the command or write addresses"},
    {"refail", ParamKind::NodeOrNone,
     "the first node whose re-activation fails in the same step, or none"},
}};

constexpr const ParamInfo& param_info(Param p) {
    return kParams[static_cast<int>(p)];
}

} // namespace handoff::model
