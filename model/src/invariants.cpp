#include "handoff/model/invariants.hpp"

#include "handoff/model/tables/qemu_ops.hpp"
#include "handoff/model/versions.hpp"

namespace handoff::model {

namespace {

using namespace dsl;
using namespace tables;

struct Built {
    Ast ast;
    std::vector<InvariantData> list;
};

const Built& built() {
    static const Built b = [] {
        Built out;
        AstBuilder bld{out.ast};
        const AppliesWhere everywhere{};

        out.list.push_back(
            {"no-vm-start-while-inactive",
             "A step that starts the guest's CPUs (vm_start) happens only while every node of that "
             "process is active.",
             "Eric Blake, 403d18ae (\"violating the block layer invariant that the guest CPUs "
             "should not be restarted while a device is inactive\"); 6dab4c93",
             InvariantKind::StatePredicate, forall(h, !started_inactive(h)).emit(bld), everywhere,
             "Stated over the ghost variable started_inactive, which vm_start() sets."});
        out.list.push_back(
            {"running-implies-active",
             "While a process's guest is running, every one of its nodes is active.",
             "the state form of Eric Blake's invariant (403d18ae); Fabiano Rosas, Nov 2024 cover "
             "letter (writes to inactive nodes of a resumed guest)",
             InvariantKind::StatePredicate,
             forall(h, implies(alive(h) && runstate(h) == RS::RUNNING, all_nodes_active(h)))
                 .emit(bld),
             everywhere, ""});
        out.list.push_back(
            {"no-double-inactivate",
             "bdrv_inactivate_all() never meets an already inactive node "
             "(assert(!(bs->open_flags & BDRV_O_INACTIVE)) in bdrv_inactivate_recurse()).",
             "RHBZ 2058982 (the seed's second migration); GitLab #2395, RHEL-48801",
             InvariantKind::StatePredicate,
             (crash != Crash::DOUBLE_INACTIVATE).emit(bld),
             // Where bdrv_inactivate_all() asserts (qemu_ops.hpp bdrv_inactivate_all_asserting()).
             {.rule = AppliesWhere::Rule::rows_assert, .reason = Crash::DOUBLE_INACTIVATE},
             "Before 10.0 only; 10.0 allows inactivating an inactive top-level node."});
        out.list.push_back(
            {"no-inactive-child-under-active-parent",
             "No node is inactive while one of its parents is active: while a node's "
             "BDRV_O_INACTIVE flag is clear, so are its children's (a node without a driver counts "
             "as inactive).",
             "block.c bdrv_inactivate_recurse(): \"Make sure that we don't inactivate a child "
             "before its parent\"; Kevin Wolf, \"block: Allow inactivating already inactive "
             "nodes\" (10.0: \"if a child is already inactive before its parent, that's bad\")",
             InvariantKind::StatePredicate,
             forall(h, forall(n, forall(m, implies(alive(h) && parent_of(m, n) &&
                                                       flag_clear(node(h, m)),
                                                   flag_clear(node(h, n))))))
                 .emit(bld),
             everywhere,
             "On the flat graph no node has a parent, so it holds by construction there; "
             "--graph chain or job gives it premises. 10.x's assert(top_level) in "
             "bdrv_inactivate_recurse() fails only on a walk from a state that breaks this "
             "invariant already (the walk passed the inactive node's parent, so that parent's "
             "flag was clear)."});
        out.list.push_back(
            {"no-write-to-inactive",
             "No write reaches an inactive node (assert in bdrv_co_write_req_prepare()).",
             "RHBZ 2058982 (step 12a of the domain reference); Fabiano Rosas, Nov 2024",
             InvariantKind::StatePredicate, (crash != Crash::WRITE_TO_INACTIVE).emit(bld),
             everywhere, ""});
        out.list.push_back(
            {"single-owner",
             "While both processes live, they never both have an active node that takes an "
             "image's write lock, and never both run the guest.",
             "migration's handover contract: bdrv_inactivate_all() before QEMU_VM_EOF \"so that "
             "the bdrv_activate_all() on the other end won't fail\" (savevm.c); Kevin Wolf's "
             "series \"Managing inactive nodes\" (10.0)",
             InvariantKind::StatePredicate,
             (!(alive(h) && alive(peer(h)) &&
                exists(n, takes_write_lock(n) && node(h, n) == NS::ACTIVE) &&
                exists(m, takes_write_lock(m) && node(peer(h), m) == NS::ACTIVE)) &&
              !(alive(h) && alive(peer(h)) && runstate(h) == RS::RUNNING &&
                runstate(peer(h)) == RS::RUNNING))
                 .emit(bld),
             everywhere,
             "Checked with h = host 0 (the statement is symmetric). The nodes that take a write "
             "lock are the read-write format nodes: every node of the flat graph; not a "
             "read-only backing image, a file node or a filter (locked_by_peer())."});
        out.list.push_back(
            {"valid-runstate-transitions",
             "Every run-state change is one that runstate_transitions_def[] allows (runstate_set() "
             "aborts otherwise).",
             "runstate.c runstate_set(); commit 9183dd1533 (qmp_cont in FINISH_MIGRATE)",
             InvariantKind::StatePredicate, (crash != Crash::INVALID_RUNSTATE).emit(bld),
             everywhere, ""});
        out.list.push_back(
            {"block-inactive-tracks-nodes",
             "Once the migration thread has tried to inactivate the disks, s->block_inactive is "
             "set "
             "whenever some node is not active.",
             "Eric Blake, 403d18ae (\"the migration engine has forgotten all state about whether a "
             "block device is inactive\"); Kevin Wolf's review of v2 (2 May 2023)",
             InvariantKind::StatePredicate,
             forall(h, implies(alive(h) && tried_inactivate(h) &&
                                   exists(n, node(h, n) == NS::INACTIVE ||
                                                 node(h, n) == NS::HALF_INACTIVE),
                               block_inactive(h)))
                 .emit(bld),
             // Where MigrationState has the field: some row reads it (8597af76 removed it).
             {.rule = AppliesWhere::Rule::rows_read, .var = Var::block_inactive},
             "Where s->block_inactive exists (8.0 to 9.2). The ghost tried_inactivate is set by "
             "the migration thread's inactivation and cleared by migrate_init()."});
        out.list.push_back(
            {"recoverable",
             "From every reachable state, once the storage answers again, some sequence of "
             "commands and QEMU steps (no further failures) gets the guest running on exactly one "
             "host with all of that host's nodes active.",
             "Eric Blake, seed thread (\"our only hope for the guest is for the source to take "
             "back control\")",
             InvariantKind::Recoverability,
             exists(h, alive(h) && runstate(h) == RS::RUNNING && all_nodes_active(h) &&
                           !(alive(peer(h)) && runstate(peer(h)) == RS::RUNNING))
                 .emit(bld),
             everywhere,
             "Checked on the explored graph: steps of `fault` rows are excluded from recoveries; "
             "crashed states are reported by the other invariants and not counted here."});
        return out;
    }();
    return b;
}

} // namespace

bool AppliesWhere::holds_for(const TableData& table) const {
    switch (rule) {
    case Rule::every_version:
        return true;
    case Rule::rows_read:
        return table.rows_read(var);
    case Rule::rows_assert:
        return table.rows_assert(reason);
    }
    return false;
}

std::string AppliesWhere::describe() const {
    const auto reason_name = [this] {
        return std::string(kCrashNames[static_cast<std::size_t>(reason)]);
    };
    switch (rule) {
    case Rule::every_version:
        return "every version";
    case Rule::rows_read:
        return "where some row reads " + std::string(var_info(var).name);
    case Rule::rows_assert:
        return "where some row asserts with crash reason " + reason_name();
    }
    return "";
}

bool InvariantData::applies_to(std::string_view version) const {
    const TableData* table = find_version(version);
    return table != nullptr && applies_to(*table);
}

std::vector<std::string_view> InvariantData::versions() const {
    std::vector<std::string_view> out;
    for (const TableData* t : all_versions()) {
        if (applies_to(*t)) {
            out.push_back(t->version);
        }
    }
    return out;
}

const std::vector<InvariantData>& all_invariants() {
    return built().list;
}
const Ast& invariants_ast() {
    return built().ast;
}
const InvariantData* find_invariant(std::string_view name) {
    for (const auto& inv : all_invariants()) {
        if (inv.name == name) {
            return &inv;
        }
    }
    return nullptr;
}

} // namespace handoff::model
