#!/usr/bin/env bash
# Serial link types (PPP, PPP in HDLC-like framing, Cisco HDLC, PPPoE
# without Ethernet, and the direction-byte variants) against Ethernet.
#
# Two captures of the corpus (IPv4 TCP; IPv4 and IPv6 TCP, UDP and
# ICMPv6) lose their Ethernet header to Wireshark's editcap; each frame is
# then put behind each link type's header (lib/linktypes.py). tshark must
# read every rewritten capture as the same IP packets as the original,
# which checks the headers are what those link types carry (except link
# type 205, Cisco HDLC with a direction byte, which Wireshark 4.0 does not
# read); then the sensor must record the same flows from it as from the
# Ethernet original.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus folder}"
here=$(cd "$(dirname "$0")" && pwd)
for t in tshark editcap; do
    command -v $t >/dev/null || { echo "FAIL: $t is not installed" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The IP layer as tshark sees it, one line per frame.
ip_view() {
    tshark -n -r "$1" -T fields -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e ip.len \
        -e ipv6.plen -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport 2>/dev/null
}

fail=0
for name in ssh.pcap iphone.pcap; do
    pcap=$LOOPHOLE_CORPUS/ndpi/$name
    [ -f "$pcap" ] || { echo "FAIL: corpus missing: $pcap" >&2; exit 1; }
    dir=$tmp/${name%.pcap}
    mkdir -p "$dir"
    editcap -F pcap -C 14 -T rawip "$pcap" "$dir/raw.pcap"
    ip_view "$pcap" >"$dir/eth.ip"
    "$LOOPHOLE" -r "$pcap" --threads 1 --flows "$dir/eth.jsonl" 2>"$dir/eth.err" ||
        { cat "$dir/eth.err" >&2; exit 1; }
    python3 "$here/lib/linktypes.py" make "$dir/raw.pcap" "$dir" >"$dir/links"
    [ "$(wc -l <"$dir/links")" -ge 7 ] || { echo "FAIL: $name: captures not written" >&2; exit 1; }
    while read -r link lt hlen; do
        out=$dir/$link.pcap
        if [ "$lt" != 205 ] && ! ip_view "$out" | cmp -s - "$dir/eth.ip"; then
            echo "FAIL: $name as $link (link type $lt): tshark reads other IP packets" >&2
            fail=1
            continue
        fi
        if ! "$LOOPHOLE" -r "$out" --threads 1 --flows "$dir/$link.jsonl" 2>"$dir/$link.err"; then
            echo "FAIL: $name as $link (link type $lt): loophole failed:" >&2
            cat "$dir/$link.err" >&2
            fail=1
            continue
        fi
        python3 "$here/lib/linktypes.py" compare "$dir/eth.jsonl" "$dir/$link.jsonl" "$hlen" ||
            fail=1
    done <"$dir/links"
done
exit $fail
