#include "handoff/model/tables/v9_2.hpp"

namespace handoff::model {

const TableData& table_v9_2() {
    static const TableData table = [] {
        TableData t = to_table_data(
            "v9.2", "v8.1",
            "9.2.4: vm_old_state is recorded for postcopy too (migration_stop_vm()); a shut-down "
            "stream fails the completion before inactivation; migration_completion_end() "
            "overwrites a late cancel with COMPLETED; savevm refuses inactive nodes (d3007d348a).",
            tables::v9_2_rows, tables::v8_1::kRunstateTransitions);
        t.source = "the QEMU 9.2.4 release";
        return t;
    }();
    return table;
}

} // namespace handoff::model
