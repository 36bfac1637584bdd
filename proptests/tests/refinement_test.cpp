// Per version: random interleavings on impl/, every step explained by a row of the model, no
// violation of the invariants the checker proved (proofs/expected.json), and every row the model
// can fire on this instance fired at least once.
#include "handoff/model/invariants.hpp"
#include "handoff/proptests/coverage.hpp"
#include "handoff/proptests/manifest.hpp"
#include "handoff/proptests/property.hpp"
#include "handoff/proptests/versions.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace handoff::proptests {
namespace {

namespace m = handoff::model;

class Refinement : public ::testing::TestWithParam<std::string> {};

TEST_P(Refinement, EveryStepIsARowProvedInvariantsHoldEveryRowFires) {
    const std::string version = GetParam();
    PropertyOptions options;
    options.version = version;
    std::string watched;
    for (const ManifestEntry* e : manifest().for_version(version)) {
        const m::InvariantData* inv = m::find_invariant(e->invariant);
        ASSERT_NE(inv, nullptr) << manifest().path << " names an unknown invariant "
                                << e->invariant;
        if (e->verdict == Verdict::proved && inv->kind == m::InvariantKind::StatePredicate) {
            options.watched.push_back(inv);
            watched += " " + e->invariant;
        }
    }
    options.test_cases = 10000;
    options.max_size = 80;
    const PropertyOutcome out =
        check_property("refinement and proved invariants, " + version, options);
    if (out.skipped) {
        GTEST_SKIP() << "RC_PARAMS or HANDOFF_PROPTEST_ONLY names another property";
    }
    std::cerr << fmt::format("{}: proved invariants watched (from {}):{}\n", version,
                             manifest().path, watched.empty() ? " (none)" : watched);
    EXPECT_TRUE(out.passed) << out.message;

    // Row coverage: every row the model can fire on the property tests' instance.
    const ReachableRows& reachable = reachable_rows(version);
    std::string fired, missing;
    std::size_t fired_count = 0;
    for (const auto& row : reachable.rows) {
        const auto it = out.coverage.rows.find(row);
        const long n = it == out.coverage.rows.end() ? 0 : it->second;
        fired += fmt::format(" {}={}", row, n);
        if (n == 0) {
            missing += " " + row;
        } else {
            ++fired_count;
        }
    }
    std::string never;
    for (const auto& row : reachable.never) {
        never += " " + row;
    }
    std::cerr << fmt::format("row coverage {}: {}/{} reachable rows fired:{}\n"
                             "rows not shown reachable in the model ({} states breadth-first, {} "
                             "random-walk steps{}):{}\n",
                             version, fired_count, reachable.rows.size(), fired, reachable.states,
                             reachable.walk_steps, reachable.complete ? ", complete" : ", bounded",
                             never.empty() ? " (none)" : never);
    EXPECT_TRUE(missing.empty()) << version << ": reachable rows never fired:" << missing;
}

INSTANTIATE_TEST_SUITE_P(Versions, Refinement, ::testing::ValuesIn(test_versions()),
                         [](const auto& param_info) { return test_name(param_info.param); });

// The block graph: each test case draws a shape (chain, shared-base, job), impl/ builds it as
// BlockDriverState/BdrvChild lists with the model's node names, and faults land on its nodes
// where the model says QEMU can fail; every step must still be a row of the model's table on
// that graph. No invariant is watched: under the property tests' profile (`any`, no image
// locking) the checker finds every graph invariant violated on some version
// (docs/graphs/verdicts.md), and the refinement is what this test is about.
class GraphRefinement : public ::testing::TestWithParam<std::string> {};

TEST_P(GraphRefinement, EveryStepOnEveryGraphShapeIsARow) {
    const std::string version = GetParam();
    PropertyOptions options;
    options.version = version;
    // The job twice: its filter's refusal needs the longest story (the qcow2 node below it loses
    // its driver in one activation, and the filter meets it in a later one).
    options.graphs = {m::GraphShape::chain, m::GraphShape::shared_base, m::GraphShape::job,
                      m::GraphShape::job};
    options.test_cases = 10000;
    options.max_size = 80;
    const PropertyOutcome out =
        check_property("refinement on the block graphs, " + version, options);
    if (out.skipped) {
        GTEST_SKIP() << "RC_PARAMS or HANDOFF_PROPTEST_ONLY names another property";
    }
    EXPECT_TRUE(out.passed) << out.message;
    std::string fired;
    for (const auto& [row, n] : out.coverage.rows) {
        fired += fmt::format(" {}={}", row, n);
    }
    std::string events;
    for (const auto& [event, n] : out.coverage.graph_events) {
        events += fmt::format("; {}: {}", event, n);
    }
    std::cerr << fmt::format("rows fired on the graphs, {}:{}\ngraph paths taken{}\n", version,
                             fired, events.empty() ? ": none" : events);
    // The paths only a graph has: random runs must reach them on every version.
    for (const char* event :
         {"a filter refused over a driverless child", "a node below a root lost its driver",
          "a walk met a driverless node"}) {
        EXPECT_GT(out.coverage.graph_events.count(event), 0u)
            << version << ": impl/ never took the path \"" << event << "\"";
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, GraphRefinement, ::testing::ValuesIn(test_versions()),
                         [](const auto& param_info) { return test_name(param_info.param); });

} // namespace
} // namespace handoff::proptests
