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
#include "handoff/proptests/versions.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace handoff::proptests {
namespace {

namespace m = handoff::model;

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
        options.test_cases = 1000; // the budget
        const PropertyOutcome out =
            check_property(fmt::format("{} violates {}", version, inv->name), options);
        EXPECT_FALSE(out.passed) << pair << ": RapidCheck found no violation in " << out.test_cases
                                 << " test cases (seed " << out.seed << ")";
        if (!out.passed) {
            const bool is_the_invariant =
                out.message.find("invariant " + std::string(inv->name)) != std::string::npos;
            EXPECT_TRUE(is_the_invariant) << pair << ": RapidCheck failed for another reason:\n"
                                          << out.message;
            std::cerr << fmt::format("{}: found after {} test cases ({:.2f} s)\n", pair,
                                     out.test_cases, out.seconds);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, Violations, ::testing::ValuesIn(test_versions()),
                         [](const auto& param_info) { return test_name(param_info.param); });

} // namespace
} // namespace handoff::proptests
