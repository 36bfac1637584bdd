// Trace files: what the writer produces the reader gives back, and every kind of bad file is
// rejected with a one-line message that says what is wrong.
#include "handoff/proofs/artifacts.hpp"
#include "handoff/proofs/trace_io.hpp"

#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

namespace handoff::proofs {
namespace {

using namespace handoff::model;
using nlohmann::json;

struct Seed {
    Instance instance = [] {
        Instance i(1);
        i.fixed[static_cast<std::size_t>(Var::cap_postcopy)] = 0;
        return i;
    }();
    z3::context ctx;
    Lowering low{ctx, *find_version("v8.0.0"), instance};
    const InvariantData& inv = *find_invariant("no-vm-start-while-inactive");
    Trace trace = *run_bmc(low, inv, EngineLimits{}).trace;
    json file = trace_to_json(low.interp(), trace, &inv);
};

std::string error_of(const Interpreter& interp, const json& j) {
    try {
        trace_from_json(interp, j);
    } catch (const TraceError& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
        return e.what();
    }
    return "no error";
}

TEST(TraceIo, RoundTrip) {
    Seed s;
    const TraceHeader h = read_trace_header(s.file);
    EXPECT_EQ(h.table, find_version("v8.0.0"));
    EXPECT_EQ(h.invariant, &s.inv);
    EXPECT_EQ(instance_fields(h.instance), instance_fields(s.instance));
    EXPECT_EQ(s.file["caps"], json::array({"postcopy=off"}));
    const Trace back = trace_from_json(s.low.interp(), s.file);
    EXPECT_EQ(back.initial, s.trace.initial);
    ASSERT_EQ(back.steps.size(), s.trace.steps.size());
    for (std::size_t i = 0; i < back.steps.size(); ++i) {
        EXPECT_EQ(back.steps[i].step.row, s.trace.steps[i].step.row);
        EXPECT_EQ(back.steps[i].step.params, s.trace.steps[i].step.params);
        EXPECT_EQ(back.steps[i].state, s.trace.steps[i].state);
    }
    // Through text too.
    EXPECT_NO_THROW(trace_from_json(s.low.interp(), json::parse(s.file.dump())));
}

TEST(TraceIo, RejectsBadFiles) {
    Seed s;
    const Interpreter& interp = s.low.interp();
    auto with = [&](auto edit) {
        json j = s.file;
        edit(j);
        return error_of(interp, j);
    };
    auto contains = [](const std::string& text, const std::string& part) {
        return text.find(part) != std::string::npos;
    };
    EXPECT_PRED2(contains, with([](json& j) { j["steps"][0]["row"] = "no_such_row"; }),
                 "step 1: unknown row 'no_such_row'");
    EXPECT_PRED2(contains, with([](json& j) { j["steps"][1]["params"]["h"] = 2; }),
                 "step 2: parameter h = 2 is out of range");
    EXPECT_PRED2(contains, with([](json& j) { j["steps"][1]["params"]["fail"] = 0; }),
                 "step 2: row qmp_migrate has no parameter 'fail'");
    EXPECT_PRED2(contains, with([](json& j) { j["steps"][1]["params"].erase("h"); }),
                 "step 2: parameter h of row qmp_migrate is missing");
    EXPECT_PRED2(contains, with([](json& j) { j["version"] = "v8.1"; }),
                 "the trace is for v8.1, not v8.0.0");
    EXPECT_PRED2(contains, with([](json& j) { j["version"] = "v7"; }), "unknown version 'v7'");
    EXPECT_PRED2(contains, with([](json& j) { j["nodes"] = 2; }), "the trace's instance");
    EXPECT_PRED2(contains, with([](json& j) { j["caps"] = json::array({"postcopy=maybe"}); }),
                 "bad capability");
    EXPECT_PRED2(contains, with([](json& j) { j["initial"]["storage_ok"] = "perhaps"; }),
                 "storage_ok = \"perhaps\" is not a value of bool");
    EXPECT_PRED2(contains, with([](json& j) { j["initial"].erase("crash"); }),
                 "variable crash is missing");
    EXPECT_PRED2(contains, with([](json& j) { j["steps"][0]["state"]["bogus"] = "true"; }),
                 "unknown variable \"bogus\"");
    EXPECT_PRED2(contains, with([](json& j) { j["surprise"] = 1; }), "unknown field \"surprise\"");
    EXPECT_PRED2(contains, with([](json& j) { j.erase("steps"); }), "missing \"steps\"");
    EXPECT_PRED2(contains, with([](json& j) { j["initial"]["runstate[0]"] = "PAUSED"; }),
                 "step 1 (storage_lost) leads elsewhere in the interpreter");
    EXPECT_PRED2(contains, with([](json& j) { j["steps"].erase(2); }),
                 "is not enabled in the interpreter");
    EXPECT_PRED2(contains, with([](json& j) { j["invariant"] = "no-such"; }),
                 "unknown invariant 'no-such'");
}

TEST(TraceIo, ForkLeavesTheFirstTraceAtOrAfterK) {
    Seed s;
    const Fork f = fork_counterexample(s.low, s.inv, s.trace, 1, 60);
    ASSERT_EQ(f.outcome, Fork::Outcome::found) << f.detail;
    ASSERT_EQ(f.trace->steps.size(), s.trace.steps.size());
    EXPECT_EQ(f.trace->initial, s.trace.initial);
    bool differs = false;
    for (std::size_t i = 0; i < s.trace.steps.size(); ++i) {
        differs = differs || f.trace->steps[i].step.row != s.trace.steps[i].step.row ||
                  f.trace->steps[i].step.params != s.trace.steps[i].step.params;
    }
    EXPECT_TRUE(differs);
    // Pinning every step but the last leaves nothing else.
    const auto last = static_cast<int>(s.trace.steps.size());
    EXPECT_EQ(fork_counterexample(s.low, s.inv, s.trace, last, 60).outcome, Fork::Outcome::none);
}

} // namespace
} // namespace handoff::proofs
