#!/usr/bin/env bash
# The handoff program's contract: --help everywhere, one-line errors with exit code 2 for bad
# input, explore's exit codes and JSON, trace/replay/export/coverage. Usage: cli_test.sh path/to/handoff
set -uo pipefail
handoff=$1
# check NAME CODE LINES PATTERN COMMAND...
. "$(dirname "$0")/check.sh"
check "help" 0 - "Subcommands:" "$handoff" --help
check "explore --help" 0 - "--nodes" "$handoff" explore --help
check "versions" 0 - "v10.0-dev +derived from v9.2" "$handoff" versions
check "versions: v10.0's source" 0 - "read from qemu_10.0.2\+ds.orig.tar.xz" "$handoff" versions
check "invariants" 0 - "no-vm-start-while-inactive" "$handoff" invariants
# The shipped tables are all registered (none dropped by the static library: model/CMakeLists.txt);
# a version added later may come anywhere in the list, so the error message is compared with it.
for version in v7.2 v8.0.0 v8.1 v9.2 v10.0-dev v10.0 v10.2; do
    check "versions: $version is registered" 0 - "^$(printf '%s' "$version" | sed 's/\./\\./g') " \
        "$handoff" versions
done
check "versions: who else tests them" 0 - "impl/ policy: the property tests run it; conformance replays its traces on Debian 12's QEMU 7\.2\.22" \
    "$handoff" versions
names=$("$handoff" versions | awk '/^[^[:space:]]/ {print $1}' | paste -sd, | sed 's/,/, /g')
check "unknown version" 2 1 "unknown version 'v9' \(expected one of: $(printf '%s' "$names" | sed 's/\./\\./g')\)" \
    "$handoff" explore --version v9
check "invariants: where each applies, and why" 0 - "applies to: v7\.2, v8\.0\.0, v8\.1, v9\.2 \(where some row reads block_inactive\)" \
    "$handoff" invariants
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
check "unknown environment profile" 2 1 "unknown environment profile 'libvirt' \(expected documented or any\)" \
    "$handoff" check --version v8.1 --env libvirt
check "documented use keeps image locking on" 2 1 "--cap image-locking=off contradicts --env documented" \
    "$handoff" check --version v8.1 --cap image-locking=off
# The profiles are guards of rows: under documented use v10.2 never runs blockdev-set-active
# active=false on a running guest, so its one-step story of running-implies-active needs --env any.
check "documented use: no one-step story on v10.2" 1 - "VIOLATED \(4 steps\)" \
    "$handoff" check --version v10.2 --invariant running-implies-active
check "any use: the one-step story on v10.2" 1 - "VIOLATED \(1 steps\)" \
    "$handoff" check --version v10.2 --invariant running-implies-active --env any
check "check --engine ic3: a violation IC3 finds is one" 1 - \
    "VIOLATED \(6 steps\) +ic3 .*IC3 found a violation; shortest counterexample \(6 steps\)" \
    "$handoff" check --version v8.1 --invariant no-vm-start-while-inactive --engine ic3
check "check: a vacuous proof says so" 0 - \
    "proved .*vacuous: no node of the flat graph has a parent" \
    "$handoff" check --version v10.2 --invariant no-inactive-child-under-active-parent
# The block graph: a parent activated over its driverless backing node (domain reference 2.4).
check "check --graph chain: the invariant gets a story" 1 - \
    "VIOLATED \(9 steps\)" \
    "$handoff" check --graph chain --version v10.0 --invariant no-inactive-child-under-active-parent
# Before 10.0 no blockdev-set-active: with image locking, a protocol node needs the storage to
# activate and a failing inactivation is a qcow2 node's, so no parent activates over a broken
# backing node (with NBD it does: --env any).
check "check --graph chain: proved before 10.0 under documented use" 0 - \
    "no-inactive-child-under-active-parent +proved +ic3" \
    "$handoff" check --graph chain --version v8.1 --invariant no-inactive-child-under-active-parent
check "check --graph: unknown shape" 2 1 "unknown graph 'tree' \(expected flat, chain, shared-base or job\)" \
    "$handoff" check --graph tree --version v10.0
check "check --graph shared-base: the base under both disks gets a verdict" 1 - \
    "VIOLATED \(9 steps\)" \
    "$handoff" check --graph shared-base --version v10.0 --invariant no-inactive-child-under-active-parent
check "check --graph shared-base: always two disks" 2 1 \
    "--graph shared-base has two disks over one base, not 3" \
    "$handoff" check --graph shared-base --disks 3 --version v10.0
check "check --disks on the flat graph: a node a disk" 0 - "^instance: 1 node, " \
    "$handoff" check --disks 1 --version v10.2 --invariant no-inactive-child-under-active-parent
check "trace --graph chain: the nodes are named" 1 - \
    "^     nodes of each host \(chain graph\): 0 disk0 \(format\), 1 disk0\.file \(protocol, file of 0\)" \
    "$handoff" trace --graph chain --disks 1 --version v10.0 \
    --invariant no-inactive-child-under-active-parent
check "trace --graph chain: a failing node is named by its place" 1 - \
    "fail=node 2 \(disk0\.base\), broken=yes" \
    "$handoff" trace --graph chain --disks 1 --version v10.0 \
    --invariant no-inactive-child-under-active-parent
check "spec --graph chain: the graph's table" 0 - \
    "^\| 2 \| \`disk0\.base\` \| format \(qcow2\) \| backing child of 0 \(disk0\) \| 0 \| 2 \| 2 \|$" \
    "$handoff" spec --version v10.0 --graph chain
check "spec --graph job --format dot: the graph's cluster" 0 - \
    "^    graph_0 -> graph_1 \[label=\"filtered\"\];$" \
    "$handoff" spec --version v10.2 --graph job --format dot
check "spec --graph: unknown shape" 2 1 "unknown graph 'tree' \(expected flat, chain, shared-base or job\)" \
    "$handoff" spec --version v10.0 --graph tree
check "check --graph chain --nodes: the disks are counted" 2 1 \
    "with --graph chain give the number of disks with --disks" \
    "$handoff" check --graph chain --nodes 8 --version v10.0
# Progress on long work: a line on stderr on a terminal only (HANDOFF_PROGRESS=always stands in
# for the terminal here), never with --quiet, never in a pipe. The line goes out at once, so the
# explorations are of a small instance (16 states at depth 0, a violation in well under a second).
small_explore="--version v10.0 --nodes 1 --starts 0 --set-active-calls 0 --cap postcopy=off"
check "explore: silent in a pipe" 1 0 "states" "$handoff" explore $small_explore
check "explore: a progress line where stderr is a terminal" 1 1 \
    "explore v10\.0: [0-9,]+ states found, [0-9,]+ expanded, depth [0-9]+, [0-9,]+ states/s" \
    env HANDOFF_PROGRESS=always "$handoff" explore $small_explore
check "explore --quiet: no progress line" 1 0 "states" \
    env HANDOFF_PROGRESS=always "$handoff" explore --quiet $small_explore
check "check: silent in a pipe" 1 0 "VIOLATED" "$handoff" check --version v10.0 --nodes 1
check "check: a progress line where stderr is a terminal" 1 1 \
    "check: [0-9]+ of [0-9]+ cells decided, [0-9]+ s; deciding v10\.0" \
    env HANDOFF_PROGRESS=always "$handoff" check --version v10.0 --nodes 1
check "prove: the profile on the progress line" 1 1 \
    "prove: [0-9]+ of [0-9]+ cells decided, [0-9]+ s; deciding v10\.0 \((documented|any) use\)" \
    env HANDOFF_PROGRESS=always "$handoff" prove --version v10.0 --nodes 1
check "prove --quiet: no progress line" 1 0 "violated" \
    env HANDOFF_PROGRESS=always "$handoff" prove --quiet --version v10.0 --nodes 1
conformance=$(dirname "$0")/../../conformance/traces
check "conformance-report: a graph folder goes with its version's" 2 1 \
    "--graph-traces .*v10\.0-chain: no --traces folder whose name v10\.0-chain begins with" \
    "$handoff" conformance-report --traces "$conformance/v7.2" --graph-traces "$conformance/v10.0-chain"
manifest=$(dirname "$0")/../../proofs/expected.json
# A violated cell names its story by a letter; the story line tells the failure, where the guest
# was started and what happened then.
check "prove: the cell names its story" 1 - "^no-vm-start-while-inactive +VIOL 6 a +$" \
    "$handoff" prove --version v8.0.0 --invariant no-vm-start-while-inactive
check "prove: the story line" 1 - \
    "^  a storage_lost; qmp_cont\(\) on the destination: bdrv_activate_all\(\) fails .* > loadvm_postcopy_handle_run_bh\(\) on the destination: vm_start\(\) runs$" \
    "$handoff" prove --version v8.0.0 --invariant no-vm-start-while-inactive
check "prove: a crash story names QEMU's assertion" 1 - \
    "^  a save_snapshot\(\) on the destination aborts: assert\(!\(bs->open_flags & BDRV_O_INACTIVE\)\)$" \
    "$handoff" prove --version v8.1 --invariant no-write-to-inactive
check "prove --expect: the shipped manifest" 0 - "Every verdict \([0-9]+\) is the one" \
    "$handoff" prove --version v8.1 --expect "$manifest"
check "prove: both profiles, one screen" 0 - "with misuse \(any use\) +VIOL 1" \
    "$handoff" prove --version v10.2 --invariant single-owner --expect "$manifest"
jq '(.results[] | select(.version == "v8.1" and .invariant == "single-owner"
                         and .env == "documented") | .steps) = 99' "$manifest" > /tmp/handoff_manifest.$$
check "prove --expect: a verdict differs" 1 - \
    "v8.1 / single-owner \(documented use\): violated \(6 steps\) now, violated \(99 steps\) expected" \
    "$handoff" prove --version v8.1 --expect /tmp/handoff_manifest.$$
rm -f /tmp/handoff_manifest.$$
check "prove --expect: unreadable manifest" 2 1 "--expect: cannot read /nonexistent.json" \
    "$handoff" prove --version v8.1 --expect /nonexistent.json
check "replay names the trace's profile" 0 - "on v10.2 \(2 nodes, 1 process start, every capability combination, any use\)" \
    "$handoff" replay "$(dirname "$0")/../../proofs/traces/v10.2/any/single-owner.json"
check "prove --help: exit codes" 0 - "Exit codes: 0 every verdict proved" "$handoff" prove --help
check "unknown spec format" 2 1 "unknown format 'pdf'" "$handoff" spec --version v8.1 --format pdf
check "no subcommand" 2 1 "subcommand" "$handoff"
check "diff needs two versions" 2 1 "" "$handoff" diff v8.1
check "diff" 0 - "changed row migration_completion_save" "$handoff" diff v8.0.0 v8.1
check "spec dot" 0 - "^digraph" "$handoff" spec --version v10.2 --format dot
# The seed on v8.0.0 with every capability off: a violation is exit code 1.
check "explore finds the seed" 1 - "migration_completion_fail .*\"|no-vm-start-while-inactive +violated" \
    "$handoff" explore --version v8.0.0 --nodes 1 --invariant no-vm-start-while-inactive \
    --cap late-block-activate=off --cap pause-before-switchover=off --cap postcopy=off \
    --cap autostart=on --cap image-locking=off --env any
check "explore json" 1 - "\"verdict\": \"violated\"" \
    "$handoff" explore --version v8.0.0 --nodes 1 --invariant no-vm-start-while-inactive --json \
    --cap late-block-activate=off --cap pause-before-switchover=off --cap postcopy=off \
    --cap autostart=on --cap image-locking=off --env any
check "explore holds" 0 - "valid-runstate-transitions +holds +for this instance" \
    "$handoff" explore --version v9.2 --nodes 1 --invariant valid-runstate-transitions \
    --cap late-block-activate=off --cap pause-before-switchover=off --cap postcopy=off \
    --cap autostart=on --cap image-locking=on --starts 0
# The compiled table and the threads change nothing but the time: the same states, numbering,
# counts and traces (recoverable included) as one thread with the general evaluator.
explore_json() {
    "$handoff" explore --version v10.0 --nodes 1 --cap postcopy=off --cap image-locking=on \
        --json "$@" | jq -S 'del(.seconds) | .results |= map(del(.seconds))'
}
by_ast=$(explore_json --jobs 1 --evaluator ast)
check "explore --jobs 2: what one thread with --evaluator ast finds" 0 - "^same$" \
    bash -c '[ -n "$1" ] && [ "$1" = "$2" ] && echo same' - "$by_ast" "$(explore_json --jobs 2)"
check "explore --jobs 1: the same" 0 - "^same$" \
    bash -c '[ -n "$1" ] && [ "$1" = "$2" ] && echo same' - "$by_ast" "$(explore_json --jobs 1)"
check "explore --evaluator: ast or compiled" 2 1 "--evaluator: foo not in \{compiled,ast\}" \
    "$handoff" explore --version v10.0 --evaluator foo
check "explore --jobs 0" 2 1 "--jobs" "$handoff" explore --version v10.0 --jobs 0
# trace, replay, export, coverage (see the README). The seed at N = 1 with every capability fixed
# is found in well under a second.
seed=(--version v8.0.0 --invariant no-vm-start-while-inactive --nodes 1
    --cap late-block-activate=off --cap pause-before-switchover=off --cap postcopy=off
    --cap autostart=on --cap image-locking=off --env any)
tmp=$(mktemp -d)
for cmd in trace replay export coverage; do
    check "$cmd --help" 0 - "Exit codes:" "$handoff" "$cmd" --help
done
check "trace finds the seed" 1 - "^ +6\. migration_completion_fail " "$handoff" trace "${seed[@]}"
check "trace --json --out" 1 0 "" "$handoff" trace "${seed[@]}" --json --out "$tmp/seed.json"
# The story (model/src/story.cpp): the headline first, the unchanged variables that explain a step
# (step 5 computes block_inactive || inactivation_ok(h) and leaves it false), hosts by role, the
# spec page and the legend at the end, and QEMU's own message at a crash.
step_lines() { # file, step number: that step's lines of a printed story
    awk -v k="$2" '$0 ~ "^ +" k "\\. " {s = 1; print; next} s && /^ +[0-9]+\. |^Spec: / {s = 0} s' "$1"
}
"$handoff" trace "${seed[@]}" > "$tmp/seed.txt"
check "story: the headline comes first" 0 - "^Headline: Step 1: the shared storage" \
    sed -n 2p "$tmp/seed.txt"
check "story: block_inactive stays false at step 5" 0 - \
    "^ +block_inactive\[0\] = false \(unchanged; assigned block_inactive\[h\] \|\| inactivation_ok\(h\)" \
    step_lines "$tmp/seed.txt" 5
check "story: the guard reads what step 5 set" 0 - \
    "^ +vm_was_running\[0\] = true \(unchanged since step 5; read by the guard\)" \
    step_lines "$tmp/seed.txt" 7
check "story: hosts by role" 0 - "^ +7\. migration_iteration_finish_resume \(h=host 0 \(source\)\)" \
    cat "$tmp/seed.txt"
check "story: the spec page and the legend" 0 - \
    "^Spec: docs/spec/v8_0_0\.md .*abbreviations: handoff legend --version v8\.0\.0$" \
    tail -n 1 "$tmp/seed.txt"
check "story: the headline in the JSON trace" 0 - \
    "^Step 5, migration_completion\(\) on host 0 \(source\): bdrv_inactivate_all\(\) fails at node 0 .*Step 7, migration_iteration_finish\(\) on host 0 \(source\): vm_start\(\) runs while node\[0\]\[0\] = HALF_INACTIVE" \
    bash -c "jq -r .headline '$tmp/seed.json' | sed 's/^Step 1: [^.]*\. //'"
check "story: a crash prints QEMU's assertion" 1 - \
    "^ +QEMU aborts: qemu-system-x86_64: \.\./\.\./block\.c:6681: bdrv_inactivate_recurse: Assertion \`!\(bs->open_flags & BDRV_O_INACTIVE\)' failed\.$" \
    "$handoff" trace --version v7.2 --invariant no-double-inactivate --nodes 1
check "story: an unread line says so" 1 - "^ +\(the line was not read: no source or binary of 8\.1\.0's system/runstate\.c" \
    "$handoff" trace --version v8.1 --invariant valid-runstate-transitions --nodes 1
check "legend" 0 - "^  refail +the first node whose re-activation fails" "$handoff" legend
check "legend: values" 0 - "^  HALF_INACTIVE +half-inactivated" "$handoff" legend
check "legend --version: the rows" 0 - "^  migration_completion_fail +\`if \(ret < 0\) goto fail\`" \
    "$handoff" legend --version v8.0.0
check "legend: unknown version" 2 1 "unknown version 'v9'" "$handoff" legend --version v9
check "replay the seed" 0 - "reaches the violation: the last state violates no-vm-start-while-inactive" \
    "$handoff" replay "$tmp/seed.json"
check "replay names the trace's instance" 0 - "autostart=on, image-locking=off, any use\)" \
    "$handoff" replay "$tmp/seed.json"
# No real QEMU models v8.0.0 on this machine: refused before anything starts.
check "replay-qemu: no binary for the version" 2 1 "no real QEMU for v8.0.0 on this machine" \
    "$handoff" replay-qemu "$tmp/seed.json"
check "replay: another claim" 1 - "NO VIOLATION.*satisfies single-owner" \
    "$handoff" replay "$tmp/seed.json" --invariant single-owner
"$handoff" explore "${seed[@]}" --json 2>/dev/null | jq '.results[0].trace' > "$tmp/explored.json"
check "explore --json writes a replayable trace" 0 - \
    "reaches the violation: the last state violates no-vm-start-while-inactive" \
    "$handoff" replay "$tmp/explored.json"
check "trace --fork" 1 - "another shortest counterexample of 7 steps, the same as the first before step 1" \
    "$handoff" trace "${seed[@]}" --fork 1
check "trace --fork: none" 1 - "--fork 7: there is none" "$handoff" trace "${seed[@]}" --fork 7
check "trace --fork past the end" 2 1 "--fork must be between 1 and 7" \
    "$handoff" trace "${seed[@]}" --fork 8
check "trace: no counterexample" 3 - "no counterexample \(bmc bounded: no violation up to depth 4\)" \
    "$handoff" trace "${seed[@]}" --depth 4
check "trace: holds for the instance" 0 - "no counterexample \(explicit proved: for this instance" \
    "$handoff" trace --version v9.2 --invariant valid-runstate-transitions --nodes 1 --engine explicit \
    --cap late-block-activate=off --cap pause-before-switchover=off --cap postcopy=off \
    --cap autostart=on --cap image-locking=on --starts 0
check "trace: unknown version" 2 1 "unknown version 'v9'" \
    "$handoff" trace --version v9 --invariant no-vm-start-while-inactive
check "trace: unknown invariant" 2 1 "unknown invariant 'no-such'" \
    "$handoff" trace --version v8.1 --invariant no-such
check "trace: zero nodes" 2 1 "--nodes must be between 1 and 16, not 0" \
    "$handoff" trace --version v8.1 --invariant no-vm-start-while-inactive --nodes 0
check "trace: negative depth" 2 1 "--depth must not be negative" \
    "$handoff" trace --version v8.1 --invariant no-vm-start-while-inactive --depth -1
check "trace: unknown engine" 2 1 "unknown engine 'pdr'" \
    "$handoff" trace --version v8.1 --invariant no-vm-start-while-inactive --engine pdr
check "trace: unwritable --out" 2 1 "cannot write '/nonexistent/x.json'" \
    "$handoff" trace "${seed[@]}" --out /nonexistent/x.json
check "replay: unreadable file" 2 1 "cannot read '$tmp/missing.json'" "$handoff" replay "$tmp/missing.json"
printf '{"version": ' > "$tmp/broken.json"
check "replay: not JSON" 2 1 "not a JSON trace" "$handoff" replay "$tmp/broken.json"
sed 's/"row": "storage_lost"/"row": "no_such_row"/' "$tmp/seed.json" > "$tmp/row.json"
check "replay: unknown row" 2 1 "step 1: unknown row 'no_such_row'" "$handoff" replay "$tmp/row.json"
sed 's/"half": 1/"half": 7/' "$tmp/seed.json" > "$tmp/param.json"
check "replay: bad parameter" 2 1 "step 5: parameter half = 7 is out of range" \
    "$handoff" replay "$tmp/param.json"
jq '.headline = 7' "$tmp/seed.json" > "$tmp/headline.json"
check "replay: a headline that is not text" 2 1 "\"headline\" must be a string, not 7" \
    "$handoff" replay "$tmp/headline.json"
jq 'del(.headline)' "$tmp/seed.json" > "$tmp/no_headline.json"
check "replay: a file without a headline" 0 - "reaches the violation" \
    "$handoff" replay "$tmp/no_headline.json"
sed 's/"version": "v8.0.0"/"version": "v7"/' "$tmp/seed.json" > "$tmp/version.json"
check "replay: unknown version" 2 1 "unknown version 'v7'" "$handoff" replay "$tmp/version.json"
sed 's/"started_inactive\[0\]": "true"/"started_inactive[0]": "false"/' "$tmp/seed.json" > "$tmp/state.json"
check "replay: state the interpreter does not reach" 2 1 "step 7 .* leads elsewhere in the interpreter" \
    "$handoff" replay "$tmp/state.json"
# replay --on-version: does the fix close it? The seed (a half-inactivated node) on v8.1: the 2023
# fix sets s->block_inactive before the attempt (403d18ae) and its fail: label re-activates
# (6dab4c93), so the guest never starts with an inactive node.
check "on-version: the 2023 fix stops the seed" 0 - \
    "^v8.1 stops the story at step 5 \(migration_completion_save\): takes another course: block_inactive\[0\] = true \(v8.0.0: false\)" \
    "$handoff" replay --on-version v8.1 "$tmp/seed.json"
check "on-version: where its fail: label acts" 0 - \
    "^  6\. migration_completion_fail \(h=host 0\) -- takes another course: node\[0\]\[0\] = ACTIVE \(v8.0.0: HALF_INACTIVE\)" \
    "$handoff" replay --on-version v8.1 "$tmp/seed.json"
check "on-version --json" 0 - "\"first_departure\": 5," \
    "$handoff" replay --on-version v8.1 --json "$tmp/seed.json"
out=$("$handoff" replay --on-version v8.0.0 "$tmp/seed.json"); rc=$?
steps=$(printf '%s\n' "$out" | grep -cE '^  [1-9][0-9]*\. ')
same=$(printf '%s\n' "$out" | grep -cE '^  [1-9][0-9]*\. .* -- same course')
if [ "$rc" -eq 1 ] && [ "$steps" -eq 7 ] && [ "$same" -eq 7 ] &&
    printf '%s\n' "$out" | grep -q "still reaches no-vm-start-while-inactive on v8.0.0 at step 7"; then
    echo "ok   on-version: a trace onto its own version"
else
    echo "FAIL on-version: a trace onto its own version (exit $rc, $same of $steps steps the same)"
    failures=$((failures + 1))
fi
# With the storage still gone, v8.1's re-activation fails too (`fail` none is impossible), and
# migration_iteration_finish() still starts the guest: the story goes on and still violates.
"$handoff" trace --version v8.0.0 --invariant no-vm-start-while-inactive --cap postcopy=off \
    --cap late-block-activate=off --cap pause-before-switchover=off --cap image-locking=off --env any \
    --cap autostart=off --json --out "$tmp/storage_gone.json" 2>/dev/null
check "on-version: still violates" 1 - \
    "v8.1 takes the step only with fail=node 0, broken=no.*|the story still reaches no-vm-start-while-inactive on v8.1 at step 7" \
    "$handoff" replay --on-version v8.1 "$tmp/storage_gone.json"
# Peter Xu's global flag (10.0-dev) stays "active" after the failed inactivation, so the
# re-activation before vm_start() is skipped.
check "on-version: a version where the seed still violates" 1 - \
    "^the story still reaches no-vm-start-while-inactive on v10.0-dev at step 7" \
    "$handoff" replay --on-version v10.0-dev "$tmp/seed.json"
check "on-version: bad version" 2 1 "unknown version 'v9'" \
    "$handoff" replay --on-version v9 "$tmp/seed.json"
check "on-version: invariant that does not apply" 2 1 "invariant 'no-double-inactivate' does not apply to v10.2" \
    "$handoff" replay --on-version v10.2 --invariant no-double-inactivate "$tmp/seed.json"
check "replay --json without --on-version" 2 1 "--json goes with --on-version" \
    "$handoff" replay --json "$tmp/seed.json"
mkdir -p "$tmp/stored/v8.0.0"
cp "$tmp/seed.json" "$tmp/stored/v8.0.0/no-vm-start-while-inactive.json"
check "diff --traces" 0 - "no-vm-start-while-inactive.json at step 5: takes another course: block_inactive" \
    "$handoff" diff v8.0.0 v8.1 --traces "$tmp/stored"
check "diff --traces: no such folder" 2 1 "cannot read '/nonexistent/v8.0.0'" \
    "$handoff" diff v8.0.0 v8.1 --traces /nonexistent
check "export smt2" 0 - "^\(check-sat\)" "$handoff" export --version v8.1 --nodes 1 --depth 2
check "export induction" 0 - "^\(set-logic QF_UF\)" \
    "$handoff" export --version v10.2 --invariant no-vm-start-while-inactive --query induction
check "export: bad format" 2 1 "unknown format 'pdf'" "$handoff" export --version v8.1 --format pdf
check "export: negative depth" 2 1 "--depth must not be negative" \
    "$handoff" export --version v8.1 --depth -3
check "export: unknown query" 2 1 "unknown query 'pdr'" "$handoff" export --version v8.1 --query pdr
check "export: graph property" 2 1 "recoverable is a graph property" \
    "$handoff" export --version v8.1 --invariant recoverable
check "export: zero nodes" 2 1 "--nodes must be between 1 and 16, not 0" \
    "$handoff" export --version v8.1 --nodes 0
check "coverage" 1 - "postcopy_start_ok \(host 0\)" "$handoff" coverage "${seed[@]:0:2}" \
    "${seed[@]:4}"
check "coverage json" 1 - "\"premise_reachable\": true" "$handoff" coverage --json "${seed[@]:0:2}" \
    "${seed[@]:4}"
check "coverage: unknown version" 2 1 "unknown version 'v9'" "$handoff" coverage --version v9
check "coverage: zero nodes" 2 1 "--nodes must be between 1 and 16, not 0" \
    "$handoff" coverage --version v8.1 --nodes 0
rm -rf "$tmp"
# --controllable: only traces the conformance harness drives (conformance/src/controls.cpp). At
# N = 1 the shortest v7.2 trace of no-vm-start-while-inactive goes through postcopy (6 steps); the
# harness's takes 8. A bound is "none within K", exit code 3, never a proof.
ctl=(--version v7.2 --nodes 1 --invariant no-vm-start-while-inactive --env any)
tmp=$(mktemp -d)
check "trace --controllable" 1 - "a shortest controllable counterexample of 8 steps" \
    "$handoff" trace "${ctl[@]}" --controllable
check "trace --controllable --json" 1 0 "" \
    "$handoff" trace "${ctl[@]}" --controllable --json --out "$tmp/ctl.json"
check "a controllable trace says so and replays" 0 - "reaches the violation" \
    bash -c "jq -e '.controllable | test(\"conformance harness\")' '$tmp/ctl.json' >/dev/null &&
             '$handoff' replay '$tmp/ctl.json'"
check "trace --controllable: none within a small depth" 3 - \
    "no controllable counterexample within depth 5" \
    "$handoff" trace "${ctl[@]}" --controllable --depth 5
check "check --controllable: none within a small depth" 3 - \
    "no-double-inactivate +none within 5 +bmc .*no controllable counterexample within depth 5" \
    "$handoff" check --version v7.2 --nodes 1 --invariant no-double-inactivate --controllable \
    --depth 5
check "check --controllable --json" 1 - '"controllable": "the steps the conformance harness' \
    "$handoff" check "${ctl[@]}" --controllable --json
check "check --controllable --json: the result says so" 0 - "^true$" \
    bash -c "'$handoff' check ${ctl[*]} --controllable --json | jq '.controllable'"
rm -rf "$tmp"
check "check --controllable: a version without controls" 2 1 \
    "--controllable: the conformance harness has no controls for v8.1 \(only for v7.2, v10.0" \
    "$handoff" check --version v8.1 --controllable
check "trace --controllable: a version without controls" 2 1 "no controls for v8.0.0" \
    "$handoff" trace "${seed[@]}" --controllable
check "check --controllable: a proving engine" 2 1 "--engine pdr does not take the harness" \
    "$handoff" check "${ctl[@]}" --controllable --engine pdr
check "check --controllable --partial-order" 2 1 "--partial-order cannot be combined" \
    "$handoff" check "${ctl[@]}" --controllable --partial-order
check "trace --controllable --fork" 2 1 "--fork cannot be combined with --controllable" \
    "$handoff" trace "${ctl[@]}" --controllable --fork 1
check "trace --controllable --engine explicit" 2 1 "not --engine explicit" \
    "$handoff" trace "${ctl[@]}" --controllable --engine explicit
# --without-row: the shortest trace that never takes the named rows (here the one that
# inactivates every node at once, so the trace inactivates one node by name).
check "check --without-row: the node-by-node row instead" 1 - \
    "^  1\. blockdev_set_inactive_node \(h=host 0 \(source\), target=node 0" \
    "$handoff" check --version v10.0 --env any --invariant running-implies-active \
    --without-row blockdev_set_inactive_all
check "check --without-row --json: the restriction is named" 0 - \
    "^\"every step but blockdev_set_inactive_all\"$" \
    bash -c "'$handoff' check --version v10.0 --env any --invariant running-implies-active \
             --without-row blockdev_set_inactive_all --json | jq '.results[0].trace.restriction'"
check "check --without-row: an unknown row" 2 1 \
    "--without-row: no version checked has a row 'qmp_nosuch'" \
    "$handoff" check --version v10.0 --without-row qmp_nosuch
check "check --without-row: a proving engine" 2 1 \
    "--without-row searches with BMC .*--engine kind does not search a restriction" \
    "$handoff" check --version v10.0 --without-row qmp_cont --engine kind
check "controls" 0 - "^\| qmp_cont \| harness \| QMP cont \| qemu_stops\(\) && activation_forceable\(h\) \|" \
    "$handoff" controls --version v7.2
check "controls: a version without them" 2 1 "no controls for v9.2" \
    "$handoff" controls --version v9.2
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
echo '{"results": [{"trace": {}}, {"trace": {}}]}' > "$tmp_trace"
check "replay-qemu: a check output with two traces" 2 1 "holds 2 traces, not one" \
    "$handoff" replay-qemu "$tmp_trace"
check "replay-qemu --help" 0 - "--qemu" "$handoff" replay-qemu --help
check "replay-qemu --help: the transcript" 0 - "--transcript +After the verdict, print" \
    "$handoff" replay-qemu --help
check "replay-qemu --qemu without QEMU" 2 1 \
    "--qemu /nonexistent: no executable qemu-system-x86_64 there" \
    "$handoff" replay-qemu --qemu /nonexistent "$tmp_trace"
rm -f "$tmp_trace"
rm -f /tmp/handoff_cli_err.$$
echo "$failures failed"
[ "$failures" -eq 0 ]
