#!/usr/bin/env bash
# `handoff spec --results`: the page's verdicts and stories from the checker's expected results,
# with the two environment profiles ("env": "documented" / "any", the any-use traces in
# traces/<version>/any/) and without (a manifest from before --env), and its one-line errors.
# Usage: spec_test.sh path/to/handoff path/to/proofs
set -uo pipefail
handoff=$1
proofs=$2
# check NAME CODE LINES PATTERN COMMAND...
. "$(dirname "$0")/check.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" /tmp/handoff_cli_err.$$' EXIT

check "spec without results says so" 0 - "^No verdicts on this page: it was generated without" \
    "$handoff" spec --version v8.0.0

# The manifest without profiles (its form before --env): the documented-use results, no "env".
mkdir -p "$tmp/plain"
# The stored traces carry headlines; the plain form (the steps) is what a trace without one gets.
cp -r "$proofs/traces" "$tmp/plain/traces"
for f in $(find "$tmp/plain/traces" -name '*.json'); do
    jq 'del(.headline)' "$f" > "$f.tmp" && mv "$f.tmp" "$f"
done
jq '.results |= [.[] | select(.env != "any") | del(.env)]' "$proofs/expected.json" \
    > "$tmp/plain/expected.json"
check "spec --results: one verdict per invariant" 0 - \
    "^\| \[\`no-vm-start-while-inactive\`\]\(#inv-no-vm-start-while-inactive\) \| \[violated \(6 steps\)\]\(#story-no-vm-start-while-inactive\) \| bmc \|$" \
    "$handoff" spec --version v8.0.0 --results "$tmp/plain/expected.json"
check "spec --results: a proved invariant" 0 - \
    "^\| \[\`valid-runstate-transitions\`\]\(#inv-valid-runstate-transitions\) \| proved \| ic3 \|$" \
    "$handoff" spec --version v8.0.0 --results "$tmp/plain/expected.json"
check "spec --results: the seed's story, linked to its rows and its trace" 0 - \
    "\(\[trace\]\($tmp/plain/traces/v8.0.0/no-vm-start-while-inactive.json\)\): host 0 RUNNING with [a-z, -]+ on \(every other capability off\), then \[\`storage_lost\`\]\(#row-storage_lost\) → .* → \[\`postcopy_run_bh\`\]\(#row-postcopy_run_bh\) \(h=host 1\)\.$" \
    "$handoff" spec --version v8.0.0 --results "$tmp/plain/expected.json"

# Profiles: every result under documented use, and the same under any use except
# no-vm-start-while-inactive, which misuse makes a 1-step story (single-owner's any-use trace).
check "profiles: two columns" 0 - "^\| invariant \| documented use \| any use \|$" \
    "$handoff" spec --version v8.0.0 --results "$proofs/expected.json"
mkdir -p "$tmp/traces/v8.0.0/any"
cp "$proofs"/traces/v8.0.0/*.json "$tmp/traces/v8.0.0/"
cp "$proofs"/traces/v8.0.0/*.json "$tmp/traces/v8.0.0/any/"
cp "$proofs/traces/v8.0.0/any/single-owner.json" \
    "$tmp/traces/v8.0.0/any/no-vm-start-while-inactive.json"
jq '.results |= ([.[] | . + {env: "documented"}] + [.[] | . + {env: "any"}
    | if .version == "v8.0.0" and .invariant == "no-vm-start-while-inactive"
      then .steps = 1 else . end])' "$tmp/plain/expected.json" > "$tmp/expected.json"
check "profiles: the same verdict once" 0 - \
    "^\| \[\`running-implies-active\`\]\(#inv-running-implies-active\) \| \[violated \(6 steps\)\]\(#story-running-implies-active\) \| the same \|$" \
    "$handoff" spec --version v8.0.0 --results "$tmp/expected.json"
check "profiles: a verdict misuse changes, beside the documented one" 0 - \
    "\| \[violated \(6 steps\)\]\(#story-no-vm-start-while-inactive\) \| \[violated \(1 step\)\]\(#story-any-no-vm-start-while-inactive\) \|$" \
    "$handoff" spec --version v8.0.0 --results "$tmp/expected.json"
check "profiles: the any-use story from traces/<version>/any/" 0 - \
    "under any use, violated \(1 step\) \(\[trace\]\($tmp/traces/v8.0.0/any/no-vm-start-while-inactive.json\)\)" \
    "$handoff" spec --version v8.0.0 --results "$tmp/expected.json"

check "--results: unreadable" 2 1 "cannot read '$tmp/none.json'" \
    "$handoff" spec --version v8.0.0 --results "$tmp/none.json"
printf '{"results": ' > "$tmp/broken.json"
check "--results: not JSON" 2 1 "broken.json: not a JSON manifest" \
    "$handoff" spec --version v8.0.0 --results "$tmp/broken.json"
echo '{"results": []}' > "$tmp/noinstance.json"
check "--results: not a manifest" 2 1 "noinstance.json: not a manifest of handoff check" \
    "$handoff" spec --version v8.0.0 --results "$tmp/noinstance.json"
mkdir -p "$tmp/env"
jq '.results[0].env = "sometimes"' "$proofs/expected.json" > "$tmp/env/expected.json"
check "--results: unknown env" 2 1 "unknown env 'sometimes' \(expected documented or any\)" \
    "$handoff" spec --version v7.2 --results "$tmp/env/expected.json"
check "--results: a violation without its trace" 2 1 "cannot read '$tmp/env/traces/v8.1/" \
    "$handoff" spec --version v8.1 --results "$tmp/env/expected.json"
sed 's/"half": 0/"half": 7/' "$proofs/traces/v8.0.0/no-double-inactivate.json" \
    > "$tmp/traces/v8.0.0/no-double-inactivate.json"
check "--results: a stale trace is refused, not printed" 2 1 \
    "traces/v8.0.0/no-double-inactivate.json: .*parameter half = 7 is out of range" \
    "$handoff" spec --version v8.0.0 --results "$tmp/expected.json"
check "--results is for the page, not the picture" 2 1 "--results is for the Markdown page" \
    "$handoff" spec --version v8.0.0 --format dot --results "$proofs/expected.json"
echo "$failures failed"
[ "$failures" -eq 0 ]
