// The textual reading of a table: expressions and effects printed for people (the specification,
// traces, diffs).
#pragma once

#include "handoff/model/table.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace handoff::model {

std::string print_expr(const Ast& ast, int expr);

// A row's effect, one statement per line, named groups printed as calls; `group` prints the body
// of that group instead (for the definitions section).
std::vector<std::string> print_effect(const Ast& ast, const Effect& effect, int group = -1);

// Every statement, groups expanded (each introduced by a `# name(args)` line), so that a change
// inside a shared group shows up in a diff.
std::vector<std::string> print_effect_expanded(const Ast& ast, const Effect& effect);

// The full text of a row (guard and expanded effect), used to compare two versions' rows.
std::string print_row(const TableData& table, const RowData& row);

std::string value_name(DomainId domain, int value);

// `text` wrapped at `width` columns: the first line starts with `first`, the others with
// `indent`; every line ends with a newline.
std::string wrap_text(std::string_view text, std::size_t width, std::string_view first,
                      std::string_view indent);

} // namespace handoff::model
