#include "handoff/impl/block.hpp"

#include "handoff/impl/qemu_abort.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <stdexcept>

namespace handoff::impl {

const char* to_string(BlockDriverKind kind) {
    return bdrv_find_format(kind).format_name;
}

const BlockDriver& bdrv_find_format(BlockDriverKind kind) {
    using K = BlockDriverKind;
    //                          kind          name          proto  filter inact  inval  drops  perms
    static const BlockDriver qcow2{K::qcow2, "qcow2", false, false, true, true, true, false};
    static const BlockDriver raw{K::raw, "raw", false, false, false, false, false, false};
    static const BlockDriver file{K::file, "file", true, false, false, false, false, true};
    static const BlockDriver nfs{K::nfs, "nfs", true, false, false, false, false, false};
    // bdrv_mirror_top (block/mirror.c): no bdrv_inactivate, no co_invalidate_cache, no I/O of
    // its own when (in)activated.
    static const BlockDriver mirror_top{K::mirror_top, "mirror_top", false, true,
                                        false,         false,        false, false};
    switch (kind) {
    case K::qcow2:
        return qcow2;
    case K::raw:
        return raw;
    case K::file:
        return file;
    case K::nfs:
        return nfs;
    case K::mirror_top:
        return mirror_top;
    }
    return raw;
}

const char* to_string(BdrvChildRole role) {
    switch (role) {
    case BdrvChildRole::file:
        return "file";
    case BdrvChildRole::backing:
        return "backing";
    case BdrvChildRole::filtered:
        return "filtered";
    }
    return "?";
}

BlockDriverState* BlockDriverState::data_child() const {
    for (const BdrvChild& child : children) {
        if (child.role == BdrvChildRole::file || child.role == BdrvChildRole::filtered) {
            return child.bs;
        }
    }
    return nullptr;
}

bool BlockDriverState::is_inserted() const {
    return drv && std::all_of(children.begin(), children.end(),
                              [](const BdrvChild& child) { return child.bs->is_inserted(); });
}

BlockConfig BlockConfig::qcow2_disks_on_nfs(int count, bool busy) {
    BlockConfig config;
    for (int i = 0; i < count; ++i) {
        const std::string name(1, static_cast<char>('A' + i));
        config.nodes.push_back({name + "-nfs", BlockDriverKind::nfs, {}, false, !busy});
        config.nodes.push_back({name, BlockDriverKind::qcow2, {{name + "-nfs"}}, busy, !busy});
        config.backends.push_back({"vd" + std::string(1, static_cast<char>('a' + i)), name});
    }
    return config;
}

namespace {

std::string device_name(int disk) {
    return "vd" + std::string(1, static_cast<char>('a' + disk));
}

// A read-only backing image and its file, opened implicitly: never written, so clean.
void add_backing_image(BlockConfig& config, const std::string& name) {
    config.nodes.push_back({name + ".file", BlockDriverKind::nfs, {}, false, true, false});
    config.nodes.push_back({name, BlockDriverKind::qcow2, {{name + ".file"}}, false, true, false});
}

// A guest disk's qcow2 node over its implicit file, with a backing image or none. The node is
// the BlockBackend's (-drive), not the monitor's.
void add_disk(BlockConfig& config, const std::string& name, const std::string& backing, bool busy) {
    config.nodes.push_back({name + ".file", BlockDriverKind::nfs, {}, false, !busy, false});
    std::vector<ChildConfig> children{{name + ".file", BdrvChildRole::file}};
    if (!backing.empty()) {
        children.push_back({backing, BdrvChildRole::backing});
    }
    config.nodes.push_back({name, BlockDriverKind::qcow2, std::move(children), busy, !busy, false});
}

} // namespace

BlockConfig BlockConfig::qcow2_chains_on_nfs(int disks, bool busy) {
    BlockConfig config;
    for (int d = 0; d < disks; ++d) {
        const std::string disk = "disk" + std::to_string(d);
        add_backing_image(config, disk + ".base");
        add_disk(config, disk, disk + ".base", busy);
        config.backends.push_back({device_name(d), disk});
    }
    return config;
}

BlockConfig BlockConfig::qcow2_disks_on_shared_base(bool busy) {
    BlockConfig config;
    add_backing_image(config, "base");
    for (int d = 0; d < 2; ++d) {
        add_disk(config, "disk" + std::to_string(d), "base", busy);
        config.backends.push_back({device_name(d), "disk" + std::to_string(d)});
    }
    return config;
}

BlockConfig BlockConfig::mirror_jobs_on_nfs(int disks, bool busy) {
    BlockConfig config;
    for (int d = 0; d < disks; ++d) {
        const std::string disk = "disk" + std::to_string(d);
        add_disk(config, disk, "", busy);
        // mirror_start_job() inserts the filter above the source and moves the guest's
        // BlockBackend onto it (bdrv_replace_node()). The job's own BlockBackend on the source
        // asks only CONSISTENT_READ (mirror.c 10.0.2:1796-1800), so blk_can_inactivate() lets
        // it be inactivated and it changes no walk: it is left out.
        // The filter is an implicit node (bs->implicit), not the monitor's.
        config.nodes.push_back({disk + ".job-filter",
                                BlockDriverKind::mirror_top,
                                {{disk, BdrvChildRole::filtered}},
                                false,
                                true,
                                false});
        config.backends.push_back({device_name(d), disk + ".job-filter"});
    }
    return config;
}

BlockLayer::BlockLayer(const MigrationPolicy& policy, FaultInjector& faults, SharedStorage& storage,
                       std::vector<std::string>& trace)
    : policy_(policy), faults_(faults), storage_(storage), trace_(trace) {}

void BlockLayer::log(std::string line) {
    trace_.push_back(std::move(line));
}

void BlockLayer::open(const BlockConfig& config, bool inactive) {
    for (const NodeConfig& nc : config.nodes) {
        if (bdrv_find_node(nc.node_name)) {
            throw std::invalid_argument("duplicate node name " + nc.node_name);
        }
        auto bs = std::make_unique<BlockDriverState>();
        bs->node_name = nc.node_name;
        bs->driver_kind = nc.driver;
        bs->drv = &bdrv_find_format(nc.driver);
        bs->open_flags = BDRV_O_RDWR | (inactive ? BDRV_O_INACTIVE : 0);
        bs->written_since_flush = !inactive && !nc.flushed;
        bs->persistent_bitmaps = nc.persistent_bitmaps;
        bs->monitor_owned = nc.monitor_owned;
        for (const ChildConfig& cc : nc.children) {
            BlockDriverState* child = bdrv_find_node(cc.node);
            if (!child) {
                throw std::invalid_argument("unknown child node " + cc.node);
            }
            // bdrv_attach_child_noperm(): QLIST_INSERT_HEAD(&parent_bs->children, ...).
            bs->children.insert(bs->children.begin(),
                                BdrvChild{to_string(cc.role), cc.role, child});
            child->bds_parents.push_back(bs.get());
        }
        nodes_.push_back(std::move(bs));
    }
    for (const BackendConfig& bc : config.backends) {
        BlockDriverState* root = bdrv_find_node(bc.root);
        if (!root) {
            throw std::invalid_argument("unknown root node " + bc.root);
        }
        auto blk = std::make_unique<BlockBackend>();
        blk->name = bc.device;
        blk->root = root;
        blk->disable_perm = inactive;
        root->blk_parents.push_back(blk.get());
        backends_.push_back(std::move(blk));
    }
}

BlockDriverState* BlockLayer::bdrv_find_node(const std::string& node_name) const {
    for (const auto& bs : nodes_) {
        if (bs->node_name == node_name) {
            return bs.get();
        }
    }
    return nullptr;
}

BlockBackend* BlockLayer::blk_by_name(const std::string& name) const {
    for (const auto& blk : backends_) {
        if (blk->name == name) {
            return blk.get();
        }
    }
    return nullptr;
}

std::vector<BlockDriverState*> BlockLayer::bdrv_next_order() const {
    std::vector<BlockDriverState*> order;
    // Phase BDRV_NEXT_BACKEND_ROOTS: a root is returned by the first BlockBackend in its parent
    // list only, so each node once.
    for (const auto& blk : backends_) {
        if (blk->root && blk->root->blk_parents.front() == blk.get()) {
            order.push_back(blk->root);
        }
    }
    // Phase BDRV_NEXT_MONITOR_OWNED: monitor-owned nodes without a BlockBackend.
    for (const auto& bs : nodes_) {
        if (bs->monitor_owned && bs->blk_parents.empty()) {
            order.push_back(bs.get());
        }
    }
    return order;
}

bool BlockLayer::bdrv_has_bds_parent(const BlockDriverState& bs, bool only_active) const {
    return std::any_of(
        bs.bds_parents.begin(), bs.bds_parents.end(),
        [&](const BlockDriverState* parent) { return !only_active || !parent->inactive(); });
}

// I/O on `bs` needs the shared storage if `bs` is a protocol node or sits above one.
bool BlockLayer::storage_answers(const BlockDriverState& bs) const {
    if (bs.drv && bs.drv->is_protocol) {
        return storage_.answering();
    }
    return std::all_of(bs.children.begin(), bs.children.end(),
                       [&](const BdrvChild& child) { return storage_answers(*child.bs); });
}

void BlockLayer::fault_point(const BlockDriverState& bs, FaultOp op) {
    if (faults_.take_storage_outage(bs.node_name, op)) {
        storage_.stop_answering();
        log(fmt::format("storage stops answering ({} of {})", to_string(op), bs.node_name));
    }
}

std::optional<NodeFault> BlockLayer::take_fault(const BlockDriverState& bs, FaultOp op) {
    return faults_.take(bs.node_name, op, !storage_answers(bs));
}

// block.c 8.0.5:6730 (10.2: bdrv_inactivate_recurse(bs, top_level)).
int BlockLayer::bdrv_inactivate_recurse(BlockDriverState& bs, bool top_level) {
    fault_point(bs, FaultOp::inactivate);
    if (!bs.drv) {
        return -ENOMEDIUM;
    }
    // Make sure that we don't inactivate a child before its parent. It will be covered by
    // recursion from the yet active parent.
    if (bdrv_has_bds_parent(bs, true)) {
        return 0;
    }
    if (policy_.inactivate_inactive_node_allowed_at_top_level) {
        // Kevin Wolf, "block: Allow inactivating already inactive nodes" (10.0): harmless on
        // user request, but a child inactive before its parent is a bug.
        if (bs.inactive()) {
            qemu_assert(top_level, "bdrv_inactivate_recurse", "top_level");
            return 0;
        }
    } else {
        // 8.0.5 block.c:6748, the seed bug's assertion (Eric Blake's report: block.c:6738).
        qemu_assert(!bs.inactive(), "bdrv_inactivate_recurse",
                    "!(bs->open_flags & BDRV_O_INACTIVE)");
    }

    const std::optional<NodeFault> fault = take_fault(bs, FaultOp::inactivate);
    // drv->bdrv_inactivate (qcow2_inactivate): store bitmaps, flush the caches.
    if (fault && !fault->leave_half_done) {
        log(fmt::format("bdrv_inactivate_recurse({}): drv->bdrv_inactivate failed", bs.node_name));
        return -EIO;
    }
    // qcow2_inactivate() writes only what it has to: its persistent dirty bitmaps, and what was
    // written since the last flush (its caches' bdrv_flush() of the file returns early when
    // flushed_gen == write_gen). A clean node without bitmaps is inactivated without I/O, so
    // even while the storage does not answer. A half-done fault says the driver step had
    // nothing left to write; the perm check fails next.
    bool has_writes = bs.persistent_bitmaps || bs.written_since_flush;
    for (const BdrvChild& child : bs.children) {
        has_writes = has_writes || child.bs->written_since_flush;
    }
    if (bs.drv->inactivate_does_io && has_writes && !storage_answers(bs) &&
        !(fault && fault->leave_half_done)) {
        log(fmt::format("bdrv_inactivate_recurse({}): qcow2_inactivate: cache flush failed (-EIO)",
                        bs.node_name));
        return -EIO;
    }
    mark_flushed(bs); // the driver step flushed the caches down to the file
    // Parent callbacks: bdrv_child_cb_inactivate asserts the node parent is already inactive;
    // blk_root_inactivate sets disable_perm and drops the BlockBackend's permissions.
    for (const BlockDriverState* parent : bs.bds_parents) {
        qemu_assert(parent->inactive(), "bdrv_child_cb_inactivate",
                    "parent->open_flags & BDRV_O_INACTIVE");
    }
    for (BlockBackend* blk : bs.blk_parents) {
        blk->disable_perm = true;
    }
    // bdrv_get_cumulative_perm(): a parent still holding WRITE makes this -EPERM, after the
    // BlockBackends were disabled: the node is left half done.
    if (fault && fault->leave_half_done) {
        log(fmt::format("bdrv_inactivate_recurse({}): a parent still holds WRITE (-EPERM), node "
                        "left half done",
                        bs.node_name));
        return -EPERM;
    }
    bs.open_flags |= BDRV_O_INACTIVE;
    log(fmt::format("{} inactivated", bs.node_name));
    // bdrv_refresh_perms(bs, NULL, NULL): errors ignored.
    for (const BdrvChild& child : bs.children) {
        const int ret = bdrv_inactivate_recurse(*child.bs, false);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

// block.c 8.0.5:6794.
int BlockLayer::bdrv_inactivate_all() {
    log("bdrv_inactivate_all()");
    for (BlockDriverState* bs : bdrv_next_order()) {
        // Nodes with BDS parents are covered by recursion from the last parent that gets
        // inactivated. Don't inactivate them twice.
        if (bdrv_has_bds_parent(*bs, false)) {
            continue;
        }
        const int ret = bdrv_inactivate_recurse(*bs, true);
        if (ret < 0) {
            // bdrv_next_cleanup(&it); goto out: no rollback.
            log(fmt::format("bdrv_inactivate_all() failed ({}) at {}", ret, bs->node_name));
            return ret;
        }
    }
    return 0;
}

// 10.2 block.c bdrv_inactivate(), used by blockdev-set-active.
int BlockLayer::bdrv_inactivate(BlockDriverState& bs, std::string* errp) {
    if (bdrv_has_bds_parent(bs, true)) {
        if (errp) {
            *errp = "Node has active parent node";
        }
        return -EPERM;
    }
    const int ret = bdrv_inactivate_recurse(bs, true);
    if (ret < 0 && errp) {
        *errp = fmt::format("Failed to inactivate node ({})", ret);
    }
    return ret;
}

int BlockLayer::bdrv_refresh_perms(BlockDriverState& bs, std::string* errp) {
    if (take_fault(bs, FaultOp::activate) ||
        (bs.drv->perm_refresh_does_io && !storage_answers(bs))) {
        if (errp) {
            *errp = fmt::format("Failed to get \"write\" lock on {}", bs.node_name);
        }
        return -EPERM;
    }
    return 0;
}

int BlockLayer::bdrv_invalidate_cache(BlockDriverState& bs, std::string* errp) {
    fault_point(bs, FaultOp::reopen);
    if (take_fault(bs, FaultOp::reopen) ||
        (bs.drv->invalidate_cache_does_io && !storage_answers(bs))) {
        if (bs.drv->reopen_failure_drops_driver) {
            // qcow2_co_invalidate_cache(): error_prepend(errp, "Could not reopen qcow2 layer: ");
            // bs->drv = NULL;
            bs.drv = nullptr;
            if (errp) {
                *errp = fmt::format("Could not reopen qcow2 layer: {}: Input/output error",
                                    bs.node_name);
            }
            log(fmt::format("{}: qcow2 re-open failed, bs->drv = NULL", bs.node_name));
        } else if (errp) {
            *errp = fmt::format("Could not invalidate cache of {}", bs.node_name);
        }
        return -EIO;
    }
    return 0;
}

// block.c 8.0.5:6599 (10.2.0:6848). A node without a driver returns -ENOMEDIUM and sets no error
// (8.0.5:6608-6610, 10.2.0:6848-6850): callers test the error pointer only, so to them the call
// succeeded. The children are activated first and only their error stops the parent
// (10.2.0:6852-6858 tests local_err), so a parent activates over a driverless child.
int BlockLayer::bdrv_activate(BlockDriverState& bs, std::string* errp) {
    fault_point(bs, FaultOp::activate);
    if (!bs.drv) {
        log(fmt::format("bdrv_activate({}): no driver, -ENOMEDIUM without an error", bs.node_name));
        return -ENOMEDIUM;
    }
    for (const BdrvChild& child : bs.children) {
        std::string local_err;
        bdrv_activate(*child.bs, &local_err);
        if (!local_err.empty()) {
            if (errp) {
                *errp = local_err;
            }
            return -EINVAL;
        }
    }
    if (bs.inactive()) {
        bs.open_flags &= ~BDRV_O_INACTIVE;
        int ret = bdrv_refresh_perms(bs, errp);
        if (ret < 0) {
            bs.open_flags |= BDRV_O_INACTIVE;
            return ret;
        }
        ret = bdrv_invalidate_cache(bs, errp);
        if (ret < 0) {
            bs.open_flags |= BDRV_O_INACTIVE;
            return ret;
        }
        log(fmt::format("{} activated", bs.node_name));
    }
    // parent->klass->activate: blk_root_activate() is a no-op unless disable_perm; if it fails
    // (blk_set_perm), the node is marked inactive again even if it was active before.
    for (BlockBackend* blk : bs.blk_parents) {
        if (!blk->disable_perm) {
            continue;
        }
        // blk_set_perm() gives the guest its WRITE back. A filter passes it on to its filtered
        // child (bdrv_filter_default_perms()); a child without a driver, whose flag its failed
        // bdrv_activate() set again, is not writable (bdrv_is_writable_after_reopen(), block.c
        // 10.0.2:2184-2190), so bdrv_node_refresh_perm() refuses (:2519-2530).
        const BlockDriverState* filtered = bs.drv->is_filter ? bs.data_child() : nullptr;
        const bool read_only_below = filtered && !filtered->drv;
        if (read_only_below || take_fault(bs, FaultOp::activate)) {
            bs.open_flags |= BDRV_O_INACTIVE;
            if (errp) {
                *errp = read_only_below
                            ? fmt::format("{}: Block node is read-only", filtered->node_name)
                            : fmt::format("{}: blk_root_activate: could not restore permissions",
                                          blk->name);
            }
            return -EINVAL;
        }
        blk->disable_perm = false;
    }
    return 0;
}

// block.c 8.0.5:6692 (10.2.0:6940-6947): stops at the first node that returns < 0, with errp set
// only if that node set it (a driverless node does not).
int BlockLayer::bdrv_activate_all(std::string* errp) {
    for (BlockDriverState* bs : bdrv_next_order()) {
        const int ret = bdrv_activate(*bs, errp);
        if (ret < 0) {
            log(fmt::format("bdrv_activate_all() failed ({}) at {}", ret, bs->node_name));
            return ret;
        }
    }
    return 0;
}

// The node and its file children are flushed (qcow2_cache_flush() ends in bdrv_flush(bs->file)).
void BlockLayer::mark_flushed(BlockDriverState& bs) {
    bs.written_since_flush = false;
    for (const BdrvChild& child : bs.children) {
        mark_flushed(*child.bs);
    }
}

int BlockLayer::bdrv_flush_all() {
    int result = 0;
    for (const auto& bs : nodes_) {
        fault_point(*bs, FaultOp::flush);
        // bdrv_co_flush(): nothing to do for a node that is not inserted (drv == NULL) or that
        // has written nothing since it was flushed (flushed_gen == write_gen; an inactive node
        // was flushed on inactivation).
        if (!bs->drv || bs->inactive() || !bs->written_since_flush) {
            continue;
        }
        int ret = 0;
        if (take_fault(*bs, FaultOp::flush) || !storage_answers(*bs)) {
            ret = -EIO;
        }
        if (ret < 0 && result == 0) {
            log(fmt::format("bdrv_flush_all(): {} failed ({})", bs->node_name, ret));
            result = ret;
        }
        if (ret == 0) {
            bs->written_since_flush = false;
        }
    }
    return result;
}

// block/io.c 8.0.5:1815 (10.2:1976).
int BlockLayer::bdrv_co_write_req_prepare(BlockDriverState& bs, bool child_has_write_perm) {
    qemu_assert(!bs.inactive(), "bdrv_co_write_req_prepare", "!(bs->open_flags & BDRV_O_INACTIVE)");
    qemu_assert(child_has_write_perm, "bdrv_co_write_req_prepare", "child->perm & BLK_PERM_WRITE");
    return 0;
}

IoResult BlockLayer::blk_pwrite(BlockBackend& blk) {
    BlockDriverState* bs = blk.root;
    // blk_check_byte_request(): !blk_co_is_available(blk) -> -ENOMEDIUM, when a node anywhere
    // below the root has no driver (bdrv_is_inserted() walks every child, the backing image too),
    // before the request reaches any node.
    if (!bs || !bs->is_inserted()) {
        return {-ENOMEDIUM, blk.name + ": No medium found"};
    }
    // Down the data path: a filter passes the write to its filtered child, a format driver
    // writes data (and maybe metadata) to its file child; the backing image is not written. The
    // BlockBackend's child holds no permission while disable_perm is set.
    bool has_write_perm = !blk.disable_perm;
    for (BlockDriverState* node = bs; node; node = node->data_child()) {
        if (!node->drv) {
            return {-ENOMEDIUM, node->node_name + ": No medium found"};
        }
        bdrv_co_write_req_prepare(*node, has_write_perm);
        node->written_since_flush = true;
        has_write_perm = true;
    }
    if (!storage_answers(*bs)) {
        return {-EIO, blk.name + ": Input/output error"};
    }
    return {};
}

bool BlockLayer::bdrv_all_can_snapshot(std::string* errp) const {
    for (const auto& bs : nodes_) {
        // bdrv_all_snapshots_includes_bs(): inserted, not read-only, and used by a
        // BlockBackend or without parents.
        const bool included =
            bs->is_inserted() &&
            (!bs->blk_parents.empty() || (bs->bds_parents.empty() && bs->blk_parents.empty()));
        // bdrv_can_snapshot(): 9.0+ bdrv_is_writable(), false for BDRV_O_INACTIVE; before,
        // bdrv_is_read_only(), which lets an inactive read-write node through.
        if (included && bs->inactive() && policy_.snapshot_refuses_inactive_nodes) {
            if (errp) {
                *errp = fmt::format("Device '{}' is writable but does not support snapshots",
                                    bs->blk_parents.empty() ? bs->node_name
                                                            : bs->blk_parents.front()->name);
            }
            return false;
        }
    }
    return true;
}

} // namespace handoff::impl
