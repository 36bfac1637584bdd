// Bounded model checking, incremental and by increasing depth: the first counterexample found is
// a shortest one. One solver and one unrolling serve every invariant of a version: at depth k a
// single query asks whether any invariant still open fails there; only when one does is each of
// them asked on its own. An invariant that holds at depth k is then asserted there for good (no
// shorter counterexample exists, so every state k steps from an initial one satisfies it), which
// prunes the deeper queries (as, optionally, does a partial-order reduction:
// Lowering::commuted_order).
#include "handoff/proofs/engines.hpp"

#include "watchdog.hpp"

namespace handoff::proofs {

namespace {

// A check the watchdog interrupted (or that the solver could not decide).
struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted") {}
};

z3::check_result check_or_throw(z3::solver& solver, const z3::expr_vector& assumptions) {
    const z3::check_result answer = solver.check(assumptions);
    if (answer == z3::unknown) {
        throw Interrupted();
    }
    return answer;
}

} // namespace

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
// least (rows in table order, host 0 first), and then, step by step, whose parameters are least
// (`no` before `yes`, `none` before the first node; see below for their order): the answer no
// longer depends on the solver's heuristics, environment failures, which come first in the tables,
// come first in the story, and a step fails, half-fails or breaks a node only where the story
// needs it.
z3::model canonical(const Lowering& low, z3::solver& solver, z3::expr_vector assumptions,
                    const std::vector<StepVars>& steps) {
    auto check_with = [&](const z3::expr& extra) {
        z3::expr_vector tighter(solver.ctx()); // a copy would share the vector
        for (const auto& a : assumptions) {
            tighter.push_back(a);
        }
        tighter.push_back(extra);
        return check_or_throw(solver, tighter) == z3::sat;
    };
    for (const auto& step : steps) {
        int best = low.decode_action(solver.get_model(), step);
        for (;;) {
            z3::expr_vector smaller(solver.ctx());
            for (int a = 0; a < best; ++a) {
                smaller.push_back(low.act_is(step, a));
            }
            if (!check_with(z3::mk_or(smaller))) {
                break;
            }
            best = low.decode_action(solver.get_model(), step);
        }
        assumptions.push_back(low.act_is(step, best));
        if (check_or_throw(solver, assumptions) != z3::sat) {
            throw std::logic_error("BMC: a counterexample vanished while canonicalising it");
        }
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
                low.decode_step(solver.get_model(), step).params[static_cast<std::size_t>(q)];
            for (int value : low.interp().param_values(q)) {
                if (value == current || check_with(param_is(low, step, q, value))) {
                    assumptions.push_back(param_is(low, step, q, value));
                    break;
                }
            }
            if (check_or_throw(solver, assumptions) != z3::sat) {
                throw std::logic_error("BMC: a counterexample vanished while canonicalising it");
            }
        }
    }
    return solver.get_model();
}

Bmc::Bmc(const Lowering& low, std::vector<const model::InvariantData*> invs, bool partial_order)
    : low_(low), invs_(std::move(invs)), results_(invs_.size()),
      // A pure Boolean problem: the incremental SAT solver, not the SMT core.
      solver_(low.ctx(), "QF_FD"), partial_order_(partial_order) {
    for (std::size_t i = 0; i < invs_.size(); ++i) {
        results_[i].version = std::string(low.interp().table().version);
        results_[i].invariant = std::string(invs_[i]->name);
        results_[i].engine = "bmc";
        results_[i].depth = -1;
        open_.push_back(i);
    }
    states_.push_back(low.make_state("@0"));
    solver_.add(low.init(states_[0]));
}

void Bmc::close(std::size_t i) {
    std::erase(open_, i);
}

void Bmc::solved(std::size_t i, int k, const z3::model& m) {
    Result& r = results_[i];
    r.depth = k;
    r.seconds = seconds_;
    r.trace = extract_trace(low_, m, states_, steps_);
    if (auto error = replay_error(low_.interp(), *invs_[i], *r.trace)) {
        r.bug = true;
        r.verdict = Verdict::unknown;
        r.detail = "BUG: the BMC counterexample does not replay on the interpreter: " + *error;
        r.trace.reset();
    } else {
        r.verdict = Verdict::violated;
        r.detail = "shortest counterexample (" + std::to_string(k) +
                   " steps), replayed on the interpreter";
    }
}

bool Bmc::run(int max_depth, double timeout) {
    z3::context& ctx = low_.ctx();
    Watchdog watchdog(ctx, timeout);
    const double before = seconds_;
    bool finished = true;
    while (!open_.empty() && next_depth_ <= max_depth) {
        const int k = next_depth_;
        const std::string at = "@" + std::to_string(k);
        if (static_cast<int>(steps_.size()) < k) { // extend the unrolling by one step
            steps_.push_back(low_.make_step("@" + std::to_string(k - 1)));
            states_.push_back(low_.make_state(at));
            solver_.add(low_.trans(states_[states_.size() - 2], steps_.back(), states_.back()));
            if (partial_order_ && steps_.size() >= 2) {
                solver_.add(
                    low_.commuted_order(steps_[steps_.size() - 2], steps_.back(), states_.back()));
            }
        }
        try {
            z3::expr_vector any_bad(ctx);
            std::vector<z3::expr> bad;
            for (std::size_t i : open_) {
                bad.push_back(ctx.bool_const(("bad" + std::to_string(i) + at).c_str()));
                solver_.add(z3::implies(bad.back(), !low_.invariant(*invs_[i], states_.back())));
                any_bad.push_back(bad.back());
            }
            const z3::expr some = ctx.bool_const(("some_bad" + at).c_str());
            solver_.add(z3::implies(some, z3::mk_or(any_bad)));
            z3::expr_vector query(ctx);
            query.push_back(some);
            if (check_or_throw(solver_, query) == z3::sat) {
                const std::vector<std::size_t> candidates = open_;
                for (std::size_t j = 0; j < candidates.size(); ++j) {
                    z3::expr_vector one(ctx);
                    one.push_back(bad[j]);
                    if (check_or_throw(solver_, one) == z3::sat) {
                        seconds_ = before + watchdog.elapsed();
                        solved(candidates[j], k, canonical(low_, solver_, one, steps_));
                        close(candidates[j]);
                    }
                }
            }
        } catch (const Interrupted&) {
            stopped_ = watchdog.fired() ? "timeout" : "solver unknown: " + solver_.reason_unknown();
            finished = false;
            break;
        }
        for (std::size_t i : open_) {
            results_[i].depth = k;
            solver_.add(low_.invariant(*invs_[i], states_.back()));
        }
        ++next_depth_;
    }
    seconds_ = before + watchdog.elapsed();
    return finished;
}

std::vector<Result> Bmc::results() const {
    std::vector<Result> out = results_;
    for (std::size_t i : open_) {
        Result& r = out[i];
        r.seconds = seconds_;
        r.verdict = r.depth >= 0 ? Verdict::bounded : Verdict::unknown;
        r.detail =
            (stopped_.empty() ? "" : stopped_ + " at depth " + std::to_string(next_depth_) + "; ") +
            (r.depth >= 0 ? "no violation up to depth " + std::to_string(r.depth)
                          : "no depth completed");
    }
    return out;
}

std::vector<Result> run_bmc_all(const Lowering& low,
                                const std::vector<const model::InvariantData*>& invs,
                                const EngineLimits& lim) {
    Bmc bmc(low, invs, lim.partial_order);
    bmc.run(lim.max_depth, lim.timeout);
    return bmc.results();
}

Result run_bmc(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim) {
    return run_bmc_all(low, {&inv}, lim).front();
}

} // namespace handoff::proofs
