#include "handoff/proptests/replay.hpp"

#include "handoff/model/explore.hpp"
#include "handoff/model/versions.hpp"
#include "handoff/proptests/property.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>

namespace handoff::proptests {

namespace m = handoff::model;
namespace im = handoff::impl;

namespace {

// The trace's states as model States: the checker prints every variable by name, in the order
// of model::describe().
m::State parse_state(const m::Interpreter& interp, const std::map<std::string, std::string>& vals) {
    m::State s(static_cast<std::size_t>(interp.layout().size()), '\0');
    const auto names = m::describe(interp, s);
    std::size_t i = 0;
    for (int v = 0; v < m::kVarCount; ++v) {
        const auto var = static_cast<m::Var>(v);
        const auto& info = m::var_info(var);
        const int hosts = info.scope == m::Scope::Global ? 1 : 2;
        const int nodes = info.scope == m::Scope::PerNode ? interp.layout().nodes() : 1;
        for (int h = 0; h < hosts; ++h) {
            for (int n = 0; n < nodes; ++n, ++i) {
                const std::string& name = names.at(i).variable;
                const auto it = vals.find(name);
                if (it == vals.end()) {
                    throw std::runtime_error("the trace's state has no variable " + name);
                }
                const auto& values = m::domain_info(info.domain).values;
                int value = -1;
                for (std::size_t k = 0; k < values.size(); ++k) {
                    if (values[k] == it->second) {
                        value = static_cast<int>(k);
                    }
                }
                if (value < 0) {
                    throw std::runtime_error(fmt::format(
                        "the trace's {} = {} is not a value of its domain", name, it->second));
                }
                interp.put(s, var, h, n, value);
            }
        }
    }
    return s;
}

// One way to run a model step on impl/: commands, and whether a storage loss of the trace is still
// to happen afterwards (the model's storage_lost is a step of its own; impl/'s outage fires when a
// given operation of a given disk starts, so the harness arms it for the step that fails there).
struct Candidate {
    std::vector<Op> ops;
    bool pending_after = false;
    bool must_lose_storage = false; // the step armed an outage that has to fire
};

int param(const TraceStep& step, const char* name, int fallback = 0) {
    const auto it = step.params.find(name);
    return it == step.params.end() ? fallback : it->second;
}

std::string ops_text(const std::vector<Op>& ops, const NodeNames& names) {
    if (ops.empty()) {
        return "(no command: impl/ did it in the previous or next command)";
    }
    std::string out;
    for (const auto& op : ops) {
        out += (out.empty() ? "" : "; ") + describe(op, names);
    }
    return out;
}

class Replayer {
  public:
    // `oracle`: the model System holds impl/'s steps to; `interp`: the trace's.
    Replayer(const CheckerTrace& trace, const m::Interpreter& interp, const m::Interpreter& oracle,
             const RunConfig& config, std::vector<m::State> states)
        : trace_(trace), interp_(interp), oracle_(oracle), config_(config),
          names_(node_names(config)), states_(std::move(states)) {}

    ReplayOutcome run() {
        ReplayOutcome out;
        std::vector<std::vector<Op>> chosen;
        if (dfs(0, false, chosen)) {
            out.replayed = true;
            for (std::size_t i = 0; i < chosen.size(); ++i) {
                const auto& s = trace_.steps[i];
                out.steps.push_back(
                    fmt::format("{}({}) -> {}", s.row, s.params_text, ops_text(chosen[i], names_)));
            }
            out.violation = final_violation_;
            out.failure = final_message_;
            return out;
        }
        out.failure = deepest_failure_.empty() ? "no candidate" : deepest_failure_;
        return out;
    }

  private:
    // The guest disk (the n-th BlockBackend) whose root is model node `node`, or -1: a node no
    // guest device writes to directly.
    int disk_of(int node) const {
        int disk = 0;
        for (int x = 0; x < interp_.graph().size(); ++x) {
            if (interp_.graph().is_root(x)) {
                if (x == node) {
                    return disk;
                }
                ++disk;
            }
        }
        return -1;
    }

    std::vector<Candidate> candidates(const TraceStep& step, bool pending) const {
        const int h = param(step, "h");
        const int nodes = interp_.layout().nodes();
        const int none = nodes;
        const auto ts = [h](im::IterationChoice c) {
            return Op{OpKind::thread_step, h, 0, static_cast<int>(c)};
        };
        using C = im::IterationChoice;
        std::vector<std::vector<Op>> actions;
        const std::string& r = step.row;
        if (r == "storage_lost") {
            return {{{}, true, false}, {{Op{OpKind::storage_away, h, 0, 0}}, false, false}};
        }
        if (r == "storage_restored") {
            if (pending) {
                return {{{}, false, false}};
            }
            return {{{Op{OpKind::storage_back, h, 0, 0}}, false, false}};
        }
        if (const auto command = command_for_row(r)) {
            // A guest write goes to a disk: the BlockBackend whose root is the target node.
            const int disk = *command == OpKind::guest_write ? disk_of(param(step, "target")) : 0;
            actions = {{Op{*command, h, disk, 0}}};
        } else if (r == "blockdev_set_active_all" || r == "blockdev_set_inactive_all") {
            actions = {{Op{OpKind::set_active, h, -1, r == "blockdev_set_active_all" ? 1 : 0}}};
        } else if (r == "blockdev_set_active_node" || r == "blockdev_set_inactive_node") {
            actions = {{Op{OpKind::set_active, h, param(step, "target"),
                           r == "blockdev_set_active_node" ? 1 : 0}}};
        } else if (r == "incoming_load_ok" || r == "incoming_load_fails") {
            actions = {{Op{OpKind::incoming_co, h, 0, 0}}};
        } else if (r == "incoming_load_error") {
            actions = {
                {Op{OpKind::incoming_load_fault, h, 0, 0}, Op{OpKind::incoming_co, h, 0, 0}}};
        } else if (r == "process_incoming_migration_bh") {
            actions = {{Op{OpKind::incoming_bh, h, 0, 0}}};
        } else if (r == "postcopy_run_bh") {
            // impl/'s destination reads the package (the `run` command) in its load step first,
            // unless it already did.
            actions = {{Op{OpKind::postcopy_run_bh, h, 0, 0}},
                       {Op{OpKind::incoming_co, h, 0, 0}, Op{OpKind::postcopy_run_bh, h, 0, 0}}};
        } else if (r == "return_path_error") {
            actions = {{Op{OpKind::return_path_fault, h, 0, 0}}};
        } else if (r == "migration_stream_error") {
            actions = {{Op{OpKind::connection_drop, h, 0, 0}}};
        } else if (r.starts_with("postcopy_start")) {
            std::vector<Op> ops{Op{OpKind::start_postcopy, h, 0, 0}};
            if (r == "postcopy_start_package_fails") {
                ops.push_back(Op{OpKind::postcopy_package_fault, h, 0, 1});
            } else if (r == "postcopy_start_send_fails") {
                ops.push_back(Op{OpKind::postcopy_package_fault, h, 0, 2});
            }
            ops.push_back(ts(C::start_postcopy));
            actions = {ops};
        } else {
            // A step of the migration thread. impl/'s steps are finer or coarser than the model's
            // in places: one model row may take one or two impl/ steps, or none (done with the
            // neighbouring row's step). A completion may take three or four (migration_completion()
            // up to its BQL section, the section, the checks after it, the failure path).
            const C first = r == "migration_thread_loop_exit" ? C::iterate : C::complete;
            const C second = first == C::iterate ? C::complete : C::iterate;
            actions = {{ts(first)}, {ts(first), ts(first)}, {}, {ts(second)}};
            if (first == C::complete) {
                actions.push_back({ts(first), ts(first), ts(first)});
                actions.push_back({ts(first), ts(first), ts(first), ts(first)});
            }
        }
        // A failing node left half-inactivated (half=yes): the perm check fails after the driver
        // step and the BlockBackends' inactivation (impl/'s half-done node fault, whose driver
        // step has nothing left to write, so it succeeds while the storage does not answer).
        if (param(step, "half") != 0 && param(step, "fail", none) != none) {
            for (auto& a : actions) {
                a.insert(a.begin(), Op{OpKind::node_fault, h, param(step, "fail"),
                                       static_cast<int>(im::FaultOp::inactivate) | 4});
            }
        }
        // An activation that fails at node `fail` (or postcopy_start()'s re-activation at
        // `refail`) without breaking it: the image lock of that node cannot be taken
        // (bdrv_refresh_perms(); impl/'s `activate` node fault), as with a `file` protocol node
        // whose lock I/O goes to the NFS server that does not answer. A failure that breaks the
        // node is qcow2's re-open, which the storage outage itself causes.
        const bool activates = step.params.count("broken") != 0;
        for (const char* which : {"fail", "refail"}) {
            const int at = param(step, which, none);
            if (activates && at != none && param(step, "broken") == 0 &&
                (std::string(which) == "refail" || step.params.count("half") == 0)) {
                for (auto& a : actions) {
                    a.insert(a.begin(), Op{OpKind::node_fault, h, at,
                                           static_cast<int>(im::FaultOp::activate)});
                }
            }
        }
        // Where the storage loss of the trace happens.
        const bool fails = param(step, "fail", none) != none ||
                           param(step, "refail", none) != none || param(step, "broken") != 0 ||
                           param(step, "flush_fails") != 0;
        std::vector<Candidate> out;
        for (const auto& a : actions) {
            if (!pending) {
                out.push_back({a, false, false});
                continue;
            }
            if (!fails) {
                out.push_back({a, true, false});
            }
            std::vector<Op> away{Op{OpKind::storage_away, h, 0, 0}};
            away.insert(away.end(), a.begin(), a.end());
            out.push_back({away, false, false});
            for (int n = 0; n < nodes; ++n) {
                for (const im::FaultOp fop : {im::FaultOp::inactivate, im::FaultOp::activate,
                                              im::FaultOp::reopen, im::FaultOp::flush}) {
                    std::vector<Op> armed{
                        Op{OpKind::storage_outage_at, h, n, static_cast<int>(fop)}};
                    armed.insert(armed.end(), a.begin(), a.end());
                    out.push_back({armed, false, true});
                }
            }
            if (fails) {
                out.push_back({a, true, false});
            }
        }
        return out;
    }

    // Runs the chosen commands from fresh processes; "" or the oracle's complaint.
    std::string run_prefix(System& sys, const std::vector<std::vector<Op>>& chosen,
                           const std::vector<Op>& more) const {
        for (const auto& ops : chosen) {
            for (const auto& op : ops) {
                if (auto c = sys.execute(op); !c.empty()) {
                    return c;
                }
            }
        }
        for (const auto& op : more) {
            if (auto c = sys.execute(op); !c.empty()) {
                return c;
            }
        }
        return "";
    }

    bool dfs(std::size_t i, bool pending, std::vector<std::vector<Op>>& chosen) {
        if (++budget_ > 20'000) {
            return false;
        }
        if (i == trace_.steps.size()) {
            return finish(chosen);
        }
        const TraceStep& step = trace_.steps[i];
        m::State target = states_[i + 1];
        for (const Candidate& c : candidates(step, pending)) {
            System sys(config_, oracle_);
            const std::string complaint = run_prefix(sys, chosen, c.ops);
            if (!complaint.empty()) {
                note(i, step, c, complaint);
                continue;
            }
            const AbstractState a = sys.abstract_now();
            const bool storage_down = !sys.storage_answering();
            if (c.must_lose_storage && !storage_down) {
                continue; // the armed outage did not fire in this step
            }
            m::State expected = target;
            if (c.pending_after) {
                interp_.put(expected, m::Var::storage_ok, 0, 0, 1);
            }
            if (!a.matches(expected) && !next_thread_step_done_too(i, a, c)) {
                note(i, step, c,
                     fmt::format("the implementation's state differs from the trace's: {}",
                                 a.format(interp_, &expected)));
                continue;
            }
            chosen.push_back(c.ops);
            if (dfs(i + 1, c.pending_after, chosen)) {
                return true;
            }
            chosen.pop_back();
        }
        return false;
    }

    // impl/'s thread steps are coarser than the model's in places, so the impl/ state after trace
    // step i may be the trace's state after the next step, when that step is a row of the same
    // host's migration thread; that row then takes no command (its candidates include none) and
    // is checked against the same state. impl/ checks migration_is_active() at the end of a
    // thread step (after_thread_step()): a step that leaves the migration inactive (setup after
    // a cancel, a failed iteration) also leaves the loop, the model's migration_thread_loop_exit.
    // And 9.2+'s migration_completion_checks() ends in migration_completion_end() within the same
    // step, where the model has migration_completion_checks_pass, then migration_completion_end.
    bool next_thread_step_done_too(std::size_t i, const AbstractState& a,
                                   const Candidate& c) const {
        if (i + 1 >= trace_.steps.size() || c.ops.empty()) {
            return false;
        }
        const TraceStep& next = trace_.steps[i + 1];
        const m::RowData* row = interp_.table().find(next.row);
        if (row == nullptr || row->actor != m::Actor::thread ||
            param(next, "h") != param(trace_.steps[i], "h")) {
            return false;
        }
        m::State after = states_[i + 2];
        if (c.pending_after) {
            interp_.put(after, m::Var::storage_ok, 0, 0, 1);
        }
        return a.matches(after);
    }

    void note(std::size_t i, const TraceStep& step, const Candidate& c, const std::string& why) {
        if (std::getenv("HANDOFF_REPLAY_DEBUG")) {
            std::cerr << fmt::format("  [debug] step {} {} as \"{}\": {}\n", i + 1, step.row,
                                     ops_text(c.ops, names_), why);
        }
        if (static_cast<int>(i) >= deepest_) {
            deepest_ = static_cast<int>(i);
            deepest_failure_ = fmt::format("step {} {}({}) as \"{}\": {}", i + 1, step.row,
                                           step.params_text, ops_text(c.ops, names_), why);
        }
    }

    bool finish(const std::vector<std::vector<Op>>& chosen) {
        System sys(config_, oracle_);
        if (!run_prefix(sys, chosen, {}).empty()) {
            return false;
        }
        const m::InvariantData* inv = m::find_invariant(trace_.invariant);
        if (!inv) {
            final_message_ = "no invariant named " + trace_.invariant;
            return true;
        }
        if (inv->kind != m::InvariantKind::StatePredicate) {
            // recoverable: a property of the reachable graph; the implementation reached the
            // trace's last state, from which the model has no recovery.
            final_violation_ = true;
            final_message_ = "reached the trace's last state (recoverability is a property of "
                             "the model's graph, not of one state)";
            return true;
        }
        const std::string v = sys.violated({inv});
        final_violation_ = !v.empty();
        final_message_ = final_violation_ ? v : "the implementation shows no violation";
        return true;
    }

    const CheckerTrace& trace_;
    const m::Interpreter& interp_;
    const m::Interpreter& oracle_;
    RunConfig config_;
    NodeNames names_; // what the commands call the run's nodes and disks
    std::vector<m::State> states_;
    long budget_ = 0;
    int deepest_ = -1;
    std::string deepest_failure_;
    bool final_violation_ = false;
    std::string final_message_;
};

} // namespace

std::optional<OpKind> command_for_row(const std::string& row) {
    static const std::map<std::string, OpKind, std::less<>> commands{
        {"start_destination", OpKind::start_destination},
        {"quit_after_handover", OpKind::quit},
        {"qmp_migrate", OpKind::migrate},
        {"qmp_migrate_cancel", OpKind::migrate_cancel},
        {"qmp_migrate_continue", OpKind::migrate_continue},
        {"qmp_cont", OpKind::cont},
        {"qmp_stop", OpKind::stop},
        {"savevm", OpKind::savevm},
        {"guest_write", OpKind::guest_write},
    };
    const auto it = commands.find(row);
    return it == commands.end() ? std::nullopt : std::optional<OpKind>(it->second);
}

CheckerTrace checker_trace(const m::Interpreter& interp, const m::Trace& trace,
                           const std::string& invariant) {
    auto state_of = [&](const m::State& s) {
        std::map<std::string, std::string> out;
        for (const auto& c : m::describe(interp, s)) {
            out[c.variable] = c.after;
        }
        return out;
    };
    CheckerTrace out;
    out.path = "(in memory)";
    out.version = interp.table().version;
    out.invariant = invariant;
    out.nodes = interp.instance().nodes;
    out.graph = std::string(m::graph_shape_name(interp.instance().graph));
    out.starts = interp.instance().starts;
    out.env = interp.instance().documented_use ? "documented" : "any";
    out.initial = state_of(trace.initial);
    for (const auto& ts : trace.steps) {
        const m::RowData& row = interp.table().rows.at(static_cast<std::size_t>(ts.step.row));
        TraceStep step;
        step.row = row.name;
        for (const m::Param p : row.params) {
            step.params[std::string(m::param_info(p).name)] =
                ts.step.params[static_cast<std::size_t>(p)];
        }
        step.params_text = m::format_params(interp, ts.step);
        step.state = state_of(ts.state);
        out.steps.push_back(std::move(step));
    }
    return out;
}

ReplayOutcome replay(const CheckerTrace& trace, const m::TableData* oracle_table,
                     const m::TableData* trace_table) {
    const m::TableData* table = m::find_version(trace.version);
    if (!table) {
        return {false, false, {}, "no model version " + trace.version, {}};
    }
    if (oracle_table == nullptr) {
        oracle_table = table;
    }
    if (trace_table == nullptr) {
        trace_table = table;
    }
    m::Instance instance(trace.nodes);
    instance.starts = trace.starts;
    const auto graph = m::graph_shape_from_name(trace.graph);
    if (!graph) {
        return {false, false, {}, "unknown graph " + trace.graph, {}};
    }
    instance.graph = *graph;
    const m::Interpreter probe(*table, instance);
    const m::State initial = parse_state(probe, trace.initial);
    for (const m::Var v : {m::Var::cap_late_block_activate, m::Var::cap_pause_before_switchover,
                           m::Var::cap_postcopy, m::Var::cap_autostart, m::Var::image_locking}) {
        instance.fixed[static_cast<int>(v)] = probe.get(initial, v);
    }
    instance.set_active_calls = probe.get(initial, m::Var::set_active_left);
    // impl/ does not model image locking between the hosts, and it is driven with any use of QMP
    // (the abstraction says documented_use=false). A trace that starts with image_locking on (the
    // checker picks the capability freely) or under documented use (handoff check's default
    // profile, which also fixes image locking on) but never needs either is replayed with both
    // off, after checking on the model that every step is still the same step.
    m::State start = initial;
    std::vector<m::Var> relaxed;
    for (const m::Var v : {m::Var::image_locking, m::Var::documented_use}) {
        if (probe.get(initial, v) != 0) {
            probe.put(start, v, 0, 0, 0);
            relaxed.push_back(v);
        }
    }
    instance.fixed[static_cast<int>(m::Var::image_locking)] = 0;
    const m::Interpreter interp(*table, instance);
    const m::Interpreter oracle(*oracle_table, instance);
    const m::Interpreter trace_model(*trace_table, instance);
    RunConfig config;
    config.version = impl_version(trace.version);
    config.caps.late_block_activate = interp.get(initial, m::Var::cap_late_block_activate) != 0;
    config.caps.pause_before_switchover =
        interp.get(initial, m::Var::cap_pause_before_switchover) != 0;
    config.caps.postcopy = interp.get(initial, m::Var::cap_postcopy) != 0;
    config.caps.autostart_policy = interp.get(initial, m::Var::cap_autostart) != 0;
    config.start_paused =
        interp.get(initial, m::Var::runstate, 0) == static_cast<int>(m::RunState::PAUSED);
    config.graph = *graph;
    config.nodes = trace.nodes;
    config.starts = trace.starts;
    config.set_active_calls = instance.set_active_calls;
    config.cancel_in_postcopy = true;
    std::vector<m::State> states{start};
    for (const auto& s : trace.steps) {
        states.push_back(parse_state(interp, s.state));
        for (const m::Var v : relaxed) {
            interp.put(states.back(), v, 0, 0, 0);
        }
    }
    if (!relaxed.empty()) {
        for (std::size_t i = 0; i < trace.steps.size(); ++i) {
            const TraceStep& ts = trace.steps[i];
            m::Step step;
            for (std::size_t r = 0; r < table->rows.size(); ++r) {
                if (table->rows[r].name == ts.row) {
                    step.row = static_cast<int>(r);
                }
            }
            for (int p = 0; p < m::kParamCount; ++p) {
                const auto param = static_cast<m::Param>(p);
                const auto it = ts.params.find(std::string(m::param_info(param).name));
                step.params[static_cast<std::size_t>(p)] =
                    it != ts.params.end() ? it->second : interp.param_default(param);
            }
            const auto next = step.row < 0 ? std::nullopt : trace_model.apply(states[i], step);
            if (!next || *next != states[i + 1]) {
                return {false,
                        false,
                        {},
                        fmt::format("the trace needs image locking or documented use (step "
                                    "{} {}({}) differs without them), which impl/ does not "
                                    "model",
                                    i + 1, ts.row, ts.params_text),
                        {}};
            }
        }
    }
    // The disks are busy first (persistent dirty bitmaps, unflushed guest writes: a flush or an
    // inactivation writes to the storage, so a storage outage can fail it); a trace that flushes
    // or inactivates a disk while the storage does not answer needs idle disks, which write
    // nothing then.
    try {
        ReplayOutcome outcome = Replayer(trace, interp, oracle, config, states).run();
        outcome.ran = true;
        if (!outcome.replayed) {
            config.busy_disks = false;
            ReplayOutcome idle = Replayer(trace, interp, oracle, config, std::move(states)).run();
            if (idle.replayed) {
                idle.ran = true;
                idle.disks = "idle disks (flushed, no persistent dirty bitmap)";
                return idle;
            }
        }
        outcome.disks = "busy disks (persistent dirty bitmaps, unflushed writes)";
        return outcome;
    } catch (const std::exception& e) {
        return {false, false, {}, e.what(), {}};
    }
}

} // namespace handoff::proptests
