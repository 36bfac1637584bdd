#include "handoff/model/table.hpp"

namespace handoff::model {

namespace {

void record_reads(const Ast& ast, int expr, std::bitset<kVarCount>& reads) {
    if (expr < 0) {
        return;
    }
    const AstNode& e = ast[expr];
    if (e.op == Op::Var) {
        reads.set(static_cast<std::size_t>(e.a));
    }
    for (int k : e.kid) {
        record_reads(ast, k, reads);
    }
}

} // namespace

void record_what_rows_use(TableData& table) {
    table.reads.reset();
    table.asserts.reset();
    for (const RowData& r : table.rows) {
        record_reads(table.ast, r.guard, table.reads);
        for (const Stmt& st : r.effect.stmts) {
            record_reads(table.ast, st.value, table.reads);
            record_reads(table.ast, st.host, table.reads);
            if (st.kind == StmtKind::Assert) {
                table.asserts.set(static_cast<std::size_t>(st.reason));
            }
        }
    }
}

} // namespace handoff::model
