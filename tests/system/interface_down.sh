#!/bin/bash
# A live interface that goes away mid-capture.
#
# 1. Without --wait-interface: the veth the sensor captures on is deleted
#    while it runs; the sensor must say so naming the interface, still
#    write the records of the flows it saw, and exit 1.
# 2. With --wait-interface: the interface is deleted, the sensor reports
#    it and waits; the interface is made again and traffic resumes; the
#    sensor must report "capture resumed", count the packets sent after the
#    return, and exit 0 on SIGTERM with the records of both halves.
# Needs root (a network namespace); exit 77 otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "interface_down: needs root for a network namespace" >&2
    exit 77
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"
ns=lhdown$$
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: interface_down: $*" >&2; [ -f "$tmp/err" ] && cat "$tmp/err" >&2; exit 1; }

"$LHGEN" ssh "$tmp/ssh.pcap" >/dev/null
"$LHGEN" dns "$tmp/dns.pcap" >/dev/null
n_ssh=$(python3 "$here/lib/pcapcount.py" "$tmp/ssh.pcap")
n_dns=$(python3 "$here/lib/pcapcount.py" "$tmp/dns.pcap")

ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
make_veth() {
    nsx ip link add veth-a type veth peer name veth-b
    nsx ip link set veth-a up
    nsx ip link set veth-b up
}
wait_for() { # wait_for PATTERN FILE SECONDS
    for _ in $(seq $((10 * $3))); do
        grep -q -- "$1" "$2" && return 0
        sleep 0.1
    done
    return 1
}
wait_packets() { # wait_packets N
    for _ in $(seq 100); do
        [ "$(python3 "$here/lib/laststat.py" packets "$tmp/err")" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
records_pkts() {
    python3 -c 'import json,sys; print(sum(d["pkts_c2s"]+d["pkts_s2c"] for d in map(json.loads, open(sys.argv[1]))))' "$1"
}

# 1. Interface deleted: exit 1, naming it.
make_veth
ip netns exec "$ns" "$LOOPHOLE" -i veth-b --threads 1 --stats 1 --flows "$tmp/flows1.json" 2>"$tmp/err" &
pid=$!
wait_for "capturing on veth-b" "$tmp/err" 10 || fail "sensor did not start"
nsx tcpreplay -q -i veth-a --topspeed "$tmp/ssh.pcap" >/dev/null 2>&1
wait_packets "$n_ssh" || fail "the sensor did not see the $n_ssh packets sent"
nsx ip link del veth-a
rc=0
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the sensor still runs 10 s after its interface was deleted"
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 1 ] || fail "exit status $rc after the interface was deleted, expected 1"
grep -q "^loophole: veth-b: " "$tmp/err" || fail "no error naming veth-b"
[ "$(records_pkts "$tmp/flows1.json")" -eq "$n_ssh" ] || fail "records lost at the failure"
echo "interface_down: deleted interface: $(grep '^loophole: veth-b: ' "$tmp/err" | head -1)"

# 2. --wait-interface: report, wait, resume.
make_veth
ip netns exec "$ns" "$LOOPHOLE" -i veth-b --wait-interface --threads 1 --stats 1 --flows "$tmp/flows2.json" \
    2>"$tmp/err" &
pid=$!
wait_for "capturing on veth-b" "$tmp/err" 10 || fail "sensor did not start (wait)"
nsx tcpreplay -q -i veth-a --topspeed "$tmp/ssh.pcap" >/dev/null 2>&1
wait_packets "$n_ssh" || fail "the waiting sensor did not see the first packets"
nsx ip link del veth-a
wait_for "waiting for veth-b to come back" "$tmp/err" 10 || fail "the loss was not reported"
sleep 2
kill -0 "$pid" 2>/dev/null || fail "the sensor exited instead of waiting"
make_veth
wait_for "veth-b: capture resumed" "$tmp/err" 10 || fail "capture did not resume"
nsx tcpreplay -q -i veth-a --topspeed "$tmp/dns.pcap" >/dev/null 2>&1
wait_packets $((n_ssh + n_dns)) || fail "packets after the return were not counted"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM with --wait-interface"
got=$(records_pkts "$tmp/flows2.json")
[ "$got" -eq $((n_ssh + n_dns)) ] || fail "records count $got packets, sent $((n_ssh + n_dns))"
echo "interface_down: --wait-interface resumed; $got packets in records"
