// What every command that explores or checks shares: the finite instance (nodes, management
// budgets, fixed capabilities) and the lookup of versions and invariants by name, each failing
// with a one-line UsageError that names the valid choices.
#pragma once

#include "commands.hpp"

#include "handoff/model/interpreter.hpp"
#include "handoff/model/invariants.hpp"
#include "handoff/model/table.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace handoff::cli {

const model::TableData& require_version(const std::string& name);
const model::InvariantData& require_invariant(const std::string& name);
// A graph shape by its --graph name, or the one-line error that names the shapes.
model::GraphShape require_graph_shape(const std::string& name);

struct InstanceOptions {
    int nodes = 2; // --nodes: block nodes per host on the flat graph (a node per disk)
    int disks = 0; // --disks: disks per host on any graph (0: not given)
    std::string graph = "flat";
    CLI::Option* nodes_option = nullptr;
    int starts = 1;
    int set_active_calls = 1;
    std::string env = "documented";
    std::vector<std::string> caps;

    void add_to(CLI::App* cmd);
    model::Instance instance() const; // throws UsageError on a bad value
    std::string describe() const;
    nlohmann::json json() const;
};

} // namespace handoff::cli
