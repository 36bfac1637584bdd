// The tables as data: every version is derived from the one before, every row is explained and
// cited, the generated specification is committed and current.
#include "handoff/model/disk_states.hpp"
#include "handoff/model/invariants.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/provenance.hpp"
#include "handoff/model/spec.hpp"
#include "handoff/model/versions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
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

// The committed pages (docs/spec/) against the generator: the test cli.spec_pages, which runs
// docs/spec/regenerate --check (the pages carry the checker's verdicts, read by the program).

TEST(Specification, EveryRowAndEveryUsedVariableIsOnThePage) {
    for (const TableData* t : all_versions()) {
        const std::string page = render_spec_markdown(*t);
        for (const RowData& r : t->rows) {
            EXPECT_NE(page.find("### <a id=\"row-" + std::string(r.name) + "\"></a>`" +
                                std::string(r.name) + "`"),
                      std::string::npos)
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

// ---- where each row was read -------------------------------------------------------------------

TEST(Provenance, NoRowCitesAnotherVersionWithoutSayingSo) {
    for (const TableData* t : all_versions()) {
        const std::string page = render_spec_markdown(*t);
        for (const RowData& r : t->rows) {
            const RowProvenance p = row_provenance(*t, r);
            const std::string_view cited = p.read_in;
            if (cited != t->version) {
                const std::string line = "- QEMU: read in " + std::string(cited) + " (" +
                                         std::string(p.citation) + "); not re-read for " +
                                         std::string(t->version) + "\n";
                EXPECT_NE(page.find(line), std::string::npos) << t->version << " " << r.name;
            }
        }
    }
}

TEST(Provenance, AnInheritedRowIsReadWhereItWasWritten) {
    const TableData& v8_1 = *find_version("v8.1");
    const TableData& v10_2 = *find_version("v10.2");
    // v8.1 replaced qmp_migrate (migrate_init() resets vm_old_state) and kept qmp_stop.
    EXPECT_EQ(row_provenance(v8_1, *v8_1.find("qmp_migrate")).written_for, "v8.1");
    EXPECT_EQ(row_provenance(v8_1, *v8_1.find("qmp_stop")).read_in, "v8.0.0");
    // v10.2's own rows, and 10.0's rows as they stand.
    const RowProvenance resume =
        row_provenance(v10_2, *v10_2.find("migration_iteration_finish_resume"));
    EXPECT_EQ(resume.written_for, "v10.2");
    EXPECT_EQ(resume.read_in, "v10.2");
    EXPECT_EQ(row_provenance(v10_2, *v10_2.find("qmp_cont")).read_in, "v10.0");
}

// v10.0-dev replaced start_destination; v10.0 puts back v8.0.0's row, so its text is v8.0.0's
// (and v10.0 re-read it in 10.0.2's source).
TEST(Provenance, ARowPutBackComesFromTheVersionThatWroteIt) {
    const TableData& v10_0 = *find_version("v10.0");
    const RowProvenance p = row_provenance(v10_0, *v10_0.find("start_destination"));
    EXPECT_EQ(p.written_for, "v8.0.0");
    EXPECT_EQ(p.read_in, "v10.0");
    EXPECT_NE(p.citation.find("10.0.2"), std::string_view::npos) << p.citation;
}

TEST(Provenance, EveryRereadIsOfAnInheritedRowWithACitationOfItsOwn) {
    for (const TableData* t : all_versions()) {
        std::set<std::string_view> names;
        for (const RowCitation& c : t->rereads) {
            EXPECT_TRUE(names.insert(c.row).second) << t->version << ": " << c.row << " twice";
            const RowData* r = t->find(c.row);
            ASSERT_NE(r, nullptr) << t->version << " re-reads a row it does not have: " << c.row;
            const RowProvenance p = row_provenance(*t, *r);
            EXPECT_NE(p.written_for, t->version) << t->version << " wrote " << c.row;
            EXPECT_EQ(p.read_in, t->version) << c.row;
            EXPECT_EQ(p.citation, c.qemu) << c.row;
            EXPECT_NE(c.qemu, r->qemu) << c.row << ": the same citation as the row's";
        }
    }
    // v10.2 = 10.0.2 + four patches; no 10.2 source was read, so v10.2 re-reads nothing, and its
    // inherited rows cite 10.0.2 (read in v10.0) or say where else they were read.
    EXPECT_TRUE(find_version("v10.2")->rereads.empty());
}

// ---- the page: verdicts, stories, anchors ----------------------------------------------------

// Every link to an anchor on the page (`](#id)`) has its `<a id="id">`, and no id is given twice.
void expect_anchors_resolve(const std::string& page, std::string_view version) {
    std::set<std::string> ids;
    const std::regex id_re("<a id=\"([^\"]+)\"></a>");
    for (auto it = std::sregex_iterator(page.begin(), page.end(), id_re);
         it != std::sregex_iterator(); ++it) {
        EXPECT_TRUE(ids.insert((*it)[1]).second) << version << ": id " << (*it)[1] << " twice";
    }
    const std::regex link_re("\\]\\(#([^)]+)\\)");
    std::size_t links = 0;
    for (auto it = std::sregex_iterator(page.begin(), page.end(), link_re);
         it != std::sregex_iterator(); ++it, ++links) {
        EXPECT_TRUE(ids.count((*it)[1]))
            << version << ": a link to #" << (*it)[1] << " without its anchor";
    }
    EXPECT_GT(links, 0U) << version;
}

SpecResults results_with_profiles(const TableData& t) {
    SpecResults r;
    r.manifest_link = "../../proofs/expected.json";
    r.instance = "2 nodes";
    r.profiles = true;
    SpecStory told;
    told.headline = "Host 1 activates its disks while host 0 still holds them.";
    told.link = "../../proofs/traces/x.json";
    SpecStory steps;
    steps.start = "host 0 RUNNING, every capability off";
    steps.steps = {{std::string(t.rows.front().name), "h=host 0"}, {"a_row_of_no_table", ""}};
    steps.link = "../../proofs/traces/any/x.json";
    r.documented = {{"single-owner", "violated", "bmc", 1, 0, told},
                    {"no-vm-start-while-inactive", "proved", "ic3", 0, 0, std::nullopt}};
    r.any = {{"single-owner", "violated", "bmc", 1, 0, told},
             {"no-vm-start-while-inactive", "violated", "bmc", 2, 0, steps}};
    return r;
}

TEST(Specification, EveryLinkOnAPageHasItsAnchor) {
    for (const TableData* t : all_versions()) {
        expect_anchors_resolve(render_spec_markdown(*t), t->version);
        const SpecResults r = results_with_profiles(*t);
        expect_anchors_resolve(render_spec_markdown(*t, &r), t->version);
    }
}

TEST(Specification, RowsLinkToTheHelpersTheyPrint) {
    const std::string page = render_spec_markdown(*find_version("v10.0"));
    const std::size_t row = page.find("`blockdev_set_active_all`\n");
    ASSERT_NE(row, std::string::npos);
    const std::size_t uses = page.find("Uses: ", row);
    EXPECT_EQ(page.substr(uses, page.find('\n', uses) - uses),
              "Uses: [`documented_activation(h)`](#def-documented_activation-h), "
              "[`bdrv_activate_all(h, fail, broken)`](#def-bdrv_activate_all-h-fail-broken).");
    // A named expression's definition links to the ones its body prints.
    EXPECT_NE(page.find("`activation_may_end(h, fail)` = `"), std::string::npos);
    EXPECT_NE(page.find("(uses [`activation_reaches(m, fail)`](#def-activation_reaches-m-fail), "
                        "[`locked_by_peer(h, m)`](#def-locked_by_peer-h-m)"),
              std::string::npos);
    // Each level of a walk's written-out recursion is a definition of its own.
    EXPECT_NE(page.find("`inactivation_passes(h, n)` = `(is_root(n) || (exists m. parent_of(m, n) "
                        "&& inactivation_passes_1(h, m)))"),
              std::string::npos);
}

TEST(Specification, WithoutResultsThePageSaysSoInOneLine) {
    const std::string page = render_spec_markdown(*find_version("v9.2"));
    const std::size_t at = page.find("## Verdicts\n\n");
    ASSERT_NE(at, std::string::npos);
    const std::size_t line = at + std::string("## Verdicts\n\n").size();
    EXPECT_EQ(page.compare(line, 19, "No verdicts on this"), 0);
    EXPECT_EQ(page.compare(page.find('\n', line), 4, "\n\n##"), 0) << "one line";
}

TEST(Specification, TheDocumentedVerdictWithTheAnyUseOneWhereItDiffers) {
    const TableData& t = *find_version("v10.0");
    const SpecResults r = results_with_profiles(t);
    const std::string page = render_spec_markdown(t, &r);
    EXPECT_NE(page.find("| invariant | documented use | any use |"), std::string::npos);
    EXPECT_NE(page.find("| [`single-owner`](#inv-single-owner) | [violated (1 step)]"
                        "(#story-single-owner) | the same |"),
              std::string::npos);
    EXPECT_NE(page.find("| proved | [violated (2 steps)](#story-any-no-vm-start-while-inactive) |"),
              std::string::npos);
    // A headline when the trace has one, otherwise the steps; a row the table does not have is
    // named without a link.
    EXPECT_NE(page.find("([trace](../../proofs/traces/x.json)): Host 1 activates its disks"),
              std::string::npos);
    EXPECT_NE(page.find("host 0 RUNNING, every capability off, then [`storage_lost`]"
                        "(#row-storage_lost) (h=host 0) → `a_row_of_no_table`."),
              std::string::npos);
    // An invariant the results do not mention.
    EXPECT_NE(page.find("| [`recoverable`](#inv-recoverable) | not recorded | not recorded |"),
              std::string::npos);
}

// ---- the disk states ---------------------------------------------------------------------------

bool changes(const TableData& t, NodeState from, NodeState to, std::string_view row,
             std::string_view via) {
    const auto all = node_state_changes(t);
    return std::any_of(all.begin(), all.end(), [&](const NodeStateChange& c) {
        return c.from == from && c.to == to && c.row == row && c.via == via;
    });
}

TEST(DiskStates, DerivedFromTheRowsEffects) {
    const TableData& v8 = *find_version("v8.0.0");
    const TableData& v10 = *find_version("v10.0");
    EXPECT_TRUE(
        changes(v8, NodeState::INACTIVE, NodeState::ACTIVE, "qmp_cont", "bdrv_activate_all"));
    EXPECT_TRUE(changes(v10, NodeState::ACTIVE, NodeState::INACTIVE, "blockdev_set_inactive_all",
                        "bdrv_inactivate_all"));
    EXPECT_TRUE(changes(v10, NodeState::ACTIVE, NodeState::HALF_INACTIVE,
                        "migration_completion_save", "bdrv_inactivate_all"));
    EXPECT_TRUE(changes(v10, NodeState::BROKEN, NodeState::INACTIVE, "quit_after_handover",
                        "process_exits"));
    // Only 10.x has blockdev-set-active.
    const auto v8_all = node_state_changes(v8);
    EXPECT_TRUE(std::none_of(v8_all.begin(), v8_all.end(), [](const NodeStateChange& c) {
        return c.row.starts_with("blockdev_set");
    }));
}

// The assumptions count: an activation fails only at an inactive or half-inactivated node, a
// broken node (no driver) is skipped by every walk, a successful postcopy_start() leaves no node
// half-inactivated, and a fresh destination starts on a host whose process is gone (its nodes
// already INACTIVE).
TEST(DiskStates, WhatNoRowCanDo) {
    for (const TableData* t : all_versions()) {
        for (const NodeStateChange& c : node_state_changes(*t)) {
            EXPECT_FALSE(c.via == "bdrv_activate_all" && c.from == NodeState::ACTIVE)
                << t->version << " " << c.row;
            EXPECT_FALSE(c.from == NodeState::BROKEN && c.via != "process_exits")
                << t->version << " " << c.row;
            EXPECT_FALSE(c.row == "postcopy_start_ok" && c.to == NodeState::HALF_INACTIVE)
                << t->version;
            EXPECT_NE(c.row, "start_destination") << t->version;
        }
    }
}

} // namespace
} // namespace handoff::model
