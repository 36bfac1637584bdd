// The block graph of an instance, drawn for `handoff spec --graph SHAPE`: a Markdown section
// (a table of the nodes with their place in QEMU's two walks) and a Graphviz cluster.
#include "handoff/model/spec.hpp"

#include <sstream>
#include <string>

namespace handoff::model {

namespace {

// "backing of 0" / "root" for node n.
std::string parent_text(const BlockGraph& g, int n) {
    std::string out;
    for (const BlockEdge& e : g.edges()) {
        if (e.child == n) {
            out += (out.empty() ? "" : ", ") + std::string(edge_role_name(e.role)) + " child of " +
                   std::to_string(e.parent) + " (" +
                   g.nodes()[static_cast<std::size_t>(e.parent)].label + ")";
        }
    }
    return out.empty() ? "root: a BlockBackend's node (bdrv_next() visits it)" : out;
}

// 1-based place of n in a walk's order.
int place(const std::vector<int>& order, int n) {
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (order[i] == n) {
            return static_cast<int>(i) + 1;
        }
    }
    return 0;
}

std::string kind_text(NodeKind k) {
    switch (k) {
    case NodeKind::format:
        return "format (qcow2)";
    case NodeKind::protocol:
        return "protocol (file or nbd)";
    case NodeKind::filter:
        return "filter (a block job's)";
    }
    return "?";
}

} // namespace

std::string render_block_graph_markdown(const BlockGraph& g, int disks) {
    std::ostringstream md;
    md << "## The block graph of the instance (`--graph " << graph_shape_name(g.shape())
       << " --disks " << disks << "`)\n\n"
       << "Each host opens this graph (the destination's nodes start inactive); the tables' "
          "per-node variables `node[h][n]` are indexed by the first column. QEMU's walks visit "
          "the nodes in the orders of the last two columns: bdrv_inactivate_all() top-down (the "
          "roots in bdrv_next() order, each followed by its children, the newest child first: "
          "backing before file, block.c 10.0.2:1444), bdrv_activate_all() children first. The "
          "model's one `storage_ok` stands for every storage at once: the storage column says "
          "where each node's image would live, not yet an outage of its own.\n\n"
       << "| node | label | kind | parent | storage | inactivation order | activation order "
          "|\n|---|---|---|---|---|---|---|\n";
    for (int n = 0; n < g.size(); ++n) {
        const BlockNode& node = g.nodes()[static_cast<std::size_t>(n)];
        md << "| " << n << " | `" << node.label << "` | " << kind_text(node.kind) << " | "
           << parent_text(g, n) << " | " << node.storage << " | "
           << place(g.inactivation_order(), n) << " | " << place(g.activation_order(), n) << " |\n";
    }
    if (const std::string limit = g.walk_limit(); !limit.empty()) {
        md << "\nThe tables' walks are not exact on this graph: " << limit << ".\n";
    } else if (const int s = g.shared_node(); s >= 0) {
        md << "\nNode " << s << " (`" << g.nodes()[static_cast<std::size_t>(s)].label
           << "`) has two parents. The inactivation order above is the walk's when it finds both "
              "parents active: the node is skipped under its first parent "
              "(bdrv_has_bds_parent(bs, true)) and inactivated under its last. When the last "
              "parent is inactive already, or the node has no driver (-ENOMEDIUM comes before "
              "that test), the walk does its work under the first parent instead "
              "(`inactivated_before_early`).\n";
    }
    md << "\n";
    return md.str();
}

std::string render_block_graph_dot(const BlockGraph& g) {
    std::ostringstream dot;
    dot << "  subgraph cluster_graph {\n    label=\"block graph per host ("
        << graph_shape_name(g.shape())
        << "): node n, its label, kind, and its place in bdrv_inactivate_all() / "
           "bdrv_activate_all()\";\n    rankdir=TB;\n";
    for (int n = 0; n < g.size(); ++n) {
        const BlockNode& node = g.nodes()[static_cast<std::size_t>(n)];
        dot << "    graph_" << n
            << " [shape=" << (node.kind == NodeKind::protocol ? "box" : "ellipse") << ", label=\""
            << n << ": " << node.label << "\\n"
            << node_kind_name(node.kind) << "\\ninactivated " << place(g.inactivation_order(), n)
            << ", activated " << place(g.activation_order(), n) << "\"];\n";
    }
    for (const BlockEdge& e : g.edges()) {
        dot << "    graph_" << e.parent << " -> graph_" << e.child << " [label=\""
            << edge_role_name(e.role) << "\"];\n";
    }
    dot << "  }\n";
    return dot.str();
}

} // namespace handoff::model
