#include "handoff/proptests/system.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace handoff::proptests {

namespace m = handoff::model;
namespace im = handoff::impl;

constexpr std::size_t kMaxCandidates = 4096;

std::string_view to_string(OpKind k) {
    static constexpr std::array<std::string_view, kOpKindCount> names{"migrate",
                                                                      "migrate_cancel",
                                                                      "migrate_continue",
                                                                      "start_postcopy",
                                                                      "cont",
                                                                      "stop",
                                                                      "savevm",
                                                                      "blockdev_set_active",
                                                                      "guest_write",
                                                                      "thread_step",
                                                                      "incoming_co",
                                                                      "incoming_bh",
                                                                      "postcopy_run_bh",
                                                                      "storage_away",
                                                                      "storage_back",
                                                                      "start_destination",
                                                                      "quit",
                                                                      "storage_outage_at",
                                                                      "node_fault",
                                                                      "incoming_load_fault",
                                                                      "return_path_fault",
                                                                      "file_error_fault",
                                                                      "postcopy_package_fault",
                                                                      "connection_drop",
                                                                      "thread_run",
                                                                      "destination_run",
                                                                      "lock_fault"};
    return names[static_cast<std::size_t>(k)];
}

namespace {

// A name for a node index the run may not have (a command armed from a trace of another
// instance names it as it is).
std::string name_of(const std::vector<std::string>& names, int i) {
    return i >= 0 && i < static_cast<int>(names.size()) ? names[static_cast<std::size_t>(i)]
                                                        : fmt::format("#{}", i);
}

const char* choice_name(int arg) {
    switch (static_cast<im::IterationChoice>(arg)) {
    case im::IterationChoice::iterate:
        return "iterate";
    case im::IterationChoice::complete:
        return "complete";
    case im::IterationChoice::start_postcopy:
        return "start_postcopy";
    }
    return "?";
}

bool alive(const im::QemuInstance* q) {
    return q != nullptr && !q->crashed() && !q->exited();
}

} // namespace

im::BlockConfig block_config(const RunConfig& config) {
    switch (config.graph) {
    case m::GraphShape::flat:
        return im::BlockConfig::qcow2_disks_on_nfs(config.nodes, config.busy_disks);
    case m::GraphShape::chain:
        return im::BlockConfig::qcow2_chains_on_nfs(config.nodes / 4, config.busy_disks);
    case m::GraphShape::shared_base:
        return im::BlockConfig::qcow2_disks_on_shared_base(config.busy_disks);
    case m::GraphShape::job:
        return im::BlockConfig::mirror_jobs_on_nfs(config.nodes / 3, config.busy_disks);
    }
    throw std::logic_error("unknown graph shape");
}

NodeNames node_names(const RunConfig& config) {
    NodeNames names;
    const im::BlockConfig block = block_config(config);
    for (const im::BackendConfig& backend : block.backends) {
        names.disks.push_back(backend.root);
    }
    if (config.graph == m::GraphShape::flat) {
        names.nodes = names.disks; // the model's node stands for the disk's qcow2 node
        return names;
    }
    const m::BlockGraph graph = m::BlockGraph::make(config.graph, config.nodes);
    for (const m::BlockNode& node : graph.nodes()) {
        names.nodes.push_back(node.label);
    }
    return names;
}

std::string describe(const Op& op, const NodeNames& names) {
    const int h = op.host;
    const auto disk_name = [&](int n) { return name_of(names.disks, n); };
    const auto node_name = [&](int n) { return name_of(names.nodes, n); };
    switch (op.kind) {
    case OpKind::migrate:
        return fmt::format("host {}: migrate to host {}", h, 1 - h);
    case OpKind::set_active:
        return fmt::format("host {}: blockdev-set-active {} active={}", h,
                           op.node < 0 ? std::string("(all)") : "node-name=" + node_name(op.node),
                           op.arg != 0);
    case OpKind::guest_write:
        return fmt::format("host {}: guest writes to disk {}", h, disk_name(op.node));
    case OpKind::thread_step:
        return fmt::format("host {}: migration thread step ({})", h, choice_name(op.arg));
    case OpKind::thread_run:
        return fmt::format("host {}: migration thread runs ({}) until it waits", h,
                           choice_name(op.arg));
    case OpKind::destination_run:
        return fmt::format("host {}: destination runs its steps", h);
    case OpKind::lock_fault:
        return fmt::format(
            "host {}: arm: the image lock of node {} fails while the storage is down", h,
            node_name(op.node));
    case OpKind::storage_away:
        return "storage stops answering";
    case OpKind::storage_back:
        return "storage answers again";
    case OpKind::storage_outage_at:
        return fmt::format("host {}: arm: storage stops answering when {} of node {} starts{}", h,
                           im::to_string(static_cast<im::FaultOp>(op.arg & 3)), node_name(op.node),
                           (op.arg & 4) ? " (the node is left half inactivated)" : "");
    case OpKind::node_fault:
        return fmt::format("host {}: arm: next {} of node {} fails{}", h,
                           im::to_string(static_cast<im::FaultOp>(op.arg & 3)), node_name(op.node),
                           (op.arg & 4) ? " (left half done)" : "");
    case OpKind::postcopy_package_fault:
        return fmt::format("host {}: arm: postcopy package {}", h,
                           op.arg == 1 ? "errors before it is sent" : "send fails");
    default:
        return fmt::format("host {}: {}", h, to_string(op.kind));
    }
}

SuccessorCache::SuccessorCache(const m::Interpreter& interp) : interp_(interp) {
    const auto& rows = interp.table().rows;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        has_host_.push_back(std::find(rows[r].params.begin(), rows[r].params.end(),
                                      m::Param::host) != rows[r].params.end());
        if (rows[r].name == "storage_lost") {
            storage_lost_ = static_cast<int>(r);
        }
    }
}

const SuccessorCache::Successors& SuccessorCache::of(const m::State& s) {
    constexpr std::size_t kMaxStates = 200'000; // a few hundred MB at most
    if (const auto it = map_.find(s); it != map_.end()) {
        return it->second;
    }
    if (map_.size() >= kMaxStates) {
        map_.clear();
    }
    Successors& out = map_[s];
    interp_.successors(
        s, [&](const m::Step& step, const m::State& next) { out.emplace_back(step, next); });
    return out;
}

System::System(const RunConfig& config, const m::Interpreter& interp, bool check,
               std::shared_ptr<SuccessorCache> cache)
    : config_(config), names_(node_names(config)), interp_(interp), check_(check),
      cache_(cache ? std::move(cache) : std::make_shared<SuccessorCache>(interp)) {
    history_.starts_left = config.starts;
    history_.set_active_left = config.set_active_calls;
    hosts_[0] = make_instance(0, false);
    if (config.start_paused) {
        hosts_[0]->qmp_stop();
    }
    hosts_[1] = make_instance(1, true);
    if (!check_) {
        return;
    }
    const AbstractState a = abstract_now();
    for (const m::State& s : interp.initial_states()) {
        if (a.matches(s)) {
            candidates_.push_back(s);
        }
    }
    if (candidates_.empty()) {
        throw std::logic_error("no initial model state matches the implementation's: " +
                               a.format(interp));
    }
}

std::unique_ptr<im::QemuInstance> System::make_instance(int h, bool incoming) {
    im::QemuOptions o;
    o.name = fmt::format("host{}", h);
    o.version = config_.version;
    o.block = block_config(config_);
    o.incoming = incoming;
    o.autostart = incoming ? config_.caps.autostart_policy : true;
    o.capabilities.late_block_activate = config_.caps.late_block_activate;
    o.capabilities.pause_before_switchover = config_.caps.pause_before_switchover;
    o.capabilities.postcopy_ram = config_.caps.postcopy;
    return std::make_unique<im::QemuInstance>(std::move(o), storage_);
}

bool System::crashed() const {
    return std::any_of(hosts_.begin(), hosts_.end(),
                       [](const auto& q) { return q && q->crashed(); });
}

AbstractState System::abstract_now() const {
    std::array<HostView, 2> views;
    for (int h = 0; h < 2; ++h) {
        const auto& q = hosts_[static_cast<std::size_t>(h)];
        if (q) {
            views[static_cast<std::size_t>(h)].observation = q->observe();
        }
        views[static_cast<std::size_t>(h)].outgoing = outgoing_[static_cast<std::size_t>(h)];
    }
    return abstract(interp_, config_.caps, storage_.answering(), views, history_);
}

std::string System::log() const {
    std::string out;
    for (const auto& line : retired_log_) {
        out += "  " + line + "\n";
    }
    for (int h = 0; h < 2; ++h) {
        if (hosts_[static_cast<std::size_t>(h)]) {
            for (const auto& line : hosts_[static_cast<std::size_t>(h)]->trace()) {
                out += fmt::format("  host{}: {}\n", h, line);
            }
        }
    }
    return out;
}

// The rows of the model an implementation command may stand for. The migration thread's steps
// are coarser or finer than the model's in places (impl/ runs the return-path checks and
// migration_completion_end() in one step, the model's postcopy completion is one step), so a
// command may stand for up to `depth` rows; the storage can go away inside any command (an
// armed outage trigger).
std::vector<bool> System::rows_for(const Op& op) const {
    const auto& rows = interp_.table().rows;
    std::vector<bool> allowed(rows.size(), false);
    auto allow = [&](std::string_view name) {
        for (std::size_t r = 0; r < rows.size(); ++r) {
            if (rows[r].name == name) {
                allowed[r] = true;
            }
        }
    };
    allow("storage_lost");
    switch (op.kind) {
    case OpKind::migrate:
        allow("qmp_migrate");
        break;
    case OpKind::migrate_cancel:
        allow("qmp_migrate_cancel");
        break;
    case OpKind::migrate_continue:
        allow("qmp_migrate_continue");
        break;
    case OpKind::cont:
        allow("qmp_cont");
        break;
    case OpKind::stop:
        allow("qmp_stop");
        break;
    case OpKind::savevm:
        allow("savevm");
        break;
    case OpKind::set_active:
        allow("blockdev_set_active_all");
        allow("blockdev_set_inactive_all");
        allow("blockdev_set_active_node");
        allow("blockdev_set_inactive_node");
        break;
    case OpKind::guest_write:
        allow("guest_write");
        break;
    case OpKind::thread_step:
    case OpKind::connection_drop:
        // An armed return-path error (return_path_fault) is the model's return_path_error row,
        // which the completion's checks consume.
        for (std::size_t r = 0; r < rows.size(); ++r) {
            if (rows[r].actor == m::Actor::thread || rows[r].name.starts_with("postcopy_start") ||
                rows[r].name == "migration_stream_error" || rows[r].name == "return_path_error") {
                allowed[r] = true;
            }
        }
        break;
    case OpKind::incoming_co:
        allow("incoming_load_ok");
        allow("incoming_load_fails");
        allow("incoming_load_error");
        break;
    case OpKind::incoming_bh:
        allow("process_incoming_migration_bh");
        break;
    case OpKind::postcopy_run_bh:
        allow("postcopy_run_bh");
        break;
    case OpKind::storage_back:
        allow("storage_restored");
        break;
    case OpKind::start_destination:
        allow("start_destination");
        break;
    case OpKind::quit:
        allow("quit_after_handover");
        break;
    default: // start_postcopy, storage_away (storage_lost above), arming a fault: no row
        break;
    }
    return allowed;
}

std::string System::run_impl(const Op& op) {
    const int h = op.host;
    im::QemuInstance* q = hosts_[static_cast<std::size_t>(h)].get();
    im::QemuInstance* peer = hosts_[static_cast<std::size_t>(1 - h)].get();
    const bool live = alive(q);
    auto result = [](const im::CallResult& r) {
        return r.message.empty() ? std::string(im::to_string(r.status))
                                 : fmt::format("{}: {}", im::to_string(r.status), r.message);
    };
    switch (op.kind) {
    case OpKind::migrate: {
        if (!live || !alive(peer)) {
            return "no process";
        }
        const auto po = peer->observe();
        if (po.runstate != im::RunState::inmigrate ||
            po.incoming_status != im::MigrationStatus::none) {
            return "the peer is not listening";
        }
        streams_.push_back(std::make_unique<im::MigrationStream>());
        im::MigrationStream* stream = streams_.back().get();
        const auto r = q->qmp_migrate(*stream);
        if (r.ok()) {
            outgoing_[static_cast<std::size_t>(h)] = stream;
            postcopy_requested_[static_cast<std::size_t>(h)] = false;
            history_.hosts[static_cast<std::size_t>(h)].tried_inactivate = false;
            return result(peer->qmp_migrate_incoming(*stream));
        }
        return result(r);
    }
    case OpKind::migrate_cancel:
        if (live) {
            const auto o = q->observe();
            if (o.migration_status == im::MigrationStatus::postcopy_active &&
                !config_.cancel_in_postcopy) {
                // Outside the model (classified, reported): after the postcopy package was sent,
                // a cancel breaks the stream and the destination goes to POSTCOPY_PAUSED, which
                // the model leaves out (its tables say so). And the model's postcopy completion
                // (migration_completion_postcopy) is one step, so it has no state for a cancel
                // inside migration_completion()'s POSTCOPY_ACTIVE branch, where QEMU's fail
                // label's compare-and-swap from POSTCOPY_ACTIVE fails and the migration ends
                // CANCELLED, not FAILED. Not generated.
                return "skipped: cancel in postcopy (outside the model)";
            }
        }
        return live ? result(q->qmp_migrate_cancel()) : "no process";
    case OpKind::migrate_continue:
        return live ? result(q->qmp_migrate_continue()) : "no process";
    case OpKind::start_postcopy: {
        if (!live) {
            return "no process";
        }
        const auto r = q->qmp_migrate_start_postcopy();
        postcopy_requested_[static_cast<std::size_t>(h)] |= r.ok();
        return result(r);
    }
    case OpKind::cont:
        return live ? result(q->qmp_cont()) : "no process";
    case OpKind::stop:
        return live ? result(q->qmp_stop()) : "no process";
    case OpKind::savevm:
        if (live && q->observe().thread_step != im::MigrationThreadStep::none) {
            // Open model disagreement (classified, reported): the model's savevm row requires
            // pc == IDLE, but qemu_savevm_state() only refuses while migration_is_running(), so
            // QEMU runs a savevm (and its migrate_init()) in the window after the thread moved to
            // FAILED/CANCELLED and before migration_iteration_finish(). impl/ follows QEMU.
            return "skipped: savevm while the migration thread has not finished (model "
                   "disagreement)";
        }
        return live ? result(q->qmp_savevm()) : "no process";
    case OpKind::set_active: {
        if (!live) {
            return "no process";
        }
        if (history_.set_active_left == 0) {
            // The model bounds the calls, with node-name or without (set_active_left):
            // management's budget, like the process starts.
            return "not enabled: blockdev-set-active budget spent";
        }
        const auto r = q->qmp_blockdev_set_active(
            op.node < 0 ? std::nullopt : std::optional<std::string>(name_of(names_.nodes, op.node)),
            op.arg != 0);
        if (r.message.find("has not been found") == std::string::npos) {
            --history_.set_active_left;
        }
        return result(r);
    }
    case OpKind::guest_write:
        if (op.node < 0 || op.node >= static_cast<int>(names_.disks.size())) {
            return "not enabled: no guest disk there";
        }
        return live ? result(q->guest_write(fmt::format("vd{}", static_cast<char>('a' + op.node))))
                    : "no process";
    case OpKind::thread_step: {
        if (!live) {
            return "no process";
        }
        const auto o = q->observe();
        const im::MigrationStream* stream = outgoing_[static_cast<std::size_t>(h)];
        // An armed return-path error (it fires in a precopy completion only, see below) is the
        // return path thread's: it meets the error and exits (source_return_path_thread(),
        // mark_source_rp_bad()), so the await's join returns at once, as the model's
        // return_path_error and migration_completion_checks_fail need no loaded destination.
        const bool return_path_fails = q->faults().plan().return_path_error &&
                                       o.migration_status != im::MigrationStatus::postcopy_active;
        if (o.thread_step == im::MigrationThreadStep::completion_checks && stream &&
            !stream->source_shut_down && alive(peer) && !return_path_fails &&
            (stream->eof_sent || stream->postcopy_package_sent)) {
            // await_return_path_close_on_source() blocks until the destination has loaded the
            // stream (precopy) or runs and has received everything (postcopy): impl/ leaves
            // this wait to its caller.
            const auto po = peer->observe();
            const bool loaded = stream->postcopy_package_sent
                                    ? po.incoming_status == im::MigrationStatus::completed ||
                                          po.incoming_step == im::IncomingStep::postcopy_load
                                    : po.incoming_step == im::IncomingStep::precopy_bh ||
                                          (po.incoming_step == im::IncomingStep::none &&
                                           po.incoming_status == im::MigrationStatus::completed);
            if (!loaded) {
                return "blocked in await_return_path_close_on_source";
            }
        }
        auto choice = static_cast<im::IterationChoice>(op.arg);
        if (choice == im::IterationChoice::start_postcopy &&
            o.thread_step == im::MigrationThreadStep::iterate &&
            o.migration_status != im::MigrationStatus::active) {
            // Open model disagreement (classified, reported): QEMU's postcopy_start() can run
            // after a cancel that came between the loop's migration_is_active() check and its
            // ACTIVE -> POSTCOPY_ACTIVE compare-and-swap (which then fails silently, and the VM
            // is stopped and the disks inactivated all the same); the model's postcopy_start rows
            // require mig == ACTIVE. The harness lets the loop check see the cancel instead.
            choice = im::IterationChoice::iterate;
        }
        if (o.migration_status == im::MigrationStatus::postcopy_active) {
            // The model leaves out failures after the postcopy switchover (POSTCOPY_PAUSED): an
            // armed return-path error only fires in a precopy completion.
            q->faults().mutable_plan().return_path_error = false;
        }
        if (choice == im::IterationChoice::start_postcopy &&
            o.migration_status == im::MigrationStatus::postcopy_active) {
            // In postcopy, migration_iteration_run() only iterates or completes: the choice that
            // leans to postcopy leans to its completion now.
            choice = im::IterationChoice::complete;
        }
        auto r = q->migration_thread_step(choice);
        if (r.ok() && q->migration_thread_next_step() == im::MigrationThreadStep::cleanup_bh) {
            // The model runs the migrate_fd_cleanup() bottom half with the iteration finish.
            r = q->migration_thread_step();
        }
        return result(r);
    }
    case OpKind::incoming_co:
        return live ? result(q->process_incoming_migration_co()) : "no process";
    case OpKind::incoming_bh:
        return live ? result(q->process_incoming_migration_bh()) : "no process";
    case OpKind::postcopy_run_bh:
        return live ? result(q->loadvm_postcopy_handle_run_bh()) : "no process";
    case OpKind::storage_away:
        storage_.stop_answering();
        return "ok";
    case OpKind::storage_back:
        storage_.come_back();
        return "ok";
    case OpKind::start_destination: {
        if (live || (q && q->observe().crash) || !alive(peer) || history_.starts_left == 0) {
            return "not enabled";
        }
        if (q) {
            for (const auto& line : q->trace()) {
                retired_log_.push_back(fmt::format("host{} (gone): {}", h, line));
            }
        }
        hosts_[static_cast<std::size_t>(h)] = make_instance(h, true);
        outgoing_[static_cast<std::size_t>(h)] = nullptr;
        postcopy_requested_[static_cast<std::size_t>(h)] = false;
        history_.hosts[static_cast<std::size_t>(h)] = {};
        --history_.starts_left;
        return "started";
    }
    case OpKind::quit: {
        if (!live) {
            return "no process";
        }
        const auto o = q->observe();
        if (o.migration_status != im::MigrationStatus::completed ||
            o.runstate != im::RunState::postmigrate ||
            o.thread_step != im::MigrationThreadStep::none) {
            return "not after a handover";
        }
        for (const auto& line : q->trace()) {
            retired_log_.push_back(fmt::format("host{} (quit): {}", h, line));
        }
        hosts_[static_cast<std::size_t>(h)].reset();
        history_.hosts[static_cast<std::size_t>(h)] = {};
        return "quit";
    }
    case OpKind::storage_outage_at:
        if (!live) {
            return "no process";
        }
        q->faults().arm_storage_outage(
            {name_of(names_.nodes, op.node), static_cast<im::FaultOp>(op.arg & 3)});
        if ((op.arg & 4) != 0 && static_cast<im::FaultOp>(op.arg & 3) == im::FaultOp::inactivate) {
            // The inactivation the outage interrupts fails late: after the driver step and the
            // BlockBackends' inactivation (the model's half=yes). Withdrawn if the outage passes
            // without that inactivation (withdraw_stale_faults()).
            q->faults().arm({name_of(names_.nodes, op.node), im::FaultOp::inactivate, true});
        }

        return "armed";
    case OpKind::node_fault:
        if (!live) {
            return "no process";
        }
        q->faults().arm({name_of(names_.nodes, op.node), static_cast<im::FaultOp>(op.arg & 3),
                         (op.arg & 4) != 0});
        return "armed";
    case OpKind::incoming_load_fault:
        if (live) {
            q->faults().mutable_plan().incoming_load_fails = true;
        }
        return "armed";
    case OpKind::return_path_fault:
        if (live) {
            q->faults().mutable_plan().return_path_error = true;
        }
        return "armed";
    case OpKind::file_error_fault:
        if (live) {
            q->faults().mutable_plan().file_error_after_completion = true;
        }
        return "armed";
    case OpKind::connection_drop: {
        // The network drops the connection while the thread iterates a precopy migration; the
        // thread's next iteration (run here) finds the error (migration_detect_error()).
        im::MigrationStream* stream = outgoing_[static_cast<std::size_t>(h)];
        if (!live || !stream || stream->ended()) {
            return "not enabled: no connection";
        }
        const auto o = q->observe();
        if (o.thread_step != im::MigrationThreadStep::iterate ||
            o.migration_status != im::MigrationStatus::active) {
            return "not enabled: the thread is not iterating a precopy migration";
        }
        stream->connection_broken = true;
        return result(q->migration_thread_step(im::IterationChoice::iterate));
    }
    case OpKind::postcopy_package_fault:
        if (live) {
            q->faults().mutable_plan().postcopy_package =
                op.arg == 1 ? im::PostcopyPackageFault::before_package_sent
                            : im::PostcopyPackageFault::package_send_fails;
        }
        return "armed";
    case OpKind::thread_run:
    case OpKind::destination_run:
        return "a sequence: see execute_run()";
    case OpKind::lock_fault:
        // An image lock that cannot be taken (bdrv_refresh_perms(), or blk_root_activate() of a
        // half-inactivated node: the lock I/O of a `file` protocol node goes to the NFS server)
        // fails an activation without breaking the node (the model's broken=no), every time the
        // storage does not answer; the model's activations fail only then.
        if (!live) {
            return "no process";
        }
        q->faults().arm({name_of(names_.nodes, op.node), im::FaultOp::activate, false, true});
        return "armed";
    }
    return "?";
}

void System::update_history(const Op& op,
                            const std::array<std::optional<im::Observation>, 2>& before,
                            const std::array<std::size_t, 2>& trace_before) {
    for (int h = 0; h < 2; ++h) {
        const auto hi = static_cast<std::size_t>(h);
        im::QemuInstance* q = hosts_[hi].get();
        if (!q || !before[hi]) {
            continue;
        }
        if (op.kind == OpKind::start_destination && op.host == h) {
            continue; // a fresh process: its history starts now
        }
        const auto o = q->observe();
        if (!o.alive) {
            continue;
        }
        // vm_start(): the run state becomes RUNNING while some disk is not active.
        if (before[hi]->runstate != im::RunState::running && o.runstate == im::RunState::running) {
            for (const auto* n : model_nodes(o, interp_.graph())) {
                if (n && n->activity != im::NodeActivity::active) {
                    history_.hosts[hi].started_inactive = true;
                }
            }
        }
        // The block graph's own paths, from impl/'s log, so that a test can tell that random runs
        // reach them (the rows alone do not: every walk is in a row of every graph).
        const auto& log = q->trace();
        for (std::size_t i = trace_before[hi]; i < log.size(); ++i) {
            const std::string& line = log[i];
            if (line.ends_with(": Block node is read-only")) {
                ++coverage_.graph_events["a filter refused over a driverless child"];
            } else if (line.ends_with(": qcow2 re-open failed, bs->drv = NULL") &&
                       std::find(names_.disks.begin(), names_.disks.end(),
                                 line.substr(0, line.find(':'))) == names_.disks.end()) {
                ++coverage_.graph_events["a node below a root lost its driver"];
            } else if (line.ends_with("no driver, -ENOMEDIUM without an error")) {
                ++coverage_.graph_events["a walk met a driverless node"];
            }
        }
        // The migration thread called bdrv_inactivate_all() (impl/ logs the call; a walk that
        // skips only already inactive nodes logs nothing else).
        if (op.kind == OpKind::thread_step && op.host == h) {
            const auto& trace = q->trace();
            for (std::size_t i = trace_before[hi]; i < trace.size(); ++i) {
                if (trace[i] == "migration_completion: return path error") {
                    // The armed return-path fault fired. The model's return_path_error row only
                    // sets rp_error, which impl/ does not show, so the oracle's shortest
                    // explanations never contain it: count it here for the row coverage.
                    ++coverage_.rows["return_path_error"];
                }
                if (trace[i] == "bdrv_inactivate_all()" || trace[i].ends_with(" inactivated") ||
                    trace[i].starts_with("bdrv_inactivate_all() failed")) {
                    history_.hosts[hi].tried_inactivate = true;
                }
            }
        }
    }
}

std::string System::execute(const Op& op) {
    if (op.kind == OpKind::thread_run || op.kind == OpKind::destination_run) {
        return execute_run(op);
    }
    return execute_one(op, nullptr);
}

// A half-done inactivation fault belongs to a storage outage (the model's inactivation fails only
// while the storage does not answer): while the storage answers and no outage is armed for the
// start of that node's inactivation, a pending one is withdrawn, so that it cannot fire later as
// a failure the model does not have.
void System::withdraw_stale_faults() {
    if (!storage_.answering()) {
        return;
    }
    for (auto& q : hosts_) {
        if (!q) {
            continue;
        }
        const auto& outage = q->faults().plan().storage_outage;
        std::erase_if(q->faults().mutable_plan().node_faults, [&](const im::NodeFault& f) {
            return f.op == im::FaultOp::inactivate && f.leave_half_done &&
                   !(outage && outage->node == f.node && outage->op == im::FaultOp::inactivate);
        });
    }
}

// A sequence of single steps, each checked by the oracle; it ends when a step did nothing (not
// enabled, blocked, no process) or after a bound (a thread iterating forever).
std::string System::execute_run(const Op& op) {
    constexpr int kMaxSteps = 12;
    for (int i = 0; i < kMaxSteps && !crashed(); ++i) {
        Op step = op;
        if (op.kind == OpKind::thread_run) {
            step.kind = OpKind::thread_step;
            if (step.arg == static_cast<int>(im::IterationChoice::start_postcopy) &&
                !postcopy_requested_[static_cast<std::size_t>(op.host)]) {
                // Run to the end: without migrate-start-postcopy, migration_iteration_run()
                // iterates until the remaining data is small and then completes the precopy
                // migration (not 12 iterations and a stop halfway).
                step.arg = static_cast<int>(im::IterationChoice::complete);
            }
        } else {
            const im::QemuInstance* q = hosts_[static_cast<std::size_t>(op.host)].get();
            if (!alive(q)) {
                break;
            }
            const auto o = q->observe();
            if (o.incoming_step == im::IncomingStep::postcopy_run_bh) {
                step.kind = OpKind::postcopy_run_bh;
            } else if (o.incoming_step == im::IncomingStep::precopy_bh) {
                step.kind = OpKind::incoming_bh;
            } else {
                step.kind = OpKind::incoming_co;
            }
        }
        std::string note;
        if (std::string complaint = execute_one(step, &note); !complaint.empty()) {
            return complaint;
        }
        // The step ran ("ok", or "error: ..." for a step that failed the migration); anything
        // else (not enabled, blocked, skipped, no process, crashed) ends the sequence.
        if (!note.starts_with("ok") && !note.starts_with("error")) {
            break;
        }
        if (op.kind == OpKind::thread_run) {
            const im::QemuInstance* q = hosts_[static_cast<std::size_t>(op.host)].get();
            if (!alive(q) || q->migration_thread_next_step() == im::MigrationThreadStep::none) {
                break;
            }
        }
    }
    return "";
}

std::string System::execute_one(const Op& op, std::string* note_out) {
    ++coverage_.commands;
    if (crashed()) {
        // A crash ends the model's run (no row is enabled in a crash state): the other process
        // is not driven further either.
        return "";
    }
    if (!check_) {
        const std::string note = run_impl(op);
        withdraw_stale_faults();
        if (note_out) {
            *note_out = note;
        }
        return "";
    }
    std::array<std::optional<im::Observation>, 2> before;
    std::array<std::size_t, 2> trace_before{};
    std::array<std::size_t, 2> fired_before{};
    for (int h = 0; h < 2; ++h) {
        if (const auto& q = hosts_[static_cast<std::size_t>(h)]) {
            before[static_cast<std::size_t>(h)] = q->observe();
            trace_before[static_cast<std::size_t>(h)] = q->trace().size();
            fired_before[static_cast<std::size_t>(h)] = q->faults().fired().size();
        }
    }
    const std::string note = run_impl(op);
    if (note_out) {
        *note_out = note;
    }
    withdraw_stale_faults();
    update_history(op, before, trace_before);
    const int depth = op.kind == OpKind::thread_step || op.kind == OpKind::connection_drop ? 3 : 2;
    std::vector<bool> rows = rows_for(op);
    // Two fault rows stand for errors impl/ has only when it reports them, so they explain a
    // command only then. Allowed without a reason, they would explain a step where impl/ fails
    // for another reason the model lost: return_path_error sets only rp_error, which impl/ does
    // not show (a mutant that leaves the thread waiting at COMPLETION_SAVED after a failed flush
    // would pass), and incoming_load_error exits the destination as incoming_load_fails does (a
    // mutant that forbids the latter on one host would pass).
    auto forbid = [&](std::string_view name) {
        for (std::size_t r = 0; r < rows.size(); ++r) {
            if (interp_.table().rows[r].name == name) {
                rows[r] = false;
            }
        }
    };
    if (!logged_since(op.host, trace_before, "migration_completion: return path error")) {
        forbid("return_path_error");
    }
    if (!fault_fired_since(op.host, fired_before, "fault: incoming load fails")) {
        forbid("incoming_load_error");
    }
    std::string complaint = check_step(op, rows, depth);
    if (!complaint.empty()) {
        complaint = fmt::format("implementation did \"{}\" ({}), {}", describe(op, names_), note,
                                complaint);
    }
    return complaint;
}

namespace {

// Whether a line of `lines` from index `from` on starts with `prefix`.
bool any_line_since(const std::vector<std::string>& lines, std::size_t from,
                    std::string_view prefix) {
    return std::any_of(lines.begin() + static_cast<std::ptrdiff_t>(std::min(from, lines.size())),
                       lines.end(),
                       [&](const std::string& line) { return line.starts_with(prefix); });
}

} // namespace

// Whether impl/ on host `h` logged a line starting with `prefix` since `trace_before` (e.g.
// migration_completion_checks()'s return-path error: an armed fault, or the destination gone).
bool System::logged_since(int h, const std::array<std::size_t, 2>& trace_before,
                          std::string_view prefix) const {
    const auto& q = hosts_[static_cast<std::size_t>(h)];
    return q && any_line_since(q->trace(), trace_before[static_cast<std::size_t>(h)], prefix);
}

// Whether an armed fault of host `h` fired since `fired_before` (FaultInjector::fired()).
bool System::fault_fired_since(int h, const std::array<std::size_t, 2>& fired_before,
                               std::string_view prefix) const {
    const auto& q = hosts_[static_cast<std::size_t>(h)];
    return q &&
           any_line_since(q->faults().fired(), fired_before[static_cast<std::size_t>(h)], prefix);
}

std::string System::check_step(const Op& op, const std::vector<bool>& rows, int depth) {
    const AbstractState a = abstract_now();
    struct Node {
        int parent = -1; // index into `nodes`; -1: the candidate `origin`
        int row = -1;
        m::State state;
        int depth = 0;
        m::Step step{};
        std::size_t origin = 0; // index into candidates_ (depth 0 only)
    };
    std::vector<Node> nodes;
    std::unordered_map<m::State, int> seen;
    std::vector<int> frontier;
    for (std::size_t c = 0; c < candidates_.size(); ++c) {
        if (seen.emplace(candidates_[c], static_cast<int>(nodes.size())).second) {
            frontier.push_back(static_cast<int>(nodes.size()));
            nodes.push_back({-1, -1, candidates_[c], 0, {}, c});
        }
    }
    std::vector<int> matched;
    std::vector<int> self_loops; // rows of steps from a candidate to itself (depth 0 only)
    std::vector<std::tuple<int, int, int>> alternatives; // (parent, row, depth)
    for (int i : frontier) {
        if (a.matches(nodes[static_cast<std::size_t>(i)].state)) {
            matched.push_back(i);
        }
    }
    const bool stutter = !matched.empty();
    for (int d = 0; d < depth; ++d) {
        std::vector<int> next;
        for (int i : frontier) {
            const m::State from = nodes[static_cast<std::size_t>(i)].state;
            auto visit = [&](const m::Step& step, const m::State& s) {
                if (!rows[static_cast<std::size_t>(step.row)]) {
                    return;
                }
                const bool storage_lost = cache_->storage_lost(step.row);
                if (cache_->has_host(step.row) &&
                    step.params[static_cast<int>(m::Param::host)] != op.host && !storage_lost) {
                    return;
                }
                const auto [at, fresh] = seen.emplace(s, static_cast<int>(nodes.size()));
                if (!fresh) {
                    // Another row of the same length reaching the same state explains it too
                    // (e.g. in v10.2 loop_exit and completion_not_active from CANCELLING).
                    const Node& known = nodes[static_cast<std::size_t>(at->second)];
                    if (known.depth == d + 1 && known.row != step.row && a.matches(s)) {
                        alternatives.emplace_back(i, step.row, d + 1);
                    }
                    // A step of the command's own rows that changes nothing (e.g. a guest write)
                    // still explains the command, for the row coverage.
                    if (d == 0 && s == from && !storage_lost && a.matches(s)) {
                        self_loops.push_back(step.row);
                    }
                    return;
                }
                nodes.push_back({i, step.row, s, d + 1, step, 0});
                const int k = static_cast<int>(nodes.size()) - 1;
                next.push_back(k);
                if (a.matches(s)) {
                    matched.push_back(k);
                }
            };
            for (const auto& [step, s] : cache_->of(from)) {
                visit(step, s);
            }
        }
        frontier = std::move(next);
    }
    if (matched.empty()) {
        std::string allowed;
        const m::State& c = candidates_.front();
        interp_.successors(c, [&](const m::Step& step, const m::State& s) {
            if (!rows[static_cast<std::size_t>(step.row)]) {
                return;
            }
            const auto& row = interp_.table().rows[static_cast<std::size_t>(step.row)];
            std::string ch;
            for (const auto& x : m::changes(interp_, c, s)) {
                ch += fmt::format(" {}: {} -> {};", x.variable, x.before, x.after);
            }
            allowed +=
                fmt::format("\n    {}({}):{}", row.name, m::format_params(interp_, step), ch);
        });
        std::string before;
        for (const auto& x : m::describe(interp_, c)) {
            before += " " + x.variable + "=" + x.after;
        }
        return fmt::format(
            "model allows only:{}\n    (or no step)\n  model state before:{}\n  implementation "
            "state after, where it differs from the model's state before: {}",
            allowed.empty() ? "\n    (no row of this command is enabled)" : allowed, before,
            a.format(interp_, &c));
    }
    std::vector<m::State> next_candidates;
    std::vector<std::shared_ptr<const PathStep>> next_paths;
    std::vector<bool> counted(interp_.table().rows.size(), false);
    // Row coverage counts the shortest explanations only: a row that changes only variables
    // impl/ does not show (e.g. return_path_error) would otherwise explain every stutter.
    int min_depth = 1 << 30;
    for (int i : matched) {
        min_depth = std::min(min_depth, nodes[static_cast<std::size_t>(i)].depth);
    }
    if (min_depth == 0) {
        for (int row : self_loops) {
            counted[static_cast<std::size_t>(row)] = true;
        }
    }
    for (int i : matched) {
        next_candidates.push_back(nodes[static_cast<std::size_t>(i)].state);
        if (record_paths_) {
            std::vector<int> chain; // from the matched node back to its candidate (excluded)
            int k = i;
            for (; nodes[static_cast<std::size_t>(k)].parent >= 0;
                 k = nodes[static_cast<std::size_t>(k)].parent) {
                chain.push_back(k);
            }
            std::shared_ptr<const PathStep> path =
                paths_[nodes[static_cast<std::size_t>(k)].origin];
            for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
                const Node& n = nodes[static_cast<std::size_t>(*it)];
                path = std::make_shared<const PathStep>(PathStep{n.step, n.state, path});
            }
            next_paths.push_back(std::move(path));
        }
        if (nodes[static_cast<std::size_t>(i)].depth != min_depth) {
            continue;
        }
        for (int k = i; nodes[static_cast<std::size_t>(k)].parent >= 0;
             k = nodes[static_cast<std::size_t>(k)].parent) {
            counted[static_cast<std::size_t>(nodes[static_cast<std::size_t>(k)].row)] = true;
        }
    }
    for (const auto& [parent, row, alt_depth] : alternatives) {
        if (alt_depth != min_depth) {
            continue;
        }
        counted[static_cast<std::size_t>(row)] = true;
        for (int k = parent; nodes[static_cast<std::size_t>(k)].parent >= 0;
             k = nodes[static_cast<std::size_t>(k)].parent) {
            counted[static_cast<std::size_t>(nodes[static_cast<std::size_t>(k)].row)] = true;
        }
    }
    for (std::size_t r = 0; r < counted.size(); ++r) {
        if (counted[r]) {
            ++coverage_.rows[std::string(interp_.table().rows[r].name)];
        }
    }
    if (stutter && matched.size() == 1) {
        ++coverage_.stutters;
    }
    if (next_candidates.size() > kMaxCandidates) {
        // Never reached in the CI runs (the hidden variables leave a handful of states); a
        // run that gets here loses explanations and may report a false disagreement.
        ++coverage_.truncated;
        next_candidates.resize(kMaxCandidates);
        if (record_paths_) {
            next_paths.resize(kMaxCandidates);
        }
    }
    candidates_ = std::move(next_candidates);
    if (record_paths_) {
        paths_ = std::move(next_paths);
    }
    return "";
}

void System::record_model_paths() {
    if (record_paths_ || !check_) {
        return;
    }
    if (coverage_.commands != 0) {
        throw std::logic_error("record_model_paths() after the first command");
    }
    record_paths_ = true;
    paths_.clear();
    for (const m::State& s : candidates_) {
        paths_.push_back(std::make_shared<const PathStep>(PathStep{{}, s, nullptr}));
    }
}

m::Trace System::model_trace() const {
    if (!record_paths_ || paths_.empty()) {
        throw std::logic_error("model_trace() without record_model_paths()");
    }
    std::vector<const PathStep*> chain;
    for (const PathStep* p = paths_.front().get(); p != nullptr; p = p->before.get()) {
        chain.push_back(p);
    }
    m::Trace trace;
    trace.initial = chain.back()->state;
    for (auto it = std::next(chain.rbegin()); it != chain.rend(); ++it) {
        trace.steps.push_back({(*it)->step, (*it)->state});
    }
    return trace;
}

const m::InvariantData*
System::violated_invariant(const std::vector<const m::InvariantData*>& watched) const {
    for (const m::InvariantData* inv : watched) {
        if (inv->kind != m::InvariantKind::StatePredicate || candidates_.empty()) {
            continue;
        }
        if (std::all_of(candidates_.begin(), candidates_.end(),
                        [&](const m::State& s) { return !m::holds(interp_, *inv, s); })) {
            return inv;
        }
    }
    return nullptr;
}

std::string System::violated(const std::vector<const m::InvariantData*>& watched) const {
    const m::InvariantData* inv = violated_invariant(watched);
    if (inv == nullptr) {
        return "";
    }
    std::string crash;
    for (const auto& q : hosts_) {
        if (q && q->observe().crash) {
            crash = fmt::format(" (QEMU crashed in {}: {})", q->observe().crash->function,
                                q->observe().crash->reason);
        }
    }
    return fmt::format("invariant {} violated{}: {}", inv->name, crash, inv->statement);
}

} // namespace handoff::proptests
