// Must not compile: an effect that writes runstate[h] twice on one path.
#include "handoff/model/tables/v8_0_0.hpp"

namespace handoff::model::tables {
inline constexpr auto twice = row<"stop_and_start">(
    Actor::qmp, with_params<P::host>{}, "Stops, then starts.", "qmp_stop(), qmp_cont()",
    alive(h), effect(runstate_set(h, RS::PAUSED), vm_start(h)));
inline constexpr auto bad = add_rows(v8_0_0_rows, twice);
static_assert(validate_table<bad>());
} // namespace handoff::model::tables
