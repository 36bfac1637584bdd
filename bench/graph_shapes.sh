#!/usr/bin/env bash
# The cost of the block graph (issue 15): for each shape the tables walk (flat, chain,
# shared-base, job), the whole `handoff check` table under documented use at 2 disks, per version
# the seconds of the cells BMC decided and of those IC3 decided (each cell's own time, as `check`
# prints it), and the wall time of the run; then the explicit engine's state count at 1 disk
# (`handoff explore`, complete, one version) for each shape that has a 1-disk instance
# (shared-base always has two disks: 6 nodes a host, beyond what explore enumerates in minutes).
# Usage: bench/graph_shapes.sh [path/to/handoff] [explore-version]   (default: build/handoff v10.2)
set -euo pipefail
handoff=$(realpath "${1:-$(dirname "$0")/../build/handoff}")
explore_version=${2:-v10.2}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %-10s %8s %8s %6s\n' shape version bmc_s ic3_s cells
for shape in flat chain shared-base job; do
    start=$(date +%s.%N)
    rc=0
    "$handoff" check --json --graph "$shape" > "$dir/$shape.json" || rc=$?
    [ "$rc" -le 1 ] || [ "$rc" -eq 3 ] || { echo "check --graph $shape: exit code $rc" >&2; exit 1; }
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    jq -r --arg s "$shape" '.results | group_by(.version)[] |
        [$s, .[0].version,
         ([.[] | select(.engine == "bmc") | .seconds] | add // 0),
         ([.[] | select(.engine == "ic3") | .seconds] | add // 0), length] |
        "\(.[0]) \(.[1]) \(.[2]) \(.[3]) \(.[4])"' "$dir/$shape.json" |
        while read -r s v b i c; do printf '%-11s %-10s %8.2f %8.2f %6d\n' "$s" "$v" "$b" "$i" "$c"; done
    printf '%-11s %-10s wall %.1f s\n' "$shape" all "$wall"
done
for shape in flat chain job; do
    if [ "$shape" = flat ]; then size="--nodes 1"; else size="--disks 1"; fi
    # shellcheck disable=SC2086
    line=$("$handoff" explore --version "$explore_version" --graph "$shape" $size 2>&1 | grep -m1 -i 'states' || true)
    echo "explore $explore_version --graph $shape, 1 disk: $line"
done
