# Sourced by the Redis Cluster system tests. Needs a temporary directory in
# $tmp. A local cluster of three primaries and three replicas on free
# loopback ports (each node's cluster bus on another free port).
#   cluster_start      starts it, joins it, waits (bounded) for state ok;
#                      sets cluster_ports (node ports) and cluster_url
#   cluster_stop       stops every node (by pid); call it from the trap
#   cluster_cli N ...  redis-cli on node N (0-5)
#   cluster_primaries  the ports of the current primaries
#   cluster_flush      FLUSHALL on every primary
#   cluster_wait_ok    waits until every live node says cluster_state:ok
#   cluster_story      prints, to stderr, what each node logged about roles,
#                      failovers and replication (for a failing test)
cluster_pids=()
cluster_ports=()
cluster_url=

cluster_free_ports() { # N: N distinct free loopback ports
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

cluster_cli() {
    local n=$1
    shift
    redis-cli -h 127.0.0.1 -p "${cluster_ports[$n]}" "$@"
}

cluster_wait_ok() {
    local i ok
    for _ in $(seq 200); do
        ok=1
        for i in "${!cluster_ports[@]}"; do
            [ -n "${cluster_pids[$i]}" ] || continue
            cluster_cli "$i" CLUSTER INFO 2>/dev/null | grep -q 'cluster_state:ok' || ok=0
        done
        [ $ok = 1 ] && return 0
        sleep 0.1
    done
    echo "FAIL: the cluster did not reach state ok" >&2
    return 1
}

# cluster_wait_replicas: every primary has its replica attached and in
# sync, and the node the sensor asks first knows all three replicas (its
# CLUSTER NODES lists them). The sensor WAITs for a replica only on
# primaries that have one (by their ROLE: CLUSTER SLOTS leaves a replica
# out until its offset moves), so a replay started before the replicas
# attach would not be failover-safe.
cluster_wait_replicas() {
    local i ok
    for _ in $(seq 300); do
        ok=1
        for i in "${!cluster_ports[@]}"; do
            [ -n "${cluster_pids[$i]}" ] || continue
            local info
            info=$(cluster_cli "$i" INFO replication 2>/dev/null | tr -d '\r')
            if grep -q '^role:master' <<<"$info"; then
                grep -q '^connected_slaves:1' <<<"$info" && grep -q 'state=online' <<<"$info" || ok=0
            fi
        done
        [ $ok = 1 ] && [ "$(cluster_cli 0 CLUSTER NODES 2>/dev/null | grep -c ' slave ')" = 3 ] &&
            return 0
        sleep 0.1
    done
    echo "FAIL: the cluster's replicas did not attach" >&2
    return 1
}

cluster_start() {
    local ports i addrs=()
    read -r -a ports <<<"$(cluster_free_ports 12)"
    for i in 0 1 2 3 4 5; do
        cluster_ports[$i]=${ports[$i]}
        mkdir -p "$tmp/node$i"
        redis-server --port "${ports[$i]}" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-port "${ports[$((i + 6))]}" --cluster-config-file nodes.conf \
            --cluster-node-timeout 1000 --cluster-replica-validity-factor 0 \
            --save '' --appendonly no --dir "$tmp/node$i" >"$tmp/node$i/log" 2>&1 &
        cluster_pids[$i]=$!
        addrs+=("127.0.0.1:${ports[$i]}")
    done
    for i in 0 1 2 3 4 5; do
        for _ in $(seq 100); do
            cluster_cli "$i" PING >/dev/null 2>&1 && break
            sleep 0.05
        done
    done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$tmp/create.log" 2>&1 || {
        echo "FAIL: redis-cli --cluster create:" >&2
        cat "$tmp/create.log" >&2
        return 1
    }
    cluster_wait_ok || return 1
    cluster_wait_replicas || return 1
    cluster_url="redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}"
}

cluster_stop() {
    local p
    for p in "${cluster_pids[@]}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    for p in "${cluster_pids[@]}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
    cluster_pids=()
}

cluster_primaries() {
    local i
    for i in "${!cluster_ports[@]}"; do
        [ -n "${cluster_pids[$i]}" ] || continue
        if cluster_cli "$i" ROLE 2>/dev/null | head -1 | grep -qx master; then
            echo "$i"
        fi
    done
}

cluster_flush() {
    local i
    for i in $(cluster_primaries); do
        cluster_cli "$i" FLUSHALL >/dev/null
    done
}

# What each node said about its role and its replication, in order: enough
# to tell afterwards which node served what when a test failed (a failover
# nobody asked for, a replica that had not synced when it was promoted).
cluster_story() {
    local i
    for i in "${!cluster_ports[@]}"; do
        echo "--- node $i (port ${cluster_ports[$i]}, pid ${cluster_pids[$i]:-none: killed})" >&2
        grep -E 'ailover|FAIL|MASTER|master|SYNC|sync|Connection with|Marking|configEpoch|election|Setting secondary' \
            "$tmp/node$i/log" 2>/dev/null | cut -c1-200 | tail -25 >&2 || true
    done
}
