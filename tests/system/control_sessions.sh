#!/bin/bash
# Control sessions, interactivity and application round trips on
# generated scenarios.
#
# For each scenario the sensor's flow records must name the right control
# kind (SSH, RDP, Jupyter by path and by managed-notebook SNI, ToDesk by
# SNI and, for the DNS lookup, as control_lookup, Kubernetes by port 6443
# and by API path), leave look-alike names and plain HTTPS alone, call the
# ssh scenario interactive and the bulk one bulk, and measure the
# application round trip the generator modelled, read from its manifest
# (rtt_c_us, extra_c_us): for the relay scenarios (relay 1 ms from the
# sensor, the user 38-87 ms beyond it, drawn) app_rtt_ms near the sum and
# app_rtt_extra_ms near the drawn extra, with seeds 1, 2 and 3; for the
# direct ssh scenario (client 180 ms away) an extra near 0. The new
# scenarios must also match their manifests, and one and four workers must
# write the same records.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
scenarios=(ssh relay-ssh relay-tls todesk k8s rdp http-jupyter bulk tls)
args=()
for s in "${scenarios[@]}"; do
    "$LHGEN" "$s" "$tmp/$s.pcap" --manifest "$tmp/$s.tsv"
    "$LOOPHOLE" -r "$tmp/$s.pcap" --threads 2 --flows "$tmp/$s.json"
    python3 "$here/lib/control_check.py" "$s" "$tmp/$s.json" "$tmp/$s.tsv" || fail=1
    args+=(-r "$tmp/$s.pcap")
done
# the relays' drawn distances: two more seeds each
for s in relay-ssh relay-tls; do
    for seed in 2 3; do
        "$LHGEN" "$s" "$tmp/$s.$seed.pcap" --seed "$seed" --manifest "$tmp/$s.$seed.tsv" >/dev/null
        "$LOOPHOLE" -r "$tmp/$s.$seed.pcap" --threads 2 --flows "$tmp/$s.$seed.json"
        python3 "$here/lib/control_check.py" "$s" "$tmp/$s.$seed.json" "$tmp/$s.$seed.tsv" ||
            fail=1
    done
done
for s in relay-ssh relay-tls todesk k8s; do
    python3 "$here/lib/manifest.py" "$tmp/$s.tsv" "$tmp/$s.json" >/dev/null || {
        echo "control_sessions: $s: records differ from the manifest" >&2
        fail=1
    }
done

"$LOOPHOLE" "${args[@]}" --threads 1 --flows "$tmp/t1.json"
"$LOOPHOLE" "${args[@]}" --threads 4 --flows "$tmp/t4.json"
python3 "$here/lib/compare_flows.py" "$tmp/t1.json" "$tmp/t4.json" >/dev/null || {
    echo "control_sessions: --threads 1 and --threads 4 records differ" >&2
    python3 "$here/lib/compare_flows.py" "$tmp/t1.json" "$tmp/t4.json" | head -5 >&2
    fail=1
}
exit $fail
