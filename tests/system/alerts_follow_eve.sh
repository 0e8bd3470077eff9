#!/usr/bin/env bash
# `loophole alerts --format eve` against a real redis-server this test
# starts on a Unix socket: the sensor replays each rule scenario into it
# (emptied before each), writing its own alerts with --alerts-format eve;
# the follower then reads the stream lh:alerts from the start. Its EVE
# lines must be the sensor's,
# byte for byte (one conversion, app/eve.c, whoever prints it), pass the
# shipped jq ingest step (docs/siem/eve-to-ecs.jq) and lib/eve_check.py
# against the native lines the follower prints with --format native. An
# entry that is not an alert line is named on standard error and not
# printed; an unknown --format is a usage error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
command -v jq >/dev/null || { echo "FAIL: jq is not installed" >&2; exit 1; }

# shellcheck source=tests/system/lib/scratch.sh
. "$here/lib/scratch.sh"
fail() { echo "FAIL: alerts_follow_eve: $*" >&2; exit 1; }
scratch_init
redis_start
sock=$redis_sock
url="unix://$sock"

# One scenario per rule, each into an emptied Redis (the correlating
# rules would otherwise see the other scenarios' hosts).
. "$here/lib/eve_scenarios.sh"
triples=()
total=0
for entry in "${eve_scenarios[@]}"; do
    IFS='|' read -r s gen rep <<<"$entry"
    redis-cli -s "$sock" FLUSHALL >/dev/null
    # shellcheck disable=SC2086
    "$LHGEN" "$s" "$tmp/$s.pcap" $gen >/dev/null
    # shellcheck disable=SC2086
    "$LOOPHOLE" -r "$tmp/$s.pcap" $rep --redis "$url" --threads 2 --sensor follow-eve \
        --alerts "$tmp/$s.eve" --alerts-format eve 2>"$tmp/$s.err" ||
        fail "$s: loophole failed: $(cat "$tmp/$s.err")"
    n=$(wc -l <"$tmp/$s.eve")
    [ "$n" -gt 0 ] || fail "$s: no alert"
    [ "$(redis-cli -s "$sock" XLEN lh:alerts)" -eq "$n" ] ||
        fail "$s: lh:alerts holds $(redis-cli -s "$sock" XLEN lh:alerts) entries, the sensor wrote $n alerts"
    for fmt in eve native; do
        "$LOOPHOLE" alerts --redis "$url" --from 0 --count "$n" --format "$fmt" \
            >"$tmp/$s.follow.$fmt" 2>"$tmp/$s.follow.err" ||
            fail "$s: alerts --format $fmt: $(cat "$tmp/$s.follow.err")"
    done
    # the stream keeps the order in which the writer received the replies,
    # the order the sensor wrote them in; compared as sets all the same,
    # since that order is the writer's, not the follower's contract
    diff <(sort "$tmp/$s.eve") <(sort "$tmp/$s.follow.eve") >"$tmp/diff" ||
        fail "$s: the follower's EVE lines differ from the sensor's: $(head -c 2000 "$tmp/diff")"
    jq -c -f "$LOOPHOLE_SRC/docs/siem/eve-to-ecs.jq" "$tmp/$s.follow.eve" >"$tmp/$s.follow.ecs" ||
        fail "$s: the jq ingest step refused an EVE line of the follower"
    triples+=("$tmp/$s.follow.native" "$tmp/$s.follow.eve" "$tmp/$s.follow.ecs")
    total=$((total + n))
done
python3 "$here/lib/eve_check.py" "$LOOPHOLE_SRC/docs/siem.md" "${triples[@]}" || fail "eve_check"

# An entry a SIEM could not ingest, between two alerts: named, not printed.
before=$(redis-cli -s "$sock" --raw XREVRANGE lh:alerts + - COUNT 1 | head -1)
bad=$(redis-cli -s "$sock" XADD lh:alerts '*' json 'not an alert' rule cn_direct_control severity high)
redis-cli -s "$sock" XADD lh:alerts '*' json "$(head -1 "$tmp/$s.follow.native")" rule x severity high >/dev/null
"$LOOPHOLE" alerts --redis "$url" --from "$before" --count 1 --format eve >"$tmp/bad.eve" \
    2>"$tmp/bad.err" || fail "bad entry: $(cat "$tmp/bad.err")"
grep -q "lh:alerts entry $bad: not an alert line, not printed as EVE" "$tmp/bad.err" ||
    fail "the bad entry $bad was not named: $(cat "$tmp/bad.err")"
[ "$(wc -l <"$tmp/bad.eve")" -eq 1 ] && [ "$(jq -r .event_type "$tmp/bad.eve")" = alert ] ||
    fail "after the bad entry, the next alert: $(cat "$tmp/bad.eve")"

rc=0
"$LOOPHOLE" alerts --redis "$url" --format suricata 2>"$tmp/usage.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--format: expected text, native or eve, got 'suricata'" "$tmp/usage.err" ||
    fail "--format suricata: status $rc: $(cat "$tmp/usage.err")"
echo "alerts_follow_eve: $total alerts of ${#eve_scenarios[@]} scenarios, the follower's EVE lines are the sensor's"
