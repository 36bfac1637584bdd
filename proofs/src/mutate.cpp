// Mutants of a run-time table and the checker on each (mutate.hpp). A mutant's change is made by
// path copying in the table's expression arena: the nodes from the changed one up to the row's
// guard (or statement) are copied, so a named definition shared by other rows stays as it was.
#include "handoff/proofs/mutate.hpp"

#include "handoff/model/printer.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bitset>
#include <deque>
#include <stdexcept>

namespace handoff::proofs {

using namespace handoff::model;

std::string_view mutation_kind_name(MutationKind kind) {
    switch (kind) {
    case MutationKind::guard_drop:
        return "guard-drop";
    case MutationKind::effect_drop:
        return "effect-drop";
    case MutationKind::value:
        return "value";
    case MutationKind::force:
        return "force";
    case MutationKind::swap:
        return "swap";
    }
    return "?";
}

namespace {

// A conjunct of a guard: the kid indices that lead to it from the guard's root.
struct Conjunct {
    std::vector<int> path;
    int node = -1;
};

// The leaves of the guard's tree of `&&`, looking through named definitions whose body is a
// conjunction (documented_*, ...): each of them is one condition QEMU's code tests.
void collect_conjuncts(const Ast& ast, int e, std::vector<int>& path, std::vector<Conjunct>& out) {
    const AstNode& n = ast[e];
    if (n.op == Op::And) {
        for (int k = 0; k < 2; ++k) {
            path.push_back(k);
            collect_conjuncts(ast, n.kid[k], path, out);
            path.pop_back();
        }
        return;
    }
    if (n.op == Op::Named && ast[n.kid[0]].op == Op::And) {
        path.push_back(0);
        collect_conjuncts(ast, n.kid[0], path, out);
        path.pop_back();
        return;
    }
    out.push_back({path, e});
}

// A copy of the nodes along `path` from `root`, with the node at its end replaced by
// `replacement`; returns the new root.
int replace_at(Ast& ast, int root, std::span<const int> path, int replacement) {
    if (path.empty()) {
        return replacement;
    }
    AstNode copy = ast[root];
    const int kid = path.front();
    copy.kid[kid] = replace_at(ast, copy.kid[kid], path.subspan(1), replacement);
    return ast.add(copy);
}

int literal(Ast& ast, DomainId domain, int value) {
    return ast.add({.op = Op::Lit,
                    .sort = Sort::Value,
                    .domain = domain,
                    .a = static_cast<std::int16_t>(value)});
}

int boolean(Ast& ast, Op op, int a, int b = -1) {
    return ast.add({.op = op, .sort = Sort::Value, .domain = DomainId::Bool, .kid = {a, b, -1}});
}

// The variables an expression reads (through named definitions).
void reads_of(const Ast& ast, int e, std::bitset<kVarCount>& out) {
    if (e < 0) {
        return;
    }
    const AstNode& n = ast[e];
    if (n.op == Op::Var) {
        out.set(static_cast<std::size_t>(n.a));
    }
    for (int k : n.kid) {
        reads_of(ast, k, out);
    }
}

struct Access {
    std::bitset<kVarCount> reads, writes;
};

Access access_of(const Ast& ast, const Stmt& st) {
    Access a;
    reads_of(ast, st.value, a.reads);
    reads_of(ast, st.host, a.reads);
    switch (st.kind) {
    case StmtKind::Assign:
    case StmtKind::AssignNodes:
        a.writes.set(static_cast<std::size_t>(st.var));
        break;
    case StmtKind::Assert: // a failing assertion sets crash and crash_host and ends the step
        a.writes.set(static_cast<std::size_t>(Var::crash));
        a.writes.set(static_cast<std::size_t>(Var::crash_host));
        break;
    default:
        break;
    }
    return a;
}

bool is_plain(StmtKind k) {
    return k == StmtKind::Assign || k == StmtKind::AssignNodes || k == StmtKind::Assert ||
           k == StmtKind::Assume;
}

std::string describe_stmt(const Ast& ast, const Stmt& st) {
    const std::string host = st.host >= 0 ? "[" + print_expr(ast, st.host) + "]" : "";
    switch (st.kind) {
    case StmtKind::Assign:
        return fmt::format("{}{} := {}", kVars[static_cast<std::size_t>(st.var)].name, host,
                           print_expr(ast, st.value));
    case StmtKind::AssignNodes:
        return fmt::format("for each node: node{}[n] := {}", host, print_expr(ast, st.value));
    case StmtKind::Assert:
        return "assert " + print_expr(ast, st.value);
    case StmtKind::Assume:
        return "assume " + print_expr(ast, st.value);
    default:
        return "?";
    }
}

RowData& row_of(TableData& t, std::size_t row) {
    return t.rows.at(row);
}

} // namespace

std::vector<Mutant> mutants_of(const TableData& table) {
    std::vector<Mutant> out;
    const Ast& ast = table.ast;
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        const RowData& row = table.rows[r];
        auto add = [&](MutationKind kind, const std::string& index, std::string description,
                       std::function<void(TableData&)> fn) {
            out.push_back({fmt::format("{}/{}/{}/{}", table.version, row.name,
                                       mutation_kind_name(kind), index),
                           std::string(row.name), kind, std::move(description), std::move(fn)});
        };

        // Drop one conjunct of the guard.
        std::vector<Conjunct> conjuncts;
        std::vector<int> path;
        if (row.guard >= 0) {
            collect_conjuncts(ast, row.guard, path, conjuncts);
        }
        if (conjuncts.size() > 1 ||
            (conjuncts.size() == 1 && ast[conjuncts[0].node].op != Op::Lit)) {
            for (std::size_t c = 0; c < conjuncts.size(); ++c) {
                const Conjunct cj = conjuncts[c];
                add(MutationKind::guard_drop, std::to_string(c),
                    "guard without `" + print_expr(ast, cj.node) + "`", [r, cj](TableData& t) {
                        const int yes = literal(t.ast, DomainId::Bool, 1);
                        row_of(t, r).guard = replace_at(t.ast, row_of(t, r).guard, cj.path, yes);
                    });
            }
        }

        const auto& stmts = row.effect.stmts;
        for (std::size_t i = 0; i < stmts.size(); ++i) {
            const Stmt& st = stmts[i];
            if (st.kind != StmtKind::Assign && st.kind != StmtKind::AssignNodes) {
                continue;
            }
            const std::string text = describe_stmt(ast, st);
            // Drop one assignment.
            add(MutationKind::effect_drop, std::to_string(i), "without `" + text + "`",
                [r, i](TableData& t) {
                    auto& s = row_of(t, r).effect.stmts;
                    s.erase(s.begin() + static_cast<std::ptrdiff_t>(i));
                });
            // Assign another constant of the variable's domain.
            const DomainId domain = kVars[static_cast<std::size_t>(st.var)].domain;
            const AstNode& now = ast[st.value];
            for (int v = 0; v < domain_size(domain); ++v) {
                if (now.op == Op::Lit && now.a == v) {
                    continue;
                }
                const std::string value(value_name(domain, v));
                add(MutationKind::value, fmt::format("{}={}", i, value),
                    fmt::format("`{}` assigns {}", text, value), [r, i, domain, v](TableData& t) {
                        row_of(t, r).effect.stmts[i].value = literal(t.ast, domain, v);
                    });
            }
        }

        // Swap two adjacent statements where the order matters.
        for (std::size_t i = 0; i + 1 < stmts.size(); ++i) {
            if (!is_plain(stmts[i].kind) || !is_plain(stmts[i + 1].kind) ||
                (stmts[i].kind == StmtKind::Assume && stmts[i + 1].kind == StmtKind::Assume)) {
                continue;
            }
            const Access a = access_of(ast, stmts[i]), b = access_of(ast, stmts[i + 1]);
            if ((a.writes & b.reads).none() && (b.writes & a.reads).none() &&
                (a.writes & b.writes).none() &&
                !(stmts[i].kind == StmtKind::Assume && b.writes.any()) &&
                !(stmts[i + 1].kind == StmtKind::Assume && a.writes.any())) {
                continue;
            }
            // An assumption and an assignment it does not read commute (an assumption refuses
            // the whole step, whichever statement ran before it); the test above keeps them
            // only when it reads what the other writes.
            if ((stmts[i].kind == StmtKind::Assume || stmts[i + 1].kind == StmtKind::Assume) &&
                (a.writes & b.reads).none() && (b.writes & a.reads).none()) {
                continue;
            }
            add(MutationKind::swap, std::to_string(i),
                fmt::format("`{}` after `{}`", describe_stmt(ast, stmts[i]),
                            describe_stmt(ast, stmts[i + 1])),
                [r, i](TableData& t) {
                    auto& s = row_of(t, r).effect.stmts;
                    std::swap(s[i], s[i + 1]);
                });
        }

        // Force one parameter's outcome: a conjunct `p == value` added to the guard.
        for (Param p : row.params) {
            const ParamInfo& info = param_info(p);
            const int pi = static_cast<int>(p);
            auto force = [&](const std::string& value, std::function<int(Ast&)> condition) {
                add(MutationKind::force, fmt::format("{}={}", info.name, value),
                    fmt::format("only with {} = {}", info.name, value),
                    [r, condition](TableData& t) {
                        const int c = condition(t.ast);
                        RowData& rw = row_of(t, r);
                        rw.guard = rw.guard < 0 ? c : boolean(t.ast, Op::And, rw.guard, c);
                    });
            };
            switch (info.kind) {
            case ParamKind::Host: // the row's host is the bound host variable h (slot 0)
                for (int v = 0; v < 2; ++v) {
                    force(std::to_string(v), [v](Ast& a) {
                        const int h = a.add({.op = Op::Bound, .sort = Sort::Host, .a = 0});
                        return boolean(a, Op::Eq, h, literal(a, DomainId::Host, v));
                    });
                }
                break;
            case ParamKind::Flag:
                for (int v = 0; v < 2; ++v) {
                    force(v == 0 ? "no" : "yes", [pi, v](Ast& a) {
                        const int q = a.add({.op = Op::Param,
                                             .sort = Sort::Value,
                                             .domain = DomainId::Bool,
                                             .a = static_cast<std::int16_t>(pi)});
                        return boolean(a, Op::Eq, q, literal(a, DomainId::Bool, v));
                    });
                }
                break;
            case ParamKind::NodeOrNone:
            case ParamKind::Node: {
                auto param = [pi](Ast& a) {
                    return a.add({.op = Op::Param,
                                  .sort = Sort::Node,
                                  .domain = DomainId::Bool,
                                  .a = static_cast<std::int16_t>(pi)});
                };
                auto bound = [](Ast& a) {
                    return a.add({.op = Op::Bound, .sort = Sort::Node, .a = 0});
                };
                auto quantified = [](Ast& a, Op op, int body) {
                    return a.add({.op = op,
                                  .sort = Sort::Value,
                                  .domain = DomainId::Bool,
                                  .bound_sort = Sort::Node,
                                  .a = 0,
                                  .kid = {body, -1, -1}});
                };
                if (info.kind == ParamKind::NodeOrNone) {
                    force("none", [param](Ast& a) {
                        return boolean(a, Op::Eq, param(a),
                                       a.add({.op = Op::NoneNode, .sort = Sort::Node}));
                    });
                }
                // the first node: forall n. p <= n
                force("first", [param, bound, quantified](Ast& a) {
                    return quantified(a, Op::Forall, boolean(a, Op::Le, param(a), bound(a)));
                });
                // a later node: exists n. n < p, and p is a node
                force("later", [param, bound, quantified](Ast& a) {
                    const int later =
                        quantified(a, Op::Exists, boolean(a, Op::Lt, bound(a), param(a)));
                    const int some = boolean(a, Op::Ne, param(a),
                                             a.add({.op = Op::NoneNode, .sort = Sort::Node}));
                    return boolean(a, Op::And, later, some);
                });
                break;
            }
            }
        }
    }
    return out;
}

TableData mutated(const TableData& table, const Mutant& mutant) {
    TableData copy = table;
    mutant.mutate(copy);
    record_what_rows_use(copy);
    return copy;
}

std::string step_text(const TableData& table, const Step& step) {
    const RowData& row = table.rows.at(static_cast<std::size_t>(step.row));
    std::vector<std::string> params;
    for (Param p : row.params) {
        params.push_back(
            fmt::format("{}={}", param_info(p).name, step.params[static_cast<std::size_t>(p)]));
    }
    std::sort(params.begin(), params.end());
    std::string out(row.name);
    for (const auto& p : params) {
        out += " " + p;
    }
    return out;
}

namespace {

// Where a found counterexample departs from the stored one, or "" when it does not.
std::string departure(const TableData& table, const Trace& trace, const ExpectedCell& e) {
    if (e.trace.empty()) {
        return "";
    }
    for (std::size_t k = 0; k < trace.steps.size() && k < e.trace.size(); ++k) {
        const std::string now = step_text(table, trace.steps[k].step);
        if (now != e.trace[k]) {
            return fmt::format("another counterexample: step {} is `{}`, not `{}`", k + 1, now,
                               e.trace[k]);
        }
    }
    return "";
}

std::string verdict_text(Verdict v, int steps) {
    return v == Verdict::violated ? fmt::format("violated ({} steps)", steps)
                                  : std::string(verdict_name(v));
}

} // namespace

ReachableStates reachable_states(const Interpreter& interp, std::size_t max_states, int threads) {
    ReachableStates out;
    ExploreLimits lim;
    lim.max_states = max_states;
    lim.threads = static_cast<unsigned>(std::max(1, threads));
    lim.on_state = [&](const State& st) { out.states.push_back(st); };
    lim.on_found = [&](std::uint32_t parent) { out.parent.push_back(parent); };
    const Exploration e = explore(interp, {}, lim);
    out.complete = e.complete;
    return out;
}

Trace path_to(const Interpreter& interp, const ReachableStates& reach, std::size_t index) {
    std::vector<std::size_t> chain{index};
    while (reach.parent.at(chain.back()) != chain.back()) {
        chain.push_back(reach.parent[chain.back()]);
    }
    std::reverse(chain.begin(), chain.end());
    Trace out;
    out.initial = reach.states.at(chain.front());
    for (std::size_t k = 1; k < chain.size(); ++k) {
        const State& from = reach.states.at(chain[k - 1]);
        const State& to = reach.states.at(chain[k]);
        std::optional<Step> via;
        interp.successors(from, [&](const Step& step, const State& next) {
            if (!via && next == to) {
                via = step;
            }
        });
        if (!via) {
            throw std::logic_error("path_to: no step between a state and the state found from it");
        }
        out.steps.push_back({*via, to});
    }
    return out;
}

std::vector<Params> row_choices(const Interpreter& interp, int row) {
    std::vector<Params> choices(1);
    for (std::size_t p = 0; p < kParamCount; ++p) {
        choices[0][p] = interp.param_default(static_cast<Param>(p));
    }
    for (Param p : interp.table().rows.at(static_cast<std::size_t>(row)).params) {
        std::vector<Params> more;
        for (const Params& c : choices) {
            for (int v : interp.param_values(p)) {
                Params next = c;
                next[static_cast<std::size_t>(p)] = v;
                more.push_back(next);
            }
        }
        choices = std::move(more);
    }
    return choices;
}

void row_differences(const Interpreter& table, const Interpreter& mutant, std::string_view row_name,
                     const std::vector<State>& states,
                     const std::function<bool(const RowDifference&)>& visit) {
    const RowData* row = table.table().find(row_name);
    if (row == nullptr) {
        throw std::invalid_argument("no row " + std::string(row_name));
    }
    const int r = static_cast<int>(row - table.table().rows.data());
    const std::vector<Params> choices = row_choices(table, r);
    for (std::size_t i = 0; i < states.size(); ++i) {
        for (const Params& params : choices) {
            const Step step{r, params};
            std::optional<State> a = table.apply(states[i], step),
                                 b = mutant.apply(states[i], step);
            if (a != b && !visit({i, step, std::move(a), std::move(b)})) {
                return;
            }
        }
    }
}

bool same_successors(const Interpreter& table, const Interpreter& mutant, int row,
                     const std::vector<Params>& choices, const State& from) {
    using Successor = std::pair<State, bool>; // a next state, and whether a fault row reaches it
    std::vector<Successor> in_table, in_mutant;
    const bool fault = table.table().rows.at(static_cast<std::size_t>(row)).actor == Actor::fault;
    table.successors(from, [&](const Step& step, const State& next) {
        if (next == from) {
            return;
        }
        const bool f = table.table().rows[static_cast<std::size_t>(step.row)].actor == Actor::fault;
        in_table.emplace_back(next, f);
        if (step.row != row) { // the other rows are the same in the mutant
            in_mutant.emplace_back(next, f);
        }
    });
    for (const Params& params : choices) {
        if (const auto next = mutant.apply(from, {row, params}); next && *next != from) {
            in_mutant.emplace_back(*next, fault);
        }
    }
    for (auto* v : {&in_table, &in_mutant}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    return in_table == in_mutant;
}

LockstepResult lockstep(const Interpreter& table, const Interpreter& mutant,
                        const State& table_from, const State& mutant_from,
                        const std::function<Observed(const State&, const State&)>& observe,
                        std::unordered_set<std::string>& seen, std::size_t max_pairs,
                        const std::function<bool(const std::vector<Step>&)>& told_apart,
                        const std::function<bool(const Step&, const Step&)>& interchangeable) {
    // Once the two are known to differ (partly), only a place where the observer tells them apart
    // for sure is looked for: at most this many more pairs.
    constexpr std::size_t kMorePairs = 200'000;
    LockstepResult out;
    if (table_from == mutant_from) {
        return out;
    }
    const Observed first = observe(table_from, mutant_from);
    if (first == Observed::apart) {
        out.told_apart = true;
        told_apart({});
        return out;
    }
    out.told_apart = first == Observed::partly;
    std::size_t limit = out.told_apart ? std::min(max_pairs, seen.size() + kMorePairs) : max_pairs;
    if (!seen.insert(table_from + mutant_from).second) {
        return out;
    }
    // Per pair visited: the pair it was reached from and the step (to rebuild the steps offered).
    struct Visit {
        std::size_t parent = 0;
        Step step;
    };
    std::vector<Visit> visits{{0, {}}};
    auto steps_to = [&](std::size_t k, const Step& last) {
        std::vector<Step> steps{last};
        for (; k > 0; k = visits[k].parent) {
            steps.push_back(visits[k].step);
        }
        std::reverse(steps.begin(), steps.end());
        return steps;
    };
    struct Pending {
        State table_state, mutant_state;
        std::size_t visit = 0;
    };
    std::deque<Pending> queue{{table_from, mutant_from, 0}};
    std::vector<std::pair<Step, State>> in_table, in_mutant;
    std::vector<Step> answered_by_same; // the table's steps the mutant answered in kind
    auto same_step = [](const Step& a, const Step& b) {
        return a.row == b.row && a.params == b.params;
    };
    while (!queue.empty()) {
        const Pending p = std::move(queue.front());
        queue.pop_front();
        in_table.clear();
        in_mutant.clear();
        table.successors(p.table_state, [&](const Step& st, const State& next) {
            in_table.emplace_back(st, next);
        });
        mutant.successors(p.mutant_state, [&](const Step& st, const State& next) {
            in_mutant.emplace_back(st, next);
        });
        // True to stop: told apart and told_apart() has enough, or the search is cut. A step
        // one of the two refuses leaves it where it is: the other must then look the same to the
        // observer after the step as before it (the step changed only what is not observed). A
        // pair the observer sees partly apart is followed on, not offered.
        auto follow = [&](const Step& st, const std::optional<State>& a,
                          const std::optional<State>& b) {
            const State& t = a ? *a : p.table_state;
            const State& m = b ? *b : p.mutant_state;
            if (t == m) {
                return false; // they meet again
            }
            const Observed seen_as = observe(t, m);
            if (seen_as == Observed::apart) {
                out.told_apart = true;
                return told_apart(steps_to(p.visit, st));
            }
            if (seen_as == Observed::partly && !out.told_apart) {
                out.told_apart = true;
                limit = std::min(max_pairs, seen.size() + kMorePairs);
            }
            if (seen.size() >= limit) {
                out.cut = !out.told_apart; // else: apart anyway, and no more is looked for
                return true;
            }
            if (seen.insert(t + m).second) {
                visits.push_back({p.visit, st});
                queue.push_back({t, m, visits.size() - 1});
            }
            return false;
        };
        // The other side's answer to a step `st` that one side takes to `next`: the same step
        // (refused, it stays where it is), unless `interchangeable` offers a step of another row
        // that reaches `next` itself, or a state the observer finds more like `next` than the
        // same step's. Returns the state and whether it is the same step's.
        auto answer = [&](bool table_leads, const Step& st, const State& next,
                          const Interpreter& other, const State& other_from,
                          const std::vector<std::pair<Step, State>>& other_steps) {
            const std::optional<State> moved = other.apply(other_from, st);
            State same = moved.value_or(other_from);
            if (!interchangeable || same == next) {
                return std::pair{std::move(same), true};
            }
            // The other side catches up first: a step of the same thread takes it to the state
            // the leading side took `st` from, and `st` from there to `next` (the two steps are
            // one command to impl/: a mutant whose thread loops once more before it leaves the
            // loop, then resumes the guest, as the table's thread does at once).
            const State& leader_from = table_leads ? p.table_state : p.mutant_state;
            for (const auto& o : other_steps) {
                if (o.second == leader_from && interchangeable(st, o.first) &&
                    other.apply(o.second, st) == next) {
                    return std::pair{next, false};
                }
            }
            // How unlike `next` the observer finds a state: the same, partly apart, apart; at
            // each, staying where one is counts after a step (the one that stays still has the
            // step to take, which the other has taken).
            auto unlike = [&](const State& o, bool stays) {
                const Observed seen_as = table_leads ? observe(next, o) : observe(o, next);
                return 2 * static_cast<int>(seen_as) + (stays ? 1 : 0); // same < partly < apart
            };
            const auto alike = [&](const auto& o) {
                return o.first.row != st.row && interchangeable(st, o.first);
            };
            const State* best = nullptr;
            int best_rank = unlike(same, !moved);
            for (const auto& o : other_steps) {
                if (!alike(o)) {
                    continue;
                }
                if (o.second == next) {
                    return std::pair{o.second, false};
                }
                if (const int rank = unlike(o.second, false); rank < best_rank) {
                    best = &o.second;
                    best_rank = rank;
                }
            }
            if (best != nullptr) {
                return std::pair{*best, false};
            }
            return std::pair{std::move(same), true};
        };
        // successors() reports a step once per distinct successor, so a step one side lists may
        // be missing from the other's list and still be enabled there: apply() decides. A step
        // of the table answered by the mutant's same step stands for that step of the mutant too;
        // one answered by another row leaves the mutant's own step to be answered below.
        answered_by_same.clear();
        for (const auto& [st, next] : in_table) {
            auto [m, same] = answer(true, st, next, mutant, p.mutant_state, in_mutant);
            if (same) {
                answered_by_same.push_back(st);
            }
            if (follow(st, next, m)) {
                out.pairs = visits.size();
                return out;
            }
        }
        for (const auto& [st, next] : in_mutant) {
            if (std::any_of(answered_by_same.begin(), answered_by_same.end(),
                            [&](const Step& t) { return same_step(t, st); })) {
                continue;
            }
            if (follow(st, answer(false, st, next, table, p.table_state, in_table).first, next)) {
                out.pairs = visits.size();
                return out;
            }
        }
    }
    out.pairs = visits.size();
    return out;
}

std::string describe_difference(const Interpreter& table, const RowDifference& d) {
    return fmt::format("{} ({}): {}", step_text(table.table(), d.step),
                       format_params(table, d.step),
                       !d.table_next    ? "the mutant takes it"
                       : !d.mutant_next ? "the mutant refuses it"
                                        : "another state");
}

std::string row_difference(const Interpreter& table, const Interpreter& mutant,
                           std::string_view row_name, const std::vector<State>& states) {
    if (table.table().find(row_name) == nullptr) {
        return "no row " + std::string(row_name);
    }
    std::string out;
    row_differences(table, mutant, row_name, states, [&](const RowDifference& d) {
        out = describe_difference(table, d);
        return false;
    });
    return out;
}

Ic3Seeds ic3_seeds(const TableData& table, const Instance& instance,
                   const std::vector<ExpectedCell>& expected, double ic3_seconds) {
    Ic3Seeds seeds;
    z3::context ctx;
    const Lowering low(ctx, table, instance);
    for (const ExpectedCell& e : expected) {
        if (e.invariant->kind != InvariantKind::StatePredicate || e.verdict != Verdict::proved) {
            continue;
        }
        EngineLimits lim;
        lim.timeout = ic3_seconds;
        const Result r = run_ic3(low, *e.invariant, lim);
        if (r.verdict == Verdict::proved && r.lemmas) {
            seeds.emplace(std::string(e.invariant->name), r.lemmas);
        }
    }
    return seeds;
}

MutantVerdict check_mutant(const TableData& mutant, const Instance& instance,
                           const std::vector<ExpectedCell>& expected, double ic3_seconds,
                           const Ic3Seeds* seeds) {
    MutantVerdict out;
    auto differs = [&](const ExpectedCell& e, const std::string& now, bool bug = false) {
        out.killed = true;
        out.bug = bug;
        out.reason = fmt::format("{}: {} now, {} expected", e.invariant->name, now,
                                 verdict_text(e.verdict, e.steps));
        return out;
    };
    std::vector<const InvariantData*> state_invs;
    std::vector<const ExpectedCell*> state_cells, graph_cells, proved_cells;
    int deepest = 0;
    for (const ExpectedCell& e : expected) {
        if (e.invariant->kind != InvariantKind::StatePredicate) {
            graph_cells.push_back(&e);
            continue;
        }
        state_invs.push_back(e.invariant);
        state_cells.push_back(&e);
        if (e.verdict == Verdict::violated) {
            deepest = std::max(deepest, e.steps);
        }
        if (e.verdict == Verdict::proved) {
            proved_cells.push_back(&e);
        }
    }
    z3::context ctx;
    const Lowering low(ctx, mutant, instance);
    // 1. BMC, one step deeper at a time: each expected violation must appear exactly at its
    // length, and nothing else may be violated up to the longest one.
    if (!state_invs.empty()) {
        Bmc bmc(low, state_invs);
        for (int d = 1; d <= deepest; ++d) {
            if (!bmc.run(d, 120.0)) {
                out.killed = true;
                out.reason = fmt::format("BMC timed out at depth {}", d);
                return out;
            }
            const std::vector<Result> rs = bmc.results();
            for (std::size_t i = 0; i < rs.size(); ++i) {
                const ExpectedCell& e = *state_cells[i];
                if (rs[i].bug) {
                    return differs(e, "a checker bug (" + rs[i].detail + ")", true);
                }
                const bool found = rs[i].verdict == Verdict::violated;
                const int len = found && rs[i].trace ? static_cast<int>(rs[i].trace->steps.size())
                                                     : rs[i].depth;
                if (found && (e.verdict != Verdict::violated || len != e.steps)) {
                    return differs(e, verdict_text(Verdict::violated, len));
                }
                if (found && rs[i].trace) {
                    const std::string other = departure(mutant, *rs[i].trace, e);
                    if (!other.empty()) {
                        out.killed = true;
                        out.reason = fmt::format("{}: {}", e.invariant->name, other);
                        return out;
                    }
                }
                if (!found && e.verdict == Verdict::violated && e.steps == d) {
                    return differs(e, fmt::format("no violation within {} steps", d));
                }
            }
        }
    }
    // 2. The recovery search, exact for the instance.
    const Interpreter interp(mutant, instance);
    for (const ExpectedCell* e : graph_cells) {
        EngineLimits lim;
        lim.max_depth = 0;
        lim.timeout = 120.0;
        const Result r = run_recoverable(interp, *e->invariant, lim);
        const int len = r.trace ? static_cast<int>(r.trace->steps.size()) : -1;
        if (r.bug) {
            return differs(*e, "a checker bug (" + r.detail + ")", true);
        }
        if (r.verdict != e->verdict || (r.verdict == Verdict::violated && len != e->steps)) {
            return differs(*e, verdict_text(r.verdict, len));
        }
        if (r.trace) {
            const std::string other = departure(mutant, *r.trace, *e);
            if (!other.empty()) {
                out.killed = true;
                out.reason = fmt::format("{}: {}", e->invariant->name, other);
                return out;
            }
        }
    }
    // 3. IC3 on what the manifest says is proved.
    for (const ExpectedCell* e : proved_cells) {
        EngineLimits lim;
        lim.timeout = ic3_seconds;
        if (seeds != nullptr) {
            const auto seed = seeds->find(e->invariant->name);
            if (seed != seeds->end()) {
                lim.ic3_seed = seed->second;
            }
        }
        const Result r = run_ic3(low, *e->invariant, lim);
        if (r.bug) {
            return differs(*e, "a checker bug (" + r.detail + ")", true);
        }
        if (r.verdict != Verdict::proved) {
            return differs(
                *e, r.ic3_found_violation
                        ? std::string("violated (IC3 found a path to a violation)")
                        : fmt::format("no proof by IC3 within {:g} s ({})", ic3_seconds, r.detail));
        }
    }
    out.checked = fmt::format("{} cells", expected.size());
    return out;
}

} // namespace handoff::proofs
