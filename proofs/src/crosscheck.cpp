#include "handoff/proofs/crosscheck.hpp"

#include "handoff/model/versions.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>

namespace handoff::proofs {

using namespace handoff::model;

namespace {

// BMC searches at least this deep, and deeper when the shortest counterexample is longer.
constexpr int kCrossBmcDepth = 20;

struct CapabilityVar {
    const char* name;
    Var var;
};
constexpr CapabilityVar kCaps[] = {{"late-block-activate", Var::cap_late_block_activate},
                                   {"pause-before-switchover", Var::cap_pause_before_switchover},
                                   {"postcopy", Var::cap_postcopy},
                                   {"autostart", Var::cap_autostart},
                                   {"image-locking", Var::image_locking}};

int length_of(const Result& r) {
    return r.trace ? static_cast<int>(r.trace->steps.size()) : -1;
}

} // namespace

std::string describe(const CrossCase& c) {
    std::string caps;
    for (const auto& cap : kCaps) {
        const int fixed = c.instance.fixed[static_cast<std::size_t>(cap.var)];
        if (fixed >= 0) {
            caps += fmt::format(", {}={}", cap.name, fixed ? "on" : "off");
        }
    }
    return fmt::format("{} / {}, N = {}, {} start(s), {} set-active call(s), {} use{}",
                       c.table->version, c.invariant->name, c.instance.nodes, c.instance.starts,
                       c.instance.set_active_calls,
                       c.instance.documented_use ? "documented" : "any", caps);
}

std::vector<std::string> contradictions(const std::vector<Result>& answers, int bmc_depth) {
    std::vector<std::string> out;
    if (answers.empty()) {
        return out;
    }
    const Result& truth = answers.front();
    for (const Result& r : answers) {
        if (r.bug) {
            out.push_back(fmt::format("{} failed its own check: {}", r.engine, r.detail));
        }
    }
    if (truth.bug || (truth.verdict != Verdict::violated && truth.verdict != Verdict::proved)) {
        return out; // nothing to compare with
    }
    const int shortest = truth.verdict == Verdict::violated ? length_of(truth) : -1;
    for (std::size_t i = 1; i < answers.size(); ++i) {
        const Result& r = answers[i];
        if (r.bug) {
            continue;
        }
        const bool promises_shortest = r.engine == "bmc" || r.engine == "recovery";
        if (truth.verdict == Verdict::proved) {
            if (r.verdict == Verdict::violated) {
                out.push_back(fmt::format(
                    "{} reports a {}-step counterexample, the complete exploration none", r.engine,
                    length_of(r)));
            } else if (r.ic3_found_violation) {
                out.push_back(fmt::format("{} found a path to a violation, the complete "
                                          "exploration none",
                                          r.engine));
            }
            continue;
        }
        // The exploration reaches a violation in `shortest` steps.
        if (r.verdict == Verdict::proved) {
            out.push_back(fmt::format("{} proves it; the exploration violates it in {} steps",
                                      r.engine, shortest));
        } else if (r.verdict == Verdict::violated &&
                   (length_of(r) < shortest || (promises_shortest && length_of(r) != shortest))) {
            out.push_back(fmt::format("{}'s counterexample has {} steps, the shortest {}", r.engine,
                                      length_of(r), shortest));
        } else if (r.engine == "bmc" && r.verdict == Verdict::bounded && bmc_depth >= shortest &&
                   r.depth >= shortest) {
            out.push_back(fmt::format("bmc found nothing to depth {}; the shortest counterexample "
                                      "has {} steps",
                                      r.depth, shortest));
        }
    }
    return out;
}

CrossCheck cross_check(const CrossCase& c, double timeout) {
    CrossCheck out;
    out.the_case = c;
    const Interpreter interp(*c.table, c.instance);
    const InvariantData& inv = *c.invariant;
    out.answers = run_explicit(interp, {&inv});
    const Result& truth = out.answers.front();
    out.complete = truth.verdict == Verdict::violated || truth.verdict == Verdict::proved;
    EngineLimits lim;
    lim.timeout = timeout;
    lim.max_depth = std::max(kCrossBmcDepth, length_of(truth));
    const int bmc_depth = lim.max_depth;
    if (inv.kind != InvariantKind::StatePredicate) {
        out.answers.push_back(run_recoverable(interp, inv, lim));
    } else {
        // Each engine on a Z3 context of its own. k-induction's and Spacer's deadlines interrupt
        // their context (Watchdog), and an interrupt that lands as the engine returns leaves the
        // context cancelled: the next engine on it would fail. Z3's "canceled" in that moment
        // is the engine not answering within its time, as an unknown.
        auto on_own_context = [&](const char* engine, const auto& run) {
            z3::context ctx;
            try {
                const Lowering low(ctx, *c.table, c.instance);
                return run(low);
            } catch (const z3::exception& e) {
                if (std::string_view(e.msg()) != "canceled") {
                    throw;
                }
                Result r;
                r.version = std::string(c.table->version);
                r.invariant = std::string(inv.name);
                r.engine = engine;
                r.detail = fmt::format("timeout (Z3 cancelled at the {:g} s deadline)", timeout);
                return r;
            }
        };
        out.answers.push_back(
            on_own_context("bmc", [&](const Lowering& low) { return run_bmc(low, inv, lim); }));
        EngineLimits kind = lim;
        kind.max_depth = 12; // check.cpp's default k
        out.answers.push_back(
            on_own_context("kind", [&](const Lowering& low) { return run_kind(low, inv, kind); }));
        out.answers.push_back(
            on_own_context("pdr", [&](const Lowering& low) { return run_pdr(low, inv, lim); }));
        out.answers.push_back(
            on_own_context("ic3", [&](const Lowering& low) { return run_ic3(low, inv, lim); }));
    }
    out.contradictions = contradictions(out.answers, bmc_depth);
    return out;
}

std::vector<CrossCase> sample_cases(std::uint64_t seed, int count) {
    std::mt19937_64 rng(seed);
    auto pick = [&](std::size_t n) {
        return static_cast<std::size_t>(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
    };
    const auto versions = all_versions();
    std::vector<CrossCase> out;
    while (static_cast<int>(out.size()) < count) {
        CrossCase c;
        c.table = versions[pick(versions.size())];
        std::vector<const InvariantData*> applicable;
        for (const auto& inv : all_invariants()) {
            if (inv.applies_to(c.table->version)) {
                applicable.push_back(&inv);
            }
        }
        c.invariant = applicable[pick(applicable.size())];
        c.instance = Instance(1 + static_cast<int>(pick(2)));
        // At most one start and one blockdev-set-active call: the exploration of every case must
        // finish in seconds (the default budget, 1 and 1, is the largest drawn).
        c.instance.starts = static_cast<int>(pick(2));
        c.instance.set_active_calls = static_cast<int>(pick(2));
        c.instance.documented_use = pick(2) == 1;
        for (const auto& cap : kCaps) {
            c.instance.fixed[static_cast<std::size_t>(cap.var)] = static_cast<int>(pick(3)) - 1;
        }
        if (c.instance.documented_use) {
            c.instance.fixed[static_cast<std::size_t>(Var::image_locking)] = 1;
        }
        out.push_back(c);
    }
    return out;
}

} // namespace handoff::proofs
