#include "handoff/model/provenance.hpp"

#include "handoff/model/printer.hpp"
#include "handoff/model/versions.hpp"

namespace handoff::model {

bool same_row(const TableData& a, const RowData& ra, const TableData& b, const RowData& rb) {
    return ra.name == rb.name && ra.sentence == rb.sentence && ra.qemu == rb.qemu &&
           ra.actor == rb.actor && ra.params == rb.params && print_row(a, ra) == print_row(b, rb);
}

RowProvenance row_provenance(const TableData& table, const RowData& row) {
    RowProvenance out{table.version, table.version, row.qemu};
    bool reread_found = false;
    // Up the derivation chain. A row may skip versions (v10.0 puts back v8.0.0's
    // start_destination, which v10.0-dev had replaced), so the walk goes on past a version
    // without it; a re-reading counts only in a version whose row is this one.
    for (const TableData* v = &table; v != nullptr;
         v = v->based_on.empty() ? nullptr : find_version(v->based_on)) {
        const RowData* same = v->find(row.name);
        if (same == nullptr || !same_row(*v, *same, table, row)) {
            continue;
        }
        out.written_for = v->version;
        if (reread_found) {
            continue;
        }
        for (const RowCitation& c : v->rereads) {
            if (c.row == row.name) {
                out.read_in = v->version;
                out.citation = c.qemu;
                reread_found = true;
            }
        }
    }
    if (!reread_found) {
        out.read_in = out.written_for;
    }
    return out;
}

} // namespace handoff::model
