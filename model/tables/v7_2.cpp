#include "handoff/model/tables/v7_2.hpp"
#include "handoff/model/register_version.hpp"

namespace handoff::model {

namespace {

// runstate_transitions_def[] of 7.2 (softmmu/runstate.c) is 8.0.0's among the modelled run states:
// FINISH_MIGRATE -> SHUTDOWN came with a4c6275a in 8.1.
const RegisterVersion<tables::v7_2_rows, tables::kRunstateTransitions_v8_0_0> registered{{
    .version = "v7.2",
    .based_on = "v8.0.0",
    .summary =
        "Debian 12's QEMU 7.2.22: the 2023 fix as backported to 7.2.3 (cb898262a4 = 403d18ae, "
        "d2a811dd7d = 5d39f44d, c0ad2a9191 = 6dab4c93): s->block_inactive is set before the "
        "inactivation attempt and one `fail:` label re-activates the disks; s->vm_was_running "
        "stays (no vm_old_state), so a paused VM whose migration fails ends in POSTMIGRATE. "
        "7.2.9's backport of d3007d348a makes savevm refuse inactive nodes.",
    .source = "Debian 12's qemu-system-x86 1:7.2+dfsg-7+deb12u18 (upstream 7.2.22): read as "
              "v8.0.0's code with the stable-7.2.3 and 7.2.9 backports its changelog lists",
}};

} // namespace

} // namespace handoff::model
