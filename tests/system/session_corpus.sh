#!/bin/bash
# Session levels (analyze/session.c, flow record field `session`) on real
# captures nobody here wrote: nDPI's SSH, RDP, VNC, AnyDesk and TeamViewer
# test captures (../shared/corpus/ndpi). Every flow with a control kind in
# them is listed below with the level it must get and why; a control flow
# not listed, or a different level, fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus folder}"
corpus=$LOOPHOLE_CORPUS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for p in ssh.pcap rdp.pcap rdp2.pcap rdp_over_tls.pcap vnc.pcap anydesk.pcapng teamviewer.pcap; do
    "$LOOPHOLE" -r "$corpus/ndpi/$p" --flows "$tmp/$p.flows" 2>"$tmp/$p.err" ||
        { cat "$tmp/$p.err" >&2; echo "FAIL: session_corpus: $p" >&2; exit 1; }
done
python3 - "$tmp" <<'PY'
import json, os, sys
# (capture, proto, client port, server port, first second): level, why
want = {
    ("ssh.pcap", "tcp", 58395, 22, "19:37:44"): ("established",
        "banners, key exchange, then far more than a failed login's 16 packets each way, "
        "23 echoed keystrokes"),
    ("ssh.pcap", "tcp", 58395, 22, "19:41:48"): ("established",
        "the same connection after an idle gap longer than the idle timeout: joined "
        "mid-stream, 78/47 packets, past any failed login"),
    ("ssh.pcap", "tcp", 58496, 8000, "07:55:22"): ("attempt",
        "a publickey login and one short exec in 2 s, 7 client packets after the key "
        "exchange: within what a failed login sends (the documented blind spot: one-shot "
        "commands shorter than a brute-force connection)"),
    ("rdp.pcap", "tcp", 52494, 3389, "09:11:05"): ("attempt",
        "X.224 and the TLS handshake only, 2 KB in one second: no screen was drawn"),
    ("rdp2.pcap", "udp", 54759, 3389, "12:55:48"): ("attempt",
        "RDP-UDP: 4 datagrams out, 2 back, no transport established"),
    ("rdp2.pcap", "udp", 51652, 3389, "08:16:59"): ("established",
        "RDP-UDP with 12/14 datagrams: the UDP transport a logged-in session's "
        "multitransport request sets up (MS-RDPBCGR 2.2.15.1), carrying data both ways"),
    ("rdp2.pcap", "udp", 60355, 3389, "07:53:27"): ("attempt",
        "RDP-UDP: 4 datagrams out, 3 back"),
    ("rdp_over_tls.pcap", "tcp", 35888, 3389, "19:53:41"): ("attempt",
        "X.224, TLS handshake, then a reset after one second: a logon that got nowhere"),
    ("vnc.pcap", "tcp", 59791, 6900, "14:54:24"): ("established",
        "RFB 004.001 handshake, then 2300 client input events: only after ServerInit"),
    ("vnc.pcap", "tcp", 51559, 6900, "14:54:46"): ("established",
        "the second viewer connection, 600 input events after the handshake"),
    ("anydesk.pcapng", "tcp", 36351, 80, "07:29:58"): ("established",
        "the AnyDesk client's relay connection, 10 payloads each way over 46 s"),
    ("anydesk.pcapng", "tcp", 43535, 80, "07:29:59"): ("established",
        "TLS to the AnyDesk relay, 19/22 payloads: application data both ways"),
    ("anydesk.pcapng", "tcp", 52039, 7070, "07:06:35"): ("attempt",
        "a direct connection reset after the TLS handshake"),
    ("anydesk.pcapng", "tcp", 54164, 7070, "07:06:35"): ("established",
        "the direct connection that went on: 19/21 payloads"),
    ("anydesk.pcapng", "udp", 59511, 53, "07:06:25"): ("attempt",
        "a DNS lookup of the relay: one question, one answer"),
    ("anydesk.pcapng", "udp", 55376, 53, "07:06:25"): ("attempt",
        "the same lookup again"),
    ("teamviewer.pcap", "udp", 34417, 36037, "00:08:40"): ("attempt",
        "one datagram out: hole punching that did not become a session"),
    ("teamviewer.pcap", "tcp", 35732, 5938, "00:05:30"): ("established",
        "TeamViewer's connection, 129/160 packets over 7 minutes"),
}
got, bad = {}, []
for name in sorted(os.listdir(sys.argv[1])):
    if not name.endswith(".flows"):
        continue
    cap = name[:-6]
    for line in open(os.path.join(sys.argv[1], name)):
        r = json.loads(line)
        if not r["control"]:
            continue
        k = (cap, r["proto"], r["src_port"], r["dst_port"], r["first"][11:19])
        got[k] = r["session"]
for k, (level, why) in want.items():
    if got.get(k) != level:
        bad.append(f"{k}: {got.get(k)}, want {level} ({why})")
for k in got.keys() - want.keys():
    bad.append(f"{k}: control flow not listed (level {got[k]})")
for b in bad:
    print("FAIL: session_corpus:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "session_corpus: the session level of every control flow of the SSH, RDP, VNC and remote-desktop captures"
