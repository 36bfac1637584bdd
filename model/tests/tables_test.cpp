// The tables as data: every version is derived from the one before, every row is explained and
// cited, the generated specification is committed and current.
#include "handoff/model/invariants.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/spec.hpp"
#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace handoff::model {
namespace {

// The shipped versions are all registered (model/CMakeLists.txt links the tables' archive whole:
// nothing else refers to a table's object file), in release order, each derived from the one
// before. A version added later may come anywhere in the list; this test does not mind.
TEST(Tables, TheShippedVersionsEachDerivedFromThePreviousOne) {
    const std::vector<std::pair<std::string_view, std::string_view>> shipped{
        {"v7.2", "v8.0.0"},    {"v8.0.0", ""},         {"v8.1", "v8.0.0"}, {"v9.2", "v8.1"},
        {"v10.0-dev", "v9.2"}, {"v10.0", "v10.0-dev"}, {"v10.2", "v10.0"}};
    // v7.2 (Debian 12's QEMU) is listed first, as the oldest code, but its table is v8.0.0's with
    // the 2023 fix's backported rows: the rest form a chain from v8.0.0.
    const auto& versions = all_versions();
    std::size_t at = 0;
    for (const auto& [name, based_on] : shipped) {
        const TableData* t = find_version(name);
        ASSERT_NE(t, nullptr) << name << " is not registered";
        EXPECT_EQ(t->based_on, based_on) << name;
        const auto it = std::find(versions.begin(), versions.end(), t);
        EXPECT_GE(static_cast<std::size_t>(it - versions.begin()), at) << name << " out of order";
        at = static_cast<std::size_t>(it - versions.begin());
    }
    for (const TableData* t : versions) {
        EXPECT_TRUE(t->based_on.empty() || find_version(t->based_on) != nullptr) << t->version;
    }
}

TEST(Tables, VersionsAreOrderedAsQemuReleasesThenByName) {
    EXPECT_TRUE(version_before("v7.2", "v8.0.0"));
    EXPECT_TRUE(version_before("v9.2", "v10.0-dev"));
    EXPECT_TRUE(version_before("v10.0-dev", "v10.0"));
    EXPECT_TRUE(version_before("v10.0", "v10.2"));
    EXPECT_TRUE(version_before("v8.0.0", "v8.0.0+fix"));
    EXPECT_TRUE(version_before("v8.0.0+fix", "v8.1"));
    EXPECT_TRUE(version_before("v10.2", "fix-2023"));
    EXPECT_TRUE(version_before("fix-2023", "mine"));
    EXPECT_FALSE(version_before("v8.1", "v8.1"));
    EXPECT_FALSE(version_before("mine", "v7.2"));
}

// Where each invariant applies is read off the tables (invariants.hpp); for the shipped versions
// that is where the hand-written lists before the rules said.
TEST(Invariants, WhereEachAppliesIsDerivedFromTheTables) {
    const std::vector<std::string_view> every{"v7.2",      "v8.0.0", "v8.1", "v9.2",
                                              "v10.0-dev", "v10.0",  "v10.2"};
    const std::map<std::string_view, std::vector<std::string_view>> expected{
        {"no-double-inactivate", {"v7.2", "v8.0.0", "v8.1", "v9.2", "v10.0-dev"}},
        {"no-inactive-child-under-active-parent", {"v10.0", "v10.2"}},
        {"block-inactive-tracks-nodes", {"v7.2", "v8.0.0", "v8.1", "v9.2"}}};
    for (const InvariantData& inv : all_invariants()) {
        const auto it = expected.find(inv.name);
        const std::vector<std::string_view>& want = it == expected.end() ? every : it->second;
        for (std::string_view v : every) {
            const bool applies = std::find(want.begin(), want.end(), v) != want.end();
            EXPECT_EQ(inv.applies_to(v), applies) << inv.name << " on " << v;
        }
        EXPECT_FALSE(inv.applies_to("no-such-version")) << inv.name;
    }
}

TEST(Tables, DiffShowsThe72BackportAsTheFixWithoutVmOldState) {
    const std::string diff = render_diff(*find_version("v8.0.0"), *find_version("v7.2"));
    EXPECT_NE(diff.find("removed row migration_completion_fail_invalidate"), std::string::npos);
    EXPECT_NE(diff.find("added row migration_completion_checks_fail"), std::string::npos);
    EXPECT_NE(diff.find("changed row migration_completion_save"), std::string::npos);
    EXPECT_NE(diff.find("+  block_inactive[h] := true"), std::string::npos);
    EXPECT_EQ(diff.find("vm_old_state[h]"), std::string::npos) << diff; // no 8.1 run-state restore
    // 7.2.9's backport of d3007d348a: savevm refuses inactive nodes instead of asserting.
    EXPECT_NE(diff.find("changed row savevm"), std::string::npos);
    EXPECT_EQ(diff.find("changed row migration_iteration_finish"), std::string::npos) << diff;
}

TEST(Tables, EveryRowIsExplainedAndCited) {
    for (const TableData* t : all_versions()) {
        for (const RowData& r : t->rows) {
            EXPECT_FALSE(r.sentence.empty()) << t->version << " " << r.name;
            EXPECT_FALSE(r.qemu.empty()) << t->version << " " << r.name;
            EXPECT_GE(r.guard, 0) << t->version << " " << r.name;
        }
    }
}

TEST(Tables, DiffShowsThe2023FixAsChangedRows) {
    const std::string diff = render_diff(*find_version("v8.0.0"), *find_version("v8.1"));
    EXPECT_NE(diff.find("removed row migration_completion_fail_invalidate"), std::string::npos);
    EXPECT_NE(diff.find("added row migration_completion_checks_fail"), std::string::npos);
    EXPECT_NE(diff.find("changed row migration_completion_save"), std::string::npos);
    EXPECT_NE(diff.find("+  block_inactive[h] := true"), std::string::npos);
    EXPECT_NE(diff.find("+ runstate transition FINISH_MIGRATE -> SHUTDOWN"), std::string::npos);
    // Rows that did not change are not listed.
    EXPECT_EQ(diff.find("row storage_lost"), std::string::npos);
    EXPECT_EQ(render_diff(*find_version("v9.2"), *find_version("v9.2")).find("row "),
              std::string::npos);
}

TEST(Tables, V10_0AddsBlockdevSetActiveAndDropsTheFlag) {
    const std::string diff = render_diff(*find_version("v10.0-dev"), *find_version("v10.0"));
    EXPECT_NE(diff.find("added row blockdev_set_inactive_all"), std::string::npos);
    EXPECT_NE(diff.find("added row migration_iteration_finish_unknown_state"), std::string::npos);
    EXPECT_NE(diff.find("-  migration_block_active[h] := false"), std::string::npos);
    EXPECT_NE(diff.find("changed row qmp_migrate_cancel"), std::string::npos);
}

// `handoff diff v10.0 v10.2` is what 10.1 and 10.2 changed: 26f65c01 and 725a9e5f78, nothing else.
TEST(Tables, V10_2Is10_0With26f65c01And725a9e5f78) {
    const std::string diff = render_diff(*find_version("v10.0"), *find_version("v10.2"));
    EXPECT_NE(diff.find("changed row migration_iteration_finish_resume"), std::string::npos);
    EXPECT_NE(diff.find("changed row migration_iteration_finish_stopped"), std::string::npos);
    EXPECT_NE(diff.find("26f65c01"), std::string::npos);
    EXPECT_NE(diff.find("changed row postcopy_start_fails"), std::string::npos);
    EXPECT_NE(diff.find("changed row postcopy_start_package_fails"), std::string::npos);
    EXPECT_NE(diff.find("725a9e5f78"), std::string::npos);
    std::size_t rows = 0;
    for (const char* header : {"\nchanged row ", "\nadded row ", "\nremoved row "}) {
        for (std::size_t at = diff.find(header); at != std::string::npos;
             at = diff.find(header, at + 1)) {
            ++rows;
        }
    }
    EXPECT_EQ(rows, 4U) << diff;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(Specification, CommittedPagesAreWhatTheGeneratorPrints) {
    for (const TableData* t : all_versions()) {
        const std::string stem =
            std::string(HANDOFF_SOURCE_DIR) + "/docs/spec/" + spec_file_stem(t->version);
        // Compared as booleans: a stale page is named, not printed whole.
        EXPECT_TRUE(read_file(stem + ".md") == render_spec_markdown(*t))
            << stem << ".md is stale: run docs/spec/regenerate";
        EXPECT_TRUE(read_file(stem + ".dot") == render_spec_dot(*t))
            << stem << ".dot is stale: run docs/spec/regenerate";
        std::ifstream svg(stem + ".svg");
        EXPECT_TRUE(svg.good()) << stem << ".svg is missing: run docs/spec/regenerate";
    }
}

TEST(Specification, EveryRowAndEveryUsedVariableIsOnThePage) {
    for (const TableData* t : all_versions()) {
        const std::string page = render_spec_markdown(*t);
        for (const RowData& r : t->rows) {
            EXPECT_NE(page.find("### `" + std::string(r.name) + "`"), std::string::npos)
                << t->version << " " << r.name;
        }
        EXPECT_NE(page.find("| `node` |"), std::string::npos);
    }
    // 8.0 has vm_was_running, 8.1 has vm_old_state instead.
    EXPECT_NE(render_spec_markdown(*find_version("v8.0.0")).find("| `vm_was_running` |"),
              std::string::npos);
    EXPECT_EQ(render_spec_markdown(*find_version("v8.1")).find("| `vm_was_running` |"),
              std::string::npos);
}

} // namespace
} // namespace handoff::model
