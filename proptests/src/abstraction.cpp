#include "handoff/proptests/abstraction.hpp"

#include "handoff/model/vocabulary.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace handoff::proptests {

namespace m = handoff::model;
namespace im = handoff::impl;

namespace {

constexpr std::uint16_t kAny = 0xFFFF;

std::uint16_t bit(int value) {
    return static_cast<std::uint16_t>(1u << value);
}
template <class E>
std::uint16_t bit(E value) {
    return bit(static_cast<int>(value));
}

std::string slot_name(m::Var v, int host, int node) {
    const auto& info = m::var_info(v);
    switch (info.scope) {
    case m::Scope::Global:
        return std::string(info.name);
    case m::Scope::PerHost:
        return fmt::format("{}[{}]", info.name, host);
    case m::Scope::PerNode:
        return fmt::format("{}[{}][{}]", info.name, host, node);
    }
    return "?";
}

template <class F>
void for_each_slot(const m::Interpreter& interp, F&& f) {
    for (int v = 0; v < m::kVarCount; ++v) {
        const auto var = static_cast<m::Var>(v);
        switch (m::var_info(var).scope) {
        case m::Scope::Global:
            f(var, 0, 0);
            break;
        case m::Scope::PerHost:
            f(var, 0, 0);
            f(var, 1, 0);
            break;
        case m::Scope::PerNode:
            for (int h = 0; h < 2; ++h) {
                for (int n = 0; n < interp.instance().nodes; ++n) {
                    f(var, h, n);
                }
            }
            break;
        }
    }
}

std::string allowed_names(m::Var v, std::uint16_t mask) {
    const auto& values = m::domain_info(m::var_info(v).domain).values;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (mask & bit(static_cast<int>(i))) {
            names.emplace_back(values[i]);
        }
    }
    if (names.size() == 1) {
        return names.front();
    }
    return fmt::format("{{{}}}", fmt::join(names, ","));
}

class Builder {
  public:
    Builder(const m::Interpreter& interp, AbstractState& out) : interp_(interp), out_(out) {
        out_.allowed.assign(static_cast<std::size_t>(interp.layout().size()), kAny);
    }
    void set(m::Var v, int host, int node, std::uint16_t mask) {
        out_.allowed[static_cast<std::size_t>(interp_.layout().offset(v, host, node))] = mask;
    }
    template <class E>
    void exact(m::Var v, int host, E value) {
        set(v, host, 0, bit(value));
    }
    template <class E>
    void exact(m::Var v, int host, const std::optional<E>& value, const std::string& what) {
        if (value) {
            set(v, host, 0, bit(*value));
        } else {
            set(v, host, 0, 0);
            out_.unmapped.push_back(what);
        }
    }

  private:
    const m::Interpreter& interp_;
    AbstractState& out_;
};

} // namespace

bool AbstractState::matches(const m::State& s) const {
    if (crashed) {
        // The run ends with the crash: what else the model's crashing row wrote before its
        // assertion is not compared.
        return (allowed[crash_slot] & bit(static_cast<unsigned char>(s[crash_slot]))) &&
               (allowed[crash_host_slot] & bit(static_cast<unsigned char>(s[crash_host_slot])));
    }
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        if (!(allowed[i] & bit(static_cast<unsigned char>(s[i])))) {
            return false;
        }
    }
    return true;
}

std::string AbstractState::format(const m::Interpreter& interp, const m::State* near) const {
    std::vector<std::string> parts;
    for_each_slot(interp, [&](m::Var v, int h, int n) {
        const auto offset = static_cast<std::size_t>(interp.layout().offset(v, h, n));
        const std::uint16_t mask = allowed[offset];
        const int size = m::domain_size(m::var_info(v).domain);
        const std::uint16_t full = static_cast<std::uint16_t>((1u << size) - 1);
        if ((mask & full) == full) {
            return;
        }
        if (near && (mask & bit(static_cast<unsigned char>((*near)[offset])))) {
            return;
        }
        parts.push_back(slot_name(v, h, n) + "=" + allowed_names(v, mask));
    });
    for (const auto& u : unmapped) {
        parts.push_back("(unmapped: " + u + ")");
    }
    return fmt::format("{}", fmt::join(parts, " "));
}

std::optional<m::RunState> to_model(im::RunState s) {
    switch (s) {
    case im::RunState::running:
        return m::RunState::RUNNING;
    case im::RunState::paused:
        return m::RunState::PAUSED;
    case im::RunState::finish_migrate:
        return m::RunState::FINISH_MIGRATE;
    case im::RunState::postmigrate:
        return m::RunState::POSTMIGRATE;
    case im::RunState::inmigrate:
        return m::RunState::INMIGRATE;
    case im::RunState::save_vm:
        return m::RunState::SAVE_VM;
    case im::RunState::shutdown:
        return m::RunState::SHUTDOWN;
    default:
        if (s == im::kRunStateUnset) {
            return m::RunState::UNSET;
        }
        return std::nullopt;
    }
}

std::optional<m::MigStatus> to_model(im::MigrationStatus s) {
    switch (s) {
    case im::MigrationStatus::none:
        return m::MigStatus::NONE;
    case im::MigrationStatus::setup:
        return m::MigStatus::SETUP;
    case im::MigrationStatus::active:
        return m::MigStatus::ACTIVE;
    case im::MigrationStatus::pre_switchover:
        return m::MigStatus::PRE_SWITCHOVER;
    case im::MigrationStatus::device:
        return m::MigStatus::DEVICE;
    case im::MigrationStatus::postcopy_active:
        return m::MigStatus::POSTCOPY_ACTIVE;
    case im::MigrationStatus::completed:
        return m::MigStatus::COMPLETED;
    case im::MigrationStatus::failed:
        return m::MigStatus::FAILED;
    case im::MigrationStatus::cancelling:
        return m::MigStatus::CANCELLING;
    case im::MigrationStatus::cancelled:
        return m::MigStatus::CANCELLED;
    case im::MigrationStatus::postcopy_paused:
    case im::MigrationStatus::colo:
        return std::nullopt;
    }
    return std::nullopt;
}

std::optional<m::Crash> crash_to_model(const im::CrashRecord& crash) {
    if (crash.function == "bdrv_inactivate_recurse") {
        return crash.reason.find("top_level") != std::string::npos ? m::Crash::INACTIVE_CHILD
                                                                   : m::Crash::DOUBLE_INACTIVATE;
    }
    if (crash.function == "bdrv_co_write_req_prepare") {
        return m::Crash::WRITE_TO_INACTIVE;
    }
    if (crash.function == "runstate_set") {
        return m::Crash::INVALID_RUNSTATE;
    }
    return std::nullopt; // e.g. bdrv_child_cb_inactivate: not in the model's vocabulary
}

m::NodeState to_model(im::NodeActivity a) {
    switch (a) {
    case im::NodeActivity::active:
        return m::NodeState::ACTIVE;
    case im::NodeActivity::inactive:
        return m::NodeState::INACTIVE;
    case im::NodeActivity::half:
        return m::NodeState::HALF_INACTIVE;
    case im::NodeActivity::broken:
        return m::NodeState::BROKEN;
    }
    return m::NodeState::BROKEN;
}

std::optional<m::Incoming> incoming_to_model(const im::Observation& o) {
    switch (o.incoming_step) {
    case im::IncomingStep::load:
        return m::Incoming::LOADING;
    case im::IncomingStep::precopy_bh:
        return m::Incoming::LOADED;
    case im::IncomingStep::postcopy_run_bh:
        return m::Incoming::POSTCOPY;
    case im::IncomingStep::postcopy_load: // the run BH ran; the listen thread reads the rest
        return m::Incoming::DONE;
    case im::IncomingStep::none:
        break;
    }
    if (o.incoming_status == im::MigrationStatus::none) {
        // -incoming defer before qmp_migrate_incoming: waiting for a source.
        return o.runstate == im::RunState::inmigrate ? m::Incoming::LISTENING : m::Incoming::NONE;
    }
    if (o.incoming_status == im::MigrationStatus::completed) {
        return m::Incoming::DONE;
    }
    return std::nullopt; // FAILED means the process exited; POSTCOPY_PAUSED is not modelled
}

std::vector<m::ThreadPc> pc_to_model(const im::Observation& o) {
    using P = m::ThreadPc;
    const bool postcopy = o.migration_status == im::MigrationStatus::postcopy_active;
    switch (o.thread_step) {
    case im::MigrationThreadStep::none:
        return {P::IDLE};
    case im::MigrationThreadStep::setup:
        return {P::SETUP};
    case im::MigrationThreadStep::iterate:
        return {P::ITERATING};
    case im::MigrationThreadStep::completion_locked:
        // The model's postcopy completion is one step from ITERATING.
        return {postcopy ? P::ITERATING : P::COMPLETION_LOCK};
    case im::MigrationThreadStep::wait_pre_switchover:
        return {P::SWITCHOVER_WAIT};
    case im::MigrationThreadStep::completion_checks:
    case im::MigrationThreadStep::completion_fail:
        // impl/ does not show completion_ret nor where the fail label was reached from: the
        // BQL section failed (COMPLETION_FAILED), the device state was sent and the checks
        // run next (COMPLETION_SAVED), or migration_completion() found the migration no
        // longer active (the model's one step from ITERATING) or in postcopy.
        return {P::ITERATING, P::COMPLETION_FAILED, P::COMPLETION_SAVED};
    case im::MigrationThreadStep::iteration_finish:
        // impl/ leaves the loop in the step that failed the migration (after_thread_step()); the
        // model's loop_exit is a step of its own, from ITERATING with s->state FAILED.
        if (o.migration_status == im::MigrationStatus::failed) {
            return {P::ITERATING, P::FINISH};
        }
        return {P::FINISH};
    case im::MigrationThreadStep::cleanup_bh: // the test runs it with iteration_finish
    case im::MigrationThreadStep::postcopy_paused:
        return {};
    }
    return {};
}

bool pcs_alike(m::ThreadPc a, m::ThreadPc b) {
    using S = im::MigrationThreadStep;
    // Every thread position (a new one must be added here as in pc_to_model()), under each
    // migration status pc_to_model() reads.
    for (const S step : {S::none, S::setup, S::iterate, S::completion_locked,
                         S::wait_pre_switchover, S::completion_checks, S::completion_fail,
                         S::postcopy_paused, S::iteration_finish, S::cleanup_bh}) {
        for (const im::MigrationStatus status :
             {im::MigrationStatus::active, im::MigrationStatus::postcopy_active,
              im::MigrationStatus::failed}) {
            im::Observation o;
            o.thread_step = step;
            o.migration_status = status;
            const std::vector<m::ThreadPc> pcs = pc_to_model(o);
            if ((std::find(pcs.begin(), pcs.end(), a) != pcs.end()) !=
                (std::find(pcs.begin(), pcs.end(), b) != pcs.end())) {
                return false;
            }
        }
    }
    return true;
}

std::vector<const im::NodeObservation*> model_nodes(const im::Observation& o,
                                                    const m::BlockGraph& graph) {
    std::vector<const im::NodeObservation*> out;
    if (graph.shape() == m::GraphShape::flat) {
        for (const auto& n : o.nodes) {
            if (n.has_backend) {
                out.push_back(&n);
            }
        }
        return out;
    }
    for (const m::BlockNode& node : graph.nodes()) {
        const auto it =
            std::find_if(o.nodes.begin(), o.nodes.end(),
                         [&](const im::NodeObservation& n) { return n.node_name == node.label; });
        out.push_back(it == o.nodes.end() ? nullptr : &*it);
    }
    return out;
}

// What a host's outgoing stream carries, for the model's stream_eof and global_state: QEMU_VM_EOF
// of a precopy stream (a postcopy stream's end is not the model's stream_eof: the destination's
// load already went on through the package) and the global state global_state_store() wrote into
// it. The bytes are the socket's once written, so this holds for a process that is gone too.
static void map_outgoing_stream(Builder& b, int h, const im::MigrationStream* out_stream) {
    using V = m::Var;
    if (out_stream && out_stream->global_state) {
        b.exact(V::global_state, h, to_model(*out_stream->global_state),
                fmt::format("global_state[{}]", h));
    } else {
        b.exact(V::global_state, h, m::RunState::UNSET);
    }
    b.exact(V::stream_eof, h,
            out_stream && out_stream->eof_sent && !out_stream->postcopy_package_sent);
}

std::vector<bool> hidden_slots(const m::Interpreter& interp, const m::State& s) {
    using V = m::Var;
    std::vector<bool> out(static_cast<std::size_t>(interp.layout().size()), false);
    auto hide = [&](V v, int h) {
        out[static_cast<std::size_t>(interp.layout().offset(v, h))] = true;
    };
    const bool has_global_flag = interp.table().version == "v10.0-dev";
    for (int h = 0; h < 2; ++h) {
        hide(V::rp_error, h); // abstract() sets it for no process
        if (interp.get(s, V::alive, h) == 0) {
            continue; // process_exits(h): abstract() names the rest
        }
        for (V v : {V::active_state, V::pause_sem, V::file_error, V::received_state}) {
            hide(v, h);
        }
        if (!has_global_flag) {
            hide(V::migration_block_active, h);
        }
    }
    return out;
}

AbstractState abstract(const m::Interpreter& interp, const Capabilities& caps,
                       bool storage_answering, const std::array<HostView, 2>& hosts,
                       const History& history) {
    using V = m::Var;
    AbstractState out;
    Builder b(interp, out);
    const bool has_global_flag = interp.table().version == "v10.0-dev";

    b.exact(V::storage_ok, 0, storage_answering);
    b.exact(V::cap_late_block_activate, 0, caps.late_block_activate);
    b.exact(V::cap_pause_before_switchover, 0, caps.pause_before_switchover);
    b.exact(V::cap_postcopy, 0, caps.postcopy);
    b.exact(V::cap_autostart, 0, caps.autostart_policy);
    b.exact(V::image_locking, 0, false); // impl/ does not model image locking between hosts
    b.exact(V::starts_left, 0, history.starts_left);
    b.exact(V::set_active_left, 0, history.set_active_left);
    // The property tests drive impl/ with any use of QMP (set-active on a running guest too).
    b.exact(V::documented_use, 0, false);
    b.exact(V::crash, 0, m::Crash::NONE);
    out.crash_slot = static_cast<std::size_t>(interp.layout().offset(V::crash));
    out.crash_host_slot = static_cast<std::size_t>(interp.layout().offset(V::crash_host));

    for (int h = 0; h < 2; ++h) {
        const HostView& view = hosts[static_cast<std::size_t>(h)];
        const auto& obs = view.observation;
        if (obs && obs->crash) {
            out.crashed = true;
            b.exact(V::crash, 0, crash_to_model(*obs->crash),
                    fmt::format("crash in {}: {}", obs->crash->function, obs->crash->reason));
            b.exact(V::crash_host, 0, h);
            continue;
        }
        if (!obs || obs->exited) {
            // process_exits(h): a process that is gone.
            b.exact(V::alive, h, false);
            b.exact(V::runstate, h, m::RunState::INMIGRATE);
            b.exact(V::mig, h, m::MigStatus::NONE);
            b.exact(V::pc, h, m::ThreadPc::IDLE);
            b.exact(V::incoming, h, m::Incoming::NONE);
            b.exact(V::block_inactive, h, false);
            b.exact(V::vm_was_running, h, false);
            b.exact(V::vm_old_state, h, m::RunState::UNSET);
            b.exact(V::received_state, h, m::RunState::UNSET);
            b.exact(V::migration_block_active, h, false);
            // What the process wrote to its socket outlives it.
            map_outgoing_stream(b, h, view.outgoing);
            b.exact(V::file_error, h, false);
            b.exact(V::pause_sem, h, false);
            b.exact(V::active_state, h, m::MigStatus::NONE);
            b.exact(V::autostart, h, false);
            b.exact(V::started_inactive, h, false);
            b.exact(V::tried_inactivate, h, false);
            for (int n = 0; n < interp.instance().nodes; ++n) {
                b.set(V::node, h, n, bit(m::NodeState::INACTIVE));
            }
            continue;
        }
        const im::Observation& o = *obs;
        b.exact(V::alive, h, true);
        b.exact(V::runstate, h, to_model(o.runstate),
                fmt::format("runstate[{}] {}", h, im::to_string(o.runstate)));
        b.exact(V::mig, h, to_model(o.migration_status),
                fmt::format("mig[{}] {}", h, im::to_string(o.migration_status)));
        std::uint16_t pcs = 0;
        for (m::ThreadPc pc : pc_to_model(o)) {
            pcs |= bit(pc);
        }
        if (pcs == 0) {
            out.unmapped.push_back(
                fmt::format("thread step[{}] {}", h, im::to_string(o.thread_step)));
        }
        b.set(V::pc, h, 0, pcs);
        b.exact(V::block_inactive, h, o.block_inactive);
        b.exact(V::vm_was_running, h, o.vm_was_running);
        b.exact(V::vm_old_state, h, to_model(o.vm_old_state),
                fmt::format("vm_old_state[{}] {}", h, im::to_string(o.vm_old_state)));
        map_outgoing_stream(b, h, view.outgoing);
        if (has_global_flag) {
            // The model folds the destination's qmp_migrate_incoming() (which clears the flag)
            // into its start; impl/ calls it when the source connects.
            const bool listening = incoming_to_model(o) == m::Incoming::LISTENING;
            b.exact(V::migration_block_active, h, o.migration_block_active && !listening);
        }
        auto incoming = incoming_to_model(o);
        const im::MigrationStream* from_peer = hosts[static_cast<std::size_t>(1 - h)].outgoing;
        if (incoming == m::Incoming::LOADING && from_peer && from_peer->postcopy_package_sent) {
            // The model's postcopy_start_ok delivers the package in the same step; impl/'s
            // destination reads it in its next incoming step.
            incoming = m::Incoming::POSTCOPY;
        }
        b.exact(V::incoming, h, incoming,
                fmt::format("incoming[{}] step {} status {}", h, im::to_string(o.incoming_step),
                            im::to_string(o.incoming_status)));
        b.exact(V::autostart, h, o.autostart);
        b.exact(V::started_inactive, h,
                history.hosts[static_cast<std::size_t>(h)].started_inactive);
        b.exact(V::tried_inactivate, h,
                history.hosts[static_cast<std::size_t>(h)].tried_inactivate);
        const auto nodes = model_nodes(o, interp.graph());
        for (int n = 0; n < interp.instance().nodes; ++n) {
            if (n < static_cast<int>(nodes.size()) && nodes[static_cast<std::size_t>(n)]) {
                b.set(V::node, h, n, bit(to_model(nodes[static_cast<std::size_t>(n)]->activity)));
            } else {
                b.set(V::node, h, n, 0);
                out.unmapped.push_back(fmt::format("host {} has no disk {}", h, n));
            }
        }
        // Hidden (impl/ does not show them): active_state, pause_sem, file_error,
        // received_state, rp_error; migration_block_active outside 10.0-dev. The oracle carries
        // the model's values. hidden_slots() names the same.
    }
    return out;
}

} // namespace handoff::proptests
