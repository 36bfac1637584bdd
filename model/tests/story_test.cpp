// Stories in QEMU's terms (story.hpp): the headline, the unchanged variables that matter, the
// hosts' roles, QEMU's abort messages and the legend, on traces driven step by step.
#include "handoff/model/story.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace handoff::model::testing {
namespace {

// Steps by row name and parameters, with the state after each one.
class TraceBuilder {
  public:
    explicit TraceBuilder(const Interpreter& interp) : interp_(interp) {
        trace_.initial = initial_state(interp);
        current_ = trace_.initial;
    }
    TraceBuilder& then(const std::string& row,
                       std::initializer_list<std::pair<Param, int>> params) {
        Step st;
        for (std::size_t i = 0; i < interp_.table().rows.size(); ++i) {
            if (interp_.table().rows[i].name == row) {
                st.row = static_cast<int>(i);
            }
        }
        for (int p = 0; p < kParamCount; ++p) {
            st.params[static_cast<std::size_t>(p)] = interp_.param_default(static_cast<Param>(p));
        }
        for (auto [p, v] : params) {
            st.params[static_cast<std::size_t>(p)] = v;
        }
        current_ = step(interp_, current_, row, params);
        trace_.steps.push_back({st, current_});
        return *this;
    }
    const Trace& trace() const { return trace_; }

  private:
    const Interpreter& interp_;
    Trace trace_;
    State current_;
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The lines of step `k` in a formatted story (its heading and what follows, up to the next step).
std::string step_lines(const std::string& story, int k) {
    const std::string head = "  " + std::to_string(k) + ". ";
    const std::string next = "  " + std::to_string(k + 1) + ". ";
    const std::size_t begin = story.find(head);
    if (begin == std::string::npos) {
        return "";
    }
    std::size_t end = story.find(next, begin);
    if (end == std::string::npos) {
        end = story.find("\nSpec: ", begin);
    }
    return story.substr(begin, end - begin);
}

// Whether step `k` of a formatted story has a line containing `text`.
bool step_says(const std::string& story, int k, const std::string& text) {
    return contains(step_lines(story, k), text);
}

// The seed (RHBZ 2058982) on v8.0.0: with the storage gone, inactivation fails at node `fail`
// (half-inactivating it if `half`), the fail label re-activates nothing, the source resumes.
TraceBuilder seed_v8_0_0(const Interpreter& i, int fail, int half) {
    TraceBuilder b(i);
    b.then("storage_lost", {})
        .then("qmp_migrate", {{Param::host, host0}})
        .then("migration_thread_setup", {{Param::host, host0}})
        .then("migration_completion_begin", {{Param::host, host0}})
        .then("migration_completion_save",
              {{Param::host, host0}, {Param::fail, fail}, {Param::half, half}})
        .then("migration_completion_fail", {{Param::host, host0}})
        .then("migration_iteration_finish_resume", {{Param::host, host0}});
    return b;
}

TEST(Story, SeedShowsBlockInactiveStayingFalseAndOpensWithAHeadline) {
    const Interpreter i(*find_version("v8.0.0"), fixed_instance(2));
    const InvariantData& inv = *find_invariant("no-vm-start-while-inactive");
    const Trace t = seed_v8_0_0(i, 1, 0).trace();
    const std::string story = format_story(i, t, &inv);
    EXPECT_EQ(story.rfind("Headline: ", 0), 0u) << story;
    // Step 5 computes block_inactive := block_inactive || inactivation_ok(h) and leaves it false.
    EXPECT_TRUE(step_says(story, 5,
                          "block_inactive[0] = false (unchanged; assigned block_inactive[h] || "
                          "inactivation_ok(h) in savevm_complete_precopy())"))
        << story;
    // Step 7: the guard reads what step 5 set, vm_start() reads the inactive node.
    EXPECT_TRUE(
        step_says(story, 7, "vm_was_running[0] = true (unchanged since step 5; read by the guard)"))
        << story;
    EXPECT_TRUE(step_says(story, 7, "node[0][0] = INACTIVE (unchanged since step 5;")) << story;
    EXPECT_TRUE(contains(story, "  7. migration_iteration_finish_resume (h=host 0 (source))"));
    EXPECT_TRUE(contains(story, "\nSpec: docs/spec/v8_0_0.md"));
    EXPECT_TRUE(contains(story, "handoff legend --version v8.0.0"));

    const std::string h = headline(i, t, &inv);
    EXPECT_TRUE(contains(h, "Step 5, migration_completion() on host 0 (source): "
                            "bdrv_inactivate_all() fails at node 1; nodes now: node 0 INACTIVE, "
                            "node 1 ACTIVE."))
        << h;
    EXPECT_TRUE(contains(h, "Step 7, migration_iteration_finish() on host 0 (source): vm_start() "
                            "runs while node[0][0] = INACTIVE"))
        << h;
    EXPECT_TRUE(contains(h, "This violates no-vm-start-while-inactive: a step that starts"));
    // 8.0.0's fail label never reads block_inactive: flipping it changes nothing in this story,
    // so the headline must not say the story depends on it.
    EXPECT_FALSE(contains(h, "depends on block_inactive")) << h;
}

TEST(Story, NamesAFlagOnlyWhenFlippingItLosesTheViolation) {
    // v8.0.0's postcopy story: the destination's `cont` breaks node 0, postcopy's run bottom half
    // starts the guest because autostart is set.
    const Interpreter i(*find_version("v8.0.0"),
                        fixed_instance(2, false, false, /*postcopy=*/true, /*autostart=*/true));
    const Trace t =
        TraceBuilder(i)
            .then("storage_lost", {})
            .then("qmp_migrate", {{Param::host, host0}})
            .then("qmp_cont", {{Param::host, host1}, {Param::fail, 0}, {Param::broken, 1}})
            .then("migration_thread_setup", {{Param::host, host0}})
            .then("postcopy_start_ok", {{Param::host, host0}})
            .then("postcopy_run_bh", {{Param::host, host1}})
            .trace();
    const std::string h = headline(i, t, find_invariant("no-vm-start-while-inactive"));
    EXPECT_TRUE(contains(h, "The story depends on autostart[1] = true, read by step 6: with "
                            "false, the remaining steps reach no violation."))
        << h;
    EXPECT_TRUE(contains(h, "Step 3, qmp_cont() on host 1 (destination): bdrv_activate_all() "
                            "fails at node 0 and the failing activation was qcow2's re-open"))
        << h;
}

// A crash's step prints QEMU's message, chosen by the failed assertion: the version's file and
// line (or that the line was not read), and the variant the state calls for.
struct CrashCase {
    const char* what;
    const Interpreter& interp;
    Trace trace;
    const char* invariant;
    std::vector<std::string> expected; // in the lines of the last step
};

TEST(Story, CrashPrintsQemusAssertion) {
    const Interpreter v8_1(*find_version("v8.1"), fixed_instance(1, false, false, true, true));
    const Interpreter v8_0_0(*find_version("v8.0.0"), fixed_instance(1));
    const CrashCase cases[] = {
        {"v8.1: a failed postcopy package leaves vm_old_state at -1, and the stopped branch of "
         "migration_iteration_finish() runs runstate_set(-1)",
         v8_1,
         TraceBuilder(v8_1)
             .then("qmp_migrate", {{Param::host, host0}})
             .then("migration_thread_setup", {{Param::host, host0}})
             .then("postcopy_start_package_fails", {{Param::host, host0}})
             .then("migration_thread_loop_exit", {{Param::host, host0}})
             .then("migration_iteration_finish_stopped", {{Param::host, host0}})
             .trace(),
         "valid-runstate-transitions",
         {"QEMU aborts: qemu-system-x86_64: ../system/runstate.c:?: runstate_set: Assertion "
          "`new_state < RUN_STATE__MAX' failed.\n         (the line was not read"}},
        {"the seed with node 0 left half-inactivated: its flag is clear, its BlockBackend lost "
         "the write permission, so the guest's write fails the permission assertion",
         v8_0_0,
         seed_v8_0_0(v8_0_0, 0, 1)
             .then("guest_write", {{Param::host, host0}, {Param::target, 0}})
             .trace(),
         "no-write-to-inactive",
         {"QEMU aborts: qemu-system-x86_64: ../block/io.c:?: bdrv_co_write_req_prepare: "
          "Assertion `child->perm & (BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE)' failed.",
          "node[0][0] = HALF_INACTIVE (unchanged since step 5; read by write_meets_inactive(h, "
          "n))"}},
    };
    for (const CrashCase& c : cases) {
        const std::string story = format_story(c.interp, c.trace, find_invariant(c.invariant));
        for (const std::string& line : c.expected) {
            EXPECT_TRUE(step_says(story, static_cast<int>(c.trace.steps.size()), line))
                << c.what << "\n"
                << story;
        }
    }
    EXPECT_TRUE(contains(headline(v8_1, cases[0].trace, find_invariant(cases[0].invariant)),
                         "runstate_set() finds runstate[0] = FINISH_MIGRATE and vm_old_state[0] = "
                         "UNSET and QEMU aborts"));
}

TEST(Story, AbortMessagesPerVersion) {
    EXPECT_EQ(qemu_abort("v10.0", Crash::INACTIVE_CHILD, AbortVariant::only).message,
              "qemu-system-x86_64: block.c:7017: bdrv_inactivate_recurse: Assertion `top_level' "
              "failed.");
    EXPECT_EQ(qemu_abort("v7.2", Crash::DOUBLE_INACTIVATE, AbortVariant::only).message,
              "qemu-system-x86_64: ../../block.c:6681: bdrv_inactivate_recurse: Assertion "
              "`!(bs->open_flags & BDRV_O_INACTIVE)' failed.");
    EXPECT_EQ(qemu_abort("v7.2", Crash::WRITE_TO_INACTIVE, AbortVariant::write_without_write_perm)
                  .message,
              "qemu-system-x86_64: ../../block/io.c:1995: bdrv_co_write_req_prepare: Assertion "
              "`child->perm & (BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE)' failed.");
    EXPECT_EQ(qemu_abort("v8.0.0", Crash::DOUBLE_INACTIVATE, AbortVariant::only).message,
              "qemu-system-x86_64: ../block.c:6748: bdrv_inactivate_recurse: Assertion "
              "`!(bs->open_flags & BDRV_O_INACTIVE)' failed.");
    const QemuAbort unread = qemu_abort("v9.2", Crash::DOUBLE_INACTIVATE, AbortVariant::only);
    EXPECT_TRUE(contains(unread.message, "../block.c:?: bdrv_inactivate_recurse"));
    EXPECT_TRUE(contains(unread.provenance, "the line was not read")) << unread.provenance;
    EXPECT_EQ(qemu_abort("v8.0.0", Crash::INVALID_RUNSTATE, AbortVariant::invalid_transition,
                         RunState::FINISH_MIGRATE, RunState::SAVE_VM)
                  .message,
              "qemu-system-x86_64: invalid runstate transition: 'finish-migrate' -> 'save-vm'");
    EXPECT_EQ(qemu_abort("v10.0", Crash::INVALID_RUNSTATE, AbortVariant::unset_state).message,
              "qemu-system-x86_64: system/runstate.c:232: runstate_set: Assertion `new_state < "
              "RUN_STATE__MAX' failed.");
    // 8.0's runstate.c still lived in softmmu/.
    EXPECT_TRUE(
        contains(qemu_abort("v8.0.0", Crash::INVALID_RUNSTATE, AbortVariant::unset_state).message,
                 "../softmmu/runstate.c:?:"));
}

TEST(Story, RolesFollowASecondMigrationBack) {
    const Interpreter i(*find_version("v8.0.0"), fixed_instance(1));
    const Trace t = TraceBuilder(i)
                        .then("qmp_migrate", {{Param::host, host0}})
                        .then("migration_thread_setup", {{Param::host, host0}})
                        .then("migration_completion_begin", {{Param::host, host0}})
                        .then("migration_completion_save", {{Param::host, host0}})
                        .then("incoming_load_ok", {{Param::host, host1}})
                        .then("migration_completion_done", {{Param::host, host0}})
                        .then("process_incoming_migration_bh", {{Param::host, host1}})
                        .then("migration_iteration_finish_completed", {{Param::host, host0}})
                        .then("quit_after_handover", {{Param::host, host0}})
                        .then("start_destination", {{Param::host, host0}})
                        .then("qmp_migrate", {{Param::host, host1}})
                        .trace();
    Roles r = roles_of(i, t.initial, Roles{});
    EXPECT_EQ(host_name(0, r), "host 0 (source)");
    EXPECT_EQ(host_name(1, r), "host 1 (destination)");
    for (const auto& ts : t.steps) {
        r = roles_of(i, ts.state, r);
    }
    EXPECT_EQ(host_name(0, r), "host 0 (destination)");
    EXPECT_EQ(host_name(1, r), "host 1 (source)");
    const std::string story = format_story(i, t, nullptr);
    EXPECT_TRUE(step_says(story, 10, "start_destination (h=host 0 (destination))")) << story;
    EXPECT_TRUE(step_says(story, 10, "roles now: host 0 (destination), host 1 (source)")) << story;
    EXPECT_TRUE(step_says(story, 11, "qmp_migrate (h=host 1 (source))")) << story;
}

TEST(Story, LegendExplainsEveryAbbreviation) {
    const TableData& table = *find_version("v8.0.0");
    const std::string text = legend(&table);
    for (const ParamInfo& p : kParams) {
        EXPECT_TRUE(contains(text, "\n  " + std::string(p.name) + " ")) << p.name;
    }
    for (const VarInfo& v : kVars) {
        EXPECT_TRUE(contains(text, "\n  " + std::string(v.name))) << v.name;
    }
    for (DomainId d : {DomainId::MigStatus, DomainId::RunState, DomainId::NodeState,
                       DomainId::ThreadPc, DomainId::Incoming, DomainId::Crash}) {
        for (std::string_view value : domain_info(d).values) {
            EXPECT_TRUE(contains(text, "\n  " + std::string(value) + " ")) << value;
        }
    }
    for (const RowData& row : table.rows) {
        EXPECT_TRUE(contains(text, "\n  " + std::string(row.name))) << row.name;
    }
    EXPECT_FALSE(contains(legend(), "Rows of"));
}

} // namespace
} // namespace handoff::model::testing
