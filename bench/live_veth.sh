#!/usr/bin/env bash
# Live capture without drops (docs/performance.md, "Live capture"): the
# sensor reads one end of a veth pair while tcpreplay pushes a capture into
# the other end as fast as it can, and the sensor's final counters say
# whether any packet was lost, by the kernel (libpcap's ps_drop and
# ps_ifdrop: drop reasons `kernel`, `interface`) or in the sensor (its
# packet queues full: `queue_full`).
#
# usage: bench/live_veth.sh [CAPTURE...]
#   default: bench/work/dpi-dense.pcap bench/work/gpu-fleet.pcap, the
#   captures bench/run.sh builds
# environment:
#   RUNS     runs per capture (default 3)
#   THREADS  the sensor's --threads (default 2)
#   RATE     tcpreplay's pace: "topspeed" (default) or a rate in Mbit/s
#   BUILD    the build directory (default build)
#   ARGS     more sensor options, such as "--queue 64MiB" (default none)
#
# Needs root (a network namespace and raw sockets); a benchmark, not a
# test: run on demand. The veth pair lives in a namespace of its own with
# IPv6 off, so nothing but the capture crosses it. The sensor runs with
# its private Redis and alerts to /dev/null, the whole job. Each run
# prints the rate tcpreplay reached (packets per second), the packets
# the sensor counted against those sent, its drops by reason, and the
# machine's load average.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
threads=${THREADS:-2}
rate=${RATE:-topspeed}
build=${BUILD:-build}
read -r -a extra <<<"${ARGS:-}"
captures=("$@")
[ ${#captures[@]} -gt 0 ] || captures=(bench/work/dpi-dense.pcap bench/work/gpu-fleet.pcap)
[ "$(id -u)" -eq 0 ] || { echo "live_veth: needs root (network namespace, raw sockets)" >&2; exit 2; }
for tool in ip tcpreplay python3; do
    command -v $tool >/dev/null || { echo "live_veth: $tool missing" >&2; exit 2; }
done
for c in "${captures[@]}"; do
    [ -r "$c" ] || { echo "live_veth: $c: no such capture (bench/run.sh builds it)" >&2; exit 2; }
done
loophole=$PWD/$build/loophole
[ -x "$loophole" ] || { echo "live_veth: build first ($loophole)" >&2; exit 2; }

tmp=$(mktemp -d)
ns=lhbench$$
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$ns" ip link add veth-a type veth peer name veth-b
# room for the largest frame of the nDPI captures
ip netns exec "$ns" ip link set veth-a mtu 9000 up
ip netns exec "$ns" ip link set veth-b mtu 9000 up
chmod 755 "$tmp" # the sensor drops its privileges and writes here

# One counter of the last stats line (JSON on standard error).
counter() { # counter FILE EXPR
    python3 - "$1" "$2" <<'EOF'
import json, sys
last = {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if line.startswith("{") and '"event_type":"stats"' in line:
        try:
            last = json.loads(line)
        except ValueError:
            pass
r = last.get("drop_reasons", {})
print(eval(sys.argv[2], {}, {"s": last, "r": r}))
EOF
}

if [ "$rate" = topspeed ]; then pace=(--topspeed); else pace=(--mbps "$rate"); fi
printf '%-14s %3s %12s %10s %10s %10s %8s %8s %8s  %s\n' capture run sent pps_sent seen \
    drops queue_full kernel iface load
for c in "${captures[@]}"; do
    name=$(basename "$c" .pcap)
    for run in $(seq "$runs"); do
        err=$tmp/$name.$run.err
        ip netns exec "$ns" "$loophole" -i veth-b --threads "$threads" --stats 1 \
            --alerts /dev/null "${extra[@]}" 2>"$err" &
        pid=$!
        for _ in $(seq 300); do
            grep -q "capturing on veth-b" "$err" && break
            sleep 0.1
        done
        grep -q "capturing on veth-b" "$err" || { cat "$err" >&2; echo "live_veth: the sensor did not start" >&2; exit 1; }
        ip netns exec "$ns" tcpreplay -i veth-a "${pace[@]}" "$c" >"$tmp/replay.out" 2>&1
        sent=$(grep -o 'Successful packets: *[0-9]*' "$tmp/replay.out" | grep -o '[0-9]*$')
        pps=$(grep -o '[0-9.]* pps' "$tmp/replay.out" | head -1 | cut -d' ' -f1)
        # until the sensor has counted every packet sent, or stops counting
        last=-1
        for _ in $(seq 600); do
            seen=$(counter "$err" 's.get("packets", 0)')
            [ "$seen" -ge "$sent" ] && break
            [ "$seen" = "$last" ] && break
            last=$seen
            sleep 1
        done
        kill -INT "$pid"
        wait "$pid" || { cat "$err" >&2; echo "live_veth: the sensor exited non-zero" >&2; exit 1; }
        pid=
        printf '%-14s %3s %12s %10.0f %10s %10s %8s %8s %8s  %s\n' "$name" "$run" "$sent" "$pps" \
            "$(counter "$err" 's.get("packets", 0)')" "$(counter "$err" 's.get("drops", 0)')" \
            "$(counter "$err" 'r.get("queue_full", 0)')" "$(counter "$err" 'r.get("kernel", 0)')" \
            "$(counter "$err" 'r.get("interface", 0)')" "$(cut -d' ' -f1-3 /proc/loadavg)"
    done
done
echo "threads $threads, pace $rate, options: ${ARGS:-none}, cores $(nproc)," \
    "$(tcpreplay --version 2>&1 | head -1)"
