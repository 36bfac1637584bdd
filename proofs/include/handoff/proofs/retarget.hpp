// "Does the fix close it?": a trace of one version replayed on another (`handoff replay
// --on-version V TRACE`). Each step is mapped by meaning and applied to the other version's
// interpreter, and the replay says, step by step, whether the story takes the same course there,
// another course, or is refused, and whether it still reaches the violation.
//
// The mapping:
// - the initial state: the other version's initial state that agrees with the trace's on every
//   variable the other version uses (capabilities and environment carry over; variables the
//   other version does not use keep its initial value);
// - rows by name, through the rows a derived version replaced by a row of another name
//   (row_renames(), checked against the tables by proofs_tests) along the derivation from one
//   version to the other (up to their common ancestor, then down);
// - parameters by name, which is their meaning in every version (vocabulary.hpp: h, fail, half,
//   broken, flush_fails, target, refail). A parameter the original row lacks takes the value that
//   means "nothing else fails" (none, no); if that outcome is impossible in the state reached
//   while another value is possible, the step goes on with the least possible value (the order
//   of the checker's canonical traces) and says so. A parameter the other row lacks is dropped.
// - states are compared on the variables both versions use.
#pragma once

#include "handoff/model/explore.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::proofs {

// A row that a derived version replaced by a row of another name (replace_row<"from">(..., to)):
// the same step of QEMU's code, so a step of `from` on the base version is a step of `to` there.
struct RowRename {
    std::string_view version; // the derived version
    std::string_view from;    // the row of the version it is based on
    std::string_view to;      // the row that replaced it
    std::string_view why;
};
// A row that a derived version removed (remove_row), with the reason.
struct RowRemoval {
    std::string_view version;
    std::string_view row;
    std::string_view why;
};
std::span<const RowRename> row_renames();
std::span<const RowRemoval> row_removals();

// The versions from `from` to `to` along the derivation (based_on): up to the common ancestor,
// then down; both ends included.
std::vector<const model::TableData*> derivation_path(const model::TableData& from,
                                                     const model::TableData& to);

// A row of one version looked up on another.
struct RowLookup {
    const model::RowData* row = nullptr; // the row on the target version, or none
    std::vector<std::string> renames;    // "renamed to X in v8.1 (why)", along the derivation
    std::string missing;                 // why the target has no such row (row == nullptr)
};
RowLookup find_row_on(const model::TableData& from, std::string_view row,
                      const model::TableData& to);

// The variables a version uses: the ones its rows read and the ones its invariants read.
std::vector<model::Var> version_vars(const model::TableData& table);

enum class Course : std::uint8_t {
    same,        // enabled, and the changed variables agree with the original's
    another,     // enabled, but a changed variable differs from the original's
    refused,     // not enabled on the other version: the story stops here
    not_replayed // after a refusal
};

struct VarDifference {
    std::string variable; // "block_inactive[0]"
    std::string original; // its value in the original story
    std::string now;      // its value on the other version
};

struct RetargetStep {
    model::Step original;                // the step of the original trace
    const model::RowData* row = nullptr; // its row on the other version (none: refused)
    model::Step step;                    // the step applied to the other version
    std::vector<std::string> notes;      // renames, dropped and defaulted parameters
    Course course = Course::not_replayed;
    std::vector<VarDifference> differences; // changed variables that differ from the original's
    std::vector<VarDifference> persisting;  // differences left by earlier steps
    std::string forced;                   // a defaulted parameter's `none`/`no` was impossible: why
    std::string refused;                  // why the step is refused (one line)
    std::vector<std::string> false_parts; // the false guard conjuncts or assumption parts
    std::vector<std::string> alternatives; // refused: the parameter values it is enabled with
    bool violates = false;                 // the other version's state after the step violates it
};

struct Retarget {
    const model::TableData* from = nullptr;
    const model::TableData* to = nullptr;
    const model::InvariantData* invariant = nullptr; // a state invariant, or null
    std::string no_initial; // why no initial state of `to` matches (then nothing is replayed)
    std::vector<VarDifference> initial_differences; // shared variables (none when matched)
    std::vector<RetargetStep> steps;
    model::Trace replayed;   // the prefix replayed on `to` (its steps, up to a refusal)
    int first_departure = 0; // the first step refused or taking another course (1-based)
    int stopped_at = 0;      // the refused step
    int reaches_at = 0;      // the first step whose state on `to` violates the invariant
    bool initial_violates = false;
};

// Replays `trace` (a trace of `original`'s version and instance) on `to`, with the same instance.
// `invariant` may be null or a graph property: then no step is said to violate it.
Retarget retarget(const model::Interpreter& original, const model::Trace& trace,
                  const model::InvariantData* invariant, const model::TableData& to);

} // namespace handoff::proofs
