#include "handoff/model/tables/v8_0_0.hpp"

namespace handoff::model {

const TableData& table_v8_0_0() {
    static const TableData table = [] {
        TableData t = to_table_data("v8.0.0", "",
                                    "The code of the seed thread: s->block_inactive is set only "
                                    "after a successful inactivation, and a failed inactivation "
                                    "takes the `fail` label, which does not re-activate the disks.",
                                    tables::v8_0_0_rows, tables::kRunstateTransitions_v8_0_0);
        t.source = "migration/migration.c blob bda47891 (v8.0.0, byte-exact: the pre-image of Eric "
                   "Blake's v2 patch); block.c, savevm.c, qmp-cmds.c, cpus.c from 8.0.5";
        return t;
    }();
    return table;
}

} // namespace handoff::model
