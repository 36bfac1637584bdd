// A trace of one version replayed on another: the row renames agree with the tables, rows are
// found across the derivation, and the replay says where a version leaves the story.
#include "handoff/proofs/retarget.hpp"

#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace handoff::proofs {
namespace {

using namespace handoff::model;

const TableData& version(std::string_view name) {
    const TableData* t = find_version(name);
    EXPECT_NE(t, nullptr) << name;
    return *t;
}

std::ptrdiff_t index_of(const TableData& t, std::string_view row) {
    const auto it =
        std::find_if(t.rows.begin(), t.rows.end(), [&](const RowData& r) { return r.name == row; });
    return it == t.rows.end() ? -1 : it - t.rows.begin();
}

// Every row that disappears from a derived table is renamed or removed in the lists, and a
// renamed row takes the replaced row's place (replace_row keeps it), so no rename is guessed.
TEST(Retarget, RenamesAndRemovalsMatchTheTables) {
    for (const TableData* derived : all_versions()) {
        if (derived->based_on.empty()) {
            continue;
        }
        const TableData& base = version(derived->based_on);
        std::set<std::string_view> vanished, listed;
        for (const RowData& r : base.rows) {
            if (derived->find(r.name) == nullptr) {
                vanished.insert(r.name);
            }
        }
        std::set<std::string_view> removed;
        for (const RowRemoval& r : row_removals()) {
            if (r.version == derived->version) {
                listed.insert(r.row);
                removed.insert(r.row);
                EXPECT_NE(base.find(r.row), nullptr) << r.row;
            }
        }
        for (const RowRename& r : row_renames()) {
            if (r.version != derived->version) {
                continue;
            }
            listed.insert(r.from);
            EXPECT_EQ(base.find(r.to), nullptr) << r.to << " is already a row of " << base.version;
            ASSERT_NE(derived->find(r.to), nullptr) << r.to << " in " << derived->version;
            std::ptrdiff_t place = index_of(base, r.from);
            for (std::string_view gone : removed) {
                place -= index_of(base, gone) < index_of(base, r.from) ? 1 : 0;
            }
            EXPECT_EQ(index_of(*derived, r.to), place)
                << r.to << " does not take the place of " << r.from << " in " << derived->version;
        }
        EXPECT_EQ(vanished, listed) << derived->version;
    }
    for (const RowRename& r : row_renames()) {
        EXPECT_NE(find_version(r.version), nullptr) << r.version;
    }
}

TEST(Retarget, DerivationPath) {
    std::vector<std::string_view> names;
    for (const TableData* t : derivation_path(version("v7.2"), version("v10.2"))) {
        names.push_back(t->version);
    }
    EXPECT_EQ(names, (std::vector<std::string_view>{"v7.2", "v8.0.0", "v8.1", "v9.2", "v10.0-dev",
                                                    "v10.0", "v10.2"}));
    EXPECT_EQ(derivation_path(version("v8.1"), version("v8.1")).size(), 1U);
}

TEST(Retarget, FindsRowsAcrossTheDerivation) {
    auto found = [](std::string_view from, std::string_view row, std::string_view to) {
        const RowLookup l = find_row_on(version(from), row, version(to));
        return l.row != nullptr ? std::string(l.row->name) : "missing: " + l.missing;
    };
    EXPECT_EQ(found("v8.0.0", "migration_completion_fail_invalidate", "v10.2"),
              "migration_completion_checks_fail");
    // Up to v8.0.0 (where it was fail_invalidate), then down to v7.2's own rename.
    EXPECT_EQ(find_row_on(version("v10.2"), "migration_completion_checks_fail", version("v7.2"))
                  .renames.size(),
              2U);
    EXPECT_EQ(found("v9.2", "migration_completion_checks_pass", "v8.0.0"),
              "migration_completion_done");
    EXPECT_EQ(found("v10.0", "migration_switchover_interrupted", "v8.1"),
              "migration_completion_cancelled_before_pause");
    EXPECT_EQ(found("v8.0.0", "qmp_cont", "v10.2"), "qmp_cont");
    EXPECT_NE(found("v9.2", "postcopy_start_send_fails", "v10.0").find("removed in v10.0-dev"),
              std::string::npos);
    EXPECT_NE(found("v10.0", "blockdev_set_inactive_all", "v8.1").find("added in v10.0"),
              std::string::npos);
    // 9.2 added migration_completion_end; 8.1 never had it.
    EXPECT_NE(found("v9.2", "migration_completion_end", "v8.1").find("added in v9.2"),
              std::string::npos);
}

// A trace built by applying (row, parameters) steps from the initial state with host 0 RUNNING.
Trace build(const Interpreter& interp,
            const std::vector<std::pair<std::string_view, std::map<Param, int>>>& steps) {
    Trace t;
    for (const State& s : interp.initial_states()) {
        if (interp.get(s, Var::runstate, 0) == static_cast<int>(RunState::RUNNING)) {
            t.initial = s;
            break;
        }
    }
    State now = t.initial;
    for (const auto& [name, values] : steps) {
        Step step;
        step.row = static_cast<int>(interp.table().find(name) - interp.table().rows.data());
        for (int p = 0; p < kParamCount; ++p) {
            step.params[static_cast<std::size_t>(p)] = interp.param_default(static_cast<Param>(p));
        }
        for (const auto& [p, v] : values) {
            step.params[static_cast<std::size_t>(p)] = v;
        }
        const auto next = interp.apply(now, step);
        EXPECT_TRUE(next.has_value()) << name << " is not enabled";
        if (!next) {
            return t;
        }
        t.steps.push_back({step, *next});
        now = *next;
    }
    return t;
}

Instance one_node_without(std::initializer_list<Var> off, std::initializer_list<Var> on = {}) {
    Instance i(1);
    for (Var v : {Var::cap_late_block_activate, Var::cap_pause_before_switchover, Var::cap_postcopy,
                  Var::cap_autostart, Var::image_locking}) {
        i.fixed[static_cast<std::size_t>(v)] = 0;
    }
    for (Var v : on) {
        i.fixed[static_cast<std::size_t>(v)] = 1;
    }
    for (Var v : off) {
        i.fixed[static_cast<std::size_t>(v)] = 0;
    }
    return i;
}

// The seed of the thread at N = 1: inactivation fails half-way at the only node, s->block_inactive
// stays false, the fail label does not re-activate, and the guest is resumed.
std::vector<std::pair<std::string_view, std::map<Param, int>>> seed_steps() {
    return {{"storage_lost", {}},
            {"qmp_migrate", {{Param::host, 0}}},
            {"migration_thread_setup", {{Param::host, 0}}},
            {"migration_completion_begin", {{Param::host, 0}}},
            {"migration_completion_save", {{Param::host, 0}, {Param::fail, 0}, {Param::half, 1}}},
            {"migration_completion_fail", {{Param::host, 0}}},
            {"migration_iteration_finish_resume", {{Param::host, 0}}}};
}

TEST(Retarget, TheSeedOnItsOwnVersionTakesTheSameCourse) {
    const Interpreter interp(version("v8.0.0"), one_node_without({}));
    const Trace seed = build(interp, seed_steps());
    const InvariantData* inv = find_invariant("no-vm-start-while-inactive");
    const Retarget rt = retarget(interp, seed, inv, version("v8.0.0"));
    ASSERT_EQ(rt.steps.size(), 7U);
    for (const auto& s : rt.steps) {
        EXPECT_EQ(s.course, Course::same);
    }
    EXPECT_EQ(rt.first_departure, 0);
    EXPECT_EQ(rt.reaches_at, 7);
}

TEST(Retarget, The2023FixStopsTheSeed) {
    const Interpreter interp(version("v8.0.0"), one_node_without({}));
    const Trace seed = build(interp, seed_steps());
    const InvariantData* inv = find_invariant("no-vm-start-while-inactive");
    const Retarget rt = retarget(interp, seed, inv, version("v8.1"));
    EXPECT_TRUE(rt.no_initial.empty());
    EXPECT_EQ(rt.first_departure, 5);
    EXPECT_EQ(rt.reaches_at, 0);
    EXPECT_EQ(rt.stopped_at, 0);
    ASSERT_EQ(rt.steps[4].differences.size(), 1U);
    EXPECT_EQ(rt.steps[4].differences[0].variable, "block_inactive[0]");
    EXPECT_EQ(rt.steps[4].differences[0].now, "true");
    // The fail: label takes the parameters v8.0.0's row lacks as "nothing else fails".
    EXPECT_EQ(rt.steps[5].course, Course::another);
    EXPECT_EQ(rt.steps[5].step.params[static_cast<std::size_t>(Param::fail)], 1);
    EXPECT_TRUE(rt.steps[5].forced.empty());
    EXPECT_EQ(rt.replayed.steps.size(), 7U);
    // 10.0-dev's global flag still says "active" after the failed inactivation.
    EXPECT_EQ(retarget(interp, seed, inv, version("v10.0-dev")).reaches_at, 7);
}

// At N = 2 with the storage still gone, node 0 was inactivated and node 1 failed: v8.1's fail:
// label cannot re-activate node 0 ("nothing else fails" is impossible), so the step goes on with
// the least possible outcome, and migration_iteration_finish() still starts the guest.
TEST(Retarget, AnImpossibleDefaultTakesTheLeastPossibleOutcome) {
    Instance two = one_node_without({});
    two.nodes = 2;
    const Interpreter interp(version("v8.0.0"), two);
    auto steps = seed_steps();
    steps[4].second = {{Param::host, 0}, {Param::fail, 1}, {Param::half, 0}};
    const Trace t = build(interp, steps);
    const Retarget rt =
        retarget(interp, t, find_invariant("no-vm-start-while-inactive"), version("v8.1"));
    EXPECT_EQ(rt.first_departure, 5);
    EXPECT_EQ(rt.stopped_at, 0);
    EXPECT_EQ(rt.reaches_at, 7);
    const RetargetStep& fail = rt.steps[5];
    EXPECT_EQ(fail.step.params[static_cast<std::size_t>(Param::fail)], 0);
    EXPECT_EQ(fail.step.params[static_cast<std::size_t>(Param::broken)], 0);
    EXPECT_NE(fail.forced.find("v8.1 takes the step only with fail=node 0, broken=no"),
              std::string::npos)
        << fail.forced;
    EXPECT_NE(fail.forced.find("storage_ok=false"), std::string::npos) << fail.forced;
}

TEST(Retarget, ARowTheOtherVersionDoesNotHaveIsRefused) {
    const Interpreter interp(version("v10.0"), one_node_without({}));
    const Trace t = build(interp, {{"storage_lost", {}},
                                   {"blockdev_set_inactive_all", {{Param::host, 0}}},
                                   {"qmp_stop", {{Param::host, 0}}}});
    const Retarget rt =
        retarget(interp, t, find_invariant("running-implies-active"), version("v8.1"));
    EXPECT_EQ(rt.stopped_at, 2);
    EXPECT_EQ(rt.steps[1].course, Course::refused);
    EXPECT_NE(rt.steps[1].refused.find("added in v10.0"), std::string::npos) << rt.steps[1].refused;
    EXPECT_EQ(rt.steps[2].course, Course::not_replayed);
    EXPECT_EQ(rt.replayed.steps.size(), 1U);
}

// 10.0 refuses migrate_cancel in postcopy: the false guard conjunct is named with its value.
TEST(Retarget, ARefusedGuardNamesItsFalseConjunct) {
    const Interpreter interp(version("v8.0.0"),
                             one_node_without({}, {Var::cap_postcopy, Var::cap_autostart}));
    const Trace t = build(interp, {{"qmp_migrate", {{Param::host, 0}}},
                                   {"migration_thread_setup", {{Param::host, 0}}},
                                   {"postcopy_start_ok", {{Param::host, 0}}},
                                   {"qmp_migrate_cancel", {{Param::host, 0}}}});
    const Retarget rt =
        retarget(interp, t, find_invariant("running-implies-active"), version("v10.0"));
    ASSERT_EQ(rt.stopped_at, 4);
    EXPECT_EQ(rt.steps[3].refused, "its guard is false");
    EXPECT_EQ(rt.steps[3].false_parts,
              std::vector<std::string>{"mig[h] != POSTCOPY_ACTIVE (mig[0]=POSTCOPY_ACTIVE)"});
}

} // namespace
} // namespace handoff::proofs
