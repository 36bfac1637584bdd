// What every fuzz target shares: a scratch folder for the files it feeds the readers, and the
// `handoff` app run in-process with the contract of bad input checked on every run: exit code 0,
// 1, 2 or 3 (4 is a checker bug: an exception that escaped as "internal error"), and an exit 2
// explained on exactly one line. A broken contract aborts, which libFuzzer (and the corpus replay
// of the normal build, fuzz/replay_main.cpp) reports as a crash with the input that caused it.
#pragma once

#include "../cli/app.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace handoff::fuzz {

// A per-process scratch folder (created on first use, under $TMPDIR or /tmp).
const std::string& scratch_dir();

// Writes `size` bytes to scratch_dir()/name and returns the path.
std::string write_scratch(const std::string& name, const std::uint8_t* data, std::size_t size);

// Standard output goes to /dev/null and standard input reads /dev/null from now on: the stories
// the commands print are not what is fuzzed, and no reader may wait for a terminal.
void silence_stdio();

// Runs `handoff ARGS...` in this process (a fresh app each time). `keep` says which subcommands
// may run their callbacks; every other one is only parsed (its callback removed), so that no
// fuzzed argument vector starts a check, a search or QEMU, or writes a file. Aborts when the
// contract above is broken; returns the exit code.
int run_cli(const std::vector<std::string>& args, const std::vector<std::string>& keep);

// Prints what broke and the input, then aborts.
[[noreturn]] void broken(const std::string& what, const std::string& input);

} // namespace handoff::fuzz
