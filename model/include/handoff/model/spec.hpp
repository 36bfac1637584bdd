// The specification a person reads: one Markdown page per version (docs/spec/), a Graphviz picture
// of the migration-status and run-state machine, and the difference between two versions as rows.
#pragma once

#include "handoff/model/table.hpp"

#include <set>
#include <string>

namespace handoff::model {

std::string render_spec_markdown(const TableData& table);
std::string render_spec_dot(const TableData& table);
std::string render_diff(const TableData& from, const TableData& to);

// The variables expression `expr` reads (added to `out`).
void collect_vars(const Ast& ast, int expr, std::set<Var>& out);
// The variables this version's rows read (a variable only ever reset to a constant, such as
// vm_old_state in 8.0 by process_exits(), plays no part in the version), plus the crash.
std::set<Var> used_vars(const TableData& t);

// The file name of a version's page and picture ("v8.1" -> "v8_1").
std::string spec_file_stem(std::string_view version);

} // namespace handoff::model
