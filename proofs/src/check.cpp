// The checker's scheduling. Work is shared per version where the engines allow it: BMC unrolls a
// version once for all of its state invariants, the explicit engine explores it once. `auto`, per
// version: BMC to a shallow depth (most counterexamples are short), then IC3 on each invariant
// still open (a certified proof ends BMC's work on it), then BMC deeper on what is left.
// `recoverable`, a graph property, goes to the recovery search (or the explicit engine).
// Across versions and profiles, IC3's proofs of one invariant share their lemmas: the strengthening
// one version needs is mostly its neighbour's (v7.2's runstate proof under documented use asks
// about 16,000 SAT queries; from its lemmas, the same proof under any use and v8.0.0's ask about
// 500 each; bench/README.md).
#include "handoff/proofs/check.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
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

// IC3's lemmas by invariant, the union of every proof found so far in one check() call; each IC3
// run takes a copy as its candidates.
class LemmaPool {
  public:
    std::shared_ptr<const std::vector<NamedClause>> candidates(std::string_view invariant) {
        const std::lock_guard<std::mutex> lock(mutex_);
        const auto it = pools_.find(invariant);
        if (it == pools_.end() || it->second.clauses.empty()) {
            return nullptr;
        }
        return std::make_shared<const std::vector<NamedClause>>(it->second.clauses);
    }
    void add(std::string_view invariant, const std::vector<NamedClause>& lemmas) {
        const std::lock_guard<std::mutex> lock(mutex_);
        auto it = pools_.find(invariant);
        if (it == pools_.end()) {
            it = pools_.emplace(std::string(invariant), Pool{}).first;
        }
        for (const NamedClause& clause : lemmas) {
            std::string key;
            for (const NamedLiteral& l : clause) {
                key += (l.positive ? "+" : "-") + l.bit + " ";
            }
            if (it->second.seen.insert(std::move(key)).second) {
                it->second.clauses.push_back(clause);
            }
        }
    }

  private:
    struct Pool {
        std::vector<NamedClause> clauses;
        std::set<std::string> seen;
    };
    std::mutex mutex_;
    std::map<std::string, Pool, std::less<>> pools_;
};

// Default depths: BMC alone searches deep; `auto` stops at kAutoDepth (--depth goes further).
constexpr int kBmcDepth = 60;
constexpr int kAutoDepth = 15;
constexpr int kAutoShallowDepth = 12;
constexpr int kKindDepth = 12;

EngineLimits limits(const CheckOptions& o, int default_depth) {
    EngineLimits l;
    l.max_depth = o.depth >= 0 ? o.depth : default_depth;
    l.timeout = o.timeout;
    l.partial_order = o.partial_order;
    return l;
}

// k-induction or PDR on one cell, in a context of its own (a timeout interrupts the context).
Result run_single(const Cell& cell, const model::Instance& instance, Engine engine,
                  const CheckOptions& o) {
    z3::context ctx;
    const Lowering low(ctx, *cell.table, instance);
    if (engine == Engine::kind) {
        return run_kind(low, *cell.invariant, limits(o, kKindDepth));
    }
    if (engine == Engine::ic3) {
        Result r = run_ic3(low, *cell.invariant, limits(o, kBmcDepth));
        if (r.ic3_found_violation) {
            // IC3 knows the invariant is violated but prints no trace of its own: BMC finds the
            // shortest one, which is replayed before it is printed.
            Result b = run_bmc(low, *cell.invariant,
                               limits(o, kBmcDepth)); // the remaining budget is BMC's own
            if (b.verdict == Verdict::violated) {
                b.detail = "IC3 found a violation; " + b.detail + " by BMC";
                b.seconds += r.seconds;
                b.engine = "ic3";
                return b;
            }
            r.detail += "; BMC: " + b.detail;
        }
        return r;
    }
    return run_pdr(low, *cell.invariant, limits(o, kBmcDepth)); // the depth of BMC's confirmation
}

// `auto` on the state invariants of one version: BMC to a shallow depth first (most
// counterexamples of the shipped tables are at most 12 steps long, and BMC finds those within
// a second), then IC3 for a slice on each invariant BMC left open (a certified proof closes it),
// then BMC deeper on what is left. IC3 also finds paths to violations, but only BMC's are the
// shortest, and only a replayed trace is printed; so IC3 gets the invariants that may hold.
std::vector<Result> run_auto(const TableData& table, const model::Instance& instance,
                             const std::vector<const InvariantData*>& invs, const CheckOptions& o,
                             LemmaPool& pool) {
    const EngineLimits lim = limits(o, kAutoDepth);
    z3::context ctx;
    const Lowering low(ctx, table, instance);
    Bmc bmc(low, invs, o.partial_order);
    const bool in_time = bmc.run(std::min(kAutoShallowDepth, lim.max_depth), lim.timeout);
    std::vector<Result> out = bmc.results();
    if (!in_time || bmc.open().empty()) {
        return out;
    }
    // Each result's time is its own: its share of BMC's work (Bmc::own_seconds) and its IC3 run.
    double ic3_seconds = 0; // every IC3 run's, for the time left to the version
    const std::vector<std::size_t> open_after_shallow = bmc.open();
    std::vector<std::string> ic3_notes(invs.size());
    std::vector<bool> ic3_found(invs.size(), false);
    std::vector<double> own_ic3(invs.size(), 0.0);
    for (std::size_t i : open_after_shallow) {
        EngineLimits slice = lim;
        slice.timeout =
            std::min(o.ic3_slice, std::max(0.1, lim.timeout - bmc.seconds() - ic3_seconds));
        slice.ic3_seed = pool.candidates(invs[i]->name);
        Result r = run_ic3(low, *invs[i], slice);
        ic3_seconds += r.seconds;
        own_ic3[i] = r.seconds;
        if (r.verdict == Verdict::proved && r.lemmas) {
            pool.add(invs[i]->name, *r.lemmas);
        }
        if (r.verdict == Verdict::proved || r.bug) {
            r.seconds = bmc.own_seconds(i) + own_ic3[i];
            out[i] = std::move(r);
            bmc.close(i);
        } else {
            ic3_found[i] = r.ic3_found_violation;
            ic3_notes[i] = fmt::format("; IC3 ({:g} s): {}", slice.timeout, r.detail);
        }
    }
    if (!bmc.open().empty() && lim.max_depth > kAutoShallowDepth) {
        bmc.run(lim.max_depth, std::max(0.1, lim.timeout - bmc.seconds() - ic3_seconds));
    }
    std::vector<Result> deeper = bmc.results();
    // An invariant IC3 found violated is violated: BMC goes on past the depth limit until it has
    // the shortest counterexample (or the time is up), so that the verdict says so.
    if (std::any_of(open_after_shallow.begin(), open_after_shallow.end(),
                    [&](std::size_t i) { return ic3_found[i] && bmc.is_open(i); })) {
        for (std::size_t i : std::vector<std::size_t>(bmc.open())) {
            if (!ic3_found[i]) {
                bmc.close(i); // its bound stays the one of `deeper`
            }
        }
        bmc.run(kBmcDepth, std::max(0.1, lim.timeout - bmc.seconds() - ic3_seconds));
        const std::vector<Result> deepest = bmc.results();
        for (std::size_t i : open_after_shallow) {
            if (ic3_found[i]) {
                deeper[i] = deepest[i];
            }
        }
    }
    for (std::size_t i : open_after_shallow) {
        if (out[i].engine != "ic3") {
            out[i] = deeper[i];
            out[i].seconds += own_ic3[i];
            out[i].detail += ic3_notes[i];
        }
    }
    return out;
}

} // namespace

std::vector<Result> check(const std::vector<Cell>& cells, const CheckOptions& o) {
    std::vector<Result> results(cells.size());
    const bool restricted = !o.restrictions.empty();
    enum class Kind { explicit_state, bmc, automatic, recovery, single };
    struct Job {
        const TableData* table;
        const model::Instance* instance;
        std::vector<std::size_t> cells;
        Kind kind;
    };
    std::vector<Job> jobs;
    auto instance_of = [&](const Cell& c) { return c.instance ? c.instance : &o.instance; };
    auto job_for = [&](std::size_t cell, Kind kind) -> Job& {
        const TableData* table = cells[cell].table;
        const model::Instance* instance = instance_of(cells[cell]);
        for (auto& j : jobs) {
            if (j.table == table && j.instance == instance && j.kind == kind) {
                return j;
            }
        }
        return jobs.emplace_back(Job{table, instance, {}, kind});
    };
    auto alone = [&](std::size_t cell, Kind kind) {
        jobs.push_back({cells[cell].table, instance_of(cells[cell]), {cell}, kind});
    };
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const bool graph = cells[i].invariant->kind != InvariantKind::StatePredicate;
        if (restricted) {
            if (graph) {
                alone(i, Kind::recovery);
            } else {
                job_for(i, Kind::bmc).cells.push_back(i);
            }
        } else if (o.engine == Engine::explicit_state) {
            job_for(i, Kind::explicit_state).cells.push_back(i);
        } else if (graph) {
            alone(i, Kind::recovery);
        } else if (o.engine == Engine::bmc) {
            job_for(i, Kind::bmc).cells.push_back(i);
        } else if (o.engine == Engine::automatic) {
            job_for(i, Kind::automatic).cells.push_back(i);
        } else {
            alone(i, Kind::single);
        }
    }
    const bool several_instances = std::any_of(jobs.begin(), jobs.end(), [&](const Job& j) {
        return j.instance != jobs.front().instance;
    });
    LemmaPool lemma_pool;
    auto restriction_for = [&](const TableData* table) -> const StepRestriction* {
        const auto it = o.restrictions.find(table->version);
        if (it == o.restrictions.end()) {
            throw std::logic_error("no restriction for " + std::string(table->version));
        }
        return it->second.get();
    };
    auto run_job = [&](const Job& job) {
        std::vector<const InvariantData*> invs;
        for (std::size_t i : job.cells) {
            invs.push_back(cells[i].invariant);
        }
        try {
            std::vector<Result> rs;
            switch (job.kind) {
            case Kind::explicit_state:
                rs = run_explicit(Interpreter(*job.table, *job.instance), invs);
                break;
            case Kind::recovery: {
                EngineLimits lim = limits(o, restricted ? kControllableDepth : 0);
                lim.restriction = restricted ? restriction_for(job.table) : nullptr;
                rs.push_back(
                    run_recoverable(Interpreter(*job.table, *job.instance), *invs.front(), lim));
                break;
            }
            case Kind::bmc: {
                z3::context ctx;
                const Lowering low(ctx, *job.table, *job.instance);
                EngineLimits lim = limits(o, restricted ? kControllableDepth : kBmcDepth);
                if (restricted) {
                    lim.restriction = restriction_for(job.table);
                    lim.partial_order = false;
                }
                rs = run_bmc_all(low, invs, lim);
                break;
            }
            case Kind::automatic:
                rs = run_auto(*job.table, *job.instance, invs, o, lemma_pool);
                break;
            case Kind::single:
                rs.push_back(run_single(cells[job.cells.front()], *job.instance, o.engine, o));
                break;
            }
            for (std::size_t k = 0; k < job.cells.size(); ++k) {
                results[job.cells[k]] = std::move(rs[k]);
            }
        } catch (const std::exception& e) {
            for (std::size_t i : job.cells) {
                results[i].version = std::string(cells[i].table->version);
                results[i].invariant = std::string(cells[i].invariant->name);
                results[i].engine = "z3";
                results[i].bug = true;
                results[i].detail = std::string("BUG: the engine failed: ") + e.what();
            }
        }
    };
    // The longest jobs first: a version's shared BMC, then the rest. Among jobs of one size, the
    // first and the last alternate (v7.2, v9.2, v8.0.0, v8.1): the jobs that start before any
    // IC3 proof has ended are the ones whose versions lie furthest apart, whose proofs share the
    // fewest lemmas; a version next to one already proved starts later and adopts its lemmas.
    std::stable_sort(jobs.begin(), jobs.end(),
                     [](const Job& a, const Job& b) { return a.cells.size() > b.cells.size(); });
    for (auto group = jobs.begin(); group != jobs.end();) {
        const auto end = std::find_if(
            group, jobs.end(), [&](const Job& j) { return j.cells.size() != group->cells.size(); });
        std::vector<Job> alternated;
        for (auto front = group, back = end; front != back;) {
            alternated.push_back(std::move(*front++));
            if (front != back) {
                alternated.push_back(std::move(*--back));
            }
        }
        std::move(alternated.begin(), alternated.end(), group);
        group = end;
    }
    // The progress: which job each worker runs, and how many cells have their verdict.
    const int threads = std::max(1, o.jobs);
    std::mutex progress_mutex;
    CheckProgress progress;
    progress.cells = cells.size();
    std::vector<std::string> running(static_cast<std::size_t>(threads));
    auto describe = [&](const Job& job) {
        const std::string version =
            std::string(job.table->version) +
            (several_instances ? (job.instance->documented_use ? " (documented use)" : " (any use)")
                               : "");
        if (job.cells.size() == 1) {
            return version + " / " + std::string(cells[job.cells.front()].invariant->name);
        }
        static constexpr const char* kind_names[] = {"explicit", "bmc", "auto", "recovery",
                                                     "single"};
        return fmt::format("{}, {} invariants ({})", version, job.cells.size(),
                           kind_names[static_cast<int>(job.kind)]);
    };
    auto report = [&](std::size_t slot, const Job* started, std::size_t finished_cells) {
        if (!o.on_progress) {
            return;
        }
        const std::lock_guard<std::mutex> lock(progress_mutex);
        running[slot] = started != nullptr ? describe(*started) : std::string();
        progress.decided += finished_cells;
        progress.running.clear();
        for (const auto& r : running) {
            if (!r.empty()) {
                progress.running.push_back(r);
            }
        }
        o.on_progress(progress);
    };
    std::atomic<std::size_t> next{0};
    auto worker = [&](std::size_t slot) {
        for (std::size_t j = next++; j < jobs.size(); j = next++) {
            report(slot, &jobs[j], 0);
            run_job(jobs[j]);
            report(slot, nullptr, jobs[j].cells.size());
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) {
        pool.emplace_back(worker, static_cast<std::size_t>(t));
    }
    worker(0);
    for (auto& t : pool) {
        t.join();
    }
    return results;
}

} // namespace handoff::proofs
