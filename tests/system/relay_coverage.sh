#!/bin/bash
# Relays the hand-written tables do not know: with the table scripts/geo-db.sh
# derives from the AS package (data/indicators/generated/asn.csv, docs/geo.md
# "Generated tables"), an SSH session to a GPU host from a Hong Kong VPS of
# AS152194 ("CTG Server Limited", in no hand-written table) raises
# relay_control about the VPS (lhgen rules-relay-generated), and the same
# session from a Hong Kong home broadband address (HKBN, residential) raises
# nothing (rules-relay-generated-miss). Each is replayed with --threads 1, 2
# and 4 and the alert lines must be byte-identical. Without the generated
# table the VPS has no category and relay_control stays silent, which the
# test also checks, against a copy of the tables without it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=lib/threads_replay.sh
. "$here/lib/threads_replay.sh"
fail() { echo "relay_coverage: FAIL: $*" >&2; exit 1; }

ind=$LOOPHOLE_SRC/data/indicators
[ -s "$ind/generated/asn.csv" ] ||
    fail "$ind/generated/asn.csv is missing: run scripts/geo-db.sh (scripts/setup.sh does)"
grep -q '^152194,hosting,' "$ind/generated/asn.csv" || fail "AS152194 not in the generated table"

threads_replay "$tmp" rules-relay-generated rules-relay-generated-miss || fail "replay"
python3 "$here/lib/rules_check.py" "$tmp/rules-relay-generated.1.alerts" \
    "+relay_control|relay|1.32.205.20|gpu=104.171.200.17|inter=1.32.205.20|detail=hosting network" ||
    fail "rules-relay-generated"
python3 "$here/lib/rules_check.py" "$tmp/rules-relay-generated-miss.1.alerts" count=0 ||
    fail "rules-relay-generated-miss"

# the same positive without the generated table: no category, no relay_control
mkdir "$tmp/ind"
cp "$ind"/*.csv "$tmp/ind/"
"$LOOPHOLE" -r "$tmp/rules-relay-generated.pcap" --indicators "$tmp/ind" --flows "$tmp/no.flows" \
    --alerts "$tmp/no.alerts" 2>"$tmp/err" || fail "$(cat "$tmp/err")"
python3 "$here/lib/rules_check.py" "$tmp/no.alerts" -relay_control || fail "relay_control without the table"
grep -q '"src_ip":"1.32.205.20".*"src_geo":{[^}]*"category":null' "$tmp/no.flows" ||
    fail "the VPS has a category without the generated table"
echo "PASS"
