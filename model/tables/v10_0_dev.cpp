#include "handoff/model/tables/v10_0_dev.hpp"
#include "handoff/model/register_version.hpp"

namespace handoff::model {

namespace {

const RegisterVersion<tables::v10_0_dev_rows, tables::v8_1::kRunstateTransitions> registered{{
    .version = "v10.0-dev",
    .based_on = "v9.2",
    .summary = "Peter Xu's disk activation rewrite (e4e5e89b, fca9aef1, 61f2b489, "
               "8c97c5a4, 8597af76): a process-wide migration_block_active flag "
               "short-circuits activation and inactivation; s->block_inactive and every "
               "re-activation but migration_iteration_finish()'s are gone; `cont` no "
               "longer activates in INMIGRATE; the destination always activates late.",
    .source = "the patch texts of Peter Xu's series (migration-20250110), before Kevin Wolf's",
}};

} // namespace

} // namespace handoff::model
