#!/usr/bin/env bash
# Packet and byte accounting against tshark.
#
# Every capture of the corpus is replayed with one worker, and every flow's
# packets and bytes, per direction, are compared with an independent count
# made by tshark from the same file (lib/accounting.py explains how that
# count keys flows, handles ICMP errors, IPv6 extension headers and
# fragments). The sensor's records are summed per flow over all its
# records. Exact equality is required: a packet lost or counted twice by
# the decoder or the flow table is a wrong answer to "how much did this
# host send".
#
# The same records' Community IDs are compared with those Wireshark's own
# implementation of the specification computes from the same frames
# (lib/community_id.py says how frames are matched to flows).
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus folder}"
here=$(cd "$(dirname "$0")" && pwd)
corpus=$LOOPHOLE_CORPUS/ndpi
command -v tshark >/dev/null || { echo "FAIL: tshark is not installed" >&2; exit 1; }

shopt -s nullglob
pcaps=("$corpus"/*.pcap "$corpus"/*.pcapng)
if [ ${#pcaps[@]} -eq 0 ]; then
    echo "FAIL: corpus missing: no captures in $corpus" >&2
    exit 1
fi

# shellcheck source=lib/replay.sh
. "$here/lib/replay.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
for pcap in "${pcaps[@]}"; do
    replay_one "$pcap" "$tmp" || fail=1
done

python3 "$here/lib/accounting.py" "$tmp" "${pcaps[@]}" || fail=1
python3 "$here/lib/community_id.py" "$tmp" "${pcaps[@]}" || fail=1
exit $fail
