// The `handoff` program's argument handling (CLI11 and every option check of cli/) on generated
// argument vectors: the input is the arguments, separated by NUL bytes. The quick, read-only
// commands run in full (versions, invariants, legend, controls, diff, replay); the others (check,
// prove, trace, explore, export, coverage, replay-qemu, conformance-report, crosscheck) are only
// parsed: a fuzzed vector must not start minutes of checking, a QEMU, or write a file. So is spec:
// its page takes about a second (fuzz_manifest runs it with --results).
#include "fuzz_support.hpp"

#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // From the source folder, the corpus's relative paths (proofs/expected.json, proofs/traces)
    // reach real files, so the readers behind the options are driven too.
    static const bool in_source = ::chdir(HANDOFF_SOURCE_DIR) == 0;
    (void)in_source;
    std::vector<std::string> args(1);
    for (std::size_t i = 0; i < size && args.size() <= 16; ++i) {
        if (data[i] == 0) {
            args.emplace_back();
        } else {
            args.back() += static_cast<char>(data[i]);
        }
    }
    handoff::fuzz::run_cli(args,
                           {"versions", "invariants", "legend", "controls", "diff", "replay"});
    return 0;
}
