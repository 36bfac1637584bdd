// The `handoff` program as a function: main() calls it, and so does the argument fuzzer
// (fuzz/cli_fuzz.cpp), which drives the same app with generated argument vectors.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>

namespace handoff::cli {

// The app with every subcommand registered.
void build_app(CLI::App& app);

// Parses argv and runs the chosen subcommand; returns the exit code (2 bad input, 4 a bug). Errors
// are one line on `err`.
int run_app(CLI::App& app, int argc, const char* const* argv, std::FILE* err = stderr);

} // namespace handoff::cli
