// The Z3 reading of a table: the same rows and invariants as the interpreter, lowered from the
// expression language (ast.hpp) by symbolic execution. Nothing here is written per row.
//
//   state     one Z3 constant per slot of the interpreter's Layout (variable, host, node): Bool for
//             bool variables, Int with a finite range for the others;
//   step      an action selector `act` (one action per row and host) and one variable per row
//             parameter (fail, half, ...), shared by every row; a row that does not declare a
//             parameter reads its default (`none` for node parameters);
//   trans     act ranges over the actions; the chosen action's guard and assumptions hold; every
//             slot's next value is the chosen action's symbolic result (frame: unchanged);
//   init      exactly Interpreter::initial_states(), as constraints on the slots.
//
// The transition is built once over template variables and instantiated per step by substitution.
#pragma once

#include "handoff/model/interpreter.hpp"
#include "handoff/model/invariants.hpp"

#include <z3++.h>

#include <string>
#include <vector>

namespace handoff::proofs {

// One state's Z3 constants, indexed by the interpreter's Layout offset.
struct StateVars {
    z3::expr_vector slots;
};

// One step's Z3 constants: the action and the parameters (indexed by model::Param).
struct StepVars {
    z3::expr act;
    z3::expr_vector params;
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

    StateVars make_state(const std::string& suffix) const;
    StepVars make_step(const std::string& suffix) const;

    // The template variables the relations below are built over (for Spacer's rules).
    const StateVars& current() const { return cur_; }
    const StepVars& step() const { return step_; }

    z3::expr init(const StateVars& s) const;
    // Every slot holds a value of its domain.
    z3::expr domain(const StateVars& s) const;
    z3::expr trans(const StateVars& s, const StepVars& p, const StateVars& t) const;
    // The same transition restricted to one action (for coverage).
    z3::expr enabled(int action, const StateVars& s, const StepVars& p) const;
    // A state invariant (StatePredicate), or any Boolean expression of invariants_ast().
    z3::expr predicate(int expr, const StateVars& s) const;
    z3::expr invariant(const model::InvariantData& inv, const StateVars& s) const;
    // The two states are equal on every slot.
    z3::expr equal(const StateVars& a, const StateVars& b) const;

    // Values read back from a model.
    model::State decode_state(const z3::model& m, const StateVars& s) const;
    model::Step decode_step(const z3::model& m, const StepVars& p) const;

    // A state's slots as Z3 values (for replaying or blocking a known state).
    z3::expr is_state(const model::State& state, const StateVars& s) const;

  private:
    z3::expr slot_value(int slot, int value) const;
    z3::expr instantiate(const z3::expr& e, const StateVars& s, const StepVars& p) const;

    z3::context& ctx_;
    const model::TableData& table_;
    model::Interpreter interp_;
    std::vector<model::Var> slot_var_;
    std::vector<Action> actions_;
    StateVars cur_;
    StepVars step_;
    z3::expr_vector template_vars_; // cur_ slots, then act, then params
    z3::expr trans_guard_;          // over cur_ and step_
    z3::expr_vector next_;          // per slot, over cur_ and step_
    z3::expr_vector action_guard_;  // per action, over cur_ and step_
    z3::expr init_template_;
    z3::expr domain_template_;
};

} // namespace handoff::proofs
