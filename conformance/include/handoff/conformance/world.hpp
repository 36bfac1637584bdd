// The real system a trace is replayed on: a fresh temporary folder, one qcow2 image per model node
// (flat) or per protocol node of the model's block graph (chain, shared-base), each served by its
// own qemu-nbd or opened as a local file so that QEMU's image locking applies, and up to two
// qemu-system-x86_64 processes (TCG, -nodefaults, no guest OS) standing for the model's hosts 0
// and 1, driven over QMP on unix sockets. Everything is torn down by PID when the World is
// destroyed.
#pragma once

#include "handoff/conformance/binaries.hpp"
#include "handoff/conformance/process.hpp"
#include "handoff/conformance/qmp.hpp"
#include "handoff/conformance/relay.hpp"
#include "handoff/conformance/transcript.hpp"
#include "handoff/model/graph.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace handoff::conformance {

struct WorldConfig {
    int nodes = 2; // the model's node count: disks on flat, every node of the graph otherwise
    // flat: each node a qcow2 disk over its protocol node (-blockdev, both named after the model's
    // node). chain, shared-base: the model's graph as -drive opens it (model/graph.hpp), every
    // node named by its model label. job is not built (no block job runs).
    model::GraphShape graph = model::GraphShape::flat;
    bool local_files = false; // true: -blockdev file (image locking); false: NBD (no locking)
    bool late_block_activate = false;
    bool pause_before_switchover = false;
    bool autostart = true; // false: destinations start with -S
    milliseconds timeout{10000};
    bool keep_dir = false; // keep the temporary folder (logs) after the run
    QemuBinaries qemu;     // qemu-system-x86_64, qemu-img, qemu-nbd (default: the system's)
};

// What one process shows from outside.
struct HostObservation {
    bool alive = false;
    std::string exit;      // how it ended, when not alive ("" if it never ran)
    std::string assertion; // the assertion / abort line from its log, if any
    std::string runstate;  // query-status, upper case (RUNNING, POSTMIGRATE, ...)
    std::string mig;       // query-migrate status, upper case (NONE when absent)
    // per node: ACTIVE, OPEN, INACTIVE, BROKEN, ?(text), or - (not observable: World::observe())
    std::vector<std::string> nodes;
    bool operator==(const HostObservation&) const = default;
};

class World {
  public:
    explicit World(WorldConfig config);
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    const WorldConfig& config() const { return config_; }
    const std::string& dir() const { return dir_; }
    // What was done to the real system so far (transcript.hpp): the storage and process set-up,
    // every QMP command but those of observe(), the relay's and the storage's actions.
    Transcript& transcript() { return transcript_; }

    // Starts the QEMU process of host h: a running (or, with `paused`, -S) VM, or a destination
    // (-incoming defer, then migrate-incoming on a fresh unix socket).
    void start_host(int h, bool incoming, bool paused = false);
    bool has_process(int h) const { return hosts_[h].process != nullptr; }
    // Whether host h's node states come from queries (QEMU 10.x) rather than the probe.
    bool queries_nodes(int h) const { return hosts_[h].activity_field; }
    bool running(int h); // the process exists and has not ended
    QmpClient& qmp(int h);
    // `migrate` from h to the listening peer, through a relay that holds the stream if `held`.
    void migrate(int h, bool held);
    Relay* relay() { return relay_.get(); } // the last migration's relay

    // The storage of every image stops answering / answers again. NBD: each qemu-nbd is killed /
    // restarted. Local file: the harness takes / drops a foreign lock on the byte that says
    // "another process does not share WRITE" (file-posix's 200 + BLK_PERM_WRITE's bit), so that
    // QEMU cannot take the write permission again: activation fails with the node's flag and
    // driver kept; flushes and inactivation are not affected. On a graph over NBD, the restore
    // also waits until every running QEMU's NBD clients have reconnected (a read through each
    // protocol node; the first request after a server restart fails, real-qemu.md section 5),
    // since the model's storage_restored is the storage answering again.
    void kill_storage();
    void restore_storage();

    // The non-destructive activity probe of real-qemu.md: a qemu-io write through a temporary
    // BlockBackend asking for WRITE permission on the node. On QEMU 10.x it must not be used on an
    // inactive node: the temporary BlockBackend then leaves its permissions disabled (10.0's
    // blk_insert_bs() does so for inactive nodes) and the write reaches
    // bdrv_co_write_req_prepare()'s assertion, which aborts QEMU.
    std::string probe(int h, int i);
    // Whether the probe may be sent to node i: a format node's (a write that a protocol node
    // let through would land on the qcow2 header; a backing image's is refused as read-only,
    // unless it has no driver).
    bool probe_reads(int i) const;
    // Every node's state. QEMU 7.2 (no `active` field): the probe. QEMU 10.x: read-only queries
    // only, since a probe racing an inactivation would abort QEMU: `active` from
    // query-named-block-nodes (query-block when a node without a driver, BROKEN, makes that
    // command fail) and, for an active node, ACTIVE or OPEN from the permissions its parents share
    // (x-debug-query-block-graph), the condition the probe's "Permission conflict" tests. On a
    // graph query-block fails too (it walks the backing chain), so there the node the error names
    // is BROKEN, a node a parent holds WRITE on is ACTIVE, and every other node is - (not seen).
    std::vector<std::string> node_states(int h);
    // The queries node_states() uses on QEMU 10.x. On a QEMU without the `active` field every node
    // counts as active, which the test comparing the permission rule with the probe relies on.
    std::vector<std::string> queried_states(int h);
    // Not in the transcript: observation is the harness's, not part of the story.
    HostObservation observe(int h);

    // The QEMU node-name of model node i: its label (flat: diskN).
    std::string node_name(int i) const;
    // The BlockBackend of the guest device over root node i (the i-th disk on flat).
    std::string device_backend(int i) const;
    const model::BlockGraph& graph() const { return graph_; }

  private:
    struct Host {
        std::unique_ptr<Process> process;
        std::unique_ptr<QmpClient> qmp;
        std::string incoming_uri; // where it listens, when it was started as a destination
        std::optional<ExitStatus> ended;
        int generation = 0;
        bool activity_field = false; // query-named-block-nodes reports `active` (QEMU 10.x)
    };

    // Image k: flat, node k's; on a graph, the k-th protocol node's (images_).
    std::string image(int k) const;
    std::string nbd_socket(int k) const;
    void start_nbd(int k);
    void kill_storage(int k);
    void restore_storage(int k);
    void wait_for_nbd_reconnect(int h);
    void set_capabilities(int h);
    // -drive's options for node x and its subtree under `prefix` (graph shapes).
    void drive_options(int x, const std::string& prefix, std::vector<bool>& opened,
                       std::string& out) const;

    WorldConfig config_;
    model::BlockGraph graph_;
    std::vector<int>
        images_; // the node each image belongs to (flat: the disk; else its protocol node)
    std::string dir_;
    Transcript transcript_;
    std::vector<std::unique_ptr<Process>> nbd_;
    std::vector<int> lock_fds_; // per image: the fd holding the foreign lock, or -1
    std::unique_ptr<Relay> relay_;
    int relays_ = 0;
    Host hosts_[2];
    int starts_ = 0;
};

} // namespace handoff::conformance
