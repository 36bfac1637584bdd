#include "handoff/proofs/retarget.hpp"

#include "handoff/model/invariants.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/spec.hpp"
#include "handoff/model/versions.hpp"

#include <algorithm>
#include <optional>
#include <set>

namespace handoff::proofs {

using namespace handoff::model;

namespace {

// Every row a derived table replaced by a row of another name. proofs_tests checks the list
// against the tables: a row that disappears from a derived version is renamed here or removed
// (kRemovals), and the new row takes the old one's place in the table (replace_row keeps it).
constexpr RowRename kRenames[] = {
    {"v7.2", "migration_completion_fail_invalidate", "migration_completion_checks_fail",
     "c0ad2a9191, the 7.2.3 backport of 6dab4c93, merged the fail_invalidate label into fail"},
    {"v8.1", "migration_completion_fail_invalidate", "migration_completion_checks_fail",
     "6dab4c93 merged the fail_invalidate label into fail"},
    {"v9.2", "migration_completion_done", "migration_completion_checks_pass",
     "8.2 split migration_completion(): the passing checks lead to migration_completion_end(), "
     "a row 9.2 adds, which sets COMPLETED"},
    {"v10.0", "migration_completion_cancelled_before_pause", "migration_switchover_interrupted",
     "10.0's migration_switchover_prepare() replaced migration_maybe_pause()'s cancelled case"},
};

constexpr RowRemoval kRemovals[] = {
    {"v10.0-dev", "postcopy_start_send_fails",
     "8597af76: postcopy_start()'s fail: always re-activates (restart_block is gone), so a "
     "failure after the last point of recovery is postcopy_start_package_fails"},
};

const TableData* parent_of(const TableData& t) {
    return t.based_on.empty() ? nullptr : find_version(t.based_on);
}

std::vector<const TableData*> ancestors(const TableData& t) {
    std::vector<const TableData*> out;
    for (const TableData* v = &t; v != nullptr; v = parent_of(*v)) {
        out.push_back(v);
    }
    return out;
}

// Every variable slot (variable, host, node) in the order describe() lists them.
struct Slot {
    Var var;
    int host;
    int node;
};
std::vector<Slot> all_slots(int nodes) {
    std::vector<Slot> out;
    for (int v = 0; v < kVarCount; ++v) {
        const VarInfo& info = var_info(static_cast<Var>(v));
        const int hosts = info.scope == Scope::Global ? 1 : 2;
        const int per_host = info.scope == Scope::PerNode ? nodes : 1;
        for (int h = 0; h < hosts; ++h) {
            for (int n = 0; n < per_host; ++n) {
                out.push_back({static_cast<Var>(v), h, n});
            }
        }
    }
    return out;
}

// Compares two states, one of each version, on the variables both versions use.
class Comparison {
  public:
    Comparison(const Interpreter& a, const Interpreter& b) : a_(a), b_(b) {
        const auto va = version_vars(a.table());
        const auto vb = version_vars(b.table());
        const auto names = describe(a, State(static_cast<std::size_t>(a.layout().size()), '\0'));
        const auto slots = all_slots(a.layout().nodes());
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (std::find(va.begin(), va.end(), slots[i].var) != va.end() &&
                std::find(vb.begin(), vb.end(), slots[i].var) != vb.end()) {
                shared_.push_back({slots[i], names.at(i).variable});
            }
        }
    }

    // The shared variables whose values differ (a of the first version, b of the second); with
    // the states before the step, only those that the step changed in either version.
    std::vector<VarDifference> differences(const State& a, const State& b,
                                           const State* a_before = nullptr,
                                           const State* b_before = nullptr) const {
        std::vector<VarDifference> out;
        for (const auto& [s, name] : shared_) {
            const int x = a_.get(a, s.var, s.host, s.node);
            const int y = b_.get(b, s.var, s.host, s.node);
            const bool unchanged = a_before != nullptr &&
                                   a_.get(*a_before, s.var, s.host, s.node) == x &&
                                   b_.get(*b_before, s.var, s.host, s.node) == y;
            if (x != y && !unchanged) {
                const DomainId d = var_info(s.var).domain;
                out.push_back({name, value_name(d, x), value_name(d, y)});
            }
        }
        return out;
    }

  private:
    struct Shared {
        Slot slot;
        std::string name;
    };
    const Interpreter& a_;
    const Interpreter& b_;
    std::vector<Shared> shared_;
};

// Whether an expression reads a quantified variable bound outside it (so that it cannot be
// evaluated on its own). `bound`: the slots bound, per sort (bit 0-1 hosts, 2-3 nodes); host
// slot 0 is the row's `h`, which the step's host parameter binds.
bool reads_free_bound(const Ast& ast, int expr, unsigned bound = 1) {
    if (expr < 0) {
        return false;
    }
    const AstNode& e = ast[expr];
    const auto bit = [](Sort sort, int slot) {
        return 1U << ((sort == Sort::Host ? 0 : 2) + slot);
    };
    if (e.op == Op::Bound) {
        return (bound & bit(e.sort, e.a)) == 0;
    }
    if (e.op == Op::Forall || e.op == Op::Exists) {
        bound |= bit(e.bound_sort, e.a);
    }
    return std::any_of(std::begin(e.kid), std::end(e.kid),
                       [&](int k) { return reads_free_bound(ast, k, bound); });
}

// The values of the variables an expression reads, as "storage_ok=false node[0][0]=INACTIVE": a
// host or node given by a quantified variable stands for every one.
std::string values_read(const Interpreter& interp, const Ast& ast, int expr, const State& s,
                        Env& env) {
    std::set<std::string> seen;
    std::string out;
    auto walk = [&](auto&& self, int e) -> void {
        if (e < 0) {
            return;
        }
        const AstNode& node = ast[e];
        if (node.op == Op::Var) {
            const Var v = static_cast<Var>(node.a);
            const VarInfo& info = var_info(v);
            std::vector<int> hosts{0};
            if (node.kid[0] >= 0) {
                hosts = reads_free_bound(ast, node.kid[0])
                            ? std::vector<int>{0, 1}
                            : std::vector<int>{interp.eval(ast, node.kid[0], s, env)};
            }
            std::vector<int> nodes{0};
            if (node.kid[1] >= 0) {
                if (reads_free_bound(ast, node.kid[1])) {
                    nodes.clear();
                    for (int i = 0; i < interp.layout().nodes(); ++i) {
                        nodes.push_back(i);
                    }
                } else {
                    nodes = {interp.eval(ast, node.kid[1], s, env)};
                }
            }
            for (int h : hosts) {
                for (int n : nodes) {
                    if (n >= interp.layout().nodes()) {
                        continue; // a node index that is `none`: no variable
                    }
                    std::string name(info.name);
                    if (info.scope != Scope::Global) {
                        name += "[" + std::to_string(h) + "]";
                    }
                    if (info.scope == Scope::PerNode) {
                        name += "[" + std::to_string(n) + "]";
                    }
                    if (seen.insert(name).second) {
                        out += (out.empty() ? "" : " ") + name + "=" +
                               value_name(info.domain, interp.get(s, v, h, n));
                    }
                }
            }
            return; // its host and node expressions are shown as indices
        }
        for (int k : node.kid) {
            self(self, k);
        }
    };
    walk(walk, expr);
    return out;
}

// The parts of a false expression that make it false: the false conjuncts, looking into named
// sub-expressions (migration_is_running(h), activation_may_end(h, fail), ...), each printed with
// the values it reads.
void false_parts(const Interpreter& interp, const Ast& ast, int expr, const State& s, Env& env,
                 const std::string& prefix, std::vector<std::string>& out) {
    const AstNode& e = ast[expr];
    if (e.op == Op::And) {
        for (int k : {e.kid[0], e.kid[1]}) {
            if (interp.eval(ast, k, s, env) == 0) {
                false_parts(interp, ast, k, s, env, prefix, out);
            }
        }
        return;
    }
    if (e.op == Op::Named && !reads_free_bound(ast, expr)) {
        const int body = e.kid[0];
        if (ast[body].op == Op::And || ast[body].op == Op::Named) {
            false_parts(interp, ast, body, s, env, prefix + print_expr(ast, expr) + ": ", out);
            return;
        }
    }
    const std::string values = values_read(interp, ast, expr, s, env);
    out.push_back(prefix + print_expr(ast, expr) + (values.empty() ? "" : " (" + values + ")"));
}

Env env_of(const Step& step) {
    Env env;
    env.params = step.params;
    env.hosts[0] = step.params[static_cast<std::size_t>(Param::host)];
    return env;
}

std::string params_text(const Interpreter& interp, const Step& step,
                        const std::vector<Param>& which) {
    std::string out;
    for (Param p : which) {
        out +=
            (out.empty() ? "" : ", ") + std::string(param_info(p).name) + "=" +
            param_value_name(p, step.params[static_cast<std::size_t>(p)], interp.layout().nodes());
    }
    return out;
}

// Every combination of values of `free` (the other parameters as in `step`) with which the row is
// enabled, in the order of the checker's canonical traces (the row's first parameter most
// significant, `none` and `no` first).
std::vector<Step> enabled_variants(const Interpreter& interp, const State& s, Step step,
                                   const std::vector<Param>& free) {
    std::vector<std::vector<int>> domains;
    for (Param p : free) {
        domains.push_back(interp.param_values(p));
    }
    // next_combination() turns the first index fastest: enumerate the last parameter first.
    std::vector<std::vector<int>> reversed(domains.rbegin(), domains.rend());
    std::vector<std::size_t> index(free.size(), 0);
    std::vector<Step> out;
    do {
        for (std::size_t k = 0; k < free.size(); ++k) {
            step.params[static_cast<std::size_t>(free[k])] =
                reversed[free.size() - 1 - k][index[free.size() - 1 - k]];
        }
        if (interp.apply(s, step)) {
            out.push_back(step);
        }
    } while (!free.empty() && next_combination(index, reversed));
    return out;
}

// Why `step` is refused in `s`: one line, and the parts of the guard or assumption that are false.
std::string refusal_text(const Interpreter& interp, const State& s, const Step& step,
                         std::vector<std::string>& parts) {
    const auto r = interp.refusal(s, step);
    if (!r) {
        return "";
    }
    const TableData& table = interp.table();
    const RowData& row = table.rows[static_cast<std::size_t>(step.row)];
    Env env = env_of(step);
    switch (r->kind) {
    case Interpreter::Refusal::Kind::crashed:
        return "the run already ended: crash " +
               value_name(DomainId::Crash, interp.get(s, Var::crash)) + " on host " +
               std::to_string(interp.get(s, Var::crash_host));
    case Interpreter::Refusal::Kind::guard:
        false_parts(interp, table.ast, row.guard, r->at, env, "", parts);
        return "its guard is false";
    case Interpreter::Refusal::Kind::assumption: {
        const Stmt& st = row.effect.stmts[r->stmt];
        false_parts(interp, table.ast, st.value, r->at, env, "", parts);
        std::vector<Param> outcome;
        for (Param p : row.params) {
            if (p != Param::host) {
                outcome.push_back(p);
            }
        }
        std::string where = std::string(row.name);
        if (st.group >= 0) {
            const StmtGroup& g = row.effect.groups[static_cast<std::size_t>(st.group)];
            where = std::string(g.name) + "(" + std::string(g.args) + ")";
        }
        // The branches the assumption sits in: the conditions of the open ifs before it.
        std::vector<std::string> branches;
        for (std::size_t i = 0; i < r->stmt; ++i) {
            const Stmt& prior = row.effect.stmts[i];
            if (prior.kind == StmtKind::If) {
                branches.push_back(print_expr(table.ast, prior.value));
            } else if (prior.kind == StmtKind::Else) {
                branches.back() = "!(" + branches.back() + ")";
            } else if (prior.kind == StmtKind::EndIf) {
                branches.pop_back();
            }
        }
        for (const auto& b : branches) {
            where += ", where " + b + ",";
        }
        return "the outcome " + params_text(interp, step, outcome) + " is impossible (" + where +
               " assumes " + print_expr(table.ast, st.value) + ")";
    }
    }
    return "";
}

// The target's initial state for the trace's: the one that agrees on every variable the target
// uses (the others keep the target's initial value), the trace's own if the target has it. None,
// with the reason in `why`, if no initial state of the target agrees.
std::optional<State> initial_on(const Interpreter& original, const State& initial,
                                const Interpreter& target, std::string& why) {
    const auto target_vars = version_vars(target.table());
    const auto slots = all_slots(original.layout().nodes());
    const auto states = target.initial_states();
    const auto agrees = [&](const State& s) {
        return std::all_of(slots.begin(), slots.end(), [&](const Slot& slot) {
            return std::find(target_vars.begin(), target_vars.end(), slot.var) ==
                       target_vars.end() ||
                   target.get(s, slot.var, slot.host, slot.node) ==
                       original.get(initial, slot.var, slot.host, slot.node);
        });
    };
    auto it = std::find(states.begin(), states.end(), initial);
    if (it == states.end()) {
        it = std::find_if(states.begin(), states.end(), agrees);
    }
    if (it != states.end()) {
        return *it;
    }
    std::string which;
    for (const Slot& slot : slots) {
        const int value = original.get(initial, slot.var, slot.host, slot.node);
        if (std::none_of(states.begin(), states.end(), [&](const State& s) {
                return target.get(s, slot.var, slot.host, slot.node) == value;
            })) {
            which += (which.empty() ? "" : ", ") + std::string(var_info(slot.var).name);
        }
    }
    why = std::string(target.table().version) +
          " has no initial state that agrees with the trace's on the variables it uses";
    if (!which.empty()) {
        why += " (none has the trace's value of " + which + ")";
    }
    return std::nullopt;
}

// The parameters of r.step (the step on r.row) by meaning: the original's value where its row
// has the parameter, else "nothing else fails". Notes what was dropped and defaulted; returns
// the defaulted parameters.
std::vector<Param> map_params(const Interpreter& original, const Interpreter& target,
                              RetargetStep& r) {
    const RowData& row = original.table().rows[static_cast<std::size_t>(r.original.row)];
    const auto has = [](const RowData& x, Param p) {
        return std::find(x.params.begin(), x.params.end(), p) != x.params.end();
    };
    r.step.row = static_cast<int>(r.row - target.table().rows.data());
    std::vector<Param> defaulted;
    for (int p = 0; p < kParamCount; ++p) {
        r.step.params[static_cast<std::size_t>(p)] = target.param_default(static_cast<Param>(p));
    }
    for (Param p : r.row->params) {
        if (has(row, p)) {
            r.step.params[static_cast<std::size_t>(p)] =
                r.original.params[static_cast<std::size_t>(p)];
        } else {
            defaulted.push_back(p);
        }
    }
    for (Param p : row.params) {
        if (!has(*r.row, p)) {
            r.notes.push_back(params_text(original, r.original, {p}) +
                              " dropped: " + std::string(target.table().version) +
                              "'s row has no parameter " + std::string(param_info(p).name));
        }
    }
    if (!defaulted.empty()) {
        r.notes.push_back(params_text(target, r.step, defaulted) + ": " +
                          std::string(original.table().version) +
                          "'s row has no such parameter (nothing else fails)");
    }
    return defaulted;
}

// "Nothing else fails" may be impossible where the story is (activating an inactive node while
// the storage is down): r.step takes the least possible values of the defaulted parameters, and
// r.forced says why. False if no value makes the step possible.
bool force_possible_outcome(const Interpreter& target, const State& now,
                            const std::vector<Param>& defaulted, RetargetStep& r) {
    const auto variants = enabled_variants(target, now, r.step, defaulted);
    if (variants.empty()) {
        return false;
    }
    std::vector<std::string> parts;
    r.forced = refusal_text(target, now, r.step, parts);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        r.forced += (i == 0 ? "; false: " : "; ") + parts[i];
    }
    r.forced += "; " + std::string(target.table().version) + " takes the step only with " +
                params_text(target, variants.front(), defaulted);
    for (std::size_t i = 1; i < variants.size(); ++i) {
        r.forced += (i == 1 ? " (or " : ", ") + params_text(target, variants[i], defaulted) +
                    (i + 1 == variants.size() ? ")" : "");
    }
    r.step = variants.front();
    return true;
}

// r.step is not enabled: why, and the outcomes it would be enabled with, closest to the story's
// own first (fewest parameters changed).
void explain_refusal(const Interpreter& target, const State& now, RetargetStep& r) {
    r.course = Course::refused;
    r.refused = refusal_text(target, now, r.step, r.false_parts);
    std::vector<Param> outcome;
    for (Param p : r.row->params) {
        if (p != Param::host) {
            outcome.push_back(p);
        }
    }
    auto variants = enabled_variants(target, now, r.step, outcome);
    const auto changed = [&](const Step& v) {
        return std::count_if(outcome.begin(), outcome.end(), [&](Param p) {
            return v.params[static_cast<std::size_t>(p)] !=
                   r.step.params[static_cast<std::size_t>(p)];
        });
    };
    std::stable_sort(variants.begin(), variants.end(),
                     [&](const Step& x, const Step& y) { return changed(x) < changed(y); });
    for (const Step& v : variants) {
        r.alternatives.push_back(params_text(target, v, outcome));
    }
}

} // namespace

std::span<const RowRename> row_renames() {
    return kRenames;
}
std::span<const RowRemoval> row_removals() {
    return kRemovals;
}

std::vector<const TableData*> derivation_path(const TableData& from, const TableData& to) {
    const auto up = ancestors(from);
    const auto down = ancestors(to);
    std::vector<const TableData*> path;
    for (const TableData* v : up) {
        path.push_back(v);
        const auto meet = std::find(down.begin(), down.end(), v);
        if (meet != down.end()) {
            path.insert(path.end(), std::make_reverse_iterator(meet),
                        std::make_reverse_iterator(down.begin()));
            return path;
        }
    }
    return {}; // no common ancestor: every table is derived from v8.0.0's, so never
}

RowLookup find_row_on(const TableData& from, std::string_view row, const TableData& to) {
    RowLookup out;
    const auto path = derivation_path(from, to);
    if (path.empty()) {
        out.missing = std::string(from.version) + " and " + std::string(to.version) +
                      " have no common ancestor table";
        return out;
    }
    std::string name(row);
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
        const TableData& a = *path[i];
        const TableData& b = *path[i + 1];
        if (b.find(name) != nullptr) {
            continue;
        }
        const bool down = b.based_on == a.version;
        const auto* rename = std::find_if(std::begin(kRenames), std::end(kRenames), [&](auto& r) {
            return down ? r.version == b.version && r.from == name
                        : r.version == a.version && r.to == name;
        });
        if (rename != std::end(kRenames)) {
            const std::string other(down ? rename->to : rename->from);
            out.renames.push_back(down ? name + " is " + other + " from " + std::string(b.version) +
                                             " on (" + std::string(rename->why) + ")"
                                       : name + " was " + other + " before " +
                                             std::string(a.version) + " (" +
                                             std::string(rename->why) + ")");
            name = other;
            continue;
        }
        const auto* removal =
            std::find_if(std::begin(kRemovals), std::end(kRemovals), [&](auto& r) {
                return r.version == (down ? b : a).version && r.row == name;
            });
        if (down) {
            out.missing =
                removal != std::end(kRemovals)
                    ? "removed in " + std::string(b.version) + ": " + std::string(removal->why)
                    : "not a row of " + std::string(b.version) +
                          " (removed, and no rename is known)";
        } else {
            out.missing = "added in " + std::string(a.version) + "; " + std::string(b.version) +
                          ", the version it is derived from, has no such row";
        }
        return out;
    }
    out.row = to.find(name);
    if (out.row == nullptr) {
        out.missing = "not a row of " + std::string(to.version);
    }
    return out;
}

std::vector<Var> version_vars(const TableData& table) {
    std::set<Var> vars = used_vars(table);
    for (const auto& inv : all_invariants()) {
        if (inv.applies_to(table.version)) {
            collect_vars(invariants_ast(), inv.expr, vars);
        }
    }
    return {vars.begin(), vars.end()};
}

Retarget retarget(const Interpreter& original, const Trace& trace, const InvariantData* invariant,
                  const TableData& to) {
    Retarget out;
    out.from = &original.table();
    out.to = &to;
    out.invariant = invariant != nullptr && invariant->kind == InvariantKind::StatePredicate
                        ? invariant
                        : nullptr;
    const Interpreter target(to, original.instance());
    const Comparison compare(original, target);
    for (const auto& ts : trace.steps) {
        RetargetStep r;
        r.original = ts.step;
        out.steps.push_back(r);
    }

    std::optional<State> start = initial_on(original, trace.initial, target, out.no_initial);
    if (!start) {
        return out;
    }
    out.replayed.initial = *start;
    out.initial_differences = compare.differences(trace.initial, *start);
    out.initial_violates =
        out.invariant != nullptr && !holds(target, *out.invariant, out.replayed.initial);

    State now = out.replayed.initial;
    State before_original = trace.initial;
    for (std::size_t k = 0; k < trace.steps.size(); ++k) {
        RetargetStep& r = out.steps[k];
        const int number = static_cast<int>(k) + 1;
        const RowData& row = original.table().rows[static_cast<std::size_t>(r.original.row)];
        const State& after_original = trace.steps[k].state;
        const RowLookup lookup = find_row_on(original.table(), row.name, to);
        r.notes = lookup.renames;
        if (lookup.row == nullptr) {
            r.course = Course::refused;
            r.refused = "no row " + std::string(row.name) + " on " + std::string(to.version) +
                        ": " + lookup.missing;
            out.stopped_at = number;
            break;
        }
        r.row = lookup.row;
        const std::vector<Param> defaulted = map_params(original, target, r);
        auto next = target.apply(now, r.step);
        if (!next && !defaulted.empty() && force_possible_outcome(target, now, defaulted, r)) {
            next = target.apply(now, r.step);
        }
        if (!next) {
            explain_refusal(target, now, r);
            out.stopped_at = number;
            break;
        }
        r.differences = compare.differences(after_original, *next, &before_original, &now);
        for (const auto& d : compare.differences(after_original, *next)) {
            if (std::none_of(r.differences.begin(), r.differences.end(),
                             [&](const VarDifference& x) { return x.variable == d.variable; })) {
                r.persisting.push_back(d);
            }
        }
        r.course = r.differences.empty() ? Course::same : Course::another;
        r.violates = out.invariant != nullptr && !holds(target, *out.invariant, *next);
        if (r.violates && out.reaches_at == 0) {
            out.reaches_at = number;
        }
        out.replayed.steps.push_back({r.step, *next});
        now = *next;
        before_original = after_original;
    }
    for (const auto& r : out.steps) {
        if (r.course == Course::another || r.course == Course::refused || !r.forced.empty()) {
            out.first_departure = static_cast<int>(&r - out.steps.data()) + 1;
            break;
        }
    }
    return out;
}

} // namespace handoff::proofs
