// Must compile: the same machinery on a valid table, so that the failing cases fail for their
// reason and not because the harness is broken.
#include "handoff/model/tables/v8_0_0.hpp"

namespace handoff::model::tables {
inline constexpr auto good = replace_row<"qmp_stop">(v8_0_0_rows, qmp_stop);
static_assert(validate_table<good>());
} // namespace handoff::model::tables
