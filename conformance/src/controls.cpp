#include "handoff/conformance/controls.hpp"

#include "handoff/model/printer.hpp"
#include "handoff/model/tables/qemu_ops.hpp"

#include <algorithm>

namespace handoff::conformance {

namespace mdl = handoff::model;

namespace {

constexpr std::string_view kNoPostcopy = "postcopy is not driven by this harness";

// Every row of every table. The texts of the rows without a control are the replay's verdicts
// ("step K (row) has no real control: ...").
const std::vector<RowControl> kRows{
    // ---- outside events: the environment, management, QMP/HMP commands, the guest ----
    {"storage_lost", Side::harness, Control::storage_kill, Outcome::fixed,
     "NBD: kill every qemu-nbd; local files: a foreign lock on byte 201 of every image"},
    {"storage_restored", Side::harness, Control::storage_restore, Outcome::fixed,
     "NBD: restart every qemu-nbd on its socket (and wait until the socket accepts; QEMU's NBD "
     "client reconnects on a later request, and a request before that fails); local files: "
     "drop the foreign locks"},
    {"start_destination", Side::harness, Control::start_destination, Outcome::nbd_connects,
     "a fresh QEMU with -incoming defer, then migrate-incoming"},
    {"quit_after_handover", Side::harness, Control::quit, Outcome::fixed, "QMP quit"},
    {"qmp_migrate", Side::harness, Control::migrate, Outcome::fixed,
     "QMP migrate to the relay's socket (the relay can hold the stream)"},
    {"qmp_migrate_cancel", Side::harness, Control::migrate_cancel, Outcome::activation,
     "QMP migrate_cancel"},
    {"qmp_migrate_continue", Side::harness, Control::migrate_continue, Outcome::fixed,
     "QMP migrate-continue state=pre-switchover"},
    {"qmp_cont", Side::harness, Control::cont, Outcome::activation, "QMP cont"},
    {"qmp_stop", Side::harness, Control::stop, Outcome::fixed, "QMP stop"},
    {"savevm", Side::harness, Control::savevm, Outcome::storage_answers, "HMP savevm"},
    {"guest_write", Side::harness, Control::guest_write, Outcome::fixed,
     "HMP qemu-io -d vdN/virtio-backend \"write ...\""},
    {"blockdev_set_active_all", Side::harness, Control::set_active_all, Outcome::activation,
     "QMP blockdev-set-active active=true without node-name (QEMU 10.x)"},
    {"blockdev_set_inactive_all", Side::harness, Control::set_inactive_all, Outcome::inactivation,
     "QMP blockdev-set-active active=false without node-name (QEMU 10.x)"},
    {"blockdev_set_active_node", Side::harness, Control::set_active_node, Outcome::activation,
     "QMP blockdev-set-active node-name=diskN active=true: the disk's qcow2 node, its file child "
     "first (QEMU 10.x)"},
    {"blockdev_set_inactive_node", Side::harness, Control::set_inactive_node, Outcome::inactivation,
     "QMP blockdev-set-active node-name=diskN active=false: the disk's qcow2 node, then its file "
     "child (QEMU 10.x)"},
    {"incoming_load_error", Side::harness, Control::relay_cut, Outcome::fixed,
     "the relay cuts the stream before EOF"},
    {"migration_stream_error", Side::harness, Control::none, Outcome::fixed,
     "breaking the stream while iterating needs the relay"},
    {"return_path_error", Side::harness, Control::none, Outcome::fixed,
     "a return-path error after EOF needs the relay"},
    {"postcopy_start_package_fails", Side::harness, Control::none, Outcome::fixed, kNoPostcopy},
    {"postcopy_start_send_fails", Side::harness, Control::none, Outcome::fixed, kNoPostcopy},
    // ---- QEMU's own steps: the migration thread ----
    {"migration_thread_setup", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_thread_loop_exit", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_completion_begin", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_completion_not_active", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_completion_flush_fails", Side::qemu, Control::by_qemu, Outcome::flush_fails, ""},
    {"migration_completion_save", Side::qemu, Control::by_qemu,
     Outcome::flush_succeeds | Outcome::inactivation, ""},
    {"migration_completion_pause", Side::qemu, Control::by_qemu, Outcome::flush_succeeds, ""},
    {"migration_completion_cancelled_before_pause", Side::qemu, Control::by_qemu,
     Outcome::flush_succeeds, ""},
    {"migration_switchover_interrupted", Side::qemu, Control::by_qemu, Outcome::flush_succeeds, ""},
    {"migration_switchover_resume", Side::qemu, Control::by_qemu, Outcome::inactivation, ""},
    {"migration_switchover_cancelled", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_completion_fail", Side::qemu, Control::by_qemu, Outcome::activation, ""},
    {"migration_completion_fail_invalidate", Side::qemu, Control::by_qemu, Outcome::activation, ""},
    {"migration_completion_checks_fail", Side::qemu, Control::by_qemu, Outcome::activation, ""},
    {"migration_completion_done", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_completion_checks_pass", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_completion_end", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_iteration_finish_completed", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"migration_iteration_finish_resume", Side::qemu, Control::by_qemu, Outcome::activation, ""},
    {"migration_iteration_finish_stopped", Side::qemu, Control::by_qemu, Outcome::activation, ""},
    {"migration_iteration_finish_unknown_state", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"postcopy_start_ok", Side::qemu, Control::none, Outcome::fixed,
     "postcopy (migrate-start-postcopy) is not driven by this harness"},
    {"postcopy_start_fails", Side::qemu, Control::none, Outcome::fixed, kNoPostcopy},
    {"migration_completion_postcopy", Side::qemu, Control::none, Outcome::fixed, kNoPostcopy},
    // ---- QEMU's own steps: the destination (the relay delivers a held stream at
    // incoming_load_ok) ----
    {"incoming_load_ok", Side::qemu, Control::by_qemu, Outcome::fixed, ""},
    {"incoming_load_fails", Side::qemu, Control::by_qemu, Outcome::load_fails, ""},
    {"process_incoming_migration_bh", Side::qemu, Control::by_qemu, Outcome::activation, ""},
    {"postcopy_run_bh", Side::qemu, Control::none, Outcome::fixed, kNoPostcopy},
};

const std::vector<BinaryControls> kBinaries{
    {"v7.2", "Debian 12's QEMU 7.2.22 (qemu-system-x86 1:7.2+dfsg-7+deb12u18)", true, true},
    {"v10.0", "QEMU 10.0.2 from bookworm-backports (conformance/fetch-qemu)", false, false},
};

using namespace mdl::dsl;
using mdl::tables::IN;
using mdl::tables::MS;
using mdl::tables::NS;
using mdl::tables::PC;

// ---- where QEMU stops
// ----------------------------------------------------------------------------

// The migration thread of `host` waits where the harness can act: there is none; it is paused in
// pre-switchover (pause-before-switchover, not yet continued); or it is in the post-EOF window of
// migration_completion(), waiting for the destination to close the return path while the relay
// holds the stream (so the destination is still loading).
constexpr auto thread_stops(auto host) {
    return named("thread_stops",
                 !alive(host) || pc(host) == PC::IDLE ||
                     (pc(host) == PC::SWITCHOVER_WAIT && mig(host) == MS::PRE_SWITCHOVER &&
                      !pause_sem(host)) ||
                     (pc(host) == PC::COMPLETION_SAVED && !file_error(host) && !rp_error(host) &&
                      alive(peer(host)) && incoming(peer(host)) == IN::LOADING),
                 host);
}

// The destination `host` waits: it has no incoming migration, is listening or done, or loads a
// stream whose source is held (pre-switchover or post-EOF). A loaded stream (its bottom half is
// scheduled) and postcopy never wait.
constexpr auto incoming_stops(auto host) {
    const auto source_held = alive(peer(host)) && (pc(peer(host)) == PC::SWITCHOVER_WAIT ||
                                                   pc(peer(host)) == PC::COMPLETION_SAVED);
    return named("incoming_stops",
                 !alive(host) || (incoming(host) != IN::LOADED && incoming(host) != IN::POSTCOPY &&
                                  (incoming(host) != IN::LOADING || source_held)),
                 host);
}

// A destination loading the stream of a source that is gone, or whose migration thread has ended:
// the model lets it fail the load by itself (incoming_load_fails), and QEMU does so or not: after
// a cancel 7.2.22's exits, after a failed flush it was seen to go on loading, 10.0.2's exits
// (conformance/README.md). The replay observes and applies controls there too, and its verdict
// says what QEMU did; a controllable trace does not count on it.
constexpr auto incoming_may_stop(auto host) {
    return named("incoming_may_stop",
                 alive(host) && incoming(host) == IN::LOADING &&
                     (!alive(peer(host)) || pc(peer(host)) == PC::IDLE),
                 host);
}

// Where measured (7.2.22), a destination whose source's migration failed (not cancelled: a
// cancel shuts the stream down, the destination then sees its end and exits) goes on loading: the
// failed source does not close the connection while its return path holds it. Seen twice: after
// a failed flush (conformance/README.md) and after a failed completion with the storage up.
// 10.0.2's destination exits there instead.
constexpr auto incoming_outlives_failed_source(auto host) {
    return named("incoming_outlives_failed_source",
                 alive(host) && incoming(host) == IN::LOADING && alive(peer(host)) &&
                     pc(peer(host)) == PC::IDLE && mig(peer(host)) == MS::FAILED,
                 host);
}

// A crash ends the run: the crashed process is gone, and only it is compared.
template <bool FailedSourceKeepsDestination>
constexpr auto qemu_stops() {
    if constexpr (FailedSourceKeepsDestination) {
        return named("qemu_stops",
                     crash != mdl::Crash::NONE ||
                         forall(g, thread_stops(g) &&
                                       (incoming_stops(g) || incoming_outlives_failed_source(g))));
    } else {
        return named("qemu_stops",
                     crash != mdl::Crash::NONE || forall(g, thread_stops(g) && incoming_stops(g)));
    }
}

// The destination fails its load by itself (incoming_load_fails): where a failed source keeps it
// loading, only once the stream was shut down (a cancel) or the source is gone.
constexpr auto load_fails_forceable() {
    return named("load_fails_forceable",
                 !alive(peer(h)) || mig(peer(h)) == MS::CANCELLING || mig(peer(h)) == MS::CANCELLED,
                 h);
}

// ---- the outcomes the harness can force
// ----------------------------------------------------------

// bdrv_activate_all() over storage the harness took away. NBD: qcow2's re-open of an INACTIVE
// node reads the header and fails, leaving the node without its driver: a failing activation is
// always `broken` (README "Limits of the instruments"; real-qemu.md section 5); a half-inactivated
// node needs no I/O and no lock over NBD, so it never fails. Local files: the foreign lock on the
// WRITE byte makes every activation that takes the write permission fail ("Failed to get "write"
// lock", docs/conformance.md), with the node's flag and driver kept (never `broken`), at the first
// node that needs activating (an INACTIVE one or a half-inactivated one alike) in
// bdrv_activate_all()'s order (activated_before: the node index on flat, children first on a
// graph). That was measured on flat disks only: on a graph (a node that is not a root) a backing
// image takes no WRITE, so which node the lock stops is not known, and only an activation that
// succeeds is driven there.
constexpr auto activation_forceable() {
    const auto nbd = fail == none || (broken && exists(n, n == fail && node(h, n) == NS::INACTIVE));
    const auto flat = forall(m, is_root(m));
    const auto files =
        !broken && ((flat && (storage_ok || forall(m, implies(activated_before(m, fail),
                                                              node(h, m) == NS::ACTIVE ||
                                                                  node(h, m) == NS::BROKEN)))) ||
                    (!flat && fail == none));
    return named("activation_forceable", (image_locking && files) || (!image_locking && nbd), h);
}

// bdrv_inactivate_all() over storage the harness took away. Local files: the lock does not stop
// an inactivation (it takes no permission), so it never fails. NBD: where measured (7.2.22),
// qcow2_inactivate() fails at the first node it reaches (in bdrv_inactivate_all()'s order,
// inactivated_before) with -EIO before any parent callback runs
// (not half-inactivated); elsewhere only while the storage answers (the model then fixes `none`).
constexpr auto nbd_inactivation_fails_first() {
    return storage_ok ||
           (!half &&
            exists(n, n == fail && (node(h, n) == NS::ACTIVE || node(h, n) == NS::HALF_INACTIVE) &&
                          forall(m, implies(inactivated_before(m, n),
                                            node(h, m) != NS::ACTIVE &&
                                                node(h, m) != NS::HALF_INACTIVE))));
}

// ---- the restriction ---------------------------------------------------------------------------

struct Built {
    model::StepRestriction r;
    AstBuilder b;
    explicit Built(std::string name) : b{r.ast} { r.name = std::move(name); }
};

} // namespace

const std::vector<RowControl>& row_controls() {
    return kRows;
}

const RowControl* row_control(std::string_view row) {
    const auto it =
        std::find_if(kRows.begin(), kRows.end(), [&](const RowControl& c) { return c.row == row; });
    return it == kRows.end() ? nullptr : &*it;
}

const std::vector<BinaryControls>& binary_controls() {
    return kBinaries;
}

const BinaryControls* binary_controls_for(std::string_view version) {
    const auto it = std::find_if(kBinaries.begin(), kBinaries.end(),
                                 [&](const BinaryControls& c) { return c.version == version; });
    return it == kBinaries.end() ? nullptr : &*it;
}

std::string why_no_control(std::string_view row) {
    const RowControl* c = row_control(row);
    if (c == nullptr) {
        return "the row is not in the harness's controls table (conformance/src/controls.cpp)";
    }
    return c->control == Control::none ? std::string(c->text) : "";
}

model::StepRestriction controllable(const model::TableData& table) {
    const BinaryControls* binary = binary_controls_for(table.version);
    if (binary == nullptr) {
        std::string known;
        for (const auto& b : kBinaries) {
            known += (known.empty() ? "" : ", ") + std::string(b.version);
        }
        throw NoControls("the conformance harness has no controls for " +
                         std::string(table.version) + " (only for " + known +
                         ", the versions with a real QEMU here)");
    }
    Built out("the steps the conformance harness drives on " + std::string(binary->qemu));
    const bool keeps = binary->failed_source_keeps_destination_loading;
    const int stops = keeps ? qemu_stops<true>().emit(out.b) : qemu_stops<false>().emit(out.b);
    const int act = activation_forceable().emit(out.b);
    const int inact =
        binary->nbd_inactivation_fails_at_first_node
            ? named("inactivation_forceable",
                    (image_locking && fail == none) ||
                        (!image_locking && nbd_inactivation_fails_first()),
                    h)
                  .emit(out.b)
            : named("inactivation_forceable",
                    (image_locking && fail == none) || (!image_locking && storage_ok), h)
                  .emit(out.b);
    const int flush_ok = named("flush_succeeds", image_locking || storage_ok).emit(out.b);
    const int flush_bad = named("flush_fails", !image_locking).emit(out.b);
    const int answers = named("storage_answers", storage_ok).emit(out.b);
    const int connects = named("nbd_connects", image_locking || storage_ok).emit(out.b);
    const int load_fails = keeps ? load_fails_forceable().emit(out.b) : -1;
    const int always = TRUE.emit(out.b);
    auto conj = [&](int a, int b) {
        return out.r.ast.add({.op = mdl::Op::And,
                              .sort = mdl::Sort::Value,
                              .domain = mdl::DomainId::Bool,
                              .kid = {a, b, -1}});
    };
    for (const mdl::RowData& row : table.rows) {
        const RowControl* c = row_control(row.name);
        if (c == nullptr || c->control == Control::none) {
            out.r.row_allowed.push_back(-1);
            continue;
        }
        int e = c->side == Side::harness ? stops : always;
        const std::pair<unsigned, int> rules[] = {
            {Outcome::activation, act},          {Outcome::inactivation, inact},
            {Outcome::flush_succeeds, flush_ok}, {Outcome::flush_fails, flush_bad},
            {Outcome::storage_answers, answers}, {Outcome::nbd_connects, connects},
            {Outcome::load_fails, load_fails}};
        for (const auto& [bit, expr] : rules) {
            if ((c->outcome & bit) != 0 && expr >= 0) {
                e = e == always ? expr : conj(e, expr);
            }
        }
        out.r.row_allowed.push_back(e);
    }
    // The harness never sets postcopy-ram (nor sends migrate-start-postcopy); it sets the other
    // capabilities as the trace's initial state says.
    out.r.initial = named("harness_capabilities", !postcopy).emit(out.b);
    out.r.last = stops;
    return std::move(out.r);
}

namespace {

std::string where_not(const model::Interpreter& interp, const model::State& s, bool observe) {
    struct Exprs {
        model::Ast ast;
        int crashed, thread, incoming, incoming_may, outlives;
    };
    static const Exprs e = [] {
        Exprs x;
        AstBuilder b{x.ast};
        x.crashed = (crash != mdl::Crash::NONE).emit(b);
        x.thread = thread_stops(h).emit(b);
        x.incoming = incoming_stops(h).emit(b);
        x.incoming_may = incoming_may_stop(h).emit(b);
        x.outlives = incoming_outlives_failed_source(h).emit(b);
        return x;
    }();
    const BinaryControls* binary = binary_controls_for(interp.table().version);
    const bool keeps = binary != nullptr && binary->failed_source_keeps_destination_loading;
    mdl::Env env;
    if (interp.eval(e.ast, e.crashed, s, env) != 0) {
        return "";
    }
    auto value = [&](mdl::Var v, int host) {
        return mdl::value_name(mdl::var_info(v).domain, interp.get(s, v, host));
    };
    for (int host = 0; host < 2; ++host) {
        env.hosts[0] = host;
        if (interp.eval(e.ast, e.thread, s, env) == 0) {
            return "host " + std::to_string(host) + "'s migration thread at " +
                   value(mdl::Var::pc, host) + " (" + value(mdl::Var::mig, host) + ")";
        }
        if (interp.eval(e.ast, e.incoming, s, env) == 0 &&
            !(keeps && interp.eval(e.ast, e.outlives, s, env) != 0) &&
            !(observe && interp.eval(e.ast, e.incoming_may, s, env) != 0)) {
            return "host " + std::to_string(host) + "'s incoming migration " +
                   value(mdl::Var::incoming, host);
        }
    }
    return "";
}

} // namespace

std::string where_qemu_does_not_stop(const model::Interpreter& interp, const model::State& s) {
    return where_not(interp, s, false);
}

std::string where_the_replay_cannot_act(const model::Interpreter& interp, const model::State& s) {
    return where_not(interp, s, true);
}

} // namespace handoff::conformance
