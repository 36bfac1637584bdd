// GitLab qemu #2395 (and RHEL-48801): a paused VM migrated twice, host1 -> host2 -> host3, with
// late-block-activate on the destinations and no `cont` in between. host2 ends PAUSED with its
// nodes still inactive; its outgoing migration inactivates them again.
#include "scenario_helpers.hpp"
#include "test_names.hpp"

#include <gtest/gtest.h>

namespace handoff::impl {
namespace {

class Gitlab2395Test : public ::testing::TestWithParam<QemuVersion> {
  protected:
    QemuOptions incoming(const std::string& name) {
        QemuOptions o = destination_options(GetParam(), name);
        o.autostart = false; // libvirt starts the destination with -S
        o.capabilities.late_block_activate = true;
        return o;
    }

    SharedStorage storage;
    MigrationStream stream1, stream2;
    QemuInstance host1{source_options(GetParam(), "host1"), storage};
    QemuInstance host2{incoming("host2"), storage};
    QemuInstance host3{incoming("host3"), storage};
};

TEST_P(Gitlab2395Test, PausedVmMigratedTwice) {
    // virsh suspend; migrate host1 -> host2.
    ASSERT_TRUE(host1.qmp_stop().ok());
    ASSERT_TRUE(host2.qmp_migrate_incoming(stream1).ok());
    ASSERT_TRUE(host1.qmp_migrate(stream1).ok());
    EXPECT_EQ(run_migration_thread(host1), CallStatus::ok);
    EXPECT_EQ(host1.observe().migration_status, MigrationStatus::completed);
    EXPECT_EQ(host1.observe().runstate, RunState::postmigrate);
    ASSERT_TRUE(host2.process_incoming_migration_co().ok());
    ASSERT_TRUE(host2.process_incoming_migration_bh().ok());

    const Observation mid = host2.observe();
    EXPECT_EQ(mid.runstate, RunState::paused);
    for (const NodeObservation& n : mid.nodes) {
        EXPECT_EQ(n.activity, NodeActivity::inactive) << n.node_name; // late activation: not yet
    }

    // migrate host2 -> host3 without cont.
    ASSERT_TRUE(host3.qmp_migrate_incoming(stream2).ok());
    ASSERT_TRUE(host2.qmp_migrate(stream2).ok());
    const CallStatus second = run_migration_thread(host2);
    const Observation o = host2.observe();

    const bool fixed = GetParam() == QemuVersion::v10_0_dev || GetParam() == QemuVersion::v10_0 ||
                       GetParam() == QemuVersion::v10_2;
    if (!fixed) {
        EXPECT_EQ(second, CallStatus::crashed) << trace_of(host2);
        ASSERT_TRUE(o.crash.has_value());
        EXPECT_EQ(o.crash->function, "bdrv_inactivate_recurse");
        EXPECT_EQ(o.crash->reason, "Assertion `!(bs->open_flags & BDRV_O_INACTIVE)' failed.");
        return;
    }
    // 10.0-dev: migration_block_active is false on a destination, so the inactivation is
    // "inactive-skipped"; 10.2: inactivating an inactive node at top level is a no-op.
    EXPECT_EQ(second, CallStatus::ok) << trace_of(host2);
    EXPECT_FALSE(o.crash.has_value());
    EXPECT_EQ(o.migration_status, MigrationStatus::completed);
    EXPECT_EQ(o.runstate, RunState::postmigrate);
    ASSERT_TRUE(host3.process_incoming_migration_co().ok());
    ASSERT_TRUE(host3.process_incoming_migration_bh().ok());
    EXPECT_EQ(host3.observe().runstate, RunState::paused);
    // virsh resume on host3: cont activates and starts the guest, which can write.
    ASSERT_TRUE(host3.qmp_cont().ok()) << trace_of(host3);
    EXPECT_EQ(host3.observe().runstate, RunState::running);
    for (const NodeObservation& n : host3.observe().nodes) {
        EXPECT_EQ(n.activity, NodeActivity::active) << n.node_name;
    }
    EXPECT_TRUE(host3.guest_write("vda").ok());
}

INSTANTIATE_TEST_SUITE_P(AllVersions, Gitlab2395Test, ::testing::ValuesIn(all_qemu_versions),
                         version_test_name);

} // namespace
} // namespace handoff::impl
