#!/usr/bin/env bash
# The proof engines against the number of nodes: for each N, each version and each engine, the
# time `handoff check` takes on the headline invariant (no vm_start while any node is inactive),
# with a timeout per cell. Prints a Markdown table (seconds; "t/o" past the timeout; an engine that
# timed out at some N is not run at larger N for that version).
#
#   bench/checker_scaling.sh [HANDOFF] [TIMEOUT] [NODES...]
#   default: build/handoff, 30 s, N = 1 2 3 4 6 8 12 16; INVARIANT=name for another invariant,
#   ENGINES='bmc|pdr' for other engines (separated by |)
set -euo pipefail
handoff=${1:-build/handoff}
timeout=${2:-30}
shift $(( $# > 2 ? 2 : $# )) || true
nodes=("$@")
[ ${#nodes[@]} -gt 0 ] || nodes=(1 2 3 4 6 8 12 16)
[ -x "$handoff" ] || { echo "checker_scaling.sh: no handoff binary at $handoff" >&2; exit 2; }

invariant=${INVARIANT:-no-vm-start-while-inactive}
versions=$("$handoff" versions | awk 'NR>0 && /^v[0-9]/ {print $1}')
IFS="|" read -r -a engines <<< "${ENGINES:-bmc|bmc --partial-order|pdr}"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1 /proc/loadavg)"
echo "invariant: $invariant; every capability combination; timeout ${timeout} s per cell"
echo
header="| version | engine |"
rule="|---|---|"
for n in "${nodes[@]}"; do header+=" N=$n |"; rule+="---|"; done
echo "$header"; echo "$rule"
for v in $versions; do
    for e in "${engines[@]}"; do
        line="| $v | $e |"
        gave_up=0
        for n in "${nodes[@]}"; do
            if [ $gave_up = 1 ]; then line+=" - |"; continue; fi
            rc=0
            # shellcheck disable=SC2086
            out=$("$handoff" check --version "$v" --invariant "$invariant" --nodes "$n" \
                  --engine $e --timeout "$timeout" --json 2>/dev/null) || rc=$?
            if [ $rc = 2 ]; then line+=" n/a |"; gave_up=1; continue; fi
            cell=$(printf '%s' "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
word = {"violated": "V", "proved": "P", "bounded": "b", "unknown": "?"}[r["verdict"]]
timed_out = r["verdict"] in ("bounded", "unknown") and "timeout" in r.get("detail", "")
print("t/o" if timed_out else "%.2f %s" % (r["seconds"], word))' 2>/dev/null || echo "err")
            line+=" $cell |"
            [ "$cell" = "t/o" ] && gave_up=1
        done
        echo "$line"
    done
done
echo
echo "V: violated (shortest counterexample, replayed); P: proved (certified); b: bounded; ?: unknown;"
echo "n/a: the invariant does not apply to that version."
