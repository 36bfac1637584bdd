#include "handoff/model/tables/v8_0_0.hpp"
#include "handoff/model/register_version.hpp"

namespace handoff::model {

namespace {

const RegisterVersion<tables::v8_0_0_rows, tables::kRunstateTransitions_v8_0_0> registered{{
    .version = "v8.0.0",
    .based_on = "",
    .summary = "The code of the seed thread: s->block_inactive is set only "
               "after a successful inactivation, and a failed inactivation "
               "takes the `fail` label, which does not re-activate the disks.",
    .source = "migration/migration.c blob bda47891 (v8.0.0, byte-exact: the pre-image of Eric "
              "Blake's v2 patch); block.c, savevm.c, qmp-cmds.c, cpus.c from 8.0.5",
}};

} // namespace

} // namespace handoff::model
