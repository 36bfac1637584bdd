#include "instance_options.hpp"

#include "handoff/model/versions.hpp"
#include "handoff/proofs/trace_io.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <iterator>
#include <utility>

namespace handoff::cli {

using namespace handoff::model;

const TableData& require_version(const std::string& name) {
    if (const TableData* t = find_version(name)) {
        return *t;
    }
    throw UsageError(
        fmt::format("unknown version '{}' (expected one of: {})", name, version_names()));
}

const InvariantData& require_invariant(const std::string& name) {
    if (const InvariantData* i = find_invariant(name)) {
        return *i;
    }
    std::string names;
    for (const auto& inv : all_invariants()) {
        names += (names.empty() ? "" : ", ") + std::string(inv.name);
    }
    throw UsageError(fmt::format("unknown invariant '{}' (expected one of: {})", name, names));
}

void InstanceOptions::add_to(CLI::App* cmd) {
    cmd->add_option("--nodes", nodes, "Number of block nodes per host (1-16)")
        ->capture_default_str();
    cmd->add_option("--starts", starts, "How many fresh QEMU processes management may start (0-3)")
        ->capture_default_str();
    cmd->add_option("--set-active-calls", set_active_calls,
                    "How many blockdev-set-active commands management may issue (0-3)")
        ->capture_default_str();
    cmd->add_option("--env", env,
                    "The environment profile: documented (management uses QEMU as QEMU documents "
                    "it: image locking on, no blockdev-set-active active=false on a running "
                    "guest; a violation is QEMU's bug) or any (every QMP command whenever QEMU "
                    "accepts it, image locking either way)")
        ->capture_default_str();
    cmd->add_option("--cap", caps,
                    "Fix a capability, e.g. --cap late-block-activate=on (capabilities: "
                    "late-block-activate, pause-before-switchover, postcopy, autostart, "
                    "image-locking); unfixed ones take both values");
}

Instance InstanceOptions::instance() const {
    if (nodes < 1 || nodes > 16) {
        throw UsageError(fmt::format("--nodes must be between 1 and 16, not {}", nodes));
    }
    if (starts < 0 || starts > 3) {
        throw UsageError(fmt::format("--starts must be between 0 and 3, not {}", starts));
    }
    if (set_active_calls < 0 || set_active_calls > 3) {
        throw UsageError(
            fmt::format("--set-active-calls must be between 0 and 3, not {}", set_active_calls));
    }
    if (env != "documented" && env != "any") {
        throw UsageError(
            fmt::format("unknown environment profile '{}' (expected documented or any)", env));
    }
    Instance inst(nodes);
    inst.starts = starts;
    inst.set_active_calls = set_active_calls;
    inst.documented_use = env == "documented";
    const auto& known = proofs::kCapabilityNames;
    for (const auto& c : caps) {
        const auto eq = c.find('=');
        const std::string name = c.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : c.substr(eq + 1);
        const auto* it = std::find_if(std::begin(known), std::end(known),
                                      [&](const auto& k) { return name == k.name; });
        if (it == std::end(known)) {
            throw UsageError(
                fmt::format("unknown capability '{}' (expected one of: late-block-activate, "
                            "pause-before-switchover, postcopy, autostart, image-locking)",
                            name));
        }
        if (value != "on" && value != "off") {
            throw UsageError(
                fmt::format("--cap {}: the value must be on or off, not '{}'", name, value));
        }
        if (inst.documented_use && it->var == Var::image_locking && value == "off") {
            throw UsageError("--cap image-locking=off contradicts --env documented (image "
                             "locking is on in documented use; add --env any)");
        }
        inst.fixed[static_cast<int>(it->var)] = value == "on" ? 1 : 0;
    }
    if (inst.documented_use) {
        inst.fixed[static_cast<int>(Var::image_locking)] = 1;
    }
    return inst;
}

std::string InstanceOptions::describe() const {
    std::string caps_text = caps.empty() ? "every capability combination" : "";
    for (const auto& c : caps) {
        caps_text += (caps_text.empty() ? "" : ", ") + c;
    }
    return fmt::format("{} node{}, {} process start{}, {}, {} use", nodes, nodes == 1 ? "" : "s",
                       starts, starts == 1 ? "" : "s", caps_text, env);
}

nlohmann::json InstanceOptions::json() const {
    return {{"nodes", nodes},
            {"starts", starts},
            {"set_active_calls", set_active_calls},
            {"env", env},
            {"caps", caps}};
}

} // namespace handoff::cli
