#include "handoff/model/restriction.hpp"

#include <algorithm>

namespace handoff::model {

bool StepRestriction::allows(const Interpreter& interp, const State& pre, const Step& step) const {
    const int expr = row_allowed.at(static_cast<std::size_t>(step.row));
    if (expr < 0) {
        return false;
    }
    Env env;
    env.params = step.params;
    env.hosts[0] = step.params[static_cast<std::size_t>(Param::host)];
    return interp.eval(ast, expr, pre, env) != 0;
}

bool StepRestriction::initial_ok(const Interpreter& interp, const State& s) const {
    Env env;
    return initial < 0 || interp.eval(ast, initial, s, env) != 0;
}

bool StepRestriction::last_ok(const Interpreter& interp, const State& s) const {
    Env env;
    return last < 0 || interp.eval(ast, last, s, env) != 0;
}

void allowed_successors(const Interpreter& interp, const StepRestriction& restriction,
                        const State& s,
                        const std::function<void(const Step&, const State&)>& visit) {
    const TableData& table = interp.table();
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        if (restriction.row_allowed.at(r) < 0) {
            continue;
        }
        const RowData& row = table.rows[r];
        Step step;
        step.row = static_cast<int>(r);
        std::vector<Param> declared;
        std::vector<std::vector<int>> domains;
        for (int p = 0; p < kParamCount; ++p) {
            step.params[static_cast<std::size_t>(p)] = interp.param_default(static_cast<Param>(p));
        }
        for (Param p : row.params) {
            declared.push_back(p);
            domains.push_back(interp.param_values(p));
        }
        // Choices leading to the same state from the same host are one step (the first allowed).
        std::vector<std::pair<int, State>> seen;
        std::vector<std::size_t> index(domains.size(), 0);
        for (;;) {
            for (std::size_t k = 0; k < domains.size(); ++k) {
                step.params[static_cast<std::size_t>(declared[k])] = domains[k][index[k]];
            }
            if (restriction.allows(interp, s, step)) {
                if (auto next = interp.apply(s, step)) {
                    std::pair<int, State> key{step.params[static_cast<std::size_t>(Param::host)],
                                              *next};
                    if (std::find(seen.begin(), seen.end(), key) == seen.end()) {
                        seen.push_back(std::move(key));
                        visit(step, *next);
                    }
                }
            }
            if (!next_combination(index, domains)) {
                break;
            }
        }
    }
}

} // namespace handoff::model
