// The block layer of one QEMU process: nodes (BlockDriverState), their children/parents DAG,
// BlockBackends attached to roots, and the (in)activation walks of block.c.
//
// Read from QEMU 8.0.5 block.c (bdrv_inactivate_all 6794, bdrv_inactivate_recurse 6730,
// bdrv_activate 6599, bdrv_activate_all 6692), block/io.c (bdrv_co_write_req_prepare 1815),
// block/block-backend.c (blk_root_inactivate, blk_root_activate) and block/qcow2.c
// (qcow2_co_invalidate_cache 2781), and from 10.2 for Kevin Wolf's changes.
#pragma once

#include "handoff/impl/fault_plan.hpp"
#include "handoff/impl/qemu_version.hpp"
#include "handoff/impl/shared_storage.hpp"

#include <memory>
#include <string>
#include <vector>

namespace handoff::impl {

inline constexpr int BDRV_O_RDWR = 0x0002;
inline constexpr int BDRV_O_INACTIVE = 0x0800; // "consistency hint for migration handoff"

// mirror_top: the filter node a mirror job inserts above its source (block/mirror.c
// bdrv_mirror_top); the guest's BlockBackend is moved onto it.
enum class BlockDriverKind { qcow2, raw, file, nfs, mirror_top };
const char* to_string(BlockDriverKind kind);

// What a driver does on the paths modelled here.
struct BlockDriver {
    BlockDriverKind kind;
    const char* format_name;
    bool is_protocol; // file, nfs: talks to the shared storage directly
    // drv->is_filter: passes its users' requests and permissions on to its filtered child
    // (bdrv_filter_default_perms()).
    bool is_filter;
    // drv->bdrv_inactivate exists and does I/O (qcow2_inactivate: store bitmaps, flush the L2 and
    // refcount caches, mark the image clean).
    bool inactivate_does_io;
    // bdrv_invalidate_cache() does I/O: qcow2 closes and re-opens the image (reads the header).
    bool invalidate_cache_does_io;
    // A failed re-open leaves bs->drv = NULL (qcow2_co_invalidate_cache: "Could not reopen qcow2
    // layer"); every later call on the node returns -ENOMEDIUM.
    bool reopen_failure_drops_driver;
    // bdrv_refresh_perms() takes image locks on the storage (file-posix raw_check_perm); the
    // libnfs driver takes none.
    bool perm_refresh_does_io;
};
const BlockDriver& bdrv_find_format(BlockDriverKind kind);

struct BlockBackend;
struct BlockDriverState;

// The roles of the edges this block graph has (include/block/block-common.h BdrvChildRole,
// reduced to one role per edge): a format node's image file, its backing image, a filter's
// filtered child.
enum class BdrvChildRole { file, backing, filtered };
const char* to_string(BdrvChildRole role);

// block_int-common.h struct BdrvChild: one edge from a parent node to a child node.
struct BdrvChild {
    std::string name; // "file", "backing"
    BdrvChildRole role;
    BlockDriverState* bs;
};

struct BlockDriverState {
    std::string node_name;
    BlockDriverKind driver_kind;  // what drv was when the node was opened
    const BlockDriver* drv;       // nullptr once a qcow2 re-open failed
    int open_flags = BDRV_O_RDWR; // BDRV_O_INACTIVE: the node is inactive
    // bs->children: each new child is inserted at the head (QLIST_INSERT_HEAD, block.c
    // 10.0.2:1444), so a qcow2 node's backing child (attached after qcow2_open() opened the file
    // child) comes first, and both walks visit the backing chain before the file node.
    std::vector<BdrvChild> children;
    std::vector<BlockDriverState*> bds_parents; // bs->parents that are nodes
    std::vector<BlockBackend*> blk_parents;     // bs->parents that are BlockBackends
    bool monitor_owned = true;                  // see NodeConfig
    // Something was written since the last successful flush (bdrv_co_flush()'s
    // bs->write_gen != bs->flushed_gen): a running guest's disk starts dirty, a node opened
    // inactive starts clean; bdrv_co_flush() returns at once for a clean node.
    bool written_since_flush = false;
    // The qcow2 image has a persistent dirty bitmap (an incremental-backup checkpoint):
    // qcow2_inactivate() stores it (qcow2_store_persistent_dirty_bitmaps()), which writes to the
    // storage whether or not anything was written since the last flush.
    bool persistent_bitmaps = false;

    bool inactive() const { return (open_flags & BDRV_O_INACTIVE) != 0; }
    // bs->file (a format node's image) or a filter's filtered child: where a guest write goes
    // on (bdrv_co_pwritev() of the driver; nullptr for a protocol node).
    BlockDriverState* data_child() const;
    // bdrv_is_inserted() (block.c; later bdrv_co_is_inserted()): a driver here and
    // in every node below, over every child (the backing image too). A BlockBackend whose root
    // is not inserted fails every request with -ENOMEDIUM (blk_check_byte_request()), and
    // bdrv_all_snapshots_includes_bs() leaves such a node out of savevm.
    bool is_inserted() const;
};

struct BlockBackend {
    std::string name;    // the guest device using it (virtio-blk id)
    bool has_dev = true; // attached to a guest device (blk_can_inactivate)
    BlockDriverState* root = nullptr;
    // BlockBackend-level "inactive": set by blk_root_inactivate(), cleared by blk_root_activate().
    // While set, the BB holds no permissions on its root (bdrv_child_try_set_perm(root, 0, ...)).
    bool disable_perm = false;
};

// Topology of a machine, as given on the command line (-blockdev, -device).
struct ChildConfig {
    std::string node; // a node opened earlier
    BdrvChildRole role = BdrvChildRole::file;
};
struct NodeConfig {
    std::string node_name;
    BlockDriverKind driver;
    std::vector<ChildConfig> children; // in the order the driver attaches them (file, backing)
    bool persistent_bitmaps = false;   // qcow2 only: see BlockDriverState
    bool flushed = false;              // opened active with nothing written since a flush
    // Opened with -blockdev (in monitor_bdrv_states, so bdrv_next() visits it after the
    // BlockBackends' roots), not implicitly as -drive opens a disk's file and backing nodes.
    bool monitor_owned = true;
};
struct BackendConfig {
    std::string device; // -device ...,id=<device>,drive=<root>
    std::string root;
};
struct BlockConfig {
    std::vector<NodeConfig> nodes;       // opened in this order (monitor-owned list order)
    std::vector<BackendConfig> backends; // created in this order (blk_all_next order)

    // n disks named A, B, ...: each a qcow2 node over an nfs protocol node, used by device vda,
    // vdb, ... The seed bug's machine has two. Busy disks (the default) have persistent dirty
    // bitmaps and guest writes not yet flushed, so that flushing or inactivating them writes to
    // the storage; idle ones have neither, and are flushed and inactivated without I/O.
    static BlockConfig qcow2_disks_on_nfs(int count, bool busy = true);

    // The model's named graphs (model/graph.hpp), with the model's node labels as node names,
    // every protocol node on the one shared storage, opened as -drive opens them (the model's
    // instance): only the guest devices' nodes are in bdrv_next()'s list, the file and backing
    // nodes below are implicit. chain: per disk N, "diskN" (qcow2) over
    // "diskN.file" with backing "diskN.base" (qcow2, read-only, so never written) over
    // "diskN.base.file". shared-base: "disk0" and "disk1", each over its ".file", both backed by
    // "base" over "base.file". job: per disk N, a mirror job's filter "diskN.job-filter" over
    // "diskN" (qcow2) over "diskN.file", the guest's BlockBackend on the filter.
    static BlockConfig qcow2_chains_on_nfs(int disks, bool busy = true);
    static BlockConfig qcow2_disks_on_shared_base(bool busy = true);
    static BlockConfig mirror_jobs_on_nfs(int disks, bool busy = true);
};

// Where a write or flush failed without killing QEMU.
struct IoResult {
    int ret = 0; // 0 or -errno
    std::string error;
};

class BlockLayer {
  public:
    BlockLayer(const MigrationPolicy& policy, FaultInjector& faults, SharedStorage& storage,
               std::vector<std::string>& trace);
    BlockLayer(const BlockLayer&) = delete;
    BlockLayer& operator=(const BlockLayer&) = delete;

    // blockdev.c: nodes opened while the run state is INMIGRATE get BDRV_O_INACTIVE
    // (8.0.5 blockdev.c:608, :675); their BlockBackends start with disable_perm.
    void open(const BlockConfig& config, bool inactive);

    // bdrv_first()/bdrv_next(): the root of every BlockBackend (blk list order, each node once),
    // then the monitor-owned nodes without a BlockBackend (opening order).
    std::vector<BlockDriverState*> bdrv_next_order() const;

    // block.c bdrv_inactivate_all(): top-down per tree, stop at the first failure, no rollback.
    int bdrv_inactivate_all();
    // 10.x block.c bdrv_inactivate(): blockdev-set-active active=false on one node.
    int bdrv_inactivate(BlockDriverState& bs, std::string* errp);
    // block.c bdrv_activate(): bottom-up, a no-op on active nodes except for parent callbacks.
    int bdrv_activate(BlockDriverState& bs, std::string* errp);
    // block.c bdrv_activate_all(): bdrv_next order, stop at the first failure. QEMU's callers
    // test only the error pointer, never the result: a node without a driver stops the walk with
    // -ENOMEDIUM and no error, which its caller takes for success.
    int bdrv_activate_all(std::string* errp);
    // block/io.c bdrv_flush_all(): called by do_vm_stop() and vm_stop_force_state().
    int bdrv_flush_all();
    // A guest write through BlockBackend `blk` (blk_co_pwritev_part -> bdrv_co_pwritev_part ->
    // bdrv_co_write_req_prepare on the root and, for a format node, on its file child).
    IoResult blk_pwrite(BlockBackend& blk);
    // block/snapshot.c bdrv_all_can_snapshot(): every writable node with a BlockBackend must be
    // able to take a snapshot (bdrv_can_snapshot: drv present, inserted and bdrv_is_writable,
    // which is false for BDRV_O_INACTIVE).
    bool bdrv_all_can_snapshot(std::string* errp) const;

    BlockDriverState* bdrv_find_node(const std::string& node_name) const;
    BlockBackend* blk_by_name(const std::string& name) const;
    const std::vector<std::unique_ptr<BlockDriverState>>& nodes() const { return nodes_; }
    const std::vector<std::unique_ptr<BlockBackend>>& backends() const { return backends_; }

  private:
    int bdrv_inactivate_recurse(BlockDriverState& bs, bool top_level);
    bool bdrv_has_bds_parent(const BlockDriverState& bs, bool only_active) const;
    int bdrv_refresh_perms(BlockDriverState& bs, std::string* errp);
    int bdrv_invalidate_cache(BlockDriverState& bs, std::string* errp);
    int bdrv_co_write_req_prepare(BlockDriverState& bs, bool child_has_write_perm);
    // Fires a storage-outage trigger and answers whether I/O on `bs` reaches a storage that
    // answers.
    bool storage_answers(const BlockDriverState& bs) const;
    void mark_flushed(BlockDriverState& bs);
    void fault_point(const BlockDriverState& bs, FaultOp op);
    std::optional<NodeFault> take_fault(const BlockDriverState& bs, FaultOp op);
    void log(std::string line);

    const MigrationPolicy& policy_;
    FaultInjector& faults_;
    SharedStorage& storage_;
    std::vector<std::string>& trace_;
    std::vector<std::unique_ptr<BlockDriverState>> nodes_;
    std::vector<std::unique_ptr<BlockBackend>> backends_;
};

} // namespace handoff::impl
