// How the `handoff` program's subcommands are put together: each layer registers its own.
#pragma once

#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

namespace handoff::cli {

// A bad input (unknown version, bad option value, unreadable file): printed as one line, exit 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The exit code of the subcommand that ran.
inline int& exit_code() {
    static int code = 0;
    return code;
}

void register_model_commands(CLI::App& app);
void register_proofs_commands(CLI::App& app);      // check, prove
void register_artifacts_commands(CLI::App& app);   // trace, replay, export, coverage
void register_conformance_commands(CLI::App& app); // replay-qemu, conformance-report
void register_mutate_commands(CLI::App& app);      // mutate
void register_crosscheck_command(CLI::App& app);   // crosscheck

} // namespace handoff::cli
