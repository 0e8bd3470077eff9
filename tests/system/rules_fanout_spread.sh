#!/bin/bash
# reseller_fanout counts GPU hosts per controller address and per /24
# network, not tenants:
#  - rules-fanout-spread: 8-12 addresses of one Hong Kong hosting /24
#    (AS152194) each drive 1-2 GPU hosts over a day, the hosts rented
#    under three accounts (tests/data/rules/fanout-reseller.csv): the /24
#    raises reseller_fanout high, no single address does (none reaches
#    fanout_hosts);
#  - la-fleet-own: 2-4 engineers on a Japanese company's office /24 (no
#    hosting category) drive its 6-20 hosts, one tenant
#    (fanout-fleet.csv): the fan-out is seen, low only, and nothing of
#    severity medium or above is raised.
# Three seeds each, replayed with --threads 1, 2 and 4: the same (rule,
# entity, severity) alerts (lib/threads_keys.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=lib/threads_keys.sh
. "$here/lib/threads_keys.sh"
data=$LOOPHOLE_SRC/tests/data/rules
fail=0

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
    threads_keys "$tmp" rules-fanout-spread "$seed" --inventory "$data/fanout-reseller.csv" || fail=1
    a=$tmp/rules-fanout-spread.$seed.1.alerts
    python3 "$here/lib/rules_check.py" "$a" \
        "+reseller_fanout|controller|1.32.205.0/24|severity=high" || fail=1
    if [ "$(fanout_entities "$a" high)" != "1.32.205.0/24" ] || [ -n "$(fanout_entities "$a" low)" ]; then
        echo "FAIL: rules-fanout-spread seed $seed: reseller_fanout about $(fanout_entities "$a" high) $(fanout_entities "$a" low), want the /24 alone" >&2
        fail=1
    fi

    threads_keys "$tmp" la-fleet-own "$seed" --inventory "$data/fanout-fleet.csv" || fail=1
    a=$tmp/la-fleet-own.$seed.1.alerts
    python3 "$here/lib/rules_check.py" "$a" quiet \
        "+reseller_fanout|controller|153.156.48.0/24|severity=low" -relay_control || fail=1
done
[ "$fail" = 0 ] && echo PASS
exit $fail
