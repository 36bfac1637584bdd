#include "handoff/model/printer.hpp"

namespace handoff::model {

std::string value_name(DomainId domain, int value) {
    const auto& info = domain_info(domain);
    if (value >= 0 && value < static_cast<int>(info.values.size())) {
        return std::string(info.values[static_cast<std::size_t>(value)]);
    }
    return std::to_string(value);
}

std::string wrap_text(std::string_view text, std::size_t width, std::string_view first,
                      std::string_view indent) {
    std::string out;
    std::string line(first);
    bool line_has_words = false;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find(' ', at);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const std::string_view word = text.substr(at, end - at);
        if (line_has_words && line.size() + 1 + word.size() > width) {
            out += line + "\n";
            line = indent;
            line_has_words = false;
        }
        line += std::string(line_has_words ? " " : "") + std::string(word);
        line_has_words = true;
        at = end + 1;
    }
    return out + line + "\n";
}

namespace {

int precedence(Op op) {
    switch (op) {
    case Op::Not:
        return 90;
    case Op::Eq:
    case Op::Ne:
    case Op::Lt:
    case Op::Le:
        return 70;
    case Op::And:
        return 50;
    case Op::Or:
        return 40;
    case Op::Implies:
        return 30;
    case Op::Ite:
        return 20;
    case Op::Forall:
    case Op::Exists:
        return 10;
    default:
        return 100;
    }
}

std::string bound_name(Sort sort, int slot) {
    if (sort == Sort::Host) {
        return slot == 0 ? "h" : "g";
    }
    return slot == 0 ? "n" : "m";
}

std::string print(const Ast& ast, int expr, int min_prec);

std::string wrap(const Ast& ast, int expr, int min_prec) {
    return print(ast, expr, min_prec);
}

std::string print(const Ast& ast, int expr, int min_prec) {
    const AstNode& e = ast[expr];
    const int prec = precedence(e.op);
    std::string out;
    auto binary = [&](const char* op, int left_prec, int right_prec) {
        out = wrap(ast, e.kid[0], left_prec) + " " + op + " " + wrap(ast, e.kid[1], right_prec);
    };
    switch (e.op) {
    case Op::Lit:
        out = value_name(e.domain, e.a);
        break;
    case Op::Var: {
        const VarInfo& v = kVars[static_cast<std::size_t>(e.a)];
        out = std::string(v.name);
        if (e.kid[0] >= 0) {
            out += "[" + print(ast, e.kid[0], 0) + "]";
        }
        if (e.kid[1] >= 0) {
            out += "[" + print(ast, e.kid[1], 0) + "]";
        }
        break;
    }
    case Op::Param:
        out = std::string(kParams[static_cast<std::size_t>(e.a)].name);
        break;
    case Op::Bound:
        out = bound_name(e.sort, e.a);
        break;
    case Op::Peer:
        out = "peer(" + print(ast, e.kid[0], 0) + ")";
        break;
    case Op::NoneNode:
        out = "none";
        break;
    case Op::Not:
        out = "!" + wrap(ast, e.kid[0], 91);
        break;
    case Op::And:
        binary("&&", 50, 51);
        break;
    case Op::Or:
        binary("||", 40, 41);
        break;
    case Op::Implies:
        binary("=>", 31, 30);
        break;
    case Op::Eq:
        binary("==", 71, 71);
        break;
    case Op::Ne:
        binary("!=", 71, 71);
        break;
    case Op::Lt:
        binary("<", 71, 71);
        break;
    case Op::Le:
        binary("<=", 71, 71);
        break;
    case Op::Ite:
        out = wrap(ast, e.kid[0], 21) + " ? " + wrap(ast, e.kid[1], 21) + " : " +
              wrap(ast, e.kid[2], 20);
        break;
    case Op::Forall:
    case Op::Exists:
        out = std::string(e.op == Op::Forall ? "forall " : "exists ") +
              bound_name(e.bound_sort, e.a) + ". " + print(ast, e.kid[0], 0);
        break;
    case Op::Named: {
        out = std::string(e.text) + "(";
        bool first = true;
        for (int k : {e.kid[1], e.kid[2]}) {
            if (k >= 0) {
                out += (first ? "" : ", ") + print(ast, k, 0);
                first = false;
            }
        }
        out += ")";
        break;
    }
    case Op::RunstateOk:
        out = "runstate_transition_allowed(" + print(ast, e.kid[0], 0) + ", " +
              print(ast, e.kid[1], 0) + ")";
        break;
    case Op::NodeRel:
        out = std::string(node_relation_name(static_cast<NodeRelation>(e.a))) + "(" +
              print(ast, e.kid[0], 0) + (e.kid[1] < 0 ? "" : ", " + print(ast, e.kid[1], 0)) + ")";
        break;
    }
    if (prec < min_prec) {
        return "(" + out + ")";
    }
    return out;
}

std::string crash_name(Crash c) {
    return value_name(DomainId::Crash, static_cast<int>(c));
}

} // namespace

std::string print_expr(const Ast& ast, int expr) {
    return print(ast, expr, 0);
}

std::vector<std::string> print_effect(const Ast& ast, const Effect& effect, int group) {
    std::vector<std::string> lines;
    int depth = 0;
    int last_call = -1;
    auto indent = [&] { return std::string(static_cast<std::size_t>(2 * depth), ' '); };
    for (const Stmt& st : effect.stmts) {
        // Which child of `group` does this statement belong to (or none: it is direct)?
        int child = -1;
        for (int g = st.group; g != group && g >= 0;
             g = effect.groups[static_cast<std::size_t>(g)].parent) {
            child = g;
        }
        bool inside = st.group == group;
        for (int g = st.group; !inside && g >= 0;
             g = effect.groups[static_cast<std::size_t>(g)].parent) {
            inside = g == group;
        }
        if (!inside && group >= 0) {
            continue; // not part of the group being printed
        }
        if (child >= 0 && st.group != group) {
            if (child != last_call) {
                const StmtGroup& call = effect.groups[static_cast<std::size_t>(child)];
                std::string args(call.args);
                if (call.arg >= 0) {
                    args += (args.empty() ? "" : ", ") + print_expr(ast, call.arg);
                }
                lines.push_back(indent() + std::string(call.name) + "(" + args + ")");
                last_call = child;
            }
            continue;
        }
        last_call = -1;
        switch (st.kind) {
        case StmtKind::Assign:
            lines.push_back(indent() + std::string(var_info(st.var).name) +
                            (st.host >= 0 ? "[" + print_expr(ast, st.host) + "]" : "") +
                            " := " + print_expr(ast, st.value));
            break;
        case StmtKind::AssignNodes:
            lines.push_back(indent() + "for each node " + bound_name(Sort::Node, st.node_slot) +
                            ": node[" + print_expr(ast, st.host) + "][" +
                            bound_name(Sort::Node, st.node_slot) +
                            "] := " + print_expr(ast, st.value));
            break;
        case StmtKind::Assert:
            lines.push_back(indent() + "assert " + print_expr(ast, st.value) + "   else crash " +
                            crash_name(st.reason));
            break;
        case StmtKind::Assume:
            lines.push_back(indent() + "assume " + print_expr(ast, st.value));
            break;
        case StmtKind::If:
            lines.push_back(indent() + "if " + print_expr(ast, st.value) + ":");
            ++depth;
            break;
        case StmtKind::Else:
            --depth;
            lines.push_back(indent() + "else:");
            ++depth;
            break;
        case StmtKind::EndIf:
            --depth;
            break;
        }
    }
    return lines;
}

std::vector<std::string> print_effect_expanded(const Ast& ast, const Effect& effect) {
    // The same statements with every group dissolved, so print_effect() prints them all; it
    // prints one line per statement except EndIf, which lets us put a header before each group.
    Effect flat = effect;
    for (auto& st : flat.stmts) {
        st.group = -1;
    }
    const std::vector<std::string> body = print_effect(ast, flat);
    std::vector<std::string> lines;
    std::size_t line = 0;
    int last_outer = -1;
    for (const Stmt& st : effect.stmts) {
        int outer = st.group;
        while (outer >= 0 && effect.groups[static_cast<std::size_t>(outer)].parent >= 0) {
            outer = effect.groups[static_cast<std::size_t>(outer)].parent;
        }
        if (outer >= 0 && outer != last_outer) {
            const StmtGroup& g = effect.groups[static_cast<std::size_t>(outer)];
            std::string args(g.args);
            if (g.arg >= 0) {
                args += (args.empty() ? "" : ", ") + print_expr(ast, g.arg);
            }
            lines.push_back("# " + std::string(g.name) + "(" + args + ")");
        }
        last_outer = outer;
        if (st.kind != StmtKind::EndIf && line < body.size()) {
            lines.push_back(body[line++]);
        }
    }
    return lines;
}

std::string print_row(const TableData& table, const RowData& row) {
    std::string out = "guard: " + print_expr(table.ast, row.guard) + "\n";
    for (const auto& line : print_effect_expanded(table.ast, row.effect)) {
        out += line + "\n";
    }
    return out;
}

} // namespace handoff::model
