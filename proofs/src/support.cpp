// What the engines share: replaying a counterexample on the interpreter, reading a trace out of a
// model, printing a formula over our names, the solver's version.
#include "handoff/proofs/engines.hpp"
#include "handoff/proofs/trace_io.hpp"

#include "handoff/model/printer.hpp"

#include <algorithm>
#include <map>
#include <set>

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
    if (auto error = path_error(interp, trace)) {
        return error;
    }
    const State& last = trace.steps.empty() ? trace.initial : trace.steps.back().state;
    if (inv.kind == InvariantKind::StatePredicate && holds(interp, inv, last)) {
        return std::string("the last state satisfies the invariant in the interpreter");
    }
    return std::nullopt;
}

std::optional<std::string> restriction_error(const Interpreter& interp,
                                             const StepRestriction& restriction,
                                             const Trace& trace) {
    if (!restriction.initial_ok(interp, trace.initial)) {
        return std::string("its initial state is not one the restriction allows");
    }
    State pre = trace.initial;
    for (std::size_t i = 0; i < trace.steps.size(); ++i) {
        const Step& step = trace.steps[i].step;
        if (!restriction.allows(interp, pre, step)) {
            return "step " + std::to_string(i + 1) + " (" +
                   std::string(interp.table().rows[static_cast<std::size_t>(step.row)].name) +
                   ", " + format_params(interp, step) + ") is not one the restriction allows";
        }
        pre = trace.steps[i].state;
    }
    if (!restriction.last_ok(interp, pre)) {
        return std::string("its last state is not one the restriction lets a path end in");
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

std::string raw_text(const z3::expr& e) {
    std::string text = e.to_string();
    text.erase(std::remove(text.begin(), text.end(), '|'), text.end());
    return text;
}

// The operands of an n-ary `kind` (and, or), or `e` itself.
std::vector<z3::expr> operands(const z3::expr& e, Z3_decl_kind kind) {
    std::vector<z3::expr> out;
    if (e.is_app() && e.decl().decl_kind() == kind) {
        for (unsigned i = 0; i < e.num_args(); ++i) {
            out.push_back(e.arg(i));
        }
    } else {
        out.push_back(e);
    }
    return out;
}

// The operands of nested `kind`s (and, or), left to right, or `e` itself.
std::vector<z3::expr> flattened(const z3::expr& e, Z3_decl_kind kind) {
    if (!e.is_app() || e.decl().decl_kind() != kind) {
        return {e};
    }
    std::vector<z3::expr> out;
    for (unsigned i = 0; i < e.num_args(); ++i) {
        for (const z3::expr& part : flattened(e.arg(i), kind)) {
            out.push_back(part);
        }
    }
    return out;
}

// A clause (a disjunction of bit literals) as "slot in {values} or ...": each slot's literals
// allow the values whose code makes one of them true. Nothing when `e` is not a clause over the
// template state's bits.
std::optional<std::string> clause_text(const Lowering& low, const z3::expr& e,
                                       const std::map<unsigned, std::pair<int, int>>& bit_of) {
    const std::vector<z3::expr> literals = operands(e, Z3_OP_OR);
    std::map<int, std::vector<std::pair<int, bool>>> by_slot; // slot -> (bit, polarity)
    for (const z3::expr& lit : literals) {
        const bool negated = lit.is_app() && lit.decl().decl_kind() == Z3_OP_NOT;
        const z3::expr atom = negated ? lit.arg(0) : lit;
        const auto it = bit_of.find(Z3_get_ast_id(low.ctx(), atom));
        if (!atom.is_const() || it == bit_of.end()) {
            return std::nullopt;
        }
        by_slot[it->second.first].push_back({it->second.second, !negated});
    }
    std::string out;
    for (const auto& [slot, lits] : by_slot) {
        const Lowering::Code& code = low.slot_code(slot);
        const DomainId domain = var_info(low.slot_variable(slot)).domain;
        std::vector<std::string> allowed, excluded;
        for (int v = 0; v < code.values; ++v) {
            bool some = false;
            for (const auto& [bit, positive] : lits) {
                some = some || (((v >> bit) & 1) != 0) == positive;
            }
            (some ? allowed : excluded).push_back(value_name(domain, v));
        }
        std::string part;
        if (code.boolean && allowed.size() != 1) {
            part = "true"; // both polarities of the same bit
        } else if (code.boolean) {
            part = (allowed[0] == "true" ? "" : "not ") + low.slot_name(slot);
        } else if (allowed.size() == 1) {
            part = low.slot_name(slot) + " = " + allowed[0];
        } else if (excluded.size() == 1) {
            part = low.slot_name(slot) + " != " + excluded[0];
        } else {
            part = low.slot_name(slot) + " in {";
            for (std::size_t i = 0; i < allowed.size(); ++i) {
                part += (i ? ", " : "") + allowed[i];
            }
            part += "}";
        }
        out += (out.empty() ? "" : " or ") + part;
    }
    return out;
}

} // namespace

std::string print_formula(const Lowering& low, const z3::expr& e) {
    // The certificate is a conjunction of clauses over the bits of the slots; print each clause
    // over our variables and value names, one per line.
    std::map<unsigned, std::pair<int, int>> bit_of; // AST id -> (slot, bit)
    for (int slot = 0; slot < low.slot_count(); ++slot) {
        const Lowering::Code& c = low.slot_code(slot);
        for (int j = 0; j < c.width; ++j) {
            bit_of[Z3_get_ast_id(
                low.ctx(), low.current().bits[static_cast<unsigned>(c.first + j)])] = {slot, j};
        }
    }
    // Nested conjunctions (the invariant itself, often) are flattened, and a negated conjunction
    // of literals is read as the clause of their negations.
    const std::vector<z3::expr> conjuncts = flattened(e, Z3_OP_AND);
    std::string out;
    std::set<std::string> printed; // IC3's clauses may repeat the invariant's
    for (const z3::expr& c : conjuncts) {
        auto text = clause_text(low, c, bit_of);
        if (!text && c.is_app() && c.decl().decl_kind() == Z3_OP_NOT && c.arg(0).is_app() &&
            c.arg(0).decl().decl_kind() == Z3_OP_AND) {
            z3::expr_vector negated(low.ctx());
            for (const z3::expr& l : flattened(c.arg(0), Z3_OP_AND)) {
                const bool is_not = l.is_app() && l.decl().decl_kind() == Z3_OP_NOT;
                negated.push_back(is_not ? l.arg(0) : !l);
            }
            text = clause_text(low, z3::mk_or(negated), bit_of);
        }
        const std::string line = text ? *text : raw_text(c);
        if (printed.insert(line).second) {
            out += (out.empty() ? "" : "\n  and ") + line;
        }
    }
    return out;
}

} // namespace handoff::proofs
