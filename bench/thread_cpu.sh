#!/usr/bin/env bash
# CPU time of each thread of a replay, for two or more sensor binaries in
# one run: each binary replays CAPTURE with its private Redis under
# `perf record -e cpu-clock` (4 000 samples a second on every CPU), the
# builds alternating ROUNDS times so that drift of the machine's speed
# hits them alike; prints the median, fastest and slowest milliseconds of
# each thread name (lh-capture, lh-worker0, ..., lh-redis, redis-server)
# per binary. Wall time mixes every thread and the machine's spells; a
# change to one thread's code shows in that thread's CPU
# (docs/performance.md, "Sixth round").
#
# usage: bench/thread_cpu.sh CAPTURE ROUNDS THREADS LOOPHOLE...
#   e.g. bench/thread_cpu.sh bench/work/gpu-fleet.pcap 7 1 /tmp/before build/loophole
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
command -v perf >/dev/null || { echo "bench: needs perf" >&2; exit 2; }
cap=$1
rounds=$2
threads=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for _ in $(seq "$rounds"); do
    for bin in "$@"; do
        perf record -q -e cpu-clock -F 4000 -a -o "$tmp/perf.data" -- "$bin" -r "$cap" \
            --threads "$threads" --alerts /dev/null --stats 0 >/dev/null 2>"$tmp/stderr" ||
            { cat "$tmp/stderr" >&2; exit 1; }
        # samples per thread name -> milliseconds (4 samples a millisecond)
        perf report -i "$tmp/perf.data" -n --sort comm --stdio 2>/dev/null |
            awk -v b="$bin" '$1 ~ /%$/ && ($3 ~ /^lh-/ || $3 == "redis-server") {print b, $3, $2 / 4}' \
                >>"$tmp/samples"
    done
done
python3 - "$tmp/samples" "$@" <<'PY'
import collections, statistics, sys
ms = collections.defaultdict(list)
for line in open(sys.argv[1]):
    b, name, v = line.split()
    ms[(b, name)].append(float(v))
for b in sys.argv[2:]:
    for (bb, name), v in sorted(ms.items()):
        if bb == b:
            print("%-28s %-13s median %5.0f ms  (%.0f to %.0f, %d runs)"
                  % (b, name, statistics.median(v), min(v), max(v), len(v)))
PY
