#!/usr/bin/env bash
# Events per second through the loophole functions, pipelined, beside
# redis-benchmark's plain SET on the same server in the same run.
#
# usage: bench/redis_bench.sh [REQUESTS] [PIPELINE] [LIBRARY]
#
# One private redis-server on a Unix socket (persistence off), the library
# LIBRARY (default build/generated/functions.lua: rules/lua/ concatenated;
# another build's, to compare) loaded with FUNCTION LOAD REPLACE, then
# redis-benchmark (one client, so the figures compare one writer thread's
# view) for:
#   SET                 the reference
#   lh_observe exact    an observation into a window's sorted set, random
#                       entity (__rand_int__) and value, no threshold
#   lh_observe approx   the same into a HyperLogLog
#   lh_observe+alert    threshold 1: every call records a fact of its
#                       alert window (the alert itself is decided later,
#                       by lh_settle)
#   batch64_entities    FCALL lh_batch of 64 count-only exact observations,
#                       each of a random entity (one window key each)
#   batch64_one_entity  the same, all of one entity (one key, random values)
#   short64_entities, short64_one_entity
#                       the same two in the short form `obs` the writer
#                       sends count-only observations in (when LIBRARY has it)
# Prints requests per second (for the batches: observations per second,
# 64 a request) and the ratio to SET, and the server's CPU time per
# request or observation (/proc/PID/stat, clock ticks: coarse, use enough
# REQUESTS) with SET's CPU per request over it: the rate the library would
# absorb, relative to SET, with a core to itself, which wall rates on a
# busy machine do not show.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
pipe=${2:-64}
lib=${3:-build/generated/functions.lua}
tmp=$(mktemp -d)
trap 'redis-cli -s "$tmp/r.sock" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
redis-server --port 0 --unixsocket "$tmp/r.sock" --save '' --appendonly no --dir "$tmp" \
    --daemonize yes --logfile "$tmp/log" >/dev/null
for _ in $(seq 100); do redis-cli -s "$tmp/r.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -s "$tmp/r.sock" -x FUNCTION LOAD REPLACE <"$lib" >/dev/null
# the short form `obs` of lh_batch: library 10 and later
short=$(grep -q "^local function short_obs" "$lib" && echo 1 || echo 0)

server=$(redis-cli -s "$tmp/r.sock" INFO server | tr -d '\r' | sed -n 's/^process_id://p')
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
# rps NAME ARGS... -> "NAME requests/s server-CPU-ticks requests"
rps() {
    local name=$1 t0 r
    shift
    t0=$(ticks)
    r=$(redis-benchmark -s "$tmp/r.sock" -c 1 -n "$n" -P "$pipe" -r 1000000 -q "$@" |
        tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
    echo "$name $r $(($(ticks) - t0)) $n"
}
# rps_batch CALLS NAME ARGS... -> the same per observation: CALLS a request
rps_batch() {
    local calls=$1 name=$2
    shift 2
    rps "$name" "$@" | awk -v c="$calls" '{ print $1, $2 * c, $3, $4 * c }'
}
keys=(4 'lh:{e:10.0.__rand_int__}' lh:host:x lh:risk lh:alerts)
obs=(ev e1 ts_us 1700000000000000 window_us 3600000000 cap 10000 ttl_s 10800)
# the alert part as rules/event.c sends it (event_alert_args): the line's
# members the sensor knows, each a JSON value (rules/lua/05_line.lua
# builds the line from them)
alert=(rule r severity high score 10 ip 10.0.0.1 role controller ts 2023-11-14T22:13:20.000000Z
    maxlen 100000 keep_s 7200 channel lh:alerts:live
    line:sensor '"bench"' line:evidence '[]' line:summary '"s"')
# lh_batch of B count-only observations, each of its own entity (random:
# one window key each) or all of one entity (one key, B values)
batch() { # batch B ENTITY
    local b=$1 ent=$2 i bk=() ba=()
    for ((i = 0; i < b; i++)); do
        bk+=("lh:{e:$ent}" lh:host:x lh:risk lh:alerts)
        ba+=(lh_observe 4 18 "${obs[@]}" kind hosts value v__rand_int__ mode exact threshold 0)
    done
    echo FCALL lh_batch $((4 * b)) "${bk[@]}" "$b" "${ba[@]}"
}
# the same in the short form the writer sends (obs: one key, six arguments)
batch_short() { # batch_short B ENTITY
    local b=$1 ent=$2 i bk=() ba=()
    for ((i = 0; i < b; i++)); do
        bk+=("lh:{e:$ent}")
        ba+=(obs 1 6 hosts v__rand_int__ 1700000000000000 3600000000 10000 10800)
    done
    echo FCALL lh_batch "$b" "${bk[@]}" "$b" "${ba[@]}"
}
{
    rps SET -t set
    rps lh_observe_exact FCALL lh_observe "${keys[@]}" "${obs[@]}" kind hosts value v__rand_int__ \
        mode exact threshold 0
    rps lh_observe_approx FCALL lh_observe "${keys[@]}" "${obs[@]}" kind clients \
        value v__rand_int__ mode approx threshold 0
    rps lh_observe_alert FCALL lh_observe "${keys[@]}" "${obs[@]}" kind hosts value v__rand_int__ \
        mode exact threshold 1 "${alert[@]}"
    # shellcheck disable=SC2046 # batch prints the words of one command
    n=$((n / 64)) rps_batch 64 batch64_entities $(batch 64 '10.0.__rand_int__')
    # shellcheck disable=SC2046
    n=$((n / 64)) rps_batch 64 batch64_one_entity $(batch 64 10.0.0.1)
    if [ "$short" = 1 ]; then
        # shellcheck disable=SC2046
        n=$((n / 64)) rps_batch 64 short64_entities $(batch_short 64 '10.0.__rand_int__')
        # shellcheck disable=SC2046
        n=$((n / 64)) rps_batch 64 short64_one_entity $(batch_short 64 10.0.0.1)
    fi
} | awk -v n="$n" -v p="$pipe" -v hz="$(getconf CLK_TCK)" '
    { name[NR] = $1; r[NR] = $2; cpu[NR] = $3 * 1e6 / hz / $4 }
    END {
        printf "%d requests each, pipeline %d, one client, Unix socket\n", n, p
        printf "%-20s %14s %8s %16s %10s\n", "command", "observations/s", "vs SET",
            "server CPU us/obs", "SET/obs CPU"
        for (i = 1; i <= NR; i++)
            printf "%-20s %14.0f %7.2fx %16.2f %9.2fx\n", name[i], r[i], r[i] / r[1], cpu[i],
                (cpu[i] > 0 ? cpu[1] / cpu[i] : 0)
    }'
redis-server --version | cut -d' ' -f1-3
