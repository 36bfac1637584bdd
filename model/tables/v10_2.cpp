#include "handoff/model/tables/v10_2.hpp"

namespace handoff::model {

const TableData& table_v10_2() {
    static const TableData table = [] {
        TableData t = to_table_data(
            "v10.2", "v10.0",
            "QEMU 10.0.2 plus what 10.1 and 10.2 changed on this path: 26f65c01 \"Do not try to "
            "start VM if disk activation fails\" (the source stays in FINISH_MIGRATE) and "
            "725a9e5f78 (a failed postcopy_start() moves the state to FAILED).",
            tables::v10_2_rows, tables::v8_1::kRunstateTransitions);
        t.source = "the QEMU 10.2.0 release";
        return t;
    }();
    return table;
}

} // namespace handoff::model
