// Every counterexample trace of the proof checker (proofs/traces/<version>/<invariant>.json, one
// per violated pair of proofs/expected.json) replayed on impl/: each model step becomes impl/
// commands, every step must reach the trace's state (checked by the oracle and the abstraction),
// and the implementation must end in the same violation.
#include "handoff/model/invariants.hpp"
#include "handoff/proptests/manifest.hpp"
#include "handoff/proptests/replay.hpp"
#include "handoff/proptests/versions.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

namespace handoff::proptests {
namespace {

namespace m = handoff::model;

// Traces that cannot replay because the model disagrees with QEMU (and impl/, which follows QEMU)
// at one step: reported for the model's owner (proptests/README.md, "Model disagreements"), not
// hidden. The replay must fail at exactly that step, with the implementation in the state QEMU
// reaches; any other failure fails the test, and so does a replay that succeeds (then the entry
// is stale).
struct Disagreement {
    const char* version;
    const char* invariant;
    const char* step; // "step N row(" as the replay reports it
    const char* why;
};
constexpr Disagreement kDisagreements[] = {
    {"v7.2", "no-vm-start-while-inactive", "step 6 migration_completion_fail(",
     "the fail label's re-activation (c0ad2a9191, the 7.2.3 backport of 6dab4c93) fails at the "
     "half-inactivated node A: the model keeps A HALF_INACTIVE, but QEMU's bdrv_activate() sets "
     "BDRV_O_INACTIVE when a parent's activate callback (blk_root_activate) fails, so A is "
     "INACTIVE"},
    {"v8.1", "running-implies-active", "step 6 migration_completion_fail(",
     "the fail label's re-activation fails at the half-inactivated node A: the model keeps A "
     "HALF_INACTIVE, but QEMU's bdrv_activate() sets BDRV_O_INACTIVE when a parent's activate "
     "callback (blk_root_activate) fails, so A is INACTIVE"},
    {"v10.2", "valid-runstate-transitions", "step 4 postcopy_start_fails(",
     "postcopy_start()'s re-activation fails at the half-inactivated node B: the model keeps B "
     "HALF_INACTIVE, but QEMU's bdrv_activate() sets BDRV_O_INACTIVE when a parent's activate "
     "callback (blk_root_activate) fails, so B is INACTIVE"},
};

const Disagreement* disagreement(const CheckerTrace& t) {
    for (const Disagreement& d : kDisagreements) {
        if (t.version == d.version && t.invariant == d.invariant) {
            return &d;
        }
    }
    return nullptr;
}

class Replay : public ::testing::TestWithParam<std::string> {};

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
        const ReplayOutcome out = replay(t);
        std::cerr << fmt::format(
            "{} / {} ({} steps): {}\n", version, t.invariant, t.steps.size(),
            out.replayed ? (out.violation ? "replayed, same violation" : "replayed, NO violation")
                         : "NOT replayed");
        for (std::size_t i = 0; i < out.steps.size(); ++i) {
            std::cerr << fmt::format("  {:>2}. {}\n", i + 1, out.steps[i]);
        }
        if (!out.failure.empty()) {
            std::cerr << "  " << out.failure << "\n";
        }
        if (const Disagreement* d = disagreement(t)) {
            EXPECT_FALSE(out.replayed) << t.path << " replays now: remove its kDisagreements entry";
            EXPECT_NE(out.failure.find(d->step), std::string::npos)
                << t.path << " fails elsewhere than the classified step: " << out.failure;
            std::cerr << "  MODEL DISAGREEMENT (reported, see proptests/README.md): " << d->why
                      << "\n";
            continue;
        }
        EXPECT_TRUE(out.replayed) << t.path << ": " << out.failure;
        EXPECT_TRUE(out.violation) << t.path << ": " << out.failure;
    }
}

INSTANTIATE_TEST_SUITE_P(Versions, Replay, ::testing::ValuesIn(test_versions()),
                         [](const auto& param_info) { return test_name(param_info.param); });

} // namespace
} // namespace handoff::proptests
