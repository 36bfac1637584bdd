// QMP commands outside migration.c: cont, stop (monitor/qmp-cmds.c), savevm
// (migration/savevm.c save_snapshot), blockdev-set-active (blockdev.c, 10.x), and guest writes.
#include "handoff/impl/qemu_instance.hpp"

#include <fmt/format.h>

namespace handoff::impl {

// monitor/qmp-cmds.c 8.0.5:66 qmp_cont(); e4e5e89b + 8597af76 for 10.x.
CallResult QemuInstance::qmp_cont() {
    return guarded("qmp_cont", [&]() -> CallResult {
        if (runstate_.runstate_needs_reset()) {
            return {CallStatus::error, "Resetting the Virtual Machine is required"};
        }
        if (runstate_.runstate_check(RunState::finish_migrate)) {
            return {CallStatus::error, "Migration is not finalized yet"};
        }
        if (runstate_.runstate_check(RunState::suspended)) {
            return {};
        }
        if (policy_.cont_activates_only_outside_inmigrate) {
            if (runstate_.runstate_check(RunState::inmigrate)) {
                autostart_ = true;
                return {};
            }
            // "Continuing after completed migration. Images have been inactivated to allow the
            // destination to take control. Need to get control back now."
            std::string err;
            if (!migration_block_activate(&err)) {
                return {CallStatus::error, err};
            }
            vm_start();
            return {};
        }
        // Before 10.0: activation even in INMIGRATE and even on a running VM.
        std::string err;
        block_.bdrv_activate_all(&err);
        if (!err.empty()) {
            return {CallStatus::error, err};
        }
        if (runstate_.runstate_check(RunState::inmigrate)) {
            autostart_ = true;
        } else {
            vm_start();
        }
        return {};
    });
}

CallResult QemuInstance::qmp_stop() {
    return guarded("qmp_stop", [&]() -> CallResult {
        if (runstate_.runstate_check(RunState::inmigrate)) {
            autostart_ = false;
        } else {
            vm_stop(RunState::paused); // a flush error is ignored
        }
        return {};
    });
}

// migration/savevm.c save_snapshot(): no inactivation (qemu_savevm_state_complete_precopy(f,
// false, false)), but it writes to every included node and calls migrate_init().
CallResult QemuInstance::qmp_savevm() {
    return guarded("save_snapshot", [&]() -> CallResult {
        if (migration_is_running(s_.state)) {
            return {CallStatus::error, "There's a migration process in progress"};
        }
        std::string err;
        if (!block_.bdrv_all_can_snapshot(&err)) {
            return {CallStatus::error, err};
        }
        // bdrv_all_find_vmstate_bs(): the VM state goes to the first node that can take a snapshot
        // (bdrv_can_snapshot(): a driver, inserted: bdrv_is_inserted() wants a driver below it
        // too); such a node is skipped, and only when every node is is there none.
        bool vmstate_bs_found = false;
        for (BlockDriverState* bs : block_.bdrv_next_order()) {
            vmstate_bs_found = vmstate_bs_found || (bs->is_inserted() && !bs->blk_parents.empty());
        }
        if (!vmstate_bs_found) {
            return {CallStatus::error, "No block device can accept snapshots"};
        }
        const bool saved_vm_running = runstate_.runstate_is_running();
        vm_stop(RunState::save_vm);
        // qemu_savevm_state(): migrate_init() (block_inactive is not reset), SETUP -> COMPLETED.
        s_.vm_was_running = false;
        s_.vm_old_state = kRunStateUnset;
        s_.state = MigrationStatus::none;
        migrate_set_state(s_.state, MigrationStatus::none, MigrationStatus::setup);
        // bdrv_all_create_snapshot(): qcow2 metadata and vmstate writes to each root and on down
        // its data path (its file child; a filter's filtered child), through the block layer,
        // not the BlockBackend (a half-inactivated root takes them).
        CallResult result;
        for (BlockDriverState* bs : block_.bdrv_next_order()) {
            if (!bs->is_inserted() || bs->blk_parents.empty()) {
                continue;
            }
            for (const BlockDriverState* node = bs; node && node->drv; node = node->data_child()) {
                qemu_assert(!node->inactive(), "bdrv_co_write_req_prepare",
                            "!(bs->open_flags & BDRV_O_INACTIVE)");
            }
            if (!storage_.answering()) {
                result = {CallStatus::error,
                          fmt::format("Error while creating snapshot on '{}'", bs->node_name)};
                break;
            }
        }
        migrate_set_state(s_.state, MigrationStatus::setup,
                          result.ok() ? MigrationStatus::completed : MigrationStatus::failed);
        if (saved_vm_running) {
            vm_start();
        }
        return result;
    });
}

// 10.2 blockdev.c:3529 qmp_blockdev_set_active(); no run-state guard.
CallResult QemuInstance::qmp_blockdev_set_active(std::optional<std::string> node_name,
                                                 bool active) {
    return guarded("qmp_blockdev_set_active", [&]() -> CallResult {
        if (!policy_.has_blockdev_set_active) {
            return {CallStatus::error, "The command blockdev-set-active has not been found"};
        }
        std::string err;
        if (!node_name) {
            if (active) {
                block_.bdrv_activate_all(&err);
                if (!err.empty()) {
                    return {CallStatus::error, err};
                }
            } else if (const int ret = block_.bdrv_inactivate_all(); ret < 0) {
                return {CallStatus::error, fmt::format("Failed to inactivate all nodes ({})", ret)};
            }
            return {};
        }
        BlockDriverState* bs = block_.bdrv_find_node(*node_name);
        if (!bs) {
            return {CallStatus::error,
                    fmt::format("Failed to find node with node-name='{}'", *node_name)};
        }
        if (active) {
            block_.bdrv_activate(*bs, &err);
        } else {
            block_.bdrv_inactivate(*bs, &err);
        }
        if (!err.empty()) {
            return {CallStatus::error, err};
        }
        return {};
    });
}

CallResult QemuInstance::guest_write(const std::string& device) {
    return guarded("guest_write", [&]() -> CallResult {
        if (!runstate_.runstate_is_running()) {
            return {CallStatus::not_enabled, "the vCPUs are stopped"};
        }
        BlockBackend* blk = block_.blk_by_name(device);
        if (!blk) {
            return {CallStatus::error, "no device " + device};
        }
        const IoResult r = block_.blk_pwrite(*blk);
        if (r.ret < 0) {
            return {CallStatus::error, r.error};
        }
        return {};
    });
}

} // namespace handoff::impl
