// The system under test: two QEMU processes of impl/ (hosts 0 and 1, as in the model), the
// shared storage, the migration streams, and the oracle that checks every step against the
// model's interpreter of the same version.
#pragma once

#include "handoff/impl/qemu_instance.hpp"
#include "handoff/model/explore.hpp"
#include "handoff/model/interpreter.hpp"
#include "handoff/proptests/abstraction.hpp"

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace handoff::proptests {

// Every entry point impl/ offers, as one command kind of the property tests.
enum class OpKind : std::uint8_t {
    // QMP commands
    migrate,          // qmp_migrate on `host`, qmp_migrate_incoming on the peer
    migrate_cancel,   // qmp_migrate_cancel
    migrate_continue, // qmp_migrate_continue
    start_postcopy,   // qmp_migrate_start_postcopy
    cont,             // qmp_cont
    stop,             // qmp_stop
    savevm,           // save_snapshot
    set_active,       // qmp_blockdev_set_active(node or all, arg = active)
    // the guest
    guest_write, // a write to disk `node`
    // the migration thread: arg = IterationChoice
    thread_step,
    // the destination
    incoming_co,     // process_incoming_migration_co
    incoming_bh,     // process_incoming_migration_bh
    postcopy_run_bh, // loadvm_postcopy_handle_run_bh
    // the environment and management
    storage_away,      // SharedStorage::stop_answering
    storage_back,      // SharedStorage::come_back
    start_destination, // a fresh -incoming process on a host without one
    quit,              // management quits a source after a completed migration
    // faults (data armed on `host`; they fire when QEMU reaches them)
    storage_outage_at,      // the storage stops answering when op `arg` starts on disk `node`
    node_fault,             // one-shot failure of op `arg` (bit 4: leave half done) on disk `node`
    incoming_load_fault,    // the destination's qemu_loadvm_state() fails
    return_path_fault,      // await_return_path_close_on_source() reports an error
    file_error_fault,       // the stream gets an error after the savevm completion
    postcopy_package_fault, // arg 1: before the package is sent, 2: sending it fails
    connection_drop, // the connection of `host`'s precopy migration drops; its thread iterates
    // sequences (each step checked by the oracle on its own), so that random runs reach the long
    // stories (a second migration after a failed one) within the budget
    thread_run,      // thread_step(arg) on `host` until the thread is idle, blocked or waiting
    destination_run, // the destination steps on `host` until none is enabled
    lock_fault       // the image lock of disk `node` on `host` fails whenever the storage is down
};
inline constexpr int kOpKindCount = static_cast<int>(OpKind::lock_fault) + 1;
std::string_view to_string(OpKind k);

struct Op {
    OpKind kind = OpKind::thread_step;
    int host = 0;
    // The model's node index (a node of the run's graph), or -1 (set_active: every node);
    // guest_write: the disk (the n-th BlockBackend).
    int node = 0;
    int arg = 0;
};

// What a run's commands call the nodes and disks of its graph.
struct NodeNames {
    std::vector<std::string> nodes; // impl/'s node name of each model node
    std::vector<std::string> disks; // the root node of each guest disk (vda, vdb, ...)
};
std::string describe(const Op& op, const NodeNames& names);

struct RunConfig {
    impl::QemuVersion version = impl::QemuVersion::v8_0_0;
    Capabilities caps;
    bool start_paused = false;
    // The block graph impl/ builds (impl::BlockConfig's shapes, the model's node labels as node
    // names) over `nodes` model nodes. flat: one qcow2 node over its nfs node per disk, the
    // model's node standing for both.
    model::GraphShape graph = model::GraphShape::flat;
    int nodes = 2;
    int starts = 1;           // fresh -incoming processes management may start (the model's budget)
    int set_active_calls = 1; // blockdev-set-active without node-name (the model's budget)
    // Run migrate_cancel in postcopy too (the replay of a checker trace that does it; random runs
    // leave it out: see run_impl()).
    bool cancel_in_postcopy = false;
    // Busy disks (persistent dirty bitmaps, unflushed guest writes) or idle ones, which are
    // flushed and inactivated without I/O (impl::BlockConfig::qcow2_disks_on_nfs()).
    bool busy_disks = true;
};

// impl/'s block configuration of a run, and the names its commands use.
impl::BlockConfig block_config(const RunConfig& config);
NodeNames node_names(const RunConfig& config);

// Row coverage and counts, accumulated over the test cases of one property.
struct Coverage {
    std::map<std::string, long> rows; // model row name -> times it explained an impl step
    long commands = 0;
    long stutters = 0;  // impl steps the model sees as no step
    long truncated = 0; // steps whose set of matching model states was cut (see system.cpp)
    // How often impl/ took a path only a graph has (System::update_history() names them).
    std::map<std::string, long> graph_events;
};

// The model's successors of a state, computed once per state and shared by the Systems of one
// property: states recur across commands and test cases, and Interpreter::successors() is where
// the oracle spends its time.
class SuccessorCache {
  public:
    explicit SuccessorCache(const model::Interpreter& interp);
    using Successors = std::vector<std::pair<model::Step, model::State>>;
    // Valid until the next call.
    const Successors& of(const model::State& s);
    bool has_host(int row) const { return has_host_[static_cast<std::size_t>(row)]; }
    bool storage_lost(int row) const { return row == storage_lost_; }

  private:
    const model::Interpreter& interp_;
    std::unordered_map<model::State, Successors> map_;
    std::vector<bool> has_host_;
    int storage_lost_ = -1;
};

class System {
  public:
    // `check` false: run the implementation without the oracle (throughput baseline). `cache`:
    // shared with the other Systems of the same interpreter (a new one if null).
    System(const RunConfig& config, const model::Interpreter& interp, bool check = true,
           std::shared_ptr<SuccessorCache> cache = nullptr);

    // Runs one command. Returns "" or the oracle's complaint ("implementation did X, model
    // allows only Y").
    std::string execute(const Op& op);

    // The watched invariants every candidate state violates ("" if none).
    std::string violated(const std::vector<const model::InvariantData*>& watched) const;
    // The first watched invariant every candidate state violates, or null.
    const model::InvariantData*
    violated_invariant(const std::vector<const model::InvariantData*>& watched) const;

    // Keep, for every candidate state, the model steps that lead to it from an initial state,
    // so that a failing run can be written as a model trace file. Off by default: the property
    // tests turn it on only to run a shrunk counterexample once more.
    void record_model_paths();
    // The model's steps the oracle matched, up to the first candidate state (the state a
    // violation is reported in, or the last one the model explained before a disagreement).
    // Requires record_model_paths() before the first command.
    model::Trace model_trace() const;

    AbstractState abstract_now() const;
    const std::vector<model::State>& candidates() const { return candidates_; }
    bool crashed() const;
    bool storage_answering() const { return storage_.answering(); }
    const Coverage& coverage() const { return coverage_; }
    const NodeNames& names() const { return names_; }
    impl::QemuInstance* host(int h) { return hosts_[static_cast<std::size_t>(h)].get(); }
    std::string log() const; // both processes' traces

  private:
    std::unique_ptr<impl::QemuInstance> make_instance(int h, bool incoming);
    std::string run_impl(const Op& op); // "" or a note for the oracle's message
    std::string execute_one(const Op& op, std::string* note);
    std::string execute_run(const Op& op);
    void withdraw_stale_faults();
    std::string check_step(const Op& op, const std::vector<bool>& rows, int depth);
    std::vector<bool> rows_for(const Op& op) const;
    bool logged_since(int h, const std::array<std::size_t, 2>& trace_before,
                      std::string_view prefix) const;
    bool fault_fired_since(int h, const std::array<std::size_t, 2>& fired_before,
                           std::string_view prefix) const;
    void update_history(const Op& op, const std::array<std::optional<impl::Observation>, 2>& before,
                        const std::array<std::size_t, 2>& trace_before);

    RunConfig config_;
    NodeNames names_;
    const model::Interpreter& interp_;
    bool check_;
    impl::SharedStorage storage_;
    std::vector<std::unique_ptr<impl::MigrationStream>> streams_;
    std::array<std::unique_ptr<impl::QemuInstance>, 2> hosts_;
    std::array<impl::MigrationStream*, 2> outgoing_{};
    std::vector<std::string> retired_log_;
    History history_;
    // Per host, migrate-start-postcopy succeeded since its latest `migrate` (s->start_postcopy,
    // which migrate_init() resets): a thread_run that leans to postcopy completes without it.
    std::array<bool, 2> postcopy_requested_{};
    std::vector<model::State> candidates_;
    // With record_model_paths(): per candidate, the last step of a path to it (shared by paths
    // that branch later), so that following `before` leads back to an initial state.
    struct PathStep {
        model::Step step; // row -1: the initial state
        model::State state;
        std::shared_ptr<const PathStep> before;
    };
    std::vector<std::shared_ptr<const PathStep>> paths_;
    bool record_paths_ = false;
    std::shared_ptr<SuccessorCache> cache_;
    Coverage coverage_;
};

} // namespace handoff::proptests
