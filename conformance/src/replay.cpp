#include "handoff/conformance/replay.hpp"

#include "handoff/conformance/controls.hpp"

#include "handoff/model/explore.hpp"
#include "handoff/model/interpreter.hpp"
#include "handoff/model/invariants.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/versions.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <thread>

namespace handoff::conformance {

namespace m = handoff::model;

std::string verdict_name(Verdict v) {
    switch (v) {
    case Verdict::reproduced:
        return "reproduced";
    case Verdict::diverged:
        return "diverged";
    case Verdict::not_replayable:
        return "not replayable";
    }
    return "?";
}

namespace {

// ---- the model side ----------------------------------------------------------------------------

struct Slot {
    m::Var var;
    int host;
    int node;
};

struct ModelTrace {
    const m::TableData* table = nullptr;
    std::unique_ptr<m::Interpreter> interp;
    m::State initial;
    std::vector<m::Step> steps;
    std::vector<m::State> states; // states[k] is the state after step k+1
    std::vector<int> original;    // the step's number in the trace as given (1-based)
};

std::string slot_name(const Slot& s) {
    const m::VarInfo& info = m::var_info(s.var);
    std::string name(info.name);
    if (info.scope != m::Scope::Global) {
        name += "[" + std::to_string(s.host) + "]";
    }
    if (info.scope == m::Scope::PerNode) {
        name += "[" + std::to_string(s.node) + "]";
    }
    return name;
}

std::vector<Slot> slots(int nodes) {
    std::vector<Slot> out;
    for (int v = 0; v < m::kVarCount; ++v) {
        const m::Var var = static_cast<m::Var>(v);
        const m::VarInfo& info = m::var_info(var);
        const int hosts = info.scope == m::Scope::Global ? 1 : 2;
        const int per = info.scope == m::Scope::PerNode ? nodes : 1;
        for (int h = 0; h < hosts; ++h) {
            for (int n = 0; n < per; ++n) {
                out.push_back({var, h, n});
            }
        }
    }
    return out;
}

m::State state_from_json(const m::Interpreter& interp, const nlohmann::json& j,
                         const std::string& where) {
    if (!j.is_object()) {
        throw TraceError(where + " is not an object of variables");
    }
    m::State s(static_cast<std::size_t>(interp.layout().size()), '\0');
    for (const Slot& slot : slots(interp.layout().nodes())) {
        const std::string name = slot_name(slot);
        if (slot.var == m::Var::documented_use && !j.contains(name)) {
            // A trace written before the environment profiles: the profile of its header.
            interp.put(s, slot.var, 0, 0, interp.instance().documented_use ? 1 : 0);
            continue;
        }
        if (!j.contains(name) || !j[name].is_string()) {
            throw TraceError(where + " has no value for " + name);
        }
        const std::string value = j[name].get<std::string>();
        const m::DomainId d = m::var_info(slot.var).domain;
        int found = -1;
        for (int i = 0; i < m::domain_size(d); ++i) {
            if (m::value_name(d, i) == value) {
                found = i;
            }
        }
        if (found < 0) {
            throw TraceError(where + ": " + name + " = '" + value + "' is not a value of " +
                             std::string(m::domain_info(d).name));
        }
        interp.put(s, slot.var, slot.host, slot.node, found);
    }
    return s;
}

ModelTrace parse(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("version") || !j["version"].is_string() ||
        !j.contains("nodes") || !j["nodes"].is_number_integer() || !j.contains("initial") ||
        !j.contains("steps") || !j["steps"].is_array()) {
        throw TraceError("not a trace object (expected version, nodes, initial, steps)");
    }
    ModelTrace t;
    const std::string version = j["version"].get<std::string>();
    t.table = m::find_version(version);
    if (t.table == nullptr) {
        throw TraceError("unknown version '" + version + "' (known: " + m::version_names() + ")");
    }
    m::Instance instance(j["nodes"].get<int>());
    // A missing "graph" reads as flat (traces written before the graph), as proofs/ reads it.
    if (j.contains("graph")) {
        const auto shape = j["graph"].is_string()
                               ? m::graph_shape_from_name(j["graph"].get<std::string>())
                               : std::nullopt;
        if (!shape) {
            throw TraceError("graph must be \"flat\", \"chain\", \"shared-base\" or \"job\", not " +
                             j["graph"].dump());
        }
        instance.graph = *shape;
    }
    if (instance.graph == m::GraphShape::flat && (instance.nodes < 1 || instance.nodes > 4)) {
        throw TraceError("nodes must be between 1 and 4");
    }
    if (instance.graph != m::GraphShape::flat) {
        std::string limit;
        try {
            limit = instance.nodes > 8
                        ? "at most 8 nodes on a graph"
                        : m::BlockGraph::make(instance.graph, instance.nodes).walk_limit();
        } catch (const std::invalid_argument& e) {
            limit = e.what();
        }
        if (!limit.empty()) {
            throw TraceError(limit);
        }
    }
    // Optional here (older traces lack them), but of the right type and range when present: a
    // string where a number belongs must be bad input, not an exception of the JSON library.
    if (j.contains("starts")) {
        if (!j["starts"].is_number_integer() || j["starts"].get<int>() < 0 ||
            j["starts"].get<int>() > 3) {
            throw TraceError("starts must be an integer between 0 and 3, not " +
                             j["starts"].dump());
        }
        instance.starts = j["starts"].get<int>();
    }
    if (j.contains("env") && !j["env"].is_string()) {
        throw TraceError("env must be \"documented\" or \"any\", not " + j["env"].dump());
    }
    instance.documented_use = j.value("env", std::string("any")) == "documented";
    t.interp = std::make_unique<m::Interpreter>(*t.table, instance);
    t.initial = state_from_json(*t.interp, j["initial"], "initial");
    m::State cur = t.initial;
    int k = 0;
    for (const auto& js : j["steps"]) {
        ++k;
        const std::string where = "step " + std::to_string(k);
        if (!js.is_object() || !js.contains("row") || !js["row"].is_string()) {
            throw TraceError(where + " has no row");
        }
        const std::string row = js["row"].get<std::string>();
        m::Step step;
        for (std::size_t r = 0; r < t.table->rows.size(); ++r) {
            if (t.table->rows[r].name == row) {
                step.row = static_cast<int>(r);
            }
        }
        if (step.row < 0) {
            throw TraceError(where + ": no row '" + row + "' in " + version);
        }
        for (int p = 0; p < m::kParamCount; ++p) {
            step.params[static_cast<std::size_t>(p)] =
                t.interp->param_default(static_cast<m::Param>(p));
        }
        const nlohmann::json params = js.value("params", nlohmann::json::object());
        if (!params.is_object()) {
            throw TraceError(where + " (" + row + "): params is not an object");
        }
        for (m::Param p : t.table->rows[static_cast<std::size_t>(step.row)].params) {
            const std::string name(m::param_info(p).name);
            if (!params.contains(name) || !params[name].is_number_integer()) {
                throw TraceError(where + " (" + row + ") has no parameter " + name);
            }
            // The interpreter indexes hosts and nodes with these: a value outside the parameter's
            // domain would read outside the state.
            const auto domain = t.interp->param_values(p);
            if (std::find(domain.begin(), domain.end(), params[name].get<long long>()) ==
                domain.end()) {
                throw TraceError(where + " (" + row + "): parameter " + name + " = " +
                                 params[name].dump() + " is out of range");
            }
            step.params[static_cast<std::size_t>(p)] = params[name].get<int>();
        }
        const auto next = t.interp->apply(cur, step);
        if (!next) {
            throw TraceError(where + " (" + row + ") is not enabled on the model of " + version);
        }
        if (js.contains("state") && state_from_json(*t.interp, js["state"], where) != *next) {
            throw TraceError(where + " (" + row + ") does not lead to the state the trace says");
        }
        t.steps.push_back(step);
        t.states.push_back(*next);
        t.original.push_back(k);
        cur = *next;
    }
    return t;
}

// ---- observations ------------------------------------------------------------------------------

struct Projection {
    HostObservation host[2];
};

int get(const ModelTrace& t, const m::State& s, m::Var v, int h = 0, int n = 0) {
    return t.interp->get(s, v, h, n);
}

std::string value(const ModelTrace& t, const m::State& s, m::Var v, int h = 0, int n = 0) {
    return m::value_name(m::var_info(v).domain, get(t, s, v, h, n));
}

// What the model says one can see of host h from outside.
HostObservation predict(const ModelTrace& t, const m::State& s, int h) {
    HostObservation o;
    const bool crashed = get(t, s, m::Var::crash) != static_cast<int>(m::Crash::NONE) &&
                         get(t, s, m::Var::crash_host) == h;
    if (crashed) {
        o.exit = "abort: " + value(t, s, m::Var::crash);
        return o;
    }
    if (!get(t, s, m::Var::alive, h)) {
        return o;
    }
    o.alive = true;
    o.runstate = value(t, s, m::Var::runstate, h);
    o.mig = value(t, s, m::Var::mig, h);
    for (int i = 0; i < t.interp->layout().nodes(); ++i) {
        // The probe sees a half-inactivated node (flag clear, BlockBackends without permissions)
        // as OPEN: its write is not refused.
        const std::string node = value(t, s, m::Var::node, h, i);
        o.nodes.push_back(node == "HALF_INACTIVE" ? "OPEN" : node);
    }
    return o;
}

std::string describe(const HostObservation& o) {
    if (!o.alive) {
        std::string s = o.exit.empty() ? "no process" : "gone (" + o.exit + ")";
        if (!o.assertion.empty()) {
            s += " \"" + o.assertion + "\"";
        }
        return s;
    }
    std::string s = o.runstate + ", migration " + o.mig + ", nodes";
    for (const auto& n : o.nodes) {
        s += " " + n;
    }
    return s;
}

std::string describe(const HostObservation (&o)[2]) {
    return "host 0: " + describe(o[0]) + "; host 1: " + describe(o[1]);
}

bool host_matches(const HostObservation& want, const HostObservation& got) {
    if (want.alive != got.alive) {
        return false;
    }
    if (!want.alive) {
        if (want.exit.rfind("abort", 0) == 0) {
            return got.exit.find("signal 6") != std::string::npos; // SIGABRT
        }
        return true; // gone; how (exit 1 after a failed load, quit) is recorded, not compared
    }
    if (want.runstate != got.runstate || want.nodes.size() != got.nodes.size()) {
        return false;
    }
    for (std::size_t i = 0; i < want.nodes.size(); ++i) {
        // An active node is OPEN to the probe where no device holds the write permission (an
        // incoming VM that has not run yet shares everything). A node the instruments cannot
        // read (-: World::node_states()) is not compared.
        const bool same = want.nodes[i] == got.nodes[i] || got.nodes[i] == "-" ||
                          (want.nodes[i] == "ACTIVE" && got.nodes[i] == "OPEN");
        if (!same) {
            return false;
        }
    }
    // query-migrate shows the incoming migration's status on a process that has no outgoing
    // migration of its own: the model's NONE matches whatever that is.
    return want.mig == "NONE" || want.mig == got.mig;
}

// Whether the real system stops in this model state by itself (or held at a pause point), so
// that it can be observed, and a control applied, there: the controls table's condition
// (controls.cpp); the checker's --controllable search obeys the same one, without the states
// where QEMU only may stop.
std::string why_not_holdable(const ModelTrace& t, const m::State& s) {
    return where_the_replay_cannot_act(*t.interp, s);
}

// Rows QEMU runs by itself (the migration thread, the destination), as the controls table says.
bool is_internal(const m::RowData& row) {
    if (const RowControl* c = row_control(row.name)) {
        return c->side == Side::qemu;
    }
    return row.actor == m::Actor::thread || row.actor == m::Actor::incoming;
}

// Why a row has no real control in this harness, or "" (the controls table).
std::string no_control(const std::string& row) {
    return why_no_control(row);
}

// Internal rows the real system can take here: not the postcopy ones (the harness never sets
// postcopy-ram nor sends migrate-start-postcopy).
bool real_can_take(const m::RowData& row) {
    return is_internal(row) && no_control(std::string(row.name)).empty();
}

bool matches(const ModelTrace& t, const m::State& s, const Projection& seen);

// The model's internal steps from `from`, breadth-first up to `depth`: whether QEMU's state is
// one the model reaches, whichever outcomes it took. On success `path` names the steps taken.
bool model_allows(const ModelTrace& t, const m::State& from, const Projection& seen, int depth,
                  std::string& path) {
    std::map<m::State, std::pair<m::State, std::string>> parent; // state -> (previous, step text)
    std::set<m::State> visited{from};
    std::deque<std::pair<m::State, int>> queue{{from, 0}};
    while (!queue.empty()) {
        // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
        const m::State s = queue.front().first;
        const int d = queue.front().second;
        queue.pop_front();
        if (matches(t, s, seen)) {
            std::vector<std::string> steps;
            for (m::State cur = s; parent.count(cur) != 0; cur = parent[cur].first) {
                steps.push_back(parent[cur].second);
            }
            for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
                path += (path.empty() ? "" : "; ") + *it;
            }
            return true;
        }
        if (d == depth) {
            continue;
        }
        t.interp->successors(s, [&](const m::Step& st, const m::State& next) {
            const m::RowData& row = t.table->rows[static_cast<std::size_t>(st.row)];
            if (real_can_take(row) && visited.insert(next).second) {
                parent[next] = {s, std::string(row.name) + "(" + m::format_params(*t.interp, st) +
                                       ")"};
                queue.emplace_back(next, d + 1);
            }
        });
    }
    return false;
}

// The predicted state and the states QEMU reaches from it by itself (internal steps only, up to
// `depth`): after the trace's step, the real system may have gone on (a destination exits once
// its stream breaks, a bottom half runs) before it is observed.
std::vector<m::State> continuations(const ModelTrace& t, const m::State& from, int depth) {
    std::vector<m::State> out{from};
    std::set<m::State> visited{from};
    std::deque<std::pair<m::State, int>> queue{{from, 0}};
    while (!queue.empty()) {
        // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
        const m::State s = queue.front().first;
        const int d = queue.front().second;
        queue.pop_front();
        if (d == depth) {
            continue;
        }
        t.interp->successors(s, [&](const m::Step& st, const m::State& next) {
            if (real_can_take(t.table->rows[static_cast<std::size_t>(st.row)]) &&
                visited.insert(next).second) {
                out.push_back(next);
                queue.emplace_back(next, d + 1);
            }
        });
    }
    return out;
}

bool matches(const ModelTrace& t, const m::State& s, const Projection& seen) {
    if (get(t, s, m::Var::crash) != static_cast<int>(m::Crash::NONE)) {
        // A crash ends the model's run; the real peer goes on (a destination whose source died
        // exits), so only the crashed process is compared.
        const int h = get(t, s, m::Var::crash_host);
        return host_matches(predict(t, s, h), seen.host[h]);
    }
    return host_matches(predict(t, s, 0), seen.host[0]) &&
           host_matches(predict(t, s, 1), seen.host[1]);
}

// "QEMU can say anything" is not a useful reply in a table: one line, no temporary paths.
std::string clean(std::string text, const std::string& dir) {
    for (std::size_t p; !dir.empty() && (p = text.find(dir)) != std::string::npos;) {
        text.replace(p, dir.size(), "$RUN");
    }
    std::string out;
    for (char c : text) {
        if (c == '\r') {
            continue;
        }
        out += c == '\n' ? ' ' : c;
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

// ---- the real side -----------------------------------------------------------------------------

class Replayer {
  public:
    Replayer(const ModelTrace& t, const ReplayOptions& opt, QemuBinaries qemu)
        : t_(t), opt_(opt), qemu_(std::move(qemu)) {}

    ReplayResult run();

  private:
    WorldConfig config() const;
    // Polls until the real system shows one of `accept` (returns its index) or stops changing.
    // With `settle`, it waits until nothing changes before matching (the end of a trace).
    int observe_settled(const std::vector<m::State>& accept, Projection& seen, bool settle = false);
    std::string canonical(const m::State& matched, const Projection& seen) const;
    // Host h as canonical() writes it, or nothing when the model no longer follows it (the peer of
    // a crashed process).
    std::optional<HostObservation> canonical_host(const m::State& matched, const Projection& seen,
                                                  int h) const;
    // The transcript's line for an observation (the commands of the polls left out), and what the
    // outcome section will say: `matched` is the model state QEMU's matched, if any.
    void transcribe_observation(const Projection& seen, const m::State* matched,
                                const std::string& shown, const std::string& predicted);
    void transcribe_outcome();
    std::string control(const m::Step& step, int index);
    std::string violated_by(const m::State& s) const;
    void plan_holds();
    int orig(int k) const { return t_.original[static_cast<std::size_t>(k)]; }

    std::set<int> held_; // 1-based indices of the qmp_migrate steps whose stream is held
    // The last observation, for the transcript's outcome section.
    bool observed_ = false;
    Projection last_seen_;
    std::optional<m::State> last_matched_;

    const ModelTrace& t_;
    const ReplayOptions& opt_;
    const QemuBinaries qemu_;
    std::unique_ptr<World> world_;
};

WorldConfig Replayer::config() const {
    WorldConfig c;
    c.nodes = t_.interp->layout().nodes();
    c.graph = t_.interp->graph().shape();
    c.local_files = get(t_, t_.initial, m::Var::image_locking) != 0;
    c.late_block_activate = get(t_, t_.initial, m::Var::cap_late_block_activate) != 0;
    c.pause_before_switchover = get(t_, t_.initial, m::Var::cap_pause_before_switchover) != 0;
    c.autostart = get(t_, t_.initial, m::Var::cap_autostart) != 0;
    c.timeout = opt_.timeout;
    c.keep_dir = opt_.keep_dir;
    c.qemu = qemu_;
    return c;
}

// Polls the real system until it shows the predicted state (or a state QEMU reaches from it by
// itself), or until it has stopped changing for a while (then the last observation is the
// answer), or until the timeout.
int Replayer::observe_settled(const std::vector<m::State>& accept, Projection& seen, bool settle) {
    const auto deadline = Clock::now() + opt_.timeout;
    auto last_change = Clock::now();
    bool first = true;
    for (;;) {
        Projection p;
        p.host[0] = world_->observe(0);
        p.host[1] = world_->observe(1);
        const bool changed = first || !(p.host[0] == seen.host[0] && p.host[1] == seen.host[1]);
        seen = p;
        const auto match = [&] {
            for (std::size_t i = 0; i < accept.size(); ++i) {
                if (matches(t_, accept[i], p)) {
                    return static_cast<int>(i);
                }
            }
            return -1;
        };
        if (!settle && match() >= 0) {
            return match();
        }
        if (changed) {
            last_change = Clock::now();
        }
        first = false;
        if (Clock::now() - last_change > milliseconds(1500) || Clock::now() > deadline) {
            return match();
        }
        std::this_thread::sleep_for(milliseconds(50));
    }
}

// The observation as compared with `matched`: what the comparison ignored (the incoming status a
// destination shows where the model says NONE; the peer of a crashed process, which the model's
// run no longer follows) is written as the model has it, so that the page does not depend on
// timing.
std::optional<HostObservation> Replayer::canonical_host(const m::State& matched,
                                                        const Projection& seen, int h) const {
    const bool crashed = get(t_, matched, m::Var::crash) != static_cast<int>(m::Crash::NONE);
    if (crashed && h != get(t_, matched, m::Var::crash_host)) {
        return std::nullopt;
    }
    HostObservation o = seen.host[h];
    if (o.alive && predict(t_, matched, h).mig == "NONE") {
        o.mig = "NONE";
    }
    return o;
}

std::string Replayer::canonical(const m::State& matched, const Projection& seen) const {
    std::string out;
    for (int h = 0; h < 2; ++h) {
        const auto o = canonical_host(matched, seen, h);
        out += (h == 0 ? "host 0: " : "; host 1: ") +
               (o ? describe(*o) : std::string("not compared after the crash"));
    }
    return out;
}

void Replayer::transcribe_observation(const Projection& seen, const m::State* matched,
                                      const std::string& shown, const std::string& predicted) {
    observed_ = true;
    last_seen_ = seen;
    last_matched_.reset();
    if (matched != nullptr) {
        last_matched_ = *matched;
    }
    bool queried = false;
    for (int h = 0; h < 2; ++h) {
        queried = queried || world_->queries_nodes(h);
    }
    // One line for what may have been dozens of polls: the instruments are named so that a
    // reader can look for themselves, the state is what the comparison saw.
    std::string line =
        std::string("polled query-status, query-migrate and ") +
        (queried ? "query-named-block-nodes / query-block / x-debug-query-block-graph"
                 : "HMP qemu-io <node> \"write -P 0x99 0 512\" (the activity probe)") +
        " until QEMU showed: " + shown;
    if (!predicted.empty()) {
        line += "; the model: " + predicted;
    }
    world_->transcript().add("observed", -1, line);
}

void Replayer::transcribe_outcome() {
    if (!world_ || !observed_) {
        return;
    }
    Transcript& tr = world_->transcript();
    tr.section("outcome");
    for (int h = 0; h < 2; ++h) {
        if (!world_->has_process(h)) {
            continue;
        }
        const std::string host = "host " + std::to_string(h);
        const std::optional<HostObservation> o =
            last_matched_ ? canonical_host(*last_matched_, last_seen_, h)
                          : std::optional<HostObservation>(last_seen_.host[h]);
        if (!o) {
            tr.add("outcome", h, host + ": not followed after the other host's crash");
        } else if (o->alive) {
            tr.add("outcome", h, host + ": still running: " + describe(*o));
        } else {
            tr.add("outcome", h, host + ": " + (o->exit.empty() ? "no process" : o->exit));
            if (!o->assertion.empty()) {
                tr.add("outcome", h, host + " stderr: " + o->assertion);
            }
        }
    }
}

// The control of the controls table (controls.cpp) for this row: the same table the checker's
// --controllable search reads, so a row it lets a trace use is one the harness drives here.
std::string Replayer::control(const m::Step& step, int index) {
    const m::RowData& row = t_.table->rows[static_cast<std::size_t>(step.row)];
    const int h = step.params[static_cast<std::size_t>(m::Param::host)];
    const std::string name(row.name);
    auto reply_text = [](const nlohmann::json& r) {
        return r.contains("error") ? "error: " + r["error"].value("desc", r.dump()) : "ok";
    };
    const RowControl* c = row_control(row.name);
    switch (c == nullptr ? Control::none : c->control) {
    case Control::start_destination:
        world_->start_host(h, true);
        return "started with -incoming defer; migrate-incoming";
    case Control::quit:
        return reply_text(world_->qmp(h).execute("quit"));
    case Control::migrate: {
        std::string reply = "ok";
        try {
            world_->migrate(h, held_.count(index) != 0);
        } catch (const HarnessError& e) {
            reply = std::string("error: ") + e.what();
        }
        return reply;
    }
    case Control::migrate_cancel:
        return reply_text(world_->qmp(h).execute("migrate_cancel"));
    case Control::migrate_continue:
        return reply_text(
            world_->qmp(h).execute("migrate-continue", {{"state", "pre-switchover"}}));
    case Control::cont:
        return reply_text(world_->qmp(h).execute("cont"));
    case Control::stop:
        return reply_text(world_->qmp(h).execute("stop"));
    case Control::guest_write: {
        const int target = step.params[static_cast<std::size_t>(m::Param::target)];
        const std::string out = world_->qmp(h).hmp("qemu-io -d " + world_->device_backend(target) +
                                                   " \"write -P 0x55 0 4k\"");
        return out.empty() ? "written through the device's BlockBackend" : out;
    }
    case Control::relay_cut:
        if (world_->relay() == nullptr) {
            throw HarnessError("no migration stream to cut");
        }
        world_->transcript().add("relay", -1,
                                 "cuts both connections: the destination's stream ends before "
                                 "EOF, the source's return path breaks");
        world_->relay()->cut();
        return "relay cut (the destination's stream ends before EOF)";
    case Control::set_active_all:
    case Control::set_inactive_all:
        // QEMU 10.0's blockdev-set-active without node-name: bdrv_activate_all() or
        // bdrv_inactivate_all(). A QEMU without it (7.2) answers that the command does not exist.
        return reply_text(world_->qmp(h).execute(
            "blockdev-set-active", {{"active", c->control == Control::set_active_all}}));
    case Control::set_active_node:
    case Control::set_inactive_node: {
        // A flat node stands for the disk's tree: its qcow2 node, which bdrv_activate() and
        // bdrv_inactivate() walk with its file child. On a graph, the node of that label.
        const int target = step.params[static_cast<std::size_t>(m::Param::target)];
        return reply_text(world_->qmp(h).execute(
            "blockdev-set-active", {{"node-name", world_->node_name(target)},
                                    {"active", c->control == Control::set_active_node}}));
    }
    case Control::savevm: {
        const std::string out = world_->qmp(h).hmp("savevm conformance", opt_.timeout);
        return out.empty() ? "ok" : out;
    }
    case Control::storage_kill:
        world_->kill_storage();
        return world_->config().local_files ? "a foreign lock on byte 201 of every image"
                                            : "every qemu-nbd killed";
    case Control::storage_restore:
        world_->restore_storage();
        return world_->config().local_files ? "the foreign locks dropped"
               : world_->config().graph == m::GraphShape::flat
                   ? "every qemu-nbd restarted"
                   : "every qemu-nbd restarted, and every NBD client reconnected";
    case Control::none:
    case Control::by_qemu:
        break;
    }
    throw HarnessError("step " + std::to_string(index) + ": no control for " + name);
}

// A migration's stream is held by the relay when the trace applies a control while the source is
// in its post-EOF window (COMPLETION_SAVED) before that migration ends, or ends there.
void Replayer::plan_holds() {
    const int n = static_cast<int>(t_.steps.size());
    int migrate_step = -1, source = -1;
    for (int k = 0; k < n; ++k) {
        const m::RowData& row = t_.table->rows[static_cast<std::size_t>(t_.steps[k].row)];
        if (row.name == "qmp_migrate") {
            migrate_step = k + 1;
            source = t_.steps[k].params[static_cast<std::size_t>(m::Param::host)];
            continue;
        }
        if (!is_internal(row) && migrate_step > 0 && k > 0 &&
            static_cast<m::ThreadPc>(get(t_, t_.states[k - 1], m::Var::pc, source)) ==
                m::ThreadPc::COMPLETION_SAVED) {
            held_.insert(migrate_step);
        }
    }
    // A trace that ends in the post-EOF window is observed there: the relay holds that stream too
    // (the controls table counts the window as a place QEMU stops, for the last state as well).
    if (migrate_step > 0 && n > 0 &&
        static_cast<m::ThreadPc>(get(t_, t_.states[static_cast<std::size_t>(n - 1)], m::Var::pc,
                                     source)) == m::ThreadPc::COMPLETION_SAVED) {
        held_.insert(migrate_step);
    }
}

// The state invariants of this version that `s` violates, comma-separated.
std::string Replayer::violated_by(const m::State& s) const {
    std::string out;
    for (const auto& inv : m::all_invariants()) {
        if (inv.applies_to(t_.table->version) && inv.kind == m::InvariantKind::StatePredicate &&
            !m::holds(*t_.interp, inv, s)) {
            out += (out.empty() ? "" : ", ") + std::string(inv.name);
        }
    }
    return out;
}

ReplayResult Replayer::run() {
    ReplayResult res;
    const auto t0 = Clock::now();
    auto finish = [&](ReplayResult& r) -> ReplayResult {
        transcribe_outcome();
        if (world_) {
            r.transcript = world_->transcript().entries();
        }
        r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        return std::move(r);
    };
    const int n = static_cast<int>(t_.steps.size());

    // The trace's last state and what it violates.
    res.violated = violated_by(n > 0 ? t_.states.back() : t_.initial);

    // Before touching QEMU: every step must have a control or be one QEMU takes by itself, and
    // every control must be applied where the real system can be held.
    const WorldConfig cfg = config();
    if (cfg.graph == m::GraphShape::job) {
        res.verdict = Verdict::not_replayable;
        res.reason = "the harness does not build the job graph: no block job runs on the real QEMU";
        return finish(res);
    }
    for (int k = 0; k < n; ++k) {
        const m::RowData& row = t_.table->rows[static_cast<std::size_t>(t_.steps[k].row)];
        const std::string why = no_control(std::string(row.name));
        if (!why.empty()) {
            res.verdict = Verdict::not_replayable;
            res.step = orig(k);
            res.reason = "step " + std::to_string(orig(k)) + " (" + std::string(row.name) +
                         ") has no real control: " + why;
            return finish(res);
        }
        if (!is_internal(row)) {
            const m::State& before = k == 0 ? t_.initial : t_.states[k - 1];
            const std::string held = why_not_holdable(t_, before);
            if (!held.empty()) {
                res.verdict = Verdict::not_replayable;
                res.step = orig(k);
                res.reason = "step " + std::to_string(orig(k)) + " (" + std::string(row.name) +
                             ") needs QEMU held where it does not stop: " + held;
                return finish(res);
            }
        }
    }
    for (int h = 0; h < 2; ++h) {
        if (!get(t_, t_.initial, m::Var::alive, h)) {
            continue;
        }
        const auto rs = static_cast<m::RunState>(get(t_, t_.initial, m::Var::runstate, h));
        if (rs != m::RunState::RUNNING && rs != m::RunState::PAUSED &&
            rs != m::RunState::INMIGRATE) {
            res.verdict = Verdict::not_replayable;
            res.reason = "the initial run state of host " + std::to_string(h) + " is " +
                         value(t_, t_.initial, m::Var::runstate, h);
            return finish(res);
        }
    }

    plan_holds();
    world_ = std::make_unique<World>(cfg);
    world_->transcript().section("start");
    for (int h = 0; h < 2; ++h) {
        if (get(t_, t_.initial, m::Var::alive, h)) {
            const auto rs = static_cast<m::RunState>(get(t_, t_.initial, m::Var::runstate, h));
            world_->start_host(h, rs == m::RunState::INMIGRATE, rs == m::RunState::PAUSED);
        }
    }
    auto diverge = [&](int k, const m::State& want, const Projection& seen, bool allowed,
                       int segment_first) {
        HostObservation w[2] = {predict(t_, want, 0), predict(t_, want, 1)};
        res.predicted = describe(w);
        res.observed = describe(seen.host);
        if (!allowed) {
            res.verdict = Verdict::diverged;
            res.step = k == 0 ? 0 : orig(k - 1);
            res.reason = "QEMU reached a state the model does not allow here";
            return;
        }
        // QEMU's state is another outcome the model allows for the same control: the trace's
        // choice of outcome (a parameter of a step QEMU takes by itself) could not be forced.
        int choice = k;
        for (int j = segment_first; j < k; ++j) {
            const m::Step& st = t_.steps[static_cast<std::size_t>(j)];
            bool chosen = false;
            for (m::Param p : t_.table->rows[static_cast<std::size_t>(st.row)].params) {
                chosen = chosen || (p != m::Param::host && st.params[static_cast<std::size_t>(p)] !=
                                                               t_.interp->param_default(p));
            }
            if (chosen) {
                choice = j + 1;
                break;
            }
        }
        const m::Step& st = t_.steps[static_cast<std::size_t>(choice - 1)];
        res.verdict = Verdict::not_replayable;
        res.step = orig(choice - 1);
        res.reason = "the outcome of step " + std::to_string(orig(choice - 1)) + " (" +
                     std::string(t_.table->rows[static_cast<std::size_t>(st.row)].name) + ", " +
                     m::format_params(*t_.interp, st) +
                     ") could not be forced: QEMU took another outcome that the model also "
                     "allows (observed at step " +
                     std::to_string(orig(k - 1)) + ")";
    };

    Projection seen;
    if (observe_settled({t_.initial}, seen) < 0) {
        diverge(0, t_.initial, seen, false, 0);
        transcribe_observation(seen, nullptr, res.observed, res.predicted);
        res.qemu_behaviour = describe(seen.host);
        return finish(res);
    }
    transcribe_observation(seen, &t_.initial, canonical(t_.initial, seen), "");
    // Where the current segment (the last control and the steps QEMU took after it) began.
    m::State segment_start = t_.initial;
    int segment_row = -1, segment_host = -1, segment_first = 0;
    m::State matched_state = t_.initial;
    for (int k = 0; k < n; ++k) {
        const m::Step& step = t_.steps[k];
        const m::RowData& row = t_.table->rows[static_cast<std::size_t>(step.row)];
        const m::State& before = k == 0 ? t_.initial : t_.states[k - 1];
        StepRecord rec;
        rec.index = orig(k);
        rec.row = row.name;
        rec.params_text = m::format_params(*t_.interp, step);
        world_->transcript().section("step " + std::to_string(rec.index) + ": " + rec.row +
                                     (rec.params_text.empty() ? "" : " (" + rec.params_text + ")"));
        if (is_internal(row)) {
            world_->transcript().add("qemu", -1, "QEMU takes it by itself");
        }
        if (!is_internal(row)) {
            segment_start = before;
            segment_first = k;
            segment_row = step.row;
            segment_host = step.params[static_cast<std::size_t>(m::Param::host)];
            try {
                rec.reply = clean(control(step, k + 1), world_->dir());
            } catch (const HarnessError& e) {
                rec.reply = "harness: " + clean(e.what(), world_->dir());
            }
            rec.control = std::string(row.name);
        } else if (row.name == "incoming_load_ok" && world_->relay() != nullptr &&
                   world_->relay()->held()) {
            world_->transcript().add("relay", -1,
                                     "releases the held stream: the source's bytes, with their "
                                     "EOF, reach the destination");
            world_->relay()->release();
            rec.control = "relay release";
            rec.reply = "the held stream (with EOF) reaches the destination";
        }
        const m::State& after = t_.states[k];
        HostObservation w[2] = {predict(t_, after, 0), predict(t_, after, 1)};
        rec.predicted = describe(w);
        const bool last = k + 1 == n;
        const bool next_is_control =
            !last && !is_internal(t_.table->rows[static_cast<std::size_t>(t_.steps[k + 1].row)]);
        const bool holdable = why_not_holdable(t_, after).empty();
        if ((last || next_is_control) && holdable) {
            // Before a control, QEMU must not have gone further than the trace; at the end of the
            // trace it may have (a destination exiting after the source failed, ...).
            const std::vector<m::State> accept =
                last ? continuations(t_, after, 6) : std::vector<m::State>{after};
            const int which = observe_settled(accept, seen, last);
            rec.compared = true;
            rec.matched = which >= 0;
            rec.observed = describe(seen.host);
            if (which >= 0) {
                matched_state = accept[static_cast<std::size_t>(which)];
                rec.observed = canonical(matched_state, seen);
                rec.violations = violated_by(matched_state);
            }
            if (which > 0) {
                rec.observed += " (QEMU went on by itself to a state the model reaches from here)";
            }
            transcribe_observation(seen, which >= 0 ? &matched_state : nullptr, rec.observed,
                                   which >= 0 ? "" : rec.predicted);
            if (!rec.matched) {
                // Could QEMU's state be another outcome of the same control and what follows it?
                bool allowed = false;
                std::string path;
                if (segment_row < 0) {
                    allowed = model_allows(t_, segment_start, seen, 12, path);
                } else {
                    t_.interp->successors(segment_start, [&](const m::Step& st,
                                                             const m::State& next) {
                        if (!allowed && st.row == segment_row &&
                            st.params[static_cast<std::size_t>(m::Param::host)] == segment_host) {
                            path =
                                std::string(t_.table->rows[static_cast<std::size_t>(st.row)].name) +
                                "(" + m::format_params(*t_.interp, st) + ")";
                            allowed = model_allows(t_, next, seen, 12, path);
                        }
                    });
                }
                if (opt_.on_step) {
                    opt_.on_step(rec);
                }
                res.steps.push_back(rec);
                diverge(k + 1, after, seen, allowed, segment_first);
                if (allowed) {
                    res.reason += "; the model's path to QEMU's state: " + path;
                }
                res.qemu_behaviour = describe(seen.host);
                return finish(res);
            }
        } else if (last) {
            // The trace ends in a state QEMU passes through without stopping: see where it stops.
            const std::vector<m::State> accept = continuations(t_, after, 6);
            const int which = observe_settled(accept, seen, true);
            rec.observed = which >= 0 ? canonical(accept[static_cast<std::size_t>(which)], seen)
                                      : describe(seen.host);
            transcribe_observation(seen,
                                   which >= 0 ? &accept[static_cast<std::size_t>(which)] : nullptr,
                                   rec.observed, which >= 0 ? "" : rec.predicted);
            if (opt_.on_step) {
                opt_.on_step(rec);
            }
            res.steps.push_back(rec);
            res.step = orig(k);
            res.qemu_behaviour = rec.observed;
            if (which >= 0 && !violated_by(accept[static_cast<std::size_t>(which)]).empty()) {
                matched_state = accept[static_cast<std::size_t>(which)];
                break; // it stopped in a state that still shows the violation
            }
            res.verdict = Verdict::not_replayable;
            res.reason = "the trace ends in a state QEMU passes through without stopping (" +
                         why_not_holdable(t_, after) + "), so it cannot be observed there; " +
                         (which >= 0 ? "QEMU went on as the model allows, to a state without the "
                                       "violation"
                                     : "QEMU stopped in a state the model does not reach from "
                                       "there by itself");
            return finish(res);
        }
        if (opt_.on_step) {
            opt_.on_step(rec);
        }
        res.steps.push_back(rec);
    }
    if (n > 0 && !res.violated.empty()) {
        const std::string still = violated_by(matched_state);
        if (still.empty()) {
            res.verdict = Verdict::not_replayable;
            res.step = n;
            res.reason = "QEMU went on by itself, as the model allows, past the violating state "
                         "without stopping in it";
            res.qemu_behaviour = canonical(matched_state, seen);
            return finish(res);
        }
    }
    res.verdict = Verdict::reproduced;
    res.step = n;
    res.reason = res.violated.empty()
                     ? "QEMU went through every observed state of the trace"
                     : "QEMU reached the trace's last state, which violates " + res.violated;
    res.qemu_behaviour = canonical(matched_state, seen);
    return finish(res);
}

// Moves step `from` (0-based) to just after the original step `to - 1` (0-based; so it ends up
// right before the original step `to`, or last when `to` is the number of steps), if the reordered
// trace replays on the model, the moved step's new pre-state can be held, and every state from
// there on is the same as the original's. Returns whether it did.
bool try_move(ModelTrace& t, int from, int to) {
    const int n = static_cast<int>(t.steps.size());
    std::vector<m::Step> steps = t.steps;
    const m::Step moved = steps[static_cast<std::size_t>(from)];
    steps.erase(steps.begin() + from);
    steps.insert(steps.begin() + (to - 1), moved);
    std::vector<int> original = t.original;
    const int number = original[static_cast<std::size_t>(from)];
    original.erase(original.begin() + from);
    original.insert(original.begin() + (to - 1), number);
    std::vector<m::State> states;
    m::State cur = t.initial;
    for (const m::Step& st : steps) {
        auto next = t.interp->apply(cur, st);
        if (!next) {
            return false;
        }
        cur = *next;
        states.push_back(cur);
    }
    const m::State& pre = to - 2 >= 0 ? states[static_cast<std::size_t>(to - 2)] : t.initial;
    if (!why_not_holdable(t, pre).empty()) {
        return false;
    }
    for (int i = to - 1; i < n; ++i) {
        if (states[static_cast<std::size_t>(i)] != t.states[static_cast<std::size_t>(i)]) {
            return false;
        }
    }
    t.steps = steps;
    t.states = states;
    t.original = original;
    return true;
}

// Two reorderings that keep the trace's story on the model and make it drivable:
// * the storage fault is applied as late as the model allows (just before the latest later
//   control where the real system can be held): on the real system its place matters, a flush,
//   an inactivation or an activation that does no I/O until then would fail earlier;
// * a control whose model pre-state QEMU does not stop in (a migration thread between two BQL
//   sections) is applied after the steps QEMU takes by itself, where the model allows that.
std::string reorder_for_replay(ModelTrace& t) {
    std::string notes;
    const int n = static_cast<int>(t.steps.size());
    auto row_name = [&](int i) {
        return std::string(t.table->rows[static_cast<std::size_t>(t.steps[i].row)].name);
    };
    for (int k = 0; k < n; ++k) {
        if (row_name(k) != "storage_lost") {
            continue;
        }
        for (int j = n - 1; j > k + 1; --j) {
            const std::string name = row_name(j);
            if (!is_internal(t.table->rows[static_cast<std::size_t>(t.steps[j].row)]) &&
                try_move(t, k, j)) {
                notes += "storage_lost (step " + std::to_string(k + 1) +
                         ") is applied after step " + std::to_string(j) + ", before " + name +
                         ": on the model it commutes with steps " + std::to_string(k + 2) + ".." +
                         std::to_string(j) + ". ";
                break;
            }
        }
    }
    for (int k = 0; k < n; ++k) {
        const m::RowData& row = t.table->rows[static_cast<std::size_t>(t.steps[k].row)];
        const m::State& pre = k == 0 ? t.initial : t.states[static_cast<std::size_t>(k - 1)];
        if (is_internal(row) || why_not_holdable(t, pre).empty()) {
            continue;
        }
        for (int j = k + 2; j <= n; ++j) {
            if (!is_internal(t.table->rows[static_cast<std::size_t>(t.steps[j - 1].row)])) {
                break;
            }
            const std::vector<int> numbers = t.original;
            const std::string name(row.name);
            if (try_move(t, k, j)) {
                const auto num = [&](int i) {
                    return std::to_string(numbers[static_cast<std::size_t>(i)]);
                };
                notes += name + " (step " + num(k) + ") is applied after step " + num(j - 1) +
                         ", where QEMU stops: on the model it commutes with step" +
                         (j - 1 > k + 1 ? "s " + num(k + 1) + ".." : " ") + num(j - 1) + ". ";
                break;
            }
        }
    }
    return notes;
}

} // namespace

std::string check_trace(const nlohmann::json& trace) {
    ModelTrace t = parse(trace);
    return reorder_for_replay(t);
}

ReplayResult replay(const nlohmann::json& trace, const ReplayOptions& options) {
    ModelTrace t = parse(trace);
    const std::string version(t.table->version);
    QemuBinaries qemu = select_qemu(version, options.qemu_dir);
    const std::string line = qemu_version(qemu);
    const std::string expected = expected_version(version);
    std::string warning;
    if (!version_matches(line, expected)) {
        // Replaying on another version is how one asks whether it behaves as the trace's does.
        warning = "the trace models " + version + " (QEMU " + expected + ") but " + qemu.system +
                  " is \"" + line + "\"; replaying on it anyway";
        if (options.on_warning) {
            options.on_warning(warning);
        }
    }
    const std::string notes = reorder_for_replay(t);
    Replayer r(t, options, qemu);
    ReplayResult res = r.run();
    res.notes = notes;
    res.qemu_version = line;
    res.qemu_binary = qemu.system;
    res.qemu_expected = expected;
    res.version_warning = warning;
    return res;
}

} // namespace handoff::conformance
