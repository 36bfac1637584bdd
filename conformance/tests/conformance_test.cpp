// The harness against the real QEMU (label `qemu`): normal migrations match the model step by
// step, bad traces are refused, and docs/conformance.md is current.
#include "handoff/conformance/report.hpp"

#include "handoff/model/explore.hpp"
#include "handoff/model/interpreter.hpp"
#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace handoff::conformance {
namespace {

namespace m = handoff::model;

// A trace object in `handoff check --json`'s format, built by running the model's interpreter
// on named rows (parameters not given are `none`/host 0).
class TraceBuilder {
  public:
    TraceBuilder(const char* version, int nodes, bool pause_before_switchover, bool local_files)
        : table_(*m::find_version(version)), interp_(table_, m::Instance(nodes)) {
        for (const m::State& s : interp_.initial_states()) {
            if (get(s, m::Var::cap_late_block_activate) == 0 &&
                get(s, m::Var::cap_pause_before_switchover) == (pause_before_switchover ? 1 : 0) &&
                get(s, m::Var::cap_postcopy) == 0 && get(s, m::Var::cap_autostart) == 1 &&
                get(s, m::Var::image_locking) == (local_files ? 1 : 0) &&
                interp_.get(s, m::Var::runstate, 0, 0) == static_cast<int>(m::RunState::RUNNING)) {
                state_ = s;
            }
        }
        trace_ = {{"version", version},
                  {"nodes", nodes},
                  {"starts", 1},
                  {"initial", state_json(state_)},
                  {"steps", nlohmann::json::array()}};
    }

    TraceBuilder& step(const std::string& row, int host = 0) {
        m::Step st;
        for (std::size_t r = 0; r < table_.rows.size(); ++r) {
            if (table_.rows[r].name == row) {
                st.row = static_cast<int>(r);
            }
        }
        EXPECT_GE(st.row, 0) << row;
        nlohmann::json params = nlohmann::json::object();
        for (int p = 0; p < m::kParamCount; ++p) {
            st.params[static_cast<std::size_t>(p)] =
                interp_.param_default(static_cast<m::Param>(p));
        }
        st.params[static_cast<std::size_t>(m::Param::host)] = host;
        for (m::Param p : table_.rows[static_cast<std::size_t>(st.row)].params) {
            params[std::string(m::param_info(p).name)] = st.params[static_cast<std::size_t>(p)];
        }
        const auto next = interp_.apply(state_, st);
        EXPECT_TRUE(next.has_value()) << row << " is not enabled";
        if (next) {
            state_ = *next;
        }
        trace_["steps"].push_back(
            {{"row", row}, {"params", params}, {"state", state_json(state_)}});
        return *this;
    }

    const nlohmann::json& json() const { return trace_; }

  private:
    int get(const m::State& s, m::Var v) const { return interp_.get(s, v, 0, 0); }
    nlohmann::json state_json(const m::State& s) const {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& c : m::describe(interp_, s)) {
            out[c.variable] = c.after;
        }
        return out;
    }
    const m::TableData& table_;
    m::Interpreter interp_;
    m::State state_;
    nlohmann::json trace_;
};

void expect_reproduced(const ReplayResult& r) {
    EXPECT_EQ(verdict_name(r.verdict), "reproduced")
        << "step " << r.step << ": " << r.reason << "\n model: " << r.predicted
        << "\n qemu:  " << r.observed;
    for (const auto& s : r.steps) {
        if (s.compared) {
            EXPECT_TRUE(s.matched) << "step " << s.index << " " << s.row;
        }
    }
}

// The normal case: a running VM migrates over NBD storage and the destination takes over.
TEST(Qemu, NormalMigrationMatchesTheModelStepByStep) {
    TraceBuilder b("v7.2", 2, false, false);
    b.step("qmp_migrate")
        .step("migration_thread_setup")
        .step("migration_completion_begin")
        .step("migration_completion_save")
        .step("incoming_load_ok", 1)
        .step("migration_completion_done")
        .step("process_incoming_migration_bh", 1)
        .step("migration_iteration_finish_completed")
        .step("quit_after_handover");
    const ReplayResult r = replay(b.json());
    expect_reproduced(r);
    int compared = 0;
    for (const auto& s : r.steps) {
        compared += s.compared ? 1 : 0;
    }
    EXPECT_GE(compared, 2); // after the migration, after the quit
}

// Local files (image locking), pause-before-switchover: held at pre-switchover, then continued.
TEST(Qemu, PauseBeforeSwitchoverThenContinueOnLocalFiles) {
    TraceBuilder b("v7.2", 2, true, true);
    b.step("qmp_migrate")
        .step("migration_thread_setup")
        .step("migration_completion_begin")
        .step("migration_completion_pause")
        .step("qmp_migrate_continue")
        .step("migration_switchover_resume")
        .step("incoming_load_ok", 1)
        .step("migration_completion_done")
        .step("process_incoming_migration_bh", 1)
        .step("migration_iteration_finish_completed");
    expect_reproduced(replay(b.json()));
}

// A cancel at pre-switchover: the source resumes with its disks active, the destination exits.
TEST(Qemu, CancelAtPreSwitchover) {
    TraceBuilder b("v7.2", 1, true, false);
    b.step("qmp_migrate")
        .step("migration_thread_setup")
        .step("migration_completion_begin")
        .step("migration_completion_pause")
        .step("qmp_migrate_cancel")
        .step("migration_switchover_cancelled")
        .step("migration_completion_fail")
        .step("migration_iteration_finish_resume")
        .step("incoming_load_fails", 1);
    expect_reproduced(replay(b.json()));
}

TEST(Qemu, BadTracesAreRefused) {
    EXPECT_THROW(replay(nlohmann::json::object()), TraceError);
    TraceBuilder b("v7.2", 1, false, false);
    nlohmann::json wrong = b.json();
    wrong["version"] = "v6.0";
    EXPECT_THROW(replay(wrong), TraceError);
    nlohmann::json bad_row = b.json();
    bad_row["steps"].push_back({{"row", "no_such_row"}, {"params", {{"h", 0}}}});
    EXPECT_THROW(replay(bad_row), TraceError);
    nlohmann::json disabled = b.json();
    disabled["steps"].push_back({{"row", "qmp_migrate_continue"}, {"params", {{"h", 0}}}});
    EXPECT_THROW(replay(disabled), TraceError);
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// docs/conformance.md is what conformance/regenerate writes today from the stored traces: every
// trace must still replay on the current model and still violate its invariant, and every replay
// on the real QEMU must give the verdict and states the page shows.
TEST(Qemu, ReportIsCurrent) {
    const std::string out = std::string(HANDOFF_BINARY_DIR) + "/conformance-regenerated.md";
    // --report-only: the stored traces are replayed; the checker is not run (and the source
    // tree is not written).
    const std::string cmd = "bash " + std::string(HANDOFF_SOURCE_DIR) +
                            "/conformance/regenerate --report-only " +
                            std::string(HANDOFF_BINARY_DIR) + "/handoff " + out;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const std::string committed = slurp(std::string(HANDOFF_SOURCE_DIR) + "/docs/conformance.md");
    const std::string now = slurp(out);
    ASSERT_FALSE(now.empty());
    EXPECT_EQ(committed, now) << "docs/conformance.md is stale: run conformance/regenerate";
}

} // namespace
} // namespace handoff::conformance
