#!/usr/bin/env bash
# The handoff program's contract: --help everywhere, one-line errors with exit code 2 for bad
# input, explore's exit codes and JSON. Usage: cli_test.sh path/to/handoff
set -uo pipefail
handoff=$1
failures=0
check() { # name, expected exit code, expected stderr lines (or -), regex on output, command...
    local name=$1 code=$2 lines=$3 pattern=$4
    shift 4
    local out err rc
    out=$("$@" 2>/tmp/handoff_cli_err.$$)
    rc=$?
    err=$(cat /tmp/handoff_cli_err.$$)
    if [ "$rc" -ne "$code" ]; then
        echo "FAIL $name: exit code $rc, expected $code"; failures=$((failures + 1)); return
    fi
    if [ "$lines" != "-" ] && [ "$(printf '%s' "$err" | grep -c '')" -ne "$lines" ]; then
        echo "FAIL $name: stderr has $(printf '%s' "$err" | grep -c '') lines, expected $lines: $err"
        failures=$((failures + 1)); return
    fi
    if ! printf '%s\n%s' "$out" "$err" | grep -Eq -- "$pattern"; then
        echo "FAIL $name: output does not match /$pattern/"; failures=$((failures + 1)); return
    fi
    echo "ok   $name"
}
check "help" 0 - "Subcommands:" "$handoff" --help
check "explore --help" 0 - "--nodes" "$handoff" explore --help
check "versions" 0 - "v10.0-dev +derived from v9.2" "$handoff" versions
check "invariants" 0 - "no-vm-start-while-inactive" "$handoff" invariants
check "unknown version" 2 1 "unknown version 'v9' \(expected one of: v7.2, v8.0.0, v8.1, v9.2, v10.0-dev, v10.2\)" \
    "$handoff" explore --version v9
check "unknown invariant" 2 1 "unknown invariant 'no-such'" \
    "$handoff" explore --version v8.1 --invariant no-such
check "invariant that does not apply" 2 1 "does not apply to v10.2" \
    "$handoff" explore --version v10.2 --invariant no-double-inactivate
check "unknown option" 2 1 "--bogus" "$handoff" explore --version v8.1 --bogus
check "zero nodes" 2 1 "--nodes must be between 1 and 16, not 0" \
    "$handoff" explore --version v8.1 --nodes 0
check "bad capability" 2 1 "unknown capability 'colo'" \
    "$handoff" explore --version v8.1 --cap colo=on
check "bad capability value" 2 1 "must be on or off" \
    "$handoff" explore --version v8.1 --cap postcopy=maybe
check "unknown spec format" 2 1 "unknown format 'pdf'" "$handoff" spec --version v8.1 --format pdf
check "no subcommand" 2 1 "subcommand" "$handoff"
check "diff needs two versions" 2 1 "" "$handoff" diff v8.1
check "diff" 0 - "changed row migration_completion_save" "$handoff" diff v8.0.0 v8.1
check "spec dot" 0 - "^digraph" "$handoff" spec --version v10.2 --format dot
# The seed on v8.0.0 with every capability off: a violation is exit code 1.
check "explore finds the seed" 1 - "migration_completion_fail .*\"|no-vm-start-while-inactive +violated" \
    "$handoff" explore --version v8.0.0 --nodes 1 --invariant no-vm-start-while-inactive \
    --cap late-block-activate=off --cap pause-before-switchover=off --cap postcopy=off \
    --cap autostart=on --cap image-locking=off
check "explore json" 1 - "\"verdict\": \"violated\"" \
    "$handoff" explore --version v8.0.0 --nodes 1 --invariant no-vm-start-while-inactive --json \
    --cap late-block-activate=off --cap pause-before-switchover=off --cap postcopy=off \
    --cap autostart=on --cap image-locking=off
check "explore holds" 0 - "no-vm-start-while-inactive +holds +for this instance" \
    "$handoff" explore --version v10.2 --nodes 1 --invariant no-vm-start-while-inactive \
    --cap late-block-activate=off --cap pause-before-switchover=off --cap postcopy=off \
    --cap autostart=on --cap image-locking=on --starts 0
# replay-qemu: bad input is refused before any QEMU is started.
tmp_trace=/tmp/handoff_cli_trace.$$.json
check "replay-qemu missing file" 2 1 "cannot read /nonexistent.json" \
    "$handoff" replay-qemu /nonexistent.json
echo '{"steps": []}' > "$tmp_trace"
check "replay-qemu malformed trace" 2 1 "not a trace object" "$handoff" replay-qemu "$tmp_trace"
echo '{"version": "v6.0", "nodes": 1, "initial": {}, "steps": []}' > "$tmp_trace"
check "replay-qemu unknown version" 2 1 "unknown version 'v6.0'" \
    "$handoff" replay-qemu "$tmp_trace"
echo 'not json' > "$tmp_trace"
check "replay-qemu not json" 2 1 "is not JSON" "$handoff" replay-qemu "$tmp_trace"
rm -f "$tmp_trace"
rm -f /tmp/handoff_cli_err.$$
echo "$failures failed"
[ "$failures" -eq 0 ]
