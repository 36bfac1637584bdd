// The invariants: named statements over the model's states, each with where it comes from and
// the versions it applies to. Names are stable: users' scripts pass them on the command line and
// read them in JSON.
#pragma once

#include "handoff/model/ast.hpp"

#include <string_view>
#include <vector>

namespace handoff::model {

enum class InvariantKind : std::uint8_t {
    StatePredicate, // `expr` holds in every reachable state
    Recoverability, // from every reachable state, a recovery is possible (a graph property)
};

struct InvariantData {
    std::string_view name;
    std::string_view statement; // in English
    std::string_view source;    // the commit message or mail that states it
    InvariantKind kind = InvariantKind::StatePredicate;
    int expr = -1; // in invariants_ast(); for Recoverability: the "recovered" predicate
    std::vector<std::string_view> versions; // the versions it applies to
    std::string_view note;                  // what the abstraction does to it, if anything

    bool applies_to(std::string_view version) const {
        for (auto v : versions) {
            if (v == version) {
                return true;
            }
        }
        return false;
    }
};

const std::vector<InvariantData>& all_invariants();
const Ast& invariants_ast();
const InvariantData* find_invariant(std::string_view name);

} // namespace handoff::model
