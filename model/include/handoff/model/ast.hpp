// The runtime form of the expression language: the compile-time rows (expr.hpp, row.hpp) are
// turned into this plain data once, and every reading of the table works on it: the concrete
// interpreter (evaluate), the printer (the specification), and the Z3 lowering (proofs/).
#pragma once

#include "handoff/model/graph.hpp"
#include "handoff/model/vocabulary.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::model {

// The sort of an expression: a value of a domain, a host index or a node index. Node indices
// range over 0..N, where N stands for `none` (no node: "the operation did not fail").
enum class Sort : std::uint8_t { Value, Host, Node };

enum class Op : std::uint8_t {
    Lit,        // value: a; domain
    Var,        // var: a; kid0: host expression (or -1 for globals); kid1: node expression (or -1)
    Param,      // param: a
    Bound,      // quantified variable slot a (hosts: slots 0-1, nodes: slots 0-1)
    Peer,       // the other host of kid0
    NoneNode,   // the node index N ("none")
    Not,        // kid0
    And,        // kid0, kid1
    Or,         // kid0, kid1
    Implies,    // kid0, kid1
    Eq,         // kid0, kid1
    Ne,         // kid0, kid1
    Lt,         // kid0, kid1 (node indices)
    Le,         // kid0, kid1 (node indices)
    Ite,        // kid0 ? kid1 : kid2
    Forall,     // over hosts or nodes (sort of the bound variable: bound_sort), slot a, body kid0
    Exists,     // same
    Named,      // a named definition: text; body kid0; printed arguments kid1, kid2 (or -1)
    RunstateOk, // runstate_transitions_def allows kid0 -> kid1 (the version's table)
    NodeRel,    // a static relation of the instance's block graph (graph.hpp NodeRelation a)
                // between node indices kid0 and kid1 (kid1 -1 for is_root)
};

struct AstNode {
    Op op{};
    Sort sort{};
    DomainId domain{}; // for Sort::Value
    Sort bound_sort{}; // for Forall/Exists
    std::int16_t a = 0;
    std::int32_t kid[3] = {-1, -1, -1};
    std::string_view text{}; // for Named
};

// One statement of a row's effect. Statements run in order; each reads the state as left by the
// statements before it. An assertion that does not hold crashes the process (crash := reason,
// crash_host := h) and ends the step. An assumption restricts a row's parameters to the outcomes
// that are possible at that point of the step (a walk can fail only where the storage can fail):
// a (row, parameters) pair whose assumption does not hold is not a transition. If/Else/EndIf
// bracket conditional statements (value: the condition of If).
enum class StmtKind : std::uint8_t { Assign, AssignNodes, Assert, Assume, If, Else, EndIf };

struct Stmt {
    StmtKind kind{};
    Var var{};                  // Assign, AssignNodes
    std::int32_t host = -1;     // host expression of the target (-1 for globals)
    std::int16_t node_slot = 0; // AssignNodes: the bound node variable of `value`
    std::int32_t value = -1;    // the value (Assign, AssignNodes) or the condition (Assert)
    Crash reason = Crash::NONE; // Assert
    std::int32_t group = -1;    // index into Effect::groups, for printing
};

// A named sequence of statements (bdrv_inactivate_all(h, fail, half), vm_start(h), ...): the
// statements are part of the row; the name is how the specification prints them.
struct StmtGroup {
    std::string_view name;
    std::string_view args;
    std::string_view doc;
    int parent = -1; // the enclosing group, or -1
    int arg = -1;    // an expression argument printed at the call site (runstate_set's state)
};

struct Effect {
    std::vector<Stmt> stmts;
    std::vector<StmtGroup> groups;
};

// All expression nodes of one table live in one arena.
struct Ast {
    std::vector<AstNode> nodes;
    int add(const AstNode& n) {
        nodes.push_back(n);
        return static_cast<int>(nodes.size()) - 1;
    }
    const AstNode& operator[](int i) const { return nodes[static_cast<std::size_t>(i)]; }
};

} // namespace handoff::model
