#!/usr/bin/env bash
# The committed expected results (proofs/expected.json, proofs/traces/) against what the checker
# says now: `handoff check --json` runs once per environment profile (documented, any); its
# verdicts (and the lengths of its counterexamples) must be the manifest's, and each violation's
# sequence of rows must be the committed trace's (proofs/traces/<version>/<invariant>.json under
# documented use, proofs/traces/<version>/any/<invariant>.json under any use). Every committed
# trace must also replay (`handoff replay`). After an intended change of a table, run
# proofs/regenerate and review the diff. Usage: manifest_test.sh path/to/handoff proofs/
set -uo pipefail
handoff=$1
proofs=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

for env in documented any; do
    start=$(date +%s)
    rc=0
    "$handoff" check --json --timeout 120 --env "$env" > "$dir/$env.json" || rc=$?
    echo "handoff check --json --env $env: exit code $rc in $(($(date +%s) - start)) s"
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 3 ]; then
        fail "handoff check --env $env failed (exit code $rc)"
        exit 1
    fi
done
jq -s -f "$proofs/manifest.jq" "$dir/documented.json" "$dir/any.json" > "$dir/now.json"

# Verdicts and trace lengths (the engine and a bound's depth are recorded, not compared: they
# depend on the engines' scheduling and the machine's speed).
project='{instance, results: [.results[] | {version, invariant, env, verdict, steps}]}'
jq -S "$project" "$proofs/expected.json" > "$dir/expected.cmp"
jq -S "$project" "$dir/now.json" > "$dir/now.cmp"
if ! diff -u "$dir/expected.cmp" "$dir/now.cmp" > "$dir/verdicts.diff"; then
    fail "the verdicts differ from proofs/expected.json (- expected, + now; proofs/regenerate updates it):"
    cat "$dir/verdicts.diff"
fi

# Each violation's rows against the committed trace; no committed trace without a violation.
: > "$dir/violated"
for env in documented any; do
    sub=""
    [ "$env" = any ] && sub=any/
    jq -r --arg sub "$sub" \
        '.results[] | select(.verdict == "violated") | "\(.version)/\($sub)\(.invariant)"' \
        "$dir/$env.json" > "$dir/violated.$env"
    cat "$dir/violated.$env" >> "$dir/violated"
    while IFS=/ read -r version rest; do
        invariant=${rest#any/}
        file="$proofs/traces/$version/$rest.json"
        if [ ! -f "$file" ]; then
            fail "no committed trace $file"
            continue
        fi
        now=$(jq -c --arg v "$version" --arg i "$invariant" \
            '.results[] | select(.version == $v and .invariant == $i) | [.trace.steps[].row]' \
            "$dir/$env.json")
        committed=$(jq -c '[.steps[].row]' "$file")
        [ "$now" = "$committed" ] || fail "$version / $rest: rows now $now, committed $committed"
    done < "$dir/violated.$env"
done
for file in "$proofs"/traces/*/*.json "$proofs"/traces/*/any/*.json; do
    [ -e "$file" ] || continue
    key=${file#"$proofs"/traces/}
    key=${key%.json}
    invariant=$(basename "$file" .json)
    grep -qx "$key" "$dir/violated" || fail "$file: the pair is no longer violated"
    out=$("$handoff" replay "$file" --invariant "$invariant" 2>&1)
    rc=$?
    # 3: a graph property (recoverable), which replay cannot decide; the path itself replayed.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        fail "$file does not replay (exit code $rc): $(printf '%s' "$out" | tail -1)"
    fi
done
echo "$failures failed"
[ "$failures" -eq 0 ]
