// Must not compile: two rows named "qmp_stop".
#include "handoff/model/tables/v8_0_0.hpp"

namespace handoff::model::tables {
inline constexpr auto bad = add_rows(v8_0_0_rows, qmp_stop);
static_assert(validate_table<bad>());
} // namespace handoff::model::tables
