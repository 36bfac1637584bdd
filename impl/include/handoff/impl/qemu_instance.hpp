// One QEMU process: its block layer, run state, migration state (outgoing and incoming), and
// every entry point the migration path has, each one step between BQL boundaries.
//
// Entry points are grouped by the QEMU thread that runs them:
//  * QMP commands (main loop, with the BQL): qmp_migrate, qmp_migrate_cancel, qmp_cont, ...
//  * the migration thread: migration_thread_step(), one BQL section per call;
//  * bottom halves and coroutines of the destination (main loop, with the BQL);
//  * the guest: guest_write() (a vCPU thread submitting I/O while the VM runs).
// A property test interleaves these calls freely; a step whose precondition does not hold (a
// thread waiting on a semaphore nobody posted, a BH not scheduled) returns not_enabled and
// changes nothing.
//
// A QEMU assert()/abort() is recorded (observe().crash) and the instance then refuses every call
// with refused_dead, as does an instance that exited.
#pragma once

#include "handoff/impl/block.hpp"
#include "handoff/impl/fault_plan.hpp"
#include "handoff/impl/migration.hpp"
#include "handoff/impl/observation.hpp"
#include "handoff/impl/qemu_abort.hpp"
#include "handoff/impl/qemu_version.hpp"
#include "handoff/impl/runstate.hpp"
#include "handoff/impl/shared_storage.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace handoff::impl {

enum class CallStatus {
    ok,           // the call ran and succeeded
    error,        // the call ran and returned an error (QMP error, I/O error, refused command)
    not_enabled,  // a step whose precondition does not hold: nothing happened
    refused_dead, // the instance crashed or exited earlier: nothing happened
    crashed,      // this call hit a QEMU assert()/abort(): see observe().crash
};
std::string_view to_string(CallStatus s);

struct CallResult {
    CallStatus status = CallStatus::ok;
    std::string message;
    bool ok() const { return status == CallStatus::ok; }
};

struct QemuOptions {
    std::string name = "src";
    QemuVersion version = QemuVersion::v8_0_0;
    BlockConfig block = BlockConfig::qcow2_disks_on_nfs(2);
    // -incoming defer: run state INMIGRATE, every node opened with BDRV_O_INACTIVE.
    bool incoming = false;
    // Without -S: a source starts RUNNING, a destination's autostart is set.
    bool autostart = true;
    MigrationCapabilities capabilities;
    FaultPlan faults;
};

class QemuInstance {
  public:
    QemuInstance(QemuOptions options, SharedStorage& storage);
    QemuInstance(const QemuInstance&) = delete;
    QemuInstance& operator=(const QemuInstance&) = delete;

    // ---- QMP commands (monitor, main loop, BQL held) ----
    // migration.c qmp_migrate() -> migrate_prepare() (run-state refusals) -> migrate_init().
    CallResult qmp_migrate(MigrationStream& stream);
    // migration.c qmp_migrate_cancel() -> migration_cancel() -> migrate_fd_cancel().
    CallResult qmp_migrate_cancel();
    // migration.c qmp_migrate_continue(): posts pause_sem if the state is PRE_SWITCHOVER.
    CallResult qmp_migrate_continue();
    // migration.c qmp_migrate_start_postcopy().
    CallResult qmp_migrate_start_postcopy();
    CallResult qmp_migrate_set_capabilities(const MigrationCapabilities& caps);
    // migration.c qmp_migrate_incoming() on a -incoming defer instance.
    CallResult qmp_migrate_incoming(MigrationStream& stream);
    // monitor/qmp-cmds.c qmp_cont().
    CallResult qmp_cont();
    // monitor/qmp-cmds.c qmp_stop().
    CallResult qmp_stop();
    // migration/savevm.c save_snapshot() (HMP savevm, QMP snapshot-save).
    CallResult qmp_savevm();
    // blockdev.c qmp_blockdev_set_active() (10.x); no node name: all nodes.
    CallResult qmp_blockdev_set_active(std::optional<std::string> node_name, bool active);

    // ---- the guest ----
    // A write by the guest device `device` (only while the vCPUs run: RUNNING).
    CallResult guest_write(const std::string& device);

    // ---- the migration thread ----
    // Runs the next step of the migration thread (see MigrationThreadStep); `choice` is what
    // migration_iteration_run() finds when the next step is `iterate`.
    CallResult migration_thread_step(IterationChoice choice = IterationChoice::complete);
    MigrationThreadStep migration_thread_next_step() const { return s_.thread_step; }

    // ---- the destination ----
    // migration.c process_incoming_migration_co(): qemu_loadvm_state() on the stream once the
    // source has ended it (EOF, shutdown, close) or sent the postcopy package.
    CallResult process_incoming_migration_co();
    // migration.c process_incoming_migration_bh().
    CallResult process_incoming_migration_bh();
    // savevm.c loadvm_postcopy_handle_run_bh().
    CallResult loadvm_postcopy_handle_run_bh();

    // ---- observation ----
    Observation observe() const;
    bool crashed() const { return crash_.has_value(); } // observe().crash, without a copy
    bool exited() const { return exited_; }
    const std::vector<std::string>& trace() const { return trace_; }
    FaultInjector& faults() { return faults_; }
    const BlockLayer& block() const { return block_; }
    const MigrationPolicy& policy() const { return policy_; }

  private:
    // Runs `body` unless the instance is dead; turns a QemuAbort into a recorded crash.
    CallResult guarded(const char* function, const std::function<CallResult()>& body);
    void log(std::string line);
    void migrate_set_state(MigrationStatus& state, MigrationStatus old_state,
                           MigrationStatus new_state);
    void migrate_set_state_any(MigrationStatus& state, MigrationStatus new_state);

    // cpus.c
    void vm_start();
    int vm_stop(RunState state);
    int vm_stop_force_state(RunState state);
    // migration.c migration_stop_vm() (9.x) and its 8.x inline equivalents.
    int migration_stop_vm(bool postcopy);
    void global_state_store();

    // migration/block-active.c (10.x); plain bdrv_* calls before.
    bool migration_block_activate(std::string* errp);
    bool migration_block_inactivate();

    // savevm.c
    int qemu_savevm_state_complete_precopy(bool inactivate_disks);
    void qemu_file_set_error(int ret);
    void qemu_file_shutdown();

    // migration thread steps
    void migration_thread_setup();
    void migration_iteration_run(IterationChoice choice);
    void migration_completion_begin();
    void migration_completion_locked();
    void migration_completion_savevm_locked();
    void migration_completion_wait_pre_switchover();
    void migration_completion_checks();
    void migration_completion_fail();
    void migration_iteration_finish();
    void migrate_fd_cleanup();
    void postcopy_start();
    void migrate_fd_cancel();
    void after_thread_step();

    QemuOptions options_;
    const MigrationPolicy& policy_;
    SharedStorage& storage_;
    std::vector<std::string> trace_;
    FaultInjector faults_;
    BlockLayer block_;
    RunStateMachine runstate_;
    MigrationCapabilities caps_;
    bool autostart_;
    bool migration_block_active_ = true; // 10.0-dev migration/block-active.c
    MigrationState s_;
    MigrationIncomingState mis_;
    bool exited_ = false;
    std::optional<CrashRecord> crash_;
};

} // namespace handoff::impl
