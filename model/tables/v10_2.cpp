#include "handoff/model/tables/v10_2.hpp"
#include "handoff/model/register_version.hpp"

namespace handoff::model {

namespace {

const RegisterVersion<tables::v10_2_rows, tables::v8_1::kRunstateTransitions> registered{{
    .version = "v10.2",
    .based_on = "v10.0",
    .summary = "QEMU 10.0.2 plus what 10.1 and 10.2 changed on this path: 26f65c01 \"Do not try to "
               "start VM if disk activation fails\" (the source stays in FINISH_MIGRATE) and "
               "725a9e5f78 (a failed postcopy_start() moves the state to FAILED).",
    .source = "the QEMU 10.2.0 release",
}};

} // namespace

} // namespace handoff::model
