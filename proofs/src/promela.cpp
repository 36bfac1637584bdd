// `handoff export --format promela`: the table of a version on one instance as Promela, for SPIN.
// The generator walks the run-time table (TableData: the rows' guards and effect statements in
// the expression arena) as the interpreter does, with the host and the outcome parameters of each
// step fixed, so that every expression is partially evaluated: quantifiers over hosts and nodes
// are unrolled, parameters become constants and what they decide is folded away. What is left
// reads the state variables, which are named after the interpreter's Layout slots.
#include "handoff/proofs/promela.hpp"

#include "handoff/model/provenance.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>
#include <tuple>

namespace handoff::proofs {

using namespace handoff::model;

namespace {

// An expression after partial evaluation: a constant, or Promela text that reads the state.
struct Code {
    bool constant = false;
    int value = 0;
    std::string text;
};

// A comment cannot contain its own terminator.
std::string comment_text(std::string_view text) {
    std::string out(text);
    for (std::size_t at = out.find("*/"); at != std::string::npos; at = out.find("*/", at)) {
        out.replace(at, 2, "* /");
    }
    return out;
}

// "no-double-inactivate" -> "no_double_inactivate"
std::string identifier(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '-', '_');
    std::replace(out.begin(), out.end(), '.', '_');
    return out;
}

int width_of(DomainId domain) {
    int width = 1;
    while ((1 << width) < domain_size(domain)) {
        ++width;
    }
    return width;
}

// Bool, host and count values are written as numbers; the other domains' values by the macros
// the model defines (RunState_RUNNING).
bool named_values(DomainId domain) {
    return domain != DomainId::Bool && domain != DomainId::Host && domain != DomainId::Count;
}

std::string value_name(DomainId domain, int value) {
    if (domain == DomainId::Bool) {
        return value != 0 ? "true" : "false";
    }
    if (!named_values(domain)) {
        return std::to_string(value);
    }
    const DomainInfo& info = domain_info(domain);
    return fmt::format("{}_{}", info.name, info.values[static_cast<std::size_t>(value)]);
}

Code constant(int value, Sort sort = Sort::Node, DomainId domain = DomainId::Bool) {
    return {true, value, sort == Sort::Value ? value_name(domain, value) : std::to_string(value)};
}
Code truth(bool value) {
    return constant(value ? 1 : 0, Sort::Value, DomainId::Bool);
}
Code text(std::string t) {
    return {false, 0, std::move(t)};
}

class Generator {
  public:
    explicit Generator(const Interpreter& interp)
        : interp_(interp), table_(interp.table()), nodes_(interp.instance().nodes) {
        const Layout& layout = interp.layout();
        slots_.resize(static_cast<std::size_t>(layout.size()));
        for (int v = 0; v < kVarCount; ++v) {
            const Var var = static_cast<Var>(v);
            const VarInfo& info = var_info(var);
            const int hosts = info.scope == Scope::Global ? 1 : 2;
            const int nodes = info.scope == Scope::PerNode ? nodes_ : 1;
            for (int h = 0; h < hosts; ++h) {
                for (int n = 0; n < nodes; ++n) {
                    std::string name(info.name);
                    if (info.scope != Scope::Global) {
                        name += fmt::format("_{}", h);
                    }
                    if (info.scope == Scope::PerNode) {
                        name += fmt::format("_{}", n);
                    }
                    slots_[static_cast<std::size_t>(layout.offset(var, h, n))] = {name, var};
                }
            }
        }
    }

    std::string model(const std::vector<const InvariantData*>& invariants,
                      const std::string& comment);

  private:
    struct Slot {
        std::string name;
        Var var{};
    };

    // What one step (row, host, parameter choice) turns into, built while its effect is walked.
    struct StepCode {
        Env env;
        std::string label; // the end of the step, where a crash or a refusal jumps
        std::vector<std::string> guard;
        std::set<int> written;   // the slots the effect assigns
        int depth = 0;           // inside how many conditionals
        bool may_crash = false;  // an assertion before this point may end the step
        bool impossible = false; // an assumption that always fails refuses every state
        bool jumps = false;      // some statement jumps to the label
        bool restores = false;   // some assumption rolls the step back
        bool ended = false;      // the statements so far always jump: the rest is dead code
    };

    const std::string& slot_name(Var v, int host, int node) const {
        return slots_[static_cast<std::size_t>(interp_.layout().offset(v, host, node))].name;
    }
    int slot_index(Var v, int host, int node) const {
        return interp_.layout().offset(v, host, node);
    }

    Code expr(const Ast& ast, int e, Env& env);
    Code expr_uncached(const Ast& ast, int e, Env& env);
    // The bindings an expression reads: bits 0-1 the bound hosts, 2-3 the bound nodes, 4 on the
    // row's parameters (Param p at bit 4 + p).
    std::uint32_t reads_of(const Ast& ast, int e);
    Code slot_ref(Var v, const Code& host, const Code& node);
    Code runstate_ok(const Code& from, const Code& to);
    std::string statements(std::size_t from, std::size_t to, const RowData& row, StepCode& step,
                           const std::string& indent);
    std::string assignment(Var v, const Code& host, int node, const Code& value, StepCode& step,
                           const std::string& indent);
    std::string step_option(const RowData& row, const Step& step, int number);

    const Interpreter& interp_;
    const TableData& table_;
    int nodes_;
    std::vector<Slot> slots_;
    std::set<int>* reads_ = nullptr; // where expr() records the slots it reads, if set
    std::set<int> saved_;            // slots some step saves for a roll-back
    // A quantifier or a named definition is written out once per value of the bindings it reads
    // (the quantifiers unrolled, the parameters known): without this, the nested definitions of
    // v10.0 took minutes at four nodes (48 s at three).
    struct Written {
        Code code;
        std::set<int> reads; // the slots it reads
    };
    std::map<std::tuple<const Ast*, int, std::array<int, 4>, Params>, Written> written_;
    std::map<std::pair<const Ast*, int>, std::uint32_t> reads_of_;
    int node_temporaries_ = 0; // hidden temporaries for simultaneous node assignments
};

Code Generator::slot_ref(Var v, const Code& host, const Code& node) {
    const VarInfo& info = var_info(v);
    if (info.scope == Scope::Global) {
        if (reads_ != nullptr) {
            reads_->insert(slot_index(v, 0, 0));
        }
        return text(slot_name(v, 0, 0));
    }
    if (info.scope == Scope::PerNode && node.constant && node.value >= nodes_) {
        throw std::logic_error("node index out of range in a variable reference");
    }
    // A host or node chosen by the state (not by the step's parameters): a conditional
    // expression over the slots it may name.
    auto at_host = [&](int h) {
        if (info.scope == Scope::PerHost) {
            if (reads_ != nullptr) {
                reads_->insert(slot_index(v, h, 0));
            }
            return slot_name(v, h, 0);
        }
        if (node.constant) {
            if (reads_ != nullptr) {
                reads_->insert(slot_index(v, h, node.value));
            }
            return slot_name(v, h, node.value);
        }
        std::string chain = slot_name(v, h, nodes_ - 1);
        for (int n = nodes_ - 1; n >= 0; --n) {
            if (reads_ != nullptr) {
                reads_->insert(slot_index(v, h, n));
            }
            if (n < nodes_ - 1) {
                chain =
                    fmt::format("({} == {} -> {} : {})", node.text, n, slot_name(v, h, n), chain);
            }
        }
        return chain;
    };
    if (host.constant) {
        return text(at_host(host.value));
    }
    return text(fmt::format("({} == 0 -> {} : {})", host.text, at_host(0), at_host(1)));
}

// runstate_transitions_def of the version: the pairs it allows, a run state to itself, never
// from or to UNSET (the interpreter's RunstateOk).
Code Generator::runstate_ok(const Code& from, const Code& to) {
    const int unset = static_cast<int>(RunState::UNSET);
    auto allowed = [&](int f, int t) {
        return f != unset && t != unset &&
               (f == t ||
                table_.runstate[static_cast<std::size_t>(f)][static_cast<std::size_t>(t)]);
    };
    if (from.constant && to.constant) {
        return truth(allowed(from.value, to.value));
    }
    std::vector<std::string> pairs;
    for (int f = 0; f < unset; ++f) {
        for (int t = 0; t < unset; ++t) {
            if (!allowed(f, t) || (from.constant && from.value != f) ||
                (to.constant && to.value != t)) {
                continue;
            }
            std::vector<std::string> parts;
            if (!from.constant) {
                parts.push_back(
                    fmt::format("{} == {}", from.text, value_name(DomainId::RunState, f)));
            }
            if (!to.constant) {
                parts.push_back(
                    fmt::format("{} == {}", to.text, value_name(DomainId::RunState, t)));
            }
            pairs.push_back(parts.size() == 1 ? parts[0]
                                              : fmt::format("({} && {})", parts[0], parts[1]));
        }
    }
    if (pairs.empty()) {
        return truth(false);
    }
    std::string joined;
    for (const auto& p : pairs) {
        joined += (joined.empty() ? "" : " || ") + p;
    }
    return text("(" + joined + ")");
}

static_assert(4 + kParamCount <= 32, "reads_of() has a bit per parameter");

std::uint32_t Generator::reads_of(const Ast& ast, int e) {
    if (const auto it = reads_of_.find({&ast, e}); it != reads_of_.end()) {
        return it->second;
    }
    const AstNode& n = ast[e];
    std::uint32_t mask = 0;
    for (int k : n.kid) {
        if (k >= 0) {
            mask |= reads_of(ast, k);
        }
    }
    if (n.op == Op::Bound) {
        mask |= 1U << ((n.sort == Sort::Host ? 0 : 2) + n.a);
    } else if (n.op == Op::Param) {
        mask |= 1U << (4 + n.a);
    } else if (n.op == Op::Forall || n.op == Op::Exists) {
        mask &= ~(1U << ((n.bound_sort == Sort::Host ? 0 : 2) + n.a)); // bound here
    }
    reads_of_.emplace(std::make_pair(&ast, e), mask);
    return mask;
}

Code Generator::expr(const Ast& ast, int e, Env& env) {
    const Op op = ast[e].op;
    if (op != Op::Named && op != Op::Forall && op != Op::Exists) {
        return expr_uncached(ast, e, env);
    }
    const std::uint32_t reads = reads_of(ast, e);
    auto bound = [&](int bit, int value) { return (reads & (1U << bit)) != 0 ? value : -1; };
    Params params{};
    for (int p = 0; p < kParamCount; ++p) {
        params[static_cast<std::size_t>(p)] = bound(4 + p, env.params[static_cast<std::size_t>(p)]);
    }
    auto key = std::make_tuple(&ast, e,
                               std::array<int, 4>{bound(0, env.hosts[0]), bound(1, env.hosts[1]),
                                                  bound(2, env.nodes[0]), bound(3, env.nodes[1])},
                               params);
    if (const auto it = written_.find(key); it != written_.end()) {
        if (reads_ != nullptr) {
            reads_->insert(it->second.reads.begin(), it->second.reads.end());
        }
        return it->second.code;
    }
    std::set<int> reads_here;
    std::set<int>* const outer = reads_;
    reads_ = &reads_here;
    Code code = expr_uncached(ast, e, env);
    reads_ = outer;
    if (outer != nullptr) {
        outer->insert(reads_here.begin(), reads_here.end());
    }
    written_.emplace(std::move(key), Written{code, std::move(reads_here)});
    return code;
}

Code Generator::expr_uncached(const Ast& ast, int e, Env& env) {
    const AstNode& n = ast[e];
    switch (n.op) {
    case Op::Lit:
        return constant(n.a, n.sort, n.domain);
    case Op::Var: {
        const Code host = n.kid[0] < 0 ? constant(0) : expr(ast, n.kid[0], env);
        const Code node = n.kid[1] < 0 ? constant(0) : expr(ast, n.kid[1], env);
        return slot_ref(static_cast<Var>(n.a), host, node);
    }
    case Op::Param:
        return constant(env.params[static_cast<std::size_t>(n.a)], n.sort, n.domain);
    case Op::Bound:
        return constant(n.sort == Sort::Host ? env.hosts[static_cast<std::size_t>(n.a)]
                                             : env.nodes[static_cast<std::size_t>(n.a)]);
    case Op::Peer: {
        const Code h = expr(ast, n.kid[0], env);
        return h.constant ? constant(1 - h.value) : text(fmt::format("(1 - {})", h.text));
    }
    case Op::NoneNode:
        return constant(nodes_);
    case Op::Not: {
        const Code a = expr(ast, n.kid[0], env);
        return a.constant ? truth(a.value == 0) : text(fmt::format("!({})", a.text));
    }
    case Op::And:
    case Op::Or:
    case Op::Implies: {
        Code a = expr(ast, n.kid[0], env);
        const Code b = expr(ast, n.kid[1], env);
        if (n.op == Op::Implies) {
            a = a.constant ? truth(a.value == 0) : text(fmt::format("!({})", a.text));
        }
        const bool conjunction = n.op == Op::And;
        // The value that decides the connective (false for and, true for or), and the neutral one.
        for (const Code* c : std::initializer_list<const Code*>{&a, &b}) {
            if (c->constant && (c->value != 0) != conjunction) {
                return truth(!conjunction);
            }
        }
        if (a.constant) {
            return b;
        }
        if (b.constant) {
            return a;
        }
        return text(fmt::format("({} {} {})", a.text, conjunction ? "&&" : "||", b.text));
    }
    case Op::Eq:
    case Op::Ne:
    case Op::Lt:
    case Op::Le: {
        const Code a = expr(ast, n.kid[0], env);
        const Code b = expr(ast, n.kid[1], env);
        if (a.constant && b.constant) {
            switch (n.op) {
            case Op::Eq:
                return truth(a.value == b.value);
            case Op::Ne:
                return truth(a.value != b.value);
            case Op::Lt:
                return truth(a.value < b.value);
            default:
                return truth(a.value <= b.value);
            }
        }
        const char* op = n.op == Op::Eq   ? "=="
                         : n.op == Op::Ne ? "!="
                         : n.op == Op::Lt ? "<"
                                          : "<=";
        return text(fmt::format("({} {} {})", a.text, op, b.text));
    }
    case Op::Ite: {
        const Code c = expr(ast, n.kid[0], env);
        if (c.constant) {
            return expr(ast, n.kid[c.value != 0 ? 1 : 2], env);
        }
        const Code a = expr(ast, n.kid[1], env);
        const Code b = expr(ast, n.kid[2], env);
        return text(fmt::format("({} -> {} : {})", c.text, a.text, b.text));
    }
    case Op::Forall:
    case Op::Exists: {
        const bool forall = n.op == Op::Forall;
        const bool hosts = n.bound_sort == Sort::Host;
        int& slot = hosts ? env.hosts[static_cast<std::size_t>(n.a)]
                          : env.nodes[static_cast<std::size_t>(n.a)];
        const int saved = slot;
        const int count = hosts ? 2 : nodes_;
        std::vector<std::string> parts;
        bool decided = false;
        for (int i = 0; i < count && !decided; ++i) {
            slot = i;
            const Code c = expr(ast, n.kid[0], env);
            if (!c.constant) {
                parts.push_back(c.text);
            } else if ((c.value != 0) != forall) {
                decided = true;
            }
        }
        slot = saved;
        if (decided) {
            return truth(!forall);
        }
        if (parts.empty()) {
            return truth(forall);
        }
        if (parts.size() == 1) {
            return text(parts[0]);
        }
        std::string joined;
        for (const auto& p : parts) {
            joined += (joined.empty() ? "" : forall ? " && " : " || ") + p;
        }
        return text("(" + joined + ")");
    }
    case Op::Named:
        return expr(ast, n.kid[0], env);
    case Op::RunstateOk:
        return runstate_ok(expr(ast, n.kid[0], env), expr(ast, n.kid[1], env));
    case Op::NodeRel: {
        // A fixed fact of the block graph between node indices, which are known here (the
        // parameters are fixed and the quantifiers written out).
        const Code a = expr(ast, n.kid[0], env);
        const Code b = n.kid[1] < 0 ? truth(false) : expr(ast, n.kid[1], env);
        if (!a.constant || !b.constant) {
            throw std::logic_error("promela: a graph relation over an unknown node index");
        }
        return truth(interp_.graph().holds(static_cast<NodeRelation>(n.a), a.value, b.value));
    }
    }
    throw std::logic_error("unknown expression operator");
}

std::string Generator::assignment(Var v, const Code& host, int node, const Code& value,
                                  StepCode& step, const std::string& indent) {
    if (host.constant) {
        step.written.insert(slot_index(v, host.value, node));
        return fmt::format("{}{} = {};\n", indent, slot_name(v, host.value, node), value.text);
    }
    step.written.insert(slot_index(v, 0, node));
    step.written.insert(slot_index(v, 1, node));
    return fmt::format("{}if\n{}:: {} == 0 -> {} = {}\n{}:: else -> {} = {}\n{}fi;\n", indent,
                       indent, host.text, slot_name(v, 0, node), value.text, indent,
                       slot_name(v, 1, node), value.text, indent);
}

// The statements [from, to) of a row's effect, in order, as the interpreter's run_effect() runs
// them: each reads the state the ones before it left.
std::string Generator::statements(std::size_t from, std::size_t to, const RowData& row,
                                  StepCode& step, const std::string& indent) {
    const auto& stmts = row.effect.stmts;
    const Ast& ast = table_.ast;
    Env& env = step.env;
    std::string out;
    for (std::size_t at = from; at < to && !step.ended; ++at) {
        const Stmt& st = stmts[at];
        switch (st.kind) {
        case StmtKind::If: {
            // The matching Else (if any) and EndIf at this nesting level.
            std::size_t else_at = 0, end_at = at + 1;
            for (int level = 0;; ++end_at) {
                const StmtKind k = stmts[end_at].kind;
                if (k == StmtKind::If) {
                    ++level;
                } else if (k == StmtKind::EndIf && level-- == 0) {
                    break;
                } else if (k == StmtKind::Else && level == 0) {
                    else_at = end_at;
                }
            }
            const std::size_t then_end = else_at != 0 ? else_at : end_at;
            const Code cond = expr(ast, st.value, env);
            if (cond.constant) {
                out +=
                    cond.value != 0
                        ? statements(at + 1, then_end, row, step, indent)
                        : (else_at != 0 ? statements(else_at + 1, end_at, row, step, indent) : "");
            } else {
                ++step.depth;
                std::string then_part = statements(at + 1, then_end, row, step, indent + "   ");
                const bool then_ended = step.ended;
                step.ended = false;
                std::string else_part =
                    else_at != 0 ? statements(else_at + 1, end_at, row, step, indent + "   ") : "";
                step.ended = then_ended && step.ended;
                --step.depth;
                auto or_skip = [&](std::string& s) {
                    if (s.empty()) {
                        s = indent + "   skip\n";
                    }
                };
                or_skip(then_part);
                or_skip(else_part);
                out += fmt::format("{}if\n{}:: {} ->\n{}{}:: else ->\n{}{}fi;\n", indent, indent,
                                   cond.text, then_part, indent, else_part, indent);
            }
            at = end_at;
            break;
        }
        case StmtKind::Assign: {
            const Code host = st.host < 0 ? constant(0) : expr(ast, st.host, env);
            out += assignment(st.var, host, 0, expr(ast, st.value, env), step, indent);
            break;
        }
        case StmtKind::AssignNodes: {
            // Every node's new value is computed before any is assigned (run_effect()): where one
            // node's value reads another node of the same host, through hidden temporaries.
            const Code host = expr(ast, st.host, env);
            int& slot = env.nodes[static_cast<std::size_t>(st.node_slot)];
            const int saved = slot;
            std::vector<Code> values;
            bool reads_sibling = false;
            std::set<int> reads;
            std::set<int>* outer = reads_;
            reads_ = &reads;
            for (int i = 0; i < nodes_; ++i) {
                slot = i;
                reads.clear();
                values.push_back(expr(ast, st.value, env));
                for (int h = 0; h < 2; ++h) {
                    for (int j = 0; j < nodes_; ++j) {
                        if (j != i && (!host.constant || host.value == h) &&
                            reads.count(slot_index(Var::node, h, j)) != 0) {
                            reads_sibling = true;
                        }
                    }
                }
                if (outer != nullptr) {
                    outer->insert(reads.begin(), reads.end());
                }
            }
            reads_ = outer;
            slot = saved;
            if (reads_sibling) {
                node_temporaries_ = std::max(node_temporaries_, nodes_);
                for (int i = 0; i < nodes_; ++i) {
                    out += fmt::format("{}node_tmp_{} = {};\n", indent, i,
                                       values[static_cast<std::size_t>(i)].text);
                    values[static_cast<std::size_t>(i)] = text(fmt::format("node_tmp_{}", i));
                }
            }
            for (int i = 0; i < nodes_; ++i) {
                out += assignment(Var::node, host, i, values[static_cast<std::size_t>(i)], step,
                                  indent);
            }
            break;
        }
        case StmtKind::Assert: {
            const Code cond = expr(ast, st.value, env);
            if (cond.constant && cond.value != 0) {
                break;
            }
            // The process aborts: crash := reason, crash_host := h, and the step ends.
            step.written.insert(slot_index(Var::crash, 0, 0));
            step.written.insert(slot_index(Var::crash_host, 0, 0));
            step.jumps = true;
            step.may_crash = true;
            const std::string abort = fmt::format(
                "crash = {}; crash_host = {}; goto {}",
                value_name(DomainId::Crash, static_cast<int>(st.reason)), env.hosts[0], step.label);
            if (cond.constant) {
                out += fmt::format("{}{};\n", indent, abort);
                step.ended = true;
            } else {
                out += fmt::format("{}if\n{}:: !({}) -> {}\n{}:: else -> skip\n{}fi;\n", indent,
                                   indent, cond.text, abort, indent, indent);
            }
            break;
        }
        case StmtKind::Assume: {
            std::set<int> reads;
            std::set<int>* outer = reads_;
            reads_ = &reads;
            const Code cond = expr(ast, st.value, env);
            reads_ = outer;
            if (outer != nullptr) {
                outer->insert(reads.begin(), reads.end());
            }
            if (cond.constant && cond.value != 0) {
                break;
            }
            // An assumption on the state the step starts in, reached on every path through the
            // effect, is part of the guard: the step is not a transition where it fails.
            const bool reads_written = std::any_of(
                reads.begin(), reads.end(), [&](int s) { return step.written.count(s) != 0; });
            if (step.depth == 0 && !step.may_crash && !reads_written) {
                if (cond.constant) {
                    step.impossible = true;
                } else {
                    step.guard.push_back(cond.text);
                }
                break;
            }
            // Otherwise the step is rolled back to the state it started in (@RESTORE@ becomes the
            // restoring assignments once the whole effect is known).
            step.jumps = true;
            step.restores = true;
            const std::string refuse = fmt::format("@RESTORE@goto {}", step.label);
            if (cond.constant) {
                out += fmt::format("{}{};\n", indent, refuse);
                step.ended = true;
            } else {
                out += fmt::format("{}if\n{}:: !({}) -> {}\n{}:: else -> skip\n{}fi;\n", indent,
                                   indent, cond.text, refuse, indent, indent);
            }
            break;
        }
        case StmtKind::Else:
        case StmtKind::EndIf:
            break;
        }
    }
    return out;
}

std::string Generator::step_option(const RowData& row, const Step& s, int number) {
    StepCode step;
    step.env.params = s.params;
    step.env.hosts[0] = s.params[static_cast<std::size_t>(Param::host)];
    step.label = fmt::format("step_{}_end", number);
    const Code guard = expr(table_.ast, row.guard, step.env);
    if (guard.constant && guard.value == 0) {
        return "";
    }
    const std::string body = statements(0, row.effect.stmts.size(), row, step, "        ");
    if (step.impossible) {
        return "";
    }
    std::string restore, save;
    if (step.restores) {
        for (int slot : step.written) {
            const std::string& name = slots_[static_cast<std::size_t>(slot)].name;
            save += fmt::format("        save_{} = {};\n", name, name);
            restore += fmt::format("{} = save_{}; ", name, name);
            saved_.insert(slot);
        }
    }
    std::string code = body;
    for (std::size_t at = code.find("@RESTORE@"); at != std::string::npos;
         at = code.find("@RESTORE@", at)) {
        code.replace(at, 9, restore);
    }
    std::string condition = fmt::format("crash == {}", value_name(DomainId::Crash, 0));
    if (!guard.constant) {
        condition += " && " + guard.text;
    }
    for (const auto& g : step.guard) {
        condition += " && " + g;
    }
    std::string params = row.params.empty() ? "no parameters" : "";
    for (Param p : row.params) {
        params += fmt::format("{}{} = {}", params.empty() ? "" : ", ", param_info(p).name,
                              param_value_name(p, s.params[static_cast<std::size_t>(p)], nodes_));
    }
    return fmt::format(
        "    :: d_step {{ /* {} */\n        {} ->\n{}{}        {}{}check_invariants\n"
        "    }}\n",
        params, condition, save, code, step.jumps ? step.label : "", step.jumps ? ": " : "");
}

std::string Generator::model(const std::vector<const InvariantData*>& invariants,
                             const std::string& comment) {
    std::string out = "/*\n";
    for (std::size_t at = 0, next; at < comment.size(); at = next + 1) {
        next = comment.find('\n', at);
        if (next == std::string::npos) {
            next = comment.size();
        }
        out += " * " + comment_text(comment.substr(at, next - at)) + "\n";
    }
    out += "@WRITE_ONLY@ */\n\n";

    // The values of the enumerated domains.
    for (const DomainInfo& d : kDomains) {
        const auto id = static_cast<DomainId>(&d - kDomains.data());
        if (!named_values(id)) {
            continue;
        }
        for (std::size_t v = 0; v < d.values.size(); ++v) {
            out += fmt::format("#define {} {}\n", value_name(id, static_cast<int>(v)), v);
        }
    }

    // The state: one variable per slot, as narrow as its domain, initialised to the first
    // initial state.
    const std::vector<State> initial = interp_.initial_states();
    out += "\n/* The state (the interpreter's Layout): per-host variables end in _<host>, per-node "
           "ones in _<host>_<node>. */\n";
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const VarInfo& info = var_info(slots_[i].var);
        out += fmt::format("unsigned {} : {} = {};\n", slots_[i].name, width_of(info.domain),
                           static_cast<unsigned char>(initial.front()[i]));
    }

    // The steps, generated first: they say which hidden helpers they need. Every slot an
    // expression reads (guards, effects, invariants) is recorded.
    std::set<int> read_somewhere;
    reads_ = &read_somewhere;
    std::string steps;
    int number = 0;
    std::vector<std::size_t> index;
    for (std::size_t r = 0; r < table_.rows.size(); ++r) {
        const RowData& row = table_.rows[r];
        const RowProvenance where = row_provenance(table_, row);
        std::string options;
        Step step;
        step.row = static_cast<int>(r);
        for (int p = 0; p < kParamCount; ++p) {
            step.params[static_cast<std::size_t>(p)] = interp_.param_default(static_cast<Param>(p));
        }
        std::vector<Param> outcome;
        std::vector<std::vector<int>> domains;
        std::vector<int> hosts{0};
        for (Param p : row.params) {
            if (p == Param::host) {
                hosts = {0, 1};
            } else {
                outcome.push_back(p);
                domains.push_back(interp_.param_values(p));
            }
        }
        for (int host : hosts) {
            step.params[static_cast<std::size_t>(Param::host)] = host;
            index.assign(domains.size(), 0);
            do {
                for (std::size_t k = 0; k < domains.size(); ++k) {
                    step.params[static_cast<std::size_t>(outcome[k])] = domains[k][index[k]];
                }
                options += step_option(row, step, number++);
            } while (next_combination(index, domains));
        }
        steps += fmt::format("    /* row {} ({}): {} (read in {}) */\n", row.name,
                             kActorNames[static_cast<std::size_t>(row.actor)],
                             comment_text(where.citation), where.read_in);
        steps += options.empty() ? "    /* no parameter choice enables it in this instance */\n"
                                 : options;
    }

    if (!saved_.empty() || node_temporaries_ > 0) {
        out += "\n/* Helpers of the steps, not part of the state. */\n";
    }
    for (int slot : saved_) {
        out += fmt::format("hidden byte save_{};\n", slots_[static_cast<std::size_t>(slot)].name);
    }
    for (int i = 0; i < node_temporaries_; ++i) {
        out += fmt::format("hidden byte node_tmp_{};\n", i);
    }

    // The invariants, asserted in every state the process reaches. Each is first stored in a
    // hidden bit of its own name, so that SPIN's "assertion violated inv_NAME" names it (pan -c0
    // reports every violated one); hidden variables are not part of the state.
    out += "\n/* The invariants (state predicates). */\n";
    std::string checks;
    for (const InvariantData* inv : invariants) {
        Env env;
        const Code c = expr(invariants_ast(), inv->expr, env);
        const std::string name = "inv_" + identifier(inv->name);
        out += fmt::format("/* {}: {} */\nhidden byte {};\n#define {}_holds {}\n", inv->name,
                           comment_text(inv->statement), name, name, c.text);
        checks += fmt::format("{}{} = {}_holds; assert({})", checks.empty() ? "" : "; ", name, name,
                              name);
    }
    out += fmt::format("#define check_invariants {}\n", checks.empty() ? "skip" : checks);

    // The process: the first step chooses an initial state, then every step is one row.
    out += "\nactive proctype qemu_pair() {\n";
    out += "    /* The initial states (the interpreter's initial_states()), as changes of the "
           "declared values. */\n    atomic {\n        if\n";
    for (const State& s : initial) {
        std::string changes;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (s[i] != initial.front()[i]) {
                changes +=
                    fmt::format("{} = {}; ", slots_[i].name, static_cast<unsigned char>(s[i]));
            }
        }
        out += fmt::format("        :: {}\n", changes.empty() ? "skip" : changes + "skip");
    }
    out += "        fi;\n        check_invariants\n    };\n";
    out += "    /* Every step: one d_step per row, host and parameter choice. A crashed process "
           "ends the run (no step is enabled once crash != NONE). */\n";
    out += "end_steps:\n    do\n" + steps + "    od\n}\n";
    reads_ = nullptr;

    // SPIN hides variables that nothing reads from the states it stores, unless told not to
    // (-o2); handoff explore keeps every variable of the state, so the counts agree with -o2.
    std::string never_read;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (read_somewhere.count(static_cast<int>(i)) == 0) {
            never_read += (never_read.empty() ? "" : ", ") + slots_[i].name;
        }
    }
    const std::string note =
        never_read.empty()
            ? std::string(" *\n * Every variable is read by some guard, effect or invariant.\n")
            : " *\n * Never read by a guard, an effect or an invariant: " + never_read +
                  ".\n * SPIN leaves such write-only variables out of the states it stores "
                  "unless `spin -o2 -a`:\n * without -o2 it stores fewer states than handoff "
                  "explore counts.\n";
    out.replace(out.find("@WRITE_ONLY@"), 12, note);
    return out;
}

} // namespace

std::string export_promela(const Interpreter& interp,
                           const std::vector<const InvariantData*>& invariants,
                           const std::string& comment) {
    for (const InvariantData* inv : invariants) {
        if (inv->kind != InvariantKind::StatePredicate) {
            throw std::invalid_argument(std::string(inv->name) +
                                        " is a graph property, not a state predicate");
        }
    }
    Generator g(interp);
    return g.model(invariants, comment);
}

} // namespace handoff::proofs
