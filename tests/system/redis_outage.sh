#!/usr/bin/env bash
# Redis killed in the middle of a replay: every alert arrives exactly once,
# in order (docs/redis.md, "Outages: queues, journal, replay").
#
# The capture repeats five rules-* scenarios eight times, each copy a day
# later in packet time, so it raises 128 alerts, each its own (rule,
# entity, window). A reference run replays it with one worker into a fresh
# database of a server that stays up. "Exactly once, in order" means: the
# alert lines a run writes are the reference's lines, each once, in the
# reference's order (with one worker the events reach the writer in one
# queue, so the order in which the library raises the alerts is fixed), and
# the json fields of the lh:alerts stream are those same lines in that same
# order.
#
# The capture reaches the sensor through a pipe (-r -) from
# lib/pcapfeed.py, which stops at given points until the test lets it go on:
#
# 1. Outage mid-replay. After 40 % of the packets (and once alerts have
#    arrived) redis-server is killed with SIGKILL; the next 30 % are read
#    while it is down, so events go to the journal; then the server
#    restarts on the same socket, the writer reconnects and replays the
#    journal (which must raise alerts: alert calls were journaled), and the
#    rest follows. The sensor must exit 0 and report the outage: journaled
#    > 0, replayed == journaled, dropped == rejected == 0 in its last
#    --stats line (lh:stats:<sensor> counts journaled events too), the
#    outage and the return on stderr, and the emptied journal removed. (Events arriving while the
#    writer replays are left to tests/unit/test_redis_writer.c: the pause
#    here makes the alerts of the journal observable.)
# 2. Still down at the end. The server is killed after 40 % and comes back
#    only after the sensor has exited. That run exits 0 (an outage loses
#    nothing, README "Exit codes") and says how many events stay in its
#    journal: the default one of --redis, /var/tmp/loophole-<uid>-<sensor>
#    .journal (app/sensor.c sensor_journal_path). A second run of the same
#    sensor with an empty capture replays it and removes it; the two runs'
#    alert lines together, and the stream, are the reference.
#
# Why the server keeps its data set across the kill (appendonly yes,
# appendfsync always): the library's dedup records (K:alert:...) and the
# distinct-count sets of open windows live in Redis. Redis with persistence
# off comes back empty, and then an alert raised before the kill would be
# raised again by a later event of its window, and a threshold count would
# restart at zero; no client can make that exactly once. With an AOF synced
# before each reply, every call whose reply the sensor saw survives the
# kill; a call that ran without its reply reaching the sensor either
# survived (the resent call gets its alert back from the dedup record,
# without a second stream entry) or vanished with the server (the resent
# call raises it for the first time). Either way it arrives once. (With
# --appendonly no this test fails: alerts go missing and others change.)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"

tmp=$(mktemp -d)
sensor=outage-test-$$
# the uid in the name is the one the sensor runs as once it has dropped
# its privileges (the loophole user, or nobody, when started as root)
run_uid=$(id -u)
if [ "$run_uid" -eq 0 ]; then
    run_uid=$(id -u loophole 2>/dev/null || id -u nobody)
fi
journal2=/var/tmp/loophole-$run_uid-$sensor.journal
redis_pid=
run_pids=()
cleanup() {
    for p in "${run_pids[@]}" $redis_pid; do
        kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
    rm -f "$journal2"
}
trap cleanup EXIT
fail() {
    echo "redis_outage: FAIL: $*" >&2
    exit 1
}

sock=$tmp/redis/redis.sock
mkdir "$tmp/redis" "$tmp/ctl1" "$tmp/ctl2"
# Run as root, the sensor works as an unprivileged user, and must reach
# the socket again after the restart, and remove its emptied journal (the
# test directory is sticky and open to all, as /var/tmp is).
chmod 1777 "$tmp"
chmod 755 "$tmp/redis"
cli() { redis-cli -s "$sock" "$@"; }

start_redis() {
    redis-server --port 0 --unixsocket "$sock" --unixsocketperm 777 --dir "$tmp/redis" \
        --save '' --appendonly yes --appendfsync always --daemonize no \
        >>"$tmp/redis/log" 2>&1 &
    redis_pid=$!
    wait_for "redis-server to answer PING" 10 '[ "$(cli ping 2>/dev/null)" = PONG ]'
}
kill_redis() {
    kill -9 "$redis_pid"
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
}

. "$here/lib/wait.sh"
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# the capture
args=()
for s in rules-fanout rules-relay rules-mix4 rules-fanin rules-tunnel; do
    "$LHGEN" "$s" "$tmp/$s.pcap" >/dev/null
done
for _ in 1 2 3 4 5 6 7 8; do
    for s in rules-fanout rules-relay rules-mix4 rules-fanin rules-tunnel; do
        args+=("$tmp/$s.pcap")
    done
done
python3 "$here/lib/pcapdays.py" "$tmp/cap.pcap" "${args[@]}"
total=$(python3 "$here/lib/pcapcount.py" "$tmp/cap.pcap")
head -c 24 "$tmp/cap.pcap" >"$tmp/empty.pcap"

start_redis

# the reference: database 1, no outage
"$LOOPHOLE" -r "$tmp/cap.pcap" --threads 1 --redis "unix://$sock?db=1" --sensor "$sensor" \
    --alerts "$tmp/ref.alerts" 2>"$tmp/ref.err" || fail "reference run: $(cat "$tmp/ref.err")"
nref=$(lines "$tmp/ref.alerts")
if [ "$nref" -lt 100 ]; then
    # the rules need countries: the default geo database must be built
    grep -q "no geo database" "$tmp/ref.err" &&
        fail "the capture raises only $nref alerts: no default geo database (run scripts/geo-db.sh)"
    fail "the capture raises only $nref alerts"
fi
python3 -c '
import json, sys
keys = [(a["rule"], a["entity"]["ip"], a["id"])
        for a in map(json.loads, open(sys.argv[1]))]
sys.exit(len(set(keys)) != len(keys))' "$tmp/ref.alerts" ||
    fail "the reference raises one (rule, entity, window) twice"

# stream_lines DB: the json field of every lh:alerts entry, in stream order
stream_lines() {
    python3 - "$sock" "$1" <<'PY'
import subprocess, sys
out = subprocess.run(["redis-cli", "-s", sys.argv[1], "-n", sys.argv[2], "--raw",
                      "XRANGE", "lh:alerts", "-", "+"], capture_output=True, check=True).stdout
rows = out.split(b"\n")
for i, r in enumerate(rows):
    if r == b"json":
        sys.stdout.buffer.write(rows[i + 1] + b"\n")
PY
}
stream_lines 1 >"$tmp/ref.stream"
cmp -s "$tmp/ref.stream" "$tmp/ref.alerts" || fail "reference: lh:alerts differs from the alerts file"

# same_as_reference WHAT FILE: FILE holds the reference's lines, in order
same_as_reference() {
    cmp -s "$2" "$tmp/ref.alerts" && return 0
    python3 - "$tmp/ref.alerts" "$2" <<'PY' >&2 || true
import collections, sys
ref, got = (open(p).read().splitlines() for p in sys.argv[1:])
dup = [l for l, n in collections.Counter(got).items() if n > 1]
print(f"{len(got)} lines, reference {len(ref)}; {len(dup)} repeated, "
      f"{len(set(ref) - set(got))} missing, {len(set(got) - set(ref))} not in the "
      "reference; "
      f"{'same set, other order' if sorted(ref) == sorted(got) else 'different lines'}")
PY
    fail "$1 differs from the reference run"
}

# ---- 1. killed mid-replay, restarted mid-replay --------------------------
printf '[redis]\njournal = %s\n' "$tmp/journal1" >"$tmp/lh1.conf"
mkfifo "$tmp/feed1"
python3 "$here/lib/pcapfeed.py" "$tmp/cap.pcap" "$tmp/ctl1" 0.4 0.7 1 >"$tmp/feed1" &
feed_pid=$!
run_pids+=("$feed_pid")
"$LOOPHOLE" -c "$tmp/lh1.conf" -r - --threads 1 --redis "unix://$sock" --sensor "$sensor" \
    --stats 1 --alerts "$tmp/out1.alerts" <"$tmp/feed1" 2>"$tmp/out1.err" &
lh_pid=$!
run_pids+=("$lh_pid")

wait_for "the first 40 % of the capture" 20 '[ -s "$tmp/ctl1/fed.1" ]'
wait_for "alerts before the outage" 20 '[ "$(stat_of alerts "$tmp/out1.err")" -ge 20 ]'
kill_redis
[ "$(stat_of alerts "$tmp/out1.err")" -lt "$nref" ] ||
    fail "every alert arrived before the outage: nothing left to test"
touch "$tmp/ctl1/go.1"
wait_for "70 % of the capture" 20 '[ -s "$tmp/ctl1/fed.2" ]'
n2=$(cat "$tmp/ctl1/fed.2")
# the sensor has read those packets and the writer has journaled events
wait_for "the sensor to read 70 % of the packets while Redis is down" 20 \
    '[ "$(stat_of packets "$tmp/out1.err")" -ge "$n2" ]'
wait_for "events in the journal" 20 '[ "$(stat_of events_journaled "$tmp/out1.err")" -gt 0 ]'
[ -s "$tmp/journal1" ] && [ "$(stat -c %s "$tmp/journal1")" -gt 16 ] ||
    fail "Redis is down but the journal $tmp/journal1 holds nothing"
during=$(stat_of alerts "$tmp/out1.err")
start_redis
# the input waits at 70 % while the writer reconnects and replays the
# journal: the alerts it then counts were raised by journaled events
replay_done() {
    [ "$(stat_of events_replayed "$tmp/out1.err")" -gt 0 ] &&
        [ "$(stat_of journal_bytes "$tmp/out1.err")" -eq 0 ]
}
wait_for "the journal to be replayed" 30 replay_done
[ "$(stat_of alerts "$tmp/out1.err")" -gt "$during" ] ||
    fail "the journaled events raised no alert"
touch "$tmp/ctl1/go.2"
wait_for "the whole capture" 20 '[ -s "$tmp/ctl1/fed.3" ]'
# every packet read before the input ends, so that the last stats line
# (printed at its end) counts all that happened to the journal
wait_for "the sensor to read every packet" 20 \
    '[ "$(stat_of packets "$tmp/out1.err")" -eq "$total" ]'
touch "$tmp/ctl1/go.3"
rc=0
wait "$lh_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "outage run: status $rc: $(cat "$tmp/out1.err")"
wait "$feed_pid" || fail "the feeder failed"
run_pids=()

same_as_reference "outage run: the alerts file" "$tmp/out1.alerts"
stream_lines 0 >"$tmp/out1.stream"
same_as_reference "outage run: lh:alerts" "$tmp/out1.stream"
journaled=$(stat_of events_journaled "$tmp/out1.err")
replayed=$(stat_of events_replayed "$tmp/out1.err")
dropped=$(stat_of events_dropped "$tmp/out1.err")
rejected=$(stat_of events_rejected "$tmp/out1.err")
[ "$journaled" -gt 0 ] || fail "outage run: events_journaled is 0"
[ "$replayed" -eq "$journaled" ] ||
    fail "outage run: $journaled events journaled, $replayed replayed"
[ "$dropped" -eq 0 ] || fail "outage run: $dropped events dropped"
[ "$rejected" -eq 0 ] || fail "outage run: $rejected events rejected"
grep -q "Redis unavailable" "$tmp/out1.err" || fail "outage run: the outage was not reported"
grep -q "Redis is back; replaying" "$tmp/out1.err" || fail "outage run: the return was not reported"
[ "$(cli HGET lh:stats:$sensor events_journaled)" -gt 0 ] ||
    fail "lh:stats:$sensor does not count the journaled events"
[ ! -e "$tmp/journal1" ] || fail "the empty journal $tmp/journal1 was not removed"

# ---- 2. down until after the end of the capture --------------------------
rm -f "$journal2"
mkfifo "$tmp/feed2"
python3 "$here/lib/pcapfeed.py" "$tmp/cap.pcap" "$tmp/ctl2" 0.4 >"$tmp/feed2" &
feed_pid=$!
run_pids+=("$feed_pid")
"$LOOPHOLE" -r - --threads 1 --redis "unix://$sock?db=2" --sensor "$sensor" \
    --stats 1 --alerts "$tmp/out2.alerts" <"$tmp/feed2" 2>"$tmp/out2.err" &
lh_pid=$!
run_pids+=("$lh_pid")
wait_for "the first 40 % of the capture" 20 '[ -s "$tmp/ctl2/fed.1" ]'
wait_for "alerts before the outage" 20 '[ "$(stat_of alerts "$tmp/out2.err")" -ge 20 ]'
kill_redis
touch "$tmp/ctl2/go.1"
rc=0
wait "$lh_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "run ending in an outage: status $rc, not 0: $(cat "$tmp/out2.err")"
wait "$feed_pid" || fail "the feeder failed"
run_pids=()
msg="events could not reach Redis and stay in the journal $journal2; the next run with this"
left=$(sed -n "s|^loophole: \([0-9]*\) $msg journal replays them\$|\1|p" "$tmp/out2.err")
[ -n "$left" ] && [ "$left" -gt 0 ] ||
    fail "run ending in an outage: no report of the events left in $journal2"
[ "$(stat -c %s "$journal2" 2>/dev/null || echo 0)" -gt 16 ] ||
    fail "the journal $journal2 is missing or empty"
n_before=$(lines "$tmp/out2.alerts")
[ "$n_before" -lt "$nref" ] || fail "every alert arrived before the outage: nothing left to test"
grep -q "^loophole: warning: no end-of-run summary: " "$tmp/out2.err" ||
    fail "run ending in an outage: no warning about the missing summary"

start_redis
"$LOOPHOLE" -r "$tmp/empty.pcap" --threads 1 --redis "unix://$sock?db=2" --sensor "$sensor" \
    --alerts "$tmp/out3.alerts" --stats 1 2>"$tmp/out3.err" ||
    fail "the run after the outage: status $?: $(cat "$tmp/out3.err")"
grep -q "journal $journal2: $left events from an earlier run will be replayed first" \
    "$tmp/out3.err" || fail "the second run did not announce the $left journaled events"
[ ! -e "$journal2" ] || fail "the journal $journal2 is still there after its replay"
cat "$tmp/out2.alerts" "$tmp/out3.alerts" >"$tmp/out23.alerts"
same_as_reference "the alerts of the two runs" "$tmp/out23.alerts"
stream_lines 2 >"$tmp/out23.stream"
same_as_reference "lh:alerts after the two runs" "$tmp/out23.stream"
echo ok
