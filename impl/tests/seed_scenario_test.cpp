// The seed scenario (RHBZ 2058982, domain reference section 4): two qcow2 disks on NFS, the NFS
// server stops answering while the second disk is inactivated, the destination's load fails, the
// source resumes; later the server is back and the guest is migrated again.
#include "scenario_helpers.hpp"
#include "test_names.hpp"

#include <cerrno>
#include <gtest/gtest.h>

namespace handoff::impl {
namespace {

struct SeedScenario {
    explicit SeedScenario(QemuVersion v)
        : src(
              [&] {
                  QemuOptions o = source_options(v);
                  o.faults.storage_outage = StorageOutageTrigger{"B", FaultOp::inactivate};
                  return o;
              }(),
              storage),
          dst(destination_options(v), storage) {}

    // Steps 1-11 of the domain reference's trace, up to the source's cleanup and the
    // destination's failed load.
    void first_migration() {
        ASSERT_TRUE(dst.qmp_migrate_incoming(stream1).ok());
        ASSERT_TRUE(src.qmp_migrate(stream1).ok());
        run_migration_thread(src);
        const CallResult load = dst.process_incoming_migration_co();
        EXPECT_EQ(load.status, CallStatus::error);
        EXPECT_TRUE(dst.observe().exited);
    }

    // The NFS server is back; a second destination; the source migrates again.
    CallStatus second_migration() {
        storage.come_back();
        EXPECT_TRUE(dst2.qmp_migrate_incoming(stream2).ok());
        EXPECT_TRUE(src.qmp_migrate(stream2).ok());
        return run_migration_thread(src);
    }

    SharedStorage storage;
    MigrationStream stream1, stream2;
    QemuInstance src;
    QemuInstance dst;
    QemuInstance dst2{destination_options(src.observe().version, "dst2"), storage};
};

TEST(SeedScenario, V8_0_0_SourceRunsWithAnInactiveDiskAndTheSecondMigrationAsserts) {
    SeedScenario sc(QemuVersion::v8_0_0);
    sc.first_migration();

    const Observation o = sc.src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::failed);
    EXPECT_EQ(o.runstate, RunState::running) << trace_of(sc.src);
    EXPECT_FALSE(o.block_inactive); // set only on success: the escape hatch in cancel is shut
    EXPECT_TRUE(o.vm_was_running);
    EXPECT_EQ(o.node("A").activity, NodeActivity::inactive);
    EXPECT_EQ(o.node("A-nfs").activity, NodeActivity::inactive);
    EXPECT_EQ(o.node("B").activity, NodeActivity::active);
    EXPECT_FALSE(o.storage_answering);

    EXPECT_EQ(sc.second_migration(), CallStatus::crashed);
    const Observation after = sc.src.observe();
    ASSERT_TRUE(after.crash.has_value());
    EXPECT_EQ(after.crash->function, "bdrv_inactivate_recurse");
    EXPECT_EQ(after.crash->reason, "Assertion `!(bs->open_flags & BDRV_O_INACTIVE)' failed.");
    // A dead QEMU accepts nothing.
    EXPECT_EQ(sc.src.qmp_cont().status, CallStatus::refused_dead);
}

TEST(SeedScenario, V8_0_0_AGuestWriteToTheInactiveDiskAsserts) {
    SeedScenario sc(QemuVersion::v8_0_0);
    sc.first_migration();
    EXPECT_EQ(sc.src.guest_write("vdb").status, CallStatus::error); // B active, NFS still down
    EXPECT_EQ(sc.src.guest_write("vda").status, CallStatus::crashed);
    EXPECT_EQ(sc.src.observe().crash->function, "bdrv_co_write_req_prepare");
}

TEST(SeedScenario, V8_0_0_ContWouldHaveRepairedTheSource) {
    SeedScenario sc(QemuVersion::v8_0_0);
    sc.first_migration();
    sc.storage.come_back();
    ASSERT_TRUE(sc.src.qmp_cont().ok()); // bdrv_activate_all even on a running VM
    EXPECT_EQ(sc.src.observe().node("A").activity, NodeActivity::active);
    EXPECT_NE(sc.second_migration(), CallStatus::crashed);
    EXPECT_EQ(sc.src.observe().migration_status, MigrationStatus::completed);
}

// 8.1 re-activates on the fail label, but the NFS server is still down at that moment: the qcow2
// re-open of A fails and leaves A without a driver. The source resumes with a broken disk A; the
// guest sees I/O errors on it, and the second migration fails with -ENOMEDIUM instead of
// asserting. Debian 12's 7.2.22 has the same fail label (the 7.2.3 backports cb898262a4 and
// c0ad2a9191) but no vm_old_state: s->vm_was_running restarts the VM, as in 8.0.0.
class SeedScenarioWithTheFix : public ::testing::TestWithParam<QemuVersion> {};

TEST_P(SeedScenarioWithTheFix, ReactivationWhileNfsIsDownBreaksDiskA_SecondMigrationDoesNotCrash) {
    SeedScenario sc(GetParam());
    sc.first_migration();

    const Observation o = sc.src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::failed);
    EXPECT_EQ(o.runstate, RunState::running) << trace_of(sc.src);
    EXPECT_TRUE(o.block_inactive); // the re-activation failed, the flag stays set
    if (GetParam() == QemuVersion::v7_2) {
        EXPECT_TRUE(o.vm_was_running);
        EXPECT_EQ(o.vm_old_state, kRunStateUnset);
    } else {
        EXPECT_EQ(o.vm_old_state, RunState::running);
    }
    EXPECT_EQ(o.node("A").activity, NodeActivity::broken);
    EXPECT_EQ(o.node("A-nfs").activity, NodeActivity::active);
    EXPECT_EQ(o.node("B").activity, NodeActivity::active);

    sc.storage.come_back();
    const CallResult w = sc.src.guest_write("vda");
    EXPECT_EQ(w.status, CallStatus::error);
    EXPECT_NE(w.message.find("No medium found"), std::string::npos) << w.message;
    EXPECT_TRUE(sc.src.guest_write("vdb").ok());

    EXPECT_EQ(sc.second_migration(), CallStatus::ok);
    const Observation after = sc.src.observe();
    EXPECT_TRUE(after.alive);
    EXPECT_EQ(after.migration_status, MigrationStatus::failed);
    EXPECT_EQ(after.runstate, RunState::running);
    EXPECT_EQ(after.node("A").activity, NodeActivity::broken);
    EXPECT_EQ(after.node("B").activity, NodeActivity::active) << trace_of(sc.src);
}

INSTANTIATE_TEST_SUITE_P(Versions, SeedScenarioWithTheFix,
                         ::testing::Values(QemuVersion::v7_2, QemuVersion::v8_1),
                         version_test_name);

// v10.0-dev (8597af76): migration_block_inactivate() fails at B, and
// qemu_savevm_state_complete_precopy() puts -EFAULT on the file and returns 0 (`return ret;` with
// ret still 0). The EOF is not sent, and it is the file's error that fails the completion.
TEST(SeedScenario, V10_0_Dev_TheInactivationFailureFailsTheMigrationThroughTheFileError) {
    SeedScenario sc(QemuVersion::v10_0_dev);
    sc.first_migration();
    const Observation o = sc.src.observe();
    EXPECT_EQ(o.migration_status, MigrationStatus::failed) << trace_of(sc.src);
    EXPECT_NE(trace_of(sc.src).find("migration_completion: file error"), std::string::npos)
        << trace_of(sc.src);
}

// If the NFS server is back before the fail label runs, 8.1's re-activation repairs everything.
TEST(SeedScenario, V8_1_NfsBackBeforeTheFailLabel_SourceRecoversAndTheSecondMigrationCompletes) {
    SeedScenario sc(QemuVersion::v8_1);
    ASSERT_TRUE(sc.dst.qmp_migrate_incoming(sc.stream1).ok());
    ASSERT_TRUE(sc.src.qmp_migrate(sc.stream1).ok());
    run_migration_thread_until(sc.src, MigrationThreadStep::completion_fail);
    sc.storage.come_back();
    run_migration_thread(sc.src);
    const Observation o = sc.src.observe();
    EXPECT_FALSE(o.block_inactive);
    for (const NodeObservation& n : o.nodes) {
        EXPECT_EQ(n.activity, NodeActivity::active) << n.node_name;
    }
    EXPECT_EQ(sc.second_migration(), CallStatus::ok);
    EXPECT_EQ(sc.src.observe().migration_status, MigrationStatus::completed);
    EXPECT_EQ(sc.src.observe().runstate, RunState::postmigrate);
    ASSERT_TRUE(sc.dst2.process_incoming_migration_co().ok());
    ASSERT_TRUE(sc.dst2.process_incoming_migration_bh().ok());
    EXPECT_EQ(sc.dst2.observe().runstate, RunState::running);
}

} // namespace
} // namespace handoff::impl
