// Per version and violated invariant (from the model's explorer, see expected.hpp): RapidCheck,
// run on impl/ with the oracle on, must find a violation within a fixed budget, and prints the
// shrunk command sequence.
#include "handoff/proptests/expected.hpp"
#include "handoff/proptests/property.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace handoff::proptests {
namespace {

class Violations : public ::testing::TestWithParam<std::string> {};

TEST_P(Violations, RapidCheckFindsEveryViolationTheModelHas) {
    const std::string version = GetParam();
    const ExpectedVerdicts& expected = expected_verdicts(version);
    std::cerr << fmt::format("{}: {} violated, {} holding ({})\n", version,
                             expected.violated.size(), expected.holding.size(), expected.source);
    for (const auto* inv : expected.violated) {
        PropertyOptions options;
        options.version = version;
        options.watched = {inv};
        options.test_cases = 1000; // the budget
        const PropertyOutcome out = check_property(
            fmt::format("{} violates {} (RapidCheck must find it)", version, inv->name), options);
        EXPECT_FALSE(out.passed) << version << ": RapidCheck found no violation of " << inv->name
                                 << " in " << out.test_cases << " test cases (seed " << out.seed
                                 << ")";
        if (!out.passed) {
            const bool is_the_invariant =
                out.message.find("invariant " + std::string(inv->name)) != std::string::npos;
            EXPECT_TRUE(is_the_invariant)
                << "RapidCheck failed for another reason than " << inv->name << ":\n"
                << out.message;
            std::cerr << fmt::format("found after {} test cases ({:.2f} s)\n", out.test_cases,
                                     out.seconds);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, Violations,
                         ::testing::Values("v8.0.0", "v8.1", "v9.2", "v10.0-dev", "v10.2"),
                         [](const auto& param_info) {
                             std::string name = param_info.param;
                             for (char& c : name) {
                                 if (c == '.' || c == '-') {
                                     c = '_';
                                 }
                             }
                             return name;
                         });

} // namespace
} // namespace handoff::proptests
