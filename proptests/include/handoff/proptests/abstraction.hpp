// The abstraction function: what the implementation shows (Observation of each QEMU process, the
// migration streams the test owns, and a little history the test keeps) mapped to the model's
// state vocabulary. Written once; the oracle, the invariant checks and the unit tests use it.
//
// The result is not always one model State: a few model variables are QEMU-internal fields that
// impl/ does not show (the migration thread's local current_active_state, s->pause_sem, the
// stream's error, the destination's copy of the global state), and a few impl/ positions stand
// for more than one place of the model's migration thread. So the abstraction gives, per slot of
// the model's State, the set of values it allows. Everything the implementation shows is exact.
#pragma once

#include "handoff/impl/migration.hpp"
#include "handoff/impl/observation.hpp"
#include "handoff/model/interpreter.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace handoff::proptests {

// The capabilities of a run: fixed for both processes (the model's capability variables).
struct Capabilities {
    bool late_block_activate = false;
    bool pause_before_switchover = false;
    bool postcopy = false;
    bool autostart_policy = true;
};

// The ghost variables, computed from the implementation's history by the test.
struct HostHistory {
    // vm_start() ran (the run state became RUNNING) while some node was not active.
    bool started_inactive = false;
    // The migration thread called bdrv_inactivate_all() since the last successful qmp_migrate.
    bool tried_inactivate = false;
};
struct History {
    int starts_left = 1;
    int set_active_left = 1;
    std::array<HostHistory, 2> hosts{};
};

// What the abstraction reads of one host: its process (nothing if management quit it) and the
// stream of its latest outgoing migration (nothing before the first one).
struct HostView {
    std::optional<impl::Observation> observation;
    const impl::MigrationStream* outgoing = nullptr;
};

struct AbstractState {
    std::vector<std::uint16_t> allowed; // per slot of the model's State: a bit per allowed value
    bool crashed = false;               // a process crashed: only crash and crash_host count
    std::size_t crash_slot = 0, crash_host_slot = 0;
    std::vector<std::string> unmapped; // implementation values the model has no name for

    bool matches(const model::State& s) const;
    // "runstate[0]=RUNNING pc[0]={COMPLETION_FAILED,COMPLETION_SAVED} ..." for the slots that
    // differ from `near` (or every constrained slot).
    std::string format(const model::Interpreter& interp, const model::State* near = nullptr) const;
};

// Value maps, exposed for the unit tests. nullopt: the model has no such value.
std::optional<model::RunState> to_model(impl::RunState s);
std::optional<model::MigStatus> to_model(impl::MigrationStatus s);
std::optional<model::Crash> crash_to_model(const impl::CrashRecord& crash);
model::NodeState to_model(impl::NodeActivity a);
std::optional<model::Incoming> incoming_to_model(const impl::Observation& o);
// The places of the model's migration thread an impl/ thread position can stand for.
std::vector<model::ThreadPc> pc_to_model(const impl::Observation& o);
// Whether impl/ never tells the two places apart: every thread position pc_to_model() maps stands
// for both or for neither (COMPLETION_FAILED and COMPLETION_SAVED: impl/ shows neither where the
// fail label was reached from nor completion_ret).
bool pcs_alike(model::ThreadPc a, model::ThreadPc b);
// The impl/ node each model node stands for. On the flat graph the model's node n is the n-th guest
// disk's tree: its root in bdrv_next() order. On the other shapes impl/ builds the model's graph,
// its nodes named by the model's labels; a node impl/ lacks is null.
std::vector<const impl::NodeObservation*> model_nodes(const impl::Observation& o,
                                                      const model::BlockGraph& graph);

// Per slot of `s`: whether abstract() leaves it to the model (every value allowed, the oracle
// carrying the model's value) when impl/ stands where `s` says. Of a running process: the
// migration thread's current_active_state, s->pause_sem, the stream's and the return path's
// errors, the received global state, and migration_block_active outside v10.0-dev; of a process
// that is gone: the return path's error. Everything else counts as shown, the migration thread's
// place too (impl/ shows it for several of the model's places at some steps: counting it as
// shown only ever tells two states apart that impl/ could not). Mutation testing uses this to
// tell a mutant that differs only in what impl/ does not show (handoff mutate's lockstep);
// abstraction_test holds it to abstract().
std::vector<bool> hidden_slots(const model::Interpreter& interp, const model::State& s);

AbstractState abstract(const model::Interpreter& interp, const Capabilities& caps,
                       bool storage_answering, const std::array<HostView, 2>& hosts,
                       const History& history);

} // namespace handoff::proptests
