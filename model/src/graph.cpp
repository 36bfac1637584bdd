#include "handoff/model/graph.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace handoff::model {

namespace {

constexpr std::array<std::pair<GraphShape, std::string_view>, 4> kShapes{{
    {GraphShape::flat, "flat"},
    {GraphShape::chain, "chain"},
    {GraphShape::shared_base, "shared-base"},
    {GraphShape::job, "job"},
}};

} // namespace

std::string_view graph_shape_name(GraphShape s) {
    for (const auto& [shape, name] : kShapes) {
        if (shape == s) {
            return name;
        }
    }
    return "?";
}

std::optional<GraphShape> graph_shape_from_name(std::string_view name) {
    for (const auto& [shape, n] : kShapes) {
        if (n == name) {
            return shape;
        }
    }
    return std::nullopt;
}

std::string_view node_kind_name(NodeKind k) {
    switch (k) {
    case NodeKind::format:
        return "format";
    case NodeKind::protocol:
        return "protocol";
    case NodeKind::filter:
        return "filter";
    }
    return "?";
}

std::string_view edge_role_name(EdgeRole r) {
    switch (r) {
    case EdgeRole::file:
        return "file";
    case EdgeRole::backing:
        return "backing";
    case EdgeRole::filtered:
        return "filtered";
    }
    return "?";
}

std::string_view node_relation_name(NodeRelation r) {
    switch (r) {
    case NodeRelation::is_root:
        return "is_root";
    case NodeRelation::parent_of:
        return "parent_of";
    case NodeRelation::inactivated_before:
        return "inactivated_before";
    case NodeRelation::activated_before:
        return "activated_before";
    case NodeRelation::is_format:
        return "is_format";
    case NodeRelation::filter_of:
        return "filter_of";
    }
    return "?";
}

int BlockGraph::node_count(GraphShape shape, int disks) {
    switch (shape) {
    case GraphShape::flat:
        return disks;
    case GraphShape::chain:
        return 4 * disks;
    case GraphShape::shared_base:
        return 6;
    case GraphShape::job:
        return 3 * disks;
    }
    return disks;
}

BlockGraph BlockGraph::make(GraphShape shape, int nodes) {
    BlockGraph g;
    g.shape_ = shape;
    auto add = [&g](NodeKind kind, std::string label, int storage) {
        g.nodes_.push_back({kind, std::move(label), storage});
        return static_cast<int>(g.nodes_.size()) - 1;
    };
    auto edge = [&g](int parent, int child, EdgeRole role) {
        g.edges_.push_back({parent, child, role});
    };
    auto refuse = [&](std::string_view what) {
        throw std::invalid_argument("the " + std::string(graph_shape_name(shape)) +
                                    " graph needs " + std::string(what) + ", not " +
                                    std::to_string(nodes) + " nodes");
    };
    if (nodes < 1) {
        refuse("at least one node");
    }
    switch (shape) {
    case GraphShape::flat:
        for (int d = 0; d < nodes; ++d) {
            g.roots_.push_back(add(NodeKind::format, "disk" + std::to_string(d), 0));
        }
        break;
    case GraphShape::chain:
        if (nodes % 4 != 0) {
            refuse("4 nodes per disk");
        }
        for (int d = 0; d < nodes / 4; ++d) {
            const std::string disk = "disk" + std::to_string(d);
            const int top = add(NodeKind::format, disk, d);
            const int top_file = add(NodeKind::protocol, disk + ".file", d);
            const int base = add(NodeKind::format, disk + ".base", d);
            const int base_file = add(NodeKind::protocol, disk + ".base.file", d);
            edge(top, top_file, EdgeRole::file);
            edge(top, base, EdgeRole::backing);
            edge(base, base_file, EdgeRole::file);
            g.roots_.push_back(top);
        }
        break;
    case GraphShape::shared_base: {
        if (nodes != 6) {
            refuse("6 nodes (two disks over one base)");
        }
        std::array<int, 2> tops{};
        for (int d = 0; d < 2; ++d) {
            const std::string disk = "disk" + std::to_string(d);
            tops[static_cast<std::size_t>(d)] = add(NodeKind::format, disk, d);
            edge(tops[static_cast<std::size_t>(d)], add(NodeKind::protocol, disk + ".file", d),
                 EdgeRole::file);
            g.roots_.push_back(tops[static_cast<std::size_t>(d)]);
        }
        const int base = add(NodeKind::format, "base", 2);
        edge(base, add(NodeKind::protocol, "base.file", 2), EdgeRole::file);
        edge(tops[0], base, EdgeRole::backing);
        edge(tops[1], base, EdgeRole::backing);
        break;
    }
    case GraphShape::job:
        if (nodes % 3 != 0) {
            refuse("3 nodes per disk");
        }
        for (int d = 0; d < nodes / 3; ++d) {
            const std::string disk = "disk" + std::to_string(d);
            const int filter = add(NodeKind::filter, disk + ".job-filter", d);
            const int format = add(NodeKind::format, disk, d);
            edge(filter, format, EdgeRole::filtered);
            edge(format, add(NodeKind::protocol, disk + ".file", d), EdgeRole::file);
            g.roots_.push_back(filter);
        }
        break;
    }
    g.compute_orders();
    return g;
}

// bdrv_inactivate_all() visits the roots in bdrv_next() order and bdrv_inactivate_recurse()
// goes top-down, reaching a child only once every block-node parent is inactive
// (bdrv_has_bds_parent(bs, true), block.c 8.0.5:6730): a shared child comes after its last
// parent. bdrv_activate() goes bottom-up, children first, a shared child at its first parent.
void BlockGraph::compute_orders() {
    const int n = size();
    std::vector<bool> done(static_cast<std::size_t>(n), false);
    auto all_parents_done = [&](int x) {
        return std::all_of(edges_.begin(), edges_.end(), [&](const BlockEdge& e) {
            return e.child != x || done[static_cast<std::size_t>(e.parent)];
        });
    };
    auto top_down = [&](auto& self, int x) -> void {
        done[static_cast<std::size_t>(x)] = true;
        inactivation_order_.push_back(x);
        for (int c : children(x)) {
            if (!done[static_cast<std::size_t>(c)] && all_parents_done(c)) {
                self(self, c);
            }
        }
    };
    for (int r : roots_) {
        top_down(top_down, r);
    }
    std::fill(done.begin(), done.end(), false);
    auto bottom_up = [&](auto& self, int x) -> void {
        done[static_cast<std::size_t>(x)] = true;
        for (int c : children(x)) {
            if (!done[static_cast<std::size_t>(c)]) {
                self(self, c);
            }
        }
        activation_order_.push_back(x);
    };
    for (int r : roots_) {
        bottom_up(bottom_up, r);
    }
    if (static_cast<int>(inactivation_order_.size()) != n ||
        static_cast<int>(activation_order_.size()) != n) {
        throw std::logic_error("graph: a node no walk reaches");
    }
    inactivation_pos_.assign(static_cast<std::size_t>(n), 0);
    activation_pos_.assign(static_cast<std::size_t>(n), 0);
    for (int i = 0; i < n; ++i) {
        inactivation_pos_[static_cast<std::size_t>(
            inactivation_order_[static_cast<std::size_t>(i)])] = i;
        activation_pos_[static_cast<std::size_t>(activation_order_[static_cast<std::size_t>(i)])] =
            i;
    }
}

std::vector<int> BlockGraph::children(int x) const {
    std::vector<int> out;
    for (auto e = edges_.rbegin(); e != edges_.rend(); ++e) {
        if (e->parent == x) {
            out.push_back(e->child);
        }
    }
    return out;
}

bool BlockGraph::is_tree() const {
    for (int x = 0; x < size(); ++x) {
        if (std::count_if(edges_.begin(), edges_.end(),
                          [x](const BlockEdge& e) { return e.child == x; }) > 1) {
            return false;
        }
    }
    return true;
}

int BlockGraph::depth() const {
    auto below = [this](auto& self, int x) -> int {
        int d = 0;
        for (int c : children(x)) {
            d = std::max(d, 1 + self(self, c));
        }
        return d;
    };
    int d = 0;
    for (int r : roots_) {
        d = std::max(d, below(below, r));
    }
    return d;
}

std::string BlockGraph::walk_limit() const {
    const std::string shape(graph_shape_name(shape_));
    if (!is_tree()) {
        return "the walks on the " + shape +
               " graph are not modelled yet: a node there has two parents, and which parent's "
               "visit inactivates it depends on the nodes' states";
    }
    if (depth() > kWalkDepth) {
        return "the " + shape + " graph is " + std::to_string(depth()) +
               " nodes deep, deeper than the walks look (" + std::to_string(kWalkDepth) + ")";
    }
    return "";
}

bool BlockGraph::is_root(int x) const {
    return std::find(roots_.begin(), roots_.end(), x) != roots_.end();
}

bool BlockGraph::parent_of(int p, int x) const {
    return std::any_of(edges_.begin(), edges_.end(),
                       [&](const BlockEdge& e) { return e.parent == p && e.child == x; });
}

bool BlockGraph::inactivated_before(int a, int b) const {
    const int n = size();
    if (a >= n) {
        return false;
    }
    return b >= n || inactivation_pos_[static_cast<std::size_t>(a)] <
                         inactivation_pos_[static_cast<std::size_t>(b)];
}

bool BlockGraph::activated_before(int a, int b) const {
    const int n = size();
    if (a >= n) {
        return false;
    }
    return b >= n || activation_pos_[static_cast<std::size_t>(a)] <
                         activation_pos_[static_cast<std::size_t>(b)];
}

bool BlockGraph::holds(NodeRelation r, int a, int b) const {
    const int n = size();
    switch (r) {
    case NodeRelation::is_root:
        return a < n && is_root(a);
    case NodeRelation::parent_of:
        return a < n && b < n && parent_of(a, b);
    case NodeRelation::inactivated_before:
        return inactivated_before(a, b);
    case NodeRelation::activated_before:
        return activated_before(a, b);
    case NodeRelation::is_format:
        return a < n && nodes_[static_cast<std::size_t>(a)].kind == NodeKind::format;
    case NodeRelation::filter_of:
        return a < n && b < n && std::any_of(edges_.begin(), edges_.end(), [&](const BlockEdge& e) {
                   return e.parent == a && e.child == b && e.role == EdgeRole::filtered;
               });
    }
    return false;
}

} // namespace handoff::model
