#!/bin/bash
# The rules' alerts do not depend on the number of workers, and a second
# replay of the same captures into the same Redis raises no duplicates.
#
# Several rule scenarios are replayed together with --threads 1 and
# --threads 4: the set of (rule, entity role, entity ip) must be the same
# (tests/system/lib/threads_matrix.sh compares whole lines elsewhere), and
# no (rule, entity, window) has two lines. Then, against a redis-server
# this test starts on a Unix socket, the captures are replayed twice: the
# second run must write no alert line and leave lh:alerts as long as the
# first run made it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
# shellcheck source=tests/system/lib/scratch.sh
. "$here/lib/scratch.sh"
fail() { echo "rules_threads: FAIL: $*" >&2; exit 1; }
scratch_init

args=()
for s in rules-fanout rules-fanin rules-relay rules-tunnel rules-ai-relay rules-behavior dns sample; do
    "$LHGEN" "$s" "$tmp/$s.pcap" >/dev/null
    args+=(-r "$tmp/$s.pcap")
done
keys() { python3 -c '
import json, sys
for k in sorted({(a["rule"], a["entity"]["role"], a["entity"]["ip"])
                 for a in map(json.loads, open(sys.argv[1]))}):
    print(*k)' "$1"; }

"$LOOPHOLE" "${args[@]}" --threads 1 --alerts "$tmp/t1.alerts" 2>"$tmp/t1.err" || fail "$(cat "$tmp/t1.err")"
"$LOOPHOLE" "${args[@]}" --threads 4 --alerts "$tmp/t4.alerts" 2>"$tmp/t4.err" || fail "$(cat "$tmp/t4.err")"
keys "$tmp/t1.alerts" >"$tmp/t1.keys"
keys "$tmp/t4.alerts" >"$tmp/t4.keys"
[ "$(wc -l <"$tmp/t1.keys")" -ge 15 ] || fail "only $(wc -l <"$tmp/t1.keys") alerts with one worker"
diff "$tmp/t1.keys" "$tmp/t4.keys" >&2 || fail "--threads 1 and --threads 4 raise different alerts"
# one line per (rule, entity, window): the windows deduplicate within a
# run. Every window is at least an hour and aligned to the epoch, so two
# lines of one rule and entity in the same UTC hour are a duplicate (a
# scenario may well span two hours and raise in each).
python3 - "$tmp/t1.alerts" <<'PY' || fail "duplicate alerts in one run"
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ids = collections.Counter(a["id"] for a in lines)
hours = collections.Counter((a["rule"], a["entity"]["role"], a["entity"]["ip"], a["ts"][:13])
                            for a in lines)
dup = [k for k, n in ids.items() if n > 1] + [k for k, n in hours.items() if n > 1]
if dup:
    sys.exit("duplicates: %s" % dup)
PY
python3 "$here/lib/rules_check.py" "$tmp/t4.alerts" || fail "alert lines break the contract"

redis_start
url="unix://$tmp/redis.sock"
"$LOOPHOLE" "${args[@]}" --threads 4 --redis "$url" --sensor "threads$$" --alerts "$tmp/r1.alerts" 2>"$tmp/r1.err" || fail "$(cat "$tmp/r1.err")"
"$LOOPHOLE" "${args[@]}" --threads 2 --redis "$url" --sensor "threads$$" --alerts "$tmp/r2.alerts" 2>"$tmp/r2.err" || fail "$(cat "$tmp/r2.err")"
keys "$tmp/r1.alerts" >"$tmp/r1.keys"
diff "$tmp/t1.keys" "$tmp/r1.keys" >&2 || fail "the shared Redis run raised different alerts"
[ ! -s "$tmp/r2.alerts" ] || fail "the second replay raised $(wc -l <"$tmp/r2.alerts") duplicate alerts"
n=$(redis-cli -s "$tmp/redis.sock" XLEN lh:alerts)
[ "$n" -eq "$(wc -l <"$tmp/r1.alerts")" ] || fail "lh:alerts holds $n entries, the first run wrote $(wc -l <"$tmp/r1.alerts")"
# the host hash of the behaviour-recognised GPU host says so
[ "$(redis-cli -s "$tmp/redis.sock" HGET lh:host:45.76.12.34 gpu_source)" = behavior ] ||
    fail "lh:host:45.76.12.34 gpu_source is not behavior"
exit 0
