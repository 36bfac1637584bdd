// The harness against the real QEMU (label `qemu`): normal migrations match the model step by
// step, bad traces are refused, and docs/conformance.md is current; each trace's version picks its
// binary, and the 10.0.x that conformance/fetch-qemu unpacks runs through the same harness.
#include "handoff/conformance/binaries.hpp"
#include "handoff/conformance/report.hpp"
#include "handoff/conformance/transcript.hpp"

#include "handoff/model/explore.hpp"
#include "handoff/model/interpreter.hpp"
#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace handoff::conformance {
namespace {

namespace m = handoff::model;

// A trace object in `handoff check --json`'s format, built by running the model's interpreter
// on named rows (parameters not given are `none`/host 0).
class TraceBuilder {
  public:
    TraceBuilder(const char* version, int nodes, bool pause_before_switchover, bool local_files,
                 int set_active_calls = 1)
        : table_(*m::find_version(version)), interp_(table_, instance(nodes, set_active_calls)) {
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

    TraceBuilder& step(const std::string& row, int host = 0,
                       const std::vector<std::pair<m::Param, int>>& outcome = {}) {
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
        for (const auto& [p, v] : outcome) {
            st.params[static_cast<std::size_t>(p)] = v;
        }
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
    static m::Instance instance(int nodes, int set_active_calls) {
        m::Instance i(nodes);
        i.set_active_calls = set_active_calls;
        return i;
    }
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
nlohmann::json normal_migration_v72() {
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
    return b.json();
}

TEST(Qemu, NormalMigrationMatchesTheModelStepByStep) {
    const ReplayResult r = replay(normal_migration_v72());
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
    // The graph field: a shape's name, and a node count the shape has (chain: 4 per disk).
    nlohmann::json no_shape = b.json();
    no_shape["graph"] = "ring";
    EXPECT_THROW(replay(no_shape), TraceError);
    no_shape["graph"] = 3;
    EXPECT_THROW(replay(no_shape), TraceError);
    nlohmann::json short_chain = b.json();
    short_chain["graph"] = "chain";
    EXPECT_THROW(replay(short_chain), TraceError);
}

// The job shape is not built (no block job runs on the real QEMU): not replayable, before any
// process starts.
TEST(Qemu, AJobGraphTraceIsNotReplayable) {
    nlohmann::json trace = TraceBuilder("v7.2", 3, false, false).json();
    trace["graph"] = "job";
    const ReplayResult r = replay(trace);
    EXPECT_EQ(verdict_name(r.verdict), "not replayable");
    EXPECT_NE(r.reason.find("job graph"), std::string::npos) << r.reason;
    EXPECT_TRUE(r.transcript.empty());
}

// The version table: v7.2 is the system's QEMU, v10.0 the fetched folder, anything else needs
// --qemu; the version check accepts a release series and nothing that merely starts like it.
TEST(Binaries, EachVersionPicksItsBinary) {
    const QemuBinaries system = select_qemu("v7.2");
    EXPECT_EQ(system.system, "qemu-system-x86_64");
    EXPECT_EQ(system.nbd, "qemu-nbd");
    EXPECT_TRUE(system.firmware.empty());
    EXPECT_TRUE(version_matches(qemu_version(system), expected_version("v7.2")))
        << qemu_version(system);

    const std::string dir = fetched_qemu_dir();
    const QemuBinaries q10 = select_qemu("v10.0"); // run conformance/fetch-qemu if this throws
    EXPECT_EQ(q10.system, dir + "/usr/bin/qemu-system-x86_64");
    EXPECT_EQ(q10.nbd, dir + "/usr/bin/qemu-nbd");
    EXPECT_EQ(q10.firmware, dir + "/usr/share/qemu");
    EXPECT_EQ(q10.module_dir, dir + "/usr/lib/x86_64-linux-gnu/qemu");
    EXPECT_TRUE(version_matches(qemu_version(q10), expected_version("v10.0"))) << qemu_version(q10);
    EXPECT_FALSE(version_matches(qemu_version(q10), expected_version("v7.2")));

    // No binary for the other tables, unless a folder is named.
    EXPECT_THROW(select_qemu("v8.1"), BinaryError);
    EXPECT_THROW(select_qemu("v10.2"), BinaryError);
    EXPECT_EQ(select_qemu("v10.2", dir).system, q10.system);
    EXPECT_EQ(select_qemu("v7.2", "/usr").system, "/usr/bin/qemu-system-x86_64");
    EXPECT_THROW(select_qemu("v7.2", "/nonexistent"), BinaryError);

    EXPECT_EQ(expected_version("v8.1"), "8.1");
    EXPECT_EQ(expected_version("v8.0.0"), "8.0.0");
    EXPECT_EQ(expected_version("v10.0-dev"), "10.0");
    EXPECT_TRUE(version_matches("QEMU emulator version 8.1.5 (Debian 1:8.1.5)", "8.1"));
    EXPECT_TRUE(version_matches("QEMU emulator version 8.0.0", "8.0.0"));
    EXPECT_FALSE(version_matches("QEMU emulator version 8.10.0", "8.1"));
    EXPECT_FALSE(version_matches("qemu-img version 8.1.0", "8.1"));

    // A maintainer's QEMU build directory: the programs at its top, the firmware in pc-bios/.
    namespace fs = std::filesystem;
    const fs::path tree =
        fs::temp_directory_path() / ("handoff-build-tree-" + std::to_string(::getpid()));
    fs::create_directories(tree / "pc-bios");
    fs::create_symlink(q10.system, tree / "qemu-system-x86_64");
    const auto built = qemu_in(tree.string());
    ASSERT_TRUE(built.has_value());
    EXPECT_EQ(built->system, (tree / "qemu-system-x86_64").string());
    EXPECT_EQ(built->img, (tree / "qemu-img").string());
    EXPECT_EQ(built->firmware, (tree / "pc-bios").string());
    EXPECT_TRUE(built->module_dir.empty());
    fs::remove_all(tree);

    // The cache folder follows HANDOFF_QEMU_CACHE, as conformance/fetch-qemu does.
    const char* old = std::getenv("HANDOFF_QEMU_CACHE");
    const std::string saved = old != nullptr ? old : "";
    ::setenv("HANDOFF_QEMU_CACHE", "/elsewhere", 1);
    EXPECT_EQ(fetched_qemu_dir(), "/elsewhere/qemu-10.0");
    EXPECT_THROW(select_qemu("v10.0"), HarnessError);
    if (old != nullptr) {
        ::setenv("HANDOFF_QEMU_CACHE", saved.c_str(), 1);
    } else {
        ::unsetenv("HANDOFF_QEMU_CACHE");
    }
}

// Polls host h until its run state is `want` (or the deadline).
std::string wait_runstate(World& w, int h, const std::string& want) {
    std::string now;
    for (int i = 0; i < 100; ++i) {
        now = w.observe(h).runstate;
        if (now == want) {
            break;
        }
        std::this_thread::sleep_for(milliseconds(50));
    }
    return now;
}

// QEMU 10.0 through the harness's world: one host runs, migrates to a fresh destination, and the
// node states read from QMP (`active`, the parents' shared permissions) agree with the probe
// wherever the probe is safe to use (an active node).
TEST(Qemu10, WorldMigratesAndItsQueriesAgreeWithTheProbe) {
    WorldConfig cfg;
    cfg.nodes = 2;
    cfg.qemu = select_qemu("v10.0");
    World w(cfg);
    w.start_host(0, false);
    w.start_host(1, true);
    EXPECT_EQ(w.node_states(0), (std::vector<std::string>{"ACTIVE", "ACTIVE"}));
    EXPECT_EQ(w.probe(0, 0), "ACTIVE");
    EXPECT_EQ(w.node_states(1), (std::vector<std::string>{"INACTIVE", "INACTIVE"}));
    w.migrate(0, false);
    EXPECT_EQ(wait_runstate(w, 1, "RUNNING"), "RUNNING");
    EXPECT_EQ(wait_runstate(w, 0, "POSTMIGRATE"), "POSTMIGRATE");
    const HostObservation src = w.observe(0);
    EXPECT_EQ(src.mig, "COMPLETED");
    EXPECT_EQ(src.nodes, (std::vector<std::string>{"INACTIVE", "INACTIVE"}));
    EXPECT_EQ(w.node_states(1), (std::vector<std::string>{"ACTIVE", "ACTIVE"}));
    EXPECT_EQ(w.probe(1, 1), "ACTIVE");
}

// The same into a destination without autostart (-S). 10.0 activates a destination's nodes only
// when its VM starts, so it ends PAUSED with them INACTIVE (7.2.22 activates them at the end of
// the migration: see the next test); blockdev-set-active or cont activates them.
TEST(Qemu10, PausedDestinationKeepsItsNodesInactive) {
    WorldConfig cfg;
    cfg.nodes = 1;
    cfg.autostart = false;
    cfg.qemu = select_qemu("v10.0");
    World w(cfg);
    w.start_host(0, false);
    w.start_host(1, true);
    w.migrate(0, false);
    EXPECT_EQ(wait_runstate(w, 0, "POSTMIGRATE"), "POSTMIGRATE");
    EXPECT_EQ(wait_runstate(w, 1, "PAUSED"), "PAUSED");
    EXPECT_EQ(w.node_states(1), std::vector<std::string>{"INACTIVE"});
    w.qmp(1).execute_ok("blockdev-set-active", {{"active", true}});
    ASSERT_EQ(w.node_states(1), std::vector<std::string>{"ACTIVE"});
    EXPECT_EQ(w.probe(1, 0), "ACTIVE"); // only on an active node: on an inactive one QEMU aborts
    w.qmp(1).execute_ok("cont");
    EXPECT_EQ(wait_runstate(w, 1, "RUNNING"), "RUNNING");
    EXPECT_EQ(w.node_states(1), std::vector<std::string>{"ACTIVE"});
}

// The permission rule 10.x's observation uses for an active node (x-debug-query-block-graph:
// ACTIVE when a parent does not share write) against the probe, on 7.2, where both exist and a
// paused destination's active node is OPEN (its BlockBackend shares everything until it runs).
TEST(Qemu, PermissionRuleAgreesWithTheProbeOnActiveNodes) {
    WorldConfig cfg;
    cfg.nodes = 1;
    cfg.autostart = false;
    World w(cfg);
    w.start_host(0, false);
    w.start_host(1, true);
    EXPECT_EQ(w.queried_states(0), std::vector<std::string>{"ACTIVE"});
    EXPECT_EQ(w.probe(0, 0), "ACTIVE");
    w.migrate(0, false);
    EXPECT_EQ(wait_runstate(w, 1, "PAUSED"), "PAUSED");
    EXPECT_EQ(w.queried_states(1), std::vector<std::string>{"OPEN"});
    EXPECT_EQ(w.probe(1, 0), "OPEN");
    w.qmp(1).execute_ok("cont");
    EXPECT_EQ(wait_runstate(w, 1, "RUNNING"), "RUNNING");
    EXPECT_EQ(w.queried_states(1), std::vector<std::string>{"ACTIVE"});
    EXPECT_EQ(w.probe(1, 0), "ACTIVE");
}

// A v7.2 trace replayed on 10.0 (the --qemu of `handoff replay-qemu`): the mismatch is reported
// once, before QEMU starts, and the version line is in the result.
TEST(Qemu10, V72TraceOnQemu10ReportsTheVersionMismatch) {
    ReplayOptions opt;
    opt.qemu_dir = fetched_qemu_dir();
    std::vector<std::string> warnings;
    opt.on_warning = [&](const std::string& w) { warnings.push_back(w); };
    const ReplayResult r = replay(normal_migration_v72(), opt);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("models v7.2 (QEMU 7.2)"), std::string::npos) << warnings[0];
    EXPECT_EQ(r.version_warning, warnings[0]);
    EXPECT_TRUE(version_matches(r.qemu_version, "10.0")) << r.qemu_version;
    EXPECT_EQ(r.qemu_binary, opt.qemu_dir + "/usr/bin/qemu-system-x86_64");
    EXPECT_EQ(r.qemu_expected, "7.2");
    expect_reproduced(r);

    // The system's binary for the same trace: no warning.
    ReplayOptions plain;
    plain.on_warning = [&](const std::string& w) { warnings.push_back(w); };
    const ReplayResult r72 = replay(normal_migration_v72(), plain);
    EXPECT_EQ(warnings.size(), 1u);
    EXPECT_TRUE(r72.version_warning.empty());
    EXPECT_TRUE(version_matches(r72.qemu_version, "7.2")) << r72.qemu_version;
}

// blockdev-set-active without node-name (10.0) on a running guest: every node inactive, then
// active again, as v10.2's rows blockdev_set_inactive_all / blockdev_set_active_all say.
TEST(Qemu10, BlockdevSetActiveAllOnARunningGuest) {
    TraceBuilder b("v10.2", 2, false, false, 2);
    b.step("blockdev_set_inactive_all").step("blockdev_set_active_all");
    ReplayOptions opt;
    opt.qemu_dir = fetched_qemu_dir();
    const ReplayResult r = replay(b.json(), opt);
    expect_reproduced(r);
    ASSERT_EQ(r.steps.size(), 2u);
    EXPECT_EQ(r.steps[0].reply, "ok");
    EXPECT_NE(r.steps[0].observed.find("RUNNING, migration NONE, nodes INACTIVE INACTIVE"),
              std::string::npos)
        << r.steps[0].observed;
    EXPECT_NE(r.steps[1].observed.find("nodes ACTIVE ACTIVE"), std::string::npos)
        << r.steps[1].observed;
}

// Re-activation while the NBD server is gone: qcow2's re-open fails and leaves the node without
// its driver, so query-named-block-nodes fails as a whole and the harness reads BROKEN from
// query-block instead.
TEST(Qemu10, ReactivationOverDeadStorageLeavesTheNodeBroken) {
    TraceBuilder b("v10.2", 1, false, false, 2);
    b.step("blockdev_set_inactive_all")
        .step("storage_lost")
        .step("blockdev_set_active_all", 0, {{m::Param::fail, 0}, {m::Param::broken, 1}});
    ReplayOptions opt;
    opt.qemu_dir = fetched_qemu_dir();
    const ReplayResult r = replay(b.json(), opt);
    expect_reproduced(r);
    ASSERT_EQ(r.steps.size(), 3u);
    EXPECT_NE(r.steps[2].reply.find("error"), std::string::npos) << r.steps[2].reply;
    EXPECT_NE(r.steps[2].observed.find("RUNNING, migration NONE, nodes BROKEN"), std::string::npos)
        << r.steps[2].observed;
}

// Runs `handoff ARGS`, returning the exit code and stderr.
std::pair<int, std::string> handoff(const std::string& args) {
    const std::string err = std::string(HANDOFF_BINARY_DIR) + "/conformance-test-stderr.txt";
    const int st = std::system(
        (std::string(HANDOFF_BINARY_DIR) + "/handoff " + args + " >/dev/null 2>" + err).c_str());
    std::string text;
    std::ifstream in(err);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::remove(err.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, ss.str()};
}

// A --qemu folder without QEMU, or a version without a binary: one line, exit code 2, nothing
// started.
TEST(ReplayQemu, NoBinaryIsBadInput) {
    const std::string file = std::string(HANDOFF_BINARY_DIR) + "/conformance-test-trace.json";
    std::ofstream(file) << normal_migration_v72().dump();
    auto [code, err] = handoff("replay-qemu --qemu /nonexistent/qemu " + file);
    EXPECT_EQ(code, 2);
    EXPECT_EQ(err, "handoff: --qemu /nonexistent/qemu: no executable qemu-system-x86_64 there, "
                   "in bin/ or in usr/bin/\n");
    std::ofstream(file) << TraceBuilder("v8.1", 1, false, false).json().dump();
    std::tie(code, err) = handoff("replay-qemu " + file);
    EXPECT_EQ(code, 2);
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_NE(err.find("no real QEMU for v8.1"), std::string::npos) << err;
    std::remove(file.c_str());
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

nlohmann::json stored_trace(const std::string& instance, const std::string& invariant) {
    std::ifstream in(std::string(HANDOFF_SOURCE_DIR) + "/conformance/traces/" + instance + "/" +
                     invariant + ".json");
    return nlohmann::json::parse(in);
}

// Where an entry of `kind` whose text is `text` is, else -1.
long find_entry(const std::vector<TranscriptEntry>& t, const std::string& kind,
                const std::string& text, int host = -1) {
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i].kind == kind && t[i].text == text && (host < 0 || t[i].host == host)) {
            return static_cast<long>(i);
        }
    }
    return -1;
}

// A stored one-step story (cont on the incoming destination while the source runs) as its
// reproducer: the storage, both command lines with the binary that ran, `cont` and its reply under
// the model step, no poll of the harness's own, no temporary path, and how the processes ended.
TEST(Qemu, TranscriptOfSingleOwnerIsAReproducer) {
    const ReplayResult r = replay(stored_trace("v7.2", "single-owner"));
    expect_reproduced(r);
    const auto& t = r.transcript;
    ASSERT_FALSE(t.empty());
    EXPECT_EQ(t[0].text, "DIR=$(mktemp -d)");
    int systems = 0, observations = 0;
    for (const auto& e : t) {
        EXPECT_EQ(e.text.find("/tmp/handoff-qemu-"), std::string::npos) << e.text;
        if (e.kind == "qmp") { // the harness's observation is one line of its own
            EXPECT_EQ(e.text.find("query-"), std::string::npos) << e.text;
            EXPECT_EQ(e.text.find("qemu-io"), std::string::npos) << e.text;
        }
        observations += e.kind == "observed" ? 1 : 0;
        if (e.kind == "shell" &&
            e.text.find("qemu-system-x86_64 -accel tcg") != std::string::npos) {
            ++systems;
            EXPECT_EQ(e.text.rfind("/", 0), 0u) << "the binary as it ran, by path: " << e.text;
            EXPECT_NE(e.text.find("-blockdev driver=nbd,node-name=disk0-file,server.type=unix,"
                                  "server.path=$DIR/nbd0.sock"),
                      std::string::npos)
                << e.text;
        }
    }
    EXPECT_EQ(systems, 2);
    EXPECT_EQ(observations, 2); // before the step and after it
    const std::string img = "qemu-img create -q -f qcow2 $DIR/img0.qcow2 16M";
    EXPECT_TRUE(std::any_of(t.begin(), t.end(), [&](const TranscriptEntry& e) {
        return e.kind == "shell" && e.section == "storage" && e.text.rfind("/", 0) == 0 &&
               e.text.size() > img.size() &&
               e.text.compare(e.text.size() - img.size(), img.size(), img) == 0;
    })) << transcript_text(t);
    const long cont = find_entry(t, "qmp", R"({"execute":"cont"})", 1);
    ASSERT_GE(cont, 0);
    EXPECT_EQ(t[static_cast<std::size_t>(cont)].section,
              "step 1: qmp_cont (h=host 1, fail=none, broken=no)");
    ASSERT_LT(static_cast<std::size_t>(cont) + 1, t.size());
    EXPECT_EQ(t[static_cast<std::size_t>(cont) + 1].kind, "reply");
    EXPECT_EQ(t[static_cast<std::size_t>(cont) + 1].text, R"({"return":{}})");
    const long incoming = find_entry(
        t, "qmp",
        R"({"execute":"migrate-incoming","arguments":{"uri":"unix:$DIR/mig-host1-1.sock"}})", 1);
    EXPECT_GE(incoming, 0) << transcript_text(t);
    EXPECT_LT(incoming, cont);
    EXPECT_GE(find_entry(t, "outcome",
                         "host 1: still running: INMIGRATE, migration NONE, nodes OPEN OPEN"),
              0)
        << transcript_text(t);

    const std::string text = transcript_text(t);
    EXPECT_NE(text.find("# step 1: qmp_cont (h=host 1, fail=none, broken=no)\n"
                        "host 1 -> {\"execute\":\"cont\"}\n"
                        "host 1 <- {\"return\":{}}\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("(polled query-status, query-migrate and HMP qemu-io"), std::string::npos);
}

TEST(Transcript, ShellWordsKeepDirExpandable) {
    EXPECT_EQ(shell_word("unix:$DIR/a.qmp,server=on"), "unix:$DIR/a.qmp,server=on");
    EXPECT_EQ(shell_word("write -P 0x55 0 4k"), "\"write -P 0x55 0 4k\"");
    EXPECT_EQ(shell_word("a$HOME\"b"), "\"a\\$HOME\\\"b\"");
    EXPECT_EQ(shell_word(""), "\"\"");
    Transcript t;
    t.set_dir("/tmp/x");
    t.section("step 3: migration_thread_setup (h=host 0)");
    t.add("qemu", -1, "QEMU takes it by itself");
    t.section("step 4: qmp_stop (h=host 0)");
    t.qmp_sent(0, "stop", nlohmann::json::object());
    t.qmp_reply(0, {{"id", 7}, {"return", nlohmann::json::object()}});
    {
        const Transcript::Mute quiet(&t);
        t.qmp_sent(0, "query-status", nlohmann::json::object());
    }
    t.command(-1, {}, {"truncate", "-s", "64M", "/tmp/x/img0.qcow2"});
    EXPECT_EQ(transcript_text(t.entries()),
              "# step 3: migration_thread_setup (h=host 0): QEMU takes it by itself\n"
              "# step 4: qmp_stop (h=host 0)\n"
              "host 0 -> {\"execute\":\"stop\"}\n"
              "host 0 <- {\"return\":{}}\n"
              "$ truncate -s 64M $DIR/img0.qcow2\n");
    const nlohmann::json j = transcript_json(t.entries());
    ASSERT_EQ(j.size(), 4u);
    EXPECT_EQ(j[1], (nlohmann::json{{"section", "step 4: qmp_stop (h=host 0)"},
                                    {"kind", "qmp"},
                                    {"host", 0},
                                    {"text", R"({"execute":"stop"})"}}));
    EXPECT_FALSE(j[0].contains("host"));
}

// Runs `handoff ARGS`, returning the exit code and stdout.
std::pair<int, std::string> handoff_stdout(const std::string& args) {
    const std::string out = std::string(HANDOFF_BINARY_DIR) + "/conformance-test-stdout.txt";
    const int st = std::system(
        (std::string(HANDOFF_BINARY_DIR) + "/handoff " + args + " >" + out + " 2>/dev/null")
            .c_str());
    std::ifstream in(out);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::remove(out.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, ss.str()};
}

// `replay-qemu --transcript` prints it after the verdict; `--json` carries it as an array.
TEST(ReplayQemu, TranscriptInTextAndJson) {
    const std::string trace =
        std::string(HANDOFF_SOURCE_DIR) + "/conformance/traces/v7.2/single-owner.json";
    auto [code, text] = handoff_stdout("replay-qemu --transcript " + trace);
    EXPECT_EQ(code, 0);
    const std::size_t verdict = text.find("verdict: reproduced");
    const std::size_t cont =
        text.find("host 1 -> {\"execute\":\"cont\"}\nhost 1 <- {\"return\":{}}");
    EXPECT_NE(verdict, std::string::npos) << text;
    EXPECT_NE(cont, std::string::npos) << text;
    EXPECT_LT(verdict, cont) << text;
    EXPECT_NE(text.find("\ntranscript:\n# storage\n$ DIR=$(mktemp -d)\n"), std::string::npos)
        << text;
    // Without the flag: no transcript.
    std::tie(code, text) = handoff_stdout("replay-qemu " + trace);
    EXPECT_EQ(code, 0);
    EXPECT_EQ(text.find("transcript"), std::string::npos) << text;

    std::tie(code, text) = handoff_stdout("replay-qemu --json " + trace);
    EXPECT_EQ(code, 0);
    const nlohmann::json j = nlohmann::json::parse(text);
    ASSERT_TRUE(j.contains("transcript"));
    ASSERT_TRUE(j["transcript"].is_array());
    bool sent = false;
    for (const auto& e : j["transcript"]) {
        sent =
            sent || (e["kind"] == "qmp" && e["host"] == 1 && e["text"] == R"({"execute":"cont"})" &&
                     e["section"] == "step 1: qmp_cont (h=host 1, fail=none, broken=no)");
    }
    EXPECT_TRUE(sent) << j["transcript"].dump(1);
}

// The report shows the reproducer under a reproduced story, and none under one that is not.
TEST(Qemu, ReportShowsTheReproducerOfAReproducedStory) {
    TraceSet set;
    set.name = "v7.2";
    set.command = "handoff check --version v7.2 --json";
    // Not replayable before QEMU starts (postcopy), then reproduced in one step.
    set.traces = {
        {"block-inactive-tracks-nodes", stored_trace("v7.2", "block-inactive-tracks-nodes")},
        {"single-owner", stored_trace("v7.2", "single-owner")}};
    const std::string page =
        conformance_report({ReportGroup{set, TraceSet{}, TraceSet{}}}, ReplayOptions{});
    const std::size_t story = page.find("\n## v7.2: single-owner\n");
    ASSERT_NE(story, std::string::npos) << page;
    const std::size_t block = page.find("```text\n# storage\n$ DIR=$(mktemp -d)\n");
    ASSERT_NE(block, std::string::npos) << page;
    EXPECT_GT(block, story);
    EXPECT_EQ(page.find("```text"), block) << "only the reproduced story has one";
    const std::size_t cont = page.find("host 1 -> {\"execute\":\"cont\"}\n", block);
    const std::size_t end = page.find("\n```\n", block);
    EXPECT_LT(cont, end) << page.substr(block);
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
