#!/usr/bin/env bash
# The Redis schema after a replay of a generated capture, against servers
# this test starts: one on a free loopback TCP port, one on a Unix socket.
# Checks every key of interface.md section 6 that a run of the sample
# writes (flows stream, stats hash), the functions library, the key types,
# and that the flow stream holds exactly the run's flow records.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib/scratch.sh
. "$here/lib/scratch.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
scratch_init

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis_start --port "$port" --bind 127.0.0.1
cli() { redis-cli -s "$tmp/redis.sock" "$@"; }

"$LHGEN" sample "$tmp/sample.pcap" >/dev/null
cat >"$tmp/lh.conf" <<CONF
[redis]
journal = $tmp/journal
stream_maxlen = 1000
CONF

run() { # run NAME URL [more flags]
    local name=$1 url=$2
    shift 2
    "$LOOPHOLE" -c "$tmp/lh.conf" -r "$tmp/sample.pcap" --redis "$url" --sensor "$name" \
        --redis-flows --stats 1 --flows "$tmp/$name.jsonl" "$@" >"$tmp/$name.alerts" \
        2>"$tmp/$name.err" || fail "$name: status $?: $(cat "$tmp/$name.err")"
}

run tcp "redis://127.0.0.1:$port/0"
[ "$(cli XLEN lh:flows)" -eq "$(wc -l <"$tmp/tcp.jsonl")" ] ||
    fail "lh:flows has $(cli XLEN lh:flows) entries, the run wrote $(wc -l <"$tmp/tcp.jsonl")"
# the stream holds the very lines of the flow output
python3 - "$tmp/redis.sock" "$tmp/tcp.jsonl" <<'PY'
import subprocess, sys
out = subprocess.run(["redis-cli", "-s", sys.argv[1], "--raw", "XRANGE", "lh:flows", "-", "+"],
                     capture_output=True, text=True, check=True).stdout.splitlines()
got = sorted(l for l in out if l.startswith("{"))
want = sorted(open(sys.argv[2]).read().splitlines())
if got != want:
    sys.exit("FAIL: lh:flows differs from the --flows output")
PY

[ "$(cli TYPE lh:flows)" = stream ] || fail "lh:flows is not a stream"
[ "$(cli TYPE lh:stats:tcp)" = hash ] || fail "lh:stats:tcp is not a hash"
for f in packets bytes drops flows_active flows_total events_queued journal_bytes updated; do
    [ "$(cli HEXISTS lh:stats:tcp "$f")" = 1 ] || fail "lh:stats:tcp lacks $f"
done
[ "$(cli HGET lh:stats:tcp packets)" -gt 0 ] || fail "lh:stats:tcp packets is 0"
[ "$(cli HGET lh:stats:tcp flows_total)" -eq "$(wc -l <"$tmp/tcp.jsonl")" ] ||
    fail "lh:stats:tcp flows_total disagrees with the flow records"
cli --raw FUNCTION LIST LIBRARYNAME loophole | grep -qx lh_observe || fail "no functions library"
[ "$(cli FCALL lh_version 0)" = "loophole-functions 18" ] || fail "library version"
[ ! -s "$tmp/journal" ] || [ "$(stat -c %s "$tmp/journal")" -le 16 ] ||
    fail "journal not empty after a run with Redis up"
# every alert line the run wrote is an entry of lh:alerts (the sample
# raises some since the detection rules exist)
[ "$(cli XLEN lh:alerts)" -eq "$(wc -l <"$tmp/tcp.alerts")" ] ||
    fail "lh:alerts holds $(cli XLEN lh:alerts) entries, the run wrote $(wc -l <"$tmp/tcp.alerts") alerts"

# the same over the Unix socket, into database 5
run unix "unix://$tmp/redis.sock?db=5"
[ "$(cli -n 5 XLEN lh:flows)" -eq "$(wc -l <"$tmp/unix.jsonl")" ] || fail "db 5: lh:flows"
[ "$(cli -n 5 HGET lh:stats:unix flows_total)" -gt 0 ] || fail "db 5: lh:stats:unix"
[ "$(cli -n 0 EXISTS lh:stats:unix)" = 0 ] || fail "db 5 run wrote into db 0"

# an unreachable Redis at start is a clear runtime error, status 1
rc=0
"$LOOPHOLE" -r "$tmp/sample.pcap" --redis "unix://$tmp/none.sock" >/dev/null 2>"$tmp/e" || rc=$?
[ "$rc" -eq 1 ] || fail "unreachable Redis: status $rc"
grep -q "cannot connect" "$tmp/e" || fail "unreachable Redis: unclear error: $(cat "$tmp/e")"
echo ok
