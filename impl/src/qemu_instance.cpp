// QemuInstance plumbing: construction, crash recording, observation, and the cpus.c and
// migration/block-active.c helpers the migration code calls.
#include "handoff/impl/qemu_instance.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

namespace handoff::impl {

std::string_view to_string(CallStatus s) {
    switch (s) {
    case CallStatus::ok:
        return "ok";
    case CallStatus::error:
        return "error";
    case CallStatus::not_enabled:
        return "not_enabled";
    case CallStatus::refused_dead:
        return "refused_dead";
    case CallStatus::crashed:
        return "crashed";
    }
    return "?";
}

std::string_view to_string(NodeActivity a) {
    switch (a) {
    case NodeActivity::active:
        return "active";
    case NodeActivity::inactive:
        return "inactive";
    case NodeActivity::half:
        return "half";
    case NodeActivity::broken:
        return "broken";
    }
    return "?";
}

const NodeObservation& Observation::node(const std::string& node_name) const {
    for (const NodeObservation& n : nodes) {
        if (n.node_name == node_name) {
            return n;
        }
    }
    throw std::out_of_range("no node " + node_name);
}

QemuInstance::QemuInstance(QemuOptions options, SharedStorage& storage)
    : options_(std::move(options)), policy_(policy_for(options_.version)), storage_(storage),
      faults_(options_.faults), block_(policy_, faults_, storage_, trace_), runstate_(policy_),
      caps_(options_.capabilities), autostart_(options_.autostart) {
    // blockdev.c: `if (runstate_check(RUN_STATE_INMIGRATE)) bdrv_flags |= BDRV_O_INACTIVE;`
    if (options_.incoming) {
        runstate_.runstate_set(RunState::inmigrate);
    }
    block_.open(options_.block, options_.incoming);
    // main(): a source without -S starts its vCPUs (PRELAUNCH -> RUNNING).
    if (!options_.incoming && autostart_) {
        runstate_.runstate_set(RunState::running);
    }
    // migration_instance_init(): "Freshly started QEMU owns all the block devices".
    migration_block_active_ = true;
}

void QemuInstance::log(std::string line) {
    trace_.push_back(std::move(line));
}

CallResult QemuInstance::guarded(const char* function, const std::function<CallResult()>& body) {
    if (crash_ || exited_) {
        return {CallStatus::refused_dead, fmt::format("{}: QEMU is gone", options_.name)};
    }
    try {
        return body();
    } catch (const QemuAbort& e) {
        crash_ = e.record();
        log(fmt::format("CRASH in {} ({}): {}", e.record().function, function, e.record().reason));
        // The process is gone: its sockets close.
        if (s_.to_dst) {
            s_.to_dst->source_closed = true;
        }
        return {CallStatus::crashed, e.what()};
    }
}

void QemuInstance::migrate_set_state(MigrationStatus& state, MigrationStatus old_state,
                                     MigrationStatus new_state) {
    // migrate_set_state(): qatomic_cmpxchg(state, old, new), a no-op unless *state == old.
    if (state == old_state) {
        state = new_state;
        log(fmt::format("migrate_set_state {} -> {}", to_string(old_state), to_string(new_state)));
    }
}

void QemuInstance::migrate_set_state_any(MigrationStatus& state, MigrationStatus new_state) {
    migrate_set_state(state, state, new_state);
}

Observation QemuInstance::observe() const {
    Observation o;
    o.name = options_.name;
    o.version = options_.version;
    o.exited = exited_;
    o.crash = crash_;
    o.alive = !exited_ && !crash_;
    o.runstate = runstate_.runstate_get();
    o.autostart = autostart_;
    o.migration_status = s_.state;
    o.thread_step = s_.thread_step;
    o.block_inactive = s_.block_inactive;
    o.vm_was_running = s_.vm_was_running;
    o.vm_old_state = s_.vm_old_state;
    o.migration_block_active = !policy_.has_migration_block_active_flag || migration_block_active_;
    o.incoming_status = mis_.state;
    o.incoming_step = mis_.step;
    o.storage_answering = storage_.answering();
    for (const auto& bs : block_.nodes()) {
        NodeObservation n;
        n.node_name = bs->node_name;
        n.driver = bs->driver_kind;
        n.flag_inactive = bs->inactive();
        n.backend_disable_perm = std::any_of(bs->blk_parents.begin(), bs->blk_parents.end(),
                                             [](const BlockBackend* b) { return b->disable_perm; });
        n.has_backend = !bs->blk_parents.empty();
        n.activity = !bs->drv                 ? NodeActivity::broken
                     : n.flag_inactive        ? NodeActivity::inactive
                     : n.backend_disable_perm ? NodeActivity::half
                                              : NodeActivity::active;
        o.nodes.push_back(n);
    }
    return o;
}

// ---- cpus.c (8.0.5 :721 vm_start, :730 vm_stop_force_state, :255 do_vm_stop) ----

void QemuInstance::vm_start() {
    // vm_prepare_start(): already running -> no run-state change. No block-state check in any
    // version: starting with inactive nodes is possible, the write path crashes later.
    if (runstate_.runstate_is_running()) {
        return;
    }
    runstate_.runstate_set(RunState::running);
    log("vm_start: running");
}

int QemuInstance::vm_stop(RunState state) {
    // do_vm_stop(): 8.x tests runstate_is_running(), 9.x runstate_is_live(); SUSPENDED is never
    // entered here, so both read the same.
    if (runstate_.runstate_is_running()) {
        runstate_.runstate_set(state);
        log(fmt::format("vm_stop: {}", to_string(state)));
    }
    // bdrv_drain_all(); ret = bdrv_flush_all();
    return block_.bdrv_flush_all();
}

int QemuInstance::vm_stop_force_state(RunState state) {
    if (runstate_.runstate_is_running()) {
        return vm_stop(state);
    }
    runstate_.runstate_set(state);
    log(fmt::format("vm_stop_force_state: {}", to_string(state)));
    // "Make sure to return an error if the flush in a previous vm_stop() failed."
    return block_.bdrv_flush_all();
}

void QemuInstance::global_state_store() {
    if (s_.to_dst) {
        s_.to_dst->global_state = runstate_.runstate_get();
    }
}

// The VM stop at the switchover, and which restart bookkeeping it records: 7.2 and 8.0 set
// vm_was_running in migration_completion() only; 8.1 sets vm_old_state in migration_completion()
// only; 9.x migration_stop_vm() sets vm_old_state for the completion and postcopy_start().
int QemuInstance::migration_stop_vm(bool postcopy) {
    if (!postcopy || policy_.postcopy_records_vm_old_state) {
        if (policy_.tracks_vm_old_state) {
            s_.vm_old_state = runstate_.runstate_get();
        } else {
            s_.vm_was_running = runstate_.runstate_is_running();
        }
    }
    global_state_store();
    return vm_stop_force_state(RunState::finish_migrate);
}

// ---- migration/block-active.c (10.x) ----

bool QemuInstance::migration_block_activate(std::string* errp) {
    if (policy_.has_migration_block_active_flag && migration_block_active_) {
        log("migration_block_activate: active-skipped");
        return true;
    }
    std::string err;
    block_.bdrv_activate_all(&err);
    if (!err.empty()) {
        log("migration_block_activate: " + err);
        if (errp) {
            *errp = err;
        }
        return false;
    }
    migration_block_active_ = true;
    return true;
}

bool QemuInstance::migration_block_inactivate() {
    if (policy_.has_migration_block_active_flag && !migration_block_active_) {
        log("migration_block_inactivate: inactive-skipped");
        return true;
    }
    const int ret = block_.bdrv_inactivate_all();
    if (ret) {
        log(fmt::format("migration_block_inactivate: bdrv_inactivate_all() failed: {}", ret));
        return false; // the 10.0-dev flag stays true on a partial failure
    }
    migration_block_active_ = false;
    return true;
}

} // namespace handoff::impl
