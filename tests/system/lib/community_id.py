"""Compares the sensor's Community IDs with the ones tshark computes.

usage: community_id.py OUTDIR PCAP...

OUTDIR holds <basename of PCAP>.jsonl, the --flows output of one run per
capture. Wireshark's "Community ID Flow Hashing" post-dissector (Debian's
tshark, seed 0, base64) is an implementation of the same specification
written apart from the sensor's, so agreement on real traffic is the test.

Per capture, tshark gives one id per frame. Frames are grouped by their
L4 protocol and unordered address pair (plus ports for TCP, UDP and
SCTP), as the sensor keys flows:
  - every sensor record's community_id must be one of the ids tshark gives
    its group; for TCP, UDP and SCTP the group must have exactly that one
    id. An ICMP flow of the sensor spans all the messages between two
    hosts, and its id is that of its first message (request/reply pairs
    hash alike), so for ICMP it must be one of the group's ids.
  - every TCP/UDP id tshark computes must appear in the sensor's records:
    no flow is missing or hashed differently.
Frames tshark parses with a second IP header (ICMP errors quoting the
offending datagram) are hashed on the outer header by both sides.
Exits 1 on any difference and prints each one, with the number of flows
compared per capture.
"""

import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

FIELDS = ["frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "sctp.srcport", "sctp.dstport", "communityid"]
PORTED = ("tcp", "udp", "sctp")
PROTO_TOKENS = {"tcp": "tcp", "udp": "udp", "sctp": "sctp", "icmp": "icmp",
                "icmpv6": "icmpv6", "igmp": "igmp", "esp": "esp", "gre": "gre"}


def first(v):
    return v.split(",")[0] if v else ""


def tshark(pcap):
    return corpus.tshark_fields(pcap, FIELDS, ["--enable-protocol", "communityid",
                                               "-o", "communityid.seed:0",
                                               "-o", "communityid.do_base64:TRUE"])


def group(proto, a, pa, b, pb):
    if proto not in PORTED:
        pa = pb = 0
    return (proto, tuple(sorted([(a, pa), (b, pb)])))


def tshark_ids(pcap):
    ids = collections.defaultdict(set)
    for line in tshark(pcap).splitlines():
        row = dict(zip(FIELDS, line.split("\t")))
        cid = first(row["communityid"])
        tokens = row["frame.protocols"].split(":")
        ip_at = next((i for i, t in enumerate(tokens) if t in ("ip", "ipv6")), None)
        if not cid or ip_at is None:
            continue
        v6 = tokens[ip_at] == "ipv6"
        src = corpus.canon_addr(first(row["ipv6.src" if v6 else "ip.src"]))
        dst = corpus.canon_addr(first(row["ipv6.dst" if v6 else "ip.dst"]))
        proto = next((PROTO_TOKENS[t] for t in tokens[ip_at + 1:] if t in PROTO_TOKENS), None)
        if proto is None:
            continue
        sp = int(first(row[proto + ".srcport"]) or 0) if proto in PORTED else 0
        dp = int(first(row[proto + ".dstport"]) or 0) if proto in PORTED else 0
        ids[group(proto, src, sp, dst, dp)].add(cid)
    return ids


def sensor_records(path):
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("event_type") == "flow":
                yield r


def main():
    outdir, pcaps = sys.argv[1], sys.argv[2:]
    bad = 0
    total = 0
    for pcap in pcaps:
        name = os.path.basename(pcap)
        theirs = tshark_ids(pcap)
        seen = set()
        n = 0
        for r in sensor_records(os.path.join(outdir, name + ".jsonl")):
            cid = r.get("community_id")
            g = group(r["proto"], corpus.canon_addr(r["src_ip"]), r["src_port"],
                      corpus.canon_addr(r["dst_ip"]), r["dst_port"])
            want = theirs.get(g)
            n += 1
            seen.add(cid)
            if not isinstance(cid, str) or not cid.startswith("1:") or len(cid) != 30:
                print("FAIL: %s: %s: community_id %r is not a v1 id" % (name, g, cid))
                bad += 1
            elif want is None:
                print("FAIL: %s: %s: tshark has no id for this flow" % (name, g))
                bad += 1
            elif cid not in want or (g[0] in PORTED and len(want) != 1):
                print("FAIL: %s: %s: sensor %s, tshark %s" % (name, g, cid, sorted(want)))
                bad += 1
        for g, want in theirs.items():
            if g[0] in PORTED and not want & seen:
                print("FAIL: %s: %s: tshark id %s is in no flow record" % (name, g, sorted(want)))
                bad += 1
        if n == 0:
            print("FAIL: %s: no flow records" % name)
            bad += 1
        print("%s: %d flow records compared" % (name, n))
        total += n
    print("community_id: %d flow records in %d captures, %d differences" % (total, len(pcaps), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
