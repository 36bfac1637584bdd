// The engines that interrupt Z3 at their deadline (k-induction and Spacer, proofs/src/watchdog.hpp)
// answer "unknown" when it passes, wherever in their work it lands: never a checker bug, never a
// verdict Z3 gave after the interrupt. Deadlines of a few hundredths of a second land in the
// middle of a check, in get_model() or in the next add(); each run is on a context of its own, as
// `handoff check --engine kind|pdr` runs them. Before the fix, about one run in five of this
// loop's k-induction reported "BUG: the base-case counterexample does not replay" or let Z3's
// "canceled" escape.
#include "handoff/proofs/engines.hpp"

#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

namespace handoff::proofs {
namespace {

using namespace handoff::model;

using Engine = Result (*)(const Lowering&, const InvariantData&, const EngineLimits&);

void expect_timeouts_only(Engine engine, const char* name) {
    const InvariantData& inv = *find_invariant("no-double-inactivate");
    for (int round = 0; round < 3; ++round) {
        for (const double deadline :
             {0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1}) {
            z3::context ctx;
            const Lowering low(ctx, *find_version("v8.1"), Instance(2));
            EngineLimits lim;
            lim.timeout = deadline;
            Result r;
            ASSERT_NO_THROW(r = engine(low, inv, lim)) << name << " at " << deadline << " s";
            EXPECT_FALSE(r.bug) << name << " at " << deadline << " s: " << r.detail;
            // A violation is believed only with a trace that replayed (the engines check it).
            if (r.verdict == Verdict::violated) {
                EXPECT_TRUE(r.trace.has_value()) << name << ": " << r.detail;
            } else {
                EXPECT_EQ(r.verdict, Verdict::unknown) << name << ": " << r.detail;
            }
        }
    }
}

TEST(Deadline, KInductionTimesOutWhereverTheInterruptLands) {
    expect_timeouts_only(&run_kind, "kind");
}

TEST(Deadline, SpacerTimesOutWhereverTheInterruptLands) {
    expect_timeouts_only(&run_pdr, "pdr");
}

} // namespace
} // namespace handoff::proofs
