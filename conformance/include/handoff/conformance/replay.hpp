// Replaying a model trace (the JSON trace object of `handoff check --json`) on a real QEMU:
// every step is first re-run on the model's interpreter (so a malformed or stale trace is refused),
// then mapped to a real control (real-qemu.md section 5); the real state is observed wherever the
// real system can be held still and compared with the model's state at that step.
#pragma once

#include "handoff/conformance/world.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace handoff::conformance {

// The trace itself is unusable (malformed, unknown version or row, does not replay on the model).
struct TraceError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Verdict {
    reproduced,     // every observed state matched, up to and including the trace's last state
    diverged,       // QEMU's state differed from the model's at `step`
    not_replayable, // `step` has no real control (or needs QEMU held where it does not stop)
};
std::string verdict_name(Verdict v);

struct StepRecord {
    int index = 0; // 1-based step number of the trace
    std::string row;
    std::string params_text;
    std::string control; // what the harness did ("" for a step QEMU takes by itself)
    std::string reply;   // QEMU's reply to the control, if any
    bool compared = false;
    bool matched = false;
    std::string predicted;  // the model's observable state after this step
    std::string observed;   // the real one (when compared)
    std::string violations; // invariants the matched model state violates (seen on real QEMU)
};

struct ReplayResult {
    Verdict verdict = Verdict::not_replayable;
    int step = 0;       // the step the verdict names (divergence, unreplayable step, or last)
    std::string reason; // one sentence
    std::string predicted, observed; // both states at `step` for a divergence
    std::string qemu_behaviour;      // what the real QEMU ended in (final observation)
    std::string violated;            // invariants the model's last state violates
    std::string qemu_version;        // the binary's `--version` line
    std::string qemu_binary;         // the qemu-system-x86_64 that ran (a path, or the PATH name)
    std::string qemu_expected;       // the version the trace models ("7.2", "10.0", ...)
    std::string version_warning;     // why the binary is not that version ("" when it is)
    std::string notes; // how the trace was adapted (a storage fault applied later, ...)
    std::vector<StepRecord> steps;
    // What was done to QEMU, in order, grouped by model step (transcript.hpp); empty when no QEMU
    // was started (a trace refused before the replay).
    std::vector<TranscriptEntry> transcript;
    double seconds = 0;
};

struct ReplayOptions {
    milliseconds timeout{10000};
    bool keep_dir = false;
    // A folder with the QEMU to run instead of the one the trace's version maps to (binaries.hpp).
    std::string qemu_dir;
    // Called after every step (progress output of `handoff replay-qemu`).
    std::function<void(const StepRecord&)> on_step;
    // Called once before QEMU starts when the binary is not the version the trace models.
    std::function<void(const std::string&)> on_warning;
};

// What replay() does with a trace before it looks for QEMU: reads it (TraceError when it cannot be
// read as one) and plans its order; returns the notes of that plan. Runs no process (the trace
// fuzzer, fuzz/trace_fuzz.cpp, calls it).
std::string check_trace(const nlohmann::json& trace);

// Throws TraceError for a trace that cannot be read as one, BinaryError when no binary can be
// named for it (select_qemu()), HarnessError when the binary does not run.
ReplayResult replay(const nlohmann::json& trace, const ReplayOptions& options = {});

} // namespace handoff::conformance
