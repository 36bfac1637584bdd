#include "instance_options.hpp"

#include "handoff/model/versions.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

namespace handoff::cli {

using namespace handoff::model;

const TableData& require_version(const std::string& name) {
    if (const TableData* t = find_version(name)) {
        return *t;
    }
    throw UsageError(
        fmt::format("unknown version '{}' (expected one of: {})", name, version_names()));
}

const InvariantData& require_invariant(const std::string& name) {
    if (const InvariantData* i = find_invariant(name)) {
        return *i;
    }
    std::string names;
    for (const auto& inv : all_invariants()) {
        names += (names.empty() ? "" : ", ") + std::string(inv.name);
    }
    throw UsageError(fmt::format("unknown invariant '{}' (expected one of: {})", name, names));
}

void InstanceOptions::add_to(CLI::App* cmd) {
    nodes_option =
        cmd->add_option("--nodes", nodes,
                        "Number of block nodes per host on the flat graph, one per disk (1-16)")
            ->capture_default_str();
    cmd->add_option("--graph", graph,
                    "The block graph of each disk: flat (one node stands for the disk), chain "
                    "(qcow2 over its file, backed by a qcow2 over its file: 4 nodes a disk), job "
                    "(a block job's filter node over qcow2 over file: 3 nodes a disk), "
                    "shared-base (two disks, each qcow2 over its file, over one backing qcow2 "
                    "over its file: 6 nodes)")
        ->capture_default_str();
    cmd->add_option("--disks", disks,
                    "Number of disks per host (default 2; on the flat graph the same as --nodes)");
    cmd->add_option("--starts", starts, "How many fresh QEMU processes management may start (0-3)")
        ->capture_default_str();
    cmd->add_option("--set-active-calls", set_active_calls,
                    "How many blockdev-set-active commands management may issue (0-3)")
        ->capture_default_str();
    cmd->add_option("--env", env,
                    "The environment profile: documented (management uses QEMU as QEMU documents "
                    "it: image locking on, no blockdev-set-active active=false on a running "
                    "guest; a violation is QEMU's bug) or any (every QMP command whenever QEMU "
                    "accepts it, image locking either way)")
        ->capture_default_str();
    cmd->add_option("--cap", caps,
                    "Fix a capability, e.g. --cap late-block-activate=on (capabilities: "
                    "late-block-activate, pause-before-switchover, postcopy, autostart, "
                    "image-locking); unfixed ones take both values");
}

// The node count of the chosen graph: --nodes counts nodes of the flat graph, --disks counts
// disks of any graph.
GraphShape require_graph_shape(const std::string& name) {
    const auto shape = graph_shape_from_name(name);
    if (!shape) {
        throw UsageError(
            fmt::format("unknown graph '{}' (expected flat, chain, shared-base or job)", name));
    }
    return *shape;
}

static std::pair<GraphShape, int> graph_and_nodes(const InstanceOptions& o) {
    const std::optional<GraphShape> shape = require_graph_shape(o.graph);
    const bool nodes_given = o.nodes_option != nullptr && o.nodes_option->count() > 0;
    if (*shape != GraphShape::flat && nodes_given) {
        throw UsageError(fmt::format("--nodes counts the nodes of the flat graph; with --graph {} "
                                     "give the number of disks with --disks",
                                     o.graph));
    }
    if (nodes_given && o.disks != 0 && o.disks != o.nodes) {
        throw UsageError("--nodes and --disks disagree (on the flat graph they are the same)");
    }
    int disks = o.disks != 0 ? o.disks : (*shape == GraphShape::flat ? o.nodes : 2);
    if (*shape == GraphShape::shared_base && disks != 2) {
        throw UsageError(
            fmt::format("--graph shared-base has two disks over one base, not {}", disks));
    }
    const int nodes = BlockGraph::node_count(*shape, disks);
    if (disks < 1 || nodes > 16) {
        throw UsageError(fmt::format("--disks must be between 1 and {} on the {} graph, not {}",
                                     16 / BlockGraph::node_count(*shape, 1), o.graph, disks));
    }
    if (const std::string limit = BlockGraph::make(*shape, nodes).walk_limit(); !limit.empty()) {
        throw UsageError(limit);
    }
    return {*shape, nodes};
}

Instance InstanceOptions::instance() const {
    if (nodes < 1 || nodes > 16) {
        throw UsageError(fmt::format("--nodes must be between 1 and 16, not {}", nodes));
    }
    const auto [shape, node_count] = graph_and_nodes(*this);
    if (starts < 0 || starts > 3) {
        throw UsageError(fmt::format("--starts must be between 0 and 3, not {}", starts));
    }
    if (set_active_calls < 0 || set_active_calls > 3) {
        throw UsageError(
            fmt::format("--set-active-calls must be between 0 and 3, not {}", set_active_calls));
    }
    if (env != "documented" && env != "any") {
        throw UsageError(
            fmt::format("unknown environment profile '{}' (expected documented or any)", env));
    }
    Instance inst(node_count);
    inst.graph = shape;
    inst.starts = starts;
    inst.set_active_calls = set_active_calls;
    inst.documented_use = env == "documented";
    const auto& known = proofs::kCapabilityNames;
    for (const auto& c : caps) {
        const auto eq = c.find('=');
        const std::string name = c.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : c.substr(eq + 1);
        const auto* it = std::find_if(std::begin(known), std::end(known),
                                      [&](const auto& k) { return name == k.name; });
        if (it == std::end(known)) {
            throw UsageError(
                fmt::format("unknown capability '{}' (expected one of: late-block-activate, "
                            "pause-before-switchover, postcopy, autostart, image-locking)",
                            name));
        }
        if (value != "on" && value != "off") {
            throw UsageError(
                fmt::format("--cap {}: the value must be on or off, not '{}'", name, value));
        }
        if (inst.documented_use && it->var == Var::image_locking && value == "off") {
            throw UsageError("--cap image-locking=off contradicts --env documented (image "
                             "locking is on in documented use; add --env any)");
        }
        inst.fixed[static_cast<int>(it->var)] = value == "on" ? 1 : 0;
    }
    if (inst.documented_use) {
        inst.fixed[static_cast<int>(Var::image_locking)] = 1;
    }
    return inst;
}

std::string InstanceOptions::describe() const {
    std::string caps_text = caps.empty() ? "every capability combination" : "";
    for (const auto& c : caps) {
        caps_text += (caps_text.empty() ? "" : ", ") + c;
    }
    const int flat_nodes = disks != 0 ? disks : nodes; // --disks N is --nodes N on the flat graph
    std::string where = fmt::format("{} node{}", flat_nodes, flat_nodes == 1 ? "" : "s");
    if (graph != "flat") {
        const int d = disks != 0 ? disks : 2;
        where = fmt::format("{} disk{} on the {} graph", d, d == 1 ? "" : "s", graph);
    }
    return fmt::format("{}, {} process start{}, {}, {} use", where, starts, starts == 1 ? "" : "s",
                       caps_text, env);
}

nlohmann::json InstanceOptions::json() const {
    nlohmann::json out = {{"nodes", disks != 0 ? disks : nodes},
                          {"starts", starts},
                          {"set_active_calls", set_active_calls},
                          {"env", env},
                          {"caps", caps}};
    // Absent on the flat graph, so that the manifests written before the graph stay valid.
    if (graph != "flat") {
        out["graph"] = graph;
        out["disks"] = disks != 0 ? disks : 2;
        out.erase("nodes");
    }
    return out;
}

} // namespace handoff::cli
