// Which real QEMU a trace is replayed on. The model version names the QEMU it models; a small table
// says which binary on this machine is that QEMU (v7.2: Debian 12's own 7.2.22 on PATH; v10.0: the
// 10.0.x that conformance/fetch-qemu unpacks into a cache folder). Any other version has no binary
// here unless the user names a folder (`handoff replay-qemu --qemu DIR`), e.g. a patched QEMU's
// build tree. Before a replay the binary's `--version` is compared with the version the trace
// models: a difference is reported (one warning) and the replay goes on.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace handoff::conformance {

// The binary a replay needs cannot be named: no binary for the trace's version and no --qemu, or
// a --qemu folder without qemu-system-x86_64. Bad input (the CLI's exit code 2).
struct BinaryError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The programs of one QEMU and how to start them.
struct QemuBinaries {
    std::string system = "qemu-system-x86_64"; // a path, or a name looked up on PATH
    std::string img = "qemu-img";
    std::string nbd = "qemu-nbd";
    std::string firmware;   // passed as -L when not empty (a build that is not relocatable)
    std::string module_dir; // QEMU_MODULE_DIR when not empty: never load another build's modules
    std::string origin;     // where it came from, for messages ("the system's", "--qemu DIR", ...)
};

// A model version with a real binary on this machine.
struct KnownBinary {
    std::string_view model_version;
    enum class Source { system_path, fetched } source;
    std::string_view expected; // what `--version` says after "QEMU emulator version "
};
// The table (binaries.cpp). v10.0's binary is the folder fetched_qemu_dir().
const std::vector<KnownBinary>& known_binaries();

// $HANDOFF_QEMU_CACHE/qemu-10.0, the cache defaulting to ${XDG_CACHE_HOME:-$HOME/.cache}/handoff:
// the same rule as conformance/fetch-qemu, which fills it.
std::string fetched_qemu_dir();

// The QEMU in `dir`: an installed tree (DIR/bin or DIR/usr/bin, e.g. an unpacked Debian package)
// or a QEMU build directory (DIR/qemu-system-x86_64, with qemu-img and qemu-nbd beside it).
// Nothing when DIR has no executable qemu-system-x86_64 there.
std::optional<QemuBinaries> qemu_in(const std::string& dir);

// qemu_in(dir), or BinaryError naming the folder (the user's --qemu DIR).
QemuBinaries qemu_at(const std::string& dir);

// What `--version` of a trace's version should start with: the table's entry, else the version
// name without its "v" and any "-suffix" (v8.1 -> "8.1", v10.0-dev -> "10.0").
std::string expected_version(const std::string& model_version);
// Whether a `--version` line is that version ("8.1" matches 8.1.0 and 8.1.5, not 8.10).
bool version_matches(const std::string& line, const std::string& expected);

// The binary for a trace: `override_dir` when given (BinaryError if it has none), else the table's.
// Throws BinaryError for a version without a binary, HarnessError when v10.0's folder is missing
// (run conformance/fetch-qemu).
QemuBinaries select_qemu(const std::string& model_version, const std::string& override_dir = "");

// The first line of `system --version` (run once per binary). Throws HarnessError if it does not
// run.
std::string qemu_version(const QemuBinaries& q);

} // namespace handoff::conformance
