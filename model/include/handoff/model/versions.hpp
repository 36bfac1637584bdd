// The QEMU versions the model knows. Each version's file (model/tables/*.cpp, or a file of your
// own: docs/howto-patch.md) builds its table and registers it with one RegisterVersion object
// (register_version.hpp); listing that file in model/CMakeLists.txt is the only other step.
//
// Registration happens while the program's static objects are constructed, in no particular order
// across files, so the list is read only through all_versions(): it is sorted then (see below) and
// frozen at the first call. Two pitfalls are closed here rather than left to each file:
// * the registry is a function-local static, so a registrar may run before any other static of
//   this library is constructed;
// * a registrar that runs after the list was frozen (a static initialiser that read the versions)
//   aborts with its version's name instead of silently missing from the list.
// The other pitfall, a static library dropping a table's object file because nothing refers to
// it, is the build's: model/CMakeLists.txt links the tables with WHOLE_ARCHIVE.
#pragma once

#include "handoff/model/table.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace handoff::model {

// The versions in QEMU's release order: by the numbers after the `v` (v8.0.0 < v8.1 < v10.0), a
// pre-release suffix (`-dev`) before the release, any other suffix (`+mine`) after it; names that
// are not a version number (`mine`) come last, by name. Throws std::logic_error when two tables
// have the same name or a table is derived from a version that is not registered.
const std::vector<const TableData*>& all_versions();
const TableData* find_version(std::string_view name);
std::string version_names(); // "v8.0.0, v8.1, ..." for error messages

// Whether version a comes before version b in all_versions()'s order.
bool version_before(std::string_view a, std::string_view b);

// Adds a version to the registry (use RegisterVersion in register_version.hpp). `build` runs once,
// at the first all_versions() call, with `info`.
class VersionRegistrar {
  public:
    using Builder = TableData (*)(const VersionInfo& info);
    VersionRegistrar(const VersionInfo& info, Builder build) noexcept;
};

} // namespace handoff::model
