#include "handoff/proptests/property.hpp"

#include "handoff/model/versions.hpp"

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <sstream>

namespace rc::detail {
TestListener& globalTestListener(); // defined in librapidcheck, not declared in its headers
} // namespace rc::detail

namespace handoff::proptests {

namespace m = handoff::model;
namespace im = handoff::impl;

std::vector<OpKind> default_kinds() {
    std::vector<OpKind> kinds;
    for (int k = 0; k < kOpKindCount; ++k) {
        const auto kind = static_cast<OpKind>(k);
        if (kind != OpKind::node_fault && kind != OpKind::file_error_fault) {
            kinds.push_back(kind);
        }
    }
    return kinds;
}

m::Instance test_instance() {
    m::Instance instance(2);
    instance.starts = 1;
    instance.fixed[static_cast<int>(m::Var::image_locking)] = 0;
    return instance;
}

im::QemuVersion impl_version(const std::string& model_version) {
    for (im::QemuVersion v : im::all_qemu_versions) {
        if (im::to_string(v) == model_version) {
            return v;
        }
    }
    throw std::invalid_argument("no impl/ version " + model_version);
}

namespace {

// The rc::state model: only what the preconditions read (the swarm's enabled kinds). The oracle
// lives in the System, so that commands are weighted, never filtered through the model.
struct Swarm {
    std::uint32_t enabled = 0;
    bool postcopy = false; // the run has postcopy-ram: the thread's choices lean to postcopy
    // The host of the latest `migrate` command (the test's own bookkeeping, not the model's):
    // source-side steps lean to it and destination steps to its peer, so that a second
    // migration back from host 1 is as likely as a first one from host 0.
    int source = 0;
};

struct Action : rc::state::Command<Swarm, System> {
    Op op;
    const std::vector<const m::InvariantData*>* watched = nullptr;

    void checkPreconditions(const Swarm& s) const override {
        RC_PRE((s.enabled >> static_cast<int>(op.kind)) & 1u);
    }
    void apply(Swarm& s) const override {
        if (op.kind == OpKind::migrate) {
            s.source = op.host;
        }
    }
    void run(const Swarm&, System& sys) const override {
        const std::string complaint = sys.execute(op);
        if (!complaint.empty()) {
            RC_FAIL(complaint + "\n  implementation trace:\n" + sys.log());
        }
        if (watched) {
            const std::string v = sys.violated(*watched);
            if (!v.empty()) {
                RC_FAIL(v + "\n  implementation trace:\n" + sys.log());
            }
        }
    }
    void show(std::ostream& os) const override { os << describe(op); }
};

// Weights: the migration thread and the destination move the story on; failures are armed to
// land during inactivation (storage outage triggered by the inactivation of a disk) far more
// often than elsewhere.
std::size_t weight_of(OpKind k) {
    switch (k) {
    case OpKind::thread_step:
        return 14;
    case OpKind::thread_run:
        return 6;
    case OpKind::destination_run:
        return 4;
    case OpKind::incoming_co:
        return 4;
    case OpKind::incoming_bh:
    case OpKind::migrate:
    case OpKind::cont:
    case OpKind::storage_outage_at:
    case OpKind::start_destination:
    case OpKind::migrate_continue:
        return 3;
    case OpKind::start_postcopy: // must come before the thread's decisive step
        return 5;
    case OpKind::migrate_cancel:
    case OpKind::guest_write:
    case OpKind::postcopy_run_bh:
    case OpKind::postcopy_package_fault:
    case OpKind::storage_back:
    case OpKind::quit:
    case OpKind::return_path_fault:
    case OpKind::set_active:
        return 2;
    default:
        return 1;
    }
}

std::size_t weight(OpKind k, const PropertyOptions& options) {
    for (const auto& [kind, w] : options.weights) {
        if (kind == k) {
            return static_cast<std::size_t>(w);
        }
    }
    return weight_of(k);
}

// Half of the values from `aimed` (when it has any), the others from `random`.
template <class T>
rc::Gen<T> aimed_or(const std::vector<T>& aimed, rc::Gen<T> random) {
    if (aimed.empty()) {
        return random;
    }
    return rc::gen::oneOf(rc::gen::elementOf(aimed), std::move(random));
}

rc::Gen<Op> gen_op(OpKind kind, bool postcopy, int source, const PropertyOptions& options) {
    using namespace rc;
    Gen<int> node = gen::inRange(0, 2);
    Gen<int> arg = gen::just(0);
    const auto pair = [](int n, int a) { return std::pair{n, a}; };
    std::optional<Gen<std::pair<int, int>>> outage_at; // aimed: its node and arg drawn together
    // Destination steps go mostly to the peer of the latest migration's source and source steps
    // mostly to that source, so that long stories (a postcopy migration to its end, a second
    // migration back) are likely; both hosts stay possible for everything. A new migration leans
    // to the latest source too (a refused one from the other host would move the lean). A new
    // destination process replaces the one that exited (the peer) twice as often as the quit
    // source.
    const bool destination_step = kind == OpKind::incoming_co || kind == OpKind::incoming_bh ||
                                  kind == OpKind::postcopy_run_bh ||
                                  kind == OpKind::incoming_load_fault ||
                                  kind == OpKind::destination_run;
    Gen<int> host = kind == OpKind::start_destination
                        ? gen::weightedElement<int>({{1, source}, {2, 1 - source}})
                    : destination_step ? gen::weightedElement<int>({{1, source}, {4, 1 - source}})
                                       : gen::weightedElement<int>({{4, source}, {1, 1 - source}});
    switch (kind) {
    case OpKind::thread_run:
        // Run to the end: postcopy if it was requested (see System::execute_run()), or complete.
        arg = postcopy ? gen::weightedElement<int>(
                             {{1, static_cast<int>(im::IterationChoice::complete)},
                              {2, static_cast<int>(im::IterationChoice::start_postcopy)}})
                       : gen::just(static_cast<int>(im::IterationChoice::complete));
        break;
    case OpKind::thread_step:
        // What migration_iteration_run() finds. With postcopy-ram, postcopy_start() (once
        // requested) and the completion compete: lean to postcopy, or it rarely starts.
        if (postcopy) {
            arg = gen::weightedElement<int>(
                {{1, static_cast<int>(im::IterationChoice::iterate)},
                 {2, static_cast<int>(im::IterationChoice::complete)},
                 {5, static_cast<int>(im::IterationChoice::start_postcopy)}});
        } else {
            arg = gen::weightedElement<int>({{1, static_cast<int>(im::IterationChoice::iterate)},
                                             {4, static_cast<int>(im::IterationChoice::complete)}});
        }
        break;
    case OpKind::set_active:
        // Without node-name only: the v10.2 table leaves the node-name forms out (they
        // multiply its state space without a new path, see the end of tables/v10_2.hpp).
        node = gen::just(-1);
        arg = gen::inRange(0, 2);
        break;
    case OpKind::storage_outage_at: {
        arg = gen::weightedElement<int>(
            {{4, static_cast<int>(im::FaultOp::inactivate)},
             {options.half_done ? 2 : 0, static_cast<int>(im::FaultOp::inactivate) | 4},
             {1, static_cast<int>(im::FaultOp::activate)},
             {1, static_cast<int>(im::FaultOp::reopen)},
             {1, static_cast<int>(im::FaultOp::flush)}});
        if (!options.outages_at.empty()) {
            outage_at = aimed_or(options.outages_at, gen::apply(pair, node, arg));
        }
        break;
    }
    case OpKind::lock_fault:
        node = aimed_or(options.locks_at, node);
        break;
    case OpKind::node_fault:
        arg = gen::inRange(0, 8);
        break;
    case OpKind::postcopy_package_fault:
        arg = gen::inRange(1, 3);
        break;
    default:
        break;
    }
    const auto make = [kind](int h, int n, int a) {
        // An outage at the activation of disk B would often fire after the same walk re-opened
        // disk A: the model has no step for that (proptests/README.md, "Model disagreements"),
        // so activation outages go to disk A, the first in bdrv_next() order.
        const auto op = static_cast<im::FaultOp>(a & 3);
        if (kind == OpKind::storage_outage_at &&
            (op == im::FaultOp::activate || op == im::FaultOp::reopen)) {
            n = 0;
        }
        return Op{kind, h, n, a};
    };
    if (outage_at) {
        return gen::apply(
            [make](int h, std::pair<int, int> at) { return make(h, at.first, at.second); }, host,
            *outage_at);
    }
    return gen::apply(make, host, node, arg);
}

struct Setup {
    Capabilities caps;
    bool start_paused = false;
    std::uint32_t swarm = 0;
};

void showValue(const Setup& s, std::ostream& os) {
    os << "capabilities: late-block-activate=" << s.caps.late_block_activate
       << " pause-before-switchover=" << s.caps.pause_before_switchover
       << " postcopy-ram=" << s.caps.postcopy << " autostart=" << s.caps.autostart_policy
       << "; source starts " << (s.start_paused ? "paused" : "running") << "; swarm:";
    for (int k = 0; k < kOpKindCount; ++k) {
        if ((s.swarm >> k) & 1u) {
            os << " " << to_string(static_cast<OpKind>(k));
        }
    }
}

// The kinds a swarm always keeps: without them nothing migrates.
bool always_enabled(OpKind k) {
    return k == OpKind::thread_step || k == OpKind::migrate || k == OpKind::incoming_co ||
           k == OpKind::incoming_bh || k == OpKind::thread_run || k == OpKind::destination_run;
}

rc::Gen<Setup> gen_setup(const std::vector<OpKind>& pool, const PropertyOptions& options) {
    using namespace rc;
    // The model leaves postcopy together with pause-before-switchover out.
    // neither, pause, postcopy (postcopy twice as often: its rows need the longest stories)
    const auto switchover = gen::weightedElement<int>({{1, 0}, {1, 1}, {2, 2}});
    auto random = gen::apply(
        [pool, options](bool late, int sw, bool autostart, bool paused, std::vector<int> dice) {
            Setup s;
            s.caps.late_block_activate = late;
            s.caps.pause_before_switchover = sw == 1;
            s.caps.postcopy = sw == 2;
            s.caps.autostart_policy = autostart;
            s.start_paused = paused;
            for (std::size_t i = 0; i < pool.size(); ++i) {
                const bool forced =
                    std::find(options.swarm_always.begin(), options.swarm_always.end(), pool[i]) !=
                    options.swarm_always.end();
                // With kinds forced in (a run aimed at a trace), one other kind in three joins
                // the swarm; otherwise two in three.
                const bool joins = options.swarm_always.empty() ? dice[i] != 0 : dice[i] == 0;
                if (always_enabled(pool[i]) || forced || joins) {
                    s.swarm |= 1u << static_cast<int>(pool[i]);
                }
            }
            return s;
        },
        gen::arbitrary<bool>(), switchover, gen::arbitrary<bool>(), gen::arbitrary<bool>(),
        gen::container<std::vector<int>>(pool.size(), gen::inRange(0, 3)));
    if (!options.lean_to) {
        return random;
    }
    // Three test cases in four take the leaned-to capabilities and start (the swarm stays random).
    const PropertyOptions::Lean lean = *options.lean_to;
    return gen::apply(
        [lean](Setup s, int dice) {
            if (dice != 0) {
                s.caps = lean.caps;
                s.start_paused = lean.start_paused;
            }
            return s;
        },
        random, gen::inRange(0, 4));
}

std::uint64_t seed_for(const std::string& description) {
    std::uint64_t h = 1469598103934665603ull; // FNV-1a: the same seed on every machine
    for (unsigned char c : description) {
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

} // namespace

std::size_t default_weight(OpKind kind) {
    return weight_of(kind);
}

PropertyOutcome check_property(const std::string& description, const PropertyOptions& options) {
    const m::TableData* table = m::find_version(options.version);
    if (!table) {
        throw std::invalid_argument("no model version " + options.version);
    }
    const m::Interpreter interp(*table, test_instance());
    const std::vector<OpKind> pool = options.kinds.empty() ? default_kinds() : options.kinds;
    const im::QemuVersion version = impl_version(options.version);

    rc::detail::TestParams params;
    params.maxSuccess = options.test_cases;
    params.maxSize = options.max_size;
    params.seed = options.seed != 0 ? options.seed : seed_for(description);
    const char* rc_params = std::getenv("RC_PARAMS");
    const char* soak = std::getenv("HANDOFF_PROPTEST_SOAK");
    if (rc_params && std::string(rc_params).find("seed=") != std::string::npos) {
        params.seed = rc::detail::configuration().testParams.seed;
    } else if (soak && std::atoi(soak) > 0) {
        params.maxSuccess *= std::atoi(soak);
        params.seed = std::random_device{}() * 4294967296ull + std::random_device{}();
    }

    PropertyOutcome outcome;
    outcome.seed = params.seed;
    const auto* watched = &options.watched;
    const auto start = std::chrono::steady_clock::now();
    const auto cache = std::make_shared<SuccessorCache>(interp);
    auto property = [&] {
        const Setup setup = *gen_setup(pool, options);
        RunConfig config;
        config.version = version;
        config.caps = setup.caps;
        config.start_paused = setup.start_paused;
        System sys(config, interp, options.oracle, cache);
        struct Merge {
            const System& sys;
            PropertyOutcome& out;
            ~Merge() {
                for (const auto& [row, n] : sys.coverage().rows) {
                    out.coverage.rows[row] += n;
                }
                out.coverage.commands += sys.coverage().commands;
                out.coverage.stutters += sys.coverage().stutters;
                out.coverage.truncated += sys.coverage().truncated;
                ++out.test_cases;
            }
        } merge{sys, outcome};
        rc::state::check(Swarm{setup.swarm, setup.caps.postcopy, 0}, sys, [&](const Swarm& swarm) {
            std::vector<OpKind> weighted;
            for (OpKind k : pool) {
                if ((swarm.enabled >> static_cast<int>(k)) & 1u) {
                    weighted.insert(weighted.end(), weight(k, options), k);
                }
            }
            const bool postcopy = swarm.postcopy;
            const int source = swarm.source;
            const PropertyOptions* opts = &options;
            return rc::gen::mapcat(rc::gen::elementOf(weighted), [=](OpKind k) {
                return rc::gen::map(gen_op(k, postcopy, source, *opts), [watched](Op op) {
                    auto a = std::make_shared<Action>();
                    a->op = op;
                    a->watched = watched;
                    return std::shared_ptr<const rc::state::Command<Swarm, System>>(a);
                });
            });
        });
        RC_CLASSIFY(sys.crashed(), "a QEMU process crashed");
        RC_CLASSIFY(sys.coverage().rows.count("storage_lost") != 0, "storage lost");
    };

    rc::detail::TestMetadata metadata;
    metadata.id = description;
    metadata.description = description;
    std::cerr << "\n- " << description << " (seed " << params.seed << ")\n";
    const auto result =
        rc::detail::checkTestable(property, metadata, params, rc::detail::globalTestListener(),
                                  rc::detail::configuration().reproduce);
    std::ostringstream os;
    rc::detail::printResultMessage(result, os);
    std::cerr << os.str() << "\n";
    outcome.message = os.str();
    outcome.passed = result.template is<rc::detail::SuccessResult>();
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return outcome;
}

} // namespace handoff::proptests
