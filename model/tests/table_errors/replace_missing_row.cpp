// Must not compile: replacing a row the table does not have.
#include "handoff/model/tables/v8_0_0.hpp"

namespace handoff::model::tables {
inline constexpr auto bad = replace_row<"qmp_migrate_recover">(v8_0_0_rows, qmp_stop);
} // namespace handoff::model::tables
