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
    case NodeRelation::inactivated_before_early:
        return "inactivated_before_early";
    case NodeRelation::first_sharing_parent:
        return "first_sharing_parent";
    case NodeRelation::last_sharing_parent:
        return "last_sharing_parent";
    case NodeRelation::activation_enters_before:
        return "activation_enters_before";
    case NodeRelation::takes_write_lock:
        return "takes_write_lock";
    case NodeRelation::writes_through:
        return "writes_through";
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
// parent. When the walk finds the later parents inactive already, the first parent's visit
// inactivates the shared child: the early order has it there. bdrv_activate() goes bottom-up,
// children first, a shared child at its first parent (at the later parents it is active already).
void BlockGraph::compute_orders() {
    const int n = size();
    auto positions = [n](const std::vector<int>& order) {
        std::vector<int> pos(static_cast<std::size_t>(n), 0);
        for (int i = 0; i < n; ++i) {
            pos[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = i;
        }
        return pos;
    };
    std::vector<bool> done(static_cast<std::size_t>(n), false);
    std::vector<int> order;
    auto top_down = [&](auto& self, int x, bool wait_for_every_parent) -> void {
        done[static_cast<std::size_t>(x)] = true;
        order.push_back(x);
        for (int c : children(x)) {
            const auto ps = parents(c);
            if (!done[static_cast<std::size_t>(c)] &&
                (!wait_for_every_parent || std::all_of(ps.begin(), ps.end(), [&](int p) {
                    return done[static_cast<std::size_t>(p)];
                }))) {
                self(self, c, wait_for_every_parent);
            }
        }
    };
    for (const bool wait_for_every_parent : {true, false}) {
        std::fill(done.begin(), done.end(), false);
        order.clear();
        for (int r : roots_) {
            top_down(top_down, r, wait_for_every_parent);
        }
        if (static_cast<int>(order.size()) != n) {
            throw std::logic_error("graph: a node no walk reaches");
        }
        if (wait_for_every_parent) {
            inactivation_order_ = order;
            inactivation_pos_ = positions(order);
        } else {
            early_inactivation_pos_ = positions(order);
        }
    }
    std::fill(done.begin(), done.end(), false);
    activation_entered_.assign(static_cast<std::size_t>(n), 0);
    activation_finished_.assign(static_cast<std::size_t>(n), 0);
    int clock = 0;
    auto bottom_up = [&](auto& self, int x) -> void {
        done[static_cast<std::size_t>(x)] = true;
        activation_entered_[static_cast<std::size_t>(x)] = clock++;
        for (int c : children(x)) {
            if (!done[static_cast<std::size_t>(c)]) {
                self(self, c);
            }
        }
        activation_finished_[static_cast<std::size_t>(x)] = clock++;
        activation_order_.push_back(x);
    };
    for (int r : roots_) {
        bottom_up(bottom_up, r);
    }
    if (static_cast<int>(activation_order_.size()) != n) {
        throw std::logic_error("graph: a node no walk reaches");
    }
    activation_pos_ = positions(activation_order_);

    first_sharing_parent_.assign(static_cast<std::size_t>(n * n), false);
    last_sharing_parent_.assign(static_cast<std::size_t>(n * n), false);
    if (const int s = shared_node(); s >= 0) {
        const auto ps = parents(s);
        first_sharing_parent_[static_cast<std::size_t>(ps.front() * n + s)] = true;
        for (int x = 0; x < n; ++x) {
            if (below_or_at(x, s)) {
                last_sharing_parent_[static_cast<std::size_t>(ps.back() * n + x)] = true;
            }
        }
    }
}

std::vector<int> BlockGraph::parents(int x) const {
    std::vector<int> out;
    for (const BlockEdge& e : edges_) {
        if (e.child == x) {
            out.push_back(e.parent);
        }
    }
    std::sort(out.begin(), out.end(), [this](int a, int b) {
        return inactivation_pos_.empty() ? a < b
                                         : inactivation_pos_[static_cast<std::size_t>(a)] <
                                               inactivation_pos_[static_cast<std::size_t>(b)];
    });
    return out;
}

bool BlockGraph::below_or_at(int x, int shared) const {
    if (x == shared) {
        return true;
    }
    const auto ps = parents(x);
    return std::any_of(ps.begin(), ps.end(), [&](int p) { return below_or_at(p, shared); });
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
    return shared_node() < 0;
}

int BlockGraph::shared_node() const {
    for (int x = 0; x < size(); ++x) {
        if (parents(x).size() > 1) {
            return x;
        }
    }
    return -1;
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
    // The tables place a shared node under its first or its last parent (qemu_ops.hpp,
    // inactivation_meets_shared_early()): exact for one shared node with two parents, both
    // roots, whose only format node is itself (a driverless node below it would fail where the
    // walk first meets it, which the two orders do not say).
    int shared = 0;
    for (int x = 0; x < size(); ++x) {
        const std::size_t count = parents(x).size();
        if (count > 2) {
            return "the walks on the " + shape + " graph are not modelled: a node there has " +
                   std::to_string(count) + " parents";
        }
        shared += count == 2 ? 1 : 0;
    }
    if (shared > 1) {
        return "the walks on the " + shape +
               " graph are not modelled: more than one node there "
               "has two parents";
    }
    if (const int s = shared_node(); s >= 0) {
        for (int p : parents(s)) {
            if (!is_root(p)) {
                return "the walks on the " + shape + " graph are not modelled: the shared node " +
                       nodes_[static_cast<std::size_t>(s)].label + " has a parent below a root";
            }
        }
        for (int x = 0; x < size(); ++x) {
            if (x != s && below_or_at(x, s) &&
                nodes_[static_cast<std::size_t>(x)].kind == NodeKind::format) {
                return "the walks on the " + shape +
                       " graph are not modelled: a format node "
                       "below the shared node " +
                       nodes_[static_cast<std::size_t>(s)].label;
            }
        }
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

const BlockEdge* BlockGraph::edge(int p, int x) const {
    const auto it = std::find_if(edges_.begin(), edges_.end(),
                                 [&](const BlockEdge& e) { return e.parent == p && e.child == x; });
    return it == edges_.end() ? nullptr : &*it;
}

bool BlockGraph::parent_of(int p, int x) const {
    return edge(p, x) != nullptr;
}

namespace {

// a's moment comes before b's, where index `nodes` stands for `none`: every node comes before
// none, and none before nothing, as with `n < fail`.
bool moment_before(const std::vector<int>& a_moment, const std::vector<int>& b_moment, int nodes,
                   int a, int b) {
    if (a >= nodes) {
        return false;
    }
    return b >= nodes ||
           a_moment[static_cast<std::size_t>(a)] < b_moment[static_cast<std::size_t>(b)];
}

} // namespace

bool BlockGraph::inactivated_before(int a, int b) const {
    return moment_before(inactivation_pos_, inactivation_pos_, size(), a, b);
}

bool BlockGraph::inactivated_before_early(int a, int b) const {
    return moment_before(early_inactivation_pos_, early_inactivation_pos_, size(), a, b);
}

bool BlockGraph::activation_enters_before(int a, int b) const {
    return a != b && moment_before(activation_entered_, activation_finished_, size(), a, b);
}

bool BlockGraph::activated_before(int a, int b) const {
    return moment_before(activation_pos_, activation_pos_, size(), a, b);
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
        if (const BlockEdge* e = a < n && b < n ? edge(a, b) : nullptr) {
            return e->role == EdgeRole::filtered;
        }
        return false;
    case NodeRelation::inactivated_before_early:
        return inactivated_before_early(a, b);
    case NodeRelation::activation_enters_before:
        return activation_enters_before(a, b);
    case NodeRelation::takes_write_lock:
        // A backing image is opened read-only (bdrv_backing_options()), so only a format node
        // that is nobody's backing child asks WRITE of its file.
        return a < n && nodes_[static_cast<std::size_t>(a)].kind == NodeKind::format &&
               std::none_of(edges_.begin(), edges_.end(), [a](const BlockEdge& e) {
                   return e.child == a && e.role == EdgeRole::backing;
               });
    case NodeRelation::writes_through:
        if (const BlockEdge* e = a < n && b < n ? edge(a, b) : nullptr) {
            return e->role == EdgeRole::filtered ||
                   (e->role == EdgeRole::file &&
                    nodes_[static_cast<std::size_t>(a)].kind == NodeKind::format);
        }
        return false;
    case NodeRelation::first_sharing_parent:
        return a < n && b < n && first_sharing_parent_[static_cast<std::size_t>(a * n + b)];
    case NodeRelation::last_sharing_parent:
        return a < n && b < n && last_sharing_parent_[static_cast<std::size_t>(a * n + b)];
    }
    return false;
}

} // namespace handoff::model
