// Faults as data: a test states them, a property test generates them, a trace replays them.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace handoff::impl {

// The block-layer operations a fault can hit, named after where it happens in QEMU.
enum class FaultOp {
    inactivate, // bdrv_inactivate_recurse(): drv->bdrv_inactivate, a parent callback or the perm
                // check
    activate,   // bdrv_activate(): bdrv_refresh_perms() (image locking) or a parent's activate
    reopen,     // bdrv_activate() -> bdrv_invalidate_cache(): qcow2 close + re-open; leaves a qcow2
                // node broken (bs->drv = NULL, qcow2_co_invalidate_cache)
    flush,      // bdrv_flush_all() in vm_stop_force_state() / do_vm_stop()
};

const char* to_string(FaultOp op);

// A one-shot fault: the first `op` on node `node` fails, later ones succeed (unless
// while_storage_down).
struct NodeFault {
    std::string node;
    FaultOp op = FaultOp::inactivate;
    // Only for FaultOp::inactivate: fail late (the perm check after the BlockBackend parents
    // were disabled and the driver flushed), leaving the node "half done": every BlockBackend
    // parent has disable_perm set, BDRV_O_INACTIVE is not set (domain reference 2.2). Otherwise
    // the driver step (qcow2_inactivate) fails and the node is untouched.
    bool leave_half_done = false;
    // Not one-shot: fails every time `op` runs while the storage under the node does not answer,
    // and never while it answers. An image lock whose I/O goes to the NFS server (a `file`
    // protocol node's lock) behaves so.
    bool while_storage_down = false;
};

// The shared storage stops answering at the moment `op` starts on `node` (one-shot), and stays
// down until the test calls SharedStorage::come_back(). This is how a test says "the NFS server
// went away during the inactivation of the second disk".
struct StorageOutageTrigger {
    std::string node;
    FaultOp op = FaultOp::inactivate;
};

// Where postcopy_start() can fail after the disks were inactivated (migration.c 3196ff).
enum class PostcopyPackageFault {
    none,
    before_package_sent, // "Migration stream errored (pre package)": restart_block still true
    package_send_fails,  // qemu_savevm_send_packaged() fails: after the last point of recovery
};

struct FaultPlan {
    std::vector<NodeFault> node_faults;
    std::optional<StorageOutageTrigger> storage_outage;
    // Destination: qemu_loadvm_state() fails at the next section it reads (before the stream
    // ended, or even if it was complete); the process exits.
    bool incoming_load_fails = false;
    // Source: await_return_path_close_on_source() reports an error after the completion.
    bool return_path_error = false;
    // Source: the migration stream gets an error after the savevm completion (qemu_file_get_error).
    bool file_error_after_completion = false;
    PostcopyPackageFault postcopy_package = PostcopyPackageFault::none;
};

// The plan of one QEMU instance, with one-shot bookkeeping.
class FaultInjector {
  public:
    FaultInjector() = default;
    explicit FaultInjector(FaultPlan plan) : plan_(std::move(plan)) {}

    const FaultPlan& plan() const { return plan_; }
    // Add a fault while running (a property test arms the parameter of the next step).
    void arm(NodeFault fault) { plan_.node_faults.push_back(std::move(fault)); }
    void arm_storage_outage(StorageOutageTrigger trigger) {
        plan_.storage_outage = std::move(trigger);
    }
    FaultPlan& mutable_plan() { return plan_; }

    // Returns the first fault for (node, op) that fires now, if any, and consumes it unless it is
    // marked while_storage_down (which fires only if `storage_down`).
    std::optional<NodeFault> take(const std::string& node, FaultOp op, bool storage_down);
    // Consumes the storage-outage trigger if it is for (node, op).
    bool take_storage_outage(const std::string& node, FaultOp op);
    // Consumes a boolean fault of the plan (e.g. &FaultPlan::return_path_error).
    bool take(bool FaultPlan::*flag);
    PostcopyPackageFault take_postcopy_package_fault();

    // Human-readable record of every fault that fired, in order.
    const std::vector<std::string>& fired() const { return fired_; }

  private:
    FaultPlan plan_;
    std::vector<std::string> fired_;
};

} // namespace handoff::impl
