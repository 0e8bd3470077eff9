#!/usr/bin/env bash
# Observations per second through the sensor's writer into one server and
# into Redis Clusters of 1, 2 and 3 primaries (no replicas), all on this
# machine, in one run (docs/performance.md, "Redis Cluster").
#
# usage: bench/cluster_bench.sh [EVENTS] [BUILD_DIR] [ENTITIES]
#
# Builds bench_cluster (bench/bench_cluster.c) in BUILD_DIR (default
# build), starts the servers on free loopback ports, splits the 16384 slots
# evenly (CLUSTER ADDSLOTSRANGE, CLUSTER MEET), and runs bench_cluster
# against each, ENTITIES entities (default 100000). The reference is
# redis-benchmark's plain SET (one client, pipeline 64, as the writer
# pipelines) on the one server, measured right before. Stops every server
# it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300000}
build=${2:-build}
entities=${3:-100000}
cmake --build "$build" --target bench_cluster -j2 >/dev/null
tmp=$(mktemp -d)
pids=()
# cluster() runs in a command substitution, so it records its servers in
# $tmp/pids rather than in the array.
trap 'for p in "${pids[@]}" $(cat "$tmp"/pids 2>/dev/null); do kill "$p" 2>/dev/null || true; done
      wait 2>/dev/null; rm -rf "$tmp"' EXIT
ports() {
    python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}
# cluster P: starts P primaries, prints the URL
cluster() {
    local p=$1 ps i lo hi
    read -r -a ps <<<"$(ports $((2 * p)))"
    for ((i = 0; i < p; i++)); do
        mkdir -p "$tmp/c$p-$i"
        redis-server --port "${ps[$i]}" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-port "${ps[$((i + p))]}" --cluster-config-file nodes.conf --save '' \
            --appendonly no --dir "$tmp/c$p-$i" >/dev/null 2>&1 &
        echo $! >>"$tmp/pids"
        echo $! >>"$tmp/c$p.pids"
    done
    for ((i = 0; i < p; i++)); do
        until redis-cli -p "${ps[$i]}" ping >/dev/null 2>&1; do sleep 0.05; done
        lo=$((16384 * i / p))
        hi=$((16384 * (i + 1) / p - 1))
        redis-cli -p "${ps[$i]}" CLUSTER ADDSLOTSRANGE "$lo" "$hi" >/dev/null
        # the bus port is not port + 10000 here: MEET must name it
        if [ "$i" -gt 0 ]; then
            redis-cli -p "${ps[$i]}" CLUSTER MEET 127.0.0.1 "${ps[0]}" "${ps[$p]}" >/dev/null
        fi
    done
    local ok
    for _ in $(seq 200); do
        ok=1
        for ((i = 0; i < p; i++)); do
            redis-cli -p "${ps[$i]}" CLUSTER INFO | tr -d '\r' |
                grep -qx 'cluster_state:ok' || ok=0
        done
        [ $ok = 1 ] && break
        sleep 0.1
    done
    [ $ok = 1 ] || { echo "the cluster of $p primaries did not form" >&2; exit 1; }
    echo "redis+cluster://127.0.0.1:${ps[0]}"
}
# ticks PID...: CPU time (user + system, clock ticks) of each PID
ticks() {
    local p
    for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat"; done
}
# run URL PIDS...: bench_cluster against URL, then the CPU seconds each of
# the servers PIDS spent during it and the events per CPU second of the
# busiest: what that layout absorbs when every server has a core of its
# own (on this machine the servers, the writer and the producers share
# the cores, so the events/s above it are not that figure)
run() {
    local url=$1 out before after hz
    shift
    hz=$(getconf CLK_TCK)
    before=$(ticks "$@")
    out=$("$build/bench_cluster" "$url" "$n" 2 "$entities")
    after=$(ticks "$@")
    echo "$out"
    python3 - "$n" "$hz" "$before" "$after" <<'PY'
import sys
n, hz = int(sys.argv[1]), int(sys.argv[2])
b = [int(x) for x in sys.argv[3].split()]
a = [int(x) for x in sys.argv[4].split()]
cpu = [(y - x) / hz for x, y in zip(b, a)]
top = max(cpu)
print("  server CPU s: %s; busiest %.2f s: %s events per busiest server's CPU second" %
      (" ".join("%.2f" % c for c in cpu), top, "%.0f" % (n / top) if top > 0 else "n/a"))
PY
}
read -r single <<<"$(ports 1)"
redis-server --port "$single" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
    >/dev/null 2>&1 &
pids+=($!)
single_pid=$!
until redis-cli -p "$single" ping >/dev/null 2>&1; do sleep 0.05; done
echo "$n observations each (lh_observe exact, count only, $entities entities), 2 producer threads, one writer"
redis-benchmark -h 127.0.0.1 -p "$single" -c 1 -n 500000 -P 64 -r 1000000 -q -t set |
    tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | sed 's/^/SET (redis-benchmark): /'
run "redis://127.0.0.1:$single" "$single_pid"
for p in 1 2 3; do
    url=$(cluster "$p")
    # shellcheck disable=SC2046
    run "$url" $(cat "$tmp/c$p.pids") | sed "s/^/$p primaries: /"
done
nproc | sed 's/^/cores: /'
