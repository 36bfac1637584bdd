// The runtime form of a version's table: rows with their guards and effects in one expression
// arena. Produced once from the compile-time table (row.hpp); read by the interpreter, the
// specification generator, the explorer and the Z3 lowering.
#pragma once

#include "handoff/model/ast.hpp"
#include "handoff/model/vocabulary.hpp"

#include <array>
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

    const RowData* find(std::string_view name) const {
        for (const auto& r : rows) {
            if (r.name == name) {
                return &r;
            }
        }
        return nullptr;
    }
};

} // namespace handoff::model
