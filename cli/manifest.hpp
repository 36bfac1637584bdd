// The expected results of the checker (proofs/expected.json, written by proofs/regenerate) as
// `handoff prove --expect` reads them: every entry's shape is checked when the file is read, so a
// malformed manifest is bad input (one line, exit 2) and not an exception halfway through the
// comparison.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace handoff::cli {

// The manifest at `path`; UsageError when it cannot be read, is not JSON, or an entry of its
// "results" is not {"version": string, "invariant": string, "verdict": string, "steps": integer
// (optional), "env": "documented" | "any" (optional), "engine": string (optional)}.
nlohmann::json read_manifest(const std::string& path);

// What the manifest records for one pair under one environment profile ("documented" or "any"; an
// entry without "env" was written under any use): the verdict, with " (K steps)" when it records a
// length, e.g. "violated (6 steps)"; nothing when it has no entry. The last matching entry wins.
std::optional<std::string> expected_verdict(const nlohmann::json& manifest,
                                            const std::string& version,
                                            const std::string& invariant, const std::string& env);

} // namespace handoff::cli
