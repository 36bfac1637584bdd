// The block graph's shapes, the orders of QEMU's two walks on them, and the static relations the
// tables read (Op::NodeRel): the interpreter and the Z3 lowering must give each the same value,
// and the flat graph must say what the tables said with node indices (`a < b`).
#include "handoff/proofs/engines.hpp"

#include "handoff/model/expr.hpp"
#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

namespace handoff::proofs {
namespace {

using namespace handoff::model;

TEST(BlockGraph, ChainWalksTopDownAndBottomUp) {
    const BlockGraph g = BlockGraph::make(GraphShape::chain, 8);
    ASSERT_EQ(g.size(), 8);
    // disk0 (0) -> disk0.file (1), disk0 -> disk0.base (2) -> disk0.base.file (3); disk1 the same.
    EXPECT_TRUE(g.parent_of(0, 1));
    EXPECT_TRUE(g.parent_of(0, 2));
    EXPECT_TRUE(g.parent_of(2, 3));
    EXPECT_FALSE(g.parent_of(1, 0));
    EXPECT_TRUE(g.is_root(0));
    EXPECT_TRUE(g.is_root(4));
    EXPECT_FALSE(g.is_root(2));
    // QEMU visits a qcow2 node's backing child before its file child (bs->children has the
    // newest child first).
    EXPECT_EQ(g.children(0), (std::vector<int>{2, 1}));
    EXPECT_EQ(g.inactivation_order(), (std::vector<int>{0, 2, 3, 1, 4, 6, 7, 5}));
    EXPECT_EQ(g.activation_order(), (std::vector<int>{3, 2, 1, 0, 7, 6, 5, 4}));
    EXPECT_TRUE(g.is_tree());
    EXPECT_EQ(g.depth(), 2);
    EXPECT_EQ(g.walk_limit(), "");
    EXPECT_TRUE(g.holds(NodeRelation::is_format, 2, -1));
    EXPECT_FALSE(g.holds(NodeRelation::is_format, 3, -1));
    // Only the read-write qcow2 node takes the image's write lock: the backing image is opened
    // read-only, and a file node takes WRITE only for its parent.
    EXPECT_TRUE(g.holds(NodeRelation::takes_write_lock, 0, -1));
    EXPECT_FALSE(g.holds(NodeRelation::takes_write_lock, 1, -1));
    EXPECT_FALSE(g.holds(NodeRelation::takes_write_lock, 2, -1));
    EXPECT_FALSE(g.holds(NodeRelation::takes_write_lock, 3, -1));
    EXPECT_TRUE(BlockGraph::make(GraphShape::flat, 2).holds(NodeRelation::takes_write_lock, 1, -1));
    // A guest write goes from the qcow2 node to its file, never into the backing image.
    EXPECT_TRUE(g.holds(NodeRelation::writes_through, 0, 1));
    EXPECT_FALSE(g.holds(NodeRelation::writes_through, 0, 2));
    // The relation is local: a write to the base would go on to its file, but none reaches the
    // base (the guest writes through the BlockBackend's node, guest_write).
    EXPECT_TRUE(g.holds(NodeRelation::writes_through, 2, 3));
}

TEST(BlockGraph, SharedBaseComesAfterItsLastParentOrUnderItsFirst) {
    const BlockGraph g = BlockGraph::make(GraphShape::shared_base, 6);
    // disk0 (0) -> .file (1); disk1 (2) -> .file (3); base (4) -> base.file (5); 0, 2 -> 4.
    EXPECT_EQ(g.inactivation_order(), (std::vector<int>{0, 1, 2, 4, 5, 3}));
    EXPECT_EQ(g.activation_order(), (std::vector<int>{5, 4, 1, 0, 3, 2}));
    EXPECT_TRUE(g.inactivated_before(2, 4)); // the base only once disk1 is inactive
    EXPECT_TRUE(g.activated_before(4, 0));   // and active before disk0 is
    // ... or under disk0, before disk0's file, when disk1 is inactive already.
    EXPECT_TRUE(g.inactivated_before_early(4, 1));
    EXPECT_TRUE(g.inactivated_before_early(5, 1));
    EXPECT_TRUE(g.inactivated_before_early(0, 4));
    EXPECT_FALSE(g.is_tree());
    EXPECT_EQ(g.shared_node(), 4);
    EXPECT_TRUE(g.holds(NodeRelation::first_sharing_parent, 0, 4));
    EXPECT_FALSE(g.holds(NodeRelation::first_sharing_parent, 2, 4));
    EXPECT_FALSE(g.holds(NodeRelation::first_sharing_parent, 0, 5)); // only the shared node
    EXPECT_TRUE(g.holds(NodeRelation::last_sharing_parent, 2, 4));
    EXPECT_TRUE(g.holds(NodeRelation::last_sharing_parent, 2, 5)); // and what is below it
    EXPECT_FALSE(g.holds(NodeRelation::last_sharing_parent, 0, 4));
    // bdrv_activate() enters disk0 (and tests its driver) before it finishes the base below it.
    EXPECT_TRUE(g.activation_enters_before(0, 4));
    EXPECT_FALSE(g.activated_before(0, 4));
    EXPECT_FALSE(g.activation_enters_before(4, 4));
    EXPECT_EQ(g.walk_limit(), "");
    EXPECT_NO_THROW((void)Interpreter(*find_version("v10.2"), [] {
        Instance i(6);
        i.graph = GraphShape::shared_base;
        return i;
    }()));
}

TEST(BlockGraph, NoneComesAfterEveryNode) {
    const BlockGraph g = BlockGraph::make(GraphShape::job, 3);
    EXPECT_TRUE(g.inactivated_before(2, 3));
    EXPECT_FALSE(g.inactivated_before(3, 0));
    EXPECT_FALSE(g.activated_before(3, 3));
    EXPECT_EQ(g.nodes()[0].kind, NodeKind::filter);
    EXPECT_EQ(g.inactivation_order(), (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(g.activation_order(), (std::vector<int>{2, 1, 0}));
    EXPECT_FALSE(g.holds(NodeRelation::is_format, 0, -1)); // the filter keeps its driver
    EXPECT_TRUE(g.holds(NodeRelation::is_format, 1, -1));
    EXPECT_TRUE(g.holds(NodeRelation::takes_write_lock, 1, -1)); // the qcow2 under the filter
    EXPECT_FALSE(g.holds(NodeRelation::takes_write_lock, 0, -1));
    EXPECT_TRUE(g.holds(NodeRelation::filter_of, 0, 1));  // the filter passes WRITE to the qcow2
    EXPECT_FALSE(g.holds(NodeRelation::filter_of, 1, 2)); // a file child is not filtered
    EXPECT_TRUE(g.holds(NodeRelation::writes_through, 0, 1)); // filter -> qcow2 -> file
    EXPECT_TRUE(g.holds(NodeRelation::writes_through, 1, 2));
}

TEST(BlockGraph, BadNodeCountsAreRefused) {
    EXPECT_THROW((void)BlockGraph::make(GraphShape::chain, 6), std::invalid_argument);
    EXPECT_THROW((void)BlockGraph::make(GraphShape::shared_base, 4), std::invalid_argument);
    EXPECT_THROW((void)BlockGraph::make(GraphShape::job, 4), std::invalid_argument);
    EXPECT_EQ(graph_shape_from_name("shared-base"), GraphShape::shared_base);
    EXPECT_FALSE(graph_shape_from_name("tree").has_value());
}

// Each relation over every pair of node indices on the interpreter equals the graph's; closed
// sentences over the relations get the same truth value from the interpreter and from the Z3
// lowering (which folds the relation to constants under its quantifiers), and the flat graph
// orders its walks by node index, as the tables' `n < fail` did.
// Which node an inactivation walk may fail at, with the storage gone, on one chain disk (0 disk0,
// 1 disk0.file, 2 disk0.base, 3 disk0.base.file): only a read-write format node, since only qcow2
// has a drv->bdrv_inactivate that does I/O (block.c 10.0.2:6984-7050), and a backing image, opened
// read-only, has nothing to write; and the failing node is left half-inactivated only where a
// BlockBackend's callback ran, at the root.
TEST(GraphWalks, OnlyAReadWriteFormatNodeFailsItsInactivationAndOnlyARootIsLeftHalfDone) {
    const TableData& table = *find_version("v10.2");
    Instance inst(4);
    inst.graph = GraphShape::chain;
    const Interpreter interp(table, inst);
    State s = interp.initial_states().front();
    interp.put(s, Var::storage_ok, 0, 0, 0);
    const RowData* row = table.find("blockdev_set_inactive_all");
    ASSERT_NE(row, nullptr);
    const auto enabled = [&](int fail, bool half) {
        Step step;
        step.row = static_cast<int>(row - table.rows.data());
        step.params[static_cast<std::size_t>(Param::host)] = 0;
        step.params[static_cast<std::size_t>(Param::fail)] = fail;
        step.params[static_cast<std::size_t>(Param::half)] = half ? 1 : 0;
        return interp.apply(s, step).has_value();
    };
    ASSERT_EQ(interp.get(s, Var::node, 0, 0), static_cast<int>(NodeState::ACTIVE));
    EXPECT_TRUE(enabled(0, false)) << "disk0 (qcow2) fails";
    EXPECT_TRUE(enabled(0, true)) << "disk0 (the root) is left half-inactivated";
    EXPECT_FALSE(enabled(2, false)) << "disk0.base (a read-only qcow2) writes nothing";
    EXPECT_FALSE(enabled(2, true)) << "disk0.base has no BlockBackend to leave half done";
    EXPECT_FALSE(enabled(1, false)) << "disk0.file (protocol) has no bdrv_inactivate";
    EXPECT_FALSE(enabled(3, false)) << "disk0.base.file (protocol) has no bdrv_inactivate";
    EXPECT_TRUE(enabled(4, false)) << "the walk may also succeed (fail = none)";
}

// QEMU's walks on shared-base (0 disk0, 1 disk0.file, 2 disk1, 3 disk1.file, 4 base, 5
// base.file; both disks backed by the base), where which parent's visit does the base's work
// depends on the states: bdrv_inactivate_recurse() tests the driver, then skips a node with an
// active parent (block.c 10.0.2:6992-7000); bdrv_activate() tests the driver before the children.
class SharedBaseWalks : public ::testing::Test {
  protected:
    static constexpr int kNone = 6;
    const TableData& table = *find_version("v10.2");
    Instance inst = [] {
        Instance i(6);
        i.graph = GraphShape::shared_base;
        return i;
    }();
    const Interpreter interp{table, inst};
    State s = interp.initial_states().front();

    void set_nodes(const std::array<NodeState, 6>& states) {
        for (int x = 0; x < 6; ++x) {
            interp.put(s, Var::node, 0, x, static_cast<int>(states[static_cast<std::size_t>(x)]));
        }
    }
    // The source's nodes after `row` with outcome `fail` (and nothing half done or broken), or
    // nullopt when the row cannot take that outcome.
    std::optional<std::array<NodeState, 6>> after(const char* row_name, int fail) const {
        const RowData* row = table.find(row_name);
        if (row == nullptr) {
            ADD_FAILURE() << "no row " << row_name;
            return std::nullopt;
        }
        Step step;
        step.row = static_cast<int>(row - table.rows.data());
        step.params[static_cast<std::size_t>(Param::host)] = 0;
        step.params[static_cast<std::size_t>(Param::fail)] = fail;
        const auto next = interp.apply(s, step);
        if (!next) {
            return std::nullopt;
        }
        std::array<NodeState, 6> out{};
        for (int x = 0; x < 6; ++x) {
            out[static_cast<std::size_t>(x)] =
                static_cast<NodeState>(interp.get(*next, Var::node, 0, x));
        }
        return out;
    }
};

using NSt = NodeState;

TEST_F(SharedBaseWalks, TheBaseIsInactivatedUnderTheLastDisk) {
    interp.put(s, Var::storage_ok, 0, 0, 0);
    // disk1's qcow2_inactivate() fails: disk0 and its file are inactive by then, and the base,
    // still under an active disk1 when disk0's visit met it, is not.
    EXPECT_EQ(after("blockdev_set_inactive_all", 2),
              (std::array{NSt::INACTIVE, NSt::INACTIVE, NSt::ACTIVE, NSt::ACTIVE, NSt::ACTIVE,
                          NSt::ACTIVE}));
    // (A read-only backing image writes nothing when it is inactivated: it cannot fail.)
    EXPECT_EQ(after("blockdev_set_inactive_all", 4), std::nullopt);
}

TEST_F(SharedBaseWalks, UnderTheFirstDiskWhenTheLastIsInactiveAlready) {
    set_nodes({NSt::ACTIVE, NSt::ACTIVE, NSt::INACTIVE, NSt::INACTIVE, NSt::ACTIVE, NSt::ACTIVE});
    // disk0's visit finds disk1 inactive and goes into the base: a walk that took the base only
    // under disk1 would leave it active, since disk1 is skipped.
    EXPECT_EQ(after("blockdev_set_inactive_all", kNone),
              (std::array{NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE,
                          NSt::INACTIVE}));
}

TEST_F(SharedBaseWalks, ADriverlessBaseStopsTheWalkWhereItIsFirstMet) {
    set_nodes({NSt::ACTIVE, NSt::ACTIVE, NSt::ACTIVE, NSt::ACTIVE, NSt::BROKEN, NSt::INACTIVE});
    // -ENOMEDIUM under disk0, although disk1 is still active: disk0 alone is inactivated.
    EXPECT_EQ(after("blockdev_set_inactive_all", kNone),
              (std::array{NSt::INACTIVE, NSt::ACTIVE, NSt::ACTIVE, NSt::ACTIVE, NSt::BROKEN,
                          NSt::INACTIVE}));
}

TEST_F(SharedBaseWalks, ADriverlessFirstDiskStopsActivationBeforeTheBase) {
    set_nodes(
        {NSt::BROKEN, NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE});
    // bdrv_activate(disk0) returns -ENOMEDIUM before its children: bdrv_activate_all() stops
    // there, and the base, which disk1 would reach, stays inactive.
    EXPECT_EQ(after("blockdev_set_active_all", kNone),
              (std::array{NSt::BROKEN, NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE,
                          NSt::INACTIVE}));
    set_nodes(
        {NSt::INACTIVE, NSt::INACTIVE, NSt::BROKEN, NSt::INACTIVE, NSt::INACTIVE, NSt::INACTIVE});
    EXPECT_EQ(after("blockdev_set_active_all", kNone),
              (std::array{NSt::ACTIVE, NSt::ACTIVE, NSt::BROKEN, NSt::INACTIVE, NSt::ACTIVE,
                          NSt::ACTIVE}));
}

TEST(GraphRelations, InterpreterAndLoweringAgreeWithTheGraph) {
    using namespace dsl;
    const TableData& table = *find_version("v10.2");
    struct Shape {
        GraphShape shape;
        int nodes;
    };
    for (const Shape& sh : {Shape{GraphShape::flat, 2}, Shape{GraphShape::chain, 4},
                            Shape{GraphShape::job, 3}, Shape{GraphShape::shared_base, 6}}) {
        Instance inst(sh.nodes);
        inst.graph = sh.shape;
        z3::context ctx;
        const Lowering low(ctx, table, inst);
        const Interpreter& interp = low.interp();
        const BlockGraph& g = interp.graph();
        const State s = interp.initial_states().front();
        const StateVars sv = low.make_state("x");
        const std::string name(graph_shape_name(sh.shape));
        Ast ast;
        AstBuilder b{ast};
        const int relations[] = {is_root(n).emit(b),
                                 parent_of(n, m).emit(b),
                                 inactivated_before(n, m).emit(b),
                                 activated_before(n, m).emit(b),
                                 inactivated_before_early(n, m).emit(b),
                                 first_sharing_parent(n, m).emit(b),
                                 last_sharing_parent(n, m).emit(b),
                                 activation_enters_before(n, m).emit(b),
                                 takes_write_lock(n).emit(b),
                                 writes_through(n, m).emit(b)};
        const NodeRelation kinds[] = {
            NodeRelation::is_root,
            NodeRelation::parent_of,
            NodeRelation::inactivated_before,
            NodeRelation::activated_before,
            NodeRelation::inactivated_before_early,
            NodeRelation::first_sharing_parent,
            NodeRelation::last_sharing_parent,
            NodeRelation::activation_enters_before,
            NodeRelation::takes_write_lock,
            NodeRelation::writes_through,
        };
        static_assert(std::size(relations) == std::size(kinds));
        for (std::size_t k = 0; k < std::size(kinds); ++k) {
            for (int a = 0; a < sh.nodes; ++a) {
                for (int c = 0; c < sh.nodes; ++c) {
                    Env env;
                    env.nodes = {a, c};
                    EXPECT_EQ(interp.eval(ast, relations[k], s, env) != 0, g.holds(kinds[k], a, c))
                        << name << " " << node_relation_name(kinds[k]) << "(" << a << ", " << c
                        << ")";
                }
            }
        }
        const bool flat = sh.shape == GraphShape::flat;
        struct Sentence {
            const char* what;
            int expr;
            bool expected;
        };
        const std::vector<Sentence> sentences{
            {"a parent is inactivated before its child",
             forall(n, forall(m, implies(parent_of(n, m), inactivated_before(n, m)))).emit(b),
             true},
            {"a child is activated before its parent",
             forall(n, forall(m, implies(parent_of(n, m), activated_before(m, n)))).emit(b), true},
            {"some node has a parent", exists(n, exists(m, parent_of(n, m))).emit(b), !flat},
            {"every node is a root", forall(n, is_root(n)).emit(b), flat},
            {"no root has a parent",
             forall(n, implies(is_root(n), forall(m, !parent_of(m, n)))).emit(b), true},
            {"the activation order is the index order",
             forall(n, forall(m, activated_before(n, m) == (n < m))).emit(b), flat},
            {"on a tree both inactivation orders agree",
             forall(n, forall(m, inactivated_before(n, m) == inactivated_before_early(n, m)))
                 .emit(b),
             sh.shape != GraphShape::shared_base},
            {"bdrv_activate() enters a node before it finishes any node it finishes after it",
             forall(n, forall(m, implies(activated_before(n, m), activation_enters_before(n, m))))
                 .emit(b),
             true},
            {"each walk is a total order",
             forall(n, forall(m, implies(n != m,
                                         inactivated_before(n, m) != inactivated_before(m, n) &&
                                             inactivated_before_early(n, m) !=
                                                 inactivated_before_early(m, n) &&
                                             activated_before(n, m) != activated_before(m, n))))
                 .emit(b),
             true},
        };
        for (const Sentence& st : sentences) {
            Env env;
            EXPECT_EQ(interp.eval(ast, st.expr, s, env) != 0, st.expected)
                << name << ": " << st.what << " (interpreter)";
            const z3::expr lowered = low.predicate(ast, st.expr, sv).simplify();
            EXPECT_TRUE(lowered.is_true() || lowered.is_false())
                << name << ": " << st.what << " lowered to " << lowered;
            EXPECT_EQ(lowered.is_true(), st.expected) << name << ": " << st.what << " (lowering)";
        }
    }
}

} // namespace
} // namespace handoff::proofs
