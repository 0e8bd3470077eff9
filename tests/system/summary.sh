#!/usr/bin/env bash
# --summary after a replay, against a shared redis-server this test starts:
# the JSON matches the alerts the run raised (the --alerts lines: count,
# rules, entities), and alerts already in the stream from an earlier run
# of the same sensor are not counted. The summary of alerts raised through
# the writer's API, entity by entity, is checked by tests/unit/test_summary.c.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib/scratch.sh
. "$here/lib/scratch.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
scratch_init
redis_start
sock=$redis_sock
# an alert of an earlier run of the same sensor
redis-cli -s "$sock" XADD lh:alerts '*' json \
    '{"ts":"2026-03-01T00:00:00.000000Z","event_type":"alert","id":"old","sensor":"s1","rule":"cn_direct_control","severity":"high","score":40,"entity":{"role":"controller","ip":"175.16.199.23"},"summary":"earlier"}' \
    rule cn_direct_control severity high entity 175.16.199.23 >/dev/null

printf '[redis]\njournal = %s/journal\n' "$tmp" >"$tmp/lh.conf"
"$LOOPHOLE" -c "$tmp/lh.conf" -r "$LOOPHOLE_SRC/samples/sample.pcap" --redis "unix://$sock" \
    --sensor s1 --alerts "$tmp/alerts.jsonl" --summary "$tmp/summary.json" \
    >/dev/null 2>"$tmp/err" || fail "replay: $(cat "$tmp/err")"
python3 - "$tmp/summary.json" "$tmp/alerts.jsonl" <<'PY'
import collections, json, sys
s = json.load(open(sys.argv[1]))
alerts = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
if s.get("event_type") != "summary" or s.get("sensor") != "s1":
    sys.exit(f"FAIL: summary header: {s}")
if s["alerts"] != len(alerts):
    sys.exit(f"FAIL: summary counts {s['alerts']} alerts, the run raised {len(alerts)}")
if s["by_rule"] != dict(collections.Counter(a["rule"] for a in alerts)):
    sys.exit(f"FAIL: by_rule {s['by_rule']}")
want = {a["entity"]["ip"] for a in alerts}
got = {e["ip"] for e in s["entities"]}
if got != want:
    sys.exit(f"FAIL: entities {sorted(got)}, alerts name {sorted(want)}")
for e in s["entities"]:
    mine = [a for a in alerts if a["entity"]["ip"] == e["ip"]]
    if e["alerts"] != len(mine) or e["rules"] != sorted({a["rule"] for a in mine}):
        sys.exit(f"FAIL: entity {e['ip']}: {e}")
PY
# a summary file that cannot be written: status 1, the path named
set +e
"$LOOPHOLE" -c "$tmp/lh.conf" -r "$LOOPHOLE_SRC/samples/sample.pcap" --redis "unix://$sock" \
    --summary "$tmp/no/dir/s.json" >/dev/null 2>"$tmp/bad.err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q -- "--summary $tmp/no/dir/s.json" "$tmp/bad.err" ||
    fail "unwritable --summary: status $rc: $(cat "$tmp/bad.err")"
echo "summary: ok"
