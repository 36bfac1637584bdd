#include "handoff/model/tables/v8_1.hpp"

namespace handoff::model {

const TableData& table_v8_1() {
    static const TableData table = [] {
        TableData t = to_table_data(
            "v8.1", "v8.0.0",
            "The 2023 fix (403d18ae, 5d39f44d, 6dab4c93): s->block_inactive is set before the "
            "inactivation attempt and one `fail:` label re-activates the disks; s->vm_old_state "
            "replaces s->vm_was_running and a failed migration restores it (f4584076, a4c6275a).",
            tables::v8_1_rows, tables::v8_1::kRunstateTransitions);
        t.source = "the QEMU 8.1.0 release";
        return t;
    }();
    return table;
}

} // namespace handoff::model
