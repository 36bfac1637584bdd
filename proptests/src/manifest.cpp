#include "handoff/proptests/manifest.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#ifndef HANDOFF_MANIFEST
#error "HANDOFF_MANIFEST (the path of proofs/expected.json) must be defined by the build"
#endif
#ifndef HANDOFF_TRACES_DIR
#error "HANDOFF_TRACES_DIR (the path of proofs/traces) must be defined by the build"
#endif

namespace handoff::proptests {

namespace {

nlohmann::json load(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
    }
}

Verdict verdict_of(const std::string& text, const std::string& where) {
    if (text == "violated") {
        return Verdict::violated;
    }
    if (text == "proved") {
        return Verdict::proved;
    }
    if (text == "bounded") {
        return Verdict::bounded;
    }
    if (text == "unknown") {
        return Verdict::unknown;
    }
    throw std::runtime_error(fmt::format("{}: unknown verdict '{}'", where, text));
}

std::map<std::string, std::string> state_of(const nlohmann::json& j) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : j.items()) {
        out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    return out;
}

} // namespace

std::string_view to_string(Verdict v) {
    switch (v) {
    case Verdict::violated:
        return "violated";
    case Verdict::proved:
        return "proved";
    case Verdict::bounded:
        return "bounded";
    case Verdict::unknown:
        return "unknown";
    }
    return "?";
}

std::vector<const ManifestEntry*> Manifest::for_version(const std::string& version) const {
    std::vector<const ManifestEntry*> out;
    for (const auto& e : results) {
        if (e.version == version) {
            out.push_back(&e);
        }
    }
    return out;
}

Manifest read_manifest(const std::string& path) {
    const nlohmann::json j = load(path);
    Manifest m;
    m.path = path;
    m.instance = j.contains("instance") ? j.at("instance").dump() : "{}";
    for (const auto& r : j.at("results")) {
        // impl/ runs whatever QMP sequence the generators make (blockdev-set-active on a running
        // guest too) without image locking: the any-use verdicts are the ones it must agree
        // with. The documented profile's verdicts are about a subset of those runs.
        if (r.value("env", std::string("any")) != "any") {
            continue;
        }
        ManifestEntry e;
        e.version = r.at("version").get<std::string>();
        e.invariant = r.at("invariant").get<std::string>();
        e.verdict = verdict_of(r.at("verdict").get<std::string>(), path);
        e.engine = r.value("engine", std::string());
        if (r.contains("steps") && r.at("steps").is_number_integer()) {
            e.steps = r.at("steps").get<int>();
        }
        m.results.push_back(std::move(e));
    }
    return m;
}

const Manifest& manifest() {
    static const Manifest m = read_manifest(HANDOFF_MANIFEST);
    return m;
}

std::string traces_dir() {
    return HANDOFF_TRACES_DIR;
}

CheckerTrace read_trace(const std::string& path) {
    const nlohmann::json j = load(path);
    CheckerTrace t;
    t.path = path;
    t.invariant = std::filesystem::path(path).stem().string();
    t.version = j.at("version").get<std::string>();
    t.nodes = j.value("nodes", 2);
    t.graph = j.value("graph", std::string("flat"));
    t.starts = j.value("starts", 1);
    t.env = j.value("env", std::string("any"));
    t.initial = state_of(j.at("initial"));
    for (const auto& s : j.at("steps")) {
        TraceStep step;
        step.row = s.at("row").get<std::string>();
        for (const auto& [k, v] : s.at("params").items()) {
            step.params[k] = v.get<int>();
        }
        step.params_text = s.value("params_text", std::string());
        step.state = state_of(s.at("state"));
        t.steps.push_back(std::move(step));
    }
    return t;
}

std::vector<CheckerTrace> read_traces(const std::string& dir) {
    std::vector<std::string> paths;
    if (std::filesystem::exists(dir)) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
            if (e.is_regular_file() && e.path().extension() == ".json") {
                paths.push_back(e.path().string());
            }
        }
    }
    std::sort(paths.begin(), paths.end());
    std::vector<CheckerTrace> out;
    for (const auto& p : paths) {
        CheckerTrace t = read_trace(p);
        if (t.env == "any") { // as in read_manifest: the any-use counterexamples
            out.push_back(std::move(t));
        }
    }
    return out;
}

} // namespace handoff::proptests
