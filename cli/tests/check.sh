# The shell tests' one assertion, sourced by cli_test.sh and spec_test.sh: run a command, then
# compare its exit code, the number of stderr lines (or -) and a regex on stdout and stderr.
# Counts failures in $failures.
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
    # grep reads everything (no -q): with pipefail, an early exit would fail printf with SIGPIPE.
    if ! printf '%s\n%s' "$out" "$err" | grep -E -- "$pattern" >/dev/null; then
        echo "FAIL $name: output does not match /$pattern/"; failures=$((failures + 1)); return
    fi
    echo "ok   $name"
}
