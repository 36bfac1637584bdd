// Every counterexample trace of the proof checker (proofs/traces/<version>/<invariant>.json, one
// per violated pair of proofs/expected.json) replayed on impl/: each model step becomes impl/
// commands, every step must reach the trace's state (checked by the oracle and the abstraction),
// and the implementation must end in the same violation.
#include "handoff/model/invariants.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proptests/manifest.hpp"
#include "handoff/proptests/replay.hpp"
#include "handoff/proptests/versions.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <optional>
#include <unordered_map>

namespace handoff::proptests {
namespace {

namespace m = handoff::model;

class Replay : public ::testing::TestWithParam<std::string> {};

// Replays one checker trace on impl/ and expects it to reach the same violation.
void expect_same_violation(const CheckerTrace& t) {
    const ReplayOutcome out = replay(t);
    std::cerr << fmt::format(
        "{} / {} ({} steps): {}\n", t.version, t.invariant, t.steps.size(),
        out.replayed ? (out.violation ? "replayed, same violation" : "replayed, NO violation")
                     : "NOT replayed");
    std::cerr << "  on " << out.disks << "\n";
    for (std::size_t i = 0; i < out.steps.size(); ++i) {
        std::cerr << fmt::format("  {:>2}. {}\n", i + 1, out.steps[i]);
    }
    if (!out.failure.empty()) {
        std::cerr << "  " << out.failure << "\n";
    }
    EXPECT_TRUE(out.replayed) << t.path << ": " << out.failure;
    EXPECT_TRUE(out.violation) << t.path << ": " << out.failure;
}

TEST_P(Replay, EveryCheckerTraceReachesTheSameViolationOnTheImplementation) {
    const std::string version = GetParam();
    const std::string dir = traces_dir() + "/" + version;
    const std::vector<CheckerTrace> traces = read_traces(dir);
    // Every violated pair of the manifest has its trace (once the version's folder exists: the
    // provisional traces of this branch cover v8.0.0 only).
    if (!std::filesystem::exists(dir)) {
        std::cerr << dir << " does not exist: no traces for " << version << " yet\n";
        return;
    }
    for (const ManifestEntry* e : manifest().for_version(version)) {
        if (e->verdict != Verdict::violated) {
            continue;
        }
        const bool found = std::any_of(traces.begin(), traces.end(),
                                       [&](const auto& t) { return t.invariant == e->invariant; });
        EXPECT_TRUE(found) << version << " / " << e->invariant << " is violated in "
                           << manifest().path << " but " << dir << " has no trace for it";
    }
    for (const CheckerTrace& t : traces) {
        EXPECT_EQ(t.version, version) << t.path;
        expect_same_violation(t);
    }
}

// The shortest controllable traces that address the nodes one by one (conformance/regenerate's
// `--without-row blockdev_set_active_all --without-row blockdev_set_inactive_all`), which
// docs/conformance.md replays on QEMU 10.0.2: impl/ must follow them too. none.json lists the
// pairs without such a trace and is not one.
TEST(ReplayNodeByNode, EveryConformanceTraceReachesTheSameViolationOnTheImplementation) {
    const std::string dir = HANDOFF_NODE_BY_NODE_TRACES_DIR;
    int replayed = 0, node_rows = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".json" || e.path().filename() == "none.json") {
            continue;
        }
        const CheckerTrace t = read_trace(e.path().string());
        node_rows +=
            static_cast<int>(std::count_if(t.steps.begin(), t.steps.end(), [](const auto& s) {
                return s.row == "blockdev_set_active_node" || s.row == "blockdev_set_inactive_node";
            }));
        expect_same_violation(t);
        ++replayed;
    }
    EXPECT_GT(replayed, 0) << dir << " has no trace";
    EXPECT_GT(node_rows, 0) << "no trace of " << dir << " takes a node-by-node row";
}

INSTANTIATE_TEST_SUITE_P(Versions, Replay, ::testing::ValuesIn(test_versions()),
                         [](const auto& param_info) { return test_name(param_info.param); });

// 9.2's migration_completion() checks the return path and the file, then calls
// migration_completion_end() without a point between them where the thread could stop; the
// model has the two as migration_completion_checks_pass and migration_completion_end, and impl/
// does both in one thread step. A trace that ends right after the end (handoff mutate's directed
// replay of the table's step, with the mutant of `migration_completion_end` that refuses it) must
// still replay: the command of the checks may do the next step of the same host's thread too.
TEST(ReplayThreadSteps, ACompletionWhoseChecksAndEndAreOneImplStepReplays) {
    const m::Interpreter interp(*m::find_version("v9.2"), m::Instance(1));
    const int end_row = static_cast<int>(interp.table().find("migration_completion_end") -
                                         interp.table().rows.data());
    // The shortest path to host 0's migration_completion_end, then that step.
    std::unordered_map<m::State, std::pair<m::State, m::Step>> parent;
    std::deque<m::State> queue;
    for (const m::State& s : interp.initial_states()) {
        parent.emplace(s, std::pair<m::State, m::Step>{s, m::Step{}});
        queue.push_back(s);
    }
    std::optional<std::pair<m::State, m::Step>> last; // the end step's state and step
    while (!queue.empty() && !last) {
        const m::State s = queue.front();
        queue.pop_front();
        interp.successors(s, [&](const m::Step& step, const m::State& next) {
            if (last || !parent.emplace(next, std::pair<m::State, m::Step>{s, step}).second) {
                return;
            }
            if (step.row == end_row && step.params[static_cast<std::size_t>(m::Param::host)] == 0) {
                last = {next, step};
            }
            queue.push_back(next);
        });
    }
    ASSERT_TRUE(last.has_value()) << "no reachable migration_completion_end at 1 node";
    m::Trace trace;
    for (m::State at = last->first; parent.at(at).first != at; at = parent.at(at).first) {
        trace.steps.insert(trace.steps.begin(), {parent.at(at).second, at});
    }
    trace.initial = parent.at(trace.steps.front().state).first;
    ASSERT_GE(trace.steps.size(), 2U);
    EXPECT_EQ(interp.table().rows[static_cast<std::size_t>(trace.steps.end()[-2].step.row)].name,
              "migration_completion_checks_pass");
    const ReplayOutcome out = replay(checker_trace(interp, trace));
    EXPECT_TRUE(out.replayed) << out.failure;
}

// The checker's counterexamples on the block graphs under `--env any`
// (docs/graphs/traces/<shape>/<version>/<invariant>.json, written by docs/graphs/regenerate):
// impl/ builds the same graph, with the model's node names, and must reach the same violation.
class ReplayGraph : public ::testing::TestWithParam<std::string> {};

TEST_P(ReplayGraph, EveryGraphCounterexampleReachesTheSameViolationOnTheImplementation) {
    const std::string shape = GetParam();
    const std::string dir = std::string(HANDOFF_GRAPH_TRACES_DIR) + "/" + shape;
    const std::vector<CheckerTrace> traces = read_traces(dir);
    ASSERT_FALSE(traces.empty()) << dir << " has no trace";
    for (const CheckerTrace& t : traces) {
        EXPECT_EQ(t.graph, shape) << t.path;
        expect_same_violation(t);
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ReplayGraph, ::testing::Values("chain", "shared-base", "job"),
                         [](const auto& param_info) {
                             std::string name = param_info.param;
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

} // namespace
} // namespace handoff::proptests
