// The abstraction function on hand-built situations, and the oracle on the seed's story.
#include "handoff/model/versions.hpp"
#include "handoff/proptests/property.hpp"
#include "handoff/proptests/system.hpp"
#include "handoff/proptests/versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace handoff::proptests {
namespace {

namespace m = handoff::model;
namespace im = handoff::impl;

TEST(Abstraction, ValueMaps) {
    EXPECT_EQ(to_model(im::kRunStateUnset), m::RunState::UNSET);
    EXPECT_EQ(to_model(im::RunState::finish_migrate), m::RunState::FINISH_MIGRATE);
    EXPECT_FALSE(to_model(im::RunState::prelaunch).has_value());
    EXPECT_FALSE(to_model(im::MigrationStatus::postcopy_paused).has_value());
    EXPECT_EQ(crash_to_model({"bdrv_inactivate_recurse", "Assertion `!(bs->open_flags & "
                                                         "BDRV_O_INACTIVE)' failed."}),
              m::Crash::DOUBLE_INACTIVATE);
    EXPECT_EQ(crash_to_model({"bdrv_inactivate_recurse", "Assertion `top_level' failed."}),
              m::Crash::INACTIVE_CHILD);
    EXPECT_EQ(crash_to_model({"runstate_set", "invalid runstate transition"}),
              m::Crash::INVALID_RUNSTATE);
    EXPECT_FALSE(crash_to_model({"bdrv_child_cb_inactivate", "x"}).has_value());
}

TEST(Abstraction, FreshProcessesAreExactlyOneInitialModelState) {
    const m::Interpreter interp(*m::find_version("v8.1"), test_instance());
    RunConfig config;
    config.version = im::QemuVersion::v8_1;
    config.caps.late_block_activate = true;
    config.start_paused = true;
    System sys(config, interp);
    ASSERT_EQ(sys.candidates().size(), 1u);
    const m::State& s = sys.candidates().front();
    EXPECT_EQ(interp.get(s, m::Var::runstate, 0), static_cast<int>(m::RunState::PAUSED));
    EXPECT_EQ(interp.get(s, m::Var::cap_late_block_activate), 1);
    EXPECT_EQ(interp.get(s, m::Var::incoming, 1), static_cast<int>(m::Incoming::LISTENING));
}

TEST(Abstraction, PostcopyCompletionIsStillIteratingForTheModel) {
    im::Observation o;
    o.migration_status = im::MigrationStatus::postcopy_active;
    o.thread_step = im::MigrationThreadStep::completion_locked;
    EXPECT_EQ(pc_to_model(o), std::vector<m::ThreadPc>{m::ThreadPc::ITERATING});
    o.migration_status = im::MigrationStatus::active;
    EXPECT_EQ(pc_to_model(o), std::vector<m::ThreadPc>{m::ThreadPc::COMPLETION_LOCK});
    o.thread_step = im::MigrationThreadStep::cleanup_bh; // never observed: run with the finish
    EXPECT_TRUE(pc_to_model(o).empty());
}

TEST(Abstraction, OnlyTheTwoPlacesOfTheFailLabelAreAlikeToImpl) {
    using P = m::ThreadPc;
    // impl/ shows neither completion_ret nor where its fail label was reached from.
    EXPECT_TRUE(pcs_alike(P::COMPLETION_FAILED, P::COMPLETION_SAVED));
    EXPECT_TRUE(pcs_alike(P::FINISH, P::FINISH));
    // ITERATING is also shown on its own (the loop), FINISH too (the iteration finish).
    EXPECT_FALSE(pcs_alike(P::ITERATING, P::COMPLETION_FAILED));
    EXPECT_FALSE(pcs_alike(P::ITERATING, P::FINISH));
    EXPECT_FALSE(pcs_alike(P::COMPLETION_SAVED, P::FINISH));
    EXPECT_FALSE(pcs_alike(P::IDLE, P::SETUP));
}

// The seed bug (RHBZ 2058982) on v8.0.0, by hand: the storage goes away during the inactivation
// of disk B, the migration fails, the source resumes with A inactive, and the second migration
// asserts. Every step must be a row of the model; the last violates no-double-inactivate.
TEST(Oracle, SeedStoryOnV800) {
    const m::Interpreter interp(*m::find_version("v8.0.0"), test_instance());
    RunConfig config;
    config.version = im::QemuVersion::v8_0_0;
    System sys(config, interp);
    const auto complete = static_cast<int>(im::IterationChoice::complete);
    const std::vector<Op> story{
        {OpKind::migrate, 0, 0, 0},
        {OpKind::thread_step, 0, 0, complete}, // setup
        {OpKind::storage_outage_at, 0, 1, static_cast<int>(im::FaultOp::inactivate)},
        {OpKind::thread_step, 0, 0, complete}, // migration_completion_begin
        {OpKind::thread_step, 0, 0, complete}, // save: A inactivated, B fails
        {OpKind::thread_step, 0, 0, complete}, // checks -> fail label
        {OpKind::thread_step, 0, 0, complete}, // fail
        {OpKind::thread_step, 0, 0, complete}, // iteration finish: vm_start with A inactive
        {OpKind::incoming_co, 1, 0, 0},        // the destination's load fails: exit
        {OpKind::storage_back, 0, 0, 0},
        {OpKind::start_destination, 1, 0, 0},
        {OpKind::migrate, 0, 0, 0},
        {OpKind::thread_step, 0, 0, complete},
        {OpKind::thread_step, 0, 0, complete},
        {OpKind::thread_step, 0, 0, complete}, // bdrv_inactivate_all meets A: assertion
    };
    for (const Op& op : story) {
        const std::string complaint = sys.execute(op);
        ASSERT_EQ(complaint, "") << sys.log();
    }
    ASSERT_TRUE(sys.crashed()) << sys.log();
    const auto* inv = m::find_invariant("no-double-inactivate");
    ASSERT_NE(inv, nullptr);
    EXPECT_NE(sys.violated({inv}), "");
    const auto* started = m::find_invariant("no-vm-start-while-inactive");
    ASSERT_NE(started, nullptr);
    EXPECT_NE(sys.violated({started}), "");
}

// v7.2: the source writes QEMU_VM_EOF, is cancelled, completes by savevm (v7.2 sets COMPLETED)
// and quits; the destination then loads the stream, whose bytes outlived the source.
std::vector<Op> source_quits_after_writing_the_stream() {
    const auto complete = static_cast<int>(im::IterationChoice::complete);
    return {
        {OpKind::stop, 0, 0, 0},
        {OpKind::migrate, 0, 0, 0},
        {OpKind::thread_step, 0, 0, complete}, // setup
        {OpKind::thread_step, 0, 0, complete}, // migration_completion_begin
        {OpKind::thread_step, 0, 0, complete}, // save: QEMU_VM_EOF written
        {OpKind::migrate_cancel, 0, 0, 0},
        {OpKind::thread_run, 0, 0, complete}, // the thread ends CANCELLED
        {OpKind::savevm, 0, 0, 0},            // sets COMPLETED in v7.2
        {OpKind::quit, 0, 0, 0},
        {OpKind::incoming_co, 1, 0, 0}, // the destination reads the whole stream
    };
}

// Model disagreement found by soaking v7.2 (proptests/README.md, "Corrected since"): every step
// of that story must be a row.
TEST(Oracle, DestinationLoadsAStreamWhoseSourceQuitAfterWritingIt) {
    const m::Interpreter interp(*m::find_version("v7.2"), test_instance());
    RunConfig config;
    config.version = im::QemuVersion::v7_2;
    System sys(config, interp);
    for (const Op& op : source_quits_after_writing_the_stream()) {
        const std::string complaint = sys.execute(op);
        ASSERT_EQ(complaint, "") << describe(op, sys.names()) << "\n" << sys.log();
    }
    ASSERT_NE(sys.host(1), nullptr);
    EXPECT_EQ(sys.host(1)->observe().incoming_step, im::IncomingStep::precopy_bh) << sys.log();
    EXPECT_GT(sys.coverage().rows.count("incoming_load_ok"), 0u) << sys.log();
}

// hidden_slots() may name only slots that abstract() leaves open (mutation testing takes a
// difference there for one impl/ cannot show): along the story above, with both processes
// running, a migration, a cancelled one and a process gone, each slot it names allows every
// value.
TEST(Abstraction, HiddenSlotsAreOnlySlotsTheAbstractionLeavesOpen) {
    const m::Interpreter interp(*m::find_version("v7.2"), test_instance());
    RunConfig config;
    config.version = im::QemuVersion::v7_2;
    System sys(config, interp);
    int hidden_running = 0, hidden_gone = 0;
    for (const Op& op : source_quits_after_writing_the_stream()) {
        ASSERT_EQ(sys.execute(op), "") << describe(op, sys.names()) << "\n" << sys.log();
        const AbstractState a = sys.abstract_now();
        ASSERT_FALSE(sys.candidates().empty());
        for (const m::State& s : sys.candidates()) {
            const std::vector<bool> hidden = hidden_slots(interp, s);
            ASSERT_EQ(hidden.size(), a.allowed.size());
            for (std::size_t i = 0; i < hidden.size(); ++i) {
                if (hidden[i]) {
                    EXPECT_EQ(a.allowed[i], 0xFFFF)
                        << "slot " << i << " after " << describe(op, sys.names());
                }
            }
            const int count = static_cast<int>(std::count(hidden.begin(), hidden.end(), true));
            (interp.get(s, m::Var::alive, 0) == 0 ? hidden_gone : hidden_running) += count;
        }
    }
    EXPECT_GT(hidden_running, 0); // the story saw both kinds of process
    EXPECT_GT(hidden_gone, 0);
}

// A postcopy migration to its end: every step is a row, and the destination runs.
TEST(Oracle, PostcopyStoryOnEveryVersion) {
    for (const std::string& version : test_versions()) {
        SCOPED_TRACE(version);
        const m::Interpreter interp(*m::find_version(version), test_instance());
        RunConfig config;
        config.version = impl_version(version);
        config.caps.postcopy = true;
        config.caps.autostart_policy = true;
        System sys(config, interp);
        const auto postcopy = static_cast<int>(im::IterationChoice::start_postcopy);
        const auto complete = static_cast<int>(im::IterationChoice::complete);
        const std::vector<Op> story{
            {OpKind::migrate, 0, 0, 0},
            {OpKind::thread_step, 0, 0, postcopy}, // setup
            {OpKind::start_postcopy, 0, 0, 0},     // migrate-start-postcopy
            {OpKind::thread_step, 0, 0, postcopy}, // postcopy_start(): package sent
            {OpKind::incoming_co, 1, 0, 0},        // the destination reads the package
            {OpKind::postcopy_run_bh, 1, 0, 0},    // and runs
            {OpKind::thread_step, 0, 0, complete}, // migration_completion(): postcopy branch
            {OpKind::thread_step, 0, 0, complete},
            {OpKind::incoming_co, 1, 0, 0}, // the listen thread reads the rest
            {OpKind::thread_step, 0, 0, complete},
            {OpKind::thread_step, 0, 0, complete},
        };
        for (const Op& op : story) {
            const std::string complaint = sys.execute(op);
            ASSERT_EQ(complaint, "") << describe(op, sys.names()) << "\n" << sys.log();
        }
        EXPECT_EQ(sys.host(1)->observe().runstate, im::RunState::running) << sys.log();
        EXPECT_GT(sys.coverage().rows.count("postcopy_run_bh"), 0u);
        EXPECT_GT(sys.coverage().rows.count("migration_completion_postcopy"), 0u) << sys.log();
    }
}

} // namespace
} // namespace handoff::proptests
