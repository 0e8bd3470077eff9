#!/bin/bash
# Live capture gives the same flow records as replay.
#
# Makes a veth pair inside a network namespace of its own (IPv6 off, so the
# kernel sends nothing of its own on it), captures on one end with -i while
# tcpreplay sends generated scenario captures into the other end, stops the
# sensor with SIGINT once every packet has been counted, and compares the
# records with those of -r on the same files. Timing fields (first, last,
# round trips, and what comes from packet timing: application round trip,
# interactivity, ON periods, and the interactive/bulk roles) differ by
# nature between the two and are left out, and so
# does the difference between idle and end-of-capture endings (tcpreplay
# sends at top speed, so no flow idles); the 5-tuples, classification,
# extracted names, packet and byte counts and FIN/RST endings must be
# identical. A second sensor on the same interface with a BPF filter must
# give the records that replay gives with the same filter. Needs root
# (namespaces, raw sockets).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "live_capture: needs root for a network namespace" >&2
    exit 77
fi
for tool in ip tcpreplay; do
    command -v $tool >/dev/null || { echo "live_capture: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

tmp=$(mktemp -d)
ns=lhtest$$
pid=
fpid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    [ -n "$fpid" ] && kill -9 "$fpid" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

files=()
for s in ssh tls rdp dns http-jupyter; do
    "$LHGEN" "$s" "$tmp/$s.pcap"
    files+=("$tmp/$s.pcap")
done
expected=0
for f in "${files[@]}"; do
    expected=$((expected + $(python3 "$here/lib/pcapcount.py" "$f")))
done

filter='tcp port 22'
args=()
for f in "${files[@]}"; do args+=(-r "$f"); done
"$LOOPHOLE" "${args[@]}" --threads 2 --flows "$tmp/replay.json"
"$LOOPHOLE" "${args[@]}" -f "$filter" --threads 1 --flows "$tmp/replay-filtered.json"
expected_filtered=$(python3 -c 'import json,sys; print(sum(d["pkts_c2s"]+d["pkts_s2c"] for d in map(json.loads, open(sys.argv[1]))))' "$tmp/replay-filtered.json")

ip netns add "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$ns" ip link add veth-a type veth peer name veth-b
ip netns exec "$ns" ip link set veth-a up
ip netns exec "$ns" ip link set veth-b up

ip netns exec "$ns" "$LOOPHOLE" -i veth-b --threads 2 --stats 1 --flows "$tmp/live.json" \
    2>"$tmp/live.err" &
pid=$!
ip netns exec "$ns" "$LOOPHOLE" -i veth-b -f "$filter" --threads 1 --stats 1 \
    --flows "$tmp/filtered.json" 2>"$tmp/filtered.err" &
fpid=$!
for err in "$tmp/live.err" "$tmp/filtered.err"; do
    for _ in $(seq 100); do
        grep -q "capturing on veth-b" "$err" && break
        sleep 0.1
    done
    grep -q "capturing on veth-b" "$err" || { cat "$err"; echo "live_capture: sensor did not start" >&2; exit 1; }
done

ip netns exec "$ns" tcpreplay -q -i veth-a --topspeed "${files[@]}" >"$tmp/replay.out" 2>&1

# Wait until both sensors have read every packet, then stop them.
seen=0
fseen=0
for _ in $(seq 200); do
    seen=$(python3 "$here/lib/laststat.py" packets "$tmp/live.err")
    fseen=$(python3 "$here/lib/laststat.py" packets "$tmp/filtered.err")
    [ "$seen" -ge "$expected" ] && [ "$fseen" -ge "$expected_filtered" ] && break
    sleep 0.1
done
kill -INT "$pid" "$fpid"
wait "$pid" || { cat "$tmp/live.err"; echo "live_capture: sensor exited non-zero" >&2; exit 1; }
pid=
wait "$fpid" || { cat "$tmp/filtered.err"; echo "live_capture: filtered sensor exited non-zero" >&2; exit 1; }
fpid=
if [ "$seen" -lt "$expected" ]; then
    cat "$tmp/replay.out" "$tmp/live.err" >&2
    echo "live_capture: sensor saw $seen of $expected packets" >&2
    exit 1
fi

ignore=first,last,tcp_rtt_ms,tcp_rtt_server_ms,tcp_rtt_client_ms,app_rtt_ms,sensor
ignore=$ignore,app_rtt_extra_ms,app_rtt_samples,tcp_rtt_client_min_ms,distance_km_max,interactive,keystrokes,bursts
python3 "$here/lib/compare_flows.py" --open-ends --ignore "$ignore" --ignore-roles interactive,bulk \
    "$tmp/replay.json" "$tmp/live.json"
python3 "$here/lib/compare_flows.py" --open-ends --ignore "$ignore" --ignore-roles interactive,bulk \
    "$tmp/replay-filtered.json" "$tmp/filtered.json"
[ -s "$tmp/filtered.json" ] || { echo "live_capture: the filtered capture saw nothing" >&2; exit 1; }
echo "live_capture: $expected packets, records identical"
