#!/usr/bin/env bash
# EVE alerts (--alerts-format eve) on the rule scenarios, one per rule.
#
# Each capture is replayed twice, with native and with EVE alerts; the EVE
# file goes through the shipped jq ingest step (docs/siem/eve-to-ecs.jq,
# run by Debian's jq), which fails on a missing or mistyped field the way a
# SIEM pipeline would; lib/eve_check.py then compares the three outputs
# field by field and each rule's signature_id with docs/siem.md's table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
command -v jq >/dev/null || { echo "FAIL: jq is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/lib/eve_scenarios.sh"
triples=()
fail=0
for entry in "${eve_scenarios[@]}"; do
    IFS='|' read -r s gen rep <<<"$entry"
    # shellcheck disable=SC2086
    "$LHGEN" "$s" "$tmp/$s.pcap" $gen >/dev/null
    for fmt in native eve; do
        # shellcheck disable=SC2086
        if ! "$LOOPHOLE" -r "$tmp/$s.pcap" $rep --threads 2 --sensor eve-test \
            --alerts "$tmp/$s.$fmt" --alerts-format "$fmt" 2>"$tmp/$s.$fmt.err"; then
            echo "FAIL: $s ($fmt): loophole failed:" >&2
            cat "$tmp/$s.$fmt.err" >&2
            fail=1
            continue 2
        fi
    done
    if ! jq -c -f "$LOOPHOLE_SRC/docs/siem/eve-to-ecs.jq" "$tmp/$s.eve" >"$tmp/$s.ecs"; then
        echo "FAIL: $s: the jq ingest step refused an EVE alert" >&2
        fail=1
        continue
    fi
    triples+=("$tmp/$s.native" "$tmp/$s.eve" "$tmp/$s.ecs")
done
python3 "$here/lib/eve_check.py" "$LOOPHOLE_SRC/docs/siem.md" "${triples[@]}" || fail=1
exit $fail
