#!/bin/bash
# Flow records of generated scenarios equal the generator's ground truth.
#
# Every scenario lhgen writes comes with a manifest of its flows (5-tuple,
# VLAN, VNI, packets and wire bytes per direction). The sensor must find
# exactly those flows, with the right client side and the right counts,
# including the bulk transfers cut to a 96-byte snap length (counted from
# the wire length), the VXLAN-wrapped copy (counted as the inner frame),
# and the IPv6-on-VLAN variant. Also checks that reading the capture from
# standard input (-r -) gives the same records as reading the file, and
# that the bundled README sample is what the generator makes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
for s in sample vxlan vlan-ipv6 bulk ssh tls http-jupyter rdp dns egress-ctl relay-hop tz-cst; do
    "$LHGEN" "$s" "$tmp/$s.pcap" --manifest "$tmp/$s.tsv"
    "$LOOPHOLE" -r "$tmp/$s.pcap" --threads 2 --flows "$tmp/$s.json"
    if ! python3 "$here/lib/manifest.py" "$tmp/$s.tsv" "$tmp/$s.json"; then
        echo "generated_scenarios: $s: records differ from the manifest" >&2
        fail=1
    fi
done

"$LOOPHOLE" -r - --threads 2 --flows "$tmp/stdin.json" <"$tmp/sample.pcap"
python3 "$here/lib/compare_flows.py" "$tmp/sample.json" "$tmp/stdin.json" || {
    echo "generated_scenarios: -r - differs from -r FILE" >&2
    fail=1
}

if ! cmp -s "$tmp/sample.pcap" "$LOOPHOLE_SRC/samples/sample.pcap"; then
    echo "generated_scenarios: samples/sample.pcap is not what 'lhgen sample' writes" >&2
    fail=1
fi
exit $fail
