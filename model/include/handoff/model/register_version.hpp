// Registering a version: one object in the version's own file, next to its rows.
//
//   namespace {
//   const RegisterVersion<tables::v8_1_rows, tables::v8_1::kRunstateTransitions> v8_1{{
//       .version = "v8.1",
//       .based_on = "v8.0.0",
//       .summary = "The 2023 fix (403d18ae, 5d39f44d, 6dab4c93): ...",
//       .source = "the QEMU 8.1.0 release",
//   }};
//   } // namespace
//
// The rows stay compile-time (Boost.Hana, row.hpp) and are checked there (validate_table); the
// table is turned into runtime data once, at the first all_versions() call. Kept out of
// versions.hpp so that the readers of the tables do not compile Hana.
#pragma once

#include "handoff/model/row.hpp"
#include "handoff/model/versions.hpp"

namespace handoff::model {

template <const auto& Rows, const auto& RunstateTransitions>
class RegisterVersion : VersionRegistrar {
    static_assert(validate_table<Rows>());

  public:
    explicit RegisterVersion(const VersionInfo& info) noexcept
        : VersionRegistrar(info, [](const VersionInfo& i) {
              return to_table_data(i, Rows, RunstateTransitions);
          }) {}
};

} // namespace handoff::model
