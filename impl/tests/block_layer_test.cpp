// Unit tests of the block layer (block.c semantics): walk order, stop at the first failure, no
// rollback, half-done and broken nodes, bottom-up activation, the write-path assertion, and the
// per-version rule for inactivating an inactive node.
#include "handoff/impl/block.hpp"
#include "handoff/impl/qemu_abort.hpp"
#include "test_names.hpp"

#include <algorithm>
#include <cerrno>
#include <gtest/gtest.h>

namespace handoff::impl {
namespace {

class BlockLayerTest : public ::testing::Test {
  protected:
    explicit BlockLayerTest(QemuVersion v = QemuVersion::v8_0_0)
        : block(policy_for(v), faults, storage, trace) {}

    BlockDriverState& node(const std::string& name) {
        BlockDriverState* bs = block.bdrv_find_node(name);
        EXPECT_NE(bs, nullptr) << name;
        return *bs;
    }
    BlockBackend& blk(const std::string& name) { return *block.blk_by_name(name); }

    // The node names whose "<name> inactivated" / "<name> activated" lines appear in the trace.
    std::vector<std::string> trace_of(const std::string& suffix) const {
        std::vector<std::string> out;
        for (const std::string& line : trace) {
            const std::string tail = " " + suffix;
            if (line.size() > tail.size() &&
                line.compare(line.size() - tail.size(), tail.size(), tail) == 0) {
                out.push_back(line.substr(0, line.size() - tail.size()));
            }
        }
        return out;
    }

    FaultInjector faults;
    SharedStorage storage;
    std::vector<std::string> trace;
    BlockLayer block;
};

// Two roots sharing a backing node: A -> {A-file, base}, B -> {B-file, base}, base -> base-file.
BlockConfig shared_backing_config() {
    BlockConfig c;
    c.nodes = {{"base-file", BlockDriverKind::file, {}},
               {"base", BlockDriverKind::qcow2, {{"base-file"}}},
               {"A-file", BlockDriverKind::file, {}},
               {"A", BlockDriverKind::qcow2, {{"A-file"}, {"base", BdrvChildRole::backing}}},
               {"B-file", BlockDriverKind::file, {}},
               {"B", BlockDriverKind::qcow2, {{"B-file"}, {"base", BdrvChildRole::backing}}}};
    c.backends = {{"vda", "A"}, {"vdb", "B"}};
    return c;
}

TEST_F(BlockLayerTest, BdrvNextVisitsBackendRootsThenMonitorOwnedNodesWithoutBackend) {
    block.open(shared_backing_config(), false);
    std::vector<std::string> names;
    for (const BlockDriverState* bs : block.bdrv_next_order()) {
        names.push_back(bs->node_name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"A", "B", "base-file", "base", "A-file", "B-file"}));
}

TEST_F(BlockLayerTest, InactivationIsTopDownAndASharedChildWaitsForItsLastParent) {
    block.open(shared_backing_config(), false);
    ASSERT_EQ(block.bdrv_inactivate_all(), 0);
    EXPECT_EQ(trace_of("inactivated"),
              (std::vector<std::string>{"A", "A-file", "B", "base", "base-file", "B-file"}));
    for (const auto& bs : block.nodes()) {
        EXPECT_TRUE(bs->inactive()) << bs->node_name;
    }
    EXPECT_TRUE(blk("vda").disable_perm);
    EXPECT_TRUE(blk("vdb").disable_perm);
}

// bs->children has the newest child first: a qcow2 node's backing child, attached after its file
// child, is visited first by both walks.
TEST_F(BlockLayerTest, BothWalksVisitTheBackingChainBeforeTheFileNode) {
    block.open(BlockConfig::qcow2_chains_on_nfs(1), false);
    ASSERT_EQ(block.bdrv_inactivate_all(), 0);
    EXPECT_EQ(trace_of("inactivated"),
              (std::vector<std::string>{"disk0", "disk0.base", "disk0.base.file", "disk0.file"}));
    std::string err;
    ASSERT_EQ(block.bdrv_activate_all(&err), 0) << err;
    EXPECT_EQ(trace_of("activated"),
              (std::vector<std::string>{"disk0.base.file", "disk0.base", "disk0.file", "disk0"}));
}

// Domain reference 2.4 on a chain: the backing image's failed re-open leaves it without a driver
// and stops the walk with an error; once the storage is back, the disk activates over it (its
// bdrv_activate() of the child returns -ENOMEDIUM without an error).
TEST_F(BlockLayerTest, ADiskActivatesOverADriverlessBackingImage) {
    block.open(BlockConfig::qcow2_chains_on_nfs(1), true);
    storage.stop_answering();
    std::string err;
    EXPECT_LT(block.bdrv_activate_all(&err), 0);
    EXPECT_EQ(err, "Could not reopen qcow2 layer: disk0.base: Input/output error");
    EXPECT_EQ(node("disk0.base").drv, nullptr);
    EXPECT_TRUE(node("disk0.file").inactive()); // after the backing chain: not reached
    storage.come_back();
    err.clear();
    EXPECT_EQ(block.bdrv_activate_all(&err), 0);
    EXPECT_EQ(err, "");
    EXPECT_FALSE(node("disk0").inactive());
    EXPECT_FALSE(blk("vda").disable_perm);
}

// Over a local file (file-posix), activation takes the image's "write" lock (raw_check_perm()),
// which needs the storage: with the storage gone it fails at the file node, before the qcow2
// layer above is re-opened, so the qcow2 node keeps its driver. (The libnfs driver takes no lock:
// over NFS the qcow2 re-open is what fails, and the node loses its driver.)
TEST_F(BlockLayerTest, OverALocalFileActivationFailsAtTheImageLockBeforeTheQcow2Reopen) {
    block.open(shared_backing_config(), true);
    storage.stop_answering();
    std::string err;
    EXPECT_LT(block.bdrv_activate_all(&err), 0);
    EXPECT_NE(err.find("Failed to get \"write\" lock on "), std::string::npos) << err;
    EXPECT_NE(node("A").drv, nullptr);
    EXPECT_TRUE(node("A").inactive());
}

// A filter does not activate over a driverless child: the guest's WRITE, given back by
// blk_root_activate(), passes through the filter to a node that is not writable.
TEST_F(BlockLayerTest, AJobFilterDoesNotActivateOverADriverlessChild) {
    block.open(BlockConfig::mirror_jobs_on_nfs(1), true);
    storage.stop_answering();
    std::string err;
    EXPECT_LT(block.bdrv_activate_all(&err), 0);
    EXPECT_EQ(node("disk0").drv, nullptr);
    storage.come_back();
    err.clear();
    EXPECT_LT(block.bdrv_activate_all(&err), 0);
    EXPECT_EQ(err, "disk0: Block node is read-only");
    EXPECT_TRUE(node("disk0.job-filter").inactive());
    EXPECT_TRUE(blk("vda").disable_perm);
}

// A guest write goes down the data path (filter, format node, its file), never to the backing
// image.
TEST_F(BlockLayerTest, AGuestWriteReachesTheFileNotTheBackingImage) {
    block.open(BlockConfig::qcow2_chains_on_nfs(1, /*busy=*/false), false);
    EXPECT_EQ(block.blk_pwrite(blk("vda")).ret, 0);
    EXPECT_TRUE(node("disk0").written_since_flush);
    EXPECT_TRUE(node("disk0.file").written_since_flush);
    EXPECT_FALSE(node("disk0.base").written_since_flush);
    EXPECT_FALSE(node("disk0.base.file").written_since_flush);
}

// A node below a driverless one, inactivated by name (blockdev-set-active; its parent's flag is
// set), is not reached by the roots' walk. Opened as -drive opens a disk (the model's instance),
// the walk visits only the roots, and the node stays inactive. With -blockdev every node is the
// monitor's, and bdrv_next() visits those without a BlockBackend after the roots: the node is
// activated there, and the driverless node itself ends the walk without an error.
TEST_F(BlockLayerTest, OnlyWithBlockdevIsANodeBelowADriverlessOneActivatedAfterTheRoots) {
    for (const bool blockdev : {false, true}) {
        FaultInjector f;
        SharedStorage st;
        std::vector<std::string> tr;
        BlockLayer layer(policy_for(QemuVersion::v10_2), f, st, tr);
        BlockConfig config = BlockConfig::qcow2_chains_on_nfs(1);
        for (NodeConfig& nc : config.nodes) {
            nc.monitor_owned = nc.monitor_owned || blockdev;
        }
        layer.open(config, true);
        st.stop_answering();
        std::string err;
        EXPECT_LT(layer.bdrv_activate_all(&err), 0);
        BlockDriverState& base_file = *layer.bdrv_find_node("disk0.base.file");
        ASSERT_EQ(layer.bdrv_inactivate(base_file, &err), 0) << err;
        st.come_back();
        err.clear();
        EXPECT_EQ(layer.bdrv_activate_all(&err), blockdev ? -ENOMEDIUM : 0);
        EXPECT_EQ(err, "");
        EXPECT_FALSE(layer.bdrv_find_node("disk0")->inactive());
        EXPECT_EQ(base_file.inactive(), !blockdev) << (blockdev ? "-blockdev" : "-drive");
    }
}

TEST_F(BlockLayerTest, InactivationStopsAtTheFirstFailingNodeAndRollsNothingBack) {
    block.open(BlockConfig::qcow2_disks_on_nfs(3), false);
    faults.arm({"B", FaultOp::inactivate, false});
    EXPECT_EQ(block.bdrv_inactivate_all(), -EIO);
    EXPECT_TRUE(node("A").inactive());
    EXPECT_TRUE(node("A-nfs").inactive());
    EXPECT_FALSE(node("B").inactive());
    EXPECT_FALSE(blk("vdb").disable_perm); // the driver step failed: nothing touched
    EXPECT_FALSE(node("B-nfs").inactive());
    EXPECT_FALSE(node("C").inactive()); // never visited
    EXPECT_FALSE(blk("vdc").disable_perm);
}

TEST_F(BlockLayerTest, ALateFailureLeavesTheNodeHalfDone) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), false);
    faults.arm({"B", FaultOp::inactivate, true});
    EXPECT_EQ(block.bdrv_inactivate_all(), -EPERM);
    EXPECT_FALSE(node("B").inactive());
    EXPECT_TRUE(blk("vdb").disable_perm);
    EXPECT_FALSE(node("B-nfs").inactive()); // children come after the flag: not reached
}

TEST_F(BlockLayerTest, StorageOutageDuringTheSecondDiskFailsItsQcow2Flush) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), false);
    faults.arm_storage_outage({"B", FaultOp::inactivate});
    EXPECT_EQ(block.bdrv_inactivate_all(), -EIO);
    EXPECT_FALSE(storage.answering());
    EXPECT_TRUE(node("A").inactive());
    EXPECT_FALSE(node("B").inactive());
}

TEST_F(BlockLayerTest, ActivationIsBottomUpAndRepairsTheBackends) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), true);
    EXPECT_TRUE(blk("vda").disable_perm);
    std::string err;
    ASSERT_EQ(block.bdrv_activate_all(&err), 0) << err;
    EXPECT_EQ(trace_of("activated"), (std::vector<std::string>{"A-nfs", "A", "B-nfs", "B"}));
    EXPECT_FALSE(blk("vda").disable_perm);
    EXPECT_FALSE(blk("vdb").disable_perm);
}

TEST_F(BlockLayerTest, ActivationOfActiveNodesDoesNothing) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), false);
    faults.arm({"A", FaultOp::reopen, false}); // would break A if A were re-opened
    std::string err;
    EXPECT_EQ(block.bdrv_activate_all(&err), 0);
    EXPECT_TRUE(trace_of("activated").empty());
    EXPECT_NE(node("A").drv, nullptr);
    EXPECT_EQ(faults.plan().node_faults.size(), 1u); // not consumed: no re-open happened
}

TEST_F(BlockLayerTest, ActivationStopsAtTheFirstFailure) {
    block.open(BlockConfig::qcow2_disks_on_nfs(3), true);
    faults.arm({"B", FaultOp::activate, false});
    std::string err;
    EXPECT_LT(block.bdrv_activate_all(&err), 0);
    EXPECT_FALSE(err.empty());
    EXPECT_FALSE(node("A").inactive());
    EXPECT_TRUE(node("B").inactive());      // refresh_perms failed: flag restored
    EXPECT_FALSE(node("B-nfs").inactive()); // its child had already been activated
    EXPECT_TRUE(node("C").inactive());      // never visited
}

TEST_F(BlockLayerTest, HalfDoneNodeIsRepairedByActivation) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), false);
    faults.arm({"B", FaultOp::inactivate, true});
    block.bdrv_inactivate_all();
    std::string err;
    ASSERT_EQ(block.bdrv_activate_all(&err), 0) << err;
    EXPECT_FALSE(blk("vdb").disable_perm);
    EXPECT_FALSE(node("A").inactive());
}

TEST_F(BlockLayerTest, FailedQcow2ReopenLeavesABrokenNode) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), true);
    faults.arm({"A", FaultOp::reopen, false});
    std::string err;
    EXPECT_EQ(block.bdrv_activate_all(&err), -EIO);
    EXPECT_NE(err.find("Could not reopen qcow2 layer"), std::string::npos) << err;
    EXPECT_EQ(node("A").drv, nullptr);
    EXPECT_TRUE(node("A").inactive());
    // Every later call answers -ENOMEDIUM, and no assertion fires on the inactive broken node.
    EXPECT_EQ(block.bdrv_activate(node("A"), &err), -ENOMEDIUM);
    EXPECT_EQ(block.bdrv_inactivate_all(), -ENOMEDIUM);
    EXPECT_EQ(block.blk_pwrite(blk("vda")).ret, -ENOMEDIUM);
}

// Domain reference 2.4: bdrv_activate() of a node without a driver returns -ENOMEDIUM and sets no
// error, so the walk stops there while its caller, which tests only the error pointer, sees
// success; the nodes after it keep their state.
TEST_F(BlockLayerTest, AWalkThatReachesADriverlessNodeStopsWithoutAnError) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), true);
    faults.arm({"A", FaultOp::reopen, false});
    std::string err;
    ASSERT_EQ(block.bdrv_activate_all(&err), -EIO);
    ASSERT_EQ(node("A").drv, nullptr);
    std::string second;
    EXPECT_EQ(block.bdrv_activate_all(&second), -ENOMEDIUM);
    EXPECT_EQ(second, "");
    EXPECT_TRUE(node("B").inactive()); // never reached
}

// A parent tests only its child's error, so it activates over a driverless child.
TEST_F(BlockLayerTest, AParentActivatesOverADriverlessChild) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1), true);
    node("A-nfs").drv = nullptr;
    std::string err;
    EXPECT_EQ(block.bdrv_activate(node("A"), &err), 0) << err;
    EXPECT_EQ(err, "");
    EXPECT_FALSE(node("A").inactive());
}

// qcow2_inactivate() writes only its persistent bitmaps and what was written since the last
// flush: an idle disk is inactivated while the storage does not answer, a busy one is not.
TEST_F(BlockLayerTest, AnIdleDiskIsInactivatedWhileTheStorageIsDown) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1, /*busy=*/false), false);
    storage.stop_answering();
    EXPECT_EQ(block.bdrv_inactivate_all(), 0);
    EXPECT_TRUE(node("A").inactive());
}
TEST_F(BlockLayerTest, ABusyDiskFailsInactivationWhileTheStorageIsDown) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1, /*busy=*/true), false);
    ASSERT_EQ(block.bdrv_flush_all(), 0); // clean, but its persistent bitmap is still to store
    storage.stop_answering();
    EXPECT_EQ(block.bdrv_inactivate_all(), -EIO);
    EXPECT_FALSE(node("A").inactive());
}

TEST_F(BlockLayerTest, ActivationWhileTheStorageIsDownBreaksQcow2ButNotNfs) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1), true);
    storage.stop_answering();
    std::string err;
    EXPECT_LT(block.bdrv_activate_all(&err), 0);
    EXPECT_FALSE(node("A-nfs").inactive()); // libnfs takes no image locks
    EXPECT_EQ(node("A").drv, nullptr);
}

// An image lock whose I/O goes to the NFS server: it fails every activation while the storage
// does not answer (the node keeps its driver and ends inactive, a half-done one too), and none
// while it answers.
TEST_F(BlockLayerTest, ALockFaultWhileTheStorageIsDownFailsEveryActivationThen) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), false);
    faults.arm({"A", FaultOp::inactivate, true});
    faults.arm({"A", FaultOp::activate, false, true});
    block.bdrv_inactivate_all();
    ASSERT_TRUE(blk("vda").disable_perm);
    ASSERT_FALSE(node("A").inactive()); // half done
    storage.stop_answering();
    std::string err;
    for (int attempt = 0; attempt < 2; ++attempt) {
        EXPECT_LT(block.bdrv_activate_all(&err), 0) << attempt;
        EXPECT_TRUE(node("A").inactive()) << attempt; // blk_root_activate() failed, then flag set
        EXPECT_NE(node("A").drv, nullptr) << attempt;
    }
    storage.come_back();
    ASSERT_EQ(block.bdrv_activate_all(&err), 0) << err;
    EXPECT_FALSE(node("A").inactive());
    EXPECT_FALSE(blk("vda").disable_perm);
    EXPECT_EQ(faults.plan().node_faults.size(), 1u); // still armed
}

TEST_F(BlockLayerTest, WriteToAnInactiveNodeCrashesInWriteReqPrepare) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1), false);
    ASSERT_EQ(block.bdrv_inactivate_all(), 0);
    try {
        block.blk_pwrite(blk("vda"));
        FAIL() << "expected an assertion";
    } catch (const QemuAbort& e) {
        EXPECT_EQ(e.record().function, "bdrv_co_write_req_prepare");
        EXPECT_NE(e.record().reason.find("BDRV_O_INACTIVE"), std::string::npos);
    }
}

// bdrv_is_inserted() walks every child, the backing image too: a write to an inactive disk whose
// backing image lost its driver fails with -ENOMEDIUM in the BlockBackend
// (blk_check_byte_request()) and never reaches bdrv_co_write_req_prepare()'s assertion (seen
// on 7.2.22: "No medium found"), and savevm leaves that disk out.
TEST(BlockLayer, AWriteOverADriverlessBackingImageIsNoMediumNotTheAssertion) {
    FaultInjector faults;
    SharedStorage storage;
    std::vector<std::string> trace;
    // 10.2: bdrv_can_snapshot() refuses an inactive node it includes.
    BlockLayer block(policy_for(QemuVersion::v10_2), faults, storage, trace);
    block.open(BlockConfig::qcow2_chains_on_nfs(1), true);
    storage.stop_answering();
    std::string err;
    EXPECT_LT(block.bdrv_activate_all(&err), 0);
    const BlockDriverState& disk = *block.bdrv_find_node("disk0");
    ASSERT_EQ(block.bdrv_find_node("disk0.base")->drv, nullptr);
    ASSERT_TRUE(disk.inactive());
    EXPECT_FALSE(disk.is_inserted());
    EXPECT_TRUE(block.bdrv_find_node("disk0.file")->is_inserted());
    const IoResult r = block.blk_pwrite(*block.blk_by_name("vda"));
    EXPECT_EQ(r.ret, -ENOMEDIUM);
    EXPECT_EQ(r.error, "vda: No medium found");
    err.clear();
    EXPECT_TRUE(block.bdrv_all_can_snapshot(&err)) << err; // the disk is left out, not refused
}

TEST_F(BlockLayerTest, WriteToAHalfDoneNodeCrashesOnTheMissingWritePermission) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1), false);
    faults.arm({"A", FaultOp::inactivate, true});
    block.bdrv_inactivate_all();
    try {
        block.blk_pwrite(blk("vda"));
        FAIL() << "expected an assertion";
    } catch (const QemuAbort& e) {
        EXPECT_NE(e.record().reason.find("BLK_PERM_WRITE"), std::string::npos);
    }
}

TEST_F(BlockLayerTest, WriteWhileTheStorageIsDownIsAnIoError) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1), false);
    EXPECT_EQ(block.blk_pwrite(blk("vda")).ret, 0);
    storage.stop_answering();
    EXPECT_EQ(block.blk_pwrite(blk("vda")).ret, -EIO);
}

TEST_F(BlockLayerTest, FlushAllReportsAFailureButFlushesTheRest) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), false);
    faults.arm({"A", FaultOp::flush, false});
    EXPECT_EQ(block.bdrv_flush_all(), -EIO);
    EXPECT_EQ(block.bdrv_flush_all(), 0); // one-shot
}

TEST_F(BlockLayerTest, V8_0_0_SnapshotIsNotRefusedOnAnInactiveRoot) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1), false);
    ASSERT_EQ(block.bdrv_inactivate_all(), 0);
    std::string err;
    EXPECT_TRUE(block.bdrv_all_can_snapshot(&err)); // bdrv_is_read_only() is false
}

class BlockLayer9_2Test : public BlockLayerTest {
  protected:
    BlockLayer9_2Test() : BlockLayerTest(QemuVersion::v9_2) {}
};

TEST_F(BlockLayer9_2Test, SnapshotIsRefusedWhileARootIsInactive) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), false);
    std::string err;
    EXPECT_TRUE(block.bdrv_all_can_snapshot(&err));
    faults.arm({"B", FaultOp::inactivate, false});
    block.bdrv_inactivate_all();
    EXPECT_FALSE(block.bdrv_all_can_snapshot(&err));
    EXPECT_NE(err.find("vda"), std::string::npos) << err;
}

// Before 10.0, inactivating an inactive node is the seed bug's assertion.
class InactivateTwiceTest : public BlockLayerTest,
                            public ::testing::WithParamInterface<QemuVersion> {
  protected:
    InactivateTwiceTest() : BlockLayerTest(GetParam()) {}
};

TEST_P(InactivateTwiceTest, SecondInactivateAllFollowsTheVersionRule) {
    block.open(BlockConfig::qcow2_disks_on_nfs(2), false);
    ASSERT_EQ(block.bdrv_inactivate_all(), 0);
    if (policy_for(GetParam()).inactivate_inactive_node_allowed_at_top_level) {
        EXPECT_EQ(block.bdrv_inactivate_all(), 0);
    } else {
        try {
            block.bdrv_inactivate_all();
            FAIL() << "expected the bdrv_inactivate_recurse assertion";
        } catch (const QemuAbort& e) {
            EXPECT_EQ(e.record().function, "bdrv_inactivate_recurse");
            EXPECT_EQ(e.record().reason, "Assertion `!(bs->open_flags & BDRV_O_INACTIVE)' failed.");
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllVersions, InactivateTwiceTest, ::testing::ValuesIn(all_qemu_versions),
                         version_test_name);

class BlockLayer10_2Test : public BlockLayerTest {
  protected:
    BlockLayer10_2Test() : BlockLayerTest(QemuVersion::v10_2) {}
};

TEST_F(BlockLayer10_2Test, AnInactiveChildUnderAnActiveParentAsserts) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1), false);
    node("A-nfs").open_flags |= BDRV_O_INACTIVE; // what the block layer must never produce
    try {
        block.bdrv_inactivate_all();
        FAIL() << "expected assert(top_level)";
    } catch (const QemuAbort& e) {
        EXPECT_EQ(e.record().function, "bdrv_inactivate_recurse");
        EXPECT_EQ(e.record().reason, "Assertion `top_level' failed.");
    }
}

TEST_F(BlockLayer10_2Test, InactivatingOneNodeWithAnActiveParentIsRefused) {
    block.open(BlockConfig::qcow2_disks_on_nfs(1), false);
    std::string err;
    EXPECT_EQ(block.bdrv_inactivate(node("A-nfs"), &err), -EPERM);
    EXPECT_EQ(err, "Node has active parent node");
    EXPECT_EQ(block.bdrv_inactivate(node("A"), &err), 0);
    EXPECT_TRUE(node("A-nfs").inactive());
}

} // namespace
} // namespace handoff::impl
