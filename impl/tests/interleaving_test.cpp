// Interleavings at BQL boundaries and failure paths beyond the two headline bugs: each asserts
// what the version's control flow does, so a change of any policy field shows up here.
#include "scenario_helpers.hpp"
#include "test_names.hpp"

#include <gtest/gtest.h>

namespace handoff::impl {
namespace {

// migrate_cancel lands after the migration thread decided to complete but before it took the
// BQL (domain reference 8.4). 8.0's ram_save_complete() ignores the shut-down file, so the
// inactivation still runs, after cancel looked at block_inactive; 9.2's returns the error first.
TEST(CancelRace, V8_0_0_CancelBeforeTheCompletionLockRestartsTheVmWithInactiveDisks) {
    SharedStorage storage;
    MigrationStream stream;
    QemuInstance src(source_options(QemuVersion::v8_0_0), storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    run_migration_thread_until(src, MigrationThreadStep::completion_locked);
    ASSERT_TRUE(src.qmp_migrate_cancel().ok());
    run_migration_thread(src);
    const Observation o = src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::cancelled);
    EXPECT_EQ(o.runstate, RunState::running);
    EXPECT_EQ(o.node("A").activity, NodeActivity::inactive) << trace_of(src);
    EXPECT_EQ(o.node("B").activity, NodeActivity::inactive);
    EXPECT_EQ(src.guest_write("vda").status, CallStatus::crashed);
}

TEST(CancelRace, V9_2_CancelBeforeTheCompletionLockFailsBeforeInactivating) {
    SharedStorage storage;
    MigrationStream stream;
    QemuInstance src(source_options(QemuVersion::v9_2), storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    run_migration_thread_until(src, MigrationThreadStep::completion_locked);
    ASSERT_TRUE(src.qmp_migrate_cancel().ok());
    run_migration_thread(src);
    const Observation o = src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::cancelled);
    EXPECT_EQ(o.runstate, RunState::running);
    EXPECT_EQ(o.node("A").activity, NodeActivity::active) << trace_of(src);
    EXPECT_TRUE(src.guest_write("vda").ok());
}

// migrate-set-capabilities is refused while a migration runs (qmp_migrate_set_capabilities():
// QERR_MIGRATION_ACTIVE) and taken before it starts and after it ends; the property tests fix
// the capabilities when the process starts, so only this test calls the command.
TEST(Capabilities, SetOnlyWhileNoMigrationRuns) {
    SharedStorage storage;
    MigrationStream stream;
    QemuInstance src(source_options(QemuVersion::v8_0_0), storage);
    MigrationCapabilities caps;
    caps.pause_before_switchover = true;
    EXPECT_TRUE(src.qmp_migrate_set_capabilities(caps).ok());
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    const CallResult refused = src.qmp_migrate_set_capabilities(caps);
    EXPECT_EQ(refused.status, CallStatus::error);
    EXPECT_EQ(refused.message, "There's a migration process in progress");
    ASSERT_TRUE(src.qmp_migrate_cancel().ok());
    run_migration_thread(src);
    ASSERT_EQ(src.observe().migration_status, MigrationStatus::cancelled);
    EXPECT_TRUE(src.qmp_migrate_set_capabilities(caps).ok());
}

// pause-before-switchover: the thread waits in PRE_SWITCHOVER without the BQL; a cancel posts the
// semaphore and the completion fails without inactivating.
class PreSwitchoverTest : public ::testing::TestWithParam<QemuVersion> {};

TEST_P(PreSwitchoverTest, CancelWhileWaitingLeavesTheDisksActiveAndRestartsTheVm) {
    SharedStorage storage;
    MigrationStream stream;
    QemuOptions o = source_options(GetParam());
    o.capabilities.pause_before_switchover = true;
    QemuInstance src(o, storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    run_migration_thread_until(src, MigrationThreadStep::wait_pre_switchover);
    EXPECT_EQ(src.observe().migration_status, MigrationStatus::pre_switchover);
    EXPECT_EQ(src.migration_thread_step().status, CallStatus::not_enabled); // nobody posted
    EXPECT_EQ(src.qmp_cont().status, CallStatus::error); // "Migration is not finalized yet"
    ASSERT_TRUE(src.qmp_migrate_cancel().ok());
    run_migration_thread(src);
    const Observation after = src.observe();
    EXPECT_EQ(after.migration_status, MigrationStatus::cancelled);
    EXPECT_EQ(after.runstate, RunState::running);
    for (const NodeObservation& n : after.nodes) {
        EXPECT_EQ(n.activity, NodeActivity::active) << n.node_name;
    }
}

TEST_P(PreSwitchoverTest, MigrateContinueCompletesTheMigration) {
    SharedStorage storage;
    MigrationStream stream;
    QemuOptions o = source_options(GetParam());
    o.capabilities.pause_before_switchover = true;
    QemuInstance src(o, storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    EXPECT_EQ(src.qmp_migrate_continue().status, CallStatus::error); // not in PRE_SWITCHOVER yet
    run_migration_thread_until(src, MigrationThreadStep::wait_pre_switchover);
    ASSERT_TRUE(src.qmp_migrate_continue().ok());
    run_migration_thread(src);
    EXPECT_EQ(src.observe().migration_status, MigrationStatus::completed);
    EXPECT_EQ(src.observe().runstate, RunState::postmigrate);
    EXPECT_TRUE(stream.eof_sent);
}

INSTANTIATE_TEST_SUITE_P(AllVersions, PreSwitchoverTest, ::testing::ValuesIn(all_qemu_versions),
                         version_test_name);

// postcopy_start() fails after the package was sent (past the last point of recovery).
struct PostcopyFailure {
    explicit PostcopyFailure(QemuVersion v) : src(options(v), storage) {
        EXPECT_TRUE(src.qmp_migrate(stream).ok());
        EXPECT_TRUE(src.qmp_migrate_start_postcopy().ok());
        EXPECT_TRUE(src.migration_thread_step().ok()); // setup
        last = src.migration_thread_step(IterationChoice::start_postcopy).status;
        if (last == CallStatus::ok) {
            last = run_migration_thread(src);
        }
    }
    static QemuOptions options(QemuVersion v) {
        QemuOptions o = source_options(v);
        o.capabilities.postcopy_ram = true;
        o.faults.postcopy_package = PostcopyPackageFault::package_send_fails;
        return o;
    }
    SharedStorage storage;
    MigrationStream stream;
    QemuInstance src;
    CallStatus last = CallStatus::ok;
};

TEST(PostcopyStartFailure, V8_0_0_SourceStaysStoppedInPostmigrate) {
    PostcopyFailure pf(QemuVersion::v8_0_0);
    const Observation o = pf.src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::failed);
    EXPECT_EQ(o.runstate, RunState::postmigrate) << trace_of(pf.src);
    EXPECT_EQ(o.node("A").activity, NodeActivity::inactive); // restart_block was false
}

// 7.2 has the 2023 fix but not vm_old_state: postcopy_start() leaves vm_was_running false, as in
// 8.0.0, so the source stays stopped instead of 8.1's runstate_set(-1).
TEST(PostcopyStartFailure, V7_2_SourceStaysStoppedInPostmigrate) {
    PostcopyFailure pf(QemuVersion::v7_2);
    EXPECT_EQ(pf.last, CallStatus::ok) << trace_of(pf.src);
    const Observation o = pf.src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::failed);
    EXPECT_EQ(o.runstate, RunState::postmigrate) << trace_of(pf.src);
    EXPECT_EQ(o.node("A").activity, NodeActivity::inactive); // restart_block was false
}

TEST(PostcopyStartFailure, V8_1_RestoringVmOldStateMinusOneAborts) {
    PostcopyFailure pf(QemuVersion::v8_1);
    EXPECT_EQ(pf.last, CallStatus::crashed) << trace_of(pf.src);
    const Observation o = pf.src.observe();
    ASSERT_TRUE(o.crash.has_value());
    EXPECT_EQ(o.crash->function, "runstate_set");
    EXPECT_EQ(o.crash->reason, "Assertion `new_state < RUN_STATE__MAX' failed.");
}

TEST(PostcopyStartFailure, V9_2_SourceRestartsWithInactiveDisks) {
    PostcopyFailure pf(QemuVersion::v9_2);
    const Observation o = pf.src.observe();
    EXPECT_EQ(o.runstate, RunState::running) << trace_of(pf.src);
    EXPECT_EQ(o.node("A").activity, NodeActivity::inactive);
    EXPECT_EQ(pf.src.guest_write("vda").status, CallStatus::crashed);
}

// 10.0.2: postcopy_start() fails at its flush (the storage is gone), while the state is still
// ACTIVE, so its compare-and-swap from POSTCOPY_ACTIVE changes nothing and the migration goes on;
// but migrate_set_error() recorded the failure, and the completion that follows fails on it.
TEST(PostcopyStartFailure, V10_0_AFailedFlushIsRecordedAndFailsTheLaterCompletion) {
    SharedStorage storage;
    MigrationStream stream;
    QemuOptions options = source_options(QemuVersion::v10_0);
    options.capabilities.postcopy_ram = true;
    QemuInstance src(options, storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    ASSERT_TRUE(src.qmp_migrate_start_postcopy().ok());
    ASSERT_TRUE(src.migration_thread_step().ok()); // setup
    storage.stop_answering();
    ASSERT_TRUE(src.migration_thread_step(IterationChoice::start_postcopy).ok());
    EXPECT_EQ(src.observe().migration_status, MigrationStatus::active) << trace_of(src);
    storage.come_back();
    ASSERT_TRUE(src.migration_thread_step(IterationChoice::complete).ok());
    run_migration_thread(src);
    EXPECT_EQ(src.observe().migration_status, MigrationStatus::failed) << trace_of(src);
}

TEST(PostcopyStartFailure, V10_2_SourceReactivatesUnconditionallyAndRestarts) {
    PostcopyFailure pf(QemuVersion::v10_2);
    const Observation o = pf.src.observe();
    EXPECT_EQ(o.runstate, RunState::running) << trace_of(pf.src);
    EXPECT_EQ(o.node("A").activity, NodeActivity::active);
    EXPECT_EQ(o.migration_status, MigrationStatus::failed);
    EXPECT_FALSE(pf.stream.postcopy_package_sent); // the send failed
}

// The seed scenario on the later versions, for the record.
TEST(SeedScenarioLater, V10_0_dev_TheGlobalFlagSkipsReactivation_SourceRunsWithAnInactiveDisk) {
    SharedStorage storage;
    MigrationStream stream;
    QemuOptions o = source_options(QemuVersion::v10_0_dev);
    o.faults.storage_outage = StorageOutageTrigger{"B", FaultOp::inactivate};
    QemuInstance src(o, storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    run_migration_thread(src);
    const Observation after = src.observe();
    EXPECT_TRUE(after.migration_block_active); // stays true after the partial failure
    EXPECT_EQ(after.runstate, RunState::running) << trace_of(src);
    EXPECT_EQ(after.node("A").activity, NodeActivity::inactive);
}

TEST(SeedScenarioLater, V10_2_ReactivationFailsWhileNfsIsDown_VmStaysInFinishMigrate) {
    SharedStorage storage;
    MigrationStream stream;
    QemuOptions o = source_options(QemuVersion::v10_2);
    o.faults.storage_outage = StorageOutageTrigger{"B", FaultOp::inactivate};
    QemuInstance src(o, storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    run_migration_thread(src);
    const Observation after = src.observe();
    EXPECT_EQ(after.migration_status, MigrationStatus::failed);
    EXPECT_EQ(after.runstate, RunState::finish_migrate) << trace_of(src);
    EXPECT_EQ(after.node("A").activity, NodeActivity::broken);
    EXPECT_EQ(src.qmp_cont().status, CallStatus::error); // "Migration is not finalized yet"
}

// The silent -ENOMEDIUM on 10.x, as docs/conformance.md reproduces it on QEMU 10.0.2: with the
// storage gone, `cont` fails re-opening disk A (drv = NULL), and a second `cont` walks into the
// driverless A, gets no error and starts the guest with disk B still inactive.
class SecondContTest : public ::testing::TestWithParam<QemuVersion> {};

TEST_P(SecondContTest, StartsTheGuestOverADriverlessDisk) {
    SharedStorage storage;
    QemuOptions o = source_options(GetParam());
    o.autostart = false; // -S: the guest is paused
    QemuInstance q(o, storage);
    ASSERT_TRUE(q.qmp_blockdev_set_active(std::nullopt, false).ok());
    storage.stop_answering();
    const CallResult first = q.qmp_cont();
    EXPECT_EQ(first.status, CallStatus::error);
    // The QMP error is the activation's (migration_block_activate(errp) passes it on).
    EXPECT_EQ(first.message, "Could not reopen qcow2 layer: A: Input/output error");
    EXPECT_EQ(q.observe().node("A").activity, NodeActivity::broken);
    EXPECT_TRUE(q.qmp_cont().ok());
    const Observation o2 = q.observe();
    EXPECT_EQ(o2.runstate, RunState::running);
    EXPECT_EQ(o2.node("B").activity, NodeActivity::inactive);
}
INSTANTIATE_TEST_SUITE_P(Versions, SecondContTest,
                         ::testing::Values(QemuVersion::v10_0, QemuVersion::v10_2),
                         version_test_name);

// savevm on a source whose disks are inactive after a completed migration (POSTMIGRATE).
TEST(Savevm, V8_1_SnapshotOfInactiveDisksHitsTheWriteAssertion) {
    SharedStorage storage;
    MigrationStream stream;
    QemuInstance src(source_options(QemuVersion::v8_1), storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    run_migration_thread(src);
    ASSERT_EQ(src.observe().runstate, RunState::postmigrate);
    EXPECT_EQ(src.qmp_savevm().status, CallStatus::crashed);
    EXPECT_EQ(src.observe().crash->function, "bdrv_co_write_req_prepare");
}

// d3007d348a (9.0; backported to 7.2.9, so in Debian's 7.2.22): bdrv_can_snapshot() refuses
// inactive nodes before anything is written.
class SavevmRefusesTest : public ::testing::TestWithParam<QemuVersion> {};

TEST_P(SavevmRefusesTest, SnapshotOfInactiveDisksIsRefused) {
    SharedStorage storage;
    MigrationStream stream;
    QemuInstance src(source_options(GetParam()), storage);
    ASSERT_TRUE(src.qmp_migrate(stream).ok());
    run_migration_thread(src);
    ASSERT_EQ(src.observe().runstate, RunState::postmigrate);
    const CallResult r = src.qmp_savevm();
    EXPECT_EQ(r.status, CallStatus::error);
    EXPECT_EQ(r.message, "Device 'vda' is writable but does not support snapshots");
    EXPECT_TRUE(src.observe().alive);
}

INSTANTIATE_TEST_SUITE_P(Versions, SavevmRefusesTest,
                         ::testing::Values(QemuVersion::v7_2, QemuVersion::v9_2),
                         version_test_name);

// A paused VM whose migration fails after the completion (the stream reports an error): the fail
// label re-activates (s->block_inactive), then migration_iteration_finish() decides. 7.2 looks at
// s->vm_was_running, false for a paused VM, and sets POSTMIGRATE, so `migrate` is refused until
// `cont` (as Debian's 7.2.22 was seen to do); 8.1 restores s->vm_old_state, PAUSED.
struct PausedVmMigrationFails {
    explicit PausedVmMigrationFails(QemuVersion v) : src(options(v), storage) {
        EXPECT_TRUE(src.qmp_stop().ok());
        EXPECT_TRUE(src.qmp_migrate(stream).ok());
        run_migration_thread(src);
    }
    static QemuOptions options(QemuVersion v) {
        QemuOptions o = source_options(v);
        o.faults.file_error_after_completion = true;
        return o;
    }
    SharedStorage storage;
    MigrationStream stream, again;
    QemuInstance src;
};

TEST(PausedVmMigrationFailure, V7_2_EndsInPostmigrateAndMigrateIsRefusedUntilCont) {
    PausedVmMigrationFails p(QemuVersion::v7_2);
    const Observation o = p.src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::failed);
    EXPECT_EQ(o.runstate, RunState::postmigrate) << trace_of(p.src);
    EXPECT_FALSE(o.block_inactive); // the fail label re-activated
    EXPECT_EQ(o.node("A").activity, NodeActivity::active);
    EXPECT_EQ(p.src.qmp_migrate(p.again).message,
              "Can't migrate the vm that was paused due to previous migration");
    ASSERT_TRUE(p.src.qmp_cont().ok());
    EXPECT_EQ(p.src.observe().runstate, RunState::running);
}

TEST(PausedVmMigrationFailure, V8_1_RestoresPaused) {
    PausedVmMigrationFails p(QemuVersion::v8_1);
    const Observation o = p.src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::failed);
    EXPECT_EQ(o.runstate, RunState::paused) << trace_of(p.src);
    EXPECT_EQ(o.node("A").activity, NodeActivity::active);
    EXPECT_TRUE(p.src.qmp_migrate(p.again).ok());
}

// Run-state refusals of qmp_migrate.
TEST(QmpMigrate, RefusedInPostmigrateAndInmigrate) {
    SharedStorage storage;
    MigrationStream s1, s2;
    QemuInstance src(source_options(QemuVersion::v8_1), storage);
    QemuInstance dst(destination_options(QemuVersion::v8_1), storage);
    const CallResult in = dst.qmp_migrate(s1);
    EXPECT_EQ(in.status, CallStatus::error);
    EXPECT_EQ(in.message, "Guest is waiting for an incoming migration");
    ASSERT_TRUE(src.qmp_migrate(s1).ok());
    EXPECT_EQ(src.qmp_migrate(s2).message, "There's a migration process in progress");
    run_migration_thread(src);
    EXPECT_EQ(src.qmp_migrate(s2).message,
              "Can't migrate the vm that was paused due to previous migration");
}

} // namespace
} // namespace handoff::impl
