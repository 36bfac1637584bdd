// Bounded model checking, incremental and by increasing depth: the first counterexample found is
// a shortest one. One solver and one unrolling serve every invariant of a version: at depth k a
// single query asks whether any invariant still open fails there; only when one does is each of
// them asked on its own. An invariant that holds at depth k is then asserted there for good (no
// shorter counterexample exists, so every state k steps from an initial one satisfies it), which
// prunes the deeper queries (as, optionally, does a partial-order reduction:
// Lowering::commuted_order). The formulas are Z3's, from the lowering; the solver is CaDiCaL, and
// each step of the unrolling a copy of one step's clauses simplified once by its preprocessing
// (3 to 20 times faster than Z3's SAT core on the same unrolling, bench/README.md).
#include "handoff/proofs/engines.hpp"

#include "sat.hpp"

#include <set>
#include <stdexcept>

namespace handoff::proofs {

namespace {

// param == value, over a step's bits.
z3::expr param_is(const Lowering& low, const StepVars& step, model::Param q, int value) {
    const Lowering::Code& c = low.param_code(q);
    z3::expr_vector bits(low.ctx());
    for (int j = 0; j < c.width; ++j) {
        const z3::expr b = step.bits[static_cast<unsigned>(c.first + j)];
        bits.push_back(((value >> j) & 1) != 0 ? b : !b);
    }
    return z3::mk_and(bits);
}

} // namespace

// Among the counterexamples of this depth, the one whose sequence of actions is lexicographically
// least (rows in table order, host 0 first), then, step by step, whose parameters are least
// (`no` before `yes`, `none` before the first node; see below for their order), then whose
// initial state is least, slot by slot: the answer does not depend on the solver or its
// heuristics, environment failures, which come first in the tables, come first in the story, and
// a step fails, half-fails or breaks a node only where the story needs it.
z3::model canonical(const Lowering& low, UnrollingSolver& solver, std::vector<z3::expr> assumptions,
                    const StateVars& initial, const std::vector<StepVars>& steps) {
    auto check_with = [&](const z3::expr& extra) {
        std::vector<z3::expr> tighter = assumptions;
        tighter.push_back(extra);
        return solver.sat(tighter);
    };
    auto fix = [&](const z3::expr& choice) {
        assumptions.push_back(choice);
        if (!solver.sat(assumptions)) {
            throw std::logic_error("BMC: a counterexample vanished while canonicalising it");
        }
    };
    for (const auto& step : steps) {
        int best = low.decode_action(solver.model(), step);
        for (;;) {
            z3::expr_vector smaller(low.ctx());
            for (int a = 0; a < best; ++a) {
                smaller.push_back(low.act_is(step, a));
            }
            if (!check_with(z3::mk_or(smaller))) {
                break;
            }
            best = low.decode_action(solver.model(), step);
        }
        fix(low.act_is(step, best));
        // The node the command addresses (`target`) first, then the Boolean outcomes (`half`,
        // `broken`, `flush_fails`: a half-done or breaking failure only where the story needs it),
        // then which node fails (`none`, else the earliest).
        const auto& action = low.actions()[static_cast<std::size_t>(best)];
        std::vector<model::Param> order;
        for (model::ParamKind kind :
             {model::ParamKind::Node, model::ParamKind::Flag, model::ParamKind::NodeOrNone}) {
            for (model::Param q :
                 low.interp().table().rows[static_cast<std::size_t>(action.row)].params) {
                if (model::param_info(q).kind == kind) {
                    order.push_back(q);
                }
            }
        }
        for (model::Param q : order) {
            const int current =
                low.decode_step(solver.model(), step).params[static_cast<std::size_t>(q)];
            for (int value : low.interp().param_values(q)) {
                if (value == current || check_with(param_is(low, step, q, value))) {
                    fix(param_is(low, step, q, value));
                    break;
                }
            }
        }
    }
    // The steps are fixed; what the initial states leave open (the capabilities, mostly) takes
    // each slot's least value that still leads to the violation. Only the values some initial
    // state has are tried.
    const std::vector<model::State> initial_states = low.interp().initial_states();
    for (int slot = 0; slot < low.slot_count(); ++slot) {
        const auto at = static_cast<std::size_t>(slot);
        const int current =
            static_cast<unsigned char>(low.decode_state(solver.model(), initial)[at]);
        std::set<int> possible;
        for (const model::State& s : initial_states) {
            possible.insert(static_cast<unsigned char>(s[at]));
        }
        if (possible.size() < 2) {
            continue;
        }
        for (int value : possible) {
            if (value == current || check_with(low.slot_is(initial, slot, value))) {
                fix(low.slot_is(initial, slot, value));
                break;
            }
        }
    }
    return solver.model();
}

// The unrolling as clauses, in one CaDiCaL solver that grows with the depth: the formulas are
// purely Boolean, and CaDiCaL decides them faster than Z3's SAT core (bench/README.md).
struct Bmc::Unrolling final : UnrollingSolver {
    Unrolling(const Lowering& lowering, const model::StepRestriction* restriction)
        : low(lowering), cnf({}), deadline(0), solver(cnf, deadline) {
        // One step, Domain && Trans (&& the restriction's condition on the step) over the
        // template's variables, simplified once with its states and step kept; each step of the
        // unrolling is a copy of it, so a restricted search pays for its constraint once.
        const StateVars& s = low.current();
        const StateVars t = low.make_state("'bmc");
        sat::Cnf one({});
        std::vector<int> kept;
        for (const z3::expr& bit : s.bits) {
            kept.push_back(one.var(bit));
        }
        for (const z3::expr& bit : t.bits) {
            kept.push_back(one.var(bit));
        }
        for (const z3::expr& bit : low.step().bits) {
            kept.push_back(one.var(bit));
        }
        std::vector<sat::Clause> clauses;
        const z3::expr step = restriction == nullptr
                                  ? low.domain(s) && low.trans(s, low.step(), t)
                                  : low.domain(s) && low.trans(s, low.step(), t) &&
                                        low.allowed(*restriction, s, low.step());
        one.constrain(step, 0, clauses);
        step_template = sat::simplified(one, clauses, kept);
        template_vars = kept.size();
    }

    // Domain && Trans from state `from` by step `by` into state `to`, as a copy of the template
    // (its own variables renamed to fresh ones).
    void add_step(const StateVars& from, const StepVars& by, const StateVars& to) {
        std::vector<int> rename;
        for (const StateVars* state : {&from, &to}) {
            for (const z3::expr& bit : state->bits) {
                rename.push_back(cnf.var(bit));
            }
        }
        for (const z3::expr& bit : by.bits) {
            rename.push_back(cnf.var(bit));
        }
        // The template numbers s, t and the step 1, 2, ... in that order, then its own.
        std::unordered_map<int, int> own;
        for (const sat::Clause& c : step_template) {
            sat::Clause copy;
            for (int l : c) {
                const int v = std::abs(l);
                int w = 0;
                if (static_cast<std::size_t>(v) <= template_vars) {
                    w = rename[static_cast<std::size_t>(v) - 1];
                } else {
                    auto [it, fresh] = own.try_emplace(v, 0);
                    if (fresh) {
                        it->second = cnf.fresh_var();
                    }
                    w = it->second;
                }
                copy.push_back(l < 0 ? -w : w);
            }
            solver.add(copy);
        }
    }

    void add(const z3::expr& e) {
        std::vector<sat::Clause> clauses;
        cnf.constrain(e, 0, clauses);
        for (const auto& c : clauses) {
            solver.add(c);
        }
    }
    bool sat(const std::vector<z3::expr>& assumptions) override {
        std::vector<int> lits;
        for (const z3::expr& a : assumptions) {
            lits.push_back(cnf.encode(a));
        }
        return sat_lits(lits);
    }
    bool sat_lits(const std::vector<int>& lits) {
        const bool answer = solver.solve(lits);
        if (answer) { // kept: the solver's values go when the next query is unsat
            values_.clear();
            for_each_bit([&](const z3::expr& bit) {
                const int v = cnf.known(bit);
                values_.push_back(v != 0 && solver.value(v));
            });
            model_.reset();
        }
        return answer;
    }
    // The last satisfying assignment of every state and step bit, as a Z3 model for the
    // lowering's decoders (a bit no clause mentions is false).
    z3::model model() override {
        if (!model_) {
            model_.emplace(low.ctx());
            std::size_t i = 0;
            for_each_bit([&](const z3::expr& bit) {
                z3::func_decl decl = bit.decl();
                z3::expr value = low.ctx().bool_val(values_.at(i++));
                model_->add_const_interp(decl, value);
            });
        }
        return *model_;
    }

    template <typename F>
    void for_each_bit(F&& f) const {
        for (const StateVars& s : *states) {
            for (const z3::expr& bit : s.bits) {
                f(bit);
            }
        }
        for (const StepVars& p : *steps) {
            for (const z3::expr& bit : p.bits) {
                f(bit);
            }
        }
    }

    const Lowering& low;
    sat::Cnf cnf;
    sat::Deadline deadline;
    sat::Sat solver;
    std::vector<sat::Clause> step_template;
    std::size_t template_vars = 0;
    const std::vector<StateVars>* states = nullptr;
    const std::vector<StepVars>* steps = nullptr;
    std::vector<bool> values_;
    std::optional<z3::model> model_;
};

Bmc::Bmc(const Lowering& low, std::vector<const model::InvariantData*> invs, bool partial_order,
         const model::StepRestriction* restriction)
    : low_(low), invs_(std::move(invs)), results_(invs_.size()),
      unrolling_(std::make_unique<Unrolling>(low, restriction)), partial_order_(partial_order),
      restriction_(restriction), own_seconds_(invs_.size(), 0.0) {
    if (partial_order_ && restriction_ != nullptr) {
        throw std::logic_error("BMC: the partial-order reduction may leave a restriction");
    }
    for (std::size_t i = 0; i < invs_.size(); ++i) {
        results_[i].version = std::string(low.interp().table().version);
        results_[i].invariant = std::string(invs_[i]->name);
        results_[i].engine = "bmc";
        results_[i].depth = -1;
        results_[i].restriction = restriction_ == nullptr ? "" : restriction_->name;
        open_.push_back(i);
    }
    states_.push_back(low.make_state("@0"));
    unrolling_->states = &states_;
    unrolling_->steps = &steps_;
    unrolling_->add(low.init(states_[0]));
    if (restriction_ != nullptr) {
        unrolling_->add(low.predicate(restriction_->ast, restriction_->initial, states_[0]));
    }
}

// Where a counterexample may end: anywhere, or in one of the restriction's last states.
z3::expr Bmc::may_end(const StateVars& s) const {
    return restriction_ == nullptr ? low_.ctx().bool_val(true)
                                   : low_.predicate(restriction_->ast, restriction_->last, s);
}

Bmc::~Bmc() = default;

void Bmc::close(std::size_t i) {
    std::erase(open_, i);
}

void Bmc::solved(std::size_t i, int k, const z3::model& m) {
    Result& r = results_[i];
    r.depth = k;
    r.seconds = own_seconds_[i];
    r.trace = extract_trace(low_, m, states_, steps_);
    std::optional<std::string> error = replay_error(low_.interp(), *invs_[i], *r.trace);
    if (!error && restriction_ != nullptr) {
        error = restriction_error(low_.interp(), *restriction_, *r.trace);
    }
    if (error) {
        r.bug = true;
        r.verdict = Verdict::unknown;
        r.detail = "BUG: the BMC counterexample does not replay on the interpreter: " + *error;
        r.trace.reset();
    } else {
        r.verdict = Verdict::violated;
        r.detail = restriction_ == nullptr
                       ? "shortest counterexample (" + std::to_string(k) +
                             " steps), replayed on the interpreter"
                       : "shortest " + restriction_->adjective + " counterexample (" +
                             std::to_string(k) +
                             " steps: every step one the restriction allows), replayed on the "
                             "interpreter";
    }
}

bool Bmc::run(int max_depth, double timeout) {
    Unrolling& u = *unrolling_;
    u.deadline = sat::Deadline(timeout);
    const double before = seconds_;
    bool finished = true;
    // Each invariant's own time: what was done for it alone (its candidate query and trace), and
    // an equal share of what was done for every open one (the unrolling, the joint query).
    double mark = 0;
    auto charge_open = [&] {
        const double now = u.deadline.elapsed();
        for (std::size_t i : open_) {
            own_seconds_[i] += (now - mark) / static_cast<double>(open_.size());
        }
        mark = now;
    };
    auto charge = [&](std::size_t i) {
        const double now = u.deadline.elapsed();
        own_seconds_[i] += now - mark;
        mark = now;
    };
    while (!open_.empty() && next_depth_ <= max_depth) {
        const int k = next_depth_;
        if (static_cast<int>(steps_.size()) < k) { // extend the unrolling by one step
            steps_.push_back(low_.make_step("@" + std::to_string(k - 1)));
            states_.push_back(low_.make_state("@" + std::to_string(k)));
            u.add_step(states_[states_.size() - 2], steps_.back(), states_.back());
            if (partial_order_ && steps_.size() >= 2) {
                u.add(
                    low_.commuted_order(steps_[steps_.size() - 2], steps_.back(), states_.back()));
            }
        }
        try {
            // One query for "does some open invariant fail at depth k", under a literal that
            // is switched off afterwards; then each candidate on its own.
            std::vector<int> bad;
            sat::Clause some_bad{-u.cnf.fresh_var()};
            const z3::expr end = may_end(states_.back());
            for (std::size_t i : open_) {
                bad.push_back(u.cnf.encode(!low_.invariant(*invs_[i], states_.back()) && end));
                some_bad.push_back(bad.back());
            }
            const int some = -some_bad.front();
            u.solver.add(some_bad);
            const bool any = u.sat_lits({some});
            u.solver.add({-some});
            charge_open();
            if (any) {
                const std::vector<std::size_t> candidates = open_;
                for (std::size_t j = 0; j < candidates.size(); ++j) {
                    const bool violated = u.sat_lits({bad[j]});
                    if (violated) {
                        const z3::expr failing =
                            !low_.invariant(*invs_[candidates[j]], states_.back()) && end;
                        const z3::model least =
                            canonical(low_, u, {failing}, states_.front(), steps_);
                        seconds_ = before + u.deadline.elapsed(); // the canonical trace included
                        charge(candidates[j]);
                        solved(candidates[j], k, least);
                        close(candidates[j]);
                    } else {
                        charge(candidates[j]);
                    }
                }
            }
        } catch (const sat::Interrupted&) {
            charge_open();
            stopped_ = "timeout";
            finished = false;
            break;
        }
        // What the query just showed, kept for the deeper ones: no path of k steps ends in a
        // violation (with a restriction: in a violation where a path may end; a state that
        // violates the invariant where the path may not end stays reachable, since a longer path
        // may go through it).
        const z3::expr end = may_end(states_.back());
        for (std::size_t i : open_) {
            results_[i].depth = k;
            u.add(z3::implies(end, low_.invariant(*invs_[i], states_.back())));
        }
        charge_open();
        ++next_depth_;
    }
    seconds_ = before + u.deadline.elapsed();
    return finished;
}

std::vector<Result> Bmc::results() const {
    std::vector<Result> out = results_;
    for (std::size_t i : open_) {
        Result& r = out[i];
        r.seconds = own_seconds_[i];
        r.verdict = r.depth >= 0 ? Verdict::bounded : Verdict::unknown;
        const std::string none = restriction_ == nullptr ? "no violation up to depth "
                                                         : "no " + restriction_->adjective +
                                                               " counterexample within depth ";
        r.detail =
            (stopped_.empty() ? "" : stopped_ + " at depth " + std::to_string(next_depth_) + "; ") +
            (r.depth >= 0 ? none + std::to_string(r.depth) : "no depth completed");
    }
    return out;
}

std::vector<Result> run_bmc_all(const Lowering& low,
                                const std::vector<const model::InvariantData*>& invs,
                                const EngineLimits& lim) {
    Bmc bmc(low, invs, lim.partial_order, lim.restriction);
    bmc.run(lim.max_depth, lim.timeout);
    return bmc.results();
}

Result run_bmc(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim) {
    return run_bmc_all(low, {&inv}, lim).front();
}

} // namespace handoff::proofs
