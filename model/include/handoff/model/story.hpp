// Counterexamples told in QEMU's terms: a one-paragraph headline generated from a trace's rows,
// parameters and states; the steps with, besides the changed variables, the unchanged ones that
// explain the course; a crash as the QEMU binary prints it; hosts named by their role; and the
// legend of every abbreviation the traces use.
#pragma once

#include "handoff/model/explore.hpp"

#include <string>
#include <string_view>

namespace handoff::model {

// One paragraph, generated (never written per story): the failures (which block operation failed
// at which node, in which QEMU function, on which host), the flags whose value decided the course
// (flipping one makes the rest of the trace miss the violation), the step that violates the
// invariant (the call that started the guest, or the assertion that fired) and the invariant in
// words. `invariant` may be null (a trace file that names none).
std::string headline(const Interpreter& interp, const Trace& trace, const InvariantData* invariant);

// The headline cut to one line, for `handoff prove`'s list of stories: the course (each failure
// with the function and host role where it happened, then the violating step's function, role
// and failures) and the outcome (what that step set that the invariant reads, or QEMU's
// assertion). "storage_lost; qmp_cont() on the destination: bdrv_activate_all() fails at node 0
// (broken) > loadvm_postcopy_handle_run_bh() on the destination" and ": vm_start() runs".
struct Gist {
    std::string course;
    std::string outcome;       // starts with its separator (": ", ", then ", " aborts: ", ...)
    bool state_change = false; // the outcome is what the step set (no abort, no dead end)
    std::string text() const { return course + outcome; }
};
Gist gist(const Interpreter& interp, const Trace& trace, const InvariantData* invariant);

// The whole story as printed by `handoff trace`, `check`, `prove`, `replay` and `explore`: the
// headline, the numbered steps (each with its changes, the unchanged variables that matter and,
// at a crash, QEMU's message), and a last line pointing at the version's spec page and at
// `handoff legend`.
std::string format_story(const Interpreter& interp, const Trace& trace,
                         const InvariantData* invariant);

// The role of each host in a state: "source" (its outgoing migration is running, or it is the
// peer of a destination), "destination" (its incoming side is listening or loading), or, between
// migrations, the role it had before. Roles change within a trace (a second migration back).
struct Roles {
    std::string_view host[2] = {"source", "destination"};
    bool operator==(const Roles&) const = default;
};
Roles roles_of(const Interpreter& interp, const State& s, const Roles& before);

// "host 0 (source)".
std::string host_name(int host, const Roles& roles);

// A QEMU abort as the binary prints it on stderr, and where its text comes from.
struct QemuAbort {
    std::string message;    // "qemu-system-x86_64: ../block.c:6748: bdrv_inactivate_recurse: ..."
    std::string provenance; // where the file and line were read, or that the line was not read
};

// Which of QEMU's aborts a crash kind stands for, when several do (runstate_set() aborts with an
// error_report() for a transition runstate_transitions_def[] lacks, and asserts for -1; a write
// asserts the node's flag, or its BlockBackend's write permission when half-inactivated).
enum class AbortVariant {
    only,                    // the kind has one message
    invalid_transition,      // INVALID_RUNSTATE: error_report("invalid runstate transition...")
    unset_state,             // INVALID_RUNSTATE: assert(new_state < RUN_STATE__MAX)
    write_to_inactive_flag,  // WRITE_TO_INACTIVE: assert(!(bs->open_flags & BDRV_O_INACTIVE))
    write_without_write_perm // WRITE_TO_INACTIVE on a half-inactivated node: the perm assert
};

// `from`/`to` are the run states of an invalid transition (ignored otherwise).
QemuAbort qemu_abort(std::string_view version, Crash kind, AbortVariant variant,
                     RunState from = RunState::RUNNING, RunState to = RunState::RUNNING);

// RunState_str(): the QAPI name QEMU prints ("finish-migrate").
std::string_view qapi_runstate_name(RunState s);

// Every abbreviation of the traces: the notation, the parameters, the variables (from kParams and
// kVars) and the values of each domain; with a table, also its rows and their sentences.
std::string legend(const TableData* table = nullptr);

} // namespace handoff::model
