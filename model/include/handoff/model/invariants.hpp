// The invariants: named statements over the model's states, each with where it comes from and
// the versions it applies to. Names are stable: users' scripts pass them on the command line and
// read them in JSON.
#pragma once

#include "handoff/model/ast.hpp"
#include "handoff/model/table.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace handoff::model {

enum class InvariantKind : std::uint8_t {
    StatePredicate, // `expr` holds in every reachable state
    Recoverability, // from every reachable state, a recovery is possible (a graph property)
};

// Where an invariant applies, read off the table itself, so that a new version needs no list: an
// invariant about a field of QEMU applies where the rows read that field, one about an assertion
// where the rows have it.
struct AppliesWhere {
    enum class Rule : std::uint8_t {
        every_version,
        rows_read,   // some guard or effect reads `var`
        rows_assert, // some assertion crashes with `reason`
    };
    Rule rule = Rule::every_version;
    Var var{};
    Crash reason = Crash::NONE;

    bool holds_for(const TableData& table) const;
    std::string describe() const; // "where some row reads block_inactive"
};

struct InvariantData {
    std::string_view name;
    std::string_view statement; // in English
    std::string_view source;    // the commit message or mail that states it
    InvariantKind kind = InvariantKind::StatePredicate;
    int expr = -1; // in invariants_ast(); for Recoverability: the "recovered" predicate
    AppliesWhere applies_where;
    std::string_view note; // what the abstraction does to it, if anything

    bool applies_to(const TableData& table) const { return applies_where.holds_for(table); }
    // False for a version that is not registered.
    bool applies_to(std::string_view version) const;
    // The registered versions it applies to, in all_versions()'s order.
    std::vector<std::string_view> versions() const;
};

const std::vector<InvariantData>& all_invariants();
const Ast& invariants_ast();
const InvariantData* find_invariant(std::string_view name);

} // namespace handoff::model
