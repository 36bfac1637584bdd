#!/usr/bin/env bash
# The worked example of docs/howto-patch.md (docs/examples/fix_2023.cpp: the 2023 fix written from
# scratch as a version derived from v8.0.0) gives the verdicts the shipped v8.1 gives, and
# `handoff diff v8.0.0 fix-2023` is the fix's rows. Also: the example is not a shipped version.
# Usage: howto_example_test.sh path/to/handoff path/to/handoff-fix-2023   (needs jq)
set -uo pipefail
handoff=$1
example=$2
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

# Shipped or not.
if "$handoff" versions | grep -q '^fix-2023 '; then
    fail "build/handoff lists the example version fix-2023"
else
    ok "build/handoff does not list fix-2023"
fi
listing=$("$example" versions)
grep -qE '^fix-2023 +derived from v8\.0\.0$' <<<"$listing" && ok "fix-2023 is derived from v8.0.0" ||
    fail "fix-2023 is not listed as derived from v8.0.0: $listing"
grep -A2 '^fix-2023 ' <<<"$listing" |
    grep -q 'no impl/ policy: the property tests do not run it; no real QEMU: conformance does not replay it' &&
    ok "versions says what does not test fix-2023" || fail "versions does not say that no impl/ policy or real QEMU covers fix-2023"
grep -q '^v8\.1 ' <<<"$listing" && ok "the example program keeps the shipped versions" ||
    fail "the example program lost v8.1"

# The diff is the three commits: four rows, one of them renamed, and nothing else.
diff_out=$("$example" diff v8.0.0 fix-2023)
rows=$(grep -E '^(changed|added|removed) row |^[-+] runstate transition' <<<"$diff_out" | sed 's/ --.*//' | sort)
expected=$(printf '%s\n' "added row migration_completion_checks_fail" \
    "changed row migration_completion_fail" "changed row migration_completion_save" \
    "changed row migration_switchover_resume" "removed row migration_completion_fail_invalidate" | sort)
[ "$rows" = "$expected" ] && ok "diff v8.0.0 fix-2023 lists the 2023 fix's rows" ||
    fail "diff v8.0.0 fix-2023 lists$(printf '\n%s' "$rows")"$'\n'"expected$(printf '\n%s' "$expected")"
grep -q '^+  block_inactive\[h\] := true$' <<<"$diff_out" && ok "403d18ae: the flag is set before the attempt" ||
    fail "the diff does not set block_inactive before the inactivation"

# Verdicts at N = 2: every capability combination, and without postcopy (where v8.0.0's shortest
# stories go through the completion's failure labels, so the fix changes them).
project='[.results[] | {version, invariant, verdict,
                        steps: [.trace.steps[]? | {row, params}]}] | group_by(.version)
         | map({key: .[0].version, value: map(del(.version))}) | from_entries'
for caps in "" "--cap postcopy=off"; do
    name="N = 2${caps:+, $caps}"
    # shellcheck disable=SC2086 # $caps is two words or none
    out=$("$example" check --version v8.0.0 --version v8.1 --version fix-2023 \
        --invariant no-vm-start-while-inactive --invariant block-inactive-tracks-nodes \
        --nodes 2 $caps --json)
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 3 ]; then
        fail "$name: handoff-fix-2023 check exit code $rc"
        continue
    fi
    by_version=$(jq -c "$project" <<<"$out")
    fix=$(jq -c '.["fix-2023"]' <<<"$by_version")
    v81=$(jq -c '.["v8.1"]' <<<"$by_version")
    v800=$(jq -c '.["v8.0.0"]' <<<"$by_version")
    if [ "$(jq length <<<"$fix")" != 2 ]; then
        fail "$name: fix-2023 has $(jq length <<<"$fix") results, expected 2: $fix"
    elif [ "$fix" = "$v81" ]; then
        ok "$name: fix-2023's verdicts and counterexamples are v8.1's"
    else
        fail "$name: fix-2023 $fix"$'\n'"     v8.1     $v81"
    fi
    # Without postcopy the instance tells the fix apart (otherwise the comparison above says little).
    if [ -n "$caps" ]; then
        [ "$v800" != "$v81" ] && ok "$name: v8.0.0's counterexamples differ from v8.1's" ||
            fail "$name: v8.0.0 and v8.1 have the same counterexamples: the check cannot tell the fix"
    fi
done

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
