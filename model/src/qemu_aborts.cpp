// QEMU's aborts as its binaries print them: the table behind the model's crash reasons (enum
// Crash), per version. glibc's assert() prints "PROGRAM: FILE:LINE: FUNCTION: Assertion `EXPR'
// failed." with FILE as the compiler saw it (meson builds in a subdirectory of the source tree,
// so upstream builds print "../block.c"; Debian builds one level deeper, "../../block.c", except
// the bookworm-backports 10.0.2 build, which maps the prefix away and prints "block.c").
//
// Every line number here was read: from the binary (the immediate passed to __assert_fail next to
// the assertion's string, for the two Debian builds the conformance harness runs), from QEMU's
// source, or from the domain reference, which quotes the source. Where none of these has the
// line, the message says so instead of guessing.
#include "handoff/model/story.hpp"

#include <array>
#include <string>

namespace handoff::model {

namespace {

// What aborts, independent of the version: the assertion (or the error_report) and its function.
struct AbortText {
    Crash kind;
    AbortVariant variant;
    std::string_view file; // in the source tree; runstate.c's directory depends on the version
    std::string_view function;
    std::string_view expression; // the asserted expression ("" for the error_report)
    std::string_view text_from;  // where the expression's text was read
};

constexpr std::array<AbortText, 6> kTexts{{
    // block.c bdrv_inactivate_recurse() before 10.0: an inactive node reached again.
    {Crash::DOUBLE_INACTIVATE, AbortVariant::only, "block.c", "bdrv_inactivate_recurse",
     "!(bs->open_flags & BDRV_O_INACTIVE)", "7.2.22's binary and 8.0.5's block.c"},
    // block.c bdrv_inactivate_recurse(bs, top_level) from 10.0: an inactive child.
    {Crash::INACTIVE_CHILD, AbortVariant::only, "block.c", "bdrv_inactivate_recurse", "top_level",
     "10.0.2's block.c and binary"},
    // block/io.c bdrv_co_write_req_prepare(): the write reaches an inactive node ...
    {Crash::WRITE_TO_INACTIVE, AbortVariant::write_to_inactive_flag, "block/io.c",
     "bdrv_co_write_req_prepare", "!(bs->open_flags & BDRV_O_INACTIVE)",
     "7.2.22's and 10.0.2's binaries"},
    // ... or a half-inactivated one, whose BlockBackend lost its write permission in
    // blk_root_inactivate() while the node's flag stayed clear.
    {Crash::WRITE_TO_INACTIVE, AbortVariant::write_without_write_perm, "block/io.c",
     "bdrv_co_write_req_prepare", "child->perm & (BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE)",
     "7.2.22's and 10.0.2's binaries"},
    // runstate_set(): s->vm_old_state == -1 (8.1+ migrate_init()) ...
    {Crash::INVALID_RUNSTATE, AbortVariant::unset_state, "runstate.c", "runstate_set",
     "new_state < RUN_STATE__MAX", "7.2.22's and 10.0.2's binaries"},
    // ... or a transition runstate_transitions_def[] lacks: error_report() and abort().
    {Crash::INVALID_RUNSTATE, AbortVariant::invalid_transition, "runstate.c", "runstate_set", "",
     "7.2.22's binary and 10.0.2's source"},
}};

// How a version's binary names its source files, and which QEMU it is.
struct Build {
    std::string_view version;
    std::string_view qemu;         // the QEMU the table was read from
    std::string_view prefix;       // what the compiler saw before the source path
    std::string_view runstate_dir; // softmmu/ before 8.1, system/ since
};

constexpr std::array<Build, 7> kBuilds{{
    {"v7.2", "Debian 12's 7.2.22", "../../", "softmmu/"},
    {"v8.0.0", "8.0.0", "../", "softmmu/"},
    {"v8.1", "8.1.0", "../", "system/"},
    {"v9.2", "9.2.4", "../", "system/"},
    {"v10.0-dev", "the 10.0 development cycle", "../", "system/"},
    {"v10.0", "Debian bookworm-backports' 10.0.2", "", "system/"},
    {"v10.2", "10.2.0", "../", "system/"},
}};

constexpr std::string_view kDebian72 =
    "Debian 12's binary (qemu-system-x86 1:7.2+dfsg-7+deb12u18+b3), the line its __assert_fail "
    "call passes";
constexpr std::string_view kDebian100 =
    "Debian's bookworm-backports binary (qemu-system-x86 1:10.0.2+ds-2+deb13u1~bpo12+1), the "
    "line its __assert_fail call passes";

struct ReadLine {
    std::string_view version;
    Crash kind;
    AbortVariant variant;
    int line;
    std::string_view read_from;
};

constexpr std::array<ReadLine, 11> kLines{{
    {"v7.2", Crash::DOUBLE_INACTIVATE, AbortVariant::only, 6681, kDebian72},
    {"v7.2", Crash::WRITE_TO_INACTIVE, AbortVariant::write_to_inactive_flag, 1967, kDebian72},
    {"v7.2", Crash::WRITE_TO_INACTIVE, AbortVariant::write_without_write_perm, 1995, kDebian72},
    {"v7.2", Crash::INVALID_RUNSTATE, AbortVariant::unset_state, 204, kDebian72},
    // The table's block.c and block/io.c were read from 8.0.5 (v8_0_0.hpp).
    {"v8.0.0", Crash::DOUBLE_INACTIVATE, AbortVariant::only, 6748,
     "8.0.5's block.c, as the domain reference quotes it (section 2.2; Eric Blake's downstream "
     "build said 6738)"},
    {"v8.0.0", Crash::WRITE_TO_INACTIVE, AbortVariant::write_to_inactive_flag, 1815,
     "8.0.5's block/io.c, as the domain reference quotes it (section 2.5)"},
    {"v10.0", Crash::INACTIVE_CHILD, AbortVariant::only, 7017,
     "Debian's bookworm-backports binary (1:10.0.2+ds-2+deb13u1~bpo12+1), the line its "
     "__assert_fail call passes; Debian's patches move it: upstream 10.0.2's block.c has it at "
     "7007"},
    {"v10.0", Crash::WRITE_TO_INACTIVE, AbortVariant::write_to_inactive_flag, 1976, kDebian100},
    {"v10.0", Crash::WRITE_TO_INACTIVE, AbortVariant::write_without_write_perm, 2004, kDebian100},
    {"v10.0", Crash::INVALID_RUNSTATE, AbortVariant::unset_state, 232, kDebian100},
    {"v10.2", Crash::WRITE_TO_INACTIVE, AbortVariant::write_to_inactive_flag, 1976,
     "10.2.0's block/io.c, as the domain reference quotes it (section 2.5)"},
}};

constexpr std::string_view kProgram = "qemu-system-x86_64";

} // namespace

std::string_view qapi_runstate_name(RunState s) {
    // qapi/run-state.json's names, in the order of RunState (kRunStateNames); UNSET is the -1 of
    // s->vm_old_state, not a run state.
    constexpr std::array<std::string_view, 8> names{"running",     "paused",    "finish-migrate",
                                                    "postmigrate", "inmigrate", "save-vm",
                                                    "shutdown",    "-1"};
    static_assert(names.size() == kRunStateNames.size());
    return names[static_cast<std::size_t>(s)];
}

QemuAbort qemu_abort(std::string_view version, Crash kind, AbortVariant variant, RunState from,
                     RunState to) {
    const AbortText* text = nullptr;
    for (const auto& t : kTexts) {
        if (t.kind == kind && (t.variant == variant || variant == AbortVariant::only)) {
            text = &t;
            break;
        }
    }
    if (text == nullptr) {
        return {"(no QEMU abort for crash " + std::string(kCrashNames[static_cast<int>(kind)]) +
                    ")",
                ""};
    }
    Build build{version, version, "../", "system/"};
    for (const auto& b : kBuilds) {
        if (b.version == version) {
            build = b;
        }
    }
    const std::string file =
        std::string(text->file == "runstate.c" ? build.runstate_dir : "") + std::string(text->file);
    if (text->variant == AbortVariant::invalid_transition) {
        // runstate_set() (system/runstate.c 10.0.2:241-245; the same format string in Debian's
        // 7.2.22 binary): error_report() prefixes the program name, then abort().
        return {std::string(kProgram) + ": invalid runstate transition: '" +
                    std::string(qapi_runstate_name(from)) + "' -> '" +
                    std::string(qapi_runstate_name(to)) + "'",
                "error_report() in runstate_set() (" + file + "), then abort(); the wording of " +
                    std::string(text->text_from)};
    }
    const ReadLine* line = nullptr;
    for (const auto& l : kLines) {
        if (l.version == version && l.kind == kind && l.variant == text->variant) {
            line = &l;
        }
    }
    const std::string where =
        std::string(build.prefix) + file + ":" + (line ? std::to_string(line->line) : "?");
    std::string message = std::string(kProgram) + ": " + where + ": " +
                          std::string(text->function) + ": Assertion `" +
                          std::string(text->expression) + "' failed.";
    std::string provenance =
        line ? "line read from " + std::string(line->read_from)
             : "the line was not read: no source or binary of " + std::string(build.qemu) + "'s " +
                   file + " here; the assertion's text is that of " + std::string(text->text_from);
    return {std::move(message), std::move(provenance)};
}

} // namespace handoff::model
