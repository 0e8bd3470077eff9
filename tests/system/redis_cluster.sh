#!/bin/bash
# Several sensors sharing one Redis Cluster raise the alerts one sensor
# seeing everything raises (docs/redis.md, "Several sensors, one Redis
# Cluster").
#
# A local cluster (lib/cluster.sh: three primaries, three replicas). For
# each of the fan-out, fan-in, egress-to-controller and stepping-stone
# scenarios, a reference run replays the whole capture into a redis-server
# of its own; then three sensors, each with its own name, replay at the
# same time the part of the capture one mirror port would see, into the
# cluster (flushed between scenarios):
#   - split by GPU host (fan-out, egress, stepping stone): the BPF filter
#     of sensor k keeps the GPU hosts k, k+3, ...; the last sensor also
#     keeps every packet of no GPU host (the user's leg into a stepping
#     stone crosses no GPU host's port);
#   - split by flow (fan-in: one GPU host whose traffic is spread over
#     three links): sensor k keeps the packets whose last address bytes
#     sum to k modulo 3, the same for both directions of a flow.
# The three sensors name each other in [redis] peers, so none settles a
# window before the others have delivered their records of it (the shared
# watermark, docs/redis.md "Settling with several sensors"). The sensors'
# alerts together, and the cluster's lh:alerts stream, must be the
# reference's alert lines, each exactly once, byte for byte but for the
# "sensor" field, which names the sensor whose record the line was built
# from (lib/cluster_same.py). The hash lh:watermarks must then
# say every sensor is done. Then loophole alerts follows the cluster's
# stream, and one sensor's end-of-run summary read from the cluster equals
# the one it reads from a single server; that sensor connects as the ACL
# user docs/redis.md gives for a cluster.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
tmp=$(mktemp -d)
chmod 755 "$tmp" # run as root, the sensor reads the summary as an unprivileged user
ref_pid=
stop_all() {
    cluster_stop
    if [ -n "$ref_pid" ]; then
        kill "$ref_pid" 2>/dev/null || true
        wait "$ref_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap stop_all EXIT
. "$here/lib/cluster.sh"
corr_conf="$LOOPHOLE_SRC/tests/data/rules/corr.conf"

cluster_start

# The json fields of the cluster's lh:alerts stream, one a line.
stream_lines() {
    cluster_cli 0 -c XRANGE lh:alerts - + | awk 'take { print; take = 0 } $0 == "json" { take = 1 }'
}

# split_filters MODE GPU...: the three BPF filters, one a line.
split_filters() {
    local mode=$1 k i all=
    shift
    if [ "$mode" = flow ]; then
        for k in 0 1 2; do echo "ip and (ip[15] + ip[19]) % 3 = $k"; done
        return
    fi
    for i in "$@"; do all="$all${all:+ or }host $i"; done
    for k in 0 1 2; do
        local f= n=0
        for i in "$@"; do
            [ $((n % 3)) = $k ] && f="$f${f:+ or }host $i"
            n=$((n + 1))
        done
        [ $k = 2 ] && f="$f${f:+ or }not ($all)"
        echo "${f:-host 192.0.2.255}"
    done
}

fail=0

# The reference: one redis-server of its own on a Unix socket.
ref_start() {
    redis-server --port 0 --unixsocket "$tmp/ref.sock" --unixsocketperm 777 --save '' \
        --appendonly no --dir "$tmp" >"$tmp/ref.log" 2>&1 &
    ref_pid=$!
    for _ in $(seq 100); do
        redis-cli -s "$tmp/ref.sock" PING >/dev/null 2>&1 && break
        sleep 0.05
    done
}
ref_stop() {
    kill "$ref_pid"
    wait "$ref_pid" 2>/dev/null || true
    ref_pid=
    rm -f "$tmp/ref.sock"
}
# scenario NAME CONF MODE GPU...
scenario() {
    local name=$1 conf=$2 mode=$3 pids=() k filters
    shift 3
    local args=()
    [ "$conf" = corr ] && args=(-c "$corr_conf")
    "$LHGEN" "$name" "$tmp/$name.pcap" >/dev/null
    ref_start
    "$LOOPHOLE" "${args[@]}" -r "$tmp/$name.pcap" --sensor ref --threads 2 \
        --redis "unix://$tmp/ref.sock" --alerts "$tmp/$name.ref" 2>"$tmp/$name.ref.err" || {
        echo "FAIL: $name: the reference run failed: $(cat "$tmp/$name.ref.err")" >&2
        fail=1
    }
    ref_stop
    cluster_flush
    mapfile -t filters < <(split_filters "$mode" "$@")
    # the sensors' configuration: the scenario's, and the peers
    if [ "$conf" = corr ]; then cp "$corr_conf" "$tmp/$name.conf"; else : >"$tmp/$name.conf"; fi
    printf '\n[redis]\npeers = port0, port1, port2\n' >>"$tmp/$name.conf"
    for k in 0 1 2; do
        "$LOOPHOLE" -c "$tmp/$name.conf" -r "$tmp/$name.pcap" -f "${filters[$k]}" --sensor "port$k" \
            --threads 2 --redis "$cluster_url" --alerts "$tmp/$name.port$k" \
            2>"$tmp/$name.port$k.err" &
        pids+=($!)
    done
    for k in 0 1 2; do
        wait "${pids[$k]}" || {
            echo "FAIL: $name: sensor port$k failed: $(cat "$tmp/$name.port$k.err")" >&2
            fail=1
        }
    done
    stream_lines >"$tmp/$name.stream"
    python3 "$here/lib/cluster_same.py" "$tmp/$name.ref" "$tmp/$name.stream" \
        "$tmp/$name.port0" "$tmp/$name.port1" "$tmp/$name.port2" || {
        echo "FAIL: $name: the sensors sharing the cluster differ from one sensor" >&2
        fail=1
    }
    local state
    for k in 0 1 2; do
        state=$(cluster_cli 0 -c HGET lh:watermarks "port$k")
        case $state in
        "done "*) ;;
        *)
            echo "FAIL: $name: lh:watermarks says '$state' for port$k, not done" >&2
            fail=1
            ;;
        esac
        grep -q 'settling no longer waits' "$tmp/$name.port$k.err" && {
            echo "FAIL: $name: port$k stopped waiting for a peer: $(cat "$tmp/$name.port$k.err")" >&2
            fail=1
        }
    done
    local busy=0
    for k in 0 1 2; do
        [ -s "$tmp/$name.port$k" ] && busy=$((busy + 1))
    done
    echo "$name: $(wc -l <"$tmp/$name.ref") alerts, raised by $busy of the 3 sensors"
}

scenario rules-fanout plain gpu 104.171.200.17 104.171.201.9 216.153.50.21 209.20.156.33 \
    192.222.50.14
scenario rules-fanin plain flow
scenario egress-ctl corr gpu 104.171.200.17
scenario relay-hop corr gpu 104.171.200.17

# loophole alerts follows the stream of the cluster: the primary serving
# lh:alerts, found from a seed
n=$(wc -l <"$tmp/relay-hop.stream")
timeout 20 "$LOOPHOLE" alerts --redis "$cluster_url" --json --from 0 --count "$n" \
    >"$tmp/follow" 2>"$tmp/follow.err" || {
    echo "FAIL: loophole alerts on the cluster: $(cat "$tmp/follow.err")" >&2
    fail=1
}
cmp -s "$tmp/follow" "$tmp/relay-hop.stream" || {
    echo "FAIL: loophole alerts printed other lines than the stream holds" >&2
    fail=1
}
grep -q '"cluster_primaries":3' "$tmp/relay-hop.port0.err" 2>/dev/null ||
    redis-cli -c -p "${cluster_ports[0]}" HGET lh:stats:port0 cluster_primaries | grep -qx 3 || {
    echo "FAIL: the sensor's stats do not say it wrote to 3 primaries" >&2
    fail=1
}
# The end-of-run summary reads the keys of many slots: one sensor replaying
# the whole capture into the cluster sums up what it sums up on one server
# (one worker each: which leg of the stepping stone reaches Redis last
# still names the alert's time with several, README "The same answer").
for where in ref cl; do
    if [ $where = ref ]; then
        ref_start
        url="unix://$tmp/ref.sock"
    else
        cluster_flush
        # as the ACL user docs/redis.md gives for a cluster (its text, set on
        # every node): what that user may not do would leave alerts out
        acl=$(sed -n '/^ACL SETUSER sensor on >PASSWORD ~lh:\* ~{lh:\*/,/^```/p' \
            "$LOOPHOLE_SRC/docs/redis.md" | grep -v '^```' | tr -d '\\\n' | sed 's/>PASSWORD/>pw/')
        read -ra acl <<<"$acl"
        [ "${#acl[@]}" -gt 10 ] || { echo "FAIL: no cluster ACL in docs/redis.md" >&2; fail=1; }
        for i in "${!cluster_ports[@]}"; do
            cluster_cli "$i" "${acl[@]}" >/dev/null
        done
        url="redis+cluster://sensor:pw@127.0.0.1:${cluster_ports[0]},127.0.0.1:${cluster_ports[1]}"
    fi
    "$LOOPHOLE" -c "$corr_conf" -r "$tmp/relay-hop.pcap" --sensor ref --threads 1 \
        --redis "$url" --alerts /dev/null --summary "$tmp/relay-hop.$where.sum" 2>"$tmp/sum.err" || {
        echo "FAIL: the $where run with --summary failed: $(cat "$tmp/sum.err")" >&2
        fail=1
    }
    [ $where = ref ] && ref_stop
done
python3 - "$tmp/relay-hop.ref.sum" "$tmp/relay-hop.cl.sum" <<'PY' || fail=1
import json, sys
ref, got = (json.load(open(p)) for p in sys.argv[1:3])
if ref.get("alerts", 0) < 1:
    sys.exit("FAIL: the reference summary holds no alert")
if ref != got:
    sys.exit("FAIL: the summary read from the cluster differs from one server's")
PY
exit $fail
