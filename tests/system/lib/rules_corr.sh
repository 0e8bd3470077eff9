# Sourced by tests/system/rules_corr_*.sh. Needs LOOPHOLE, LHGEN,
# LOOPHOLE_SRC and a temporary directory in $tmp.
#   corr_replay PCAP OUT [ARGS...]  one replay with the rules' test config
#   corr_redis_start                a redis-server of our own on $tmp/redis.sock
#   corr_redis_stop                 stops it (by its pid)
#   corr_check ARGS...              tests/system/lib/rules_corr.py ARGS
#   corr_threads_and_replay PCAP NAME  every worker count, then twice into Redis
corr_conf="$LOOPHOLE_SRC/tests/data/rules/corr.conf"
corr_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corr_redis_pid=

corr_replay() {
    local pcap=$1 out=$2
    shift 2
    if ! "$LOOPHOLE" -r "$pcap" -c "$corr_conf" --sensor "t$$" --alerts "$out" "$@" 2>"$out.err"; then
        echo "FAIL: loophole on $(basename "$pcap"):" >&2
        cat "$out.err" >&2
        return 1
    fi
}

corr_redis_start() {
    redis-server --port 0 --unixsocket "$tmp/redis.sock" --save '' --appendonly no \
        --dir "$tmp" >"$tmp/redis.log" 2>&1 &
    corr_redis_pid=$!
    for _ in $(seq 100); do
        redis-cli -s "$tmp/redis.sock" PING >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "FAIL: redis-server did not start" >&2
    return 1
}

corr_redis_stop() {
    if [ -n "$corr_redis_pid" ]; then
        kill "$corr_redis_pid" 2>/dev/null || true
        wait "$corr_redis_pid" 2>/dev/null || true
        corr_redis_pid=
    fi
}

# shellcheck source=tests/system/lib/threads_matrix.sh
. "$corr_lib/threads_matrix.sh"

corr_check() {
    python3 "$corr_lib/rules_corr.py" "$@"
}

# The same alert lines, byte for byte, with --threads 1, 2, 4 and 8, three
# runs each (lib/threads_matrix.sh), and a second replay of the capture
# into the same Redis raises nothing again.
corr_threads_and_replay() {
    local pcap=$1 name=$2
    corr_replay "$pcap" "$tmp/$name.t1" --threads 1 || return 1
    threads_matrix "$tmp/$name.t1" "$name" -r "$pcap" -c "$corr_conf" --sensor "t$$" || return 1
    corr_redis_start || return 1
    corr_replay "$pcap" "$tmp/$name.r1" --threads 4 --redis "unix://$tmp/redis.sock" || return 1
    corr_replay "$pcap" "$tmp/$name.r2" --threads 2 --redis "unix://$tmp/redis.sock" || return 1
    corr_redis_stop
    corr_check same "$tmp/$name.t1" "$tmp/$name.r1" || return 1
    if [ -s "$tmp/$name.r2" ]; then
        echo "FAIL: $name: a second replay into the same Redis raised again:" >&2
        cat "$tmp/$name.r2" >&2
        return 1
    fi
}
