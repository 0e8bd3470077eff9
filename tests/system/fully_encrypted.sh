#!/bin/bash
# Fully encrypted first payloads (analyze/fep.c, docs/flow-records.md) on
# real captures and as evidence of a self-run tunnel (reverse_tunnel,
# docs/rules.md).
#
# Real captures (the third-party nDPI corpus): every capture is replayed
# and the flows whose record says fully_encrypted must be exactly the
# three below; every SSH, TLS, HTTP, QUIC, RDP, VNC and other flow a
# dissector named stays false. Why each is flagged:
#   shadowsocks.pcap 127.0.0.1:44276 -> 8388  Shadowsocks itself (nDPI:
#       Unknown): a 105-byte first payload of random bytes.
#   openvpn.pcap 127.0.0.1:36138 -> 443  OpenVPN over TCP with tls-auth:
#       a 2-byte length, an opcode, a session id and an HMAC, all random
#       beyond the first 3 bytes; nDPI 4.2 only guesses TLS from the port.
#   cloudflare-warp.pcap 10.8.0.1:42344 -> 159.138.85.48:5223  a push
#       service's own encrypted protocol (upstream nDPI calls it Jabber by
#       port; 4.2 leaves it Unknown): a 3-byte header, then random bytes.
# The last two are the documented look-alikes: a VPN over TCP, and a
# proprietary encrypted protocol.
#
# Generated: rules-fep (a GPU host driven for 3-20 minutes through a
# fully encrypted tunnel to a Hong Kong cloud address) raises
# reverse_tunnel about the GPU host with the relay as intermediary;
# rules-fep-miss (the same session over TLS to the same address, and a
# fully encrypted tunnel to a US VPS) raises nothing. Each is replayed
# with --threads 1, 2 and 4 and the alert lines must be byte-identical;
# seeds 2 and 3 (other durations and sizes) must decide the same.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus directory}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=lib/threads_replay.sh
. "$here/lib/threads_replay.sh"
fail() { echo "fully_encrypted: FAIL: $*" >&2; exit 1; }

[ -d "$LOOPHOLE_CORPUS/ndpi" ] || fail "no corpus at $LOOPHOLE_CORPUS/ndpi"
for p in "$LOOPHOLE_CORPUS"/ndpi/*.pcap "$LOOPHOLE_CORPUS"/ndpi/*.pcapng; do
    n=$(basename "$p")
    "$LOOPHOLE" -r "$p" --threads 1 --flows "$tmp/$n.flows" --alerts /dev/null 2>"$tmp/err" ||
        fail "$n: $(cat "$tmp/err")"
done
python3 - "$tmp" <<'PY' || fail "corpus flows flagged differently"
import glob, json, os, sys
want = {
    ("shadowsocks.pcap", "127.0.0.1", 44276, "127.0.0.1", 8388),
    ("openvpn.pcap", "127.0.0.1", 36138, "127.0.0.1", 443),
    ("cloudflare-warp.pcap", "10.8.0.1", 42344, "159.138.85.48", 5223),
}
got, total, named = set(), 0, 0
for path in glob.glob(os.path.join(sys.argv[1], "*.flows")):
    name = os.path.basename(path)[: -len(".flows")]
    for line in open(path):
        r = json.loads(line)
        total += 1
        if not isinstance(r["fully_encrypted"], bool):
            sys.exit("%s: fully_encrypted is not a boolean" % name)
        if r["proto"] == "tcp" and r["app"].split(".")[0] in ("SSH", "HTTP", "TLS", "RDP", "VNC"):
            named += 1
        if r["fully_encrypted"]:
            if r["proto"] != "tcp":
                sys.exit("%s: a %s flow flagged" % (name, r["proto"]))
            got.add((name, r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]))
if total < 500 or named < 50:
    sys.exit("only %d flows, %d SSH/HTTP/TLS/RDP/VNC over TCP: corpus incomplete" % (total, named))
for x in sorted(got - want):
    print("flagged but should not be:", *x)
for x in sorted(want - got):
    print("not flagged:", *x)
sys.exit(got != want)
PY

threads_replay "$tmp" rules-fep rules-fep-miss || fail "replay"
python3 "$here/lib/rules_check.py" "$tmp/rules-fep.1.alerts" \
    "+reverse_tunnel|gpu_host|104.171.200.17|gpu=104.171.200.17|inter=8.210.37.5|detail=fully encrypted connection|severity=high" \
    count=1 || fail "rules-fep"
python3 "$here/lib/rules_check.py" "$tmp/rules-fep-miss.1.alerts" count=0 || fail "rules-fep-miss"
for seed in 2 3; do
    for s in rules-fep rules-fep-miss; do
        "$LHGEN" "$s" "$tmp/$s.s$seed.pcap" --seed "$seed" >/dev/null
        "$LOOPHOLE" -r "$tmp/$s.s$seed.pcap" --threads 2 --alerts "$tmp/$s.s$seed.alerts" \
            2>"$tmp/err" || fail "$s seed $seed: $(cat "$tmp/err")"
    done
    python3 "$here/lib/rules_check.py" "$tmp/rules-fep.s$seed.alerts" \
        "+reverse_tunnel|gpu_host|104.171.200.17|inter=8.210.37.5|severity=high" count=1 ||
        fail "rules-fep seed $seed"
    python3 "$here/lib/rules_check.py" "$tmp/rules-fep-miss.s$seed.alerts" count=0 ||
        fail "rules-fep-miss seed $seed"
done
# the near miss's records: fully encrypted to the US, TLS to Hong Kong
python3 - "$tmp/rules-fep-miss.1.flows" <<'PY' || fail "rules-fep-miss records"
import json, sys
fe = {(r["dst_ip"], r["dst_port"]): r["fully_encrypted"] for r in map(json.loads, open(sys.argv[1]))}
want = {("45.76.12.34", 8388): True, ("8.210.37.5", 443): False}
if fe != want:
    sys.exit("got %s, want %s" % (fe, want))
PY
echo "PASS"
