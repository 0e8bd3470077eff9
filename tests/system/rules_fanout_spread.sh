#!/bin/bash
# reseller_fanout counts GPU hosts per controller address and per /24
# network, not tenants:
#  - rules-fanout-spread: 6-9 addresses of one Hong Kong hosting /24
#    (AS152194) each drive 1-2 GPU hosts over a day, the hosts rented
#    under three accounts (tests/data/rules/fanout-reseller.csv): the /24
#    raises reseller_fanout high, no single address does (none reaches
#    fanout_hosts);
#  - la-fleet-own: 2-4 engineers on a Japanese company's office /24 (no
#    hosting category) drive its 6-20 hosts, one tenant
#    (fanout-fleet.csv): the fan-out is seen, low only, and nothing of
#    severity medium or above is raised.
# Three seeds each, replayed with --threads 1, 2 and 4: the same (rule,
# entity, severity) alerts. Which session reaches the library when the
# count reaches fanout_hosts (the published line's time, peer and first
# evidence) follows arrival order with several workers, as for every
# windowed rule (README, "The same answer every time").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=$LOOPHOLE_SRC/tests/data/rules
fail=0

# keys ALERTS: (rule, entity, severity) of every alert, sorted.
keys() {
    python3 -c '
import json, sys
for k in sorted({(a["rule"], a["entity"]["role"], a["entity"]["ip"], a["severity"])
                 for a in map(json.loads, open(sys.argv[1]))}):
    print(*k)' "$1"
}

# replay SCENARIO SEED INVENTORY: generates, replays with 1, 2 and 4
# workers into $tmp/SCENARIO.SEED.T.alerts, compares their keys.
replay() {
    local s=$1 seed=$2 inv=$3 t
    "$LHGEN" "$s" "$tmp/$s.$seed.pcap" --seed "$seed" >/dev/null
    for t in 1 2 4; do
        "$LOOPHOLE" -r "$tmp/$s.$seed.pcap" --inventory "$inv" --threads "$t" \
            --alerts "$tmp/$s.$seed.$t.alerts" 2>"$tmp/err" || {
            echo "FAIL: $s seed $seed: $(cat "$tmp/err")" >&2
            return 1
        }
        [ "$(keys "$tmp/$s.$seed.1.alerts")" = "$(keys "$tmp/$s.$seed.$t.alerts")" ] || {
            echo "FAIL: $s seed $seed: --threads $t raises other alerts than one worker" >&2
            return 1
        }
    done
}

# fanout_entities ALERTS SEVERITY: the reseller_fanout entities of that
# severity, one a line.
fanout_entities() {
    python3 -c '
import json, sys
for a in map(json.loads, open(sys.argv[1])):
    if a["rule"] == "reseller_fanout" and a["severity"] == sys.argv[2]:
        print(a["entity"]["ip"])' "$1" "$2"
}

for seed in 1 2 3; do
    replay rules-fanout-spread "$seed" "$data/fanout-reseller.csv" || fail=1
    a=$tmp/rules-fanout-spread.$seed.1.alerts
    python3 "$here/lib/rules_check.py" "$a" \
        "+reseller_fanout|controller|1.32.205.0/24|severity=high" || fail=1
    if [ "$(fanout_entities "$a" high)" != "1.32.205.0/24" ] || [ -n "$(fanout_entities "$a" low)" ]; then
        echo "FAIL: rules-fanout-spread seed $seed: reseller_fanout about $(fanout_entities "$a" high) $(fanout_entities "$a" low), want the /24 alone" >&2
        fail=1
    fi

    replay la-fleet-own "$seed" "$data/fanout-fleet.csv" || fail=1
    a=$tmp/la-fleet-own.$seed.1.alerts
    python3 "$here/lib/rules_check.py" "$a" quiet \
        "+reseller_fanout|controller|153.156.48.0/24|severity=low" -relay_control || fail=1
done
[ "$fail" = 0 ] && echo PASS
exit $fail
