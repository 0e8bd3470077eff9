#!/bin/bash
# The shared watermark on one redis-server (docs/redis.md, "Settling with
# several sensors"): sensors named in each other's [redis] peers settle no
# window before every one of them has delivered its records of it.
#
# 1. Three sensors replay the fan-in scenario split by flow (as
#    redis_cluster.sh does) into one server, but not together: port2
#    starts 3 s after the others, and the hash lh:watermarks already holds
#    a "done" for port2 left by an earlier run. A sensor that took that
#    stale value for port2's, or that did not wait for port2 to start,
#    would settle the fan-in window from two thirds of its facts. The
#    alert lines together, and the lh:alerts stream, must be those of one
#    sensor replaying everything into a server of its own, byte for byte
#    but for "sensor" (lib/cluster_same.py); port0 and port1 say
#    they waited; every sensor ends "done" in lh:watermarks.
# 2. A sensor whose peer never runs: with peer_timeout = 5s its replay
#    still ends (bounded), says the peer lapsed, counts peers_lapsed = 1,
#    and raises the reference's lines (every fact is its own).
# 3. The same with the default peer_timeout (60 s), stopped by SIGINT
#    while it waits for the peer: it ends at once, with the same lines.
# 4. No peers configured: lh:watermarks is not written (single-sensor
#    behaviour unchanged).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
# shellcheck source=lib/scratch.sh
. "$here/lib/scratch.sh"
fail() {
    echo "FAIL: redis_peers: $*" >&2
    exit 1
}
scratch_init
failed=0
stream_lines() { # SOCK
    redis-cli -s "$1" XRANGE lh:alerts - + | awk 'take { print; take = 0 } $0 == "json" { take = 1 }'
}
# same_as_ref WHAT ALERTS...: the stream of the shared server and the
# sensors' --alerts files hold the reference's lines (but "sensor")
same_as_ref() {
    local what=$1
    shift
    stream_lines "$tmp/shared.sock" >"$tmp/$what.stream"
    python3 "$here/lib/cluster_same.py" "$tmp/ref.alerts" "$tmp/$what.stream" "$@" || {
        echo "FAIL: $what: other lines than the reference" >&2
        failed=1
    }
}

"$LHGEN" rules-fanin "$tmp/fanin.pcap" >/dev/null
redis_start_as ref
redis_start_as shared
"$LOOPHOLE" -r "$tmp/fanin.pcap" --sensor ref --threads 2 --redis "unix://$tmp/ref.sock" \
    --alerts "$tmp/ref.alerts" 2>"$tmp/ref.err" || {
    echo "FAIL: the reference run failed: $(cat "$tmp/ref.err")" >&2
    exit 1
}
[ -s "$tmp/ref.alerts" ] || {
    echo "FAIL: the reference raised no alert" >&2
    exit 1
}

# 1. Three sensors, one late, one stale "done" in the way.
redis-cli -s "$tmp/shared.sock" HSET lh:watermarks port2 "done 99999999999999999 1" >/dev/null
printf '[redis]\npeers = port0, port1, port2\n' >"$tmp/three.conf"
run() { # K: sensor port$K, the flows whose last address bytes sum to K mod 3
    exec "$LOOPHOLE" -c "$tmp/three.conf" -r "$tmp/fanin.pcap" \
        -f "ip and (ip[15] + ip[19]) % 3 = $1" --sensor "port$1" --threads 2 \
        --redis "unix://$tmp/shared.sock" --alerts "$tmp/port$1.alerts" 2>"$tmp/port$1.err"
}
run 0 &
p0=$!
run 1 &
p1=$!
sleep 3
run 2 &
p2=$!
for k in 0 1 2; do
    pid_var=p$k
    wait "${!pid_var}" || {
        echo "FAIL: sensor port$k failed: $(cat "$tmp/port$k.err")" >&2
        failed=1
    }
done
same_as_ref shared "$tmp/port0.alerts" "$tmp/port1.alerts" "$tmp/port2.alerts"
for k in 0 1; do
    grep -q 'end of input: waiting for' "$tmp/port$k.err" || {
        echo "FAIL: port$k did not wait for its peers: $(cat "$tmp/port$k.err")" >&2
        failed=1
    }
done
for k in 0 1 2; do
    if grep -q 'settling no longer waits' "$tmp/port$k.err"; then
        echo "FAIL: port$k stopped waiting for a peer: $(cat "$tmp/port$k.err")" >&2
        failed=1
    fi
    state=$(redis-cli -s "$tmp/shared.sock" HGET lh:watermarks "port$k")
    case $state in
    "done "*) ;;
    *)
        echo "FAIL: lh:watermarks says '$state' for port$k, not done" >&2
        failed=1
        ;;
    esac
done

# 2. A peer that never runs.
redis-cli -s "$tmp/shared.sock" FLUSHALL >/dev/null
printf '[redis]\npeers = alone, ghost\npeer_timeout = 5s\n' >"$tmp/ghost.conf"
start=$(date +%s)
timeout 60 "$LOOPHOLE" -c "$tmp/ghost.conf" -r "$tmp/fanin.pcap" --sensor alone --threads 2 \
    --redis "unix://$tmp/shared.sock" --alerts "$tmp/alone.alerts" --stats 60 \
    2>"$tmp/alone.err" || {
    echo "FAIL: the sensor with a missing peer failed or did not end: $(cat "$tmp/alone.err")" >&2
    failed=1
}
took=$(($(date +%s) - start))
grep -q "peer sensor 'ghost' not heard from for 5 s: settling no longer waits for it" \
    "$tmp/alone.err" || {
    echo "FAIL: no word that the peer lapsed: $(cat "$tmp/alone.err")" >&2
    failed=1
}
[ "$(python3 "$here/lib/laststat.py" peers_lapsed "$tmp/alone.err")" = 1 ] || {
    echo "FAIL: peers_lapsed is not 1 in the last stats line" >&2
    failed=1
}
[ "$took" -ge 4 ] || {
    echo "FAIL: the sensor ended after $took s, before the 5 s peer timeout" >&2
    failed=1
}
same_as_ref alone "$tmp/alone.alerts"

# 3. Ctrl-C while waiting for a peer.
redis-cli -s "$tmp/shared.sock" FLUSHALL >/dev/null
printf '[redis]\npeers = ghost\n' >"$tmp/wait.conf"
"$LOOPHOLE" -c "$tmp/wait.conf" -r "$tmp/fanin.pcap" --sensor waiting --threads 2 \
    --redis "unix://$tmp/shared.sock" --alerts "$tmp/waiting.alerts" 2>"$tmp/waiting.err" &
waiting=$!
pids+=($waiting)
for _ in $(seq 400); do
    grep -q 'end of input: waiting for 1 peer' "$tmp/waiting.err" && break
    sleep 0.05
done
grep -q 'end of input: waiting for 1 peer' "$tmp/waiting.err" || {
    echo "FAIL: the sensor did not wait for its peer: $(cat "$tmp/waiting.err")" >&2
    failed=1
}
kill -INT "$waiting"
for _ in $(seq 100); do
    kill -0 "$waiting" 2>/dev/null || break
    sleep 0.05
done
if kill -0 "$waiting" 2>/dev/null; then
    echo "FAIL: SIGINT did not end the wait for the peer within 5 s" >&2
    failed=1
fi
wait "$waiting" || {
    echo "FAIL: the stopped sensor failed: $(cat "$tmp/waiting.err")" >&2
    failed=1
}
same_as_ref waiting "$tmp/waiting.alerts"

# 4. No peers: nothing published, as before.
[ "$(redis-cli -s "$tmp/ref.sock" EXISTS lh:watermarks)" = 0 ] || {
    echo "FAIL: a sensor without peers wrote lh:watermarks" >&2
    failed=1
}
echo "redis_peers: fan-in over three sensors, one late: $(wc -l <"$tmp/ref.alerts") alerts;" \
    "a missing peer lapsed after $took s"
exit $failed
