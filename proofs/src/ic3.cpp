// IC3/PDR of our own, over the lowering's Boolean state bits (Bradley, "SAT-based model checking
// without unrolling", 2011; Een, Mishchenko and Brayton, "Efficient implementation of property
// directed reachability", 2011), with CaDiCaL as its SAT solver. Spacer reads the same formulas
// but generalises through arithmetic, and times out on valid-runstate-transitions; the plain
// propositional algorithm finds the short clauses (relations between the runstate, the
// migration's status and the block layer of both hosts) such an invariant is made of. It asks
// tens of thousands of small questions, which CaDiCaL answers in about 0.1 ms where a Z3 solver
// took 0.7 ms: over a transition relation simplified once by CaDiCaL's preprocessing, which
// leaves about 770 of its 3,400 variables (sat.hpp, bench/README.md).
//
//   frames    F_0 = Init; F_1..F_k, each a set of blocked cubes (F_i holds the clauses of every
//             level >= i: a clause learnt at level j holds in every state at most j steps from
//             an initial one);
//   blocking  a state of F_k that violates the invariant is a proof obligation at level k; an
//             obligation (c, i) either has a predecessor in F_{i-1} (generalised to the part
//             that still leads into c: a new obligation at i-1) or is blocked: the cube is
//             shrunk (unsat core, then literal by literal, blocking counterexamples to
//             generalisation on the way) and its negation learnt as high as it holds;
//   pushing   after each level, every clause that F_i && Trans keeps moves to F_{i+1}; when a
//             level empties, the clauses above it are an inductive invariant;
//   adopting  before the first level, another proof's clauses (EngineLimits::ic3_seed) that hold
//             initially and that no step from them and the invariant breaks (Houdini) join every
//             frame: the neighbouring version's or profile's strengthening, mostly reused.
//
// Nothing it says is trusted: "proved" needs the certificate of certify() (three queries to Z3
// on the original formulas, not on this file's clauses), and an obligation that reaches Init
// ends in "unknown" for BMC to settle, since only BMC's traces are replayed and printed.
#include "handoff/proofs/engines.hpp"

#include "sat.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <memory>
#include <queue>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

namespace handoff::proofs {

using sat::Clause;
using sat::Cnf;
using sat::Deadline;
using sat::Interrupted;
using sat::Sat;

namespace {

// A cube: literals over state bits, each 2 * bit + (1 if the bit is false), sorted.
using Cube = std::vector<int>;

// A cube as bit masks, for the containment tests IC3 makes between its SAT queries (is an
// obligation blocked, does a known step land in a cube, does a cube meet Init): tens of millions
// in a proof, so the masks are held in place rather than behind a pointer. Four words hold the
// 154 state bits of 16 nodes with room to spare.
constexpr std::size_t kPackedWords = 4;
struct Packed {
    std::array<std::uint64_t, kPackedWords> mask{}, value{};
};

Packed pack(const Cube& c) {
    Packed p;
    for (int l : c) {
        const auto bit = static_cast<std::size_t>(l >> 1);
        p.mask[bit / 64] |= std::uint64_t{1} << (bit % 64);
        if ((l & 1) == 0) {
            p.value[bit / 64] |= std::uint64_t{1} << (bit % 64);
        }
    }
    return p;
}

// Every literal of `small` is one of `big`'s (big's states are all in small).
bool within(const Packed& small, const Packed& big) {
    std::uint64_t outside = 0;
    for (std::size_t w = 0; w < kPackedWords; ++w) {
        outside |=
            (small.mask[w] & ~big.mask[w]) | ((small.value[w] ^ big.value[w]) & small.mask[w]);
    }
    return outside == 0;
}

// A learnt clause, kept as the cube it blocks.
struct Lemma {
    Cube cube;
    Packed packed;
    bool operator==(const Lemma& o) const { return cube == o.cube; }
};

class Ic3 {
  public:
    Ic3(const Lowering& low, const model::InvariantData& inv, const Deadline& deadline)
        : low_(low), deadline_(deadline), s_(low.current()), t_(low.make_state("'ic3")),
          inv_expr_(low.invariant(inv, s_)), frame_cnf_(variables()), lift_cnf_(variables()),
          inv_cnf_(variables()) {
        if (s_.bits.size() > 64 * kPackedWords) {
            throw std::runtime_error("IC3 handles at most " + std::to_string(64 * kPackedWords) +
                                     " state bits; this instance has " +
                                     std::to_string(s_.bits.size()));
        }
        for (unsigned b = 0; b < s_.bits.size(); ++b) {
            s_var_.push_back(frame_cnf_.var(s_.bits[b]));
            t_var_.push_back(frame_cnf_.var(t_.bits[b]));
        }
        for (const z3::expr& bit : low.step().bits) {
            p_var_.push_back(frame_cnf_.var(bit));
        }
        // Each solver holds the definitions of its own formulas only: a definition it never
        // uses still costs it propagation. The frames' Trans is simplified once, with every
        // variable a query or a clause added later names kept: it loses most of Tseitin's
        // names. The lifting solver keeps Next as encoded: its unsat cores, the lifted
        // predecessors, come out smaller that way (24 literals on average against 29 on
        // v8.0.0's runstate proof; the four runstate proofs ask 50k queries, not 88k).
        domain_ = frame_cnf_.encode(low.domain(s_));
        step_ = frame_cnf_.fresh_var();
        frame_cnf_.constrain(low.guard(s_, low.step()), step_, trans_clauses_);
        frame_cnf_.constrain(low.next(s_, low.step(), t_), step_, trans_clauses_);
        inv_ = frame_cnf_.encode(inv_expr_);
        guard_ = lift_cnf_.encode(low.guard(s_, low.step()));
        lift_cnf_.constrain(low.next(s_, low.step(), t_), 0, next_clauses_);
        std::vector<int> kept = s_var_;
        kept.insert(kept.end(), t_var_.begin(), t_var_.end());
        kept.insert(kept.end(), p_var_.begin(), p_var_.end());
        kept.insert(kept.end(), {step_, inv_});
        trans_clauses_.push_back({domain_});
        trans_clauses_ = sat::simplified(frame_cnf_, trans_clauses_, kept);
        inv_domain_ = inv_cnf_.encode(low.domain(s_) && inv_expr_);
        inv_solver_ = std::make_unique<Sat>(inv_cnf_, deadline_);
        inv_solver_->add({inv_domain_});
        initial_states(low);
        add_frame(); // F_0: Init
        add_frame(); // F_1
    }

    enum class Outcome { proved, reached_init };

    Outcome run(const std::vector<NamedClause>* seed) {
        for (const Cube& state : initial_) {
            std::vector<int> assumptions;
            for (int l : state) {
                assumptions.push_back(s_lit(l));
            }
            if (!solve(*inv_solver_, assumptions)) {
                return Outcome::reached_init;
            }
        }
        if (seed != nullptr) {
            adopt(*seed);
        }
        for (;;) {
            const int k = top();
            // frame(k) anew each time: blocking may rebuild its solver (retire()).
            while (solve(frame(k), {-inv_})) {
                if (!block(bad_cube(state_of(frame(k))), k)) {
                    return Outcome::reached_init;
                }
            }
            add_frame();
            if (propagate()) {
                return Outcome::proved;
            }
        }
    }

    // The inductive invariant found: the invariant and the clauses above the level that emptied.
    z3::expr invariant() const {
        z3::context& ctx = low_.ctx();
        z3::expr_vector parts(ctx);
        parts.push_back(inv_expr_);
        for (const Cube& cube : lemmas()) {
            z3::expr_vector lits(ctx);
            for (int l : cube) {
                const z3::expr b = s_.bits[static_cast<unsigned>(l >> 1)];
                lits.push_back((l & 1) != 0 ? b : !b);
            }
            parts.push_back(z3::mk_or(lits));
        }
        return z3::mk_and(parts);
    }
    // The cubes whose negations strengthen the invariant into an inductive one: the adopted
    // candidates and the lemmas above the level that emptied.
    std::vector<Cube> lemmas() const {
        std::vector<Cube> out = adopted_;
        for (std::size_t i = static_cast<std::size_t>(fixpoint_) + 1; i < frames_.size(); ++i) {
            for (const Lemma& lemma : frames_[i]) {
                out.push_back(lemma.cube);
            }
        }
        return out;
    }
    // The same clauses by the names of their bits.
    std::vector<NamedClause> named_lemmas() const {
        std::vector<NamedClause> out;
        for (const Cube& cube : lemmas()) {
            NamedClause clause;
            for (int l : cube) {
                // The cube's literal says the bit's value; the clause says the other one.
                clause.push_back(
                    {s_.bits[static_cast<unsigned>(l >> 1)].decl().name().str(), (l & 1) != 0});
            }
            out.push_back(std::move(clause));
        }
        return out;
    }
    std::size_t clauses() const { return lemmas().size(); }
    std::size_t adopted() const { return adopted_.size(); }
    int levels() const { return top(); }
    std::size_t queries() const { return queries_; }

  private:
    int top() const { return static_cast<int>(frames_.size()) - 1; }
    Sat& frame(int i) { return *solvers_[static_cast<std::size_t>(i)]; }

    int s_lit(int l) const { return (l & 1) != 0 ? -s_var_[l >> 1] : s_var_[l >> 1]; }
    int t_lit(int l) const { return (l & 1) != 0 ? -t_var_[l >> 1] : t_var_[l >> 1]; }
    Clause negation(const Cube& c) const {
        Clause out;
        for (int l : c) {
            out.push_back(-s_lit(l));
        }
        return out;
    }

    bool solve(Sat& sat, const std::vector<int>& assumptions) {
        ++queries_;
        return sat.solve(assumptions);
    }

    // Houdini (Flanagan and Leino, 2001) on another proof's lemmas: the candidates that hold in
    // every initial state and that no step takes out of them (with the invariant assumed too, as
    // IC3's frames do) are the largest such set, found by dropping a candidate whenever some step
    // from a state of them all leaves it, until none is dropped. Every reachable state is in the
    // set as long as the invariant holds, so it joins every frame; the certificate checks what
    // IC3 ends with as if it had found them itself.
    void adopt(const std::vector<NamedClause>& seed) {
        std::unordered_map<std::string, int> bit_of;
        for (unsigned b = 0; b < s_.bits.size(); ++b) {
            bit_of.emplace(s_.bits[b].decl().name().str(), static_cast<int>(b));
        }
        std::vector<Cube> candidates;
        std::set<Cube> seen;
        for (const NamedClause& clause : seed) {
            Cube cube;
            for (const NamedLiteral& l : clause) {
                const auto it = bit_of.find(l.bit);
                if (it == bit_of.end()) {
                    cube.clear(); // a bit this lowering does not have: the clause means nothing
                    break;
                }
                cube.push_back(2 * it->second + (l.positive ? 1 : 0));
            }
            std::sort(cube.begin(), cube.end());
            if (!cube.empty() && !meets_init(cube) && seen.insert(cube).second) {
                candidates.push_back(std::move(cube));
            }
        }
        Sat sat(frame_cnf_, deadline_, false);
        for (const Clause& c : trans_clauses_) {
            sat.add(c);
        }
        std::vector<int> act;
        std::vector<Packed> packed;
        for (const Cube& c : candidates) {
            act.push_back(sat.fresh_var());
            Clause clause = negation(c);
            clause.push_back(-act.back());
            sat.add(clause);
            packed.push_back(pack(c));
        }
        std::vector<bool> alive(candidates.size(), true);
        for (bool dropped = true; dropped;) {
            dropped = false;
            for (std::size_t i = 0; i < candidates.size(); ++i) {
                if (!alive[i]) {
                    continue;
                }
                std::vector<int> assumptions{step_lit(), inv_};
                for (std::size_t j = 0; j < candidates.size(); ++j) {
                    if (alive[j]) {
                        assumptions.push_back(act[j]);
                    }
                }
                for (int l : candidates[i]) {
                    assumptions.push_back(t_lit(l));
                }
                if (!solve(sat, assumptions)) {
                    continue;
                }
                // The successor leaves every candidate it lies in, not only this one.
                const Packed s = pack(next_state_of(sat));
                for (std::size_t j = 0; j < candidates.size(); ++j) {
                    if (alive[j] && within(packed[j], s)) {
                        alive[j] = false;
                    }
                }
                dropped = true;
            }
        }
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            if (alive[i]) {
                adopted_.push_back(candidates[i]);
                trans_clauses_.push_back(negation(candidates[i]));
                for (auto& solver : solvers_) {
                    solver->add(negation(candidates[i]));
                }
            }
        }
    }

    // The state, next-state and step bits, numbered alike in every Cnf.
    std::vector<z3::expr> variables() const {
        std::vector<z3::expr> out;
        for (unsigned b = 0; b < s_.bits.size(); ++b) {
            out.push_back(s_.bits[b]);
            out.push_back(t_.bits[b]);
        }
        for (const z3::expr& bit : low_.step().bits) {
            out.push_back(bit);
        }
        return out;
    }

    // Init as the list of its states (one per capability combination): whether a cube meets
    // Init is asked after every step of a generalisation, and a scan answers it at no cost.
    void initial_states(const Lowering& low) {
        Cnf cnf(variables());
        const int init = cnf.encode(low.init(s_) && low.domain(s_));
        Sat sat(cnf, deadline_);
        sat.add({init});
        while (sat.solve({})) {
            initial_.push_back(state_of(sat));
            initial_packed_.push_back(pack(initial_.back()));
            Clause other;
            for (int l : initial_.back()) {
                other.push_back(-s_lit(l));
            }
            sat.add(other);
        }
    }

    // F_i's solver: Domain, Trans under a literal only the questions about successors assume
    // (a state without successors, a crash, must still be found by the question for a
    // violation), Init for i = 0, and the clauses of the levels >= i.
    void add_frame() {
        solvers_.push_back(new_frame_solver(static_cast<int>(solvers_.size())));
        frames_.emplace_back();
    }

    // CaDiCaL keeps a retired temporary clause (satisfied for good by its literal's negation)
    // in its watch lists until a garbage collection, which IC3's short queries rarely reach: a
    // frame's solver is rebuilt once enough of them have piled up.
    static constexpr int kRetiredBeforeRebuild = 2000;

    void retire(Sat& sat, int act, int i) {
        sat.add({-act});
        if (++sat.retired > kRetiredBeforeRebuild) {
            solvers_[static_cast<std::size_t>(i)] = new_frame_solver(i);
        }
    }

    std::unique_ptr<Sat> new_frame_solver(int level) {
        auto sat = std::make_unique<Sat>(frame_cnf_, deadline_, false);
        for (const Clause& c : trans_clauses_) {
            sat->add(c);
        }
        if (level == 0) {
            std::vector<int> choices;
            for (const Cube& state : initial_) {
                const int chosen = sat->fresh_var();
                choices.push_back(chosen);
                for (int l : state) {
                    sat->add({-chosen, s_lit(l)});
                }
            }
            sat->add(choices);
        }
        for (std::size_t j = static_cast<std::size_t>(std::max(level, 1)); j < frames_.size();
             ++j) {
            for (const Lemma& lemma : frames_[j]) {
                sat->add(negation(lemma.cube));
            }
        }
        return sat;
    }
    int step_lit() const { return step_; }

    Cube state_of(Sat& sat) const { return cube_of(sat, s_var_); }
    Cube next_state_of(Sat& sat) const { return cube_of(sat, t_var_); }
    static Cube cube_of(Sat& sat, const std::vector<int>& vars) {
        Cube c;
        for (std::size_t b = 0; b < vars.size(); ++b) {
            c.push_back(static_cast<int>(2 * b) + (sat.value(vars[b]) ? 0 : 1));
        }
        return c;
    }

    // The literals of a state that already force the violation (a core of cube && Inv).
    Cube bad_cube(const Cube& state) {
        std::vector<int> assumptions;
        for (int l : state) {
            assumptions.push_back(s_lit(l));
        }
        if (solve(*inv_solver_, assumptions)) {
            throw std::logic_error("IC3: a violating state satisfies the invariant");
        }
        return in_core(*inv_solver_, state, false);
    }

    // The literals of c (read at the current or the next state) that the last, unsatisfiable,
    // query needed among its assumptions.
    Cube in_core(Sat& sat, const Cube& c, bool next) const {
        Cube out;
        for (int l : c) {
            if (sat.failed(next ? t_lit(l) : s_lit(l))) {
                out.push_back(l);
            }
        }
        return out;
    }

    bool meets_init(const Cube& c) const {
        const Packed p = pack(c);
        return std::any_of(initial_packed_.begin(), initial_packed_.end(),
                           [&](const Packed& state) { return within(p, state); });
    }

    // Is !c inductive relative to F_i (F_i && !c && Trans && c' unsat)? On yes, `core` is the
    // part of c (read at the next state) the answer needed; on no, the predecessor and its step
    // are kept for lift().
    bool relatively_inductive(const Cube& c, int i, Cube* core) {
        if (const Witness* w = known_step_into(c, i)) {
            predecessor_ = w->pred_cube;
            predecessor_step_ = w->step;
            return false;
        }
        Sat& sat = frame(i);
        const int act = sat.fresh_var();
        Clause temporary = negation(c);
        temporary.push_back(-act);
        sat.add(temporary);
        std::vector<int> assumptions{act, step_lit()};
        for (int l : c) {
            assumptions.push_back(t_lit(l));
        }
        const bool reachable = solve(sat, assumptions);
        if (reachable) {
            predecessor_ = state_of(sat);
            predecessor_step_.clear();
            for (int v : p_var_) {
                predecessor_step_.push_back(sat.value(v) ? v : -v);
            }
            witnesses_[next_witness_++ % kWitnesses] = {
                pack(predecessor_), predecessor_, predecessor_step_, pack(next_state_of(sat))};
        } else if (core != nullptr) {
            *core = in_core(sat, c, true);
        }
        retire(sat, act, i); // the temporary clause
        return !reachable;
    }

    // A step the solvers found before, from a state of F_i outside c into c: it answers "not
    // relatively inductive" again without a query (the frames only grow, so the question is
    // whether its first state is still in F_i). Most failed attempts to push a clause or to drop
    // a literal fail on a step seen before.
    struct Witness {
        Packed pred;
        Cube pred_cube;
        std::vector<int> step;
        Packed succ;
    };
    static constexpr std::size_t kWitnesses = 1024;

    const Witness* known_step_into(const Cube& c, int i) const {
        const Packed p = pack(c);
        for (const Witness& w : witnesses_) {
            if (w.pred_cube.empty() || !within(p, w.succ) || within(p, w.pred)) {
                continue;
            }
            const bool in_frame =
                i == 0 ? std::find(initial_.begin(), initial_.end(), w.pred_cube) != initial_.end()
                       : !blocked_at(w.pred, i);
            if (in_frame) {
                return &w;
            }
        }
        return nullptr;
    }

    // The part of the predecessor that, with the same step, still leads into `target`: the
    // literals of a core of pred && step && Next && !(Guard && target'). Next is a function of
    // the state and the step, and Guard keeps the step enabled, so every state of the result
    // takes that step into `target`.
    Cube lift(const Cube& target) {
        if (!lift_solver_) {
            lift_solver_ = std::make_unique<Sat>(lift_cnf_, deadline_);
            for (const Clause& c : next_clauses_) {
                lift_solver_->add(c);
            }
        }
        const int act = lift_solver_->fresh_var();
        Clause escape{-act, -guard_};
        for (int l : target) {
            escape.push_back(-t_lit(l));
        }
        lift_solver_->add(escape);
        std::vector<int> assumptions{act};
        assumptions.insert(assumptions.end(), predecessor_step_.begin(), predecessor_step_.end());
        for (int l : predecessor_) {
            assumptions.push_back(s_lit(l));
        }
        if (solve(*lift_solver_, assumptions)) {
            throw std::logic_error("IC3: a predecessor does not lead into its obligation");
        }
        Cube out = in_core(*lift_solver_, predecessor_, false);
        lift_solver_->add({-act});
        if (++lift_solver_->retired > kRetiredBeforeRebuild) {
            lift_solver_.reset();
        }
        return out;
    }

    // A cube of c whose negation is inductive relative to F_i and which misses Init: the core,
    // with c's literals added back while it meets Init, then literals dropped.
    Cube generalize(const Cube& c, const Cube& core, int i) {
        Cube g = core;
        for (int l : c) {
            if (!meets_init(g)) {
                break;
            }
            if (!std::binary_search(g.begin(), g.end(), l)) {
                g.insert(std::lower_bound(g.begin(), g.end(), l), l);
            }
        }
        return drop_literals(std::move(g), i, 0);
    }

    // MIC with counterexamples to generalisation (Hassan, Bradley and Somenzi, "Better
    // generalization in IC3", 2013): a literal is dropped when the smaller cube, or the part of
    // it a blocking predecessor agrees with, is still inductive relative to F_i; a predecessor
    // that F_{i-1} can block is blocked first (a CTG), which often lets the drop go through.
    Cube drop_literals(Cube g, int i, int depth) {
        // After a drop (whose core may take other literals with it) the remaining literals are
        // tried again from the first: the smaller cube may no longer need one that was needed.
        for (std::size_t j = 0; j < g.size();) {
            Cube smaller = g;
            smaller.erase(smaller.begin() + static_cast<std::ptrdiff_t>(j));
            if (down(smaller, i, depth)) {
                g = std::move(smaller);
                j = 0;
            } else {
                ++j;
            }
        }
        return g;
    }

    static constexpr int kCtgDepth = 1;
    static constexpr int kCtgsPerDrop = 3;

    // Shrinks c to a cube inside it whose negation is inductive relative to F_i, or says none.
    bool down(Cube& c, int i, int depth) {
        int ctgs = 0;
        for (;;) {
            if (c.empty() || meets_init(c)) {
                return false;
            }
            Cube core;
            if (relatively_inductive(c, i, &core)) {
                if (!core.empty() && !meets_init(core)) {
                    c = std::move(core);
                }
                return true;
            }
            if (depth >= kCtgDepth) {
                return false;
            }
            const Cube ctg = predecessor_;
            Cube ctg_core;
            if (ctgs < kCtgsPerDrop && i > 0 && !meets_init(ctg) &&
                relatively_inductive(ctg, i - 1, &ctg_core)) {
                ++ctgs;
                int level = i;
                while (level < top() && relatively_inductive(ctg, level, nullptr)) {
                    ++level;
                }
                Cube g = ctg_core.empty() || meets_init(ctg_core) ? ctg : ctg_core;
                learn(drop_literals(std::move(g), level - 1, depth + 1), level);
            } else {
                ctgs = 0;
                // Keep the literals of c the predecessor agrees with: it must stay outside.
                Cube joined;
                std::set_intersection(c.begin(), c.end(), ctg.begin(), ctg.end(),
                                      std::back_inserter(joined));
                if (joined.size() == c.size()) {
                    return false;
                }
                c = std::move(joined);
            }
        }
    }

    // !g holds up to `level`: F_1..F_level learn it, and drop the clauses it subsumes.
    void learn(const Cube& g, int level) {
        const Packed packed = pack(g);
        for (int i = 1; i <= level; ++i) {
            std::erase_if(frames_[static_cast<std::size_t>(i)],
                          [&](const Lemma& d) { return within(packed, d.packed); });
            frame(i).add(negation(g));
        }
        frames_[static_cast<std::size_t>(level)].push_back({g, packed});
    }

    bool blocked_at(const Cube& c, int level) const { return blocked_at(pack(c), level); }
    bool blocked_at(const Packed& c, int level) const {
        for (std::size_t i = static_cast<std::size_t>(level); i < frames_.size(); ++i) {
            for (const Lemma& d : frames_[i]) {
                if (within(d.packed, c)) {
                    return true;
                }
            }
        }
        return false;
    }

    struct Obligation {
        Cube cube;
        int level;
        std::size_t order;
        bool operator<(const Obligation& o) const {
            // std::priority_queue pops the greatest: the lowest level, then the newest.
            return level != o.level ? level > o.level : order < o.order;
        }
    };

    // Blocks a bad cube at level k, or returns false when a chain of obligations reaches Init.
    bool block(const Cube& bad, int k) {
        std::priority_queue<Obligation> queue;
        std::size_t order = 0;
        queue.push({bad, k, order++});
        while (!queue.empty()) {
            Obligation ob = queue.top();
            if (ob.level == 0 || meets_init(ob.cube)) {
                return false;
            }
            if (blocked_at(ob.cube, ob.level)) {
                queue.pop();
                continue;
            }
            Cube core;
            if (!relatively_inductive(ob.cube, ob.level - 1, &core)) {
                queue.push({lift(ob.cube), ob.level - 1, order++});
                continue;
            }
            queue.pop();
            const Cube g = generalize(ob.cube, core, ob.level - 1);
            int level = ob.level;
            while (level < k && relatively_inductive(g, level, nullptr)) {
                ++level;
            }
            learn(g, level);
            if (level < k) {
                queue.push({std::move(ob.cube), level + 1, order++});
            }
        }
        return true;
    }

    // Moves every clause F_i && Trans keeps to F_{i+1}; true when some level empties.
    bool propagate() {
        for (int i = 1; i < top(); ++i) {
            const std::vector<Lemma> lemmas = frames_[static_cast<std::size_t>(i)];
            for (const Lemma& lemma : lemmas) {
                if (relatively_inductive(lemma.cube, i, nullptr)) {
                    std::erase(frames_[static_cast<std::size_t>(i)], lemma);
                    frames_[static_cast<std::size_t>(i) + 1].push_back(lemma);
                    frame(i + 1).add(negation(lemma.cube));
                }
            }
            if (frames_[static_cast<std::size_t>(i)].empty()) {
                fixpoint_ = i;
                return true;
            }
        }
        return false;
    }

    const Lowering& low_;
    const Deadline& deadline_;
    const StateVars& s_;
    StateVars t_;
    z3::expr inv_expr_;
    Cnf frame_cnf_, lift_cnf_, inv_cnf_;
    std::vector<int> s_var_, t_var_, p_var_;
    int domain_ = 0, inv_ = 0, guard_ = 0, step_ = 0, inv_domain_ = 0;
    std::vector<Clause>
        trans_clauses_; // Domain && (step_ -> Trans) with the definitions, simplified
    std::vector<Clause> next_clauses_; // Next alone
    std::vector<Cube> initial_;
    std::unique_ptr<Sat> inv_solver_, lift_solver_;
    std::vector<std::unique_ptr<Sat>> solvers_;
    std::vector<std::vector<Lemma>> frames_;
    std::vector<Cube> adopted_; // the candidates Houdini kept, in every frame
    std::vector<Packed> initial_packed_;
    Cube predecessor_;
    std::vector<int> predecessor_step_;
    std::array<Witness, kWitnesses> witnesses_;
    std::size_t next_witness_ = 0;
    int fixpoint_ = 0;
    std::size_t queries_ = 0;
};

} // namespace

Result run_ic3(const Lowering& low, const model::InvariantData& inv, const EngineLimits& lim) {
    Result r;
    r.version = std::string(low.interp().table().version);
    r.invariant = std::string(inv.name);
    r.engine = "ic3";
    const Deadline deadline(lim.timeout);
    // An invariant that holds initially and that every row preserves needs no strengthening: its
    // certificate is itself, and three Z3 queries cost less than encoding Trans for IC3 (about a
    // third, for no-inactive-child-under-active-parent on every shipped table).
    const z3::expr alone = low.invariant(inv, low.current());
    if (!certify(low, inv, alone)) {
        r.verdict = Verdict::proved;
        r.detail = "inductive by itself: certified by 3 Z3 queries (initial, preserved by every "
                   "row, implies the invariant)";
        r.certificate = print_formula(low, alone);
        r.inductive_alone = true;
        r.lemmas = std::make_shared<const std::vector<NamedClause>>();
        r.seconds = deadline.elapsed();
        return r;
    }
    try {
        Ic3 ic3(low, inv, deadline);
        const Ic3::Outcome outcome = ic3.run(lim.ic3_seed.get());
        r.seconds = deadline.elapsed();
        if (outcome == Ic3::Outcome::reached_init) {
            r.verdict = Verdict::unknown;
            r.detail = "IC3 found a path from an initial state to a violation (left to BMC)";
            r.ic3_found_violation = true;
            return r;
        }
        const z3::expr cover = ic3.invariant();
        if (auto failure = certify(low, inv, cover)) {
            r.bug = failure->find("sat (") != std::string::npos;
            r.verdict = Verdict::unknown;
            r.detail =
                (r.bug ? "BUG: IC3 said safe but its invariant failed: " : "IC3 said safe but ") +
                *failure;
        } else {
            r.verdict = Verdict::proved;
            const std::string adopted =
                lim.ic3_seed ? fmt::format(", {} of them from another proof's {} (Houdini)",
                                           ic3.adopted(), lim.ic3_seed->size())
                             : "";
            r.detail = fmt::format("IC3's inductive invariant ({} clauses{}, {} levels, {} SAT "
                                   "queries) certified by 3 Z3 queries (initial, preserved by "
                                   "every row, implies the invariant)",
                                   ic3.clauses(), adopted, ic3.levels(), ic3.queries());
            r.certificate = print_formula(low, cover);
            r.inductive_alone = ic3.clauses() == 0;
            r.lemmas = std::make_shared<const std::vector<NamedClause>>(ic3.named_lemmas());
        }
        r.seconds = deadline.elapsed(); // the certificate included
    } catch (const Interrupted&) {
        r.verdict = Verdict::unknown;
        r.detail = "timeout";
        r.seconds = deadline.elapsed();
    }
    return r;
}

} // namespace handoff::proofs
