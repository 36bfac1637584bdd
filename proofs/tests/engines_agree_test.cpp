// Engines check each other (proofs/crosscheck.hpp): the comparison itself on made-up answers, then
// every engine against the complete exploration on a random sample of small instances. The seed is
// printed; HANDOFF_CROSSCHECK_SEED=S reruns the same sample, HANDOFF_CROSSCHECK_CASES=K sets its
// size (default 3: about 40 s on the shared
// machine at load average 10, 5 s per engine run).
#include "handoff/proofs/crosscheck.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

namespace handoff::proofs {
namespace {

Result answer(const char* engine, Verdict v, int steps = -1, int depth = -1) {
    Result r;
    r.engine = engine;
    r.verdict = v;
    r.depth = depth;
    if (steps >= 0) {
        r.trace = model::Trace{};
        r.trace->steps.resize(static_cast<std::size_t>(steps));
        r.depth = steps;
    }
    return r;
}

TEST(Contradictions, AgreeingAnswersHaveNone) {
    EXPECT_TRUE(
        contradictions({answer("explicit", Verdict::violated, 6),
                        answer("bmc", Verdict::violated, 6), answer("kind", Verdict::violated, 6),
                        answer("pdr", Verdict::unknown), answer("ic3", Verdict::unknown)},
                       20)
            .empty());
    EXPECT_TRUE(
        contradictions({answer("explicit", Verdict::proved),
                        answer("bmc", Verdict::bounded, -1, 20), answer("kind", Verdict::unknown),
                        answer("pdr", Verdict::proved), answer("ic3", Verdict::proved)},
                       20)
            .empty());
    // BMC stopped by its timeout before the shortest length: no answer, no contradiction.
    EXPECT_TRUE(
        contradictions(
            {answer("explicit", Verdict::violated, 9), answer("bmc", Verdict::bounded, -1, 4)}, 20)
            .empty());
}

TEST(Contradictions, EachKindIsFound) {
    // A proof against a reachable violation.
    EXPECT_EQ(contradictions(
                  {answer("explicit", Verdict::violated, 6), answer("ic3", Verdict::proved)}, 20)
                  .size(),
              1u);
    // A violation against a complete exploration without one.
    EXPECT_EQ(contradictions(
                  {answer("explicit", Verdict::proved), answer("pdr", Verdict::violated, 3)}, 20)
                  .size(),
              1u);
    // BMC and the recovery search promise a shortest counterexample; nobody may beat BFS.
    EXPECT_EQ(
        contradictions(
            {answer("explicit", Verdict::violated, 6), answer("bmc", Verdict::violated, 7)}, 20)
            .size(),
        1u);
    EXPECT_EQ(contradictions({answer("explicit", Verdict::violated, 6),
                              answer("recovery", Verdict::violated, 5)},
                             20)
                  .size(),
              1u);
    EXPECT_EQ(
        contradictions(
            {answer("explicit", Verdict::violated, 6), answer("kind", Verdict::violated, 5)}, 20)
            .size(),
        1u);
    // BMC searched past the shortest length and found nothing.
    EXPECT_EQ(
        contradictions(
            {answer("explicit", Verdict::violated, 6), answer("bmc", Verdict::bounded, -1, 20)}, 20)
            .size(),
        1u);
    // IC3 reached an initial state from a violation the exploration says is unreachable.
    Result ic3 = answer("ic3", Verdict::unknown);
    ic3.ic3_found_violation = true;
    EXPECT_EQ(contradictions({answer("explicit", Verdict::proved), ic3}, 20).size(), 1u);
    // An engine's own check failed.
    Result bug = answer("pdr", Verdict::unknown);
    bug.bug = true;
    bug.detail = "BUG: certificate query failed";
    EXPECT_EQ(contradictions({answer("explicit", Verdict::proved), bug}, 20).size(), 1u);
}

std::uint64_t sample_seed() {
    if (const char* s = std::getenv("HANDOFF_CROSSCHECK_SEED")) {
        return std::strtoull(s, nullptr, 10);
    }
    return std::random_device{}();
}

int sample_size() {
    const char* s = std::getenv("HANDOFF_CROSSCHECK_CASES");
    return s != nullptr ? std::atoi(s) : 3;
}

TEST(EnginesAgree, RandomSample) {
    const std::uint64_t seed = sample_seed();
    std::cout << "seed " << seed << " (rerun: HANDOFF_CROSSCHECK_SEED=" << seed << ")\n";
    RecordProperty("seed", std::to_string(seed));
    for (const CrossCase& c : sample_cases(seed, sample_size())) {
        const CrossCheck cc = cross_check(c, 5.0);
        std::cout << describe(c) << ":";
        for (const Result& r : cc.answers) {
            std::cout << " " << r.engine << "=" << verdict_name(r.verdict);
            if (r.trace) {
                std::cout << "(" << r.trace->steps.size() << ")";
            }
        }
        std::cout << "\n";
        EXPECT_TRUE(cc.complete) << describe(c) << ": the exploration did not finish";
        for (const auto& why : cc.contradictions) {
            ADD_FAILURE() << "seed " << seed << ": " << describe(c) << ": " << why;
        }
    }
}

} // namespace
} // namespace handoff::proofs
