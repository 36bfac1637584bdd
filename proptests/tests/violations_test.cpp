// Per version, for every (version, invariant) pair of the checker's manifest
// (proofs/expected.json): `violated` -> RapidCheck, run on impl/ with the oracle on, must find a
// violation within a fixed budget (rc::check must fail), and the shrunk command sequence is
// printed; `proved` -> watched by the Refinement test of the same version, which must find none;
// `bounded`/`unknown` -> no requirement (printed). `recoverable` is a property of the whole
// reachable graph (from every state some fault-free path recovers), not of a state: a random run
// cannot observe its violation, so RapidCheck skips it.
#include "handoff/model/invariants.hpp"
#include "handoff/proptests/manifest.hpp"
#include "handoff/proptests/property.hpp"
#include "handoff/proptests/replay.hpp"
#include "handoff/proptests/versions.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

namespace handoff::proptests {
namespace {

namespace m = handoff::model;
namespace im = handoff::impl;

// The command kinds that carry out a model row on impl/ (as the replay maps them).
std::vector<OpKind> kinds_for_row(const std::string& r) {
    if (r == "storage_lost") {
        return {OpKind::storage_outage_at};
    }
    if (r == "storage_restored") {
        return {OpKind::storage_back};
    }
    if (const auto command = command_for_row(r)) {
        return {*command};
    }
    if (r.starts_with("blockdev_set_")) {
        return {OpKind::set_active};
    }
    if (r == "incoming_load_error") {
        return {OpKind::incoming_load_fault, OpKind::destination_run};
    }
    if (r.starts_with("incoming_load") || r == "process_incoming_migration_bh" ||
        r == "postcopy_run_bh") {
        return {OpKind::destination_run};
    }
    if (r == "return_path_error") {
        return {OpKind::return_path_fault};
    }
    if (r == "migration_stream_error") {
        return {OpKind::connection_drop};
    }
    if (r == "postcopy_start_package_fails" || r == "postcopy_start_send_fails") {
        return {OpKind::start_postcopy, OpKind::postcopy_package_fault, OpKind::thread_run};
    }
    if (r.starts_with("postcopy_start")) {
        return {OpKind::start_postcopy, OpKind::thread_run};
    }
    return {OpKind::thread_run}; // a step of the migration thread
}

// Swarm testing aimed at the checker's counterexample for the pair: the kinds its rows need are in
// every test case's swarm and weigh three times their default, and three test cases in four take
// its capabilities and start.
// Commands are still random and never filtered through the model.
void aim_at_trace(const std::string& version, const std::string& invariant,
                  PropertyOptions& options) {
    const std::string path = traces_dir() + "/" + version + "/" + invariant + ".json";
    if (!std::filesystem::exists(path)) {
        return;
    }
    const CheckerTrace trace = read_trace(path);
    std::set<OpKind> kinds;
    for (const TraceStep& step : trace.steps) {
        for (OpKind k : kinds_for_row(step.row)) {
            kinds.insert(k);
        }
        // The faults' arguments, as the replay maps the parameters (proptests/README.md): an
        // inactivation that fails at disk n (half=yes: left half inactivated) is a storage
        // outage at the start of n's inactivation; an activation that fails at disk n without
        // breaking it is n's image lock.
        const int none = trace.nodes;
        const auto param = [&](const char* name) {
            const auto it = step.params.find(name);
            return it == step.params.end() ? none : it->second;
        };
        const bool inactivates = step.params.count("half") != 0;
        if (inactivates && param("fail") != none) {
            const int half = param("half") != 0 ? 4 : 0;
            options.outages_at.emplace_back(param("fail"),
                                            static_cast<int>(im::FaultOp::inactivate) | half);
        }
        for (const char* which : {"fail", "refail"}) {
            const bool activates = std::string(which) == "refail" || !inactivates;
            if (activates && step.params.count("broken") != 0 && param("broken") == 0 &&
                param(which) != none) {
                kinds.insert(OpKind::lock_fault);
                options.locks_at.push_back(param(which));
            }
        }
    }
    for (OpKind k : kinds) {
        options.weights.emplace_back(k, 3 * static_cast<int>(default_weight(k)));
        options.swarm_always.push_back(k);
    }
    // The single steps the sequences (thread_run, destination_run) already take weigh less.
    for (OpKind k : {OpKind::thread_step, OpKind::incoming_co, OpKind::incoming_bh}) {
        options.weights.emplace_back(k, 1);
    }
    auto flag = [&](const char* name) {
        const auto it = trace.initial.find(name);
        return it != trace.initial.end() && it->second == "true";
    };
    PropertyOptions::Lean lean;
    lean.caps.late_block_activate = flag("late_block_activate");
    lean.caps.pause_before_switchover = flag("pause_before_switchover");
    // The property tests never combine postcopy with pause-before-switchover (the model's
    // postcopy rows need pause-before-switchover off, so such a trace does not use postcopy).
    lean.caps.postcopy = flag("postcopy") && !lean.caps.pause_before_switchover;
    lean.caps.autostart_policy = flag("autostart_policy");
    const auto rs = trace.initial.find("runstate[0]");
    lean.start_paused = rs != trace.initial.end() && rs->second == "PAUSED";
    options.lean_to = lean;
}

class Violations : public ::testing::TestWithParam<std::string> {};

TEST_P(Violations, RapidCheckFindsEveryViolationTheCheckerFound) {
    const std::string version = GetParam();
    const auto entries = manifest().for_version(version);
    ASSERT_FALSE(entries.empty()) << manifest().path << " has no result for " << version;
    for (const ManifestEntry* e : entries) {
        const m::InvariantData* inv = m::find_invariant(e->invariant);
        ASSERT_NE(inv, nullptr) << manifest().path << " names an unknown invariant "
                                << e->invariant;
        const std::string pair =
            fmt::format("{} / {} ({})", version, e->invariant, to_string(e->verdict));
        if (inv->kind != m::InvariantKind::StatePredicate) {
            std::cerr << pair
                      << ": skipped: a property of the reachable graph, not of a state; "
                         "random runs cannot observe it\n";
            continue;
        }
        if (e->verdict == Verdict::proved) {
            std::cerr << pair << ": must hold: watched by Refinement/" << test_name(version)
                      << "\n";
            continue;
        }
        if (e->verdict != Verdict::violated) {
            std::cerr << pair << ": no requirement (the checker has no verdict either way)\n";
            continue;
        }
        PropertyOptions options;
        options.version = version;
        options.watched = {inv};
        options.test_cases = 30000; // the budget
        options.expect_failure = true;
        aim_at_trace(version, e->invariant, options);
        const PropertyOutcome out =
            check_property(fmt::format("{} violates {}", version, inv->name), options);
        if (out.skipped) {
            continue;
        }
        EXPECT_TRUE(out.falsified) << pair << ": RapidCheck found no violation in "
                                   << out.test_cases << " test cases (seed " << out.seed << ")"
                                   << (out.message.empty() ? "" : ":\n" + out.message);
        if (out.falsified) {
            const bool is_the_invariant =
                out.message.find("invariant " + std::string(inv->name)) != std::string::npos;
            EXPECT_TRUE(is_the_invariant) << pair << ": RapidCheck failed for another reason:\n"
                                          << out.message;
            // The shrunk run's model trace: a path of the model to the same violation.
            ASSERT_FALSE(out.trace_path.empty()) << pair << ": no model trace: " << out.trace_note;
            const ModelTraceReplay replayed = replay_model_trace(out.trace_path);
            EXPECT_EQ(replayed.error, "") << pair;
            EXPECT_EQ(replayed.invariant, inv->name) << pair << ": " << out.trace_path;
            EXPECT_TRUE(replayed.violated) << pair << ": " << out.trace_path;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, Violations, ::testing::ValuesIn(test_versions()),
                         [](const auto& param_info) { return test_name(param_info.param); });

} // namespace
} // namespace handoff::proptests
