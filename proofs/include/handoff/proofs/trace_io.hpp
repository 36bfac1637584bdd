// Counterexamples as files: the JSON a trace is written as (`handoff check --json`, `handoff trace
// --json`, proofs/traces/) and the reader that turns such a file back into a model::Trace, checking
// every field against the table and replaying every step on the interpreter.
//
//   {"version": "v8.0.0", "nodes": 2, "starts": 1, "set_active_calls": 1, "caps": ["postcopy=off"],
//    "invariant": "...",                          (optional: the invariant the trace violates)
//    "controllable": "...",                       (optional: the restriction the search obeyed,
//                                                  `--controllable`; only its shape is read)
//    "headline": "...",                           (optional: the story in one paragraph,
//                                                  model::headline(); only its shape is read)
//    "initial": {"storage_ok": "true", ...},      (every variable, by value name)
//    "steps": [{"row": "...", "qemu": "...", "params": {"h": 0, "fail": 2},
//               "params_text": "h=host 0, fail=none", "changes": {"var": ["before", "after"]},
//               "state": {...every variable...}}]}
//
// "qemu", "params_text" and "changes" are derived and only read for their shape; "params" holds
// the row's parameters as integers (a node index; N for `none`; 0/1 for hosts and flags).
#pragma once

#include "handoff/model/explore.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace handoff::proofs {

// A malformed or inconsistent trace file; the message is one line.
struct TraceError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The capabilities an instance can fix, by their command-line names (--cap NAME=on|off).
struct CapabilityName {
    std::string_view name;
    model::Var var;
};
inline constexpr CapabilityName kCapabilityNames[] = {
    {"late-block-activate", model::Var::cap_late_block_activate},
    {"pause-before-switchover", model::Var::cap_pause_before_switchover},
    {"postcopy", model::Var::cap_postcopy},
    {"autostart", model::Var::cap_autostart},
    {"image-locking", model::Var::image_locking}};

// The instance fields of a trace file: nodes, starts, set_active_calls, the environment profile
// ("env": "documented" or "any"; a file without it was written under any use) and the fixed
// capabilities ("caps": ["postcopy=off", ...]).
nlohmann::json instance_fields(const model::Instance& instance);

nlohmann::json trace_to_json(const model::Interpreter& interp, const model::Trace& trace,
                             const model::InvariantData* invariant = nullptr);

// What a trace file says it is about: the version, the instance and (if stated) the invariant.
struct TraceHeader {
    const model::TableData* table = nullptr;
    model::Instance instance;
    const model::InvariantData* invariant = nullptr;
};
TraceHeader read_trace_header(const nlohmann::json& j);

// The trace of a file for this interpreter's version and instance. Throws TraceError when a field
// is missing or malformed, the version or the instance differ, a row or parameter is unknown, or a
// recorded state is not the one the interpreter reaches (path_error below).
model::Trace trace_from_json(const model::Interpreter& interp, const nlohmann::json& j);

// Whether the trace is a path of the interpreter: its first state is initial and every step is
// enabled and leads to the recorded state. Returns what went wrong, or nothing.
std::optional<std::string> path_error(const model::Interpreter& interp, const model::Trace& trace);

} // namespace handoff::proofs
