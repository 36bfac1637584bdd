#!/usr/bin/env bash
# handoff export --format smt2 read by independent solvers: on v8.0.0 the headline invariant's
# shortest counterexample has K steps (N = 2, every capability combination, documented use; K is the length the
# manifest proofs/expected.json records), so the BMC query is sat at depth K and unsat at depth
# K - 1, for the z3 program and, where installed, for cvc5.
# Usage: export_test.sh path/to/handoff
set -uo pipefail
handoff=$1
manifest=$(dirname "$0")/../expected.json
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
k=$(jq -r '.results[] | select(.version == "v8.0.0" and .invariant == "no-vm-start-while-inactive"
                               and .env == "documented") | .steps' "$manifest")
case "$k" in
    '' | *[!0-9]* | 0) echo "FAIL the manifest has no counterexample length for v8.0.0: '$k'"; exit 1 ;;
esac
for depth in $((k - 1)) "$k"; do
    if ! "$handoff" export --version v8.0.0 --invariant no-vm-start-while-inactive --format smt2 \
        --query bmc --depth "$depth" --out "$dir/d$depth.smt2"; then
        echo "FAIL export at depth $depth"; exit 1
    fi
    grep -q '(set-logic ' "$dir/d$depth.smt2" || { echo "FAIL no set-logic"; failures=$((failures + 1)); }
    grep -q '(check-sat)' "$dir/d$depth.smt2" || { echo "FAIL no check-sat"; failures=$((failures + 1)); }
done
expect() { # solver, depth, answer
    local got
    got=$("$1" "$dir/d$2.smt2" 2>&1 | tr -d '\r')
    if [ "$got" = "$3" ]; then
        echo "ok   $1 at depth $2: $got"
    else
        echo "FAIL $1 at depth $2: '$got', expected $3"; failures=$((failures + 1))
    fi
}
solvers=0
for solver in z3 cvc5; do
    if ! command -v "$solver" >/dev/null; then
        echo "skip $solver: not installed"
        continue
    fi
    solvers=$((solvers + 1))
    expect "$solver" $((k - 1)) unsat
    expect "$solver" "$k" sat
done
[ "$solvers" -gt 0 ] || { echo "FAIL neither z3 nor cvc5 is installed"; exit 1; }
echo "$failures failed"
[ "$failures" -eq 0 ]
