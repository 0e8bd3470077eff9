# shellcheck shell=bash
# Sourced by system tests: a scratch directory, the processes to stop when
# the test ends, and a private redis-server. The caller defines fail
# MESSAGE (report and exit).
#   scratch_init        tmp = a fresh directory (mode 755: run as root, the
#                       sensor works as an unprivileged user and must reach
#                       what is in it); pids = (); on exit every pid in
#                       pids is killed (SIGKILL) and tmp removed
#   redis_start [ARG...]
#                       starts redis-server on the Unix socket
#                       $tmp/redis.sock (mode 777) and no TCP port,
#                       persistence off, working in $tmp, logging to
#                       $tmp/redis.log, with ARG... added (e.g. --port N
#                       --bind 127.0.0.1, which replace the defaults);
#                       sets redis_sock and redis_pid, adds the pid to
#                       pids, and waits (5 s at most) for it to answer PING,
#                       or fails naming its log
#   redis_start_as NAME [ARG...]
#                       the same on $tmp/NAME.sock, logging to
#                       $tmp/NAME.log: for a test that needs several
#                       servers (redis_start is redis_start_as redis)
#   redis_cli ARG...    redis-cli on that socket (the last one started)
scratch_init() {
    tmp=$(mktemp -d)
    chmod 755 "$tmp"
    pids=()
    trap scratch_cleanup EXIT
}

scratch_cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true # reaped quietly: no "Killed" in the test's log
    done
    rm -rf "$tmp"
}

redis_start() { redis_start_as redis "$@"; }

redis_start_as() {
    local name=$1
    shift
    redis_sock=$tmp/$name.sock
    redis-server --port 0 --unixsocket "$redis_sock" --unixsocketperm 777 --save '' \
        --appendonly no --dir "$tmp" --daemonize no "$@" >>"$tmp/$name.log" 2>&1 &
    redis_pid=$!
    pids+=("$redis_pid")
    for _ in $(seq 100); do
        redis-cli -s "$redis_sock" ping 2>/dev/null | grep -qx PONG && return 0
        sleep 0.05
    done
    fail "redis-server $name did not start: $(cat "$tmp/$name.log")"
}

redis_cli() { redis-cli -s "$redis_sock" "$@"; }
