// The trace readers on arbitrary bytes: what `handoff replay FILE` (and `replay FILE --on-version
// V`) read through proofs::read_trace_header / trace_from_json, and what `handoff replay-qemu FILE`
// reads (its own JSON reading, then conformance::check_trace(): everything replay() does before it
// looks for QEMU). Each ends in a verdict or one line of bad input, never anything else.
#include "fuzz_support.hpp"

#include "handoff/conformance/replay.hpp"

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using handoff::fuzz::run_cli;
    const std::string file = handoff::fuzz::write_scratch("trace.json", data, size);
    run_cli({"replay", file}, {"replay"});
    run_cli({"replay", file, "--on-version", "v8.1"}, {"replay"});

    // replay-qemu: the file as cli/commands_conformance.cpp reads it (a `handoff check --json`
    // result carries its trace under "trace"), then what replay() does before QEMU starts. Only
    // a TraceError is bad input there; any other exception would end the CLI in exit code 4.
    nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
    if (j.is_discarded()) {
        return 0; // the CLI says "FILE is not JSON"
    }
    if (j.is_object() && j.contains("trace") && !j.contains("steps")) {
        j = nlohmann::json(j["trace"]);
    }
    try {
        handoff::conformance::check_trace(j);
    } catch (const handoff::conformance::TraceError& e) {
        const std::string what = e.what();
        if (what.find('\n') != std::string::npos) {
            handoff::fuzz::broken("replay-qemu's trace error is not one line: " + what, file);
        }
    }
    return 0;
}
