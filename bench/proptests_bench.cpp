// Benchmarks of the property tests (not a test; see bench/README.md, "Property tests"):
//  1. commands per second on impl/ with the oracle off and on, driven by a plain random driver
//     (std::mt19937, the default command pool, a fresh pair of processes every 60 commands) and
//     through RapidCheck (generation, swarm and shrinking included);
//  2. how many test cases RapidCheck needs to find the seed bug (no-vm-start-while-inactive) on
//     v8.0.0, over 30 seeds: the "Falsifiable after N tests" of each run, and the median.
//
// Usage: handoff_proptests_bench [--seconds S] [--seeds N] [--version V]
#include "handoff/model/invariants.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proptests/property.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

namespace hp = handoff::proptests;
namespace m = handoff::model;

namespace {

double raw_throughput(const std::string& version, bool oracle, double seconds, long& commands) {
    const m::Interpreter interp(*m::find_version(version), hp::test_instance());
    const auto pool = hp::default_kinds();
    std::mt19937_64 rng(42);
    commands = 0;
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
        hp::RunConfig config;
        config.version = hp::impl_version(version);
        config.caps.postcopy = (rng() & 1) != 0;
        config.caps.pause_before_switchover = !config.caps.postcopy && (rng() & 1) != 0;
        config.caps.late_block_activate = (rng() & 1) != 0;
        hp::System sys(config, interp, oracle);
        for (int i = 0; i < 60; ++i) {
            hp::Op op;
            op.kind = pool[rng() % pool.size()];
            if (rng() % 3 == 0) {
                op.kind = hp::OpKind::thread_step; // the story moves on mostly here
            }
            op.host = rng() % 5 < 3 ? 0 : 1;
            op.node = static_cast<int>(rng() % 2);
            op.arg = static_cast<int>(rng() % 3);
            if (op.kind == hp::OpKind::postcopy_package_fault) {
                op.arg = 1 + static_cast<int>(rng() % 2);
            }
            // As the property tests do (gen_op()): an outage at an activation goes to disk A.
            const auto fault_op = static_cast<handoff::impl::FaultOp>(op.arg);
            if (op.kind == hp::OpKind::storage_outage_at &&
                (fault_op == handoff::impl::FaultOp::activate ||
                 fault_op == handoff::impl::FaultOp::reopen)) {
                op.node = 0;
            }
            const std::string complaint = sys.execute(op);
            ++commands;
            if (!complaint.empty()) {
                std::cerr << "oracle complaint in the benchmark: " << complaint << "\n";
                std::exit(1);
            }
        }
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    return static_cast<double>(commands) / elapsed;
}

} // namespace

int main(int argc, char** argv) {
    double seconds = 2.0;
    int seeds = 30;
    std::string version = "v8.0.0";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--seconds") {
            seconds = std::atof(argv[i + 1]);
        } else if (a == "--seeds") {
            seeds = std::atoi(argv[i + 1]);
        } else if (a == "--version") {
            version = argv[i + 1];
        }
    }
    // RapidCheck prints every run; keep the benchmark's output readable.
    std::cerr.setstate(std::ios::failbit);
    long n = 0;
    const double off = raw_throughput(version, false, seconds, n);
    fmt::print("{}: plain random driver, oracle off: {:.0f} commands/s ({} commands)\n", version,
               off, n);
    const double on = raw_throughput(version, true, seconds, n);
    fmt::print("{}: plain random driver, oracle on:  {:.0f} commands/s ({} commands)\n", version,
               on, n);
    for (const bool oracle : {false, true}) {
        hp::PropertyOptions o;
        o.version = version;
        o.oracle = oracle;
        o.test_cases = oracle ? 300 : 3000;
        o.seed = 7;
        const auto out = hp::check_property("bench throughput", o);
        fmt::print("{}: through RapidCheck, oracle {}: {:.0f} commands/s ({} commands, {} test "
                   "cases, {:.2f} s)\n",
                   version, oracle ? "on: " : "off:",
                   static_cast<double>(out.coverage.commands) / out.seconds, out.coverage.commands,
                   out.test_cases, out.seconds);
    }
    // The seed bug: test cases until RapidCheck fails, per seed.
    std::vector<int> found;
    std::vector<double> times;
    int missed = 0;
    for (int s = 1; s <= seeds; ++s) {
        hp::PropertyOptions o;
        o.version = "v8.0.0";
        o.watched = {m::find_invariant("no-vm-start-while-inactive")};
        o.test_cases = 5000;
        o.seed = static_cast<std::uint64_t>(s) * 7919;
        o.expect_failure = true;
        o.write_trace = false;
        const auto out = hp::check_property("bench seed bug", o);
        if (out.falsified) {
            found.push_back(out.found_after);
            times.push_back(out.seconds);
        } else {
            ++missed;
        }
    }
    std::sort(found.begin(), found.end());
    std::sort(times.begin(), times.end());
    if (!found.empty()) {
        fmt::print("seed bug on v8.0.0 (no-vm-start-while-inactive), {} seeds: found by {}; test "
                   "cases to find it: median {}, min {}, max {}; time to find and shrink: median "
                   "{:.3f} s, max {:.3f} s\n",
                   seeds, found.size(), found[found.size() / 2], found.front(), found.back(),
                   times[times.size() / 2], times.back());
    }
    if (missed) {
        fmt::print("seed bug not found within 5000 test cases for {} seeds\n", missed);
    }
    return 0;
}
