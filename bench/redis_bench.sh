#!/usr/bin/env bash
# Events per second through the loophole functions, pipelined, beside
# redis-benchmark's plain SET on the same server in the same run.
#
# usage: bench/redis_bench.sh [REQUESTS] [PIPELINE]
#
# One private redis-server on a Unix socket (persistence off), the library
# from build/generated/functions.lua (rules/lua/ concatenated) loaded
# with FUNCTION LOAD REPLACE, then
# redis-benchmark (one client, so the figures compare one writer thread's
# view) for:
#   SET                 the reference
#   lh_observe exact    an observation into a window's sorted set, random
#                       entity (__rand_int__) and value, no threshold
#   lh_observe approx   the same into a HyperLogLog
#   lh_observe+alert    threshold 1: every call raises or finds its dedup
#                       record (random entity: mostly raises: XADD, ZADD,
#                       HSET, PUBLISH)
# Prints requests per second and the ratio to SET.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
pipe=${2:-64}
tmp=$(mktemp -d)
trap 'redis-cli -s "$tmp/r.sock" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
redis-server --port 0 --unixsocket "$tmp/r.sock" --save '' --appendonly no --dir "$tmp" \
    --daemonize yes --logfile "$tmp/log" >/dev/null
for _ in $(seq 100); do redis-cli -s "$tmp/r.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -s "$tmp/r.sock" -x FUNCTION LOAD REPLACE <build/generated/functions.lua >/dev/null

rps() { # rps NAME ARGS... -> "NAME rps"
    local name=$1
    shift
    local r
    r=$(redis-benchmark -s "$tmp/r.sock" -c 1 -n "$n" -P "$pipe" -r 1000000 -q "$@" |
        tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
    echo "$name $r"
}
keys=(4 'lh:{e:10.0.__rand_int__}' lh:host:x lh:risk lh:alerts)
alert=(r high 10 10.0.0.1 controller 2023-11-14T22:13:20.000000Z 100000 lh:alerts:live
       '{"ts":"2023-11-14T22:13:20.000000Z","event_type":"alert","rule":"r"}')
{
    rps SET -t set
    rps lh_observe_exact FCALL lh_observe "${keys[@]}" ev 1700000000000000 hosts \
        v__rand_int__ 3600000000 exact 10000 7200 0
    rps lh_observe_approx FCALL lh_observe "${keys[@]}" ev 1700000000000000 clients \
        v__rand_int__ 3600000000 approx 10000 7200 0
    rps lh_observe_alert FCALL lh_observe "${keys[@]}" ev__rand_int__ 1700000000000000 hosts \
        v 3600000000 exact 10000 7200 1 "${alert[@]}"
} | awk -v n="$n" -v p="$pipe" '
    { name[NR] = $1; r[NR] = $2 }
    END {
        printf "%d requests each, pipeline %d, one client, Unix socket\n", n, p
        printf "%-20s %14s %10s\n", "command", "requests/s", "vs SET"
        for (i = 1; i <= NR; i++)
            printf "%-20s %14.0f %9.2fx\n", name[i], r[i], r[i] / r[1]
    }'
redis-server --version | cut -d' ' -f1-3
