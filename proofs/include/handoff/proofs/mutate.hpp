// Mutation testing of the tables (`handoff mutate`): every small change of a version's run-time
// table (TableData) that a wrong reading of QEMU could have produced, each made on a copy of the
// table, never by recompiling one. A mutant is killed when the checker's verdicts at the default
// instance differ from the manifest's (proofs/expected.json), or when the property tests' oracle
// notices it (cli/commands_mutate.cpp); otherwise it survives, and is either shown equivalent
// (docs/mutation/equivalent.tsv) or points at a missing test or invariant.
#pragma once

#include "handoff/model/interpreter.hpp"
#include "handoff/model/invariants.hpp"
#include "handoff/model/table.hpp"
#include "handoff/proofs/engines.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace handoff::proofs {

enum class MutationKind {
    guard_drop,  // one conjunct of a row's guard replaced by `true`
    effect_drop, // one assignment of a row's effect removed
    value,       // one assignment's value replaced by another constant of its domain
    force,       // one parameter of a row fixed to one outcome (a conjunct added to the guard)
    swap,        // two adjacent statements of an effect exchanged, where one reads what the
                 // other writes (or both write the same variable)
};
std::string_view mutation_kind_name(MutationKind kind); // "guard-drop", "effect-drop", ...

struct Mutant {
    // version/row/kind/index: stable as long as the row is; the key of the equivalences file.
    std::string id;
    std::string row;
    MutationKind kind{};
    std::string description; // what changed, in the specification's notation
    std::function<void(model::TableData&)> mutate;
};

// Every mutant of a table, in table order. `nodes` is the instance's: a parameter over nodes is
// forced to `none`, the first node, or a later one.
std::vector<Mutant> mutants_of(const model::TableData& table);

// A copy of the table with the mutant's change (and what the rows use recorded again).
model::TableData mutated(const model::TableData& table, const Mutant& mutant);

// What the manifest records for one (invariant, profile) cell.
struct ExpectedCell {
    const model::InvariantData* invariant = nullptr;
    Verdict verdict = Verdict::unknown;
    int steps = -1; // violated: the counterexample's length
    // violated: the stored counterexample's steps (proofs/traces), each "row name=value ..."
    // with the row's parameters by name (step_text()); empty: only the length is compared.
    std::vector<std::string> trace;
};

// "row fail=2 h=0": a step as ExpectedCell::trace holds it (parameters sorted by name).
std::string step_text(const model::TableData& table, const model::Step& step);

struct MutantVerdict {
    bool killed = false;
    bool bug = false;    // an engine's answer failed its own check on the mutant (a checker bug)
    std::string reason;  // killed: the first cell that differs ("no-double-inactivate: ...")
    std::string checked; // survived: what was compared
};

// The checker on a mutant at one instance (one environment profile), stopping at the first cell
// that differs from `expected`: a verdict, a counterexample's length, or its steps (the checker's
// counterexamples are canonical: the least of the shortest, independent of the solver). Cheapest
// first: BMC deepening one step at a time to the longest expected counterexample (a violation found
// earlier, or not found at its length, kills), then the recovery search (`recoverable`), then IC3
// on each cell the manifest says is proved (for `ic3_seconds`, as `handoff check`'s auto engine
// gives it; no proof within that time kills, said so in the reason).
//
// `seeds`: for each proved invariant, the lemmas of the table's own proof (ic3_seeds()). A mutant
// changes one row, so most of them still hold; IC3 adopts those that do (Houdini) and repairs the
// rest, and its certificate is checked on the mutant as always.
using Ic3Seeds =
    std::map<std::string, std::shared_ptr<const std::vector<NamedClause>>, std::less<>>;
MutantVerdict check_mutant(const model::TableData& mutant, const model::Instance& instance,
                           const std::vector<ExpectedCell>& expected, double ic3_seconds,
                           const Ic3Seeds* seeds = nullptr);

// IC3 on the table itself for each cell `expected` says is proved: the lemmas of every proof it
// finds (a cell it does not prove within ic3_seconds has none).
Ic3Seeds ic3_seeds(const model::TableData& table, const model::Instance& instance,
                   const std::vector<ExpectedCell>& expected, double ic3_seconds);

// Equivalence at an instance, computed. Every mutant changes one row; if that row takes the same
// steps (every host and parameter choice) to the same states as the table's from every state
// the table reaches, the two reach the same states by the same steps, and no verdict, trace or
// oracle run at that instance can tell them apart.
struct ReachableStates {
    std::vector<model::State> states;  // in the order breadth-first search found them
    std::vector<std::uint32_t> parent; // per state: the one it was found from (its own: initial)
    bool complete = false;             // the whole reachable graph (else: cut at the limit)
};
// `threads`: as explore's (the states and their order are the same for any number).
ReachableStates reachable_states(const model::Interpreter& interp, std::size_t max_states,
                                 int threads = 1);

// A shortest path to states[index]: its initial state and the steps, each the first step (in
// Interpreter::successors() order) from the parent that reaches the child.
model::Trace path_to(const model::Interpreter& interp, const ReachableStates& reach,
                     std::size_t index);

// One place where the mutant's changed row differs from the table's: a reachable state, a step of
// the row (host and parameters), and where each takes it (nullopt: it refuses the step).
struct RowDifference {
    std::size_t state = 0; // index into ReachableStates::states
    model::Step step;
    std::optional<model::State> table_next, mutant_next;
};
// Each difference, states in breadth-first order (a path to the first one is a path of the mutant
// too: on every earlier state the row does the same); `visit` returns false to stop.
void row_differences(const model::Interpreter& table, const model::Interpreter& mutant,
                     std::string_view row, const std::vector<model::State>& states,
                     const std::function<bool(const RowDifference&)>& visit);
// Every host and outcome parameter choice of a row, as Interpreter::successors() makes them.
std::vector<model::Params> row_choices(const model::Interpreter& interp, int row);
// Whether the same states follow `from` under the mutant as under the table, the mutant differing
// in `row` only (whose `choices` are row_choices()); steps by a fault row are told apart from the
// others (recoverability follows only the others), a step to `from` itself is left aside.
bool same_successors(const model::Interpreter& table, const model::Interpreter& mutant, int row,
                     const std::vector<model::Params>& choices, const model::State& from);
// What an observer makes of two states: the same, told apart, or partly: they differ in values
// it may confuse (impl/ shows the migration thread's place as one of several at some steps), so
// they are not the same for it, but no replay may tell them apart there.
enum class Observed { same, partly, apart };

// Lockstep: how the table and the mutant go on after a step of the changed row took them from
// one state to two (`table_from`, `mutant_from`). Both take the same steps, breadth-first over the
// pairs of states they reach; a step one of them refuses leaves that one where it is, and a pair
// where they meet again (the same state) is not followed further. A pair is *told apart* when
// `observe` tells its two states apart (handoff mutate: a slot impl/ shows, or an invariant's
// value), so also where one takes a step the other refuses and that step changes what the
// observer sees; its steps from the first pair (empty: the first pair itself) are offered to
// `told_apart`, which returns true to stop. A pair seen partly apart makes the result told apart
// too, is not offered, and is followed on (for at most 200,000 more pairs) to where the two are
// told apart for sure. `seen` holds the pairs visited, across calls (a pair met from an earlier
// first pair is not visited again); at most `max_pairs` are, else the result is cut. Where no
// pair is told apart and the search is not cut, the two are weakly bisimilar from the first pair
// on, for that observer: every step of one is a step of the other or a step the observer cannot
// see, and the states they reach look the same to it. `interchangeable` (optional) names steps of
// different rows the observer cannot tell apart (handoff mutate: two steps of one host's migration
// thread, which impl/ takes as the same command): a step of one side may be answered by an
// interchangeable step of the other, one that reaches the same state (they meet again there) or
// else the state the observer finds most like it, where the same step would leave them further
// apart (a refusal counting after a step), or a step of the same thread that takes it to the
// state the leading side stepped from, followed by the same step to the same state (a thread
// that loops once more before it does what the other's does at once); the answering side's own
// step of that row is then answered in its turn.
struct LockstepResult {
    bool told_apart = false;
    bool cut = false; // stopped at max_pairs
    std::size_t pairs = 0;
};
LockstepResult
lockstep(const model::Interpreter& table, const model::Interpreter& mutant,
         const model::State& table_from, const model::State& mutant_from,
         const std::function<Observed(const model::State&, const model::State&)>& observe,
         std::unordered_set<std::string>& seen, std::size_t max_pairs,
         const std::function<bool(const std::vector<model::Step>&)>& told_apart,
         const std::function<bool(const model::Step&, const model::Step&)>& interchangeable = {});

// "qmp_cont h=0 (h=0): the mutant refuses it"
std::string describe_difference(const model::Interpreter& table, const RowDifference& d);
// Where the mutant's changed row first differs from the table's on those states ("" if nowhere).
std::string row_difference(const model::Interpreter& table, const model::Interpreter& mutant,
                           std::string_view row, const std::vector<model::State>& states);

} // namespace handoff::proofs
