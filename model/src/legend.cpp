// `handoff legend`: every abbreviation a printed trace uses. The parameters and variables are
// kParams' and kVars' own documentation (vocabulary.hpp); the values of each domain are
// explained here, one line each, in the order of the domain's names.
#include "handoff/model/story.hpp"

#include "handoff/model/printer.hpp"

#include <array>
#include <string>

namespace handoff::model {

namespace {

struct ValueDocs {
    DomainId domain;
    std::span<const std::string_view> docs; // one per value of the domain, in its order
};

constexpr std::array<std::string_view, 10> kMigStatusDocs{
    "MIGRATION_STATUS_NONE: no outgoing migration since the process started",
    "MIGRATION_STATUS_SETUP: qmp_migrate() created the migration thread",
    "MIGRATION_STATUS_ACTIVE: precopy iterating",
    "MIGRATION_STATUS_PRE_SWITCHOVER: paused before switchover (pause-before-switchover)",
    "MIGRATION_STATUS_DEVICE: saving the device state after migrate-continue",
    "MIGRATION_STATUS_POSTCOPY_ACTIVE: postcopy_start() switched over (or is switching)",
    "MIGRATION_STATUS_COMPLETED",
    "MIGRATION_STATUS_FAILED",
    "MIGRATION_STATUS_CANCELLING: migrate_cancel seen, cleanup pending",
    "MIGRATION_STATUS_CANCELLED"};
constexpr std::array<std::string_view, 8> kRunStateDocs{
    "RUN_STATE_RUNNING ('running'): the guest's CPUs run",
    "RUN_STATE_PAUSED ('paused')",
    "RUN_STATE_FINISH_MIGRATE ('finish-migrate'): stopped for the switchover",
    "RUN_STATE_POSTMIGRATE ('postmigrate'): stopped after a migration",
    "RUN_STATE_INMIGRATE ('inmigrate'): a destination started with -incoming",
    "RUN_STATE_SAVE_VM ('save-vm')",
    "RUN_STATE_SHUTDOWN ('shutdown')",
    "-1, not a run state: s->vm_old_state after migrate_init() (8.1+); runstate_set() of it "
    "fails assert(new_state < RUN_STATE__MAX)"};
constexpr std::array<std::string_view, 4> kNodeStateDocs{
    "BDRV_O_INACTIVE clear, BlockBackends enabled",
    "BDRV_O_INACTIVE set: bdrv_inactivate_recurse() completed on it (or opened with -incoming)",
    "half-inactivated: flag clear, but the parent BlockBackends have disable_perm set "
    "(inactivation failed after blk_root_inactivate())",
    "bs->drv == NULL: qcow2's re-open failed in qcow2_co_invalidate_cache()"};
constexpr std::array<std::string_view, 9> kThreadPcDocs{
    "no migration thread",
    "qmp_migrate() created it; qemu_savevm_state_setup() not yet done",
    "in migration_thread()'s while (migration_is_active()) loop",
    "migration_completion() saw s->state == ACTIVE, BQL not yet taken",
    "migration_maybe_pause(): BQL dropped, waiting on s->pause_sem",
    "migration_completion(): BQL dropped with ret < 0, `goto fail` next",
    "migration_completion(): savevm completed, BQL dropped; return-path and file-error checks "
    "next",
    "9.x+: the checks passed; migration_completion_end() takes the BQL next",
    "left the loop: migration_iteration_finish() next"};
constexpr std::array<std::string_view, 6> kIncomingDocs{
    "not an -incoming process, or not yet connected",
    "started with -incoming, waiting for a source",
    "qemu_loadvm_state() running",
    "stream loaded up to QEMU_VM_EOF: process_incoming_migration_bh() scheduled",
    "postcopy package received: loadvm_postcopy_handle_run_bh() scheduled",
    "the bottom half ran (mis->state COMPLETED, or postcopy running)"};
constexpr std::array<std::string_view, 5> kCrashDocs{
    "no QEMU process aborted",
    "bdrv_inactivate_recurse(): assert(!(bs->open_flags & BDRV_O_INACTIVE)) before 10.0",
    "bdrv_inactivate_recurse() 10.x: assert(top_level) on an already inactive child",
    "bdrv_co_write_req_prepare(): a write to an inactive node (or without write permission on a "
    "half-inactivated one)",
    "runstate_set(): \"invalid runstate transition\" abort(), or assert(new_state < "
    "RUN_STATE__MAX) for vm_old_state -1"};

static_assert(kMigStatusDocs.size() == kMigStatusNames.size());
static_assert(kRunStateDocs.size() == kRunStateNames.size());
static_assert(kNodeStateDocs.size() == kNodeStateNames.size());
static_assert(kThreadPcDocs.size() == kThreadPcNames.size());
static_assert(kIncomingDocs.size() == kIncomingNames.size());
static_assert(kCrashDocs.size() == kCrashNames.size());

const std::array<ValueDocs, 6> kValueDocs{{
    {DomainId::MigStatus, kMigStatusDocs},
    {DomainId::RunState, kRunStateDocs},
    {DomainId::NodeState, kNodeStateDocs},
    {DomainId::ThreadPc, kThreadPcDocs},
    {DomainId::Incoming, kIncomingDocs},
    {DomainId::Crash, kCrashDocs},
}};

// How the legend writes a variable's scope after its name, and its origin; indexed by the enums.
constexpr std::array<std::string_view, 3> kScopeSuffix{"", "[h]", "[h][n]"};
constexpr std::array<std::string_view, 4> kOriginText{"QEMU state", "environment",
                                                      "capability, fixed for the run",
                                                      "ghost (history, for an invariant)"};
static_assert(static_cast<int>(Scope::PerNode) == 2 && static_cast<int>(Origin::Ghost) == 3);

// "  name          text", the text wrapped under itself.
std::string entry(const std::string& name, std::string_view text) {
    constexpr std::size_t column = 28;
    const std::string indent(column, ' ');
    const std::string first = "  " + name;
    if (first.size() >= column) {
        return first + "\n" + wrap_text(text, 100, indent, indent);
    }
    return wrap_text(text, 100, first + std::string(column - first.size(), ' '), indent);
}

} // namespace

std::string legend(const TableData* table) {
    std::string out = "How to read a printed trace\n";
    out += entry("Headline:", "one paragraph generated from the trace: the failures, the flags "
                              "the story depends on, the step that violates the invariant, and "
                              "the invariant in words");
    out += entry("N. row (p=v, ...)  -- f()",
                 "step N runs the table's row `row` with these parameters; f() is the QEMU "
                 "code it models, with the version its lines were read from");
    out += entry("x: A -> B", "the step changed variable x from A to B");
    out += entry("x = V (unchanged ...)",
                 "x kept its value V, and that explains the step: a condition or an assertion "
                 "read it, an assignment computed it and left it as it was, or the guard read "
                 "it after an earlier step (\"since step K\") set it; at the last step also what "
                 "the invariant reads");
    out += entry("QEMU aborts:", "the message QEMU's binary prints when the step's assertion "
                                 "fails, with where its file and line were read");
    out += entry("x[h], x[h][n]", "variable x of the QEMU process on host h (0 or 1), and of its "
                                  "block node n (0..N-1, in bdrv_next() order)");
    out += entry("host 0 (source)", "the host's role in the state: the source of the running or "
                                    "last migration, or its destination; a second migration "
                                    "may swap them (\"roles now: ...\")");
    out += entry("h, peer(h)", "the step's host and the other one, in guards and effects");
    out += entry("none", "for fail and refail: no node failed");
    out += entry("Spec:", "the version's specification page: every row, guard, effect and "
                          "named helper (inactivation_may_end(h), ...)");

    out += "\nParameters of a step\n";
    for (const ParamInfo& p : kParams) {
        out += entry(std::string(p.name), p.doc);
    }

    out += "\nVariables (x for one value, x[h] per host, x[h][n] per host and node)\n";
    for (const VarInfo& v : kVars) {
        out += entry(std::string(v.name) +
                         std::string(kScopeSuffix[static_cast<std::size_t>(v.scope)]),
                     std::string(domain_info(v.domain).name) + ", " +
                         std::string(kOriginText[static_cast<std::size_t>(v.origin)]) + ". " +
                         std::string(v.doc));
    }

    for (const ValueDocs& d : kValueDocs) {
        out += "\nValues of " + std::string(domain_info(d.domain).name) + "\n";
        for (std::size_t i = 0; i < d.docs.size(); ++i) {
            out += entry(value_name(d.domain, static_cast<int>(i)), d.docs[i]);
        }
    }

    if (table != nullptr) {
        out += "\nRows of " + std::string(table->version) +
               " (docs/spec/ has their guards and "
               "effects)\n";
        for (const RowData& row : table->rows) {
            out += entry(std::string(row.name), row.sentence);
        }
    }
    return out;
}

} // namespace handoff::model
