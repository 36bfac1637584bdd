#include "handoff/model/tables/v9_2.hpp"
#include "handoff/model/register_version.hpp"

namespace handoff::model {

namespace {

const RegisterVersion<tables::v9_2_rows, tables::v8_1::kRunstateTransitions> registered{{
    .version = "v9.2",
    .based_on = "v8.1",
    .summary =
        "9.2.4: vm_old_state is recorded for postcopy too (migration_stop_vm()); a shut-down "
        "stream fails the completion before inactivation; migration_completion_end() "
        "overwrites a late cancel with COMPLETED; savevm refuses inactive nodes (d3007d348a).",
    .source = "the QEMU 9.2.4 release",
}};

} // namespace

} // namespace handoff::model
