// The block graph of an instance: which node is a format, protocol or filter node, which node is
// whose child, and the orders in which QEMU's two walks visit them. The graph is static (no row
// adds or removes a node); the tables read it through the relations of ast.hpp's Op::NodeRel
// (is_root, parent_of, inactivated_before, activated_before), which the interpreter and the
// lowering evaluate from this class. docs/design-block-graph.md has the plan this follows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::model {

// How deep below a root the tables' walks look (qemu_ops.hpp writes QEMU's recursion out to this
// depth, since the expression language has no loop). An instance whose graph is deeper, or shares
// nodes in a way the walks do not follow (walk_limit()), is refused by the interpreter rather
// than walked wrongly.
inline constexpr int kWalkDepth = 2;

// The named shapes an instance may choose.
enum class GraphShape : std::uint8_t {
    flat,        // one node per disk, standing for the disk's whole tree (the model until now)
    chain,       // per disk: qcow2 -> file, backing qcow2 -> file
    shared_base, // two disks, each qcow2 -> file, both backed by one qcow2 -> file
    job,         // per disk: a block job's filter node -> qcow2 -> file
};

std::string_view graph_shape_name(GraphShape s);
std::optional<GraphShape> graph_shape_from_name(std::string_view name);

enum class NodeKind : std::uint8_t { format, protocol, filter };
enum class EdgeRole : std::uint8_t { file, backing, filtered };

std::string_view node_kind_name(NodeKind k);
std::string_view edge_role_name(EdgeRole r);

struct BlockNode {
    NodeKind kind{};
    std::string label; // "disk0", "disk0.file", "base", ...
    int storage = 0;   // the storage its protocol node (or its own file) sits on
};

// Edges are kept in the order QEMU attaches them.
struct BlockEdge {
    int parent = 0;
    int child = 0;
    EdgeRole role{};
};

// The relations the tables read (Op::NodeRel's `a`).
enum class NodeRelation : std::int16_t {
    is_root,            // is_root(x): a BlockBackend's node with no block-node parent
    parent_of,          // parent_of(p, x): p is a block-node parent of x
    inactivated_before, // inactivated_before(a, b): bdrv_inactivate_all() reaches a before b
    activated_before,   // activated_before(a, b): bdrv_activate_all() reaches a before b
    is_format,          // is_format(x): a format node (qcow2), the only kind that loses its driver
    filter_of,          // filter_of(p, x): x is p's filtered child (p passes its users' WRITE on)
    // inactivated_before_early(a, b): as inactivated_before, but with a shared node met under
    // its first parent (the order when that parent's visit already finds the other inactive)
    inactivated_before_early,
    first_sharing_parent, // first_sharing_parent(p, x): x has two block-node parents, p the first
    // last_sharing_parent(p, x): x has two block-node parents, or is below a node that has, and p
    // is the last of them
    last_sharing_parent,
    // activation_enters_before(a, b): a != b and bdrv_activate_all() enters a (tests its driver)
    // before it finishes b
    activation_enters_before,
    // takes_write_lock(x): x is a format node opened read-write (not a backing image), whose
    // activation takes WRITE on its file child and so the image's write lock
    takes_write_lock,
    // writes_through(p, x): a write to p goes on to x: x is p's file child and p a format node
    // (qcow2 writes data and metadata to its image file), or x is p's filtered child (a filter
    // passes requests on). Never a backing child: a write does not reach the backing image.
    writes_through,
};
std::string_view node_relation_name(NodeRelation r);

class BlockGraph {
  public:
    // `nodes` is the instance's node count: any for flat, a multiple of 4 for chain, 6 for
    // shared-base, a multiple of 3 for job. Throws std::invalid_argument otherwise.
    static BlockGraph make(GraphShape shape, int nodes);
    // The node count of `disks` disks in a shape (shared-base: two disks, always 6 nodes).
    static int node_count(GraphShape shape, int disks);

    GraphShape shape() const { return shape_; }
    int size() const { return static_cast<int>(nodes_.size()); }
    const std::vector<BlockNode>& nodes() const { return nodes_; }
    const std::vector<BlockEdge>& edges() const { return edges_; }

    bool is_root(int x) const;
    bool parent_of(int p, int x) const;
    // Node index size() stands for `none` (a walk that fails nowhere): every node comes before
    // none, and none before nothing, as with `n < fail`.
    bool inactivated_before(int a, int b) const;
    bool inactivated_before_early(int a, int b) const;
    bool activated_before(int a, int b) const;
    bool activation_enters_before(int a, int b) const;
    bool holds(NodeRelation r, int a, int b) const;

    // Every node has at most one block-node parent. On a tree a node's place in a walk's order
    // is the moment QEMU visits it. A shared node is visited from each parent, and which visit
    // does the work depends on the node states: qemu_ops.hpp chooses between two orders
    // (inactivated_before and inactivated_before_early) for it.
    bool is_tree() const;
    // The node with two block-node parents, or -1 (walk_limit() refuses more than one).
    int shared_node() const;
    // The longest parent chain below a root: 0 for flat, 2 for chain, shared-base and job.
    int depth() const;
    // Why the tables' walks cannot be trusted on this graph ("" when they can): a chain deeper
    // than kWalkDepth, or a sharing the two orders do not cover (more than one shared node, a
    // node with more than two parents or with a parent that is not a root, a format node below a
    // shared one).
    std::string walk_limit() const;
    // A node's children in the order QEMU visits them: bs->children, where each new child is
    // inserted at the head (QLIST_INSERT_HEAD, block.c 10.0.2:1444), so a qcow2 node's backing
    // child (attached after the driver opened its file child) comes before its file child.
    std::vector<int> children(int x) const;

    // The walks' orders, as node lists.
    const std::vector<int>& inactivation_order() const { return inactivation_order_; }
    const std::vector<int>& activation_order() const { return activation_order_; }

  private:
    GraphShape shape_ = GraphShape::flat;
    std::vector<BlockNode> nodes_;
    std::vector<BlockEdge> edges_;
    std::vector<int> roots_; // in bdrv_next() order
    std::vector<int> inactivation_order_, activation_order_;
    std::vector<int> inactivation_pos_, early_inactivation_pos_, activation_pos_;
    // bdrv_activate()'s recursion as a clock: when it enters a node, and when it finishes it.
    std::vector<int> activation_entered_, activation_finished_;
    std::vector<bool> first_sharing_parent_, last_sharing_parent_; // [p * size() + x]
    std::vector<int> parents(int x) const;     // in the walks' order of the parents
    const BlockEdge* edge(int p, int x) const; // the edge from p to x, or null
    bool below_or_at(int x, int shared) const;
    void compute_orders();
};

} // namespace handoff::model
