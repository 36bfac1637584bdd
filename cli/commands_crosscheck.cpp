// `handoff crosscheck`: every engine that can decide a pair decides it, on one instance or on a
// random sample of small ones, and the answers are compared with the complete exploration
// (proofs/crosscheck.hpp). A contradiction is a checker bug: exit code 4.
#include "commands.hpp"
#include "instance_options.hpp"

#include "handoff/proofs/crosscheck.hpp"

#include <fmt/core.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace handoff::cli {

namespace {

struct CrossArgs {
    std::string version, invariant;
    InstanceOptions instance;
    double timeout = 10;
    int sample = 0;
    std::uint64_t seed = 0;
};

// Prints the case and each engine's answer; returns whether the engines agree.
bool report(const proofs::CrossCheck& cc) {
    fmt::print("{}\n", proofs::describe(cc.the_case));
    for (const proofs::Result& r : cc.answers) {
        fmt::print("  {:<9} {:<9}{} ({:.2f} s) {}\n", r.engine, proofs::verdict_name(r.verdict),
                   r.trace ? fmt::format(" {} steps", r.trace->steps.size()) : "", r.seconds,
                   r.detail);
    }
    if (!cc.complete) {
        fmt::print("  not judged: the exploration did not finish\n");
    }
    for (const auto& why : cc.contradictions) {
        fmt::print("  CHECKER BUG: {}\n", why);
    }
    if (cc.complete && cc.contradictions.empty()) {
        fmt::print("  the engines agree\n");
    }
    return cc.contradictions.empty();
}

void run_crosscheck(const CrossArgs& a, bool seed_given) {
    if (a.timeout <= 0) {
        throw UsageError(fmt::format("--timeout must be positive, not {}", a.timeout));
    }
    std::vector<proofs::CrossCase> cases;
    if (a.sample > 0) {
        if (!a.version.empty() || !a.invariant.empty()) {
            throw UsageError("--sample draws versions and invariants itself: no --version or "
                             "--invariant with it");
        }
        const std::uint64_t seed = seed_given ? a.seed : std::random_device{}();
        fmt::print("seed {} (the same sample: --sample {} --seed {})\n", seed, a.sample, seed);
        cases = proofs::sample_cases(seed, a.sample);
    } else {
        if (a.version.empty()) {
            throw UsageError("give --version (and optionally --invariant), or --sample K");
        }
        const model::TableData& table = require_version(a.version);
        const model::Instance instance = a.instance.instance();
        for (const auto& inv : model::all_invariants()) {
            if (inv.applies_to(table.version) &&
                (a.invariant.empty() || inv.name == require_invariant(a.invariant).name)) {
                cases.push_back({&table, &inv, instance});
            }
        }
        if (cases.empty()) {
            throw UsageError(
                fmt::format("invariant '{}' does not apply to {}", a.invariant, table.version));
        }
    }
    bool agree = true, judged = true;
    for (const auto& c : cases) {
        const proofs::CrossCheck cc = proofs::cross_check(c, a.timeout);
        agree = report(cc) && agree;
        judged = judged && cc.complete;
    }
    exit_code() = !agree ? 4 : judged ? 0 : 3;
}

} // namespace

void register_crosscheck_command(CLI::App& app) {
    auto a = std::make_shared<CrossArgs>();
    auto* cmd = app.add_subcommand(
        "crosscheck", "Every engine on the same pairs (explicit, BMC, k-induction, PDR, IC3; "
                      "explicit and the recovery search for recoverable), compared with the "
                      "complete exploration of a small instance");
    cmd->add_option("--version", a->version, "QEMU version, e.g. v8.1");
    cmd->add_option("--invariant", a->invariant, "One invariant (default: every one that applies)");
    a->instance.add_to(cmd);
    cmd->add_option("--timeout", a->timeout, "Seconds per engine run")->capture_default_str();
    cmd->add_option("--sample", a->sample,
                    "Instead: K random cases (version, invariant, N = 1 or 2, profile, "
                    "capabilities)")
        ->check(CLI::Range(1, 1000));
    auto* seed = cmd->add_option("--seed", a->seed,
                                 "The sample's seed (default: a random one, "
                                 "printed)");
    cmd->footer("Exit codes: 0 every engine agrees with the exploration, 4 a contradiction (a "
                "checker bug), 3 an exploration did not finish (nothing judged), 2 bad input.");
    cmd->callback([a, seed] { run_crosscheck(*a, seed->count() > 0); });
}

} // namespace handoff::cli
