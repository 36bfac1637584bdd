#!/usr/bin/env bash
# `handoff crosscheck` (every engine against the complete exploration) and `prove --expect` on a
# malformed manifest (once an exception, exit code 4; now one line, exit code 2).
# Usage: crosscheck_test.sh path/to/handoff path/to/proofs
set -uo pipefail
handoff=$1 proofs=$2
. "$(dirname "$0")/check.sh"
check "crosscheck: the engines agree on the seed's pair (N = 1)" 0 - \
    "^  the engines agree" \
    "$handoff" crosscheck --version v8.0.0 --invariant no-vm-start-while-inactive --nodes 1 \
    --cap postcopy=off --set-active-calls 0 --timeout 3
check "crosscheck: recoverable, explicit against the recovery search" 0 - \
    "^  recovery +violated" \
    "$handoff" crosscheck --version v10.2 --invariant recoverable --nodes 1 --set-active-calls 0 \
    --timeout 3
check "crosscheck: a seeded sample prints its seed" 0 - "^seed 7 \(the same sample: --sample 1 --seed 7\)" \
    "$handoff" crosscheck --sample 1 --seed 7 --timeout 3
check "crosscheck: --sample with --version" 2 1 "--sample draws versions and invariants itself" \
    "$handoff" crosscheck --sample 2 --version v8.1
check "crosscheck: nothing to check" 2 1 "give --version" "$handoff" crosscheck
check "crosscheck: unknown version" 2 1 "unknown version 'v1'" "$handoff" crosscheck --version v1

bad=/tmp/handoff_crosscheck_manifest.$$
jq '.results[0].steps = "six"' "$proofs/expected.json" > "$bad"
check "prove --expect: a result's steps not an integer" 2 1 \
    "result 1: \"steps\" must be an integer, not \"six\"" \
    "$handoff" prove --version v8.1 --expect "$bad"
jq '.results[1] = 3' "$proofs/expected.json" > "$bad"
check "prove --expect: a result that is not an object" 2 1 "result 2 is not an object" \
    "$handoff" prove --version v8.1 --expect "$bad"
echo '[1, 2]' > "$bad"
check "prove --expect: not an object" 2 1 "has no \"results\" array" \
    "$handoff" prove --version v8.1 --expect "$bad"
rm -f "$bad" /tmp/handoff_cli_err.$$
exit $((failures > 0))
