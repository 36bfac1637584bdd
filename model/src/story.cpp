// Counterexamples in QEMU's terms. Every sentence here is generated from the trace: each step is
// run again on the interpreter with an observer (Interpreter::apply with a StatementObserver), so
// that we know which statements ran, in which state, which conditions chose a branch, which
// assignment left its variable as it was, and which assertion fired.
#include "handoff/model/story.hpp"

#include "handoff/model/printer.hpp"
#include "handoff/model/spec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

namespace handoff::model {

namespace {

// ---- variables and the reads that explain a value ----------------------------------------------

struct Slot {
    Var var{};
    int host = 0;
    int node = 0;
    bool operator==(const Slot&) const = default;
};

int value_of(const Interpreter& interp, const State& s, const Slot& x) {
    return interp.get(s, x.var, x.host, x.node);
}

std::string name_of(const Slot& x) {
    return slot_name(x.var, x.host, x.node);
}

std::string value_text(const Slot& x, int value) {
    return value_name(var_info(x.var).domain, value);
}

// A variable an expression read, and the named helper it was read through (its outermost one, as
// the specification prints it: "inactivation_may_end(h)"), or "".
struct Read {
    Slot slot;
    std::string helper;
};

// Collects the variables that make an expression's value what it is, not every variable it
// mentions: a false conjunction is explained by its first false conjunct, a true disjunction by
// its first true disjunct, a false `forall` by its first failing instance, a true `exists` by its
// first witness, an `ite` by its condition and the branch taken. This keeps the explanation of a
// step to what decided it (`!late_block_activate || ...` with late_block_activate off reads one
// variable, not five).
class Explainer {
  public:
    Explainer(const Interpreter& interp, const Ast& ast, const State& s, std::vector<Read>& out)
        : interp_(interp), ast_(ast), s_(s), out_(out) {}

    void explain(int expr, Env& env, const std::string& helper = "") {
        const AstNode& e = ast_[expr];
        switch (e.op) {
        case Op::Var: {
            Slot x{static_cast<Var>(e.a)};
            x.host = e.kid[0] < 0 ? 0 : value(e.kid[0], env);
            x.node = e.kid[1] < 0 ? 0 : value(e.kid[1], env);
            if (std::none_of(out_.begin(), out_.end(),
                             [&](const Read& r) { return r.slot == x; })) {
                out_.push_back({x, helper});
            }
            return;
        }
        case Op::Not:
            explain(e.kid[0], env, helper);
            return;
        case Op::And:
        case Op::Or: {
            // The operand whose value alone decides the result, if one does.
            const bool decisive = e.op == Op::Or;
            for (int k : {e.kid[0], e.kid[1]}) {
                if (static_cast<bool>(value(k, env)) == decisive) {
                    explain(k, env, helper);
                    return;
                }
            }
            explain(e.kid[0], env, helper);
            explain(e.kid[1], env, helper);
            return;
        }
        case Op::Implies:
            if (!value(e.kid[0], env)) {
                explain(e.kid[0], env, helper);
                return;
            }
            if (!value(e.kid[1], env)) {
                explain(e.kid[0], env, helper);
            }
            explain(e.kid[1], env, helper);
            return;
        case Op::Eq:
        case Op::Ne:
        case Op::Lt:
        case Op::Le:
        case Op::RunstateOk:
            explain(e.kid[0], env, helper);
            explain(e.kid[1], env, helper);
            return;
        case Op::NodeRel: // a fixed fact of the graph: it reads only its node indices
            explain(e.kid[0], env, helper);
            if (e.kid[1] >= 0) {
                explain(e.kid[1], env, helper);
            }
            return;
        case Op::Ite:
            explain(e.kid[0], env, helper);
            explain(value(e.kid[0], env) ? e.kid[1] : e.kid[2], env, helper);
            return;
        case Op::Forall:
        case Op::Exists: {
            const bool hosts = e.bound_sort == Sort::Host;
            int& bound = hosts ? env.hosts[static_cast<std::size_t>(e.a)]
                               : env.nodes[static_cast<std::size_t>(e.a)];
            const int saved = bound;
            const int count = hosts ? 2 : interp_.layout().nodes();
            // forall: the first instance that is false decides; exists: the first that is true.
            const bool decisive = e.op == Op::Exists;
            int witness = -1;
            for (int i = 0; i < count && witness < 0; ++i) {
                bound = i;
                if (static_cast<bool>(value(e.kid[0], env)) == decisive) {
                    witness = i;
                }
            }
            for (int i = 0; i < count; ++i) {
                if (witness < 0 || i == witness) {
                    bound = i;
                    explain(e.kid[0], env, helper);
                }
            }
            bound = saved;
            return;
        }
        case Op::Named:
            explain(e.kid[0], env, helper.empty() ? print_expr(ast_, expr) : helper);
            return;
        case Op::Lit:
        case Op::Param:
        case Op::Bound:
        case Op::Peer:
        case Op::NoneNode:
            return;
        }
    }

    int value(int expr, Env& env) const { return interp_.eval(ast_, expr, s_, env); }

  private:
    const Interpreter& interp_;
    const Ast& ast_;
    const State& s_;
    std::vector<Read>& out_;
};

std::vector<Read> reads_of(const Interpreter& interp, const Ast& ast, int expr, const State& s,
                           Env env) {
    std::vector<Read> out;
    Explainer(interp, ast, s, out).explain(expr, env);
    return out;
}

// ---- one step, explained -----------------------------------------------------------------------

// An unchanged variable worth showing at a step, and why.
struct Note {
    Slot slot;
    std::string why;
    int since = 0;      // the last earlier step that changed it (0: the initial state)
    bool guard = false; // only the guard read it (it enabled the step, chose nothing in it)
};

// An assignment that ran: what it wrote, in which group, and what its value read.
struct Write {
    Slot slot;
    int group = -1;
    std::vector<Read> reads;
};

// A variable whose value decided the course at this step, to be flipped by the headline's
// counterfactual: `after` for an assignment that left it as it was (flip it in the state after
// the step), otherwise read by a condition (flip it in the state before).
struct FlagCandidate {
    Slot slot;
    bool after = false;
};

struct FailedAssertion {
    int group = -1;
    std::vector<Read> reads;
    Crash reason = Crash::NONE;
    QemuAbort message;
};

struct StepStory {
    std::vector<Note> notes;
    // The variables the effect's conditions, assumptions and failed assertion read, as an earlier
    // step set them (the step may change them afterwards): where the headline looks for the
    // steps that prepared this one.
    std::vector<Slot> sources;
    std::vector<Write> writes;
    std::vector<int> groups; // every group a statement of which ran
    // Per parameter: the group of the first statement that ran and used it to compute a value
    // or choose a branch (-1: none, or outside every group). An assumption that only restricts
    // it (postcopy_stop's `flush_fails => fail == none`) does not count.
    std::array<int, kParamCount> param_group{};
    std::optional<FailedAssertion> failed;
    std::vector<FlagCandidate> flags;
};

bool reads_param(const Ast& ast, int expr, Param p) {
    if (expr < 0) {
        return false;
    }
    const AstNode& e = ast[expr];
    if (e.op == Op::Param && e.a == static_cast<int>(p)) {
        return true;
    }
    return std::any_of(std::begin(e.kid), std::end(e.kid),
                       [&](int k) { return reads_param(ast, k, p); });
}

std::string group_name(const RowData& row, int group) {
    return group < 0 ? "" : std::string(row.effect.groups[static_cast<std::size_t>(group)].name);
}

// Expressions longer than this are named by their statement's group instead of printed.
constexpr std::size_t kShortExpression = 72;

// The QEMU function a row stands for: the first `name()` of its citation, or the row's name.
std::string function_of(const RowData& row) {
    const std::string_view q = row.qemu;
    for (std::size_t at = q.find("()"); at != std::string_view::npos; at = q.find("()", at + 1)) {
        std::size_t begin = at;
        while (begin > 0 && (std::isalnum(static_cast<unsigned char>(q[begin - 1])) != 0 ||
                             q[begin - 1] == '_')) {
            --begin;
        }
        if (begin < at) {
            return std::string(q.substr(begin, at + 2 - begin));
        }
    }
    return std::string(row.name);
}

bool is_flag(const Slot& x) {
    const VarInfo& info = var_info(x.var);
    return info.domain == DomainId::Bool && info.origin == Origin::Qemu &&
           info.scope == Scope::PerHost;
}

AbortVariant abort_variant(const Interpreter& interp, const Ast& ast, int cond, Crash reason,
                           const std::vector<Read>& reads, const State& now, const Env& env,
                           RunState& from, RunState& to) {
    if (reason == Crash::INVALID_RUNSTATE) {
        // runstate_set(h, to) asserts runstate_transition_allowed(runstate(h), to).
        const AstNode& e = ast[cond];
        if (e.op == Op::RunstateOk) {
            Env scratch = env;
            from = static_cast<RunState>(interp.eval(ast, e.kid[0], now, scratch));
            to = static_cast<RunState>(interp.eval(ast, e.kid[1], now, scratch));
        }
        return to == RunState::UNSET ? AbortVariant::unset_state : AbortVariant::invalid_transition;
    }
    if (reason == Crash::WRITE_TO_INACTIVE) {
        // A half-inactivated node keeps its flag clear; its BlockBackend has lost the write
        // permission, so the permission assert fires instead.
        const bool half = std::any_of(reads.begin(), reads.end(), [&](const Read& r) {
            return r.slot.var == Var::node &&
                   value_of(interp, now, r.slot) == static_cast<int>(NodeState::HALF_INACTIVE);
        });
        return half ? AbortVariant::write_without_write_perm : AbortVariant::write_to_inactive_flag;
    }
    return AbortVariant::only;
}

class StoryTeller {
  public:
    StoryTeller(const Interpreter& interp, const Trace& trace, const InvariantData* invariant)
        : interp_(interp), trace_(trace), invariant_(invariant) {
        states_.push_back(trace.initial);
        for (const auto& ts : trace.steps) {
            states_.push_back(ts.state);
        }
        roles_.push_back(roles_of(interp, trace.initial, Roles{}));
        for (std::size_t k = 1; k < states_.size(); ++k) {
            roles_.push_back(roles_of(interp, states_[k], roles_.back()));
        }
        for (std::size_t k = 1; k < states_.size(); ++k) {
            stories_.push_back(explain_step(static_cast<int>(k)));
        }
    }

    std::string headline() const;
    Gist gist() const;
    std::string format() const;

  private:
    const RowData& row_of(int k) const {
        return interp_.table().rows[static_cast<std::size_t>(trace_.steps[k - 1].step.row)];
    }
    const Step& step_of(int k) const { return trace_.steps[static_cast<std::size_t>(k - 1)].step; }
    const State& before(int k) const { return states_[static_cast<std::size_t>(k - 1)]; }
    const State& after(int k) const { return states_[static_cast<std::size_t>(k)]; }
    int host_of(int k) const { return step_of(k).params[static_cast<int>(Param::host)]; }

    // The roles to name step k's host by: after the step (start_destination makes a destination),
    // unless the step ended its process.
    const Roles& roles_at(int k) const {
        const bool gone = interp_.get(after(k), Var::alive, host_of(k)) == 0;
        return roles_[static_cast<std::size_t>(gone ? k - 1 : k)];
    }

    bool unchanged(int k, const Slot& x) const {
        return value_of(interp_, before(k), x) == value_of(interp_, after(k), x);
    }
    int since(int k, const Slot& x) const {
        for (int j = k - 1; j >= 1; --j) {
            if (value_of(interp_, before(j), x) != value_of(interp_, after(j), x)) {
                return j;
            }
        }
        return 0;
    }

    StepStory explain_step(int k) const;
    void add_note(StepStory& story, int k, const Slot& x, const std::string& why,
                  bool guard = false) const;

    std::string where(int k) const; // "migration_completion() on host 0 (source)"
    // "Step 5, migration_completion() on host 0 (source): ", without the function when `what`
    // begins with it.
    std::string step_head(int k, const std::string& what) const;
    std::vector<std::string> failure_parts(int k, bool brief = false) const;
    bool walk_failed(int k) const;
    std::string failure_clause(int k) const;
    std::string nodes_after(int k, int host) const;
    std::string violation_clause() const;
    std::vector<std::pair<int, std::string>> mattering_flags() const;
    std::string preparation_clause(int k, const std::vector<Slot>& slots) const;
    bool reaches_violation(int from_step, const State& s, int& budget) const;

    const Interpreter& interp_;
    const Trace& trace_;
    const InvariantData* invariant_;
    std::vector<State> states_; // states_[0] initial, states_[k] after step k
    std::vector<Roles> roles_;
    std::vector<StepStory> stories_; // stories_[k - 1] for step k
};

void StoryTeller::add_note(StepStory& story, int k, const Slot& x, const std::string& why,
                           bool guard) const {
    if (!unchanged(k, x)) {
        return;
    }
    // One line per variable, with at most two reasons (a condition and an assertion may read it).
    const auto note = std::find_if(story.notes.begin(), story.notes.end(),
                                   [&](const Note& n) { return n.slot == x; });
    if (note == story.notes.end()) {
        story.notes.push_back({x, why, since(k, x), guard});
    } else {
        note->guard = note->guard && guard;
        if (note->why.find(why) == std::string::npos && note->why.find("; ") == std::string::npos) {
            note->why += "; " + why;
        }
    }
}

// What showing an unchanged variable at a step is for: the reader sees the changes already, and
// the decisive facts that are *not* changes are of three kinds:
//  - a variable a condition of the effect read (when/else, an ite, a named helper's body) or a
//    failed assertion read: it chose the branch the step took (block_inactive stays false, so
//    migrate_cancel does not re-activate);
//  - a variable an assignment computed and left as it was (`block_inactive := block_inactive ||
//    inactivation_ok(h)` with the inactivation failed);
//  - a variable the guard, an assumption or a passing assertion read, but only if a step before
//    the previous one set it: that is the link between the steps (vm_was_running, set at the
//    completion, enables the resume). Guard variables at their initial values (alive, the
//    capabilities, ...) hold for almost every step and would bury the rest, and what the previous
//    step set is printed right above.
// At the last step, the variables the violated invariant reads come on top.
StepStory StoryTeller::explain_step(int k) const {
    const RowData& row = row_of(k);
    const Ast& ast = interp_.table().ast;
    StepStory story;
    story.param_group.fill(-1);
    struct Ran {
        std::size_t stmt;
        State now;
        Env env;
    };
    std::vector<Ran> ran;
    interp_.apply(before(k), step_of(k), [&](std::size_t i, const State& now, const Env& env) {
        ran.push_back({i, now, env});
    });

    Env env;
    env.params = step_of(k).params;
    env.hosts[0] = host_of(k);
    auto set_earlier = [&](const Slot& x) {
        const int j = since(k, x);
        return j > 0 && j < k - 1;
    };
    for (const Read& r : reads_of(interp_, ast, row.guard, before(k), env)) {
        if (set_earlier(r.slot)) {
            add_note(story, k, r.slot, "read by the guard", true);
        }
    }
    auto source = [&](const Slot& x, const State& now) {
        if (value_of(interp_, now, x) == value_of(interp_, before(k), x) && since(k, x) > 0 &&
            std::find(story.sources.begin(), story.sources.end(), x) == story.sources.end()) {
            story.sources.push_back(x);
        }
    };
    auto in_group = [&](int group) {
        return group < 0 ? std::string() : " in " + group_name(row, group) + "()";
    };
    auto short_or = [](const std::string& text, const std::string& otherwise) {
        return text.size() <= kShortExpression ? text : otherwise;
    };
    for (const Ran& r : ran) {
        const Stmt& st = row.effect.stmts[r.stmt];
        for (int p = 0; p < kParamCount; ++p) {
            if (story.param_group[static_cast<std::size_t>(p)] < 0 && st.kind != StmtKind::Assume &&
                reads_param(ast, st.value, static_cast<Param>(p))) {
                story.param_group[static_cast<std::size_t>(p)] = st.group;
            }
        }
        if (st.group >= 0 &&
            std::find(story.groups.begin(), story.groups.end(), st.group) == story.groups.end()) {
            for (int g = st.group; g >= 0;
                 g = row.effect.groups[static_cast<std::size_t>(g)].parent) {
                story.groups.push_back(g);
            }
        }
        switch (st.kind) {
        case StmtKind::If: {
            const std::string cond = print_expr(ast, st.value);
            for (const Read& read : reads_of(interp_, ast, st.value, r.now, r.env)) {
                source(read.slot, r.now);
                add_note(story, k, read.slot,
                         "read by " +
                             (read.helper.empty() ? short_or("the condition " + cond, "a condition")
                                                  : read.helper) +
                             in_group(st.group));
                if (is_flag(read.slot) && unchanged(k, read.slot)) {
                    story.flags.push_back({read.slot, false});
                }
            }
            break;
        }
        case StmtKind::Assign:
        case StmtKind::AssignNodes: {
            Env env_i = r.env;
            const int host = st.host < 0 ? 0 : interp_.eval(ast, st.host, r.now, env_i);
            const int count = st.kind == StmtKind::Assign ? 1 : interp_.layout().nodes();
            const std::string target = std::string(var_info(st.var).name) +
                                       (st.host >= 0 ? "[" + print_expr(ast, st.host) + "]" : "") +
                                       (st.kind == StmtKind::AssignNodes ? "[n]" : "");
            const std::string assignment = target + " := " + print_expr(ast, st.value);
            const bool literal = ast[st.value].op == Op::Lit;
            for (int i = 0; i < count; ++i) {
                env_i.nodes[static_cast<std::size_t>(st.node_slot)] = i;
                const Slot x{st.var, host, st.kind == StmtKind::AssignNodes ? i : 0};
                Write w{x, st.group, reads_of(interp_, ast, st.value, r.now, env_i)};
                if (!literal) {
                    add_note(story, k, x,
                             "assigned " + short_or(print_expr(ast, st.value), "a value computed") +
                                 in_group(st.group));
                    if (is_flag(x) && unchanged(k, x)) {
                        story.flags.push_back({x, true});
                    }
                }
                for (const Read& read : w.reads) {
                    if (!(read.slot == x)) {
                        add_note(story, k, read.slot,
                                 "read by " +
                                     (read.helper.empty()
                                          ? short_or(assignment, "the assignment to " + target)
                                          : read.helper) +
                                     in_group(st.group));
                    }
                }
                story.writes.push_back(std::move(w));
            }
            break;
        }
        case StmtKind::Assert:
        case StmtKind::Assume: {
            Env env_i = r.env;
            const bool holds_now = interp_.eval(ast, st.value, r.now, env_i) != 0;
            const auto reads = reads_of(interp_, ast, st.value, r.now, r.env);
            const std::string what =
                st.kind == StmtKind::Assert ? "the assertion" : "an assumption";
            for (const Read& read : reads) {
                if (!holds_now || st.kind == StmtKind::Assume) {
                    source(read.slot, r.now);
                }
                if (!holds_now || set_earlier(read.slot)) {
                    add_note(story, k, read.slot,
                             "read by " + (read.helper.empty() ? what : read.helper) +
                                 in_group(st.group));
                }
            }
            if (!holds_now && st.kind == StmtKind::Assert) {
                RunState from = RunState::RUNNING, to = RunState::RUNNING;
                const AbortVariant variant =
                    abort_variant(interp_, ast, st.value, st.reason, reads, r.now, r.env, from, to);
                story.failed = FailedAssertion{
                    st.group, reads, st.reason,
                    qemu_abort(interp_.table().version, st.reason, variant, from, to)};
            }
            break;
        }
        case StmtKind::Else:
        case StmtKind::EndIf:
            break;
        }
    }
    if (k == static_cast<int>(trace_.steps.size()) && invariant_ != nullptr &&
        invariant_->kind == InvariantKind::StatePredicate) {
        for (const Read& read :
             reads_of(interp_, invariants_ast(), invariant_->expr, after(k), Env{})) {
            add_note(story, k, read.slot, "read by the invariant");
        }
    }
    return story;
}

std::string StoryTeller::where(int k) const {
    const RowData& row = row_of(k);
    const bool has_host =
        std::find(row.params.begin(), row.params.end(), Param::host) != row.params.end();
    return function_of(row) + (has_host ? " on " + host_name(host_of(k), roles_at(k)) : "");
}

std::string StoryTeller::step_head(int k, const std::string& what) const {
    const RowData& row = row_of(k);
    const bool has_host =
        std::find(row.params.begin(), row.params.end(), Param::host) != row.params.end();
    const std::string fn = function_of(row);
    const bool names_fn = what.compare(0, fn.size(), fn) == 0 || fn == row.name;
    std::string out = "Step " + std::to_string(k);
    if (!names_fn) {
        out += ", " + fn;
    }
    if (has_host) {
        out += " on " + host_name(host_of(k), roles_at(k));
    }
    return out + ": ";
}

std::string StoryTeller::nodes_after(int k, int host) const {
    std::string out;
    for (int n = 0; n < interp_.layout().nodes(); ++n) {
        out += (out.empty() ? "" : ", ") + node_name(interp_.graph(), n) + " " +
               value_name(DomainId::NodeState, interp_.get(after(k), Var::node, host, n));
    }
    return out;
}

std::string lower_first(std::string s) {
    // "The storage ..." and "A step ..." read on after a colon in lower case; "RHBZ ..." and
    // identifiers stay as they are.
    if (s.size() > 1 && std::isupper(static_cast<unsigned char>(s[0])) != 0 &&
        (std::islower(static_cast<unsigned char>(s[1])) != 0 || s[1] == ' ')) {
        s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    }
    return s;
}

// The row's sentence up to its first ':' or ';' (or its end): what happened, without the details.
std::string first_clause(std::string_view sentence) {
    std::size_t end = sentence.size();
    for (std::string_view stop : {": ", "; ", ". "}) {
        end = std::min(end, sentence.find(stop));
    }
    std::string out(sentence.substr(0, end));
    if (!out.empty() && out.back() == '.') {
        out.pop_back();
    }
    return lower_first(out);
}

// Whether a parameter's name is one of a group's arguments ("h, fail, half" has `fail`, not
// `refail`).
bool group_takes(const StmtGroup& g, std::string_view param) {
    std::string_view args = g.args;
    while (!args.empty()) {
        const std::size_t comma = args.find(',');
        std::string_view arg = args.substr(0, comma);
        while (!arg.empty() && arg.front() == ' ') {
            arg.remove_prefix(1);
        }
        if (arg == param) {
            return true;
        }
        args = comma == std::string_view::npos ? std::string_view() : args.substr(comma + 1);
    }
    return false;
}

// The failures of step k, one part each: a fault row, a block operation that failed at a node, a
// flush error. Empty when the step failed nothing.
std::vector<std::string> StoryTeller::failure_parts(int k, bool brief) const {
    const RowData& row = row_of(k);
    const Step& step = step_of(k);
    const StepStory& story = stories_[static_cast<std::size_t>(k - 1)];
    const int nodes = interp_.layout().nodes();
    auto param = [&](Param p) { return step.params[static_cast<std::size_t>(p)]; };
    auto declares = [&](Param p) {
        return std::find(row.params.begin(), row.params.end(), p) != row.params.end();
    };
    std::vector<std::string> parts;
    if (row.actor == Actor::fault) {
        // Briefly, the row's name: its sentence is told in the full story.
        parts.push_back(brief ? std::string(row.name) : first_clause(row.sentence));
    }
    for (Param p : {Param::fail, Param::reactivate_fail}) {
        if (!declares(p) || param(p) >= nodes) {
            continue;
        }
        // The block operation that failed: the group of this step that takes the parameter as an
        // argument, or else the one that first read it.
        int group = story.param_group[static_cast<std::size_t>(p)];
        for (int g : story.groups) {
            if (group_takes(row.effect.groups[static_cast<std::size_t>(g)], param_info(p).name)) {
                group = g;
                break;
            }
        }
        const std::string operation = group >= 0 ? group_name(row, group) + "()" : function_of(row);
        std::string part = operation +
                           (p == Param::reactivate_fail ? "'s re-activation fails" : " fails") +
                           " at " + node_name(interp_.graph(), param(p));
        for (Param detail : {Param::broken, Param::half}) {
            if (declares(detail) && param(detail) != 0) {
                part += brief ? " (" + std::string(param_info(detail).name) + ")"
                              : " and " + std::string(param_info(detail).doc);
            }
        }
        parts.push_back(part);
    }
    if (declares(Param::flush_fails) && param(Param::flush_fails) != 0) {
        parts.push_back(brief ? "the flush fails"
                              : std::string(param_info(Param::flush_fails).doc));
    }
    return parts;
}

bool StoryTeller::walk_failed(int k) const {
    const RowData& row = row_of(k);
    const Step& step = step_of(k);
    const int nodes = interp_.layout().nodes();
    return std::any_of(row.params.begin(), row.params.end(), [&](Param p) {
        return (p == Param::fail || p == Param::reactivate_fail) &&
               step.params[static_cast<std::size_t>(p)] < nodes;
    });
}

// The failures of step k as a headline clause. Empty when the step failed nothing.
std::string StoryTeller::failure_clause(int k) const {
    const std::vector<std::string> parts = failure_parts(k);
    if (parts.empty()) {
        return "";
    }
    std::string what;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        what += (i == 0 ? "" : "; ") + parts[i];
    }
    std::string out = step_head(k, what) + what;
    if (walk_failed(k)) {
        out += "; nodes now: " + nodes_after(k, host_of(k));
    }
    return out + ".";
}

// Whether the steps from `from_step` on, run from `s`, still reach a state that violates the
// invariant. A step refused with its recorded outcome may take another outcome of the same row
// and host (with the flag flipped, migration_completion()'s fail label may re-activate nothing,
// so its `fail = node 0` is refused but `fail = none` goes on): the question is whether the
// story's course, not its exact parameters, depends on the flag. `budget` bounds the search.
bool StoryTeller::reaches_violation(int from_step, const State& s, int& budget) const {
    if (from_step > static_cast<int>(trace_.steps.size())) {
        Env env;
        return interp_.eval(invariants_ast(), invariant_->expr, s, env) == 0;
    }
    const Step& recorded = step_of(from_step);
    if (--budget < 0) {
        return false;
    }
    if (const auto next = interp_.apply(s, recorded)) {
        return reaches_violation(from_step + 1, *next, budget);
    }
    const RowData& row = interp_.table().rows[static_cast<std::size_t>(recorded.row)];
    std::vector<Param> outcome;
    std::vector<std::vector<int>> domains;
    for (Param p : row.params) {
        if (p != Param::host) {
            outcome.push_back(p);
            domains.push_back(interp_.param_values(p));
        }
    }
    std::vector<std::size_t> index(domains.size(), 0);
    do {
        Step other = recorded;
        for (std::size_t i = 0; i < outcome.size(); ++i) {
            other.params[static_cast<std::size_t>(outcome[i])] = domains[i][index[i]];
        }
        if (other.params == recorded.params || --budget < 0) {
            continue;
        }
        if (const auto next = interp_.apply(s, other)) {
            if (reaches_violation(from_step + 1, *next, budget)) {
                return true;
            }
        }
    } while (budget >= 0 && next_combination(index, domains));
    return false;
}

// The flags whose value decided the course: flipping one (in the state after an assignment that
// left it unchanged, or before the step whose condition read it) makes the rest of the trace
// refused or harmless. A flag whose flip changes nothing is not named, however much it looks
// like the cause: v8.0.0's seed story leaves block_inactive false, but its fail label never reads
// it, so the story does not depend on it (Kevin Wolf's point in the seed thread).
std::vector<std::pair<int, std::string>> StoryTeller::mattering_flags() const {
    std::vector<std::pair<int, std::string>> out;
    if (invariant_ == nullptr || invariant_->kind != InvariantKind::StatePredicate) {
        return out;
    }
    std::vector<Slot> named;
    for (int k = 1; k <= static_cast<int>(trace_.steps.size()); ++k) {
        for (const FlagCandidate& f : stories_[static_cast<std::size_t>(k - 1)].flags) {
            if (std::find(named.begin(), named.end(), f.slot) != named.end() || out.size() >= 3) {
                continue;
            }
            State flipped = f.after ? after(k) : before(k);
            const int v = value_of(interp_, flipped, f.slot);
            interp_.put(flipped, f.slot.var, f.slot.host, f.slot.node, 1 - v);
            int budget = 4096;
            if (reaches_violation(f.after ? k + 1 : k, flipped, budget) || budget < 0) {
                continue; // the story does not depend on it (or the search gave up: say nothing)
            }
            named.push_back(f.slot);
            out.emplace_back(k, "The story depends on " + name_of(f.slot) + " = " +
                                    value_text(f.slot, v) +
                                    (f.after ? ", left so by step " : ", read by step ") +
                                    std::to_string(k) + ": with " + value_text(f.slot, 1 - v) +
                                    ", the remaining steps reach no violation.");
        }
    }
    return out;
}

std::string list(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
    }
    return out;
}

// The step that violates the invariant: the assertion that fired, or what the last step changed
// that the invariant reads, with the unchanged facts around it.
std::string StoryTeller::violation_clause() const {
    const int k = static_cast<int>(trace_.steps.size());
    if (k == 0) {
        return "The initial state already violates the invariant.";
    }
    const RowData& row = row_of(k);
    const StepStory& story = stories_.back();
    const std::string fn = function_of(row);
    auto facts = [&](const std::vector<Read>& reads, const State& s, const Slot* except) {
        std::vector<std::string> out;
        for (const Read& r : reads) {
            if (except == nullptr || !(r.slot == *except)) {
                out.push_back(name_of(r.slot) + " = " +
                              value_text(r.slot, value_of(interp_, s, r.slot)));
            }
        }
        return out;
    };
    if (story.failed) {
        const FailedAssertion& f = *story.failed;
        const std::string actor = f.group >= 0 ? group_name(row, f.group) + "()" : fn;
        const auto found = facts(f.reads, before(k), nullptr);
        const std::string what = actor + (found.empty() ? "" : " finds " + list(found)) +
                                 " and QEMU aborts: " + f.message.message;
        return step_head(k, what) + what;
    }
    if (invariant_ == nullptr) {
        // No invariant to explain: what the last step changed.
        std::vector<Slot> changed;
        for (const Write& w : story.writes) {
            if (!unchanged(k, w.slot) &&
                std::find(changed.begin(), changed.end(), w.slot) == changed.end()) {
                changed.push_back(w.slot);
            }
        }
        return changed.empty() ? "" : preparation_clause(k, changed);
    }
    if (invariant_->kind != InvariantKind::StatePredicate) {
        return "After step " + std::to_string(k) + " (" + where(k) +
               "), no sequence of non-fault steps recovers the guest.";
    }
    const auto reads = reads_of(interp_, invariants_ast(), invariant_->expr, after(k), Env{});
    std::vector<std::string> acts;
    for (const Read& r : reads) {
        if (unchanged(k, r.slot)) {
            continue;
        }
        const auto w = std::find_if(story.writes.rbegin(), story.writes.rend(),
                                    [&](const Write& x) { return x.slot == r.slot; });
        const std::string actor =
            w == story.writes.rend() || w->group < 0 ? fn : group_name(row, w->group) + "()";
        const auto because = w == story.writes.rend() ? std::vector<std::string>{}
                                                      : facts(w->reads, after(k), &r.slot);
        // A ghost variable only records that the step happened: say what ran and why.
        const bool ghost = var_info(r.slot.var).origin == Origin::Ghost;
        acts.push_back(actor +
                       (ghost ? " runs"
                              : " sets " + name_of(r.slot) + " to " +
                                    value_text(r.slot, value_of(interp_, after(k), r.slot))) +
                       (because.empty() ? "" : " while " + list(because)) +
                       (ghost ? " (" + name_of(r.slot) + " becomes " +
                                    value_text(r.slot, value_of(interp_, after(k), r.slot)) + ")"
                              : ""));
    }
    std::vector<std::string> around;
    for (const Read& r : reads) {
        if (unchanged(k, r.slot)) {
            around.push_back(name_of(r.slot) + " = " +
                             value_text(r.slot, value_of(interp_, after(k), r.slot)));
        }
    }
    const std::string what = (acts.empty() ? "the state it leaves" : list(acts)) +
                             (around.empty() ? "" : ", with " + list(around)) + ".";
    return step_head(k, what) + what;
}

// What step k did to variables a later step of the story read: "bdrv_inactivate_all() sets
// node[0][0] to INACTIVE".
std::string StoryTeller::preparation_clause(int k, const std::vector<Slot>& slots) const {
    const RowData& row = row_of(k);
    const StepStory& story = stories_[static_cast<std::size_t>(k - 1)];
    std::vector<std::pair<std::string, std::vector<std::string>>> by_actor;
    for (const Slot& x : slots) {
        const auto w = std::find_if(story.writes.rbegin(), story.writes.rend(),
                                    [&](const Write& y) { return y.slot == x; });
        const std::string actor = w == story.writes.rend() || w->group < 0
                                      ? function_of(row)
                                      : group_name(row, w->group) + "()";
        auto entry = std::find_if(by_actor.begin(), by_actor.end(),
                                  [&](const auto& a) { return a.first == actor; });
        if (entry == by_actor.end()) {
            by_actor.push_back({actor, {}});
            entry = by_actor.end() - 1;
        }
        entry->second.push_back(name_of(x) + " to " +
                                value_text(x, value_of(interp_, after(k), x)));
    }
    std::vector<std::string> acts;
    for (const auto& [actor, sets] : by_actor) {
        acts.push_back(actor + " sets " + list(sets));
    }
    const std::string what = list(acts);
    return step_head(k, what) + what + ".";
}

// The paragraph, in the order of the steps: the failures; the steps that set what the failures
// and the last step read (one step back, so that a management command that inactivated the disks
// before a failing `cont` is told); the flags the story depends on; the violating step; the
// invariant in words.
std::string StoryTeller::headline() const {
    const int last = static_cast<int>(trace_.steps.size());
    std::vector<std::pair<int, std::string>> clauses;
    std::vector<int> told;
    for (int k = 1; k <= last; ++k) {
        const std::string f = failure_clause(k);
        if (!f.empty()) {
            clauses.emplace_back(k, f);
            told.push_back(k);
        }
    }
    if (last > 0) {
        told.push_back(last);
    }
    // The last step's sources, plus what its writes of the invariant's variables read (vm_start()
    // marks the ghost because node[0][0] was inactive: the step that inactivated it is told).
    std::vector<Slot> last_sources;
    if (last > 0) {
        const StepStory& story = stories_.back();
        last_sources = story.sources;
        if (invariant_ != nullptr && invariant_->kind == InvariantKind::StatePredicate) {
            for (const Read& r :
                 reads_of(interp_, invariants_ast(), invariant_->expr, after(last), Env{})) {
                for (const Write& w : story.writes) {
                    if (!(w.slot == r.slot) || unchanged(last, r.slot)) {
                        continue;
                    }
                    for (const Read& x : w.reads) {
                        if (unchanged(last, x.slot) && since(last, x.slot) > 0 &&
                            std::find(last_sources.begin(), last_sources.end(), x.slot) ==
                                last_sources.end()) {
                            last_sources.push_back(x.slot);
                        }
                    }
                }
            }
        }
    }
    std::vector<std::pair<int, std::vector<Slot>>> prepared;
    for (int k : told) {
        for (const Slot& x :
             k == last ? last_sources : stories_[static_cast<std::size_t>(k - 1)].sources) {
            const int j = since(k, x);
            // Where the migration is (s->state, the thread's position) is routine progress the
            // clauses' function names already tell; the steps that set the block layer's and the
            // run state's facts are the story.
            const DomainId d = var_info(x.var).domain;
            if (std::find(told.begin(), told.end(), j) != told.end() || d == DomainId::MigStatus ||
                d == DomainId::ThreadPc) {
                continue;
            }
            auto p = std::find_if(prepared.begin(), prepared.end(),
                                  [&](const auto& q) { return q.first == j; });
            if (p == prepared.end()) {
                prepared.push_back({j, {}});
                p = prepared.end() - 1;
            }
            if (std::find(p->second.begin(), p->second.end(), x) == p->second.end()) {
                p->second.push_back(x);
            }
        }
    }
    for (const auto& [j, slots] : prepared) {
        clauses.emplace_back(j, preparation_clause(j, slots));
    }
    std::string violation = violation_clause();
    if (!violation.empty()) {
        if (violation.back() != '.') {
            violation += ".";
        }
        clauses.emplace_back(last, violation);
    }
    for (const auto& flag : mattering_flags()) {
        clauses.push_back(flag);
    }
    std::stable_sort(clauses.begin(), clauses.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (const auto& [k, text] : clauses) {
        out += (out.empty() ? "" : " ") + text;
    }
    if (invariant_ != nullptr) {
        out += (out.empty() ? "" : " ") + std::string("This violates ") +
               std::string(invariant_->name) + ": " +
               lower_first(std::string(invariant_->statement));
    }
    return out;
}

// The headline cut to one line: the failures and where they happened, then the step that
// violates the invariant. The rows and parameters are in the full story.
Gist StoryTeller::gist() const {
    const int last = static_cast<int>(trace_.steps.size());
    if (last == 0) {
        return {"", "the initial state violates the invariant"};
    }
    auto on_role = [&](int k) {
        const RowData& row = row_of(k);
        const bool has_host =
            std::find(row.params.begin(), row.params.end(), Param::host) != row.params.end();
        return function_of(row) +
               (has_host ? " on the " + std::string(roles_at(k).host[host_of(k)]) : "");
    };
    std::vector<std::string> parts;
    for (int k = 1; k < last; ++k) {
        std::vector<std::string> failures = failure_parts(k, true);
        if (failures.empty()) {
            continue;
        }
        std::string part = row_of(k).actor == Actor::fault ? "" : on_role(k) + ": ";
        for (std::size_t i = 0; i < failures.size(); ++i) {
            part += (i == 0 ? "" : ", ") + failures[i];
        }
        parts.push_back(part);
    }
    const StepStory& story = stories_.back();
    parts.push_back(on_role(last));
    std::string end;
    const std::vector<std::string> last_failures = failure_parts(last, true);
    if (!last_failures.empty()) {
        parts.back() += ": " + list(last_failures);
    }
    const std::string then = last_failures.empty() ? ": " : ", then ";
    if (story.failed) {
        // "qemu-system-x86_64: ../block/io.c:1815: bdrv_co_write_req_prepare: Assertion `...'
        // failed." is told as "assert(...)"; an error_report() from after the program name.
        std::string message = story.failed->message.message;
        const std::size_t assertion = message.find("Assertion `");
        const std::size_t assertion_end = message.rfind("' failed");
        const std::size_t program = message.find(": ");
        if (assertion != std::string::npos && assertion_end != std::string::npos &&
            assertion_end > assertion) {
            message =
                "assert(" + message.substr(assertion + 11, assertion_end - assertion - 11) + ")";
        } else if (program != std::string::npos) {
            message = message.substr(program + 2);
        }
        end += (last_failures.empty() ? " aborts: " : then + "aborts: ") + message;
    } else if (invariant_ != nullptr && invariant_->kind != InvariantKind::StatePredicate) {
        end += (last_failures.empty() ? " leaves" : then + "it leaves") +
               " no way back to a running guest";
    } else if (invariant_ != nullptr) {
        std::vector<std::string> acts;
        for (const Read& r :
             reads_of(interp_, invariants_ast(), invariant_->expr, after(last), Env{})) {
            if (unchanged(last, r.slot)) {
                continue;
            }
            const auto w = std::find_if(story.writes.rbegin(), story.writes.rend(),
                                        [&](const Write& x) { return x.slot == r.slot; });
            const std::string actor = w == story.writes.rend() || w->group < 0
                                          ? ""
                                          : group_name(row_of(last), w->group) + "() ";
            const bool ghost = var_info(r.slot.var).origin == Origin::Ghost;
            const std::string act =
                ghost ? actor + "runs"
                      : actor + "sets " + name_of(r.slot) + " to " +
                            value_text(r.slot, value_of(interp_, after(last), r.slot));
            if (std::find(acts.begin(), acts.end(), act) == acts.end()) {
                acts.push_back(act);
            }
        }
        if (!acts.empty()) {
            end += then + list(acts);
        }
    }
    Gist out;
    out.state_change =
        !story.failed && invariant_ != nullptr && invariant_->kind == InvariantKind::StatePredicate;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        out.course += (i == 0 ? "" : i + 1 == parts.size() ? " > " : "; ") + parts[i];
    }
    out.outcome = end;
    return out;
}

std::string StoryTeller::format() const {
    std::string out = wrap_text(headline(), 100, "Headline: ", "  ");
    out += format_initial_state(interp_, trace_.initial) + "; " + host_name(0, roles_[0]) + ", " +
           host_name(1, roles_[0]) + "\n";
    if (const std::string legend = graph_legend(interp_.graph()); !legend.empty()) {
        out += wrap_text(legend, 100, "     ", "     ");
    }
    for (int k = 1; k <= static_cast<int>(trace_.steps.size()); ++k) {
        const RowData& row = row_of(k);
        const Step& step = step_of(k);
        std::string params;
        for (Param p : row.params) {
            const int v = step.params[static_cast<std::size_t>(p)];
            params += (params.empty() ? "" : ", ") + std::string(param_info(p).name) + "=" +
                      (p == Param::host ? host_name(v, roles_at(k))
                                        : param_value_name(p, v, interp_.graph()));
        }
        out += "  " + std::to_string(k) + ". " + std::string(row.name) + " (" + params + ")  -- " +
               std::string(row.qemu) + "\n";
        for (const auto& c : changes(interp_, before(k), after(k))) {
            out += "       " + c.variable + ": " + c.before + " -> " + c.after + "\n";
        }
        const StepStory& story = stories_[static_cast<std::size_t>(k - 1)];
        for (const Note& n : story.notes) {
            out += "       " + name_of(n.slot) + " = " +
                   value_text(n.slot, value_of(interp_, after(k), n.slot)) + " (unchanged" +
                   (n.since > 0 ? " since step " + std::to_string(n.since) : "") + "; " + n.why +
                   ")\n";
        }
        if (story.failed) {
            out += "       QEMU aborts: " + story.failed->message.message + "\n";
            out += "         (" + story.failed->message.provenance + ")\n";
        }
        if (!(roles_[static_cast<std::size_t>(k)] == roles_[static_cast<std::size_t>(k - 1)])) {
            out += "       roles now: " + host_name(0, roles_[static_cast<std::size_t>(k)]) + ", " +
                   host_name(1, roles_[static_cast<std::size_t>(k)]) + "\n";
        }
    }
    out += "Spec: docs/spec/" + spec_file_stem(interp_.table().version) +
           ".md (every row and helper of " + std::string(interp_.table().version) +
           "); abbreviations: handoff legend --version " + std::string(interp_.table().version) +
           "\n";
    return out;
}

} // namespace

Roles roles_of(const Interpreter& interp, const State& s, const Roles& before) {
    auto incoming = [&](int h) {
        const auto in = static_cast<Incoming>(interp.get(s, Var::incoming, h));
        return interp.get(s, Var::alive, h) != 0 && in != Incoming::NONE && in != Incoming::DONE;
    };
    auto outgoing = [&](int h) {
        return interp.get(s, Var::alive, h) != 0 &&
               static_cast<ThreadPc>(interp.get(s, Var::pc, h)) != ThreadPc::IDLE;
    };
    int destination = -1;
    if (incoming(0) != incoming(1)) {
        destination = incoming(0) ? 0 : 1;
    } else if (incoming(0)) {
        // Both listen or load (a source quit after the handover while its destination still
        // loads, and was started again): the one whose peer migrates to it.
        destination = outgoing(1) ? 0 : outgoing(0) ? 1 : -1;
    } else if (outgoing(0) != outgoing(1)) {
        destination = outgoing(0) ? 1 : 0;
    }
    if (destination < 0) {
        return before;
    }
    Roles r;
    r.host[destination] = "destination";
    r.host[1 - destination] = "source";
    return r;
}

std::string host_name(int host, const Roles& roles) {
    return "host " + std::to_string(host) + " (" + std::string(roles.host[host]) + ")";
}

std::string headline(const Interpreter& interp, const Trace& trace,
                     const InvariantData* invariant) {
    return StoryTeller(interp, trace, invariant).headline();
}

Gist gist(const Interpreter& interp, const Trace& trace, const InvariantData* invariant) {
    return StoryTeller(interp, trace, invariant).gist();
}

std::string format_story(const Interpreter& interp, const Trace& trace,
                         const InvariantData* invariant) {
    return StoryTeller(interp, trace, invariant).format();
}

} // namespace handoff::model
