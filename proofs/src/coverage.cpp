// `handoff coverage`: which rows never fire and which invariants are vacuous, decided by the
// complete breadth-first exploration of a finite instance (so the answer is for that instance).
#include "handoff/proofs/artifacts.hpp"

#include "handoff/model/printer.hpp"

#include <algorithm>

namespace handoff::proofs {

using namespace handoff::model;

std::optional<Premise> premise_of(const InvariantData& inv) {
    if (inv.kind != InvariantKind::StatePredicate) {
        return std::nullopt;
    }
    const Ast& ast = invariants_ast();
    Premise p;
    int e = inv.expr;
    while (ast[e].op == Op::Forall) {
        p.bound.emplace_back(ast[e].bound_sort, ast[e].a);
        e = ast[e].kid[0];
    }
    if (ast[e].op != Op::Implies) {
        return std::nullopt;
    }
    p.expr = ast[e].kid[0];
    return p;
}

bool premise_holds(const Interpreter& interp, const Premise& p, const State& s) {
    // Every binding of the bound variables, as a mixed-radix counter.
    std::vector<int> value(p.bound.size(), 0);
    auto range = [&](std::size_t i) {
        return p.bound[i].first == Sort::Host ? 2 : interp.layout().nodes();
    };
    for (;;) {
        Env env;
        for (std::size_t i = 0; i < p.bound.size(); ++i) {
            auto& slot = p.bound[i].first == Sort::Host ? env.hosts : env.nodes;
            slot[static_cast<std::size_t>(p.bound[i].second)] = value[i];
        }
        if (interp.eval(invariants_ast(), p.expr, s, env) != 0) {
            return true;
        }
        std::size_t i = 0;
        while (i < value.size() && ++value[i] == range(i)) {
            value[i++] = 0;
        }
        if (i == value.size()) {
            return false;
        }
    }
}

namespace {

// The crash reason of an invariant  crash != X , or -1.
int excluded_crash(const InvariantData& inv) {
    const Ast& ast = invariants_ast();
    if (inv.kind != InvariantKind::StatePredicate || ast[inv.expr].op != Op::Ne) {
        return -1;
    }
    const AstNode& var = ast[ast[inv.expr].kid[0]];
    const AstNode& lit = ast[ast[inv.expr].kid[1]];
    const bool is_crash = var.op == Op::Var && var.a == static_cast<int>(Var::crash);
    return is_crash && lit.op == Op::Lit ? lit.a : -1;
}

bool some_row_asserts(const TableData& table, int reason) {
    for (const auto& row : table.rows) {
        for (const auto& st : row.effect.stmts) {
            if (st.kind == StmtKind::Assert && static_cast<int>(st.reason) == reason) {
                return true;
            }
        }
    }
    return false;
}

} // namespace

std::string vacuous_by_construction(const TableData& table, const InvariantData& inv) {
    const int reason = excluded_crash(inv);
    if (reason < 0 || some_row_asserts(table, reason)) {
        return "";
    }
    return "no row of " + std::string(table.version) + " asserts with reason " +
           std::string(value_name(DomainId::Crash, reason));
}

std::string vacuous_on_graph(const InvariantData& inv, const Instance& instance) {
    const Ast& ast = invariants_ast();
    auto reads_parents = [&ast](auto& self, int e) -> bool {
        if (e < 0) {
            return false;
        }
        const AstNode& node = ast[e];
        if (node.op == Op::NodeRel && node.a == static_cast<int>(NodeRelation::parent_of)) {
            return true;
        }
        return self(self, node.kid[0]) || self(self, node.kid[1]) || self(self, node.kid[2]);
    };
    if (inv.kind != InvariantKind::StatePredicate || !reads_parents(reads_parents, inv.expr) ||
        !BlockGraph::make(instance.graph, instance.nodes).edges().empty()) {
        return "";
    }
    return "no node of the " + std::string(graph_shape_name(instance.graph)) +
           " graph has a parent (--graph chain or job gives it some)";
}

Coverage coverage(const Interpreter& interp) {
    Coverage out;
    const TableData& table = interp.table();
    // (row, host) -> index into out.rows
    std::vector<std::array<int, 2>> index(table.rows.size(), {-1, -1});
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        const auto& params = table.rows[r].params;
        const bool per_host = std::find(params.begin(), params.end(), Param::host) != params.end();
        for (int h = 0; h < (per_host ? 2 : 1); ++h) {
            index[r][static_cast<std::size_t>(h)] = static_cast<int>(out.rows.size());
            out.rows.push_back({static_cast<int>(r), h, false});
        }
    }
    std::vector<std::optional<Premise>> premises;
    std::vector<const InvariantData*> invs;
    for (const auto& inv : all_invariants()) {
        if (!inv.applies_to(table.version)) {
            continue;
        }
        invs.push_back(&inv);
        premises.push_back(premise_of(inv));
        Coverage::InvariantPremise ip;
        ip.invariant = &inv;
        ip.has_premise = premises.back().has_value();
        if (ip.has_premise) {
            std::string prefix;
            for (const auto& [sort, slot] : premises.back()->bound) {
                prefix += std::string("exists ") +
                          (sort == Sort::Host ? (slot == 0 ? "h" : "g") : (slot == 0 ? "n" : "m")) +
                          ". ";
            }
            ip.premise_text = prefix + print_expr(invariants_ast(), premises.back()->expr);
        }
        if (const int reason = excluded_crash(inv); reason >= 0) {
            ip.excludes_crash = true;
            ip.crash_in_table = some_row_asserts(table, reason);
            ip.crash_name = value_name(DomainId::Crash, reason);
        }
        out.invariants.push_back(ip);
    }

    ExploreLimits limits;
    limits.on_state = [&](const State& s) {
        for (std::size_t i = 0; i < premises.size(); ++i) {
            if (premises[i] && !out.invariants[i].reachable &&
                premise_holds(interp, *premises[i], s)) {
                out.invariants[i].reachable = true;
            }
        }
    };
    limits.on_step = [&](const State&, const Step& step) {
        const auto& params = table.rows[static_cast<std::size_t>(step.row)].params;
        const bool per_host = std::find(params.begin(), params.end(), Param::host) != params.end();
        const int host = per_host ? step.params[static_cast<std::size_t>(Param::host)] : 0;
        out.rows[static_cast<std::size_t>(
                     index[static_cast<std::size_t>(step.row)][static_cast<std::size_t>(host)])]
            .fired = true;
    };
    // No invariant is checked during the exploration: only the observers matter here.
    const Exploration e = explore(interp, {}, limits);
    out.states = e.states;
    out.complete = e.complete;
    out.seconds = e.seconds;
    return out;
}

} // namespace handoff::proofs
