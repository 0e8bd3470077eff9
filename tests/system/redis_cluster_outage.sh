#!/bin/bash
# A Redis Cluster changing under a replay: every alert exactly once
# (docs/redis.md, "Several sensors, one Redis Cluster").
#
# The capture repeats five rules-* scenarios four times, a day apart in
# packet time (as tests/system/redis_outage.sh does). The reference replays
# it with one worker into a redis-server of its own. Each run below replays
# it with one worker into a local cluster (lib/cluster.sh), fed through a
# pipe by lib/pcapfeed.py, which stops where the test changes the cluster;
# its alert lines, and the json fields of the cluster's lh:alerts stream,
# must be the reference's lines, each exactly once (lib/cluster_same.py:
# one sensor that saw everything raises exactly the same lines).
#
# 1. Failover. After 40 % of the packets (and alerts) the primary serving
#    lh:alerts is killed (SIGKILL); the rest is read while its replica is
#    promoted: the events of its slots go to the journal, the writer reads
#    the slot map again, finds the new primary, loads the library on it and
#    replays. Nothing acknowledged is lost: the writer takes a reply as done
#    only after WAIT for a replica (redis/cluster.h), which it does from
#    the first batch (checked before the kill).
# 2. Migration. After 30 % of the packets, the slots of the entities seen
#    so far are moved by hand, step by step (the steps of redis-cli
#    --cluster reshard) while the replay goes on: while they are MIGRATING
#    the library calls about them get ASK and wait (and go to the journal),
#    then MOVED once they have moved; then redis-cli --cluster reshard
#    moves 500 more slots while the rest of the capture is read.
#    cluster_ask and cluster_moved in the sensor's stats must be above 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
tmp=$(mktemp -d)
run_pids=()
ref_pid=
cleanup() {
    for p in "${run_pids[@]}" $ref_pid; do
        kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
    done
    cluster_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
. "$here/lib/cluster.sh"
fail() {
    echo "redis_cluster_outage: FAIL: $*" >&2
    # what the sensors said (their counters and summary tables left out)
    grep -h '^loophole:' "$tmp"/out*.err 2>/dev/null | tail -20 >&2 || true
    cluster_story
    exit 1
}
. "$here/lib/wait.sh"
stream_lines() {
    cluster_cli "$(cluster_primaries | head -1)" -c XRANGE lh:alerts - + |
        awk 'take { print; take = 0 } $0 == "json" { take = 1 }'
}
# node_of_slot SLOT: the node index (0-5) of the primary serving SLOT
node_of_slot() {
    local port i
    port=$(cluster_cli "$(cluster_primaries | head -1)" CLUSTER SLOTS | python3 -c '
import sys
slot = int(sys.argv[1])
rows = sys.stdin.read().split("\n")
# redis-cli prints a range as: start, end, then ip, port, id of the
# primary, then its replicas
for i in range(len(rows) - 3):
    if rows[i].isdigit() and rows[i + 1].isdigit() and rows[i + 2].count(".") == 3 \
            and int(rows[i]) <= slot <= int(rows[i + 1]):
        print(rows[i + 3])
        break' "$1")
    for i in "${!cluster_ports[@]}"; do
        [ "${cluster_ports[$i]}" = "$port" ] && echo "$i" && return
    done
    fail "no primary serves slot $1"
}
node_of() { node_of_slot "$(cluster_cli 0 CLUSTER KEYSLOT "$1")"; }
node_id() { cluster_cli "$1" CLUSTER MYID; }

# the capture
args=()
for s in rules-fanout rules-relay rules-mix4 rules-fanin rules-tunnel; do
    "$LHGEN" "$s" "$tmp/$s.pcap" >/dev/null
done
for _ in 1 2 3 4; do
    for s in rules-fanout rules-relay rules-mix4 rules-fanin rules-tunnel; do
        args+=("$tmp/$s.pcap")
    done
done
python3 "$here/lib/pcapdays.py" "$tmp/cap.pcap" "${args[@]}"

# the reference
redis-server --port 0 --unixsocket "$tmp/ref.sock" --save '' --appendonly no --dir "$tmp" \
    >"$tmp/ref.log" 2>&1 &
ref_pid=$!
wait_for "the reference server" 10 '[ "$(redis-cli -s "$tmp/ref.sock" PING 2>/dev/null)" = PONG ]'
"$LOOPHOLE" -r "$tmp/cap.pcap" --threads 1 --redis "unix://$tmp/ref.sock" --sensor s \
    --alerts "$tmp/ref.alerts" 2>"$tmp/ref.err" || fail "reference run: $(cat "$tmp/ref.err")"
kill "$ref_pid"
wait "$ref_pid" 2>/dev/null || true
ref_pid=
nref=$(wc -l <"$tmp/ref.alerts")
[ "$nref" -ge 50 ] || fail "the capture raises only $nref alerts"

cluster_start

# run N FRACTION...: a replay into the cluster through a paused feed
run() {
    local n=$1
    shift
    mkdir -p "$tmp/ctl$n"
    mkfifo "$tmp/feed$n"
    python3 "$here/lib/pcapfeed.py" "$tmp/cap.pcap" "$tmp/ctl$n" "$@" >"$tmp/feed$n" &
    run_pids+=($!)
    printf '[redis]\njournal = %s\n' "$tmp/journal$n" >"$tmp/lh$n.conf"
    "$LOOPHOLE" -c "$tmp/lh$n.conf" -r - --threads 1 --redis "$cluster_url" --sensor s \
        --stats 1 --alerts "$tmp/out$n.alerts" <"$tmp/feed$n" 2>"$tmp/out$n.err" &
    lh_pid=$!
    run_pids+=("$lh_pid")
}
finish() {
    local n=$1
    wait "$lh_pid" || fail "run $n: the sensor failed: $(tail -5 "$tmp/out$n.err")"
    stream_lines >"$tmp/stream$n"
    python3 "$here/lib/cluster_same.py" "$tmp/ref.alerts" "$tmp/stream$n" \
        "$tmp/out$n.alerts" || fail "run $n: the alerts differ from the reference"
    echo "run $n: $nref alerts exactly once; moved $(stat_of cluster_moved "$tmp/out$n.err")," \
        "ask $(stat_of cluster_ask "$tmp/out$n.err"), journaled" \
        "$(stat_of events_journaled "$tmp/out$n.err")"
}

# ---- 1. failover ---------------------------------------------------------
run 1 0.4 0.7
wait_for "40 % of the capture" 30 '[ -s "$tmp/ctl1/fed.1" ]'
wait_for "alerts before the failover" 30 '[ "$(stat_of alerts "$tmp/out1.err")" -ge 10 ]'
# The writer waited for a replica on every primary it wrote to, from the
# first batch: the sensor started as soon as the cluster was up, when
# CLUSTER SLOTS does not list replicas yet (their offset is still 0), so
# it must count them by the primaries' ROLE (redis/cluster.c).
for i in $(cluster_primaries); do
    stats=$(cluster_cli "$i" INFO commandstats | tr -d '\r')
    fcalls=$(awk -F'[:=,]' '/^cmdstat_fcall:/ { print $3 }' <<<"$stats")
    waits=$(awk -F'[:=,]' '/^cmdstat_wait:/ { print $3 }' <<<"$stats")
    [ "${fcalls:-0}" -eq 0 ] || [ "${waits:-0}" -gt 0 ] ||
        fail "run 1: ${fcalls} library calls on node $i but no WAIT for its replica"
done
victim=$(node_of lh:alerts)
kill -9 "${cluster_pids[$victim]}"
wait "${cluster_pids[$victim]}" 2>/dev/null || true
cluster_pids[$victim]=
touch "$tmp/ctl1/go.1"
wait_for "70 % of the capture" 30 '[ -s "$tmp/ctl1/fed.2" ]'
wait_for "the replica to take over" 30 \
    '[ "$(node_of lh:alerts 2>/dev/null)" != "$victim" ] && cluster_wait_ok'
touch "$tmp/ctl1/go.2"
finish 1
[ "$(stat_of events_journaled "$tmp/out1.err")" -gt 0 ] ||
    fail "run 1: nothing went to the journal while the primary was down"

# ---- 2. migration --------------------------------------------------------
cluster_flush
run 2 0.3 0.5 0.6 0.7 0.8 0.9
wait_for "30 % of the capture" 30 '[ -s "$tmp/ctl2/fed.1" ]'
# The slots of the entities seen so far: an entity's key is never the
# declared key itself, so every library call about one gets ASK while its
# slot is MIGRATING. Six of them (each day of the capture has the same
# entities again) move to another primary, by hand.
mapfile -t slots < <(for n in $(cluster_primaries); do
    cluster_cli "$n" --scan --pattern 'lh:{e:*' | sed 's/^\(lh:{[^}]*}\).*/\1/'
done | sort -u | while read -r key; do cluster_cli 0 CLUSTER KEYSLOT "$key"; done | sort -un |
    head -6)
[ "${#slots[@]}" -gt 0 ] || fail "run 2: no entity keys after 30 % of the capture"
from=()
to=()
for k in "${!slots[@]}"; do
    from[$k]=$(node_of_slot "${slots[$k]}")
    to[$k]=$(cluster_primaries | grep -vx "${from[$k]}" | head -1)
    cluster_cli "${to[$k]}" CLUSTER SETSLOT "${slots[$k]}" IMPORTING "$(node_id "${from[$k]}")" >/dev/null
    cluster_cli "${from[$k]}" CLUSTER SETSLOT "${slots[$k]}" MIGRATING "$(node_id "${to[$k]}")" >/dev/null
done
touch "$tmp/ctl2/go.1"
wait_for "50 % of the capture" 30 '[ -s "$tmp/ctl2/fed.2" ]'
wait_for "an ASK" 30 '[ "$(stat_of cluster_ask "$tmp/out2.err")" -gt 0 ]'
for k in "${!slots[@]}"; do
    mapfile -t keys < <(cluster_cli "${from[$k]}" CLUSTER GETKEYSINSLOT "${slots[$k]}" 100000)
    if [ "${#keys[@]}" -gt 0 ]; then
        cluster_cli "${from[$k]}" MIGRATE 127.0.0.1 "${cluster_ports[${to[$k]}]}" "" 0 5000 \
            KEYS "${keys[@]}" >/dev/null
    fi
    for n in $(cluster_primaries); do
        cluster_cli "$n" CLUSTER SETSLOT "${slots[$k]}" NODE "$(node_id "${to[$k]}")" >/dev/null
    done
done
src=${from[0]}
dst=${to[0]}
touch "$tmp/ctl2/go.2"
wait_for "60 % of the capture" 30 '[ -s "$tmp/ctl2/fed.3" ]'
redis-cli --cluster reshard "127.0.0.1:${cluster_ports[$dst]}" --cluster-from "$(node_id "$dst")" \
    --cluster-to "$(node_id "$src")" --cluster-slots 500 --cluster-yes >"$tmp/reshard.log" 2>&1 &
reshard_pid=$!
run_pids+=("$reshard_pid")
for k in 3 4 5 6; do
    touch "$tmp/ctl2/go.$k"
    sleep 0.3
done
wait "$reshard_pid" || fail "redis-cli --cluster reshard: $(tail -5 "$tmp/reshard.log")"
finish 2
[ "$(stat_of cluster_moved "$tmp/out2.err")" -gt 0 ] || fail "run 2: no MOVED counted"
[ "$(stat_of cluster_ask "$tmp/out2.err")" -gt 0 ] || fail "run 2: no ASK counted"
