#!/usr/bin/env bash
# handoff export --format promela checked by SPIN against the explicit engine (handoff explore),
# on a small instance of every version: SPIN must store exactly one state more than explore
# counts (its process's start, before the initial choice), and the invariants it finds violated
# must be exactly those explore reports violated (recoverable, a graph property, is not
# exported). Then bad input: one line on stderr, exit code 2.
# Usage: promela_test.sh path/to/handoff
set -uo pipefail
handoff=$1
command -v spin >/dev/null || { echo "FAIL spin is not installed (./run installs it)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# N = 1, no second QEMU process, no blockdev-set-active and three capabilities fixed: 8 to 32
# thousand states per version, so that the comparison takes seconds (compiling pan.c takes most
# of it). late-block-activate and the guest's initial run state still branch; v10.0 and v10.2
# never read late_block_activate, so SPIN without -o2 (hiding write-only variables) would store
# fewer states there. Every version has invariants that hold and ones that are violated here.
instance=(--nodes 1 --starts 0 --set-active-calls 0 --cap postcopy=off
          --cap pause-before-switchover=off --cap autostart=on)
# A second instance, with a second QEMU process (no-double-inactivate is violated only with a
# second migration) and no blockdev-set-active: v9.2, 66 thousand states.
instance_more=(--nodes 1 --set-active-calls 0 --cap postcopy=off --cap pause-before-switchover=off
               --cap late-block-activate=on --cap autostart=off)
# Two nodes (a node's new value that reads another node: assignments through temporaries):
# v10.0, 7 thousand states.
instance_two=(--nodes 2 --starts 0 --set-active-calls 0 --cap postcopy=off
              --cap pause-before-switchover=off --cap autostart=on --cap late-block-activate=on)

# compare NAME VERSION INSTANCE...: writes $dir/NAME.result ("ok ..." or "FAIL ...").
compare() {
    local name=$1 version=$2
    shift 2
    local work=$dir/$name
    mkdir -p "$work"
    (
        cd "$work" || exit 1
        "$handoff" export --version "$version" "$@" --format promela --out model.pml \
            || { echo "FAIL $name: export"; exit 1; }
        # explore decides the invariants the model asserts (not recoverable: its search would
        # only cost time here).
        local invariants=()
        for i in $(sed -n 's/^ \* Asserted in every reachable state: //p' model.pml | tr -d ,); do
            invariants+=(--invariant "$i")
        done
        [ ${#invariants[@]} -gt 0 ] || { echo "FAIL $name: the model asserts no invariant"; exit 1; }
        "$handoff" explore --version "$version" "$@" "${invariants[@]}" --json > explore.json 2> explore.err
        [ $? -le 1 ] || { echo "FAIL $name: handoff explore: $(head -1 explore.err)"; exit 1; }
        jq -e '.complete' explore.json > /dev/null \
            || { echo "FAIL $name: explore did not complete"; exit 1; }
        spin -o2 -a model.pml > spin.out 2>&1 || { echo "FAIL $name: spin -o2 -a: $(tail -1 spin.out)"; exit 1; }
        # -O0: gcc -O2 takes four times as long on the generated pan.c as these runs take.
        gcc -O0 -DSAFETY -w -o pan pan.c || { echo "FAIL $name: gcc"; exit 1; }
        # The whole reachable space with the assertions ignored, then with every violation
        # reported (-c0: the search goes on after each).
        ./pan -A -m100000 > count.out 2>&1
        ./pan -c0 -m100000 > verdicts.out 2>&1
        local problems=""
        for out in count.out verdicts.out; do
            grep -q 'max search depth too small' "$out" && problems+=" $out: search depth too small;"
            grep -q 'states, stored' "$out" || problems+=" $out: no state count;"
        done
        local explored spin_states spin_states_c0
        explored=$(jq '.states' explore.json)
        spin_states=$(awk '/states, stored/ { print $1 }' count.out)
        spin_states_c0=$(awk '/states, stored/ { print $1 }' verdicts.out)
        [ "$spin_states" = "$((explored + 1))" ] \
            || problems+=" SPIN stored $spin_states states, explore counted $explored (expected $((explored + 1)));"
        [ "$spin_states_c0" = "$spin_states" ] \
            || problems+=" SPIN stored $spin_states_c0 states with the assertions on, $spin_states without;"
        grep -q 'errors: 0' count.out || problems+=" errors with the assertions ignored;"
        local ours theirs
        ours=$(jq -r '.results[] | select(.invariant != "recoverable" and .verdict == "violated")
                      | .invariant' explore.json | tr - _ | sort | tr '\n' ' ')
        theirs=$(sed -n 's/.*assertion violated inv_\([a-z_]*\).*/\1/p' verdicts.out | sort -u | tr '\n' ' ')
        [ "$ours" = "$theirs" ] \
            || problems+=" violated per explore: [${ours% }], per SPIN: [${theirs% }];"
        local held
        held=$(jq -r '[.results[] | select(.invariant != "recoverable" and .verdict == "holds")]
                      | length' explore.json)
        if [ -n "$problems" ]; then
            echo "FAIL $name:$problems"
        else
            echo "ok   $name: $explored states (SPIN: $spin_states), violated: [${ours% }], $held hold"
        fi
    ) > "$work.result" 2>&1
}

runs=()
while read -r version; do
    runs+=("$version")
done < <("$handoff" versions | awk '/^v/ { print $1 }')
[ ${#runs[@]} -ge 7 ] || { echo "FAIL handoff versions lists ${#runs[@]} versions"; exit 1; }

# Two at a time (the machine has two cores).
running=0
for version in "${runs[@]}"; do
    compare "$version" "$version" "${instance[@]}" &
    running=$((running + 1))
    if [ "$running" -ge 2 ]; then wait -n; running=$((running - 1)); fi
done
compare "v9.2-more" v9.2 "${instance_more[@]}" &
wait -n
compare "v10.0-two-nodes" v10.0 "${instance_two[@]}" &
wait

failures=0
for version in "${runs[@]}" v9.2-more v10.0-two-nodes; do
    cat "$dir/$version.result"
    grep -q '^ok ' "$dir/$version.result" || failures=$((failures + 1))
done

# Bad input: one line, exit code 2.
bad() { # description, arguments...
    local what=$1
    shift
    "$handoff" "$@" > "$dir/bad.out" 2> "$dir/bad.err"
    local rc=$? lines
    lines=$(wc -l < "$dir/bad.err")
    if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ]; then
        echo "ok   $what: $(cat "$dir/bad.err")"
    else
        echo "FAIL $what: exit $rc, $lines lines on stderr"; failures=$((failures + 1))
    fi
}
bad "unknown format" export --version v8.0.0 --format pml
bad "unknown invariant" export --version v8.0.0 --format promela --invariant no-such-thing
bad "a graph property" export --version v8.0.0 --format promela --invariant recoverable
bad "an smt2 option" export --version v8.0.0 --format promela --depth 3

echo "$failures failed"
[ "$failures" -eq 0 ]
