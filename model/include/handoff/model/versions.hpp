// The QEMU versions the model knows, each a table derived from the one before it.
#pragma once

#include "handoff/model/table.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace handoff::model {

const std::vector<const TableData*>& all_versions();
const TableData* find_version(std::string_view name);
std::string version_names(); // "v8.0.0, v8.1, ..." for error messages

} // namespace handoff::model
