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
}

TEST(BlockGraph, SharedBaseComesAfterItsLastParentAndBeforeItsFirst) {
    const BlockGraph g = BlockGraph::make(GraphShape::shared_base, 6);
    // disk0 (0) -> .file (1); disk1 (2) -> .file (3); base (4) -> base.file (5); 0, 2 -> 4.
    EXPECT_EQ(g.inactivation_order(), (std::vector<int>{0, 1, 2, 4, 5, 3}));
    EXPECT_EQ(g.activation_order(), (std::vector<int>{5, 4, 1, 0, 3, 2}));
    EXPECT_TRUE(g.inactivated_before(2, 4)); // the base only once disk1 is inactive
    EXPECT_TRUE(g.activated_before(4, 0));   // and active before disk0 is
    // Which parent's visit inactivates the base depends on the states, so the tables' walks
    // refuse this graph rather than walk it in a fixed order.
    EXPECT_FALSE(g.is_tree());
    EXPECT_NE(g.walk_limit().find("two parents"), std::string::npos);
    EXPECT_THROW((void)Interpreter(*find_version("v10.2"),
                                   [] {
                                       Instance i(6);
                                       i.graph = GraphShape::shared_base;
                                       return i;
                                   }()),
                 std::invalid_argument);
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
    EXPECT_TRUE(g.holds(NodeRelation::filter_of, 0, 1));  // the filter passes WRITE to the qcow2
    EXPECT_FALSE(g.holds(NodeRelation::filter_of, 1, 2)); // a file child is not filtered
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
// 1 disk0.file, 2 disk0.base, 3 disk0.base.file): only a format node, since only qcow2 has a
// drv->bdrv_inactivate that does I/O (block.c 10.0.2:6984-7050); and the failing node is left
// half-inactivated only where a BlockBackend's callback ran, at the root.
TEST(GraphWalks, OnlyAFormatNodeFailsItsInactivationAndOnlyARootIsLeftHalfDone) {
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
    EXPECT_TRUE(enabled(2, false)) << "disk0.base (qcow2) fails";
    EXPECT_FALSE(enabled(2, true)) << "disk0.base has no BlockBackend to leave half done";
    EXPECT_FALSE(enabled(1, false)) << "disk0.file (protocol) has no bdrv_inactivate";
    EXPECT_FALSE(enabled(3, false)) << "disk0.base.file (protocol) has no bdrv_inactivate";
    EXPECT_TRUE(enabled(4, false)) << "the walk may also succeed (fail = none)";
}

TEST(GraphRelations, InterpreterAndLoweringAgreeWithTheGraph) {
    using namespace dsl;
    const TableData& table = *find_version("v10.2");
    struct Shape {
        GraphShape shape;
        int nodes;
    };
    // (shared-base is not a tree: the interpreter refuses it, see below.)
    for (const Shape& sh :
         {Shape{GraphShape::flat, 2}, Shape{GraphShape::chain, 4}, Shape{GraphShape::job, 3}}) {
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
        const int relations[] = {is_root(n).emit(b), parent_of(n, m).emit(b),
                                 inactivated_before(n, m).emit(b), activated_before(n, m).emit(b)};
        const NodeRelation kinds[] = {NodeRelation::is_root, NodeRelation::parent_of,
                                      NodeRelation::inactivated_before,
                                      NodeRelation::activated_before};
        for (std::size_t k = 0; k < 4; ++k) {
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
            {"each walk is a total order",
             forall(n, forall(m, implies(n != m,
                                         inactivated_before(n, m) != inactivated_before(m, n) &&
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
