// The Z3 reading of a table: the same rows and invariants as the interpreter, lowered from the
// expression language (ast.hpp) by symbolic execution. Nothing here is written per row.
//
//   state     per slot of the interpreter's Layout (variable, host, node), Boolean constants: one
//   for
//             a bool variable, a binary code for the others (a value is a predicate per domain
//             value, so that every formula is propositional and bit-blasting costs nothing);
//   step      an action selector `act` (one action per row and host) and one variable per row
//             parameter (fail, half, ...), binary coded too and shared by every row; a row that
//             does not declare a parameter reads its default (`none` for node parameters);
//   trans     act ranges over the actions; the chosen action's guard and assumptions hold; every
//             slot's next value is the chosen action's symbolic result (frame: unchanged);
//   init      exactly Interpreter::initial_states(), as constraints on the slots.
//
// The transition is built once over template variables and instantiated per step by substitution.
#pragma once

#include "handoff/model/interpreter.hpp"
#include "handoff/model/invariants.hpp"
#include "handoff/model/restriction.hpp"

#include <z3++.h>

#include <string>
#include <vector>

namespace handoff::proofs {

// One state's Boolean constants: the bits of every slot, slot after slot.
struct StateVars {
    z3::expr_vector bits;
};

// One step's Boolean constants: the bits of the action selector, then of each parameter.
struct StepVars {
    z3::expr_vector bits;
};

// A row instantiated for a host (rows without a host parameter have one action, host 0).
struct Action {
    int row = -1;
    int host = 0;
};

class Lowering {
  public:
    Lowering(z3::context& ctx, const model::TableData& table, const model::Instance& instance);

    z3::context& ctx() const { return ctx_; }
    const model::Interpreter& interp() const { return interp_; }
    const std::vector<Action>& actions() const { return actions_; }
    int slot_count() const { return static_cast<int>(slot_var_.size()); }
    std::string slot_name(int slot) const;
    model::Var slot_variable(int slot) const { return slot_var_[static_cast<std::size_t>(slot)]; }

    StateVars make_state(const std::string& suffix) const;
    StepVars make_step(const std::string& suffix) const;

    // The template variables the relations below are built over (for Spacer's rules).
    const StateVars& current() const { return cur_; }
    const StepVars& step() const { return step_; }

    z3::expr init(const StateVars& s) const;
    // Every slot holds a value of its domain.
    z3::expr domain(const StateVars& s) const;
    z3::expr trans(const StateVars& s, const StepVars& p, const StateVars& t) const;
    // trans == guard && next: the chosen action is enabled (and the step's values are in their
    // domains); every slot's next value is the chosen action's result. `next` alone is total and
    // deterministic (a function of s and p), which IC3 needs to generalise a predecessor.
    z3::expr guard(const StateVars& s, const StepVars& p) const;
    z3::expr next(const StateVars& s, const StepVars& p, const StateVars& t) const;
    // Partial-order reduction for BMC: two consecutive steps p, q may not run two independent
    // actions (disjoint writes, neither reading what the other writes) with the later one first,
    // unless q crashes (into `after`). Every path can be reordered into one that obeys this, with
    // the same length and the same last state; among the paths to a state, the lexicographically
    // least obeys it already.
    z3::expr commuted_order(const StepVars& p, const StepVars& q, const StateVars& after) const;
    bool independent(int a, int b) const {
        return independent_[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)];
    }
    // The same transition restricted to one action (for coverage).
    z3::expr enabled(int action, const StateVars& s, const StepVars& p) const;
    // A state invariant (StatePredicate), or any Boolean expression of invariants_ast().
    z3::expr predicate(int expr, const StateVars& s) const;
    // A Boolean expression of another arena over a state (a restriction's initial or last
    // condition); -1 is true.
    z3::expr predicate(const model::Ast& ast, int expr, const StateVars& s) const;
    // A restriction's condition on one step: the chosen action's row is allowed, in state s, with
    // the step's parameters (its host bound to h, undeclared parameters at their defaults).
    z3::expr allowed(const model::StepRestriction& r, const StateVars& s, const StepVars& p) const;
    z3::expr invariant(const model::InvariantData& inv, const StateVars& s) const;
    // The two states are equal on every slot.
    z3::expr equal(const StateVars& a, const StateVars& b) const;

    // Values read back from a model.
    model::State decode_state(const z3::model& m, const StateVars& s) const;
    model::Step decode_step(const z3::model& m, const StepVars& p) const;
    int decode_action(const z3::model& m, const StepVars& p) const {
        return value_of(m, p.bits, act_code_.first, act_code_.width);
    }

    // A state's slots as Z3 values (for replaying or blocking a known state).
    z3::expr is_state(const model::State& state, const StateVars& s) const;

  private:
    z3::expr instantiate(const z3::expr& e, const StateVars& s, const StepVars& p) const;
    z3::expr over_step(const z3::expr& relation, const StateVars& s, const StepVars& p,
                       const StateVars& t) const;
    static int value_of(const z3::model& m, const z3::expr_vector& bits, int first, int width);

  public:
    // Where each slot's bits are, and how many values it has.
    struct Code {
        int first = 0;
        int width = 1;
        int values = 2;
        bool boolean = true;
    };
    const Code& slot_code(int slot) const { return slot_code_[static_cast<std::size_t>(slot)]; }
    const Code& act_code() const { return act_code_; }
    const Code& param_code(model::Param p) const {
        return param_code_[static_cast<std::size_t>(p)];
    }
    // value == v for a slot of a state, as a formula over its bits.
    z3::expr slot_is(const StateVars& s, int slot, int value) const;
    // act == a for a step.
    z3::expr act_is(const StepVars& p, int action) const;

  private:
    std::vector<Code> slot_code_;
    Code act_code_;
    std::vector<Code> param_code_;
    int state_bits_ = 0;
    int step_bits_ = 0;

    z3::context& ctx_;
    const model::TableData& table_;
    model::Interpreter interp_;
    std::vector<model::Var> slot_var_;
    std::vector<Action> actions_;
    StateVars cur_;
    StepVars step_;
    z3::expr_vector template_vars_; // cur_ slots, then act, then params
    z3::expr trans_guard_;   // over cur_, step_ and the next state: step_guard_ && next_function_
    z3::expr step_guard_;    // over cur_ and step_
    z3::expr next_function_; // over cur_, step_ and the next state
    z3::expr_vector action_guard_; // per action, over cur_ and step_
    z3::expr init_template_;
    std::vector<std::vector<bool>> independent_; // per pair of actions
    z3::expr domain_template_;
};

} // namespace handoff::proofs
