#include "handoff/model/tables/v8_1.hpp"
#include "handoff/model/register_version.hpp"

namespace handoff::model {

namespace {

const RegisterVersion<tables::v8_1_rows, tables::v8_1::kRunstateTransitions> registered{{
    .version = "v8.1",
    .based_on = "v8.0.0",
    .summary =
        "The 2023 fix (403d18ae, 5d39f44d, 6dab4c93): s->block_inactive is set before the "
        "inactivation attempt and one `fail:` label re-activates the disks; s->vm_old_state "
        "replaces s->vm_was_running and a failed migration restores it (f4584076, a4c6275a).",
    .source = "the QEMU 8.1.0 release",
}};

} // namespace

} // namespace handoff::model
