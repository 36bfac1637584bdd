// Helpers for driving a table step by step by row name.
#pragma once

#include "handoff/model/interpreter.hpp"
#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace handoff::model::testing {

// A state of the instance: every capability fixed, host 0 RUNNING.
inline State initial_state(const Interpreter& interp, bool running = true) {
    for (const State& s : interp.initial_states()) {
        if (interp.get(s, Var::runstate, 0) ==
            static_cast<int>(running ? RunState::RUNNING : RunState::PAUSED)) {
            return s;
        }
    }
    ADD_FAILURE() << "no initial state with the requested run state";
    return {};
}

inline Instance fixed_instance(int nodes, bool late_block_activate = false, bool pause = false,
                               bool postcopy = false, bool autostart = true, bool locking = false) {
    Instance inst(nodes);
    inst.fixed[static_cast<int>(Var::cap_late_block_activate)] = late_block_activate;
    inst.fixed[static_cast<int>(Var::cap_pause_before_switchover)] = pause;
    inst.fixed[static_cast<int>(Var::cap_postcopy)] = postcopy;
    inst.fixed[static_cast<int>(Var::cap_autostart)] = autostart;
    inst.fixed[static_cast<int>(Var::image_locking)] = locking;
    return inst;
}

// Applies row `name` with the given parameters (others at their defaults); fails the test if the
// step is not enabled.
inline State step(const Interpreter& interp, const State& s, const std::string& name,
                  std::initializer_list<std::pair<Param, int>> params = {}) {
    Step st;
    st.row = -1;
    for (std::size_t i = 0; i < interp.table().rows.size(); ++i) {
        if (interp.table().rows[i].name == name) {
            st.row = static_cast<int>(i);
        }
    }
    EXPECT_GE(st.row, 0) << "no row " << name << " in " << interp.table().version;
    if (st.row < 0) {
        return s;
    }
    for (int p = 0; p < kParamCount; ++p) {
        st.params[static_cast<std::size_t>(p)] = interp.param_default(static_cast<Param>(p));
    }
    for (auto [p, v] : params) {
        st.params[static_cast<std::size_t>(p)] = v;
    }
    auto next = interp.apply(s, st);
    EXPECT_TRUE(next.has_value()) << name << " is not enabled here on " << interp.table().version;
    return next ? *next : s;
}

inline bool enabled(const Interpreter& interp, const State& s, const std::string& name,
                    std::initializer_list<std::pair<Param, int>> params = {}) {
    for (std::size_t i = 0; i < interp.table().rows.size(); ++i) {
        if (interp.table().rows[i].name != name) {
            continue;
        }
        Step st;
        st.row = static_cast<int>(i);
        for (int p = 0; p < kParamCount; ++p) {
            st.params[static_cast<std::size_t>(p)] = interp.param_default(static_cast<Param>(p));
        }
        for (auto [p, v] : params) {
            st.params[static_cast<std::size_t>(p)] = v;
        }
        return interp.apply(s, st).has_value();
    }
    return false;
}

inline constexpr int host0 = 0;
inline constexpr int host1 = 1;

} // namespace handoff::model::testing
