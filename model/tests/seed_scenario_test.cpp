#include "handoff/model/explore.hpp"
#include "handoff/model/versions.hpp"
#include <cstdlib>
#include <gtest/gtest.h>
using namespace handoff::model;
TEST(Smoke, Explore) {
    if (!std::getenv("SMOKE"))
        GTEST_SKIP();
    Interpreter interp(*find_version("v8.0.0"), Instance(2));
    std::vector<const InvariantData*> invs;
    for (auto& i : all_invariants())
        invs.push_back(&i);
    auto e = explore(interp, invs);
    std::printf("states %zu transitions %zu depth %d %.2fs\n", e.states, e.transitions, e.depth,
                e.seconds);
    for (auto& v : e.verdicts) {
        std::printf("%s: %s (%zu)\n", std::string(v.invariant->name).c_str(),
                    v.violated ? "VIOLATED" : "holds", v.violating);
        if (v.trace)
            std::printf("%s", format_trace(interp, *v.trace).c_str());
    }
}
