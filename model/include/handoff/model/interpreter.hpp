// The concrete reading of a table: initial states, the enabled (row, parameters) pairs of a
// state, and the successor. The explicit-state explorer and the property tests' oracle use it.
#pragma once

#include "handoff/model/graph.hpp"
#include "handoff/model/table.hpp"

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace handoff::model {

struct InvariantData;
namespace detail {
class CompiledTable;
}

// A finite instance: the number of block nodes and, optionally, capabilities fixed from the
// command line (-1: both values, chosen nondeterministically in the initial states).
struct Instance {
    int nodes = 2;
    int starts = 1;           // how many fresh QEMU processes management may start (0..3)
    int set_active_calls = 1; // how many blockdev-set-active commands management may issue (0..3)
    // The environment profile: false is `any` (every QMP command QEMU accepts, at any time), true
    // is `documented` (the variable documented_use; handoff check's default). The CLI also fixes
    // image_locking on with it; code that builds instances itself (the property tests, the
    // conformance harness) keeps `any`, the profile every trace was written under before it.
    bool documented_use = false;
    // The block graph over the `nodes` nodes (graph.hpp); flat: every node a disk of its own.
    GraphShape graph = GraphShape::flat;
    std::array<int, kVarCount> fixed{}; // per global capability variable: -1 any, 0 off, 1 on
    Instance() { fixed.fill(-1); }
    explicit Instance(int n) : Instance() { nodes = n; }
};

// Where each variable lives in a state: one byte per value.
class Layout {
  public:
    explicit Layout(int nodes);
    int nodes() const { return nodes_; }
    int size() const { return size_; }
    int offset(Var v, int host = 0, int node = 0) const;

  private:
    int nodes_;
    int size_ = 0;
    std::array<int, kVarCount> base_{};
};

using State = std::string;
using Params = std::array<int, kParamCount>;

struct Step {
    int row = -1;
    Params params{};
};

// Values of the quantified variables and the row's parameters while evaluating an expression.
struct Env {
    Params params{};
    std::array<int, 2> hosts{};
    std::array<int, 2> nodes{};
};

// Steps through every combination of one value per domain, the first index fastest (an
// odometer); false once every combination was visited.
inline bool next_combination(std::vector<std::size_t>& index,
                             const std::vector<std::vector<int>>& domains) {
    for (std::size_t k = 0; k < domains.size(); ++k) {
        if (++index[k] < domains[k].size()) {
            return true;
        }
        index[k] = 0;
    }
    return false;
}

class Interpreter {
  public:
    Interpreter(const TableData& table, const Instance& instance);

    const TableData& table() const { return table_; }
    const Layout& layout() const { return layout_; }
    const Instance& instance() const { return instance_; }
    const BlockGraph& graph() const { return graph_; }

    std::vector<State> initial_states() const;

    int get(const State& s, Var v, int host = 0, int node = 0) const {
        return static_cast<unsigned char>(
            s[static_cast<std::size_t>(layout_.offset(v, host, node))]);
    }
    void put(State& s, Var v, int host, int node, int value) const {
        s[static_cast<std::size_t>(layout_.offset(v, host, node))] = static_cast<char>(value);
    }

    // Every enabled step of `s` with its successor; a step whose successor equals that of an
    // earlier parameter choice of the same row is reported once (the first, `none` first).
    void successors(const State& s,
                    const std::function<void(const Step&, const State&)>& visit) const;

    // The successor of one step, or nothing if the step is not enabled in `s`.
    std::optional<State> apply(const State& s, const Step& step) const;

    // Why a step is not enabled in `s` (nothing if it is): a crash ended the run, the row's guard
    // is false, or an assumption of its effect rules the parameters out. `at` is the state the
    // guard or the assumption was evaluated in (an assumption sees the statements before it).
    struct Refusal {
        enum class Kind : std::uint8_t { crashed, guard, assumption } kind{};
        std::size_t stmt = 0; // for an assumption: its index in the row's effect
        State at;
    };
    std::optional<Refusal> refusal(const State& s, const Step& step) const;

    // apply(), telling `observe` about every statement of the row's effect that runs (an If
    // whose enclosing code runs, an assignment, an assertion, an assumption), before it runs:
    // its index in the effect, the state as the statements before it left it, and the
    // environment (parameters and host). Explaining a step (story.cpp) reads this; the explorer
    // does not pay for it.
    using StatementObserver =
        std::function<void(std::size_t statement, const State& now, const Env& env)>;
    std::optional<State> apply(const State& s, const Step& step,
                               const StatementObserver& observe) const;

    // The values a parameter ranges over, in enumeration order (`none` first).
    std::vector<int> param_values(Param p) const;
    // The value of a parameter a row does not declare.
    int param_default(Param p) const;

    // The general evaluator: any expression of `ast` under `env`. The explorer's hot paths
    // (successors(), apply() without an observer, holds()) run a form of the table specialised
    // for the instance instead (model/src/compiled.hpp); model_tests hold the two to the same
    // answers.
    int eval(const Ast& ast, int expr, const State& s, Env& env) const;

    // Whether `s` satisfies a state invariant (a Recoverability invariant: its "recovered"
    // predicate).
    bool holds(const InvariantData& inv, const State& s) const;

    // The same steps as successors(), by the general evaluator only (the reference the fast path
    // is tested against; explore --evaluator ast).
    void successors_by_ast(const State& s,
                           const std::function<void(const Step&, const State&)>& visit) const;

  private:
    // False if an assumption rules the parameters out (its index in *refused_by, if given);
    // `observe` sees every statement that runs (apply() with a StatementObserver).
    template <class Observe>
    bool run_effect(const RowData& row, State& next, Env& env, const Observe& observe,
                    std::size_t* refused_by = nullptr) const;
    template <class Observe>
    std::optional<State> apply_with(const State& s, const Step& step, const Observe& observe) const;
    // Whether expression `expr` reads a row parameter other than the host.
    bool reads_outcome_params(int expr) const;

    const TableData& table_;
    Instance instance_;
    Layout layout_;
    BlockGraph graph_;
    // Per row: its guard reads only the host parameter, so it is evaluated once per host.
    std::vector<bool> guard_reads_host_only_;
    // Per row: the hosts it runs on, its outcome parameters and their values (computed once).
    struct RowParams {
        std::vector<int> hosts;
        std::vector<Param> outcome;
        std::vector<std::vector<int>> domains;
    };
    std::vector<RowParams> row_params_;
    // The table specialised for this instance (shared by copies of this interpreter).
    std::shared_ptr<const detail::CompiledTable> compiled_;
    static std::shared_ptr<const detail::CompiledTable>
    compiled_for(const TableData& table, const Layout& layout, const BlockGraph& graph);
    template <bool Fast>
    void successors_with(const State& s,
                         const std::function<void(const Step&, const State&)>& visit) const;
};

// A printable description of a parameter value ("none", "node 1", "host 0", "yes").
std::string param_value_name(Param p, int value, int nodes);
// The same, with a node named as node_name() names it.
std::string param_value_name(Param p, int value, const BlockGraph& graph);
// A node as stories name it: "node 3"; on a graph other than flat with its place in the disk's
// tree too, "node 3 (disk0.base.file)", so that a reader need not count.
std::string node_name(const BlockGraph& graph, int node);
// On a graph other than flat, one line that names every node of a host (its label, kind and
// parent): "nodes of each host: 0 disk0 (format), 1 disk0.file (protocol, file of 0), ..."; ""
// on flat, where node n is disk n.
std::string graph_legend(const BlockGraph& graph);

} // namespace handoff::model
