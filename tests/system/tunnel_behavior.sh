#!/bin/bash
# Reverse tunnels by behaviour, UDP control channels and OpenSSH keystroke
# chaff (docs/rules.md "reverse_tunnel", "UDP and QUIC control channels",
# "Keystroke obfuscation"; docs/flow-analysis.md).
#
# Generated, each replayed with --threads 1, 2 and 4 (the same alerts),
# and the positives with two more seeds (--threads 1 and 4):
#   rules-rtunnel        a GPU host typed into through an outbound TLS
#                        connection without SNI to a Hong Kong cloud
#                        address: reverse_tunnel high, by behaviour;
#   rules-rtunnel-quic   the same over QUIC: reverse_tunnel high (udp);
#   rules-rtunnel-us     the same TLS tunnel to a US VPS: reverse_tunnel
#                        low (an ordinary network: a developer's own relay
#                        as often as a reseller's);
#   rules-rtunnel-miss   a developer's web tunnel to a US VPS, a typed
#                        tunnel beside its owner's inbound SSH login, an
#                        idle agent to Hong Kong: nothing, and only the
#                        typed tunnel's record says typed_from_server;
#   rules-wg             a user in China types into a GPU host over
#                        WireGuard (cn_direct_control, vpn:wireguard), and
#                        a second GPU host dialling out over WireGuard to
#                        Hong Kong is typed into (reverse_tunnel high);
#   rules-wg-miss        site-to-site WireGuard between two of the tenant's
#                        data centres, bulk: nothing, the record
#                        established and bulk, not interactive;
#   relay-hop-chaff      a stepping stone whose two legs use OpenSSH's
#                        keystroke obfuscation: stepping_stone, every
#                        coincidence's packet counts agreeing, both legs'
#                        records interactive with keystroke_chaff;
#   relay-hop-chaff-miss the same two sessions typed independently:
#                        nothing.
# Real captures (the third-party nDPI corpus): the WireGuard and OpenVPN
# flows get their kinds and levels from their message types: a handshake,
# or a TLS handshake in OpenVPN's control channel that never completes,
# is an attempt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus directory}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "tunnel_behavior: FAIL: $*" >&2; exit 1; }
check() { python3 "$here/lib/rules_check.py" "$@"; }

# What a run raised: rule, entity, severity and the evidence flows of each
# alert. A stepping_stone alert's time and summary are those of the leg
# that reached Redis last, which can follow the workers (README), so the
# lines themselves are compared only for the other rules.
keys() { python3 -c '
import json, sys
for a in sorted(map(json.loads, open(sys.argv[1])), key=lambda a: (a["rule"], a["entity"]["ip"])):
    if a["rule"] == "stepping_stone":
        print(a["rule"], a["entity"]["role"], a["entity"]["ip"], a["severity"],
              *sorted(e["flow"]["src"] for e in a["evidence"]))
    else:
        print(json.dumps(a, sort_keys=True))' "$1"; }

# replay NAME SCENARIO SEED THREADS...: lhgen writes $tmp/NAME.pcap,
# replayed with one worker and each of THREADS into $tmp/NAME.N.flows and
# .alerts; every run must raise what one worker raised (keys), and the
# records must match the manifest.
replay() {
    local name=$1 scen=$2 seed=$3 t
    shift 3
    "$LHGEN" "$scen" "$tmp/$name.pcap" --seed "$seed" --manifest "$tmp/$name.tsv" >/dev/null ||
        fail "lhgen $scen"
    for t in 1 "$@"; do
        "$LOOPHOLE" -r "$tmp/$name.pcap" --threads "$t" --flows "$tmp/$name.$t.flows" \
            --alerts "$tmp/$name.$t.alerts" 2>"$tmp/err" || fail "$name: $(cat "$tmp/err")"
        cmp -s <(keys "$tmp/$name.1.alerts") <(keys "$tmp/$name.$t.alerts") ||
            fail "$name: --threads $t raises other alerts than one worker"
    done
    python3 "$here/lib/manifest.py" "$tmp/$name.tsv" "$tmp/$name.1.flows" >/dev/null ||
        fail "$name: records differ from the manifest"
}

for s in rules-rtunnel rules-rtunnel-quic rules-rtunnel-us rules-rtunnel-miss rules-wg \
    rules-wg-miss relay-hop-chaff relay-hop-chaff-miss; do
    replay "$s" "$s" 1 2 4
done
# The positives with other seeds: other draws of the same behaviour.
for seed in 2 3; do
    for s in rules-rtunnel rules-rtunnel-quic rules-wg relay-hop-chaff relay-hop-chaff-miss; do
        replay "$s.s$seed" "$s" "$seed" 4
    done
done

for sfx in 1 s2.1 s3.1; do
    check "$tmp/rules-rtunnel.$sfx.alerts" \
        "+reverse_tunnel|gpu_host|104.171.200.17|inter=8.210.37.5|detail=(tcp)|severity=high" \
        "+reverse_tunnel|gpu_host|104.171.200.17|detail=typed in from 8.210.37.5" count=1 ||
        fail "rules-rtunnel ($sfx)"
    check "$tmp/rules-rtunnel-quic.$sfx.alerts" \
        "+reverse_tunnel|gpu_host|104.171.200.17|inter=8.210.37.5|detail=(udp)|severity=high" \
        "+reverse_tunnel|gpu_host|104.171.200.17|detail=typed in from 8.210.37.5" count=1 ||
        fail "rules-rtunnel-quic ($sfx)"
    check "$tmp/rules-wg.$sfx.alerts" \
        "+cn_direct_control|gpu_host|104.171.200.17|peer=175.16.199.23|detail=vpn:wireguard session" \
        "+reverse_tunnel|gpu_host|104.171.201.9|inter=8.210.37.5|detail=vpn:wireguard|severity=high" \
        count=2 || fail "rules-wg ($sfx)"
    check "$tmp/relay-hop-chaff.$sfx.alerts" \
        "+stepping_stone|intermediary|81.2.69.142|peer=175.16.199.23|gpu=104.171.200.17" count=1 ||
        fail "relay-hop-chaff ($sfx)"
    check "$tmp/relay-hop-chaff-miss.$sfx.alerts" count=0 || fail "relay-hop-chaff-miss ($sfx)"
done
check "$tmp/rules-rtunnel-us.1.alerts" \
    "+reverse_tunnel|gpu_host|104.171.200.17|inter=45.76.12.34|detail=typed in from 45.76.12.34|severity=low" \
    count=1 || fail "rules-rtunnel-us"
check "$tmp/rules-rtunnel-miss.1.alerts" count=0 || fail "rules-rtunnel-miss"
check "$tmp/rules-wg-miss.1.alerts" count=0 || fail "rules-wg-miss"

python3 - "$tmp" <<'PY' || fail "records"
import json, sys
d = sys.argv[1]
def recs(name):
    return [json.loads(l) for l in open("%s/%s.1.flows" % (d, name))]
def one(name, **sel):
    got = [r for r in recs(name) if all(r[k] == v for k, v in sel.items())]
    if len(got) != 1:
        sys.exit("%s %s: %d records" % (name, sel, len(got)))
    return got[0]
def want(r, what, **kv):
    for k, v in kv.items():
        if r[k] != v:
            sys.exit("%s: %s is %r, want %r" % (what, k, r[k], v))

# Only the typed tunnel is typed into from the server side; the web tunnel,
# the idle agent and its owner's inbound login are not.
want(one("rules-rtunnel-miss", src_ip="104.171.200.17"), "web tunnel", typed_from_server=False)
want(one("rules-rtunnel-miss", src_ip="209.20.156.33"), "idle agent", typed_from_server=False)
want(one("rules-rtunnel-miss", src_ip="104.171.201.9"), "typed tunnel", typed_from_server=True)
want(one("rules-rtunnel-miss", dst_port=22), "inbound login", typed_from_server=False,
     session="established")
r = one("rules-rtunnel", src_ip="104.171.200.17")
want(r, "rules-rtunnel", typed_from_server=True, session="established")
if r["reverse_keystrokes"] < 50:
    sys.exit("rules-rtunnel: %d reverse keystrokes" % r["reverse_keystrokes"])
# WireGuard: the kind, the level and the direction of the typing.
want(one("rules-wg", src_ip="175.16.199.23"), "inbound WireGuard", proto="udp",
     control="vpn:wireguard", session="established", interactive=True, typed_from_server=False)
want(one("rules-wg", src_ip="104.171.201.9"), "outbound WireGuard", control="vpn:wireguard",
     session="established", typed_from_server=True)
r = one("rules-wg-miss", src_ip="104.171.200.17")
want(r, "site-to-site", control="vpn:wireguard", session="established", interactive=False,
     typed_from_server=False)
if "bulk" not in r["roles"]:
    sys.exit("site-to-site: roles %s" % r["roles"])
# Keystroke chaff on both legs of the obfuscated stepping stone.
for src in ("175.16.199.23", "81.2.69.142"):
    r = one("relay-hop-chaff", src_ip=src)
    want(r, "leg from " + src, interactive=True)
    if r["keystroke_chaff"] < 10:
        sys.exit("leg from %s: %d chaff trains" % (src, r["keystroke_chaff"]))
a = json.loads(open(d + "/relay-hop-chaff.1.alerts").readline())
if a["packets_agree"] != a["coincidences"] or a["coincidences"] < 4:
    sys.exit("relay-hop-chaff: %s" % {k: a[k] for k in ("coincidences", "on_periods",
                                                      "back_to_back", "packets_agree")})
PY

# Real WireGuard and OpenVPN captures.
for p in wireguard openvpn; do
    "$LOOPHOLE" -r "$LOOPHOLE_CORPUS/ndpi/$p.pcap" --threads 1 --flows "$tmp/$p.flows" \
        --alerts /dev/null 2>"$tmp/err" || fail "$p: $(cat "$tmp/err")"
done
python3 - "$tmp" <<'PY' || fail "corpus"
import json, sys
d = sys.argv[1]
got = {}
for p in ("wireguard", "openvpn"):
    for r in map(json.loads, open("%s/%s.flows" % (d, p))):
        if r["proto"] == "udp":
            got[(p, r["src_port"], r["dst_port"])] = (r["control"], r["session"])
want = {
    # init, response, three pings through the tunnel: fewer than four
    # exchanges each way
    ("wireguard", 43462, 51820): ("vpn:wireguard", "attempt"),
    ("wireguard", 51820, 43462): ("vpn:wireguard", "established"),
    ("wireguard", 51820, 36116): ("vpn:wireguard", "established"),
    # the TLS handshake in the control channel is retransmitted, data
    # comes from the client only
    ("openvpn", 41507, 13680): ("vpn:openvpn", "attempt"),
    ("openvpn", 13680, 13680): ("vpn:openvpn", "established"),
    # control channel only
    ("openvpn", 51146, 1194): ("vpn:openvpn", "attempt"),
    ("openvpn", 41133, 443): ("vpn:openvpn", "attempt"),
}
bad = [(k, got.get(k), v) for k, v in want.items() if got.get(k) != v]
for k, g, v in bad:
    print("corpus %s: got %s, want %s" % (k, g, v))
sys.exit(1 if bad else 0)
PY
echo "PASS"
