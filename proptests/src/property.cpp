#include "handoff/proptests/property.hpp"

#include "handoff/model/invariants.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/detail/Configuration.h>
#include <rapidcheck/detail/TestListener.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#ifndef HANDOFF_PROPTEST_DEFAULT_TRACE_DIR
#error "HANDOFF_PROPTEST_DEFAULT_TRACE_DIR (build/Testing/proptest-traces) must be defined"
#endif

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

int test_nodes(m::GraphShape shape) {
    // Two disks where a disk is cheap (flat) or where the shape needs two (shared-base); one disk
    // of a chain or a job keeps the oracle's model states few.
    switch (shape) {
    case m::GraphShape::flat:
        return 2;
    case m::GraphShape::chain:
        return m::BlockGraph::node_count(shape, 1);
    case m::GraphShape::shared_base:
        return m::BlockGraph::node_count(shape, 2);
    case m::GraphShape::job:
        return m::BlockGraph::node_count(shape, 1);
    }
    return 2;
}

m::Instance test_instance(m::GraphShape shape) {
    m::Instance instance(test_nodes(shape));
    instance.graph = shape;
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

// Where the generator may place the node of a command or a fault on a run's graph (model node
// indices), so that a fault lands where the model says QEMU can fail.
struct NodePlaces {
    int nodes = 2;
    int disks = 2;
    std::vector<int> roots;        // the BlockBackends' nodes
    std::vector<int> format_nodes; // the nodes whose activation can fail on a lock
    // The nodes a failed inactivation can leave half done: a BlockBackend's callback ran, and
    // the node's own inactivation can fail (a format node; a filter has no bdrv_inactivate).
    std::vector<int> format_roots;
    // The first node bdrv_activate_all() enters (a root) and the first it re-opens (a format
    // node): an outage there hits the walk before it changed anything, which is what the model's
    // storage, up or down for a whole step, can say (proptests/README.md).
    int first_entered = 0;
    int first_reopened = 0;

    explicit NodePlaces(const m::BlockGraph& graph) : nodes(graph.size()) {
        for (int x = 0; x < graph.size(); ++x) {
            if (graph.is_root(x)) {
                roots.push_back(x);
            }
            if (graph.nodes()[static_cast<std::size_t>(x)].kind == m::NodeKind::format) {
                format_nodes.push_back(x);
                if (graph.is_root(x)) {
                    format_roots.push_back(x);
                }
            }
        }
        disks = static_cast<int>(roots.size());
        first_entered = roots.front();
        for (int x : graph.activation_order()) {
            if (graph.nodes()[static_cast<std::size_t>(x)].kind == m::NodeKind::format) {
                first_reopened = x;
                break;
            }
        }
    }
};

// The rc::state model: only what the preconditions read (the swarm's enabled kinds). The oracle
// lives in the System, so that commands are weighted, never filtered through the model.
struct Swarm {
    std::uint32_t enabled = 0;
    bool postcopy = false; // the run has postcopy-ram: the thread's choices lean to postcopy
    // The host of the latest `migrate` command (the test's own bookkeeping, not the model's):
    // source-side steps lean to it and destination steps to its peer, so that a second
    // migration back from host 1 is as likely as a first one from host 0.
    int source = 0;
    const NodePlaces* places = nullptr; // the test case's graph
};

// Fails the test case with `message` alone (RC_FAIL would prefix this file's name, its line and
// the macro's source text to every counterexample).
[[noreturn]] void fail_case(const std::string& message) {
    throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Failure, message);
}

struct Action : rc::state::Command<Swarm, System> {
    Op op;
    const std::vector<const m::InvariantData*>* watched = nullptr;
    const NodeNames* names = nullptr;

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
            fail_case(complaint + "\n  implementation trace:\n" + sys.log());
        }
        if (watched) {
            const std::string v = sys.violated(*watched);
            if (!v.empty()) {
                fail_case(v + "\n  implementation trace:\n" + sys.log());
            }
        }
    }
    void show(std::ostream& os) const override { os << describe(op, *names); }
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

rc::Gen<Op> gen_op(OpKind kind, bool postcopy, int source, const NodePlaces& places,
                   const PropertyOptions& options) {
    using namespace rc;
    Gen<int> node = gen::inRange(0, places.nodes);
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
    case OpKind::set_active: {
        // Without node-name (every node) half of the time, else one node by name: the 10.x
        // tables have both forms (blockdev_set_active_all, blockdev_set_active_node).
        // gen::weightedElement() of {nodes, -1}, {1, 0}, {1, 1}, ... (it takes only a literal
        // list): flat's {2, -1}, {1, 0}, {1, 1} as before the graph.
        std::vector<std::size_t> weights{static_cast<std::size_t>(places.nodes)};
        std::vector<int> names{-1};
        for (int x = 0; x < places.nodes; ++x) {
            weights.push_back(1);
            names.push_back(x);
        }
        node = gen::detail::WeightedElementGen<int>(std::move(weights), std::move(names));
        arg = gen::inRange(0, 2);
        break;
    }
    case OpKind::guest_write:
        node = gen::inRange(0, places.disks);
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
        // The n-th format node (on the flat graph, node n: the draw is the one it was before).
        node = aimed_or(options.locks_at,
                        gen::map(gen::inRange(0, static_cast<int>(places.format_nodes.size())),
                                 [formats = places.format_nodes](int i) {
                                     return formats[static_cast<std::size_t>(i)];
                                 }));
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
    const NodePlaces* where = &places;
    const auto make = [kind, where](int h, int n, int a) {
        // An outage at the activation of disk B would often fire after the same walk re-opened
        // disk A: the model has no step for that (proptests/README.md, "Model disagreements"),
        // so activation outages go to the first node the walk enters (disk A on the flat graph,
        // the first in bdrv_next() order), and re-open outages to the first node it re-opens (on
        // a chain, the first disk's backing image). Only a format root is left half
        // inactivated; on a graph without one (job: the guest's BlockBackend is on the filter),
        // the outage leaves nothing half done.
        const auto op = static_cast<im::FaultOp>(a & 3);
        const std::vector<int>& halves = where->format_roots;
        if (kind == OpKind::storage_outage_at) {
            if (op == im::FaultOp::activate) {
                n = where->first_entered;
            } else if (op == im::FaultOp::reopen) {
                n = where->first_reopened;
            } else if ((a & 4) != 0 && halves.empty()) {
                a &= 3;
            } else if ((a & 4) != 0 && std::find(halves.begin(), halves.end(), n) == halves.end()) {
                n = halves[static_cast<std::size_t>(n) % halves.size()];
            }
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
    m::GraphShape graph = m::GraphShape::flat;
};

void showValue(const Setup& s, std::ostream& os) {
    os << "capabilities: late-block-activate=" << s.caps.late_block_activate
       << " pause-before-switchover=" << s.caps.pause_before_switchover
       << " postcopy-ram=" << s.caps.postcopy << " autostart=" << s.caps.autostart_policy
       << "; source starts " << (s.start_paused ? "paused" : "running") << "; graph "
       << m::graph_shape_name(s.graph) << "; swarm:";
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

rc::Gen<Setup> gen_setup_without_graph(const std::vector<OpKind>& pool,
                                       const PropertyOptions& options) {
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

// The graph of a test case: one of options.graphs. With one shape, no random draw: the test cases
// of a property on the flat graph stay the ones its seed gave before graphs were drawn.
rc::Gen<Setup> gen_setup(const std::vector<OpKind>& pool, const PropertyOptions& options) {
    auto setup = gen_setup_without_graph(pool, options);
    if (options.graphs.size() == 1) {
        const m::GraphShape only = options.graphs.front();
        return rc::gen::map(std::move(setup), [only](Setup s) {
            s.graph = only;
            return s;
        });
    }
    return rc::gen::apply(
        [](Setup s, m::GraphShape g) {
            s.graph = g;
            return s;
        },
        std::move(setup), rc::gen::elementOf(options.graphs));
}

// RapidCheck's global listener prints, when the program exits, "Some of your RapidCheck
// properties had failures" with one RC_PARAMS="reproduce=..." for all of them, expected
// counterexamples included; and its configuration() prints a seed no property here uses. Neither
// is called: RC_PARAMS is read below, and every property reports its own outcome and seed.
struct SilentListener : rc::detail::TestListener {
    void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
    void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
    void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
};

// RC_PARAMS, read once: the keys the property tests honour are seed, reproduce and noshrink.
struct RcParams {
    std::optional<std::uint64_t> seed;
    std::unordered_map<std::string, rc::detail::Reproduce> reproduce;
    bool noshrink = false;
};

const RcParams& rc_params() {
    static const RcParams params = [] {
        RcParams p;
        const char* text = std::getenv("RC_PARAMS");
        if (text == nullptr || *text == '\0') {
            return p;
        }
        rc::detail::Configuration config;
        try {
            config = rc::detail::configFromString(text);
        } catch (const rc::detail::ConfigurationException& e) {
            throw std::invalid_argument(fmt::format("RC_PARAMS=\"{}\": {}", text, e.what()));
        }
        if (std::string(text).find("seed=") != std::string::npos) {
            p.seed = config.testParams.seed;
        }
        p.reproduce = config.reproduce;
        p.noshrink = config.testParams.disableShrinking;
        return p;
    }();
    return params;
}

int soak_factor() {
    const char* soak = std::getenv("HANDOFF_PROPTEST_SOAK");
    return soak != nullptr ? std::max(0, std::atoi(soak)) : 0;
}

// HANDOFF_PROPTEST_BUDGET=F (0 < F <= 1): the share of its test cases a property that must hold
// runs (the sanitizer build in CI: ./run sanitize all). A property expected to fail keeps its
// budget: it stops at its first failure anyway, and a smaller budget could only hide it.
double budget_share() {
    const char* text = std::getenv("HANDOFF_PROPTEST_BUDGET");
    if (text == nullptr || *text == '\0') {
        return 1.0;
    }
    char* end = nullptr;
    const double share = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(share > 0 && share <= 1)) {
        throw std::invalid_argument(
            fmt::format("HANDOFF_PROPTEST_BUDGET=\"{}\": expected a share in (0, 1]", text));
    }
    return share;
}

// "v8.0.0 violates no-double-inactivate" -> "v8.0.0-violates-no-double-inactivate".
std::string file_name_of(const std::string& description) {
    std::string out;
    for (char c : description) {
        const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_';
        if (keep) {
            out += c;
        } else if (!out.empty() && out.back() != '-') {
            out += '-';
        }
    }
    while (!out.empty() && (out.back() == '-' || out.back() == '.')) {
        out.pop_back();
    }
    return out.empty() ? "property" : out;
}

// Writes `j` to `path`, creating its folder; false if that fails.
bool write_json(const std::filesystem::path& path, const nlohmann::json& j) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    std::ofstream out(path);
    out << j.dump(2) << "\n";
    out.close();
    return !ec && out.good();
}

// How to run this program's current test again, as a shell command's tail.
std::string this_test() {
    std::error_code ec;
    std::string program = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec) {
        program = "<this test program>";
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (info == nullptr) {
        return program;
    }
    return fmt::format("{} --gtest_filter='{}.{}'", program, info->test_suite_name(), info->name());
}

std::string indent(const std::string& text, const std::string& prefix) {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out += prefix + line + "\n";
    }
    return out;
}

// The shrunk case: the values RapidCheck shows (the setup, the command list), then what failed.
std::string counterexample_text(const rc::detail::FailureResult& failure) {
    std::string out;
    for (const auto& [type, value] : failure.counterExample) {
        const auto end = value.find_last_not_of(" \n");
        out += value.substr(0, end == std::string::npos ? 0 : end + 1) + "\n";
    }
    return out + failure.description;
}

// Per tag of RC_CLASSIFY, the share of test cases it was given to.
std::string distribution_text(const rc::detail::SuccessResult& success) {
    std::map<std::string, int> per_tag;
    for (const auto& [tags, count] : success.distribution) {
        for (const auto& tag : tags) {
            // RC_CLASSIFY's tags come as RapidCheck shows a string: in double quotes.
            const bool quoted = tag.size() >= 2 && tag.front() == '"' && tag.back() == '"';
            per_tag[quoted ? tag.substr(1, tag.size() - 2) : tag] += count;
        }
    }
    std::string out;
    for (const auto& [tag, count] : per_tag) {
        out += fmt::format("{}{:.1f}% {}", out.empty() ? "" : ", ",
                           100.0 * count / std::max(1, success.numSuccess), tag);
    }
    return out;
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

std::string trace_dir() {
    const char* dir = std::getenv("HANDOFF_PROPTEST_TRACE_DIR");
    return dir != nullptr && *dir != '\0' ? dir : HANDOFF_PROPTEST_DEFAULT_TRACE_DIR;
}

ModelTraceReplay replay_model_trace(const std::string& path) {
    ModelTraceReplay out;
    std::ifstream in(path);
    if (!in) {
        out.error = "cannot read " + path;
        return out;
    }
    try {
        const nlohmann::json j = nlohmann::json::parse(in);
        const proofs::TraceHeader header = proofs::read_trace_header(j);
        const m::Interpreter interp(*header.table, header.instance);
        const m::Trace trace = proofs::trace_from_json(interp, j);
        out.steps = trace.steps.size();
        if (header.invariant != nullptr) {
            out.invariant = header.invariant->name;
            const m::State& last = trace.steps.empty() ? trace.initial : trace.steps.back().state;
            out.violated = !m::holds(interp, *header.invariant, last);
        }
    } catch (const std::exception& e) {
        out.error = path + ": " + e.what();
    }
    return out;
}

PropertyOutcome check_property(const std::string& description, const PropertyOptions& options) {
    const m::TableData* table =
        options.table != nullptr ? options.table : m::find_version(options.version);
    if (!table) {
        throw std::invalid_argument("no model version " + options.version);
    }
    if (options.graphs.empty()) {
        throw std::invalid_argument("a property needs at least one graph shape");
    }
    // Per graph shape the test cases may draw: the model of that instance, its successors'
    // cache, and where commands may place their node.
    struct ShapeContext {
        std::unique_ptr<m::Interpreter> interp;
        std::shared_ptr<SuccessorCache> cache;
        std::unique_ptr<NodePlaces> places;
        NodeNames names;
    };
    std::map<m::GraphShape, ShapeContext> shapes;
    for (m::GraphShape shape : options.graphs) {
        ShapeContext& c = shapes[shape];
        if (c.interp) {
            continue;
        }
        c.interp = std::make_unique<m::Interpreter>(*table, test_instance(shape));
        c.cache = std::make_shared<SuccessorCache>(*c.interp);
        c.places = std::make_unique<NodePlaces>(c.interp->graph());
        RunConfig names_of;
        names_of.graph = shape;
        names_of.nodes = test_nodes(shape);
        c.names = node_names(names_of);
    }
    const std::vector<OpKind> pool = options.kinds.empty() ? default_kinds() : options.kinds;
    const im::QemuVersion version =
        impl_version(options.impl_version.empty() ? options.version : options.impl_version);

    PropertyOutcome outcome;
    const RcParams& rc_env = rc_params();
    const char* only = std::getenv("HANDOFF_PROPTEST_ONLY");
    const bool reproducing = !rc_env.reproduce.empty();
    if ((reproducing && rc_env.reproduce.count(description) == 0) ||
        (only != nullptr && *only != '\0' && description != only)) {
        std::cerr << fmt::format("property \"{}\": skipped ({} names another property)\n",
                                 description, reproducing ? "RC_PARAMS" : "HANDOFF_PROPTEST_ONLY");
        outcome.skipped = true;
        return outcome;
    }

    rc::detail::TestParams params;
    params.maxSuccess = options.test_cases;
    params.maxSize = options.max_size;
    params.disableShrinking = rc_env.noshrink || !options.shrink;
    params.seed = options.seed != 0 ? options.seed : seed_for(description);
    if (!options.expect_failure) {
        params.maxSuccess = std::max(1, static_cast<int>(params.maxSuccess * budget_share()));
    }
    const int soak = soak_factor();
    if (soak > 0) {
        params.maxSuccess *= soak;
        params.seed = std::random_device{}() * 4294967296ull + std::random_device{}();
    }
    if (rc_env.seed) {
        params.seed = *rc_env.seed;
    }

    outcome.seed = params.seed;
    const auto* watched = &options.watched;
    const auto start = std::chrono::steady_clock::now();
    // Set for the second run of a shrunk case: the System records the model's path, and the
    // failing run leaves its trace here.
    struct Recording {
        std::optional<m::Trace> trace;
        const m::Interpreter* interp = nullptr; // the model of the failing case's graph
        const m::InvariantData* invariant = nullptr;
        std::string error;
    };
    Recording* recording = nullptr;
    auto property = [&] {
        const Setup setup = *gen_setup(pool, options);
        const ShapeContext& shape = shapes.at(setup.graph);
        RunConfig config;
        config.version = version;
        config.caps = setup.caps;
        config.start_paused = setup.start_paused;
        config.graph = setup.graph;
        config.nodes = test_nodes(setup.graph);
        System sys(config, *shape.interp, options.oracle, shape.cache);
        if (recording != nullptr) {
            sys.record_model_paths();
        }
        struct Merge {
            const System& sys;
            PropertyOutcome& out;
            Recording* recording;
            const std::vector<const m::InvariantData*>& watched;
            const m::Interpreter* interp;
            int uncaught = std::uncaught_exceptions();
            ~Merge() {
                if (recording != nullptr) {
                    // Only a failing run (fail_case() throws) is the counterexample's.
                    if (std::uncaught_exceptions() > uncaught) {
                        try {
                            recording->interp = interp;
                            recording->trace = sys.model_trace();
                            recording->invariant = sys.violated_invariant(watched);
                        } catch (const std::exception& e) {
                            recording->error = e.what();
                        }
                    }
                    return;
                }
                for (const auto& [row, n] : sys.coverage().rows) {
                    out.coverage.rows[row] += n;
                }
                for (const auto& [event, n] : sys.coverage().graph_events) {
                    out.coverage.graph_events[event] += n;
                }
                out.coverage.commands += sys.coverage().commands;
                out.coverage.stutters += sys.coverage().stutters;
                out.coverage.truncated += sys.coverage().truncated;
                ++out.test_cases;
            }
        } merge{sys, outcome, recording, *watched, shape.interp.get()};
        rc::state::check(
            Swarm{setup.swarm, setup.caps.postcopy, 0, shape.places.get()}, sys,
            [&](const Swarm& swarm) {
                std::vector<OpKind> weighted;
                for (OpKind k : pool) {
                    if ((swarm.enabled >> static_cast<int>(k)) & 1u) {
                        weighted.insert(weighted.end(), weight(k, options), k);
                    }
                }
                const bool postcopy = swarm.postcopy;
                const int source = swarm.source;
                const NodePlaces* places = swarm.places;
                const NodeNames* names = &shape.names;
                const PropertyOptions* opts = &options;
                return rc::gen::mapcat(rc::gen::elementOf(weighted), [=](OpKind k) {
                    return rc::gen::map(
                        gen_op(k, postcopy, source, *places, *opts), [watched, names](Op op) {
                            auto a = std::make_shared<Action>();
                            a->op = op;
                            a->watched = watched;
                            a->names = names;
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
    const std::string rerun_env =
        (soak > 0 ? fmt::format("HANDOFF_PROPTEST_SOAK={} ", soak) : std::string()) +
        fmt::format("HANDOFF_PROPTEST_ONLY='{}' RC_PARAMS=\"seed={}\"", description, params.seed);
    if (reproducing) {
        std::cerr << fmt::format("\nproperty \"{}\": its shrunk case only (RC_PARAMS reproduce)\n",
                                 description);
    } else {
        std::cerr << fmt::format(
            "\nproperty \"{}\": seed {}, {} test cases of up to {} commands{}\n", description,
            params.seed, params.maxSuccess, params.maxSize,
            options.expect_failure ? ", a counterexample expected" : "");
    }
    SilentListener listener;
    const auto result =
        rc::detail::checkTestable(property, metadata, params, listener, rc_env.reproduce);
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    rc::detail::SuccessResult success;
    rc::detail::FailureResult failure;
    if (result.match(success)) {
        outcome.passed = true;
        const std::string classes = distribution_text(success);
        if (!options.expect_failure) {
            std::cerr << fmt::format("  passed: held in all {} test cases ({} commands, {:.1f} "
                                     "s){}\n",
                                     success.numSuccess, outcome.coverage.commands, outcome.seconds,
                                     classes.empty() ? "" : "; " + classes);
        } else {
            std::cerr << fmt::format("  NO COUNTEREXAMPLE in {} test cases ({:.1f} s){}\n"
                                     "  re-run exactly: {} {}\n",
                                     success.numSuccess, outcome.seconds,
                                     classes.empty() ? "" : "; " + classes, rerun_env, this_test());
        }
        return outcome;
    }
    if (!result.match(failure)) {
        // Gave up (too many discards) or an error of RapidCheck's: never what a test expects.
        std::ostringstream os;
        rc::detail::printResultMessage(result, os);
        outcome.message = os.str();
        std::cerr << fmt::format("  FAILED: RapidCheck could not run the property:\n{}"
                                 "  re-run exactly: {} {}\n",
                                 indent(outcome.message, "    "), rerun_env, this_test());
        return outcome;
    }
    outcome.falsified = true;
    outcome.found_after = failure.numSuccess + 1;
    outcome.shrinks = static_cast<int>(failure.reproduce.shrinkPath.size());
    outcome.message = counterexample_text(failure);

    std::size_t steps_written = 0;
    // The failure was a watched invariant (the trace ends in its violation and names it), not
    // a step the model could not explain (the trace ends in the last state the oracle matched).
    bool names_invariant = false;
    if (!options.write_trace) {
        outcome.trace_note = "not asked for";
    } else if (!options.oracle) {
        outcome.trace_note = "the oracle was off: no model states to write";
    } else {
        // The shrunk case once more, with the model's path recorded.
        Recording rec;
        recording = &rec;
        const std::unordered_map<std::string, rc::detail::Reproduce> shrunk{
            {description, failure.reproduce}};
        const auto again = rc::detail::checkTestable(property, metadata, params, listener, shrunk);
        recording = nullptr;
        if (!again.template is<rc::detail::FailureResult>() || !rec.trace) {
            outcome.trace_note = rec.error.empty()
                                     ? "the shrunk case did not fail when run again"
                                     : "recording the model's path failed: " + rec.error;
        } else {
            const std::filesystem::path path =
                std::filesystem::path(trace_dir()) /
                ((options.trace_name.empty() ? file_name_of(description) : options.trace_name) +
                 ".json");
            if (write_json(path, proofs::trace_to_json(*rec.interp, *rec.trace, rec.invariant))) {
                outcome.trace_path = path.string();
                steps_written = rec.trace->steps.size();
                names_invariant = rec.invariant != nullptr;
            } else {
                outcome.trace_note = "cannot write " + path.string();
            }
        }
    }
    // Where RapidCheck found the counterexample (a reproduced case was not searched for).
    const std::string found =
        reproducing
            ? fmt::format("the shrunk case fails ({} shrinks)", outcome.shrinks)
            : fmt::format("test case {}, shrunk {} times", outcome.found_after, outcome.shrinks);
    const std::string trace_line =
        outcome.trace_path.empty()
            ? fmt::format("  no model trace: {}\n", outcome.trace_note)
            : fmt::format("  model trace of the shrunk run ({} step{}{}; for handoff replay, "
                          "replay-qemu): {}\n",
                          steps_written, steps_written == 1 ? "" : "s",
                          names_invariant ? "" : ", up to the last step the model explained",
                          outcome.trace_path);
    if (options.expect_failure) {
        std::cerr << fmt::format("  counterexample found, as expected: {} ({:.1f} s):\n{}{}", found,
                                 outcome.seconds, indent(outcome.message, "    "), trace_line);
    } else {
        rc::detail::Configuration reproduce;
        reproduce.testParams.seed = params.seed;
        reproduce.reproduce[description] = failure.reproduce;
        std::cerr << fmt::format("  FAILED: falsified: {} ({:.1f} s):\n{}{}"
                                 "  re-run exactly: {} {}\n"
                                 "  only the shrunk case: RC_PARAMS=\"{}\" {}\n",
                                 found, outcome.seconds, indent(outcome.message, "    "),
                                 trace_line, rerun_env, this_test(),
                                 rc::detail::configToMinimalString(reproduce), this_test());
    }
    return outcome;
}

} // namespace handoff::proptests
