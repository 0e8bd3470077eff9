#!/bin/bash
# SIGTERM and SIGINT in the middle of a stream flush everything.
#
# The sensor reads a capture from a FIFO that stops after its first
# packets and stays open, so the signal arrives mid-stream, with flows
# open. For each of SIGTERM and SIGINT it must exit 0 with a record for
# every flow it saw (their packets add up to those fed), and deliver its
# queued events to the Redis the test started: as many entries in the flow
# stream as records, and the final counters in the stats hash.
#
# Then the Redis goes away mid-run: the events of the rest of the run must
# land in the journal (kept, not dropped) when the sensor is stopped, and
# the next run against the Redis, back again, must replay them into it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib/scratch.sh
. "$here/lib/scratch.sh"
fail() { echo "FAIL: signals: $*" >&2; [ -f "$tmp/err" ] && cat "$tmp/err" >&2; exit 1; }
scratch_init

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_redis() { redis_start --port "$port" --bind 127.0.0.1; }
cli() { redis-cli -p "$port" "$@"; }
records_pkts() {
    python3 -c 'import json,sys; print(sum(d["pkts_c2s"]+d["pkts_s2c"] for d in map(json.loads, open(sys.argv[1]))))' "$1"
}
wait_packets() { # wait_packets N
    for _ in $(seq 150); do
        [ "$(python3 "$here/lib/laststat.py" packets "$tmp/err")" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "the sensor did not count $1 packets"
}

"$LHGEN" sample "$tmp/sample.pcap" >/dev/null
"$LHGEN" ssh "$tmp/ssh.pcap" >/dev/null
fed=4000
start_redis
cat >"$tmp/lh.conf" <<CONF
[redis]
url = redis://127.0.0.1:$port
journal = $tmp/journal
flows = yes
CONF

# A sensor reading FIFO (fed FED packets of PCAP) in the background;
# sets sensor_pid and feeder_pid.
start_fed() { # start_fed PCAP FED NAME
    rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
    : >"$tmp/err"
    python3 "$here/lib/feed.py" "$1" "$2" "$tmp/fifo" &
    feeder_pid=$!
    pids+=("$feeder_pid")
    "$LOOPHOLE" -c "$tmp/lh.conf" -r - --threads 2 --stats 1 --sensor "$3" \
        --flows "$tmp/$3.json" <"$tmp/fifo" 2>"$tmp/err" &
    sensor_pid=$!
    pids+=("$sensor_pid")
}

for sig in TERM INT; do
    name=sig$sig
    start_fed "$tmp/sample.pcap" "$fed" "$name"
    wait_packets "$fed"
    kill -"$sig" "$sensor_pid"
    rc=0
    wait "$sensor_pid" || rc=$?
    kill "$feeder_pid" 2>/dev/null || true
    [ "$rc" -eq 0 ] || fail "SIG$sig: exit status $rc"
    got=$(records_pkts "$tmp/$name.json")
    [ "$got" -eq "$fed" ] || fail "SIG$sig: records count $got packets of $fed"
    nrec=$(wc -l <"$tmp/$name.json")
    streamed=$(python3 - "$port" "$name" <<'PY'
import subprocess, sys, json
out = subprocess.run(["redis-cli", "-p", sys.argv[1], "--raw", "XRANGE", "lh:flows", "-", "+"],
                     capture_output=True, text=True).stdout
print(sum(1 for l in out.splitlines() if l.startswith("{") and json.loads(l).get("sensor") == sys.argv[2]))
PY
)
    [ "$streamed" -eq "$nrec" ] || fail "SIG$sig: $nrec records but $streamed in the stream lh:flows"
    [ "$(cli HGET "lh:stats:$name" packets)" = "$fed" ] || fail "SIG$sig: stats hash lacks the final count"
    echo "signals: SIG$sig: exit 0, $nrec records ($got packets), all in Redis"
done

# Redis goes away mid-run: the rest is journaled, then replayed.
start_fed "$tmp/ssh.pcap" 200 away
wait_packets 200
kill -9 "$redis_pid"
wait "$redis_pid" 2>/dev/null || true
# The next stats publish (every second) finds no Redis: the sensor says so
# and journals from then on. Stopped only once it has, so what is checked
# below is the mid-run path, not only the one at exit.
for _ in $(seq 300); do
    grep -q 'events go to the journal' "$tmp/err" && break
    kill -0 "$sensor_pid" 2>/dev/null || fail "Redis away: the sensor ended before it was stopped"
    sleep 0.1
done
grep -q 'events go to the journal' "$tmp/err" || fail "Redis away: the sensor never said Redis is unavailable"
kill -TERM "$sensor_pid"
rc=0
wait "$sensor_pid" || rc=$?
kill "$feeder_pid" 2>/dev/null || true
[ "$rc" -eq 0 ] || fail "Redis away: exit status $rc (events journaled are not lost)"
journaled=$(python3 "$here/lib/laststat.py" events_journaled "$tmp/err")
dropped=$(python3 "$here/lib/laststat.py" events_dropped "$tmp/err")
[ -s "$tmp/journal" ] || fail "Redis away: no journal left in $tmp/journal"
[ "$dropped" -eq 0 ] || fail "Redis away: $dropped events dropped"
[ "$journaled" -gt 0 ] || fail "Redis away: no event journaled at the final report"
echo "signals: Redis away: journal kept ($(stat -c %s "$tmp/journal") bytes, $journaled events at the last report)"

start_redis
"$LOOPHOLE" -c "$tmp/lh.conf" -r "$tmp/ssh.pcap" --threads 1 --stats 1 --sensor after \
    2>"$tmp/err" >/dev/null || fail "run after Redis came back"
replayed=$(python3 "$here/lib/laststat.py" events_replayed "$tmp/err")
[ "$replayed" -gt 0 ] || fail "the journal was not replayed"
streamed=$(cli --raw XRANGE lh:flows - + | grep -c '"sensor":"away"' || true)
[ "$streamed" -eq "$(wc -l <"$tmp/away.json")" ] ||
    fail "after the replay: $streamed of $(wc -l <"$tmp/away.json") records of the away run in Redis"
[ "$(python3 "$here/lib/laststat.py" journal_bytes "$tmp/err")" -eq 0 ] ||
    fail "the journal still holds events after its replay"
echo "signals: journal replayed: $replayed events, the away run's $streamed records in Redis"
