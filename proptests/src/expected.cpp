#include "handoff/proptests/expected.hpp"

#include "handoff/model/explore.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proptests/property.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>

namespace handoff::proptests {

namespace m = handoff::model;

const ExpectedVerdicts& expected_verdicts(const std::string& version) {
    static std::map<std::string, ExpectedVerdicts> cache;
    static std::mutex mutex;
    const std::lock_guard lock(mutex);
    if (auto it = cache.find(version); it != cache.end()) {
        return it->second;
    }
    const m::TableData* table = m::find_version(version);
    std::vector<const m::InvariantData*> invariants;
    for (const auto& inv : m::all_invariants()) {
        if (inv.applies_to(version) && inv.kind == m::InvariantKind::StatePredicate) {
            invariants.push_back(&inv);
        }
    }
    std::map<const m::InvariantData*, bool> violated;
    std::size_t states = 0;
    bool complete = true;
    for (const m::Var off : {m::Var::cap_postcopy, m::Var::cap_pause_before_switchover}) {
        m::Instance instance = test_instance();
        instance.fixed[static_cast<int>(off)] = 0;
        const m::Interpreter interp(*table, instance);
        m::ExploreLimits limits;
        limits.max_states = 100'000; // a CI budget: violations are shallow, BFS finds them first
        const m::Exploration e = m::explore(interp, invariants, limits);
        states += e.states;
        complete = complete && e.complete;
        for (const auto& v : e.verdicts) {
            violated[v.invariant] = violated[v.invariant] || v.violated;
        }
    }
    ExpectedVerdicts out;
    for (const auto* inv : invariants) {
        (violated[inv] ? out.violated : out.holding).push_back(inv);
    }
    out.source = fmt::format(
        "model explorer (BFS), 2 nodes, 1 start, no image locking, {} states, {}", states,
        complete ? "complete"
                 : "stopped at 100000 states per run: 'holding' means no violation "
                   "within that bound");
    return cache.emplace(version, std::move(out)).first->second;
}

} // namespace handoff::proptests
