// A read-only picture of one QEMU instance: everything the model speaks of.
#pragma once

#include "handoff/impl/block.hpp"
#include "handoff/impl/migration.hpp"
#include "handoff/impl/qemu_abort.hpp"

#include <optional>
#include <string>
#include <vector>

namespace handoff::impl {

// The abstract state of one node, as the model sees it (domain reference section 10).
enum class NodeActivity {
    active,   // BDRV_O_INACTIVE clear, no BlockBackend parent disabled
    inactive, // BDRV_O_INACTIVE set
    half,     // BDRV_O_INACTIVE clear but a BlockBackend parent has disable_perm
    broken,   // bs->drv == NULL (a qcow2 re-open failed)
};
std::string_view to_string(NodeActivity a);

struct NodeObservation {
    std::string node_name;
    BlockDriverKind driver;
    NodeActivity activity;
    bool flag_inactive;        // open_flags & BDRV_O_INACTIVE
    bool backend_disable_perm; // some BlockBackend parent has disable_perm
    bool has_backend;          // a guest device uses it (a root)
};

struct Observation {
    std::string name;
    QemuVersion version;
    bool alive = true;   // neither crashed nor exited
    bool exited = false; // exit(EXIT_FAILURE) after a failed incoming migration
    std::optional<CrashRecord> crash;
    RunState runstate;
    bool autostart;
    MigrationStatus migration_status;
    MigrationThreadStep thread_step;
    bool block_inactive;
    bool vm_was_running;
    RunState vm_old_state;
    bool migration_block_active; // 10.0-dev only; true elsewhere
    MigrationStatus incoming_status;
    IncomingStep incoming_step;
    bool storage_answering;
    std::vector<NodeObservation> nodes;

    const NodeObservation& node(const std::string& node_name) const;
    // True if some node with a BlockBackend (a guest disk) is not active.
    bool any_root_not_active() const;
};

} // namespace handoff::impl
