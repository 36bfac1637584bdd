#include "handoff/model/spec.hpp"

#include "handoff/model/invariants.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/versions.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace handoff::model {

std::string spec_file_stem(std::string_view version) {
    std::string out(version);
    std::replace(out.begin(), out.end(), '.', '_');
    std::replace(out.begin(), out.end(), '-', '_');
    return out;
}

namespace {

// The variables this version's rows read (a variable only ever reset to a constant, such as
// vm_old_state in 8.0 by process_exits(), plays no part in the version), plus the crash.
std::set<Var> used_vars(const TableData& t) {
    std::set<Var> out{Var::crash, Var::crash_host};
    for (int v = 0; v < kVarCount; ++v) {
        if (t.rows_read(static_cast<Var>(v))) {
            out.insert(static_cast<Var>(v));
        }
    }
    return out;
}

std::string scope_text(Scope s) {
    switch (s) {
    case Scope::Global:
        return "global";
    case Scope::PerHost:
        return "per host";
    case Scope::PerNode:
        return "per host and node";
    }
    return "";
}

std::string origin_text(Origin o) {
    switch (o) {
    case Origin::Qemu:
        return "QEMU";
    case Origin::Environment:
        return "environment";
    case Origin::Capability:
        return "capability";
    case Origin::Ghost:
        return "ghost";
    }
    return "";
}

std::string values_text(DomainId d) {
    std::string out;
    for (auto v : domain_info(d).values) {
        out += (out.empty() ? "" : ", ") + std::string(v);
    }
    return out;
}

// Named expressions and groups, in the order they first appear, with their bodies.
struct Definitions {
    std::vector<std::pair<std::string, std::string>> exprs; // header, body
    std::vector<std::tuple<std::string, std::string, std::vector<std::string>>>
        groups; // call, doc, body
    std::set<std::string> seen;

    void scan_expr(const Ast& ast, int expr) {
        if (expr < 0) {
            return;
        }
        const AstNode& e = ast[expr];
        for (int k : e.kid) {
            scan_expr(ast, k);
        }
        if (e.op == Op::Named && seen.insert("expr:" + print_expr(ast, expr)).second) {
            exprs.emplace_back(print_expr(ast, expr), print_expr(ast, e.kid[0]));
        }
    }
    void scan_row(const TableData& t, const RowData& r) {
        scan_expr(t.ast, r.guard);
        for (std::size_t g = 0; g < r.effect.groups.size(); ++g) {
            const StmtGroup& grp = r.effect.groups[g];
            std::string call = std::string(grp.name) + "(" + std::string(grp.args);
            std::string doc(grp.doc);
            if (grp.arg >= 0) {
                call += ", state";
                doc += " (The body below is its first use, with state = " +
                       print_expr(t.ast, grp.arg) + ".)";
            }
            call += ")";
            if (seen.insert("group:" + call).second) {
                groups.emplace_back(call, doc, print_effect(t.ast, r.effect, static_cast<int>(g)));
            }
        }
        for (const auto& st : r.effect.stmts) {
            scan_expr(t.ast, st.value);
        }
    }
};

const char* kLeftOut =
    R"(- **COLO** (`migrate_colo()`): COLO never inactivates and runs a secondary VM by design, which
  the single-owner invariant would have to exempt; its capability is off.
- **Postcopy after the switchover**: failures after the package was sent lead to POSTCOPY_PAUSED and
  recovery (`migrate-recover`), which are left out; postcopy together with pause-before-switchover
  is left out too.
- **Compare-and-swap windows**: where QEMU drops the BQL and then immediately calls
  `migrate_set_state()` (entering PRE_SWITCHOVER, ACTIVE -> POSTCOPY_ACTIVE at the start of
  `postcopy_start()`), the two are one step; every other BQL boundary the domain reference names is
  a step boundary (the unlocked `s->state == ACTIVE` check, the PRE_SWITCHOVER wait, the
  return-path and file-error checks after the device state was sent).
- **Node trees**: each node stands for one disk's tree (a qcow2 format node with its protocol
  child), inactivated top-down and activated bottom-up as one; nodes are independent roots in
  `bdrv_next()` order. A failure anywhere in the tree fails the node.
- **`blockdev-set-active` with a node-name** (10.x): only the all-nodes form is a row; the
  node-name form lets any subset of nodes be inactive (4^N states per host) without reaching a
  premise of an invariant that the all-nodes form does not reach.
- **The `migrate_fd_cleanup()` bottom half** runs in the same step as `migration_iteration_finish()`.
- **Run states** that no modelled step reaches (DEBUG, IO_ERROR, INTERNAL_ERROR, GUEST_PANICKED,
  SUSPENDED, WATCHDOG, COLO, PRELAUNCH, RESTORE_VM) and the transient SAVE_VM of `savevm`.
- **Causes of failure other than the storage**: a flush, inactivation or activation fails only while
  the storage does not answer, or (activation) while the other process holds the image under image
  locking; a BlockBackend of a block job refusing inactivation (-EPERM) is not modelled apart (see
  the next section).
)";

// The domain reference's section 9 ("More code facts a faithful table must follow"), item by
// item: where each is modelled, or why it is left out.
const char* kCodeFacts =
    R"(- **`savevm` and nodes without a driver**: modelled (row `savevm`). A node without a driver is
  left out of the snapshot, not a reason to refuse (`bdrv_all_snapshots_includes_bs()` is false
  when `!bdrv_is_inserted()`: block/snapshot.c 8.0.5:497-506, 10.2.0:516-523); `savevm` is refused
  only when no node has a driver (`bdrv_all_find_vmstate_bs()` finds none). From 7.2.9 and 9.0
  (d3007d348a) an included inactive node refuses the snapshot; in 8.0 and 8.1 the snapshot writes
  to it and asserts. (This is HMP `savevm`; QMP `snapshot-save` names its devices, and a named
  device without a driver is refused.)
- **A half-inactivated node still holds its write lock**: modelled (`locked_by_peer`). Its flag is
  clear, so `bdrv_default_perms_for_storage()` still takes WRITE on the file child and unshares it
  (block.c 10.2.0:2203, :2840-2854); only an INACTIVE node shares WRITE. With image locking the
  other process cannot activate that image while the node is ACTIVE or HALF_INACTIVE.
- **Inactivation failing without a storage fault**: left out. `blk_root_inactivate()` returns
  -EPERM for a BlockBackend that is not a guest device and holds write permission, such as a block
  job's (block/block-backend.c 10.2.0:251-260). The model has no block jobs; the failure such a job
  causes takes the same paths as a storage failure during inactivation (the same `fail` node,
  rolled back nowhere, the same labels), so each story it allows is told here with the storage
  going away before the inactivation and coming back after it.
- **8.0's completion without a return path**: left out. Without the `return-path` capability
  (`rp_thread_created` false, 8.0.5 :3487) the source goes COMPLETED as soon as the stream is
  flushed, whatever the destination does next. The model, like the conformance harness, runs with
  a return path: the source completes only after the destination loaded the stream
  (`await_return_path_close_on_source()` / `close_return_path_on_source()`).
- **10.x postcopy with a return path and POSTCOPY_DEVICE** (10.2.0 :2897-2900): left out. The
  model's postcopy switchover is one step to POSTCOPY_ACTIVE (10.0.2 has no POSTCOPY_DEVICE: its
  successful `postcopy_start()` goes DEVICE -> POSTCOPY_ACTIVE). A stream error found after
  `qemu_savevm_send_packaged()` sent the package (10.0.2 :2822, 10.2.0 Peter Xu's comment at
  :3580-3593) takes `fail:`, which re-activates the source's disks while the destination, holding
  the package, may already run; the model's package failures (`postcopy_start_package_fails`)
  end before the package reaches the destination, because what the destination does without its
  source (POSTCOPY_PAUSED, recovery) is left out (above). This is a known gap for single-owner on
  10.x, not a verdict.
- **`exit-on-error=false`** (10.x `migrate-incoming` option): left out. A destination whose load
  fails then stays in INMIGRATE with its nodes inactive (`process_incoming_migration_co()`
  10.2.0:922) and does nothing more on its own; the model's destination exits
  (`incoming_load_fails`, `incoming_load_error`; the default, and what `-incoming` sets), which
  holds no image either. What the surviving process could still do is what management tells it.
- **`migrate` from FINISH_MIGRATE is accepted**: modelled (row `qmp_migrate`). `migrate_prepare()`
  refuses only a running migration, INMIGRATE and POSTMIGRATE (10.2.0 :2100-2114), and
  `migrate_init()` resets `vm_old_state` to -1 (UNSET, :1830) from 8.1 on.
- **10.0.x and 10.1.x are not 10.2**: modelled (the table `v10.0`, read from 10.0.2's source, which
  Debian ships in bookworm-backports). `handoff diff v10.0 v10.2` shows what came later: 26f65c01
  (in 10.0.2 `migration_iteration_finish()` starts the VM whatever its activation did) and
  725a9e5f78 (in 10.0.2 a failed `postcopy_start()` leaves the state ACTIVE or DEVICE, because its
  `fail:` label swaps from POSTCOPY_ACTIVE only).
- **What the caller of `bdrv_activate_all()` sees** (section 2.4): modelled
  (`no_activation_error`). Every caller tests the error pointer only, and a node without a driver
  stops the walk with -ENOMEDIUM and no error, so to the caller such a walk succeeded while the
  nodes after it keep their state.
)";

} // namespace

std::string render_spec_markdown(const TableData& t) {
    std::ostringstream md;
    const std::string stem = spec_file_stem(t.version);
    md << "# QEMU " << t.version << ": block-device handover during live migration\n\n";
    md << "> Generated by `handoff spec --version " << t.version
       << "` from the table in `model/include/handoff/model/tables/`. Do not edit by hand; "
          "`./run test` fails when this page differs from what the generator prints.\n\n";
    if (!t.based_on.empty()) {
        md << "Derived from **" << t.based_on << "** (`handoff diff " << t.based_on << " "
           << t.version << "`). ";
    }
    md << t.summary << "\n\n";
    md << "Read from " << t.source << ".\n\n";

    md << "## What is modelled\n\n"
          "Two QEMU processes of this version, on hosts 0 and 1, and the shared storage their "
          "images live on. Host 0 starts with the guest (running or paused) and every node "
          "active; host 1 starts as a destination with `-incoming` (run state INMIGRATE, every "
          "node opened inactive). Either host can be the source of a migration to the other, so "
          "a second migration can go back, to a destination that management starts afresh.\n\n"
          "Each row is one step that QEMU executes atomically with respect to the other actors: "
          "a section of the migration thread between BQL boundaries, a QMP command (under the "
          "BQL), a step of the destination's incoming coroutine or bottom half, a guest write, "
          "a management action, or an environment event. Where QEMU's code can end in several "
          "ways, the row takes a parameter (the first failing node, or none) instead of being "
          "split into micro-steps.\n\n"
          "Effects are statements executed in order; each reads the state left by the ones "
          "before it, and each variable is written at most once per row (checked at compile "
          "time). Every variable a row does not write keeps its value. `assert` is QEMU's "
          "`assert()`: if it does not hold, the process aborts with that crash reason, which ends "
          "the run (every row's guard implicitly requires `crash == NONE`). `assume` restricts "
          "the parameters to outcomes that are possible at that point.\n\n";
    md << "## What is left out, and why\n\n" << kLeftOut << "\n";
    md << "## QEMU's code facts, item by item\n\n"
          "The domain reference's section 9 lists facts of QEMU's code a faithful table must "
          "follow; each is modelled here, or left out for the reason given.\n\n"
       << kCodeFacts << "\n";

    md << "## State variables\n\n"
          "Only the variables this version's rows read or write.\n\n"
          "| variable | scope | values | origin | abstracts |\n|---|---|---|---|---|\n";
    for (Var v : used_vars(t)) {
        const VarInfo& info = var_info(v);
        md << "| `" << info.name << "` | " << scope_text(info.scope) << " | "
           << values_text(info.domain) << " | " << origin_text(info.origin) << " | " << info.doc
           << " |\n";
    }
    md << "\n## Initial states\n\n"
          "- host 0: alive, run state RUNNING or PAUSED, every node ACTIVE, `mig` NONE, no "
          "migration thread, `autostart` true, `migration_block_active` true;\n"
          "- host 1: alive, run state INMIGRATE, every node INACTIVE, `incoming` LISTENING, "
          "`autostart` = `autostart_policy`, `migration_block_active` false;\n"
          "- `storage_ok` true, no crash, `starts_left` from `--starts` (default 1), "
          "`set_active_left` from `--set-active-calls` (default 1); every "
          "capability (`late_block_activate`, `pause_before_switchover`, `postcopy`, "
          "`autostart_policy`, `image_locking`) takes both values unless fixed with `--cap`;\n"
          "- every other variable: false, NONE, IDLE or UNSET.\n\n";

    md << "## Row parameters\n\n| parameter | values | meaning |\n|---|---|---|\n";
    for (const auto& p : kParams) {
        const char* values = p.kind == ParamKind::Host         ? "0, 1"
                             : p.kind == ParamKind::NodeOrNone ? "none, 0 .. N-1"
                             : p.kind == ParamKind::Node       ? "0 .. N-1"
                                                               : "no, yes";
        md << "| `" << p.name << "` | " << values << " | " << p.doc << " |\n";
    }

    md << "\n## Rows\n\n";
    Definitions defs;
    for (const auto& r : t.rows) {
        defs.scan_row(t, r);
        md << "### `" << r.name << "`\n\n";
        md << r.sentence << "\n\n";
        md << "- actor: " << kActorNames[static_cast<std::size_t>(r.actor)] << "\n";
        md << "- QEMU: " << r.qemu << "\n";
        std::string params;
        for (Param p : r.params) {
            params += (params.empty() ? "" : ", ") + std::string("`") +
                      std::string(param_info(p).name) + "`";
        }
        md << "- parameters: " << (params.empty() ? "none" : params) << "\n\n";
        md << "```\nguard:  " << print_expr(t.ast, r.guard) << "\neffect:\n";
        for (const auto& line : print_effect(t.ast, r.effect)) {
            md << "  " << line << "\n";
        }
        md << "```\n\n";
    }

    md << "## Definitions\n\nThe named expressions and statement groups the rows use.\n\n";
    for (const auto& [call, doc, body] : defs.groups) {
        md << "### `" << call << "`\n\n" << doc << "\n\n```\n";
        for (const auto& line : body) {
            md << line << "\n";
        }
        md << "```\n\n";
    }
    for (const auto& [header, body] : defs.exprs) {
        md << "- `" << header << "` = `" << body << "`\n";
    }

    md << "\n## Run-state transitions\n\n"
          "`runstate_transitions_def[]` of this version, restricted to the modelled run states "
          "(a change to the same state is always a no-op):\n\n";
    for (int from = 0; from < 8; ++from) {
        std::string tos;
        for (int to = 0; to < 8; ++to) {
            if (t.runstate[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)]) {
                tos += (tos.empty() ? "" : ", ") + value_name(DomainId::RunState, to);
            }
        }
        if (!tos.empty()) {
            md << "- " << value_name(DomainId::RunState, from) << " -> " << tos << "\n";
        }
    }

    md << "\n## Invariants\n\n";
    for (const auto& inv : all_invariants()) {
        md << "- **`" << inv.name << "`**" << (inv.applies_to(t.version) ? "" : " (does not apply)")
           << ": " << inv.statement << " Source: " << inv.source << ".";
        if (inv.kind == InvariantKind::StatePredicate) {
            md << " Formally: `" << print_expr(invariants_ast(), inv.expr) << "`.";
        } else {
            md << " Recovered: `" << print_expr(invariants_ast(), inv.expr) << "`.";
        }
        if (!inv.note.empty()) {
            md << " " << inv.note;
        }
        md << "\n";
    }

    md << "\n## Picture\n\nThe migration status (`s->state`) and run-state changes each row can "
          "make, read from the rows' guards and effects; a row whose guard leaves the old value "
          "open starts from \"(any)\" (`handoff spec --version "
       << t.version << " --format dot`).\n\n![state machine](" << stem << ".svg)\n\n";
    md << "## Checked configuration\n\n"
          "The default instance: N = 2 nodes per host, one fresh process start, one "
          "blockdev-set-active command (where the version has it), every capability "
          "combination. `handoff explore --version "
       << t.version
       << "` explores it completely and prints the number of reachable states and the verdict "
          "of every invariant, with the shortest trace of each violation.\n";
    return md.str();
}

namespace {

using ValueSet = std::optional<std::set<int>>; // nullopt: unconstrained

bool is_host_var(const Ast& ast, int k, Var var) {
    const AstNode& x = ast[k];
    return x.op == Op::Var && static_cast<Var>(x.a) == var && x.kid[0] >= 0 &&
           ast[x.kid[0]].op == Op::Bound;
}

ValueSet intersect(ValueSet a, const ValueSet& b) {
    if (!a) {
        return b;
    }
    if (!b) {
        return a;
    }
    std::set<int> out;
    std::set_intersection(a->begin(), a->end(), b->begin(), b->end(),
                          std::inserter(out, out.begin()));
    return out;
}

std::set<int> complement(const std::set<int>& values, int domain_size) {
    std::set<int> out;
    for (int i = 0; i < domain_size; ++i) {
        if (!values.count(i)) {
            out.insert(i);
        }
    }
    return out;
}

// The values of var[h] that a condition allows, read from its `==`/`!=` literals, `&&` and `||`.
ValueSet allowed_values(const Ast& ast, int expr, Var var) {
    const AstNode& e = ast[expr];
    const int size = domain_size(var_info(var).domain);
    switch (e.op) {
    case Op::Eq:
    case Op::Ne:
        if (is_host_var(ast, e.kid[0], var) && ast[e.kid[1]].op == Op::Lit) {
            std::set<int> out;
            for (int i = 0; i < size; ++i) {
                if ((i == ast[e.kid[1]].a) == (e.op == Op::Eq)) {
                    out.insert(i);
                }
            }
            return out;
        }
        return std::nullopt;
    case Op::Named:
        return allowed_values(ast, e.kid[0], var);
    case Op::And:
        return intersect(allowed_values(ast, e.kid[0], var), allowed_values(ast, e.kid[1], var));
    case Op::Or: {
        ValueSet a = allowed_values(ast, e.kid[0], var), b = allowed_values(ast, e.kid[1], var);
        if (!a || !b) {
            return std::nullopt;
        }
        a->insert(b->begin(), b->end());
        return a;
    }
    case Op::Not:
        if (ValueSet a = allowed_values(ast, e.kid[0], var)) {
            return complement(*a, size);
        }
        return std::nullopt;
    default:
        return std::nullopt;
    }
}

// The (from, to) pairs an assignment `var[h] := value` can make when var[h] starts in `from`
// (-1: any value; to -2: a value read from elsewhere, such as vm_old_state). An `ite` whose
// condition tests var[h] splits `from` between its branches.
void transitions(const Ast& ast, int expr, Var var, const ValueSet& from,
                 std::vector<std::pair<ValueSet, int>>& out) {
    const AstNode& e = ast[expr];
    if (e.op == Op::Lit) {
        out.emplace_back(from, e.a);
    } else if (e.op == Op::Ite) {
        const ValueSet cond = allowed_values(ast, e.kid[0], var);
        if (!cond) {
            transitions(ast, e.kid[1], var, from, out);
            transitions(ast, e.kid[2], var, from, out);
            return;
        }
        transitions(ast, e.kid[1], var, intersect(from, cond), out);
        transitions(ast, e.kid[2], var,
                    intersect(from, complement(*cond, domain_size(var_info(var).domain))), out);
    } else if (!is_host_var(ast, expr, var)) {
        out.emplace_back(from, -2);
    }
}

struct Edges {
    std::map<std::pair<int, int>, std::set<std::string_view>> labels; // from (-1: any) -> to
};

Edges edges_of(const TableData& t, Var var) {
    Edges out;
    for (const auto& r : t.rows) {
        const ValueSet from_guard = allowed_values(t.ast, r.guard, var);
        std::vector<ValueSet> conditions{from_guard};
        for (const auto& st : r.effect.stmts) {
            if (st.kind == StmtKind::If) {
                conditions.push_back(
                    intersect(conditions.back(), allowed_values(t.ast, st.value, var)));
            } else if (st.kind == StmtKind::Else) {
                conditions.back() = conditions[conditions.size() - 2];
            } else if (st.kind == StmtKind::EndIf) {
                conditions.pop_back();
            } else if (st.kind == StmtKind::Assign && st.var == var && st.host >= 0 &&
                       t.ast[st.host].op == Op::Bound) {
                std::vector<std::pair<ValueSet, int>> pairs;
                transitions(t.ast, st.value, var, conditions.back(), pairs);
                const int size = domain_size(var_info(var).domain);
                for (const auto& [from, dest] : pairs) {
                    if (from && from->empty()) {
                        continue;
                    }
                    // A condition that rules out only a few values (`!= CANCELLING`) is drawn
                    // from "(any)", to keep the picture readable.
                    std::vector<int> froms;
                    if (from && 2 * static_cast<int>(from->size()) <= size) {
                        froms.assign(from->begin(), from->end());
                    } else {
                        froms.push_back(-1);
                    }
                    for (int f : froms) {
                        if (dest != f) {
                            out.labels[{f, dest}].insert(r.name);
                        }
                    }
                }
            }
        }
    }
    return out;
}

void emit_cluster(std::ostringstream& dot, const char* name, const char* title, Var var,
                  const Edges& edges) {
    const DomainId domain = var_info(var).domain;
    dot << "  subgraph cluster_" << name << " {\n    label=\"" << title << "\";\n";
    std::set<int> used;
    for (const auto& [key, labels] : edges.labels) {
        used.insert(key.first);
        used.insert(key.second);
    }
    for (int v : used) {
        const std::string id = std::string(name) + "_" +
                               (v == -1   ? "any"
                                : v == -2 ? "other"
                                          : std::to_string(v));
        const std::string label = v == -1   ? "(any)"
                                  : v == -2 ? "(saved state)"
                                            : value_name(domain, v);
        dot << "    " << id << " [label=\"" << label << "\"" << (v < 0 ? ", style=dashed" : "")
            << "];\n";
    }
    for (const auto& [key, labels] : edges.labels) {
        auto id = [&](int v) {
            return std::string(name) + "_" +
                   (v == -1   ? "any"
                    : v == -2 ? "other"
                              : std::to_string(v));
        };
        std::string text;
        for (auto l : labels) {
            text += (text.empty() ? "" : "\\n") + std::string(l);
        }
        dot << "    " << id(key.first) << " -> " << id(key.second) << " [label=\"" << text
            << "\"];\n";
    }
    dot << "  }\n";
}

} // namespace

std::string render_spec_dot(const TableData& t) {
    std::ostringstream dot;
    dot << "// Generated by handoff spec --version " << t.version << " --format dot\n";
    dot << "digraph \"" << t.version
        << "\" {\n  rankdir=LR;\n  fontname=\"Helvetica\";\n"
           "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
           "  edge [fontname=\"Helvetica\", fontsize=8];\n"
           "  label=\"QEMU "
        << t.version << ": migration status and run state, per host (edges: rows)\";\n";
    emit_cluster(dot, "mig", "s->state (MigrationStatus)", Var::mig, edges_of(t, Var::mig));
    emit_cluster(dot, "run", "run state (runstate_set)", Var::runstate, edges_of(t, Var::runstate));
    dot << "}\n";
    return dot.str();
}

std::string render_diff(const TableData& from, const TableData& to) {
    std::ostringstream out;
    out << "--- " << from.version << "\n+++ " << to.version << "\n";
    if (to.based_on == from.version) {
        out << "# " << to.summary << "\n";
    }
    std::set<std::string_view> names_to;
    for (const auto& r : to.rows) {
        names_to.insert(r.name);
    }
    for (const auto& r : from.rows) {
        if (!names_to.count(r.name)) {
            out << "\nremoved row " << r.name << "\n";
            std::istringstream lines(print_row(from, r));
            for (std::string line; std::getline(lines, line);) {
                out << "-  " << line << "\n";
            }
        }
    }
    for (const auto& r : to.rows) {
        const RowData* old = from.find(r.name);
        const std::string now = print_row(to, r);
        if (!old) {
            out << "\nadded row " << r.name << " -- " << r.qemu << "\n";
            std::istringstream lines(now);
            for (std::string line; std::getline(lines, line);) {
                out << "+  " << line << "\n";
            }
            continue;
        }
        const std::string before = print_row(from, *old);
        if (before == now && old->qemu == r.qemu && old->sentence == r.sentence) {
            continue;
        }
        out << "\nchanged row " << r.name << " -- " << r.qemu << "\n";
        std::istringstream a(before), b(now);
        std::vector<std::string> la, lb;
        for (std::string line; std::getline(a, line);) {
            la.push_back(line);
        }
        for (std::string line; std::getline(b, line);) {
            lb.push_back(line);
        }
        // A line-level diff by longest common subsequence (rows are short).
        std::vector<std::vector<int>> lcs(la.size() + 1, std::vector<int>(lb.size() + 1, 0));
        for (std::size_t i = la.size(); i-- > 0;) {
            for (std::size_t j = lb.size(); j-- > 0;) {
                lcs[i][j] =
                    la[i] == lb[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        std::size_t i = 0, j = 0;
        while (i < la.size() || j < lb.size()) {
            if (i < la.size() && j < lb.size() && la[i] == lb[j]) {
                out << "   " << la[i] << "\n";
                ++i;
                ++j;
            } else if (j < lb.size() && (i == la.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
                out << "+  " << lb[j++] << "\n";
            } else {
                out << "-  " << la[i++] << "\n";
            }
        }
    }
    for (int a = 0; a < 8; ++a) {
        for (int b = 0; b < 8; ++b) {
            const bool x = from.runstate[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)];
            const bool y = to.runstate[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)];
            if (x != y) {
                out << (y ? "\n+ runstate transition " : "\n- runstate transition ")
                    << value_name(DomainId::RunState, a) << " -> "
                    << value_name(DomainId::RunState, b) << "\n";
            }
        }
    }
    return out.str();
}

} // namespace handoff::model
