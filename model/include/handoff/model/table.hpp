// The runtime form of a version's table: rows with their guards and effects in one expression
// arena. Produced once from the compile-time table (row.hpp); read by the interpreter, the
// specification generator, the explorer and the Z3 lowering.
#pragma once

#include "handoff/model/ast.hpp"
#include "handoff/model/vocabulary.hpp"

#include <array>
#include <bitset>
#include <span>
#include <string_view>
#include <vector>

namespace handoff::model {

// Who performs a step. `fault` rows are environment failures: they are never part of a recovery.
enum class Actor : std::uint8_t {
    thread,      // the outgoing migration thread, between BQL boundaries
    qmp,         // a QMP command (runs under the BQL)
    incoming,    // the destination's incoming coroutine or bottom half
    guest,       // the guest's I/O through a device's BlockBackend
    management,  // starting or quitting a QEMU process (libvirt's part)
    environment, // the environment recovers (storage answers again)
    fault,       // the environment fails (storage goes away, a connection breaks, ...)
};
inline constexpr std::array<std::string_view, 7> kActorNames{
    "migration thread", "QMP command", "destination", "guest",
    "management",       "environment", "fault"};

struct RowData {
    std::string_view name;
    std::string_view sentence;
    std::string_view qemu; // the QEMU function(s) the row models, with the version read
    Actor actor{};
    std::vector<Param> params;
    int guard = -1;
    Effect effect;
};

// runstate_transitions_def[] of a version: allowed[from][to].
using RunstateTable = std::array<std::array<bool, 8>, 8>;

struct RunstateTransition {
    RunState from;
    RunState to;
};

// An inherited row that a version re-read in its own source: the row (its sentence, guard and
// effect) stays the ancestor's, with this citation for this version.
struct RowCitation {
    std::string_view row;
    std::string_view qemu;
};

// What a version is, besides its rows: the fields of TableData a version's file writes.
struct VersionInfo {
    std::string_view version;  // "v8.1", or a name of your own ("mine")
    std::string_view based_on; // the version this table was derived from ("" for the first)
    std::string_view summary;  // what changed, with commit ids
    std::string_view source;   // the QEMU code it was read from
    // Inherited rows re-read in this version's own source (TableData::rereads).
    std::span<const RowCitation> rereads{};
};

struct TableData {
    std::string_view version;
    std::string_view based_on; // the version this table was derived from ("" for the first)
    std::string_view summary;  // what changed, with commit ids
    std::string_view source;   // the QEMU code it was read from
    // Inherited rows re-read in this version's source (provenance.hpp); every other inherited
    // row keeps the citation of the version it was read in.
    std::vector<RowCitation> rereads;
    Ast ast;
    std::vector<RowData> rows;
    RunstateTable runstate{};
    // What the rows use, recorded once by record_what_rows_use() (to_table_data() calls it): the
    // variables some guard or effect reads (a variable that is only ever set to a constant, such
    // as vm_old_state by 8.0's process_exits(), is not read), and the crash reasons some assertion
    // has. Where an invariant applies is derived from these (invariants.hpp).
    std::bitset<kVarCount> reads;
    std::bitset<kCrashNames.size()> asserts;

    const RowData* find(std::string_view name) const {
        for (const auto& r : rows) {
            if (r.name == name) {
                return &r;
            }
        }
        return nullptr;
    }
    bool rows_read(Var v) const { return reads.test(static_cast<std::size_t>(v)); }
    bool rows_assert(Crash reason) const { return asserts.test(static_cast<std::size_t>(reason)); }
};

// Fills `reads` and `asserts` from the rows.
void record_what_rows_use(TableData& table);

} // namespace handoff::model
