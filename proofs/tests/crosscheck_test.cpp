// The Z3 engines against the explicit-state engine on small instances: for every version and every
// invariant, no contradiction. A violation must be found by both, with counterexamples of the same
// (shortest) length; an invariant the exploration proves for the instance must be proved by Z3 or,
// where PDR does not converge (valid-runstate-transitions), stand unviolated by BMC to the default
// depth; those are printed. BMC to the reachability diameter (33 steps) would make "bounded" mean
// "proved" here, but takes minutes per case. Any disagreement is a bug in one of the engines or in
// the lowering.
#include "handoff/proofs/check.hpp"

#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <string>

namespace handoff::proofs {
namespace {

using namespace handoff::model;

struct CrossCase {
    std::string version;
    int nodes;
    // late-block-activate, pause-before-switchover, postcopy, autostart, image-locking
    std::array<int, 5> caps;
};

// How gtest and CTest show a case.
void PrintTo(const CrossCase& c, std::ostream* os) {
    *os << c.version << ", " << c.nodes << " node(s), caps";
    for (int cap : c.caps) {
        *os << ' ' << cap;
    }
}

std::string case_name(const testing::TestParamInfo<CrossCase>& info) {
    std::string name = info.param.version + "_N" + std::to_string(info.param.nodes) + "_caps";
    for (int c : info.param.caps) {
        name += std::to_string(c);
    }
    for (char& ch : name) {
        if (ch == '.' || ch == '-') {
            ch = '_';
        }
    }
    return name;
}

Instance instance_of(const CrossCase& c) {
    Instance inst(c.nodes);
    const Var caps[] = {Var::cap_late_block_activate, Var::cap_pause_before_switchover,
                        Var::cap_postcopy, Var::cap_autostart, Var::image_locking};
    for (std::size_t i = 0; i < 5; ++i) {
        inst.fixed[static_cast<std::size_t>(caps[i])] = c.caps[i];
    }
    return inst;
}

constexpr int kAutoDepthForTest = 15; // `auto`'s default BMC depth

class CrossCheck : public testing::TestWithParam<CrossCase> {};

TEST_P(CrossCheck, Z3AndExplicitAgree) {
    const CrossCase& c = GetParam();
    const TableData* table = find_version(c.version);
    ASSERT_NE(table, nullptr);
    const auto cells = all_cells({table});

    CheckOptions exp;
    exp.engine = Engine::explicit_state;
    exp.instance = instance_of(c);
    const auto expected = check(cells, exp);
    int longest = 0; // BMC must search at least as deep as the longest shortest counterexample
    for (const auto& r : expected) {
        ASSERT_FALSE(r.bug) << r.invariant << ": " << r.detail;
        ASSERT_NE(r.verdict, Verdict::bounded) << "the exploration must be complete";
        if (r.verdict == Verdict::violated) {
            longest = std::max(longest, r.depth);
        }
    }

    CheckOptions z3o;
    z3o.engine = Engine::automatic;
    z3o.instance = exp.instance;
    z3o.timeout = 300; // never reached: the verdicts must not depend on the machine's speed
    z3o.depth = std::max(kAutoDepthForTest, longest);
    // IC3 proves every pair that holds here in a few seconds (valid-runstate-transitions the
    // longest): so the comparison is of two proofs, not of a proof and a bound.
    z3o.ic3_slice = 60;
    const auto got = check(cells, z3o);
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const Result& e = expected[i];
        const Result& z = got[i];
        SCOPED_TRACE(c.version + " / " + e.invariant + ": explicit says " +
                     std::string(verdict_name(e.verdict)) + ", " + z.engine + " says " +
                     std::string(verdict_name(z.verdict)) + " (" + z.detail + ")");
        EXPECT_FALSE(z.bug);
        if (e.verdict == Verdict::violated) {
            ASSERT_EQ(z.verdict, Verdict::violated);
            ASSERT_TRUE(e.trace && z.trace);
            EXPECT_EQ(z.trace->steps.size(), e.trace->steps.size())
                << "both engines report a shortest counterexample";
        } else {
            EXPECT_NE(z.verdict, Verdict::violated);
            EXPECT_TRUE(z.verdict == Verdict::proved ||
                        (z.verdict == Verdict::bounded && z.depth >= kAutoDepthForTest))
                << "neither proved nor searched to depth " << kAutoDepthForTest;
            if (z.verdict == Verdict::bounded) {
                std::cout << "note: " << c.version << " / " << e.invariant
                          << ": proved by the exploration, bounded by Z3 (" << z.detail << ")\n";
            }
        }
    }
}

std::vector<CrossCase> cases() {
    std::vector<CrossCase> out;
    // Two capability combinations that between them switch every capability both ways.
    const std::array<int, 5> postcopy_pause{0, 1, 1, 1, 0};
    const std::array<int, 5> late_locking{1, 0, 0, 0, 1};
    for (const TableData* t : all_versions()) {
        const std::string v(t->version);
        out.push_back({v, 1, postcopy_pause});
        out.push_back({v, 2, postcopy_pause});
        out.push_back({v, 3, late_locking});
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(SmallInstances, CrossCheck, testing::ValuesIn(cases()), case_name);

} // namespace
} // namespace handoff::proofs

namespace handoff::proofs {
namespace {

// The partial-order reduction (--partial-order) keeps the lexicographically least shortest
// counterexample, so BMC with and without it reports the same traces.
TEST(PartialOrder, SameVerdictsAndTraces) {
    const TableData* table = find_version("v8.0.0");
    ASSERT_NE(table, nullptr);
    std::vector<Cell> cells;
    for (const Cell& c : all_cells({table})) {
        if (c.invariant->kind == InvariantKind::StatePredicate) {
            cells.push_back(c);
        }
    }
    CheckOptions o;
    o.engine = Engine::bmc;
    o.depth = 12;
    o.timeout = 300;
    const auto plain = check(cells, o);
    o.partial_order = true;
    const auto reduced = check(cells, o);
    for (std::size_t i = 0; i < cells.size(); ++i) {
        SCOPED_TRACE(plain[i].invariant);
        EXPECT_EQ(plain[i].verdict, reduced[i].verdict);
        ASSERT_EQ(plain[i].trace.has_value(), reduced[i].trace.has_value());
        if (plain[i].trace) {
            ASSERT_EQ(plain[i].trace->steps.size(), reduced[i].trace->steps.size());
            for (std::size_t k = 0; k < plain[i].trace->steps.size(); ++k) {
                EXPECT_EQ(plain[i].trace->steps[k].step.row, reduced[i].trace->steps[k].step.row)
                    << "step " << k + 1;
            }
        }
    }
}

} // namespace
} // namespace handoff::proofs
