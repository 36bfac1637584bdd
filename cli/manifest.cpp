#include "manifest.hpp"
#include "commands.hpp"

#include <fmt/core.h>

#include <fstream>

namespace handoff::cli {

namespace {

// The entry's field `key` must be a string (an integer if `integer`), and present unless
// `optional`.
void require_field(const nlohmann::json& entry, const char* key, bool optional, bool integer,
                   const std::string& where) {
    const auto it = entry.find(key);
    if (it == entry.end()) {
        if (!optional) {
            throw UsageError(fmt::format("{}: no \"{}\"", where, key));
        }
        return;
    }
    if (integer ? !it->is_number_integer() : !it->is_string()) {
        throw UsageError(fmt::format("{}: \"{}\" must be {}, not {}", where, key,
                                     integer ? "an integer" : "a string", it->dump()));
    }
}

} // namespace

nlohmann::json read_manifest(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw UsageError(fmt::format("--expect: cannot read {}", path));
    }
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
        throw UsageError(fmt::format("--expect: {} is not JSON", path));
    }
    if (!manifest.is_object() || !manifest.contains("results") || !manifest["results"].is_array()) {
        throw UsageError(fmt::format("--expect: {} has no \"results\" array", path));
    }
    std::size_t i = 0;
    for (const auto& entry : manifest["results"]) {
        const std::string where = fmt::format("--expect: {}: result {}", path, ++i);
        if (!entry.is_object()) {
            throw UsageError(where + " is not an object");
        }
        require_field(entry, "version", false, false, where);
        require_field(entry, "invariant", false, false, where);
        require_field(entry, "verdict", false, false, where);
        require_field(entry, "engine", true, false, where);
        require_field(entry, "steps", true, true, where);
        require_field(entry, "env", true, false, where);
        const std::string env = entry.value("env", "any");
        if (env != "documented" && env != "any") {
            throw UsageError(fmt::format(
                "{}: \"env\" must be \"documented\" or \"any\", not \"{}\"", where, env));
        }
    }
    return manifest;
}

std::optional<std::string> expected_verdict(const nlohmann::json& manifest,
                                            const std::string& version,
                                            const std::string& invariant, const std::string& env) {
    const nlohmann::json* entry = nullptr;
    for (const auto& e : manifest["results"]) {
        if (e.value("version", "") == version && e.value("invariant", "") == invariant &&
            e.value("env", "any") == env) {
            entry = &e;
        }
    }
    if (entry == nullptr) {
        return std::nullopt;
    }
    return entry->value("verdict", "?") +
           (entry->contains("steps") ? fmt::format(" ({} steps)", (*entry)["steps"].get<long>())
                                     : "");
}

} // namespace handoff::cli
