#include "handoff/proptests/coverage.hpp"

#include "handoff/model/versions.hpp"
#include "handoff/proptests/property.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <unordered_set>
#include <vector>

namespace handoff::proptests {

namespace m = handoff::model;

namespace {

// The full graph has millions of states (1.5 M for v8.0.0 with one node): too many for a CI
// test. So a bounded breadth-first search (shallow rows) plus random walks (deep rows) show rows
// reachable; a row neither finds is listed as not shown reachable, not required.
constexpr std::size_t kMaxStates = 60'000;
constexpr int kWalks = 3000;
constexpr int kWalkLength = 60;

// Breadth-first until every row of the table fired (then the rest of the graph cannot add a
// row) or the graph is exhausted.
void explore_rows(const m::Interpreter& interp, ReachableRows& out, std::vector<bool>& fired) {
    std::size_t unfired = static_cast<std::size_t>(std::count(fired.begin(), fired.end(), false));
    std::unordered_set<m::State> seen;
    std::deque<m::State> queue;
    for (const auto& s : interp.initial_states()) {
        if (seen.insert(s).second) {
            queue.push_back(s);
        }
    }
    bool complete = true;
    while (!queue.empty() && unfired > 0) {
        const m::State s = std::move(queue.front());
        queue.pop_front();
        interp.successors(s, [&](const m::Step& step, const m::State& next) {
            if (!fired[static_cast<std::size_t>(step.row)]) {
                fired[static_cast<std::size_t>(step.row)] = true;
                --unfired;
            }
            if (seen.size() >= kMaxStates) {
                complete = false;
                return;
            }
            if (seen.insert(next).second) {
                queue.push_back(next);
            }
        });
    }
    out.states += seen.size();
    out.complete = out.complete && (complete || unfired == 0);
    // Random walks from the initial states: every enabled step equally likely.
    const auto initial = interp.initial_states();
    std::mt19937_64 rng(20250101);
    std::vector<std::pair<int, m::State>> next;
    for (int w = 0; w < kWalks && unfired > 0; ++w) {
        m::State s = initial[rng() % initial.size()];
        for (int i = 0; i < kWalkLength; ++i) {
            next.clear();
            interp.successors(
                s, [&](const m::Step& step, const m::State& n) { next.emplace_back(step.row, n); });
            if (next.empty()) {
                break;
            }
            auto& [row, n] = next[rng() % next.size()];
            if (!fired[static_cast<std::size_t>(row)]) {
                fired[static_cast<std::size_t>(row)] = true;
                --unfired;
            }
            s = std::move(n);
            ++out.walk_steps;
        }
    }
}

} // namespace

const ReachableRows& reachable_rows(const std::string& version) {
    static std::map<std::string, ReachableRows> cache;
    static std::mutex mutex;
    const std::lock_guard lock(mutex);
    if (auto it = cache.find(version); it != cache.end()) {
        return it->second;
    }
    const m::TableData* table = m::find_version(version);
    if (!table) {
        throw std::invalid_argument("no model version " + version);
    }
    ReachableRows out;
    out.complete = true;
    std::vector<bool> fired(table->rows.size(), false);
    for (const m::Var off : {m::Var::cap_postcopy, m::Var::cap_pause_before_switchover}) {
        m::Instance instance = test_instance();
        instance.fixed[static_cast<int>(off)] = 0;
        explore_rows(m::Interpreter(*table, instance), out, fired);
    }
    for (std::size_t r = 0; r < fired.size(); ++r) {
        (fired[r] ? out.rows : out.never).insert(std::string(table->rows[r].name));
    }
    return cache.emplace(version, std::move(out)).first->second;
}

} // namespace handoff::proptests
