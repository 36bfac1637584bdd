// Must not compile: a row whose QEMU citation is empty.
#include "handoff/model/tables/v8_0_0.hpp"

namespace handoff::model::tables {
inline constexpr auto uncited = row<"uncited_storage_flap">(
    Actor::fault, with_params<>{}, "The storage flaps.", "", storage_ok,
    effect(set(storage_ok, false)));
inline constexpr auto bad = add_rows(v8_0_0_rows, uncited);
static_assert(validate_table<bad>());
} // namespace handoff::model::tables
