#include "handoff/proofs/check.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

namespace handoff::proofs {

using namespace handoff::model;

std::vector<Cell> all_cells(const std::vector<const TableData*>& versions) {
    std::vector<Cell> cells;
    for (const TableData* t : versions) {
        for (const auto& inv : all_invariants()) {
            if (inv.applies_to(t->version)) {
                cells.push_back({t, &inv});
            }
        }
    }
    return cells;
}

namespace {

EngineLimits limits(const CheckOptions& o, int default_depth) {
    EngineLimits l;
    l.max_depth = o.depth >= 0 ? o.depth : default_depth;
    l.timeout = o.timeout;
    return l;
}

// One Z3 engine run on one cell, in a context of its own (a timeout interrupts the context).
Result run_z3(const Cell& cell, Engine engine, const CheckOptions& o) {
    z3::context ctx;
    const Lowering low(ctx, *cell.table, o.instance);
    switch (engine) {
    case Engine::bmc:
        return run_bmc(low, *cell.invariant, limits(o, 60));
    case Engine::kind:
        return run_kind(low, *cell.invariant, limits(o, 12));
    case Engine::pdr:
        return run_pdr(low, *cell.invariant, limits(o, 200));
    case Engine::automatic: {
        // PDR first, for a short slice: when Spacer converges here it does so within a second.
        // Then BMC with the rest of the time, for the shortest counterexample (in a fresh context:
        // a timeout interrupts its context).
        EngineLimits first = limits(o, 200);
        first.timeout = std::min(3.0, o.timeout / 4);
        Result pdr = run_pdr(low, *cell.invariant, first);
        if (pdr.verdict == Verdict::proved || pdr.bug) {
            return pdr;
        }
        z3::context ctx2;
        const Lowering low2(ctx2, *cell.table, o.instance);
        EngineLimits rest = limits(o, 60);
        rest.timeout = std::max(1.0, o.timeout - pdr.seconds);
        Result bmc = run_bmc(low2, *cell.invariant, rest);
        bmc.seconds += pdr.seconds;
        if (bmc.verdict != Verdict::violated && !bmc.bug) {
            bmc.detail += "; PDR: " + pdr.detail;
        }
        return bmc;
    }
    case Engine::explicit_state:
        break;
    }
    throw std::logic_error("not a Z3 engine");
}

} // namespace

std::vector<Result> check(const std::vector<Cell>& cells, const CheckOptions& o) {
    std::vector<Result> results(cells.size());
    // The explicit engine explores a version once for all of its invariants.
    std::map<const TableData*, std::vector<std::size_t>> explicit_cells;
    std::vector<std::size_t> z3_cells;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const bool graph = cells[i].invariant->kind != InvariantKind::StatePredicate;
        if (o.engine == Engine::explicit_state || graph) {
            explicit_cells[cells[i].table].push_back(i);
        } else {
            z3_cells.push_back(i);
        }
    }
    struct Job {
        const TableData* table;
        std::vector<std::size_t> cells;
        bool explicit_state;
    };
    std::vector<Job> jobs;
    for (auto& [table, list] : explicit_cells) {
        jobs.push_back({table, list, true});
    }
    for (std::size_t i : z3_cells) {
        jobs.push_back({cells[i].table, {i}, false});
    }
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t j = next++; j < jobs.size(); j = next++) {
            const Job& job = jobs[j];
            if (job.explicit_state) {
                const Interpreter interp(*job.table, o.instance);
                std::vector<const InvariantData*> invs;
                for (std::size_t i : job.cells) {
                    invs.push_back(cells[i].invariant);
                }
                auto rs = run_explicit(interp, invs);
                for (std::size_t k = 0; k < job.cells.size(); ++k) {
                    results[job.cells[k]] = std::move(rs[k]);
                }
            } else {
                const std::size_t i = job.cells.front();
                try {
                    results[i] = run_z3(cells[i], o.engine, o);
                } catch (const std::exception& e) {
                    results[i].version = std::string(cells[i].table->version);
                    results[i].invariant = std::string(cells[i].invariant->name);
                    results[i].engine = "z3";
                    results[i].bug = true;
                    results[i].detail = std::string("BUG: the engine failed: ") + e.what();
                }
            }
        }
    };
    const int threads = std::max(1, o.jobs);
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) {
        pool.emplace_back(worker);
    }
    worker();
    for (auto& t : pool) {
        t.join();
    }
    return results;
}

} // namespace handoff::proofs
