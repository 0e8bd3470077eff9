#!/usr/bin/env bash
# Redis's CPU for a whole replay: the sensor replays CAPTURE with one
# worker into a private redis-server on a Unix socket, then the script
# prints the server's INFO commandstats for FCALL and the inner commands,
# and the server's CPU time (/proc/PID/stat) over the run
# (docs/performance.md, "Redis").
#
# With --instructions the server runs under valgrind's callgrind and the
# script also prints the instructions it executed in all, loading the
# library included (about 1%): slow (about 30 times the CPU) but the same
# from run to run to within 0.1%, whatever the machine's speed at the
# time (docs/performance.md, "Windows that cannot qualify yet"); its CPU
# time is then valgrind's.
#
# usage: bench/redis_replay.sh [--instructions] CAPTURE [LOOPHOLE]
#   LOOPHOLE: the sensor binary (default build/loophole), e.g. one built
#   from another commit to compare
set -euo pipefail
instr=
if [ "${1:-}" = --instructions ]; then
    instr=1
    shift
    command -v valgrind >/dev/null || { echo "bench: --instructions needs valgrind" >&2; exit 2; }
fi
cap=$1
bin=${2:-build/loophole}
# the server: bench/with_redis.sh runs this script again with its socket
if [ $# -lt 3 ]; then
    # shellcheck disable=SC2016 # with_redis.sh puts its socket for $SOCK
    [ -n "$instr" ] || exec "$(dirname "$0")/with_redis.sh" "$0" "$cap" "$bin" '$SOCK'
    out=$(mktemp)
    # shellcheck disable=SC2016
    WITH_REDIS_CALLGRIND=$out "$(dirname "$0")/with_redis.sh" "$0" "$cap" "$bin" '$SOCK'
    sed -n 's/^summary: //p' "$out" | awk '{printf "server instructions: %.0f M\n", $1 / 1e6}'
    rm -f "$out"
    exit 0
fi
sock=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
server=$(redis-cli -s "$sock" INFO server | tr -d '\r' | sed -n 's/^process_id://p')
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
t0=$(ticks)
# a journal of its own: the default path is per user and sensor name
printf '[redis]\njournal = %s\n' "$dir/journal" >"$dir/conf"
"$bin" -c "$dir/conf" -r "$cap" --threads 1 --user root --redis "unix://$sock" \
    --alerts "$dir/alerts" --stats 0 2>"$dir/stderr" || { cat "$dir/stderr" >&2; exit 1; }
t1=$(ticks)
alerts=$(wc -l <"$dir/alerts")
redis-cli -s "$sock" INFO commandstats | tr -d '\r' | python3 -c '
import sys
hz, cpu, alerts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rows = []
for line in sys.stdin:
    if not line.startswith("cmdstat_"):
        continue
    name, rest = line[8:].split(":", 1)
    f = dict(kv.split("=") for kv in rest.strip().split(","))
    rows.append((int(f["usec"]), name, int(f["calls"])))
rows.sort(reverse=True)
fcall = [r for r in rows if r[1] == "fcall"]
inner = sum(r[0] for r in rows if r[1] not in ("fcall", "info", "ping", "function|load",
                                                  "hello", "client|setinfo", "command|docs"))
print("server CPU %.2f s; alerts %s" % (cpu / hz, alerts))
if fcall:
    u, _, c = fcall[0]
    print("fcall: %d calls, %d ms, %.0f us per call; inner commands %d ms" %
          (c, u / 1000, u / c, inner / 1000))
for u, name, c in rows[:14]:
    print("  %-16s %8d calls %8d ms" % (name, c, u / 1000))
' "$(getconf CLK_TCK)" $((t1 - t0)) "$alerts"
