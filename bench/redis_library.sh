#!/usr/bin/env bash
# The functions library's CPU on the writer's real traffic, for two
# libraries in one run: the sensor replays CAPTURE once with one worker
# into a private redis-server that records every command (MONITOR); the
# library calls it sent (FCALL lh_batch, lh_settle, ...) are then sent
# again, pipelined, to a fresh server with library A, then one with B,
# alternating, RUNS times each. Prints the server CPU (/proc/PID/stat,
# clock ticks) of each run and the medians, with B over A. The same calls
# make the same state with either library as long as B keeps A's
# behaviour (the script checks that both answer no error and leave the
# same keys: tests/system/lib/redis_dump.py); the difference is the cost
# (docs/performance.md, "Redis").
#
# With --instructions, each server runs under valgrind's callgrind and the
# figure is the instructions it executed for the calls (counters zeroed
# after the library's load, dumped after the last reply): slow (about 40
# times the CPU) but the same from run to run, whatever the machine's
# speed at the time, so one run tells a change of a few percent apart.
#
# usage: bench/redis_library.sh [--instructions] LIB_A LIB_B [CAPTURE] [RUNS]
#   LIB_A, LIB_B: functions.lua files (build/generated/functions.lua of
#   two builds); CAPTURE default bench/work/gpu-fleet.pcap; RUNS default 5
#   (1 with --instructions)
set -euo pipefail
cd "$(dirname "$0")/.."
instr=
if [ "${1:-}" = --instructions ]; then
    instr=1
    shift
    command -v callgrind_control >/dev/null || { echo "bench: --instructions needs valgrind" >&2; exit 2; }
fi
liba=$1
libb=$2
cap=${3:-bench/work/gpu-fleet.pcap}
runs=${4:-${instr:+1}}
runs=${runs:-5}
[ -x build/loophole ] || { echo "bench: build first (scripts/build.sh)" >&2; exit 2; }
tmp=$(mktemp -d)
cleanup() {
    local s
    for s in "$tmp"/*/r.sock; do redis-cli -s "$s" shutdown nosave >/dev/null 2>&1 || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_server DIR [callgrind]: a private server in DIR, its pid on stdout
start_server() {
    mkdir -p "$1"
    if [ -n "${2:-}" ]; then
        valgrind --tool=callgrind --callgrind-out-file="$1/cg.out" redis-server --port 0 \
            --unixsocket "$1/r.sock" --save '' --appendonly no --dir "$1" --logfile "$1/log" \
            >/dev/null 2>"$1/valgrind" &
        echo $! >"$1/pid"
    else
        redis-server --port 0 --unixsocket "$1/r.sock" --save '' --appendonly no --dir "$1" \
            --daemonize yes --pidfile "$1/pid" --logfile "$1/log" >/dev/null
    fi
    for _ in $(seq 600); do redis-cli -s "$1/r.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
    cat "$1/pid"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# the recording
start_server "$tmp/rec" >/dev/null
redis-cli -s "$tmp/rec/r.sock" monitor >"$tmp/monitor" &
mon=$!
printf '[redis]\njournal = %s\n' "$tmp/journal" >"$tmp/conf"
build/loophole -c "$tmp/conf" -r "$cap" --threads 1 --user root --redis "unix://$tmp/rec/r.sock" \
    --alerts "$tmp/alerts" --stats 0 2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; exit 1; }
redis-cli -s "$tmp/rec/r.sock" ping >/dev/null # the last command is in the record
kill "$mon"
wait "$mon" 2>/dev/null || true
# MONITOR's quoted arguments back to RESP, the library calls only (the
# library itself is loaded by each run)
python3 - "$tmp/monitor" >"$tmp/calls.resp" <<'PY'
import sys
ESC = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b", "\\": b"\\", '"': b'"'}
def args(line):
    at = line.find('] "')
    s, out, j = line[at + 2:].rstrip("\n"), [], 0
    while at >= 0 and j < len(s):
        if s[j] != '"':
            j += 1
            continue
        j, buf = j + 1, bytearray()
        while s[j] != '"':
            if s[j] == "\\" and s[j + 1] == "x":
                buf.append(int(s[j + 2:j + 4], 16))
                j += 4
            elif s[j] == "\\":
                buf += ESC[s[j + 1]]
                j += 2
            else:
                buf += s[j].encode("latin-1")
                j += 1
        out.append(bytes(buf))
        j += 1
    return out
w = sys.stdout.buffer
for line in open(sys.argv[1], encoding="latin-1"):
    a = args(line)
    if len(a) > 1 and a[0].upper() == b"FCALL" and a[1] != b"lh_version":
        w.write(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
PY
ncalls=$(grep -c $'^FCALL\r$' "$tmp/calls.resp" || true)
echo "$(basename "$cap"): $ncalls library calls recorded, $(wc -l <"$tmp/alerts") alerts"

# run NAME LIB I: the calls against a fresh server with LIB; CPU ms, or
# millions of instructions with --instructions
run() {
    local dir="$tmp/$1$3" pid t0 t1 out
    pid=$(start_server "$dir" "$instr")
    redis-cli -s "$dir/r.sock" -x FUNCTION LOAD REPLACE <"$2" >/dev/null
    if [ -n "$instr" ]; then
        callgrind_control -z "$pid" >/dev/null 2>&1
    else
        t0=$(ticks "$pid")
    fi
    redis-cli -s "$dir/r.sock" --pipe <"$tmp/calls.resp" >"$dir/pipe" 2>&1
    if [ -n "$instr" ]; then
        callgrind_control -d "$pid" >/dev/null 2>&1
        out=$(awk '/^summary:/ {printf "%d", $2 / 1000000}' "$dir"/cg.out.*)
    else
        t1=$(ticks "$pid")
        out=$(((t1 - t0) * 1000 / $(getconf CLK_TCK)))
    fi
    grep -q "errors: 0," "$dir/pipe" || { echo "$1: errors: $(cat "$dir/pipe")" >&2; exit 1; }
    if [ "$3" = 1 ]; then
        python3 tests/system/lib/redis_dump.py "$dir/r.sock" >"$tmp/$1.dump"
    fi
    redis-cli -s "$dir/r.sock" shutdown nosave >/dev/null 2>&1 || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    echo "$out"
}
a=() b=()
for i in $(seq "$runs"); do
    a+=("$(run a "$liba" "$i")")
    b+=("$(run b "$libb" "$i")")
done
cmp -s "$tmp/a.dump" "$tmp/b.dump" || echo "warning: the two libraries leave different keys" >&2
python3 - "${a[*]}" "${b[*]}" "${instr:+M instructions}" <<'PY'
import statistics, sys
a, b = ([int(x) for x in s.split()] for s in sys.argv[1:3])
unit = sys.argv[3] or "ms"
ma, mb = statistics.median(a), statistics.median(b)
print("A: %s %s, median %d" % (" ".join(map(str, a)), unit, ma))
print("B: %s %s, median %d" % (" ".join(map(str, b)), unit, mb))
print("B/A: %.2f" % (mb / ma))
PY
