#!/usr/bin/env bash
# handoff mutate: known-bad mutants of v8.1 (the 2023 fix) are killed, each by what should notice
# it; a small seeded sample runs and its counts add up; mutant ids are unique; bad input is one
# line and exit code 2. Usage: mutate_test.sh path/to/handoff SOURCE_DIR (run from SOURCE_DIR: the
# manifest, the stored traces and the equivalences are read from there).
set -uo pipefail
handoff=$1
cd "$2" || exit 2
. cli/tests/check.sh
json=/tmp/handoff_mutate_$$.json
trap 'rm -f "$json"' EXIT

# status MUTANT_ID: "status by reason" from the last run's JSON.
status() { jq -r --arg id "$1" '.results[] | select(.id == $id) | "\(.status) \(.by): \(.reason)"' "$json"; }
expect() { # name, mutant id, regex on "status by: reason"
    local got
    got=$(status "$2")
    if printf '%s' "$got" | grep -E -- "$3" >/dev/null; then
        echo "ok   $1"
    else
        echo "FAIL $1: $2 is \"$got\", expected /$3/"; failures=$((failures + 1))
    fi
}

# The checker alone (no oracle), under documented use. 403d18ae set s->block_inactive before the
# inactivation attempt: without it, the double inactivation takes one step less. a4c6275a starts
# the guest again after a failed migration only if it was running (vm_old_state): without that
# conjunct, the guest starts with inactive disks one step sooner.
"$handoff" mutate --version v8.1 --env documented --oracle-cases 0 --json \
    --only v8.1/migration_completion_save/effect-drop/4 \
    --only v8.1/migration_iteration_finish_resume/guard-drop/3 >"$json" 2>/dev/null
expect "checker kills 403d18ae dropped" v8.1/migration_completion_save/effect-drop/4 \
    "^killed checker, documented use: no-double-inactivate: violated \(11 steps\) now, violated \(12 steps\) expected"
expect "checker kills a4c6275a's guard conjunct dropped" v8.1/migration_iteration_finish_resume/guard-drop/3 \
    "^killed checker, documented use: no-vm-start-while-inactive: violated \(5 steps\) now, violated \(6 steps\) expected"

# The oracle: 6dab4c93's re-activation on the fail label dropped changes no verdict or stored
# counterexample (every invariant it touches is violated sooner another way), but impl/ does
# re-activate, and the oracle sees it.
"$handoff" mutate --version v8.1 --env documented --oracle-cases 200 --json \
    --only v8.1/migration_completion_fail/effect-drop/2 >"$json" 2>/dev/null
expect "oracle kills 6dab4c93's re-activation dropped" v8.1/migration_completion_fail/effect-drop/2 \
    "^killed oracle: implementation did .*model allows only"
# The oracle explains a command by the model's return_path_error or incoming_load_error only where
# impl/ met that error: a flush failure that leaves the thread waiting at COMPLETION_SAVED (only a
# return-path error would end the wait) and a destination that may fail to load only on host 0
# (load errors of host 1 could pass for its own fault) are both seen.
"$handoff" mutate --version v8.1 --env documented --oracle-cases 1000 --json \
    --only v8.1/migration_completion_flush_fails/value/4=COMPLETION_SAVED \
    --only v8.1/incoming_load_fails/force/h=0 >"$json" 2>/dev/null
expect "oracle: no return-path error impl/ did not have" \
    v8.1/migration_completion_flush_fails/value/4=COMPLETION_SAVED \
    "^killed oracle: implementation did \"host 0: migration thread step"
expect "oracle: no load error impl/ did not have" v8.1/incoming_load_fails/force/h=0 \
    "^killed oracle: implementation did \"host 1: incoming_co\" \(error: load of migration failed"
# On a terminal (HANDOFF_PROGRESS=always stands in for one), a progress line names the phase.
check "mutate: a progress line on a terminal" 0 - "mutate v8\.1: the oracle, mutant 1 of 1 \(0 killed\)" \
    env HANDOFF_PROGRESS=always "$handoff" mutate --version v8.1 --env documented \
    --oracle-cases 200 --only v8.1/migration_completion_fail/effect-drop/2
"$handoff" mutate --version v8.1 --env documented --oracle-cases 0 --json \
    --only v8.1/migration_completion_fail/effect-drop/2 >"$json" 2>/dev/null
expect "without the oracle it survives" v8.1/migration_completion_fail/effect-drop/2 "^survived"
# Where the runstate transitions are proved (v7.2), IC3 on a mutant starts from the lemmas of the
# table's own proof (Houdini keeps those the mutant preserves): completing a migration on host 0
# only leaves that proof standing, and the mutant's is certified, so it survives the checker.
"$handoff" mutate --version v7.2 --env documented --oracle-cases 0 --json \
    --only v7.2/migration_completion_done/force/h=0 >"$json" 2>/dev/null
expect "a runstate proof from the table's lemmas" v7.2/migration_completion_done/force/h=0 "^survived"

# The reachable states (--equivalence), under documented use (about 2.3 million states): the
# directed replay kills a mutant that refuses a step impl/ takes (qmp_migrate only from host 0),
# one whose difference impl/ shows only a step later (qmp_migrate_continue only from host 0: the
# migration then waits), and one that takes a step impl/ does not (qmp_migrate on the
# destination); dropping a guard conjunct the others imply changes no step, dropping
# storage_lost's `storage_ok` only adds a step from a state to itself, and without
# `file_error[h] := true` migration_stream_error leads elsewhere, but only in what impl/ does not
# show until the two meet again (the lockstep): all three are equivalent, as is a fourth below.
"$handoff" mutate --version v8.1 --env documented --oracle-cases 0 --equivalence --json \
    --only v8.1/qmp_migrate/force/h=0 --only v8.1/qmp_migrate_continue/force/h=0 \
    --only v8.1/qmp_migrate/guard-drop/3 --only v8.1/qmp_migrate/guard-drop/0 \
    --only v8.1/storage_lost/guard-drop/0 --only v8.1/migration_stream_error/effect-drop/0 \
    --only v8.1/migration_completion_save/value/11=COMPLETION_SAVED \
    --only v8.1/migration_completion_flush_fails/force/h=0 \
    --only v8.1/return_path_error/force/h=0 \
    --only v8.1/migration_completion_not_active/value/1=SETUP \
    --only v8.1/migration_stream_error/value/1=CANCELLING \
    --only v8.1/migration_iteration_finish_stopped/swap/1 >"$json" 2>/dev/null
expect "directed replay: impl/ takes a step the mutant refuses" v8.1/qmp_migrate/force/h=0 \
    "^killed directed replay, documented use: impl/ takes \`qmp_migrate h=1\` after a path of 8 steps, which the mutant does not allow: .*model allows only"
expect "directed replay: a later step tells them apart" v8.1/qmp_migrate_continue/force/h=0 \
    "^killed directed replay, documented use: impl/ takes \`qmp_migrate_continue h=1\`, \`migration_switchover_resume"
expect "directed replay: the mutant's step is not impl/'s" v8.1/qmp_migrate/guard-drop/3 \
    "^killed directed replay, documented use: the mutant's \`qmp_migrate h=1\` after a path of 9 steps is not one impl/ takes"
expect "computed equivalence: a conjunct the others imply" v8.1/qmp_migrate/guard-drop/0 \
    "^equivalent : computed: .* the row takes the same steps to the same states$"
expect "computed equivalence: a step to the same state" v8.1/storage_lost/guard-drop/0 \
    "^equivalent : computed: .* the same states follow under the mutant as under the table"
expect "computed equivalence: apart only in what impl/ does not show" \
    v8.1/migration_stream_error/effect-drop/0 \
    "^equivalent : computed: where the row leads elsewhere .* followed in lockstep .* weakly bisimilar"
# A flush fails only on a disk written since its last flush, and the model keeps no write
# generation: its shortest path never writes, so impl/'s disks on host 1 stay clean and the table's
# flush failure there cannot be replayed; with the guest's writes added to the path it can, and
# the mutant that fails flushes only on host 0 is seen.
expect "directed replay: the guest's writes make a flush failure replayable" \
    v8.1/migration_completion_flush_fails/force/h=0 \
    "^killed directed replay, documented use: impl/ takes \`migration_completion_flush_fails h=1\` after a path of [0-9]+ steps, which the mutant does not allow"
# A return-path error ends the source's wait for the destination at once (the harness no longer
# holds the thread there until the destination loaded): the mutant that lets the return path fail
# only on host 0 cannot explain host 1's completion failing before the destination loaded.
expect "directed replay: a return-path error fails the completion before the load" \
    v8.1/return_path_error/force/h=0 \
    "^killed directed replay, documented use: impl/ takes \`return_path_error h=1\`, \`migration_completion_checks_fail"
# The shortest path to a thread ITERATING in CANCELLING cancels before the thread's setup, after
# which QEMU's thread (and impl/'s) never iterates; with the cancel and the setup taken the other
# way round (the same state), impl/ completes into the cancel, and the mutant's thread, sent back
# to SETUP, is not where impl/'s goes.
expect "directed replay: another order of the path's steps" \
    v8.1/migration_completion_not_active/value/1=SETUP \
    "^killed directed replay, documented use: the mutant's \`migration_completion_not_active h=0\` after a path of 3 steps is not one impl/ takes"
# A stream error that moves the state to CANCELLING ends where a cancel would (the table reaches
# that state by qmp_migrate_cancel), but its command to impl/ is the dropped connection, after
# which QEMU's state is FAILED: the mutant's step is still not one impl/ takes.
expect "directed replay: the mutant's step ends where another kind of step would" \
    v8.1/migration_stream_error/value/1=CANCELLING \
    "^killed directed replay, documented use: the mutant's \`migration_stream_error h=0\` after a path of 2 steps is not one impl/ takes: .*connection_drop"
# pc := COMPLETION_SAVED after a failed inactivation: the stream's error fails the checks, so the
# mutant's thread takes the `fail:` label by migration_completion_checks_fail where the table's
# takes it by migration_completion_fail: one thread step to impl/, to the same state.
expect "computed equivalence: another row of the thread to the same state" \
    v8.1/migration_completion_save/value/11=COMPLETION_SAVED \
    "^equivalent : computed: where the row leads elsewhere .* by another row of the same host's migration thread"
# The assertion after the assignment (runstate_set(s->vm_old_state) after a failed postcopy, whose
# vm_old_state is still -1): both abort the same way, and only the crashed run's runstate differs,
# which impl/ does not show of a crashed run (nor does anything read it: a crash ends the run).
expect "computed equivalence: apart only in what a crashed run leaves behind" \
    v8.1/migration_iteration_finish_stopped/swap/1 \
    "^equivalent : computed: where the row leads elsewhere .*of a crashed run, all but the crash and its host"

# The `fail:` label sending the thread back to ITERATING: where it leaves the loop at once, the
# mutant only lags one thread step behind the table (the lockstep lets the lagging side catch up
# within one impl/ command, and passes over the many states where they part only so); after a
# cancel during the completion (under any use, the first profile to reach it), the mutant's
# thread re-enters migration_completion() and can end FAILED, where impl/'s (and QEMU's) ends
# CANCELLED.
"$handoff" mutate --version v8.1 --env any --oracle-cases 0 --equivalence --json \
    --only 'v8.1/migration_completion_fail/value/10=ITERATING' >"$json" 2>/dev/null
expect "directed replay: the thread sent back into the loop ends FAILED after a cancel" \
    v8.1/migration_completion_fail/value/10=ITERATING \
    "^killed directed replay, any use: the mutant's \`migration_completion_fail .*\`, \`migration_completion_not_active h=0\` after a path of [0-9]+ steps are not one impl/ takes: .*mig\[0\]=CANCELLED"

# The equivalences file: a listed survivor counts as equivalent with its reason; a listed mutant
# that is killed is reported as a stale entry, not as equivalent. With --equivalence, nothing is
# left for the reachable states then (every survivor is listed), and nothing is explored.
eqfile=/tmp/handoff_mutate_eq_$$.tsv
printf '# a comment\nv8.1/migration_completion_fail/effect-drop/2\tbecause the test says so\nv8.1/migration_iteration_finish_resume/guard-drop/3\twrongly listed\n' >"$eqfile"
"$handoff" mutate --version v8.1 --env documented --oracle-cases 0 --equivalence --json \
    --equivalences "$eqfile" \
    --only v8.1/migration_completion_fail/effect-drop/2 \
    --only v8.1/migration_iteration_finish_resume/guard-drop/3 >"$json" 2>/dev/null
rm -f "$eqfile"
expect "equivalences file: a listed survivor" v8.1/migration_completion_fail/effect-drop/2 \
    "^equivalent : because the test says so$"
expect "equivalences file: a listed mutant that is killed stays killed" \
    v8.1/migration_iteration_finish_resume/guard-drop/3 "^killed checker"
if jq -e '.equivalent == 1 and .stale_equivalences == ["v8.1/migration_iteration_finish_resume/guard-drop/3"]' \
    "$json" >/dev/null; then echo "ok   equivalences file: the stale entry is reported"; else
    echo "FAIL equivalences file: $(jq -c '{equivalent, stale_equivalences}' "$json")"
    failures=$((failures + 1)); fi

# A seeded sample: the counts add up, and the exit code says whether some mutant survived.
"$handoff" mutate --version v8.1 --env documented --sample 6 --seed 7 --oracle-cases 100 --json \
    >"$json" 2>/dev/null
rc=$?
want_rc=$(jq -r 'if .survived > 0 then 1 else 0 end' "$json")
if jq -e '.mutants == 6 and (.results | length) == 6 and
          .killed + .equivalent + .survived == .mutants and
          (.command | test("--sample 6 --seed 7"))' "$json" >/dev/null && [ "$rc" = "$want_rc" ]; then
    echo "ok   seeded sample: $(jq -c '{killed, equivalent, survived}' "$json")"
else
    echo "FAIL seeded sample (exit $rc): $(jq -c '{mutants, killed, equivalent, survived}' "$json")"
    failures=$((failures + 1))
fi

# The ids are the equivalences file's keys: unique, and stable in form.
dups=$("$handoff" mutate --version v8.1 --list | cut -f1 | sort | uniq -d | head -3)
if [ -z "$dups" ]; then echo "ok   mutant ids are unique"; else
    echo "FAIL mutant ids repeat: $dups"; failures=$((failures + 1)); fi
check "list" 0 0 "^v8\.1/migration_completion_save/effect-drop/4	without \`block_inactive\[h\] := true\`" \
    "$handoff" mutate --version v8.1 --list

check "unknown version" 2 1 "unknown version 'v9'" "$handoff" mutate --version v9
check "unknown mutant" 2 1 "--only: v8.1 has no mutant v8.1/nope" \
    "$handoff" mutate --version v8.1 --only v8.1/nope
check "bad profile" 2 1 "--env" "$handoff" mutate --version v8.1 --env libvirt
check "bad jobs" 2 1 "--jobs must be at least 1, not 0" "$handoff" mutate --version v8.1 --jobs 0
check "unreadable manifest" 2 1 "--expect: cannot read /nonexistent" \
    "$handoff" mutate --version v8.1 --expect /nonexistent
exit $((failures > 0))
