// The disk-state layer of a version's picture: which rows move a node between ACTIVE, INACTIVE,
// HALF_INACTIVE and BROKEN, derived from the rows' guards and effects.
#pragma once

#include "handoff/model/table.hpp"

#include <string_view>
#include <vector>

namespace handoff::model {

struct NodeStateChange {
    NodeState from;
    NodeState to;
    std::string_view row;
    std::string_view via; // the named group whose statement writes the node, or "" (the row's own)
};

// Every (from, to, row) with from != to that some step of the row can make to some node, at
// N = 2 nodes, from the combinations of the variables a node's change depends on (the nodes of
// both hosts, alive, storage_ok, image_locking) that the rows can reach from the initial
// states. Every other variable is taken to have any value, so the answer may include a change
// no reachable state allows, never leave one out. Sorted by from, to, then table order.
std::vector<NodeStateChange> node_state_changes(const TableData& table);

} // namespace handoff::model
