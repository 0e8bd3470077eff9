#!/usr/bin/env bash
# `loophole alerts` against a real redis-server this test starts on a Unix
# socket: alerts in the documented stream format (interface.md section 6:
# fields json, rule, severity, entity) are printed as readable lines and as
# JSON; --rule, --severity, --last and --from select the right ones; and a
# follower survives a Redis restart (the data set kept in an RDB file),
# resuming after the last alert it printed: nothing twice, nothing missed.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib/scratch.sh
. "$here/lib/scratch.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
scratch_init

sock="$tmp/redis.sock"
start_redis() { redis_start --dbfilename dump.rdb; }
cli() { redis-cli -s "$sock" "$@"; }

# add N RULE SEVERITY IP: one alert line, as the functions library writes it
add() {
    local n=$1 rule=$2 sev=$3 ip=$4
    local line
    line=$(printf '{"ts":"2026-03-02T09:00:%02d.000000Z","event_type":"alert","id":"a%s","sensor":"s1","rule":"%s","severity":"%s","score":%d,"entity":{"role":"controller","ip":"%s"},"summary":"alert %s from %s\\u001b[2J"}' \
        "$n" "$n" "$rule" "$sev" "$((n * 10))" "$ip" "$n" "$ip")
    cli XADD lh:alerts '*' json "$line" rule "$rule" severity "$sev" entity "$ip" >/dev/null
}

start_redis
url="unix://$sock"
add 1 cn_direct_control high 175.16.199.23
add 2 relay_control medium 43.252.36.10
add 3 weights_egress critical 104.171.200.17
add 4 cn_footprint low 104.171.200.17

# --from 0: everything, readable lines in stream order
"$LOOPHOLE" alerts --redis "$url" --from 0 --count 4 >"$tmp/all.txt" 2>"$tmp/all.err" ||
    fail "alerts --from 0: $(cat "$tmp/all.err")"
[ "$(wc -l <"$tmp/all.txt")" -eq 4 ] || fail "expected 4 lines, got: $(cat "$tmp/all.txt")"
head -1 "$tmp/all.txt" | grep -Eq '^2026-03-02T09:00:01.000000Z +high +cn_direct_control +controller 175.16.199.23  alert 1 from 175.16.199.23\?\[2J$' ||
    fail "readable line: $(head -1 "$tmp/all.txt")"
if grep -q $'\x1b' "$tmp/all.txt"; then fail "an escape character reached the terminal output"; fi
awk '{print $3}' "$tmp/all.txt" | tr '\n' ' ' | grep -qx 'cn_direct_control relay_control weights_egress cn_footprint ' ||
    fail "order: $(awk '{print $3}' "$tmp/all.txt")"

# filters
"$LOOPHOLE" alerts --redis "$url" --from 0 --count 2 --severity high >"$tmp/high.txt"
[ "$(awk '{print $2}' "$tmp/high.txt" | tr '\n' ,)" = "high,critical," ] ||
    fail "--severity high: $(cat "$tmp/high.txt")"
"$LOOPHOLE" alerts --redis "$url" --from 0 --count 2 --rule cn_footprint --rule relay_control \
    --json >"$tmp/rule.json"
python3 - "$tmp/rule.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rules = [r["rule"] for r in rows]
if rules != ["relay_control", "cn_footprint"]:
    sys.exit(f"FAIL: --rule --json gave {rules}")
if rows[0]["summary"] != "alert 2 from 43.252.36.10\x1b[2J":
    sys.exit("FAIL: --json must print the alert line as stored")
PY
"$LOOPHOLE" alerts --redis "$url" --last 2 --count 2 >"$tmp/last.txt"
[ "$(awk '{print $3}' "$tmp/last.txt" | tr '\n' ,)" = "weights_egress,cn_footprint," ] ||
    fail "--last 2: $(cat "$tmp/last.txt")"
first_id=$(cli --raw XRANGE lh:alerts - + COUNT 1 | head -1)
"$LOOPHOLE" alerts --redis "$url" --from "$first_id" --count 3 >"$tmp/from.txt"
[ "$(awk '{print $3}' "$tmp/from.txt" | head -1)" = relay_control ] ||
    fail "--from ID must start after ID: $(cat "$tmp/from.txt")"
# bad usage and an unreachable server
set +e
"$LOOPHOLE" alerts --severity urgent 2>"$tmp/usage.err"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q -- '--severity' "$tmp/usage.err" || fail "bad --severity: status $rc"
set +e
"$LOOPHOLE" alerts --redis "unix://$tmp/nothing.sock" 2>"$tmp/down.err"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "nothing.sock" "$tmp/down.err" || fail "unreachable Redis: status $rc"

# follow: only new alerts by default; survive a restart
"$LOOPHOLE" alerts --redis "$url" --json --count 4 >"$tmp/follow.json" 2>"$tmp/follow.err" &
reader=$!
pids+=("$reader")
sleep 0.5
add 5 cn_direct_control high 1.180.23.7
add 6 reseller_fanout high 175.16.199.23
for _ in $(seq 100); do
    [ "$(wc -l <"$tmp/follow.json")" -ge 2 ] && break
    sleep 0.05
done
[ "$(wc -l <"$tmp/follow.json")" -eq 2 ] || fail "follower printed: $(cat "$tmp/follow.json")"
cli SAVE >/dev/null
kill -9 "$redis_pid"
wait "$redis_pid" 2>/dev/null || true
sleep 1.5 # the follower notices and retries while Redis is away
start_redis
[ "$(cli XLEN lh:alerts)" -eq 6 ] || fail "the data set was not kept across the restart"
add 7 weights_egress critical 104.171.200.17
add 8 cn_timezone medium 175.16.199.23
for _ in $(seq 200); do
    kill -0 "$reader" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$reader" 2>/dev/null && fail "follower still running: $(cat "$tmp/follow.json" "$tmp/follow.err")"
wait "$reader" || fail "follower exited with status $?: $(cat "$tmp/follow.err")"
python3 - "$tmp/follow.json" <<'PY'
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
if ids != ["a5", "a6", "a7", "a8"]:
    sys.exit(f"FAIL: follower across a restart printed {ids}")
PY
grep -q "reconnecting" "$tmp/follow.err" || fail "no reconnect reported: $(cat "$tmp/follow.err")"
grep -q "reconnected, resuming after" "$tmp/follow.err" || fail "no resume reported"
echo "alerts_cmd: ok"
