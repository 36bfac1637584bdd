#include "handoff/model/tables/v10_2.hpp"

namespace handoff::model {

const TableData& table_v10_2() {
    static const TableData table = to_table_data(
        "v10.2", "v10.0-dev",
        "Kevin Wolf's \"Managing inactive nodes\" (c2a189976e removes the flag; inactivating an "
        "inactive top-level node is allowed; blockdev-set-active), the switchover restructuring "
        "(DEVICE always, inactivation in migration_switchover_start()), and \"Do not try to start "
        "VM if disk activation fails\".",
        tables::v10_2_rows, tables::v8_1::kRunstateTransitions);
    return table;
}

} // namespace handoff::model
