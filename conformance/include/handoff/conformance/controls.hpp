// What the harness can drive, as data: the single source that the replay (replay.cpp) and the
// checker (`handoff check --controllable`) both read, so that they cannot disagree.
//
// * Per row (every row of every table): who takes the step (the harness, from outside; or QEMU by
//   itself: the migration thread and the destination) and how the harness gets it (a QMP or HMP
//   command, a management action, a storage event, the relay's cut; QEMU's own; or nothing).
// * Where QEMU stops: a control can only be applied in a state QEMU stays in, so every harness
//   step's pre-state must be one (no migration thread; pre-switchover; the post-EOF window held by
//   the relay; a destination loading while its source is held), and so must the last state of a
//   trace, where its violation is observed. (The replay also tries where QEMU may stop: a
//   destination loading the stream of a source that is gone or done.)
// * Per binary (the model versions with a QEMU here: v7.2 on Debian's 7.2.22, v10.0 on 10.0.2)
//   and per storage kind (the capability image_locking: false = every image over NBD, storage
//   loss = the qemu-nbd servers killed; true = local files, storage loss = a foreign lock on byte
//   201): which outcome parameters QEMU can be made to take (real-qemu.md section 5 and the
//   replays of docs/conformance.md), and which capabilities the harness sets.
//
// controllable() turns this into a model::StepRestriction over a version's table. When in doubt, a
// step is not controllable: the checker then finds a longer trace, or none, but never one that
// needs a control the harness does not have.
#pragma once

#include "handoff/model/interpreter.hpp"
#include "handoff/model/restriction.hpp"

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::conformance {

// Who takes a row's step in a replay.
enum class Side {
    harness, // an outside event: a QMP/HMP command, management, the storage, the network
    qemu,    // QEMU's own step: the migration thread or the destination (the harness waits)
};

// How the harness makes the step happen.
enum class Control {
    none,              // nothing here makes it happen (the row says why)
    by_qemu,           // QEMU takes it by itself
    storage_kill,      // kill every qemu-nbd, or take the foreign lock on every image
    storage_restore,   // restart every qemu-nbd, or drop the foreign locks
    start_destination, // a fresh process with -incoming defer, then migrate-incoming
    quit,              // QMP quit
    migrate,           // QMP migrate through the relay (which can hold the stream)
    migrate_cancel,    // QMP migrate_cancel
    migrate_continue,  // QMP migrate-continue state=pre-switchover
    cont,              // QMP cont
    stop,              // QMP stop
    savevm,            // HMP savevm
    guest_write,       // HMP qemu-io -d <device>/virtio-backend "write ..."
    relay_cut,         // the relay cuts the migration stream (the destination's load fails)
    set_active_all,    // QMP blockdev-set-active active=true, no node-name (QEMU 10.x)
    set_inactive_all,  // QMP blockdev-set-active active=false, no node-name (QEMU 10.x)
    set_active_node,   // QMP blockdev-set-active node-name=diskN active=true (QEMU 10.x)
    set_inactive_node, // QMP blockdev-set-active node-name=diskN active=false (QEMU 10.x)
};

// Which of the row's outcome parameters (and storage conditions) the harness must be able to
// force; the rules are in controls.cpp, next to what they were read from.
struct Outcome {
    static constexpr unsigned fixed = 0;                 // nothing to force: the model fixes it
    static constexpr unsigned activation = 1u << 0;      // bdrv_activate_all()'s fail and broken
    static constexpr unsigned inactivation = 1u << 1;    // bdrv_inactivate_all()'s fail and half
    static constexpr unsigned flush_succeeds = 1u << 2;  // the row stops the VM, and the flush of
                                                         // vm_stop_force_state() succeeds
    static constexpr unsigned flush_fails = 1u << 3;     // that flush fails
    static constexpr unsigned storage_answers = 1u << 4; // only while the storage answers (what
                                                         // QEMU does otherwise is not known)
    static constexpr unsigned nbd_connects = 1u << 5;    // a new process opens its images: the
                                                         // NBD servers must be up
    static constexpr unsigned load_fails = 1u << 6;      // the destination gives up a stream
                                                         // whose source failed or went away
};

struct RowControl {
    std::string_view row;
    Side side;
    Control control;
    unsigned outcome;      // Outcome:: bits
    std::string_view text; // the control in words, or why there is none
};

// The row table: an entry per row name of every model table. nullptr for a row it lacks (a test
// keeps it complete).
const RowControl* row_control(std::string_view row);
const std::vector<RowControl>& row_controls();

// A real QEMU the harness drives, with what was measured on it.
struct BinaryControls {
    std::string_view version; // the model version it runs (v7.2, v10.0)
    std::string_view qemu;    // the binary, in words
    // Whether an inactivation over killed NBD storage was seen to fail at the first node it
    // reaches, leaving it as it was (-EIO from qcow2_inactivate() before any parent is touched):
    // real-qemu.md section 5 measured it on 7.2.22 only.
    bool nbd_inactivation_fails_at_first_node;
    // Whether a destination whose source's migration failed (not cancelled) goes on loading
    // instead of failing the load: seen on 7.2.22 (the failed source keeps the connection open),
    // not on 10.0.2 (its destination exits).
    bool failed_source_keeps_destination_loading;
};
const std::vector<BinaryControls>& binary_controls();
const BinaryControls* binary_controls_for(std::string_view version);

// No controls for this version (the checker's --controllable is then bad input).
struct NoControls : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The restriction of `table`'s paths to what the harness drives on the table's binary: the
// allowed rows with their parameter values and pre-states, the initial states (capabilities the
// harness sets) and the last states (where QEMU stops). Throws NoControls for a version without a
// binary in binary_controls().
model::StepRestriction controllable(const model::TableData& table);

// Why QEMU does not stop in `s` ("host 0's migration thread at SETUP (SETUP)"), or "" when it
// does: the same expressions as controllable()'s pre-state condition.
std::string where_qemu_does_not_stop(const model::Interpreter& interp, const model::State& s);
// The replay's condition (replay.cpp: where it observes QEMU and applies a control): the same,
// and also a destination loading the stream of a source that is gone or whose migration thread
// ended, which QEMU may or may not leave by itself (controls.cpp, incoming_may_stop): the replay
// tries, and its verdict says what QEMU did; the checker does not count on it.
std::string where_the_replay_cannot_act(const model::Interpreter& interp, const model::State& s);

// Why a step of this row has no control, or "" when it has one (or QEMU takes it).
std::string why_no_control(std::string_view row);

} // namespace handoff::conformance
