#!/usr/bin/env bash
# Runs a command beside a private redis-server, so that timing the whole
# (/usr/bin/time bench/with_redis.sh ...) counts the server's CPU too
# (docs/performance.md, "Redis").
#
# usage: bench/with_redis.sh COMMAND [ARG...]
#   $SOCK in the arguments (quoted, so the calling shell leaves it) names
#   the server's Unix socket, e.g.
#   bench/with_redis.sh build/bench_cluster 'unix://$SOCK' 100000 2 4
#
# The server: persistence off, in a fresh temporary directory, stopped
# with SHUTDOWN NOSAVE after the command, which the script waits for.
# With WITH_REDIS_CALLGRIND=FILE in the environment the server runs under
# valgrind's callgrind and leaves its instruction counts in FILE.
set -euo pipefail
dir=$(mktemp -d)
wrap=()
[ -n "${WITH_REDIS_CALLGRIND:-}" ] &&
    wrap=(valgrind --tool=callgrind --callgrind-out-file="$WITH_REDIS_CALLGRIND")
"${wrap[@]}" redis-server --port 0 --unixsocket "$dir/r.sock" --save '' --appendonly no \
    --dir "$dir" --logfile "$dir/log" 2>"$dir/wrap.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1000); do
    redis-cli -s "$dir/r.sock" ping >/dev/null 2>&1 && break
    sleep 0.02
done
SOCK=$dir/r.sock
args=()
for a in "$@"; do args+=("${a//\$SOCK/$SOCK}"); done
rc=0
"${args[@]}" || rc=$?
redis-cli -s "$SOCK" shutdown nosave >/dev/null 2>&1 || true
wait "$server" || true
exit $rc
