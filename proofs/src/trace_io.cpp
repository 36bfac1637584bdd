#include "handoff/proofs/trace_io.hpp"

#include "handoff/model/invariants.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/story.hpp"
#include "handoff/model/versions.hpp"

#include <algorithm>
#include <map>

namespace handoff::proofs {

using namespace handoff::model;
using json = nlohmann::json;

namespace {

json state_json(const Interpreter& interp, const State& s) {
    json out = json::object();
    for (const auto& c : describe(interp, s)) {
        out[c.variable] = c.after;
    }
    return out;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw TraceError(where.empty() ? what : where + ": " + what);
}

const json& member(const json& j, const char* key, const std::string& where) {
    if (!j.is_object()) {
        fail(where, "expected a JSON object");
    }
    const auto it = j.find(key);
    if (it == j.end()) {
        fail(where, std::string("missing \"") + key + "\"");
    }
    return *it;
}

int integer(const json& j, const char* key, const std::string& where) {
    const json& v = member(j, key, where);
    if (!v.is_number_integer()) {
        fail(where, std::string("\"") + key + "\" must be an integer, not " + v.dump());
    }
    return v.get<int>();
}

std::string text(const json& j, const char* key, const std::string& where) {
    const json& v = member(j, key, where);
    if (!v.is_string()) {
        fail(where, std::string("\"") + key + "\" must be a string, not " + v.dump());
    }
    return v.get<std::string>();
}

void only_keys(const json& j, std::initializer_list<const char*> keys, const std::string& where) {
    for (const auto& item : j.items()) {
        // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
        const std::string& key = item.key();
        if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; })) {
            fail(where, "unknown field \"" + key + "\"");
        }
    }
}

// Every variable slot of the layout with its name, in the order describe() lists them.
struct Slot {
    Var var;
    int host;
    int node;
};
std::map<std::string, Slot> slots_by_name(const Interpreter& interp) {
    std::map<std::string, Slot> out;
    const State probe(static_cast<std::size_t>(interp.layout().size()), '\0');
    const auto names = describe(interp, probe);
    std::size_t i = 0;
    for (int v = 0; v < kVarCount; ++v) {
        const VarInfo& info = var_info(static_cast<Var>(v));
        const int hosts = info.scope == Scope::Global ? 1 : 2;
        const int nodes = info.scope == Scope::PerNode ? interp.layout().nodes() : 1;
        for (int h = 0; h < hosts; ++h) {
            for (int n = 0; n < nodes; ++n) {
                out[names.at(i++).variable] = {static_cast<Var>(v), h, n};
            }
        }
    }
    return out;
}

State read_state(const Interpreter& interp, const std::map<std::string, Slot>& slots, const json& j,
                 const std::string& where) {
    if (!j.is_object()) {
        fail(where, "a state must be an object {variable: value}");
    }
    State s(static_cast<std::size_t>(interp.layout().size()), '\0');
    for (const auto& [name, value] : j.items()) {
        const auto it = slots.find(name);
        if (it == slots.end()) {
            fail(where, "unknown variable \"" + name + "\"");
        }
        const DomainId domain = var_info(it->second.var).domain;
        const auto& values = domain_info(domain).values;
        const auto v = value.is_string()
                           ? std::find(values.begin(), values.end(), value.get<std::string>())
                           : values.end();
        if (v == values.end()) {
            fail(where, name + " = " + value.dump() + " is not a value of " +
                            std::string(domain_info(domain).name));
        }
        interp.put(s, it->second.var, it->second.host, it->second.node,
                   static_cast<int>(v - values.begin()));
    }
    for (const auto& [name, slot] : slots) {
        if (j.contains(name)) {
            continue;
        }
        // Traces written before the environment profiles have no documented_use: it is the
        // profile of the trace's header.
        if (slot.var != Var::documented_use) {
            fail(where, "variable " + name + " is missing");
        }
        interp.put(s, slot.var, 0, 0, interp.instance().documented_use ? 1 : 0);
    }
    return s;
}

Step read_step(const Interpreter& interp, const json& j, const std::string& where) {
    only_keys(j, {"row", "qemu", "params", "params_text", "changes", "state"}, where);
    const std::string name = text(j, "row", where);
    const TableData& table = interp.table();
    const RowData* row = table.find(name);
    if (row == nullptr) {
        fail(where, "unknown row '" + name + "' (not a row of " + std::string(table.version) + ")");
    }
    Step step;
    step.row = static_cast<int>(row - table.rows.data());
    for (int p = 0; p < kParamCount; ++p) {
        step.params[static_cast<std::size_t>(p)] = interp.param_default(static_cast<Param>(p));
    }
    const json& params = member(j, "params", where);
    if (!params.is_object()) {
        fail(where, "\"params\" must be an object {parameter: integer}");
    }
    for (const auto& item : params.items()) {
        const std::string& pname = item.key(); // not a structured binding: see only_keys()
        const json& value = item.value();
        const auto p = std::find_if(row->params.begin(), row->params.end(),
                                    [&](Param q) { return param_info(q).name == pname; });
        if (p == row->params.end()) {
            fail(where, "row " + name + " has no parameter '" + pname + "'");
        }
        const auto domain = interp.param_values(*p);
        if (!value.is_number_integer() ||
            std::find(domain.begin(), domain.end(), value.get<int>()) == domain.end()) {
            fail(where, "parameter " + pname + " = " + value.dump() + " is out of range (" +
                            std::to_string(domain.size()) +
                            " values at N = " + std::to_string(interp.layout().nodes()) + ")");
        }
        step.params[static_cast<std::size_t>(*p)] = value.get<int>();
    }
    for (Param p : row->params) {
        if (!params.contains(std::string(param_info(p).name))) {
            fail(where, "parameter " + std::string(param_info(p).name) + " of row " + name +
                            " is missing");
        }
    }
    return step;
}

} // namespace

json instance_fields(const Instance& instance) {
    json caps = json::array();
    for (const auto& c : kCapabilityNames) {
        const int fixed = instance.fixed[static_cast<std::size_t>(c.var)];
        if (fixed >= 0) {
            caps.push_back(std::string(c.name) + (fixed ? "=on" : "=off"));
        }
    }
    json out = {{"nodes", instance.nodes},
                {"starts", instance.starts},
                {"set_active_calls", instance.set_active_calls},
                {"env", instance.documented_use ? "documented" : "any"},
                {"caps", caps}};
    // A missing "graph" reads as flat, so that the traces written before the graph stay as they
    // are.
    if (instance.graph != GraphShape::flat) {
        out["graph"] = std::string(graph_shape_name(instance.graph));
    }
    return out;
}

json trace_to_json(const Interpreter& interp, const Trace& trace, const InvariantData* invariant) {
    json steps = json::array();
    State before = trace.initial;
    for (const auto& ts : trace.steps) {
        const RowData& row = interp.table().rows[static_cast<std::size_t>(ts.step.row)];
        json params = json::object();
        for (Param p : row.params) {
            params[std::string(param_info(p).name)] = ts.step.params[static_cast<std::size_t>(p)];
        }
        json changed = json::object();
        for (const auto& c : changes(interp, before, ts.state)) {
            changed[c.variable] = {c.before, c.after};
        }
        steps.push_back({{"row", row.name},
                         {"qemu", row.qemu},
                         {"params", params},
                         {"params_text", format_params(interp, ts.step)},
                         {"changes", changed},
                         {"state", state_json(interp, ts.state)}});
        before = ts.state;
    }
    json out = instance_fields(interp.instance());
    out["version"] = interp.table().version;
    if (invariant != nullptr) {
        out["invariant"] = invariant->name;
    }
    // What the trace tells, in one paragraph (model::headline); derived, like "changes", so that
    // readers accept it and ignore it.
    out["headline"] = headline(interp, trace, invariant);
    out["initial"] = state_json(interp, trace.initial);
    out["steps"] = steps;
    return out;
}

TraceHeader read_trace_header(const json& j) {
    const std::string top = "trace";
    only_keys(j,
              {"version", "nodes", "graph", "starts", "set_active_calls", "env", "caps",
               "invariant", "controllable", "restriction", "headline", "initial", "steps"},
              top);
    TraceHeader h;
    const std::string version = text(j, "version", top);
    h.table = find_version(version);
    if (h.table == nullptr) {
        fail(top, "unknown version '" + version + "' (expected one of: " + version_names() + ")");
    }
    h.instance.nodes = integer(j, "nodes", top);
    h.instance.starts = integer(j, "starts", top);
    h.instance.set_active_calls = integer(j, "set_active_calls", top);
    if (h.instance.nodes < 1 || h.instance.nodes > 16) {
        fail(top, "\"nodes\" must be between 1 and 16, not " + std::to_string(h.instance.nodes));
    }
    if (j.contains("graph")) {
        const std::string shape = text(j, "graph", top);
        const auto g = graph_shape_from_name(shape);
        if (!g) {
            fail(top, "unknown graph '" + shape + "' (expected flat, chain, shared-base or job)");
        }
        h.instance.graph = *g;
        std::string limit;
        try {
            limit = BlockGraph::make(*g, h.instance.nodes).walk_limit();
        } catch (const std::invalid_argument& e) {
            limit = e.what();
        }
        if (!limit.empty()) {
            fail(top, limit);
        }
    }
    if (h.instance.starts < 0 || h.instance.starts > 3 || h.instance.set_active_calls < 0 ||
        h.instance.set_active_calls > 3) {
        fail(top, "\"starts\" and \"set_active_calls\" must be between 0 and 3");
    }
    // A trace written before the environment profiles existed was found under any use.
    if (j.contains("env")) {
        const std::string env = text(j, "env", top);
        if (env != "documented" && env != "any") {
            fail(top, "\"env\" must be \"documented\" or \"any\", not \"" + env + "\"");
        }
        h.instance.documented_use = env == "documented";
    }
    const json& caps = member(j, "caps", top);
    if (!caps.is_array()) {
        fail(top, "\"caps\" must be an array of \"name=on|off\" strings");
    }
    for (const json& c : caps) {
        const std::string s = c.is_string() ? c.get<std::string>() : c.dump();
        const auto eq = s.find('=');
        const auto* cap =
            std::find_if(std::begin(kCapabilityNames), std::end(kCapabilityNames),
                         [&](const CapabilityName& k) { return s.substr(0, eq) == k.name; });
        const std::string value = eq == std::string::npos ? "" : s.substr(eq + 1);
        if (!c.is_string() || cap == std::end(kCapabilityNames) ||
            (value != "on" && value != "off")) {
            fail(top, "bad capability " + c.dump() + " (expected NAME=on or NAME=off)");
        }
        h.instance.fixed[static_cast<std::size_t>(cap->var)] = value == "on" ? 1 : 0;
    }
    for (const char* key : {"controllable", "restriction"}) {
        if (j.contains(key)) {
            text(j, key, top); // what the search was restricted to; only its shape is read
        }
    }
    if (j.contains("headline")) {
        // Derived from the trace (model::headline): only its shape is read.
        text(j, "headline", top);
    }
    if (j.contains("invariant")) {
        const std::string name = text(j, "invariant", top);
        h.invariant = find_invariant(name);
        if (h.invariant == nullptr) {
            fail(top, "unknown invariant '" + name + "'");
        }
        if (!h.invariant->applies_to(h.table->version)) {
            fail(top, "invariant '" + name + "' does not apply to " + version);
        }
    }
    return h;
}

Trace trace_from_json(const Interpreter& interp, const json& j) {
    const TraceHeader h = read_trace_header(j);
    const std::string top = "trace";
    if (h.table != &interp.table()) {
        fail(top, "the trace is for " + std::string(h.table->version) + ", not " +
                      std::string(interp.table().version));
    }
    if (instance_fields(h.instance) != instance_fields(interp.instance())) {
        fail(top, "the trace's instance " + instance_fields(h.instance).dump() +
                      " is not the expected " + instance_fields(interp.instance()).dump());
    }
    const auto slots = slots_by_name(interp);
    Trace t;
    t.initial = read_state(interp, slots, member(j, "initial", top), "trace: initial state");
    const json& steps = member(j, "steps", top);
    if (!steps.is_array()) {
        fail(top, "\"steps\" must be an array");
    }
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const std::string where = "trace: step " + std::to_string(i + 1);
        const Step step = read_step(interp, steps[i], where);
        t.steps.push_back(
            {step, read_state(interp, slots, member(steps[i], "state", where), where + ": state")});
    }
    if (auto error = path_error(interp, t)) {
        fail(top, *error);
    }
    return t;
}

std::optional<std::string> path_error(const Interpreter& interp, const Trace& trace) {
    const auto initial = interp.initial_states();
    if (std::find(initial.begin(), initial.end(), trace.initial) == initial.end()) {
        return std::string("the first state is not an initial state of the interpreter");
    }
    State current = trace.initial;
    for (std::size_t i = 0; i < trace.steps.size(); ++i) {
        const auto& ts = trace.steps[i];
        const auto next = interp.apply(current, ts.step);
        const std::string where =
            "step " + std::to_string(i + 1) + " (" +
            std::string(interp.table().rows[static_cast<std::size_t>(ts.step.row)].name) + ")";
        if (!next) {
            return where + " is not enabled in the interpreter";
        }
        if (*next != ts.state) {
            std::string diff;
            for (const auto& c : changes(interp, *next, ts.state)) {
                diff += " " + c.variable + " interpreter=" + c.before + " recorded=" + c.after;
            }
            return where + " leads elsewhere in the interpreter:" + diff;
        }
        current = *next;
    }
    return std::nullopt;
}

} // namespace handoff::proofs
