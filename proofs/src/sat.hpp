// The SAT layer under IC3 and BMC: Tseitin's encoding of the lowering's propositional Z3
// formulas into DIMACS clauses, and CaDiCaL answering queries over them under a deadline. Z3
// builds the formulas; on these purely Boolean problems CaDiCaL answers faster (bench/README.md).
#pragma once

#include "handoff/proofs/lowering.hpp"

#include <cadical.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace handoff::proofs::sat {

struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted") {}
};

// A query's time limit. Z3 does no searching here (CaDiCaL does), so no watchdog needs to
// interrupt the Z3 context, which the other engines go on using afterwards.
class Deadline {
  public:
    explicit Deadline(double seconds)
        : start_(std::chrono::steady_clock::now()),
          end_(start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds))) {}
    bool passed() const { return std::chrono::steady_clock::now() >= end_; }
    double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

  private:
    std::chrono::steady_clock::time_point start_, end_;
};

using Clause = std::vector<int>;

// Tseitin's encoding of the lowering's propositional Z3 formulas into DIMACS literals. Every
// subformula gets one variable, defined by equivalence clauses kept in one list for the solvers
// that share this Cnf (a definition only names a subformula: it constrains nothing else).
class Cnf {
  public:
    // `variables` get 1, 2, ... in this order.
    explicit Cnf(const std::vector<z3::expr>& variables) {
        for (const z3::expr& v : variables) {
            var(v);
        }
    }

    // The variable of a Boolean constant (a state, step or next-state bit).
    int var(const z3::expr& constant) {
        kept_.push_back(constant);
        auto [it, fresh] = memo_.try_emplace(constant.id(), 0);
        if (fresh) {
            it->second = ++vars_;
        }
        return it->second;
    }
    // The variable of a constant already encoded, or 0 (a constant no clause mentions).
    int known(const z3::expr& constant) const {
        const auto it = memo_.find(constant.id());
        return it == memo_.end() ? 0 : it->second;
    }
    int fresh_var() { return ++vars_; }
    int vars() const { return vars_; }

    // A literal equivalent to e (definitions appended to definitions()). The formula is kept
    // alive: the memo is by Z3's ids, which a freed term gives back for reuse.
    int encode(const z3::expr& e) {
        kept_.push_back(e);
        return lit(e);
    }
    const std::vector<Clause>& definitions() const { return defs_; }

    // Clauses (each with -when added, unless when is 0) that together say e. Conjunctions are
    // split, and a next-state bit defined by a chain ite(act == a1, v1, ite(act == a2, v2, ...
    // default)) over distinct actions becomes two clauses per branch with no variable per ite:
    // the lowering's transition is mostly such chains, and the solver then has far fewer
    // variables to assign. Anything else is one Tseitin literal.
    void constrain(const z3::expr& e, int when, std::vector<Clause>& out) {
        auto guarded = [&](Clause c) {
            if (when != 0) {
                c.push_back(-when);
            }
            out.push_back(std::move(c));
        };
        if (e.is_app() && e.decl().decl_kind() == Z3_OP_AND) {
            for (unsigned i = 0; i < e.num_args(); ++i) {
                constrain(e.arg(i), when, out);
            }
            return;
        }
        // A guard: act == a implies the row's condition, a clause per conjunct of it.
        if (e.is_app() && e.decl().decl_kind() == Z3_OP_IMPLIES) {
            const z3::expr& body = e.arg(1);
            kept_.push_back(e);
            const int premise = lit(e.arg(0));
            if (body.is_app() && body.decl().decl_kind() == Z3_OP_AND) {
                for (unsigned i = 0; i < body.num_args(); ++i) {
                    guarded({-premise, lit(body.arg(i))});
                }
            } else {
                guarded({-premise, lit(body)});
            }
            return;
        }
        if (e.is_app() && (e.decl().decl_kind() == Z3_OP_EQ || e.decl().decl_kind() == Z3_OP_IFF) &&
            e.num_args() == 2 && e.arg(0).is_const()) {
            std::vector<std::pair<z3::expr, z3::expr>> branches;
            z3::expr rest = e.arg(1);
            while (rest.is_app() && rest.decl().decl_kind() == Z3_OP_ITE) {
                branches.emplace_back(rest.arg(0), rest.arg(1));
                rest = rest.arg(2);
            }
            if (!branches.empty() && exclusive(branches)) {
                kept_.push_back(e);
                const int t = lit(e.arg(0));
                Clause none_taken;
                for (const auto& [cond, value] : branches) {
                    const int c = lit(cond), v = lit(value);
                    guarded({-c, -v, t});
                    guarded({-c, v, -t});
                    none_taken.push_back(c);
                }
                const int d = lit(rest);
                Clause keep_low = none_taken, keep_high = none_taken;
                keep_low.insert(keep_low.end(), {-d, t});
                keep_high.insert(keep_high.end(), {d, -t});
                guarded(keep_low);
                guarded(keep_high);
                return;
            }
        }
        guarded({encode(e)});
    }

  private:
    // The conditions are conjunctions of literals over the same constants (the action
    // selector's bits), no two with the same signs: at most one holds.
    static bool exclusive(const std::vector<std::pair<z3::expr, z3::expr>>& branches) {
        std::vector<std::vector<std::pair<unsigned, bool>>> patterns;
        for (const auto& branch : branches) {
            const z3::expr& cond = branch.first;
            std::vector<std::pair<unsigned, bool>> pattern;
            auto literal = [&](const z3::expr& l) {
                const bool negated = l.is_app() && l.decl().decl_kind() == Z3_OP_NOT;
                const z3::expr atom = negated ? l.arg(0) : l;
                if (!atom.is_const() || atom.is_true() || atom.is_false()) {
                    return false;
                }
                pattern.emplace_back(atom.id(), !negated);
                return true;
            };
            if (cond.is_app() && cond.decl().decl_kind() == Z3_OP_AND) {
                for (unsigned i = 0; i < cond.num_args(); ++i) {
                    if (!literal(cond.arg(i))) {
                        return false;
                    }
                }
            } else if (!literal(cond)) {
                return false;
            }
            std::sort(pattern.begin(), pattern.end());
            patterns.push_back(std::move(pattern));
        }
        for (std::size_t a = 0; a < patterns.size(); ++a) {
            for (std::size_t b = 0; b < a; ++b) {
                if (patterns[a].size() != patterns[b].size()) {
                    return false;
                }
                bool differ = false;
                for (std::size_t k = 0; k < patterns[a].size(); ++k) {
                    if (patterns[a][k].first != patterns[b][k].first) {
                        return false;
                    }
                    differ = differ || patterns[a][k].second != patterns[b][k].second;
                }
                if (!differ) {
                    return false;
                }
            }
        }
        return true;
    }

    int lit(const z3::expr& e) {
        if (auto it = memo_.find(e.id()); it != memo_.end()) {
            return it->second;
        }
        const int l = define(e);
        memo_.emplace(e.id(), l);
        return l;
    }

    int define(const z3::expr& e) {
        if (!e.is_app() || !e.is_bool()) {
            throw std::logic_error("CNF: not a propositional formula: " + e.to_string());
        }
        const Z3_decl_kind kind = e.decl().decl_kind();
        std::vector<int> args;
        for (unsigned i = 0; i < e.num_args(); ++i) {
            args.push_back(lit(e.arg(i)));
        }
        switch (kind) {
        case Z3_OP_UNINTERPRETED:
            if (!args.empty()) {
                break;
            }
            return ++vars_;
        case Z3_OP_TRUE:
            return constant_true();
        case Z3_OP_FALSE:
            return -constant_true();
        case Z3_OP_NOT:
            return -args[0];
        case Z3_OP_AND:
            return gate(args, true);
        case Z3_OP_OR:
            return gate(args, false);
        case Z3_OP_IMPLIES:
            return gate({-args[0], args[1]}, false);
        case Z3_OP_EQ:
        case Z3_OP_IFF:
            if (args.size() == 2) {
                return equivalence(args[0], args[1]);
            }
            break;
        case Z3_OP_XOR:
            if (args.size() == 2) {
                return -equivalence(args[0], args[1]);
            }
            break;
        case Z3_OP_ITE: {
            const int g = ++vars_, c = args[0], a = args[1], b = args[2];
            defs_.push_back({-g, -c, a});
            defs_.push_back({-g, c, b});
            defs_.push_back({g, -c, -a});
            defs_.push_back({g, c, -b});
            return g;
        }
        default:
            break;
        }
        throw std::logic_error("CNF: no clauses for the operator of " + e.to_string());
    }

    // g <-> AND(args) (conjunction) or g <-> OR(args).
    int gate(const std::vector<int>& args, bool conjunction) {
        const int g = ++vars_;
        const int sign = conjunction ? 1 : -1;
        Clause big{sign * g};
        for (int a : args) {
            defs_.push_back({-sign * g, sign * a});
            big.push_back(-sign * a);
        }
        defs_.push_back(std::move(big));
        return g;
    }
    int equivalence(int a, int b) {
        const int g = ++vars_;
        defs_.push_back({-g, -a, b});
        defs_.push_back({-g, a, -b});
        defs_.push_back({g, a, b});
        defs_.push_back({g, -a, -b});
        return g;
    }
    int constant_true() {
        if (true_ == 0) {
            true_ = ++vars_;
            defs_.push_back({true_});
        }
        return true_;
    }

    std::vector<z3::expr> kept_;
    std::unordered_map<unsigned, int> memo_;
    std::vector<Clause> defs_;
    int vars_ = 0;
    int true_ = 0;
};

// CaDiCaL with the definitions it has not seen yet added before each query (unless it was given
// simplified clauses instead), and the deadline as its terminator.
class Sat : CaDiCaL::Terminator {
  public:
    // With `definitions` false the solver takes only the clauses it is given (simplified()'s).
    Sat(const Cnf& cnf, const Deadline& deadline, bool definitions = true)
        : cnf_(cnf), deadline_(deadline), synced_(definitions ? 0 : cnf.definitions().size()),
          own_vars_from_(cnf.vars()), last_var_(cnf.vars()) {
        solver_.connect_terminator(this);
        // No profiling, and the real-time clock where CaDiCaL still reads a time: the process
        // time is a getrusage() system call, made six times a query with the defaults, and IC3's
        // tens of thousands of queries spent 10-15 % of their time in it (bench/README.md).
        solver_.set("profile", 0);
        solver_.set("realtime", 1);
    }
    ~Sat() override { solver_.disconnect_terminator(); }
    Sat(const Sat&) = delete;
    Sat& operator=(const Sat&) = delete;

    void add(const Clause& c) {
        for (int l : c) {
            solver_.add(l);
        }
        solver_.add(0);
    }
    // A variable of this solver alone (an activation literal), when several solvers share the
    // Cnf. CaDiCaL decides every variable up to the largest it has seen, used in its clauses or
    // not: variables shared by all solvers would have each of them decide the others'
    // activation literals in every query. (A solver alone on its Cnf takes Cnf::fresh_var.)
    int fresh_var() { return ++last_var_; }

    bool solve(const std::vector<int>& assumptions) {
        if (last_var_ != own_vars_from_ && cnf_.vars() != own_vars_from_) {
            throw std::logic_error("SAT: a formula was encoded after a solver numbered its own "
                                   "variables");
        }
        const auto& defs = cnf_.definitions();
        for (; synced_ < defs.size(); ++synced_) {
            add(defs[synced_]);
        }
        for (int l : assumptions) {
            solver_.assume(l);
        }
        const int answer = solver_.solve();
        if (answer == 0) {
            throw Interrupted();
        }
        return answer == 10;
    }
    bool value(int lit) { return solver_.val(lit) > 0; }
    int retired = 0; // temporary clauses switched off
    bool failed(int lit) { return solver_.failed(lit); }

  private:
    bool terminate() override { return deadline_.passed(); }

    const Cnf& cnf_;
    const Deadline& deadline_;
    CaDiCaL::Solver solver_;
    std::size_t synced_;
    int own_vars_from_, last_var_;
};

// The Cnf's definitions and `clauses`, simplified by CaDiCaL's preprocessing (variable
// elimination, subsumption, equivalent literals) with the variables of `kept` untouched:
// equisatisfiable with them under every assignment of those variables. Tseitin's encoding
// names every subformula, and most of those names can go: a solver given the result propagates
// over far fewer variables in each query.
inline std::vector<Clause> simplified(const Cnf& cnf, const std::vector<Clause>& clauses,
                                      const std::vector<int>& kept) {
    CaDiCaL::Solver solver;
    auto add = [&](const Clause& c) {
        for (int l : c) {
            solver.add(l);
        }
        solver.add(0);
    };
    for (const Clause& c : cnf.definitions()) {
        add(c);
    }
    for (const Clause& c : clauses) {
        add(c);
    }
    for (int v : kept) {
        solver.freeze(v);
    }
    solver.simplify(3);
    struct Collect : CaDiCaL::ClauseIterator {
        std::vector<Clause> out;
        bool clause(const std::vector<int>& c) override {
            out.push_back(c);
            return true;
        }
    } collect;
    solver.traverse_clauses(collect);
    return std::move(collect.out);
}

} // namespace handoff::proofs::sat
