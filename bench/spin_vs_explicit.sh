#!/usr/bin/env bash
# The explicit engine (handoff explore) against SPIN on the Promela export of the same instance:
# for each version and N, the reachable states, seconds and states per second of each, and their
# ratio; explore on every core (its default --jobs) and on one thread (--jobs 1), pan on one.
# Both explore the whole reachable space and evaluate every state invariant in every state:
# explore with those invariants (recoverable, a graph property with a search of its own, is left
# out), pan with its assertions ignored (-A: evaluated, not stopping at the first violation).
# SPIN: spin -o2 -a (write-only variables kept in the state, as explore keeps them); gcc -O2 -DSAFETY; ./pan -A -m10000000 -w26 (the time pan reports; compiling is
# not counted). Prints a Markdown table; one run per cell.
#
#   bench/spin_vs_explicit.sh [HANDOFF] [NODES...]     default: build/handoff, N = 1 2
#   VERSIONS='v8.0.0 v10.0 v10.2' for other versions
set -euo pipefail
handoff=$(realpath "${1:-build/handoff}")
shift $(( $# > 0 ? 1 : 0 ))
nodes=("$@")
[ ${#nodes[@]} -gt 0 ] || nodes=(1 2)
read -r -a versions <<< "${VERSIONS:-v8.0.0 v10.0 v10.2}"
command -v spin >/dev/null || { echo "spin_vs_explicit.sh: spin is not installed" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(spin -V)"
echo
echo "| version | N | states (explore) | explore s ($(nproc) threads) | explore states/s | explore s (1 thread) | states/s (1 thread) | states (SPIN) | pan s | pan states/s | explore / SPIN | 1 thread / SPIN | load |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for v in "${versions[@]}"; do
    for n in "${nodes[@]}"; do
        load_before=$(cut -d' ' -f1 /proc/loadavg)
        "$handoff" export --version "$v" --nodes "$n" --format promela --out "$dir/model.pml"
        read -r -a invs <<< "$(sed -n 's/^ \* Asserted in every reachable state: //p' "$dir/model.pml" | tr -d ',')"
        args=()
        for i in "${invs[@]}"; do args+=(--invariant "$i"); done
        "$handoff" explore --version "$v" --nodes "$n" "${args[@]}" --json > "$dir/explore.json" || true
        e_states=$(jq '.states' "$dir/explore.json")
        e_seconds=$(jq '.seconds' "$dir/explore.json")
        "$handoff" explore --version "$v" --nodes "$n" "${args[@]}" --jobs 1 --json \
            > "$dir/explore1.json" || true
        e1_seconds=$(jq '.seconds' "$dir/explore1.json")
        (cd "$dir" && spin -o2 -a model.pml > /dev/null && gcc -O2 -DSAFETY -w -o pan pan.c &&
            ./pan -A -m10000000 -w26 > pan.out 2>&1)
        s_states=$(awk '/states, stored/ { print $1 }' "$dir/pan.out")
        s_seconds=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds/\1/p' "$dir/pan.out")
        grep -q 'max search depth too small' "$dir/pan.out" && s_states="$s_states (depth limit!)"
        load_after=$(cut -d' ' -f1 /proc/loadavg)
        python3 - "$v" "$n" "$e_states" "$e_seconds" "$e1_seconds" "$s_states" "$s_seconds" "$load_before" "$load_after" <<'EOF'
import sys
v, n, es, et, e1t, ss, st, lb, la = sys.argv[1:]
es, et, e1t, st = int(es), float(et), float(e1t), float(st)
sn = int(ss.split()[0])
er, e1r, sr = es / et, es / e1t, sn / st
print(f"| {v} | {n} | {es:,} | {et:.1f} | {er:,.0f} | {e1t:.1f} | {e1r:,.0f} | {ss} | {st:.1f} | {sr:,.0f} | {er / sr:.2f} | {e1r / sr:.2f} | {lb}-{la} |")
EOF
    done
done
