#!/bin/bash
# Cloud-mirroring variants raise the same alerts: a scenario (a relayed
# SSH session from Alibaba Cloud and a direct one from China) as plain
# IPv4, wrapped whole in VXLAN (lhgen --vxlan), and rebuilt over IPv6 on a
# VLAN (Alibaba Cloud Singapore, China Telecom, a GPU host listed in
# tests/data/rules/inventory.csv). IPv4 and VXLAN give the same (rule,
# role, ip); IPv6 gives the same (rule, role), about its own addresses.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "rules_variants: FAIL: $*" >&2; exit 1; }
inv="$here/../data/rules/inventory.csv"

"$LHGEN" rules-mix4 "$tmp/v4.pcap" >/dev/null
"$LHGEN" rules-mix4 "$tmp/vx.pcap" --vxlan 77 --manifest "$tmp/vx.tsv" >/dev/null
"$LHGEN" rules-mix6 "$tmp/v6.pcap" --manifest "$tmp/v6.tsv" >/dev/null
for v in v4 vx v6; do
    "$LOOPHOLE" -r "$tmp/$v.pcap" --inventory "$inv" --threads 2 --flows "$tmp/$v.flows" \
        --alerts "$tmp/$v.alerts" 2>"$tmp/$v.err" || fail "$v: $(cat "$tmp/$v.err")"
done
python3 "$here/lib/manifest.py" "$tmp/vx.tsv" "$tmp/vx.flows" >/dev/null || fail "vxlan records differ from the manifest"
python3 "$here/lib/manifest.py" "$tmp/v6.tsv" "$tmp/v6.flows" >/dev/null || fail "ipv6 records differ from the manifest"

python3 "$here/lib/rules_check.py" "$tmp/v4.alerts" \
    "+relay_control|relay|8.210.37.5|gpu=104.171.200.17" "+proxy_latency|relay|8.210.37.5" \
    "+cn_direct_control|gpu_host|104.171.200.17|peer=175.16.199.23" count=3 || fail "ipv4"
python3 "$here/lib/rules_check.py" "$tmp/v6.alerts" \
    "+relay_control|relay|2404:2280:3100::5|gpu=2602:fb17:200::17|source=inventory" \
    "+proxy_latency|relay|2404:2280:3100::5|src=2404:2280:3100::5" \
    "+cn_direct_control|gpu_host|2602:fb17:200::17|peer=240e:3a1:4c5:1::25" count=3 || fail "ipv6"

keys() { python3 -c '
import json, sys
n = int(sys.argv[2])
for k in sorted({(a["rule"], a["entity"]["role"], a["entity"]["ip"])[:n]
                 for a in map(json.loads, open(sys.argv[1]))}):
    print(*k)' "$1" "$2"; }
diff <(keys "$tmp/v4.alerts" 3) <(keys "$tmp/vx.alerts" 3) >&2 || fail "VXLAN raises other alerts than plain IPv4"
diff <(keys "$tmp/v4.alerts" 2) <(keys "$tmp/v6.alerts" 2) >&2 || fail "IPv6 on a VLAN raises other alerts than IPv4"
exit 0
