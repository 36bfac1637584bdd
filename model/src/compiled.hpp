// The interpreter's fast path: a table's guards, effects and the invariants specialised once per
// instance, so that the explorer does not walk the general AST for every state. Private to the
// interpreter (interpreter.cpp); the general evaluator (Interpreter::eval) stays the reference,
// and model_tests compare the two on the reachable states of every version.
#pragma once

#include "handoff/model/interpreter.hpp"
#include "handoff/model/invariants.hpp"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace handoff::model::detail {

// An expression after specialisation. The host parameter, the quantified variables (every
// forall and exists is unrolled over the instance's hosts and nodes) and the block graph's
// relations become constants, and a variable whose host and node are then known becomes a byte
// offset into the state. Only the row's outcome parameters (fail, half, broken, ...) stay
// dynamic, with the variables they index.
enum class Code : std::uint8_t {
    Const,      // a
    Slot,       // the byte at offset a
    SlotEq,     // the byte at offset a == b
    SlotNe,     // the byte at offset a != b
    Param,      // the row parameter a
    VarAt,      // the variable at base a + host * b + node (host kid0, node kid1 or -1)
    Peer,       // 1 - kid0
    Not,        // kid0
    And,        // kid0 && kid1
    Or,         // kid0 || kid1
    Eq,         // kid0 == kid1
    Ne,         // kid0 != kid1
    Lt,         // kid0 < kid1
    Le,         // kid0 <= kid1
    Ite,        // kid0 ? kid1 : kid2
    RunstateOk, // the version's runstate table allows kid0 -> kid1
    NodeRel,    // the block graph's relation a between kid0 and kid1 (or 0)
    OutOfRange, // a node index out of range was read (the general evaluator throws there too)
};

struct CodeNode {
    Code code{};
    std::int32_t a = 0;
    std::int32_t b = 0;
    std::int32_t kid[3] = {-1, -1, -1};
};

// One statement of a row's effect for one host, index for index the row's own statements (so
// that an assumption's index means the same in both forms).
struct CodeStmt {
    StmtKind kind{};
    std::int32_t target = -1;           // Assign: the offset written
    std::int32_t value = -1;            // Assign, Assert, Assume, If: the expression
    std::vector<std::int32_t> per_node; // AssignNodes: the value for node 0, 1, ...
    std::int32_t nodes_base = -1;       // AssignNodes: the offset of node[host][0]
    Crash reason = Crash::NONE;         // Assert
};

// A conjunct of a guard that reads one byte of the state: the byte at `offset` == (or !=) `value`.
struct ByteTest {
    std::int32_t offset = 0;
    std::uint8_t value = 0;
    bool equal = true;
};

struct CodeRow {
    // False where something could not be specialised (an assignment whose host depends on an
    // outcome parameter): the interpreter takes the general path for that row and host.
    bool compiled = false;
    std::int32_t guard = -1;
    // The guard's conjuncts that test one byte against a constant (they do not read the
    // parameters): a state that fails one cannot take the row on this host with any outcome, and
    // most states fail one at the first byte, before the guard is walked.
    std::vector<ByteTest> byte_tests;
    bool never = false; // the guard is false on this host whatever the state
    // The guard with its byte tests taken out: what is left to evaluate once they pass.
    std::int32_t residual = -1;

    bool passes_byte_tests(const char* s) const {
        for (const ByteTest& t : byte_tests) {
            if ((static_cast<unsigned char>(s[t.offset]) == t.value) != t.equal) {
                return false;
            }
        }
        return !never;
    }
    std::vector<CodeStmt> stmts;
};

class CompiledTable {
  public:
    CompiledTable(const TableData& table, const Layout& layout, const BlockGraph& graph);
    CompiledTable(const CompiledTable&) = delete;
    CompiledTable& operator=(const CompiledTable&) = delete;

    // rows[r][host]
    const CodeRow& row(std::size_t r, int host) const {
        return rows_[r][static_cast<std::size_t>(host)];
    }
    // The compiled form of an invariant of all_invariants(), or -1.
    std::int32_t invariant(const InvariantData& inv) const;

    int eval(std::int32_t code, const char* s, const int* params) const;

    // Runs a compiled effect on `next`; the same contract as Interpreter::run_effect.
    bool run(const CodeRow& row, std::string& next, const int* params, int host) const;

  private:
    struct Bindings {
        std::array<int, 2> hosts{};
        std::array<int, 2> nodes{};
        int host_param = -1; // the row's host, or -1 (an invariant: no parameters)
    };
    std::int32_t add(const CodeNode& n);
    std::int32_t konst(int value);
    bool is_const(std::int32_t c) const {
        return nodes_[static_cast<std::size_t>(c)].code == Code::Const;
    }
    int value_of(std::int32_t c) const { return nodes_[static_cast<std::size_t>(c)].a; }
    bool is_boolean(std::int32_t c) const;
    std::int32_t boolean(std::int32_t c);
    std::int32_t specialise(const Ast& ast, int expr, Bindings& b);
    std::int32_t specialise_uncached(const Ast& ast, int expr, Bindings& b);
    std::int32_t slot_or_var(Var v, std::int32_t host, std::int32_t node);
    CodeRow compile_row(const TableData& table, const RowData& row, int host);
    void collect_byte_tests(std::int32_t code, std::vector<ByteTest>& out) const;
    std::int32_t without_byte_tests(std::int32_t code);

    // The table outlives every interpreter of it; the layout and the graph are copied, so that a
    // copied Interpreter shares this object safely.
    const TableData& table_;
    Layout layout_;
    BlockGraph graph_;
    int node_count_;
    std::vector<CodeNode> nodes_;
    // specialise()'s results by expression and bindings, per AST (the table's, the invariants'):
    // the ASTs share subexpressions (named definitions), and so do their specialisations.
    std::unordered_map<std::uint64_t, std::int32_t> memo_[2];
    // Per AST and expression: the bindings it reads (bit 0-1 the host slots, 2-3 the node
    // slots, 4 the host parameter), so that the memo does not tell apart bindings it ignores.
    std::vector<std::int8_t> reads_[2];
    std::uint8_t reads_of(const Ast& ast, int expr);
    std::unordered_map<int, std::int32_t> constants_;
    std::vector<std::array<CodeRow, 2>> rows_;
    std::vector<std::int32_t> invariants_; // by index into all_invariants()
};

} // namespace handoff::model::detail
