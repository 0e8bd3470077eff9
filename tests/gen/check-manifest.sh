#!/bin/sh
# check-manifest.sh -- compares an lhgen manifest with what tshark counts in
# the capture: per flow and direction, packets and innermost-frame bytes
# (the frame length, less the 50 bytes of VXLAN outer headers when tunnelled).
# Usage: check-manifest.sh CAPTURE.pcap MANIFEST.tsv   (exit 0 when equal)
set -eu
cap=$1
man=$2

tshark -r "$cap" -T fields -E occurrence=l -E separator=/t \
    -e frame.len -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst \
    -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e vxlan.vni 2>/dev/null |
awk -F'\t' -v man="$man" '
BEGIN {
    while ((getline line < man) > 0) {
        if (line ~ /^proto\t/) continue
        split(line, m, "\t")
        fwd = m[2] "|" m[3] "|" m[4] "|" m[5]
        rev = m[4] "|" m[5] "|" m[2] "|" m[3]
        want[fwd] = m[10] " " m[11]
        want[rev] = m[12] " " m[13]
        rows++
    }
}
{
    len = $1 - ($10 != "" ? 50 : 0)
    src = $2 != "" ? $2 : $3
    dst = $4 != "" ? $4 : $5
    sp = $6 != "" ? $6 : $8
    dp = $7 != "" ? $7 : $9
    k = src "|" sp "|" dst "|" dp
    pk[k]++
    by[k] += len
}
END {
    bad = 0
    for (k in want) {
        got = (k in pk ? pk[k] : 0) " " (k in by ? by[k] : 0)
        if (got != want[k]) {
            print "mismatch " k ": manifest " want[k] ", capture " got
            bad++
        }
    }
    for (k in pk)
        if (!(k in want)) {
            print "not in manifest: " k
            bad++
        }
    printf "%d flows, %d directions checked, %d mismatches\n", rows, length(want), bad
    exit bad != 0
}'
