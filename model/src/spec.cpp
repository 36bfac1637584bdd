#include "handoff/model/spec.hpp"

#include "handoff/model/disk_states.hpp"
#include "handoff/model/invariants.hpp"
#include "handoff/model/printer.hpp"
#include "handoff/model/provenance.hpp"
#include "handoff/model/versions.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

namespace handoff::model {

std::string spec_file_stem(std::string_view version) {
    std::string out(version);
    std::replace(out.begin(), out.end(), '.', '_');
    std::replace(out.begin(), out.end(), '-', '_');
    return out;
}

void collect_vars(const Ast& ast, int expr, std::set<Var>& out) {
    if (expr < 0) {
        return;
    }
    const AstNode& e = ast[expr];
    if (e.op == Op::Var) {
        out.insert(static_cast<Var>(e.a));
    }
    for (int k : e.kid) {
        collect_vars(ast, k, out);
    }
}

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

namespace {

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

// An HTML anchor id for a helper's definition, a row or an invariant: lower-case letters, digits
// and `_` kept, every other run of characters one `-` ("reached(n, fail)" -> "reached-n-fail").
std::string slug(std::string_view text) {
    std::string out;
    for (char c : text) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (c >= 'A' && c <= 'Z') {
            out += static_cast<char>(c - 'A' + 'a');
        } else if (keep) {
            out += c;
        } else if (!out.empty() && out.back() != '-') {
            out += '-';
        }
    }
    while (!out.empty() && out.back() == '-') {
        out.pop_back();
    }
    return out;
}

std::string anchor(std::string_view id) {
    return "<a id=\"" + std::string(id) + "\"></a>";
}

std::string row_anchor(std::string_view row) {
    return "row-" + slug(row);
}

// A group's definition is printed once per call signature: `runstate_set(h, state)` stands for
// every `runstate_set(h, RUNNING)`.
std::string group_signature(const StmtGroup& grp) {
    return std::string(grp.name) + "(" + std::string(grp.args) + (grp.arg >= 0 ? ", state" : "") +
           ")";
}

// A helper printed somewhere (a named expression or a group call): its text and its definition's
// anchor on the page.
struct HelperRef {
    std::string text;
    std::string id;
    bool operator==(const HelperRef&) const = default;
};

void add_ref(std::vector<HelperRef>& out, HelperRef ref) {
    if (std::find(out.begin(), out.end(), ref) == out.end()) {
        out.push_back(std::move(ref));
    }
}

// The named expressions that appear in `expr` as printed: a named expression's body is not
// printed, its arguments are.
void printed_exprs(const Ast& ast, int expr, std::vector<HelperRef>& out) {
    if (expr < 0) {
        return;
    }
    const AstNode& e = ast[expr];
    if (e.op == Op::Named) {
        const std::string header = print_expr(ast, expr);
        add_ref(out, {header, "def-" + slug(header)});
        printed_exprs(ast, e.kid[1], out);
        printed_exprs(ast, e.kid[2], out);
        return;
    }
    for (int k : e.kid) {
        printed_exprs(ast, k, out);
    }
}

// The helpers print_effect(ast, effect, group) prints: the calls of the groups directly inside
// `group` (or the row, for -1) and the named expressions of the statements printed in full.
std::vector<HelperRef> printed_helpers(const Ast& ast, const Effect& effect, int group) {
    std::vector<HelperRef> out;
    for (const Stmt& st : effect.stmts) {
        int child = -1;
        bool inside = group < 0 || st.group == group;
        for (int g = st.group; g >= 0 && g != group;
             g = effect.groups[static_cast<std::size_t>(g)].parent) {
            child = g;
            inside = inside || effect.groups[static_cast<std::size_t>(g)].parent == group;
        }
        if (!inside) {
            continue;
        }
        if (child >= 0) {
            const StmtGroup& call = effect.groups[static_cast<std::size_t>(child)];
            add_ref(out, {group_signature(call), "def-" + slug(group_signature(call))});
            printed_exprs(ast, call.arg, out);
            continue;
        }
        printed_exprs(ast, st.value, out);
        printed_exprs(ast, st.host, out);
    }
    return out;
}

std::string links(const std::vector<HelperRef>& refs) {
    std::string out;
    for (std::size_t i = 0; i < refs.size(); ++i) {
        out += (i ? ", " : "") + std::string("[`") + refs[i].text + "`](#" + refs[i].id + ")";
    }
    return out;
}

// The line after a row or a group: links to the definitions of the helpers it prints.
std::string uses_line(const std::vector<HelperRef>& refs) {
    return refs.empty() ? "" : "Uses: " + links(refs) + ".\n\n";
}

// Named expressions and groups, in the order they first appear, with their bodies.
struct Definitions {
    struct Expr {
        std::string header;
        std::string body;
        std::vector<HelperRef> uses;
    };
    struct Group {
        std::string call;
        std::string doc;
        std::vector<std::string> body;
        std::vector<HelperRef> uses;
    };
    std::vector<Expr> exprs;
    std::vector<Group> groups;
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
            std::vector<HelperRef> uses;
            printed_exprs(ast, e.kid[0], uses);
            exprs.push_back({print_expr(ast, expr), print_expr(ast, e.kid[0]), std::move(uses)});
        }
    }
    void scan_row(const TableData& t, const RowData& r) {
        scan_expr(t.ast, r.guard);
        for (std::size_t g = 0; g < r.effect.groups.size(); ++g) {
            const StmtGroup& grp = r.effect.groups[g];
            std::string doc(grp.doc);
            if (grp.arg >= 0) {
                doc += " (The body below is its first use, with state = " +
                       print_expr(t.ast, grp.arg) + ".)";
            }
            scan_expr(t.ast, grp.arg);
            if (seen.insert("group:" + group_signature(grp)).second) {
                groups.push_back({group_signature(grp), doc,
                                  print_effect(t.ast, r.effect, static_cast<int>(g)),
                                  printed_helpers(t.ast, r.effect, static_cast<int>(g))});
            }
        }
        for (const auto& st : r.effect.stmts) {
            scan_expr(t.ast, st.value);
            scan_expr(t.ast, st.host);
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

// ---- verdicts and stories ----------------------------------------------------------------------

std::string verdict_cell(const SpecVerdict& v) {
    std::string out = v.verdict;
    if (v.verdict == "violated" && v.steps > 0) {
        out += " (" + std::to_string(v.steps) + (v.steps == 1 ? " step" : " steps") + ")";
    } else if (v.verdict == "bounded" && v.depth > 0) {
        out += " (depth " + std::to_string(v.depth) + ")";
    }
    return out;
}

const SpecVerdict* find_verdict(const std::vector<SpecVerdict>& verdicts,
                                std::string_view invariant) {
    for (const auto& v : verdicts) {
        if (v.invariant == invariant) {
            return &v;
        }
    }
    return nullptr;
}

std::string story_anchor(std::string_view invariant, bool any) {
    return std::string(any ? "story-any-" : "story-") + slug(invariant);
}

void render_story(std::ostringstream& md, const TableData& t, const SpecVerdict& v, bool any,
                  const char* profile) {
    const SpecStory& story = *v.story;
    md << "- " << anchor(story_anchor(v.invariant, any)) << "**[`" << v.invariant << "`](#inv-"
       << slug(v.invariant) << ")**" << profile << ", " << verdict_cell(v) << " ([trace]("
       << story.link << ")): ";
    if (!story.headline.empty()) {
        md << story.headline << "\n";
        return;
    }
    md << story.start << (story.steps.empty() ? "" : ", then ");
    for (std::size_t i = 0; i < story.steps.size(); ++i) {
        const SpecStep& step = story.steps[i];
        md << (i ? " → " : "");
        if (t.find(step.row) != nullptr) {
            md << "[`" << step.row << "`](#" << row_anchor(step.row) << ")";
        } else {
            md << "`" << step.row << "`";
        }
        if (!step.params.empty()) {
            md << " (" << step.params << ")";
        }
    }
    md << ".\n";
}

void render_verdicts(std::ostringstream& md, const TableData& t, const SpecResults* results) {
    md << "## Verdicts\n\n";
    if (results == nullptr) {
        md << "No verdicts on this page: it was generated without the checker's results "
              "(`handoff spec --results proofs/expected.json` adds them).\n\n";
        return;
    }
    md << "From [the checker's expected results](" << results->manifest_link
       << ") (`proofs/regenerate` writes them from `handoff check --json`; a test fails when the "
          "checker disagrees), at "
       << results->instance << ". ";
    if (results->profiles) {
        md << "Each verdict is the one under the documented-use environment profile (what "
              "management and the operator are documented to do, with image locking on; `--env "
              "documented`, the `documented_*` conditions in the rows' guards), with the one "
              "under any use of QMP (`--env any`) beside it where misuse changes it.\n\n"
              "| invariant | documented use | any use |\n|---|---|---|\n";
    } else {
        md << "The results record no environment profile.\n\n"
              "| invariant | verdict | engine |\n|---|---|---|\n";
    }
    // The invariants that apply, with their verdicts under each profile; the any-use verdict is
    // shown where it differs from the documented one.
    struct Line {
        std::string name;
        const SpecVerdict* doc;
        const SpecVerdict* any;
        bool any_differs() const {
            return any != nullptr && (doc == nullptr || verdict_cell(*any) != verdict_cell(*doc));
        }
    };
    std::vector<Line> lines;
    for (const auto& inv : all_invariants()) {
        if (inv.applies_to(t.version)) {
            const std::string name(inv.name);
            lines.push_back(
                {name, find_verdict(results->documented, name), find_verdict(results->any, name)});
        }
    }
    bool any_story = false;
    for (const Line& l : lines) {
        auto cell = [&](const SpecVerdict* v, bool in_any) {
            if (v == nullptr) {
                return std::string("not recorded");
            }
            if (v->story) {
                any_story = true;
                return "[" + verdict_cell(*v) + "](#" + story_anchor(l.name, in_any) + ")";
            }
            return verdict_cell(*v);
        };
        md << "| [`" << l.name << "`](#inv-" << slug(l.name) << ") | " << cell(l.doc, false)
           << " | ";
        if (!results->profiles) {
            md << (l.doc ? l.doc->engine : std::string()) << " |\n";
        } else {
            md << (l.any_differs() || l.any == nullptr ? cell(l.any, true) : "the same") << " |\n";
        }
    }
    if (!any_story) {
        md << "\n";
        return;
    }
    md << "\nThe shortest story of each violation, from its stored trace (`handoff replay "
          "TRACE` prints it step by step):\n\n";
    for (const Line& l : lines) {
        if (l.doc != nullptr && l.doc->story) {
            render_story(md, t, *l.doc, false, results->profiles ? " under documented use" : "");
        }
        if (l.any_differs() && l.any->story) {
            render_story(md, t, *l.any, true, " under any use");
        }
    }
    md << "\n";
}

// ---- where each row was read -------------------------------------------------------------------

std::string citation_line(const TableData& t, const RowProvenance& p) {
    if (p.read_in != t.version) {
        return "read in " + std::string(p.read_in) + " (" + std::string(p.citation) +
               "); not re-read for " + std::string(t.version);
    }
    if (p.written_for != t.version) {
        return std::string(p.citation) + " (re-read for " + std::string(t.version) +
               "; the row was written for " + std::string(p.written_for) + ")";
    }
    return std::string(p.citation);
}

void render_provenance_summary(std::ostringstream& md, const TableData& t) {
    std::size_t own = 0, reread = 0, not_reread = 0;
    std::map<std::string_view, std::size_t> elsewhere; // version read in -> rows
    for (const auto& r : t.rows) {
        const RowProvenance p = row_provenance(t, r);
        if (p.read_in != t.version) {
            ++elsewhere[p.read_in];
            ++not_reread;
        } else if (p.written_for != t.version) {
            ++reread;
        } else {
            ++own;
        }
    }
    if (own == t.rows.size()) {
        md << "All " << own << " rows were written for " << t.version << ".\n\n";
        return;
    }
    md << "Of the " << t.rows.size() << " rows, " << own << " were written for " << t.version
       << " and " << (t.rows.size() - own) << " inherited; of these, " << reread
       << " were re-read in " << t.version << "'s source and cite it, and " << not_reread
       << " were not";
    std::string where;
    for (const auto& [version, count] : elsewhere) {
        where +=
            (where.empty() ? "" : ", ") + std::to_string(count) + " in " + std::string(version);
    }
    md << (where.empty() ? "" : " (each says where it was read: " + where + ")") << ".\n\n";
}

// ---- the disk states ---------------------------------------------------------------------------

void render_disk_states(std::ostringstream& md, const TableData& t) {
    md << "### Disk states\n\n"
          "The node states (`node[h][n]`: ACTIVE, INACTIVE, HALF_INACTIVE, BROKEN) and the rows "
          "that move a node from one to another, derived from the rows' effects (`via`: the "
          "helper whose statement writes the node). Derived at N = 2 over the states of the "
          "nodes of both hosts, `alive`, `storage_ok` and `image_locking` that the rows reach, "
          "every other variable taken to have any value: a change listed here may need a state "
          "the checker never reaches, but none a row can make at N = 2 is left out.\n\n"
          "| from | to | rows |\n|---|---|---|\n";
    std::map<std::pair<int, int>, std::map<std::string_view, std::vector<std::string_view>>> edges;
    for (const auto& c : node_state_changes(t)) {
        auto& rows = edges[{static_cast<int>(c.from), static_cast<int>(c.to)}][c.via];
        if (std::find(rows.begin(), rows.end(), c.row) == rows.end()) {
            rows.push_back(c.row);
        }
    }
    for (const auto& [key, by_via] : edges) {
        md << "| " << value_name(DomainId::NodeState, key.first) << " | "
           << value_name(DomainId::NodeState, key.second) << " | ";
        bool first_via = true;
        for (const auto& [via, rows] : by_via) {
            md << (first_via ? "" : "; ")
               << (via.empty() ? "" : "via `" + std::string(via) + "`: ");
            first_via = false;
            for (std::size_t i = 0; i < rows.size(); ++i) {
                md << (i ? ", " : "") << "[`" << rows[i] << "`](#" << row_anchor(rows[i]) << ")";
            }
        }
        md << " |\n";
    }
    md << "\n";
}

} // namespace

std::string render_spec_markdown(const TableData& t, const SpecResults* results) {
    std::ostringstream md;
    const std::string stem = spec_file_stem(t.version);
    md << "# QEMU " << t.version << ": block-device handover during live migration\n\n";
    md << "> Generated by `handoff spec --version " << t.version
       << (results != nullptr ? " --results proofs/expected.json" : "")
       << "` (`docs/spec/regenerate`) from the table in `model/include/handoff/model/tables/`"
       << (results != nullptr ? " and the checker's expected results" : "")
       << ". Do not edit by hand; `./run test` fails when this page differs from what the "
          "generator prints.\n\n";
    if (!t.based_on.empty()) {
        md << "Derived from **" << t.based_on << "** (`handoff diff " << t.based_on << " "
           << t.version << "`). ";
    }
    md << t.summary << "\n\n";
    md << "Read from " << t.source << ". ";
    render_provenance_summary(md, t);
    render_verdicts(md, t, results);

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

    md << "\n## Rows\n\nEach row's `QEMU:` line cites the code the row was read from in this "
          "version's source, or names the version it was read in and says that it was not "
          "re-read for this one. `Uses:` links the helpers the row prints to their definitions "
          "below.\n\n";
    Definitions defs;
    for (const auto& r : t.rows) {
        defs.scan_row(t, r);
        md << "### " << anchor(row_anchor(r.name)) << "`" << r.name << "`\n\n";
        md << r.sentence << "\n\n";
        md << "- actor: " << kActorNames[static_cast<std::size_t>(r.actor)] << "\n";
        md << "- QEMU: " << citation_line(t, row_provenance(t, r)) << "\n";
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
        std::vector<HelperRef> uses;
        printed_exprs(t.ast, r.guard, uses);
        for (auto& ref : printed_helpers(t.ast, r.effect, -1)) {
            add_ref(uses, std::move(ref));
        }
        md << uses_line(uses);
    }

    md << "## Definitions\n\nThe named expressions and statement groups the rows use.\n\n";
    for (const auto& g : defs.groups) {
        md << "### " << anchor("def-" + slug(g.call)) << "`" << g.call << "`\n\n"
           << g.doc << "\n\n```\n";
        for (const auto& line : g.body) {
            md << line << "\n";
        }
        md << "```\n\n" << uses_line(g.uses);
    }
    for (const auto& e : defs.exprs) {
        md << "- " << anchor("def-" + slug(e.header)) << "`" << e.header << "` = `" << e.body
           << "`";
        if (!e.uses.empty()) {
            md << " (uses " << links(e.uses) << ")";
        }
        md << "\n";
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
        md << "- " << anchor("inv-" + slug(inv.name)) << "**`" << inv.name << "`**"
           << (inv.applies_to(t.version) ? "" : " (does not apply)") << ": " << inv.statement
           << " Source: " << inv.source << ".";
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
          "open starts from \"(any)\"; and the disk states, with the helpers and rows that move "
          "a node between them (`handoff spec --version "
       << t.version << " --format dot`).\n\n![state machine](" << stem << ".svg)\n\n";
    render_disk_states(md, t);
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

// The disk states: every node state, one edge per (from, to, helper), coloured and labelled by
// the helper that writes the node (the row itself if no helper does), and a legend with the rows
// that call each helper. An edge that only some of a helper's rows take names them.
void emit_disk_cluster(std::ostringstream& dot, const TableData& t) {
    static constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                              "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"};
    std::map<std::tuple<int, int, std::string_view>, std::vector<std::string_view>> edges;
    std::vector<std::string_view> helpers; // in order of first appearance, for the colours
    std::map<std::string_view, std::vector<std::string_view>> rows_of; // helper -> rows
    for (const auto& c : node_state_changes(t)) {
        const std::string_view helper = c.via.empty() ? c.row : c.via;
        auto& rows = edges[{static_cast<int>(c.from), static_cast<int>(c.to), helper}];
        if (std::find(rows.begin(), rows.end(), c.row) == rows.end()) {
            rows.push_back(c.row);
        }
        if (std::find(helpers.begin(), helpers.end(), helper) == helpers.end()) {
            helpers.push_back(helper);
        }
        auto& all = rows_of[helper];
        if (std::find(all.begin(), all.end(), c.row) == all.end()) {
            all.push_back(c.row);
        }
    }
    auto colour = [&](std::string_view helper) {
        const auto i = static_cast<std::size_t>(std::find(helpers.begin(), helpers.end(), helper) -
                                                helpers.begin());
        return kColors[i % std::size(kColors)];
    };
    dot << "  subgraph cluster_disk {\n    label=\"disk state node[h][n] (edges: the helper "
           "that writes the node)\";\n";
    for (int v = 0; v < domain_size(DomainId::NodeState); ++v) {
        dot << "    disk_" << v << " [label=\"" << value_name(DomainId::NodeState, v) << "\"];\n";
    }
    for (const auto& [key, rows] : edges) {
        const auto& [from, to, helper] = key;
        std::string label(helper);
        const auto& all = rows_of[helper];
        if (rows.size() < all.size()) {
            std::string only;
            for (auto r : rows) {
                only += (only.empty() ? "" : ", ") + std::string(r);
            }
            label += "\\n(only " + only + ")";
        }
        dot << "    disk_" << from << " -> disk_" << to << " [color=\"" << colour(helper)
            << "\", fontcolor=\"" << colour(helper) << "\", label=\"" << label << "\"];\n";
    }
    if (!helpers.empty()) {
        dot << "    disk_rows [shape=plaintext, label=<<table border=\"0\" cellspacing=\"0\">";
        for (auto helper : helpers) {
            std::string rows;
            const auto& all = rows_of[helper];
            for (std::size_t i = 0; i < all.size(); ++i) {
                rows += (i == 0 ? "" : i % 3 == 0 ? ",<br/>" : ", ") + std::string(all[i]);
            }
            dot << "<tr><td align=\"left\" valign=\"top\"><font color=\"" << colour(helper)
                << "\"><b>" << helper << "</b></font></td><td align=\"left\" balign=\"left\">"
                << rows << "</td></tr>";
        }
        dot << "</table>>];\n";
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
        << t.version << ": migration status, run state and disk state, per host (edges: rows)\";\n";
    emit_cluster(dot, "mig", "s->state (MigrationStatus)", Var::mig, edges_of(t, Var::mig));
    emit_cluster(dot, "run", "run state (runstate_set)", Var::runstate, edges_of(t, Var::runstate));
    emit_disk_cluster(dot, t);
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
