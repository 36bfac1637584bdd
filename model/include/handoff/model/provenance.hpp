// Where a row of a version's table was read. A table is its parent's with rows replaced, added or
// removed, so most of a version's rows were written, and cited, for an older version; this says
// which, and whether the version re-read the row in its own source (TableData::rereads).
#pragma once

#include "handoff/model/table.hpp"

#include <string_view>

namespace handoff::model {

struct RowProvenance {
    // The oldest version on the derivation chain whose table has this row as it is (the same
    // sentence, citation, actor, parameters, guard and effect): where its text was written.
    std::string_view written_for;
    // The version whose QEMU source the citation below was read in: this version or an ancestor
    // that re-read the row (TableData::rereads), otherwise written_for.
    std::string_view read_in;
    std::string_view citation;
};

RowProvenance row_provenance(const TableData& table, const RowData& row);

// Whether two versions' rows are the same row: the same name, sentence, citation, actor,
// parameters, guard and effect (as printed, groups expanded).
bool same_row(const TableData& a, const RowData& ra, const TableData& b, const RowData& rb);

} // namespace handoff::model
