#!/bin/bash
# A property test's shrunk run as a model trace file (proptests/README.md, "Model traces of
# failing runs"): `handoff replay` replays it on the interpreter and must reach the violation it
# names (exit 0), and `handoff replay-qemu` must read it (a verdict, or no real QEMU for its
# version; never a complaint about the file).
# Usage: trace_replay_test.sh HANDOFF DEFAULT_TRACE_DIR NAME.json (the folder is
# $HANDOFF_PROPTEST_TRACE_DIR when set, as for the property tests)
set -u
handoff=$1
trace=${HANDOFF_PROPTEST_TRACE_DIR:-$2}/$3
fail() {
    echo "FAIL: $*"
    exit 1
}
[ -f "$trace" ] || fail "$trace was not written (the seed_bug property test writes it)"

out=$("$handoff" replay "$trace" 2>&1)
rc=$?
echo "$out" | tail -n 4
[ "$rc" -eq 0 ] || fail "handoff replay $trace exited $rc (0: it reaches the violation)"
grep -q "^reaches the violation: the last state violates no-vm-start-while-inactive" <<<"$out" ||
    fail "handoff replay did not say it reaches the violation of no-vm-start-while-inactive"

# replay-qemu reads the trace before it looks for a QEMU of the trace's version. Exit 2 is bad
# input; for this trace it may only be the missing binary (there is none for v8.0.0 here).
out=$("$handoff" replay-qemu --timeout-ms 20000 "$trace" 2>&1)
rc=$?
echo "replay-qemu (exit $rc): $(tail -n 1 <<<"$out")"
if [ "$rc" -eq 2 ]; then
    grep -q "no real QEMU for v8.0.0" <<<"$out" ||
        fail "handoff replay-qemu rejected the trace: $out"
fi
echo "PASS: handoff replay reaches the violation; handoff replay-qemu reads the trace"
