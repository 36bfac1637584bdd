// IC3 (proofs/src/ic3.cpp): it proves what holds with a certificate, says nothing but "unknown"
// about what does not, and stops at its deadline. Whether its proofs agree with the explicit
// engine's is proofs_crosscheck's business (`auto` runs IC3 there).
#include "handoff/proofs/engines.hpp"

#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace handoff::proofs {
namespace {

using namespace handoff::model;

const InvariantData& invariant(std::string_view name) {
    const InvariantData* inv = find_invariant(name);
    if (inv == nullptr) {
        throw std::logic_error("no invariant " + std::string(name));
    }
    return *inv;
}

Result ic3(std::string_view version, std::string_view inv, Instance instance, double timeout = 120,
           std::shared_ptr<const std::vector<NamedClause>> seed = nullptr) {
    z3::context ctx;
    const Lowering low(ctx, *find_version(version), instance);
    EngineLimits lim;
    lim.timeout = timeout;
    lim.ic3_seed = std::move(seed);
    return run_ic3(low, invariant(inv), lim);
}

// v8.0.0 on one node and one capability combination: the runstate proof needs a strengthening
// of some hundred clauses, and stays short.
Instance one_combination(bool documented) {
    Instance one(1);
    one.fixed[static_cast<std::size_t>(Var::cap_postcopy)] = 1;
    one.fixed[static_cast<std::size_t>(Var::cap_late_block_activate)] = 0;
    one.documented_use = documented;
    if (documented) {
        one.fixed[static_cast<std::size_t>(Var::image_locking)] = 1;
    }
    return one;
}

TEST(Ic3, ProvesV102NoInactiveChildWithACertificate) {
    // On the flat graph no node has a parent: the invariant folds to true, inductive by itself.
    const Result r = ic3("v10.2", "no-inactive-child-under-active-parent", Instance(2));
    EXPECT_EQ(r.verdict, Verdict::proved) << r.detail;
    EXPECT_EQ(r.engine, "ic3");
    EXPECT_FALSE(r.bug);
    EXPECT_TRUE(r.inductive_alone);
    EXPECT_NE(r.detail.find("certified"), std::string::npos) << r.detail;
    EXPECT_EQ(r.certificate, "true");
}

// On a chain under documented use (local files: a protocol node needs the storage to activate,
// so a walk without it stops below the base's qcow2 re-open), no parent is activated over a
// driverless child before 10.0: IC3 proves it on v10.0-dev, with a certificate Z3 checks. (Over
// NBD, `--env any`, an incoming destination's `cont` without the storage breaks the base.)
TEST(Ic3, ProvesV100DevNoInactiveChildOnAChain) {
    Instance chain(4);
    chain.graph = GraphShape::chain;
    chain.documented_use = true;
    chain.fixed[static_cast<std::size_t>(Var::image_locking)] = 1;
    const Result r = ic3("v10.0-dev", "no-inactive-child-under-active-parent", chain);
    EXPECT_EQ(r.verdict, Verdict::proved) << r.detail;
    EXPECT_NE(r.detail.find("certified"), std::string::npos) << r.detail;
    EXPECT_FALSE(r.certificate.empty());
}

// The invariant Spacer, k-induction and Houdini could not prove (bench/README.md), on one
// capability combination so that the test stays short.
// It also hands its lemmas on: the same proof under documented use adopts those that are
// inductive there (Houdini), drops a candidate that a step breaks and one over a bit the
// lowering does not have, and is certified as a whole.
TEST(Ic3, ProvesValidRunstateTransitionsOnV800AndHandsItsLemmasOn) {
    const Result any = ic3("v8.0.0", "valid-runstate-transitions", one_combination(false));
    EXPECT_EQ(any.verdict, Verdict::proved) << any.detail;
    EXPECT_FALSE(any.bug);
    EXPECT_EQ(any.certificate.rfind("crash != INVALID_RUNSTATE\n", 0), 0U) << any.certificate;
    ASSERT_TRUE(any.lemmas);
    ASSERT_FALSE(any.lemmas->empty());

    auto seed = std::make_shared<std::vector<NamedClause>>(*any.lemmas);
    // The source's migration stream has no error at first, and a failed write sets one: a
    // clause that holds initially and that a step breaks.
    const NamedClause broken{{"file_error[0]", false}};
    seed->push_back(broken);
    seed->push_back({{"no_such_bit", true}});
    const Result documented =
        ic3("v8.0.0", "valid-runstate-transitions", one_combination(true), 120, seed);
    EXPECT_EQ(documented.verdict, Verdict::proved) << documented.detail;
    EXPECT_FALSE(documented.bug);
    EXPECT_NE(documented.detail.find("from another proof's " + std::to_string(seed->size()) +
                                     " (Houdini)"),
              std::string::npos)
        << documented.detail;
    ASSERT_TRUE(documented.lemmas);
    for (const NamedClause& clause : *documented.lemmas) {
        ASSERT_FALSE(clause.size() == 1 && clause.front().bit == "file_error[0]" &&
                     !clause.front().positive)
            << "a clause a step breaks was adopted";
    }
    // Some of the other profile's lemmas carry over.
    EXPECT_EQ(documented.detail.find(", 0 of them from"), std::string::npos) << documented.detail;
}

// A violated invariant: IC3 reaches an initial state and leaves the trace to BMC.
TEST(Ic3, NeverProvesAViolatedInvariant) {
    const Result r = ic3("v8.0.0", "no-vm-start-while-inactive", Instance(2));
    EXPECT_EQ(r.verdict, Verdict::unknown) << r.detail;
    EXPECT_NE(r.detail.find("left to BMC"), std::string::npos) << r.detail;
    EXPECT_FALSE(r.trace.has_value());
}

TEST(Ic3, StopsAtItsDeadline) {
    const Result r = ic3("v9.2", "valid-runstate-transitions", Instance(2), 0.05);
    EXPECT_EQ(r.verdict, Verdict::unknown);
    EXPECT_EQ(r.detail, "timeout");
    EXPECT_LT(r.seconds, 5.0);
}

// The certificate is what makes "proved": a cover that is not an inductive strengthening of the
// invariant (here `true`, for a violated invariant) must fail it.
TEST(Ic3, CertifyRejectsAnInvariantThatDoesNotHold) {
    z3::context ctx;
    const Lowering low(ctx, *find_version("v8.0.0"), Instance(2));
    const auto failure = certify(low, invariant("no-vm-start-while-inactive"), ctx.bool_val(true));
    ASSERT_TRUE(failure.has_value());
    EXPECT_NE(failure->find("it implies the invariant"), std::string::npos) << *failure;
    const auto holds =
        certify(low, invariant("no-vm-start-while-inactive"),
                low.invariant(invariant("no-vm-start-while-inactive"), low.current()));
    ASSERT_TRUE(holds.has_value()) << "the invariant alone is not inductive on v8.0.0";
    EXPECT_NE(holds->find("every row preserves it"), std::string::npos) << *holds;
}

} // namespace
} // namespace handoff::proofs
