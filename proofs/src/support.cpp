// What the engines share: replaying a counterexample on the interpreter, reading a trace out of a
// model, printing a formula over our names, the solver's version.
#include "handoff/proofs/engines.hpp"

#include "handoff/model/printer.hpp"

#include <algorithm>

namespace handoff::proofs {

using namespace handoff::model;

std::string_view verdict_name(Verdict v) {
    switch (v) {
    case Verdict::proved:
        return "proved";
    case Verdict::violated:
        return "violated";
    case Verdict::bounded:
        return "bounded";
    case Verdict::unknown:
        return "unknown";
    }
    return "unknown";
}

std::string z3_version() {
    unsigned major = 0, minor = 0, build = 0, revision = 0;
    Z3_get_version(&major, &minor, &build, &revision);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build);
}

std::optional<std::string> replay_error(const Interpreter& interp, const InvariantData& inv,
                                        const Trace& trace) {
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
                diff += " " + c.variable + " interpreter=" + c.before + " solver=" + c.after;
            }
            return where + " leads elsewhere in the interpreter:" + diff;
        }
        current = *next;
    }
    if (inv.kind == InvariantKind::StatePredicate && holds(interp, inv, current)) {
        return std::string("the last state satisfies the invariant in the interpreter");
    }
    return std::nullopt;
}

Trace extract_trace(const Lowering& low, const z3::model& m, const std::vector<StateVars>& states,
                    const std::vector<StepVars>& steps) {
    Trace t;
    t.initial = low.decode_state(m, states.front());
    for (std::size_t i = 0; i + 1 < states.size(); ++i) {
        t.steps.push_back({low.decode_step(m, steps[i]), low.decode_state(m, states[i + 1])});
    }
    return t;
}

namespace {

// The slot a template constant stands for, or -1.
int slot_of(const Lowering& low, const z3::expr& e) {
    if (!e.is_const() || e.is_numeral() || e.is_true() || e.is_false()) {
        return -1;
    }
    const auto& slots = low.current().slots;
    for (unsigned i = 0; i < slots.size(); ++i) {
        if (z3::eq(slots[i], e)) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

DomainId slot_domain(const Lowering& low, int slot) {
    const Layout& layout = low.interp().layout();
    for (int v = 0; v < kVarCount; ++v) {
        const Var var = static_cast<Var>(v);
        for (int h = 0; h < 2; ++h) {
            for (int n = 0; n < layout.nodes(); ++n) {
                if (layout.offset(var, h, n) == slot) {
                    return var_info(var).domain;
                }
            }
        }
    }
    return DomainId::Bool;
}

std::string print(const Lowering& low, const z3::expr& e, int depth);

std::string join(const Lowering& low, const z3::expr& e, const char* sep, int depth) {
    std::string out;
    for (unsigned i = 0; i < e.num_args(); ++i) {
        out += (i ? sep : "") + print(low, e.arg(i), depth + 1);
    }
    return depth > 0 ? "(" + out + ")" : out;
}

std::string print(const Lowering& low, const z3::expr& e, int depth) {
    if (const int slot = slot_of(low, e); slot >= 0) {
        return low.slot_name(slot);
    }
    if (e.is_true()) {
        return "true";
    }
    if (e.is_false()) {
        return "false";
    }
    if (e.is_not()) {
        const z3::expr a = e.arg(0);
        if (slot_of(low, a) >= 0) {
            return "!" + low.slot_name(slot_of(low, a));
        }
        if (a.is_eq() && a.num_args() == 2) {
            const std::string s = print(low, a, 0);
            const auto pos = s.find(" == ");
            if (pos != std::string::npos) {
                return s.substr(0, pos) + " != " + s.substr(pos + 4);
            }
        }
        return "!(" + print(low, a, 0) + ")";
    }
    if (e.is_and()) {
        return join(low, e, " && ", depth);
    }
    if (e.is_or()) {
        return join(low, e, " || ", depth);
    }
    if (e.is_app() && e.num_args() == 2) {
        const int slot = slot_of(low, e.arg(0));
        const z3::expr rhs = e.arg(1);
        std::string value = print(low, rhs, depth + 1);
        if (slot >= 0 && rhs.is_numeral()) {
            value = value_name(slot_domain(low, slot), rhs.get_numeral_int());
        }
        const std::string lhs = print(low, e.arg(0), depth + 1);
        std::string op;
        switch (e.decl().decl_kind()) {
        case Z3_OP_EQ:
            op = " == ";
            break;
        case Z3_OP_LE:
            op = " <= ";
            value = print(low, rhs, depth + 1);
            break;
        case Z3_OP_GE:
            op = " >= ";
            value = print(low, rhs, depth + 1);
            break;
        case Z3_OP_LT:
            op = " < ";
            value = print(low, rhs, depth + 1);
            break;
        case Z3_OP_GT:
            op = " > ";
            value = print(low, rhs, depth + 1);
            break;
        case Z3_OP_IMPLIES:
            return (depth > 0 ? "(" : "") + lhs + " => " + value + (depth > 0 ? ")" : "");
        default:
            return e.to_string();
        }
        return lhs + op + value;
    }
    std::string text = e.to_string();
    text.erase(std::remove(text.begin(), text.end(), '|'), text.end());
    return text;
}

} // namespace

std::string print_formula(const Lowering& low, const z3::expr& e) {
    return print(low, e, 0);
}

} // namespace handoff::proofs
