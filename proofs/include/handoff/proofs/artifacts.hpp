// What the artifact commands (trace --fork, export, coverage) ask of the lowering and the
// interpreter, beyond the engines of engines.hpp.
#pragma once

#include "handoff/proofs/engines.hpp"

#include <optional>
#include <string>
#include <vector>

namespace handoff::proofs {

// A second shortest counterexample: the same initial state and the same steps before step `from`
// (1-based) as `first`, the same length, and another sequence of steps (row, host and parameters)
// from step `from` on. The lexicographically least such sequence, replayed on the interpreter.
struct Fork {
    enum class Outcome { found, none, unknown } outcome = Outcome::unknown;
    std::optional<model::Trace> trace;
    std::string detail; // why unknown, or the replay error (then bug is set)
    bool bug = false;
};
Fork fork_counterexample(const Lowering& low, const model::InvariantData& inv,
                         const model::Trace& first, int from, double timeout);

// SMT-LIB 2 text of a query over the lowering (set-logic, the assertions, check-sat):
//   bmc at depth K:        a path from an initial state to a state that violates an invariant,
//                          of at most K steps (sat: a counterexample; unsat: none up to depth K);
//   induction at k:        k + 1 distinct states linked by steps, the invariants holding on the
//                          first k and violated on the last (unsat: the invariants are
//                          k-inductive).
// `invs` are conjoined: the query asks for a violation of any of them.
enum class Query { bmc, induction };
std::string export_smt2(const Lowering& low, const std::vector<const model::InvariantData*>& invs,
                        Query query, int depth, const std::string& comment);

// The premise of an invariant of the form  forall x... . A => B  : A, under the same bindings
// (every value of each bound variable). Nothing when the invariant is not of that form.
struct Premise {
    int expr = -1;                                  // the antecedent, in invariants_ast()
    std::vector<std::pair<model::Sort, int>> bound; // the enclosing foralls: sort, slot
};
std::optional<Premise> premise_of(const model::InvariantData& inv);
// Whether some binding of the premise's bound variables makes it true in `s`.
bool premise_holds(const model::Interpreter& interp, const Premise& p, const model::State& s);

// Row coverage and vacuity over the complete exploration of the interpreter's instance.
struct Coverage {
    struct RowHost {
        int row = -1;
        int host = 0;
        bool fired = false;
    };
    struct InvariantPremise {
        const model::InvariantData* invariant = nullptr;
        bool has_premise = false;
        bool reachable = false; // the premise holds in some reachable state
        std::string premise_text;
        // For an invariant  crash != X : whether some row of the table asserts with reason X (if
        // none does, the invariant holds by construction: vacuous too).
        bool excludes_crash = false;
        bool crash_in_table = false;
        std::string crash_name;
        bool vacuous() const {
            return (has_premise && !reachable) || (excludes_crash && !crash_in_table);
        }
    };
    std::vector<RowHost> rows; // every (row, host) pair the table has
    std::vector<InvariantPremise> invariants;
    std::size_t states = 0;
    bool complete = false;
    double seconds = 0;
};
Coverage coverage(const model::Interpreter& interp);

// Why an invariant holds in a table by construction, found without a search: it says crash != X
// and no row of the table asserts with reason X. Empty when that is not so (the premise-based
// vacuity of `handoff coverage` needs the whole exploration).
std::string vacuous_by_construction(const model::TableData& table, const model::InvariantData& inv);
// Why an invariant over the block graph's parent_of(p, x) holds on the instance's graph without
// any row's help ("" if it may not): the flat graph has no block-node parents.
std::string vacuous_on_graph(const model::InvariantData& inv, const model::Instance& instance);

} // namespace handoff::proofs
