// The readers of the checker's expected results (proofs/expected.json) on arbitrary bytes: `handoff
// spec --results FILE` (the verdicts and stories of a version's page; the stories come from the
// committed proofs/traces, linked beside the file) and `handoff prove --expect FILE`
// (cli/manifest.cpp: read_manifest() and the lookup the comparison makes for every result).
#include "fuzz_support.hpp"

#include "../cli/commands.hpp"
#include "../cli/manifest.hpp"

#include <filesystem>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using handoff::fuzz::run_cli;
    static const bool traces_linked = [] {
        const std::filesystem::path link = handoff::fuzz::scratch_dir() + "/traces";
        std::error_code ec;
        std::filesystem::create_directory_symlink(HANDOFF_SOURCE_DIR "/proofs/traces", link, ec);
        return !ec;
    }();
    (void)traces_linked;
    const std::string file = handoff::fuzz::write_scratch("expected.json", data, size);
    // One version: the page itself (its disk-state picture) takes most of a run's time.
    run_cli({"spec", "--version", "v8.0.0", "--results", file}, {"spec"});
    try {
        const nlohmann::json manifest = handoff::cli::read_manifest(file);
        for (const char* version : {"v8.0.0", "v10.2"}) {
            for (const char* invariant : {"no-vm-start-while-inactive", "recoverable"}) {
                for (const char* env : {"documented", "any"}) {
                    handoff::cli::expected_verdict(manifest, version, invariant, env);
                }
            }
        }
    } catch (const handoff::cli::UsageError& e) {
        const std::string what = e.what();
        if (what.find('\n') != std::string::npos) {
            handoff::fuzz::broken("--expect's error is not one line: " + what, file);
        }
    }
    return 0;
}
