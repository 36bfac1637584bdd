#include "handoff/model/tables/v10_0.hpp"
#include "handoff/model/register_version.hpp"

namespace handoff::model {

namespace {

const RegisterVersion<tables::v10_0_rows, tables::v8_1::kRunstateTransitions> registered{{
    .version = "v10.0",
    .based_on = "v10.0-dev",
    .summary = "QEMU 10.0.2 as Debian ships it (bookworm-backports), read from its source: Kevin "
               "Wolf's \"Managing inactive nodes\" (c2a189976e removes the flag; inactivating an "
               "inactive top-level node is allowed; blockdev-set-active), the switchover "
               "restructuring (DEVICE always, inactivation in migration_switchover_start()), "
               "`migrate_cancel` refused in postcopy; a failed postcopy_start() leaves the state "
               "ACTIVE or DEVICE (fixed by 725a9e5f78 in 10.0.5), and migration_iteration_finish() "
               "starts the VM whatever its activation did (26f65c01 came with 10.2).",
    .source = "qemu_10.0.2+ds.orig.tar.xz, the upstream source of Debian's bookworm-backports "
              "1:10.0.2+ds-2+deb13u1~bpo12+1 (Debian's own patches not read)",
    .rereads = tables::v10_0::rereads,
}};

} // namespace

} // namespace handoff::model
