#include "handoff/model/versions.hpp"

namespace handoff::model {

// Each table is built in its own translation unit (tables/*.cpp) to keep compile times apart.
const TableData& table_v7_2();
const TableData& table_v8_0_0();
const TableData& table_v8_1();
const TableData& table_v9_2();
const TableData& table_v10_0_dev();
const TableData& table_v10_0();
const TableData& table_v10_2();

const std::vector<const TableData*>& all_versions() {
    // v7.2 first: the oldest code (Debian 12's QEMU), although its table is derived from v8.0.0's.
    static const std::vector<const TableData*> versions{
        &table_v7_2(),      &table_v8_0_0(), &table_v8_1(), &table_v9_2(),
        &table_v10_0_dev(), &table_v10_0(),  &table_v10_2()};
    return versions;
}

const TableData* find_version(std::string_view name) {
    for (const TableData* t : all_versions()) {
        if (t->version == name) {
            return t;
        }
    }
    return nullptr;
}

std::string version_names() {
    std::string out;
    for (const TableData* t : all_versions()) {
        out += (out.empty() ? "" : ", ") + std::string(t->version);
    }
    return out;
}

} // namespace handoff::model
