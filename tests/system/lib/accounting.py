"""Counts packets and bytes per flow with tshark and compares them with the
sensor's flow records.

usage: accounting.py OUTDIR PCAP...

OUTDIR holds <basename of PCAP>.jsonl, the --flows output of one run per
capture. Exits 1 on any difference, printing each one.

The independent count, per frame that tshark decodes as IP:
  key    L4 protocol, innermost 802.1Q VLAN id (the last vlan.id; none or 0
         = untagged), and the unordered pair of endpoints (address, port);
         ports only for TCP and UDP, 0 otherwise.
  fields the OUTERMOST IP header and its L4 header. An ICMP error carries a
         copy of the offending IP/UDP header, which tshark also decodes;
         that inner header is not a second packet, so only the first
         occurrence of each field counts, and ports are taken only when the
         outer L4 protocol is TCP or UDP.
  L4     the protocol token after the IP header in frame.protocols, past
         any IPv6 extension headers (hop-by-hop, routing, destination
         options, fragment), so an MLD report behind a hop-by-hop header
         counts as ICMPv6, as the sensor's "innermost L4 header" does.
  bytes  frame.len, the length on the wire from the capture record.
  frags  a later IPv4/IPv6 fragment has no L4 header; it counts to the flow
         of its first fragment, found by (source, destination, protocol,
         identification), which is how the sensor keys them too. A later
         fragment whose first fragment was not seen is reported as an
         error, because neither side can place it by this rule. (The corpus
         has no fragments at present; the rule keeps the count right if
         one is added.)
  tunnels the count models one IP layer only (behind any VLAN, MPLS or
         PPPoE headers). A capture with GRE, VXLAN,
         Geneve, ERSPAN or IP-in-IP is refused with an error rather than
         counted wrongly.
Frames without IP (ARP, STP, EAPOL) belong to no flow.

Both sides are summed over every record of a flow (idle and active
timeouts split a long flow into several records) and compared per
endpoint: packets and bytes sent by each side must be equal exactly.
"""

import collections
import concurrent.futures
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

FIELDS = [
    "frame.number", "frame.len", "frame.protocols", "vlan.id",
    "ip.src", "ip.dst", "ip.proto", "ip.id", "ip.flags.mf", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.nxt",
    "ipv6.hopopts.nxt", "ipv6.routing.nxt", "ipv6.dstopts.nxt",
    "ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
]
L4_TOKENS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "igmp": 2}
IPV6_EXT = {"ipv6.hopopts", "ipv6.routing", "ipv6.dstopts", "ipv6.fraghdr"}
# Encapsulations that change which IP header the sensor keys on. (MPLS and
# PPPoE sit below IP like VLAN tags and change nothing in the count.)
TUNNELS = {"gre", "vxlan", "geneve", "erspan", "teredo"}


class Unmodelled(Exception):
    pass


def tshark(pcap):
    return corpus.tshark_fields(pcap, FIELDS)


def first(v):
    return v.split(",")[0] if v else ""


def last(v):
    return v.split(",")[-1] if v else ""


def l4_proto(tokens, ip_at, row):
    """IP protocol number of the outer IP packet's L4 header."""
    i = ip_at + 1
    ext = None
    while i < len(tokens) and tokens[i] in IPV6_EXT:
        ext = tokens[i]
        i += 1
    nxt = tokens[i] if i < len(tokens) else ""
    if nxt in ("ip", "ipv6") or nxt in TUNNELS:
        raise Unmodelled("tunnel %s in %s" % (nxt, row["frame.protocols"]))
    if nxt in L4_TOKENS:
        return L4_TOKENS[nxt]
    if tokens[ip_at] == "ip":
        return int(first(row["ip.proto"]))
    field = (ext + ".nxt") if ext else "ipv6.nxt"
    return int(last(row[field]))


def count(pcap):
    """{key: {endpoint: [pkts, bytes]}} for one capture, by tshark."""
    flows = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    frag_ports = {}
    orphans = []
    for line in tshark(pcap).splitlines():
        row = dict(zip(FIELDS, line.split("\t")))
        tokens = row["frame.protocols"].split(":")
        ip_at = next((i for i, t in enumerate(tokens) if t in ("ip", "ipv6")), None)
        if ip_at is None:
            continue
        for t in tokens[:ip_at]:
            if t in TUNNELS:
                raise Unmodelled("%s below IP in %s" % (t, row["frame.protocols"]))
        v6 = tokens[ip_at] == "ipv6"
        src = corpus.canon_addr(first(row["ipv6.src" if v6 else "ip.src"]))
        dst = corpus.canon_addr(first(row["ipv6.dst" if v6 else "ip.dst"]))
        if v6:
            later = "ipv6.fraghdr" in tokens and int(first(row["ipv6.fraghdr.offset"]) or 0) > 0
            frag_first = ("ipv6.fraghdr" in tokens and not later
                          and first(row["ipv6.fraghdr.more"]) in ("1", "True"))
            frag_id = first(row["ipv6.fraghdr.ident"])
        else:
            later = int(first(row["ip.frag_offset"]) or 0) > 0
            frag_first = not later and first(row["ip.flags.mf"]) in ("1", "True")
            frag_id = first(row["ip.id"])
        if later:
            proto = int(last(row["ipv6.fraghdr.nxt"]) if v6 else first(row["ip.proto"]))
            ports = frag_ports.get((src, dst, proto, frag_id))
            if ports is None:
                orphans.append(row["frame.number"])
                continue
            sport, dport = ports
        else:
            proto = l4_proto(tokens, ip_at, row)
            sport = dport = 0
            if proto in (6, 17):
                l4 = "tcp" if proto == 6 else "udp"
                sport = int(first(row[l4 + ".srcport"]) or 0)
                dport = int(first(row[l4 + ".dstport"]) or 0)
            if frag_first:
                frag_ports[(src, dst, proto, frag_id)] = (sport, dport)
        name = corpus.proto_name(proto)
        vlan = int(last(row["vlan.id"])) if row["vlan.id"] else None
        a = corpus.endpoint(src, sport, name)
        b = corpus.endpoint(dst, dport, name)
        c = flows[corpus.flow_key(name, vlan or None, a, b)][a]
        c[0] += 1
        c[1] += int(row["frame.len"])
    if orphans:
        raise Unmodelled("later fragments without their first fragment: frames %s"
                         % ",".join(orphans[:10]))
    return flows


def ours(path):
    flows = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    for rec in corpus.load_records(path):
        c = flows[rec["_key"]]
        c[rec["_client"]][0] += rec["pkts_c2s"]
        c[rec["_client"]][1] += rec["bytes_c2s"]
        c[rec["_server"]][0] += rec["pkts_s2c"]
        c[rec["_server"]][1] += rec["bytes_s2c"]
    return flows


def fmt_ep(e):
    return ("[%s]:%d" if ":" in e[0] else "%s:%d") % e


def compare(name, theirs, mine):
    problems = []
    for key in sorted(set(theirs) | set(mine), key=str):
        t, m = theirs.get(key), mine.get(key)
        where = "%s: %s" % (name, corpus.fmt_key(key))
        if m is None:
            tp = sum(v[0] for v in t.values())
            problems.append("%s: tshark counts %d packets, the sensor wrote no record" %
                            (where, tp))
            continue
        if t is None:
            problems.append("%s: the sensor wrote a record, tshark sees no such flow" % where)
            continue
        for ep in sorted(set(t) | set(m)):
            tv, mv = t.get(ep, [0, 0]), m.get(ep, [0, 0])
            if tv != mv:
                problems.append("%s: sent by %s: tshark %d pkts/%d bytes, sensor %d pkts/%d bytes"
                                % (where, fmt_ep(ep), tv[0], tv[1], mv[0], mv[1]))
    return problems


def check(outdir, pcap):
    name = os.path.basename(pcap)
    try:
        theirs = count(pcap)
    except (Unmodelled, RuntimeError, ValueError) as e:
        return name, 0, ["%s: cannot count independently: %s" % (name, e)]
    mine = ours(os.path.join(outdir, name + ".jsonl"))
    return name, len(theirs), compare(name, theirs, mine)


def main():
    outdir, pcaps = sys.argv[1], sys.argv[2:]
    total_flows = 0
    bad_files = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for name, nflows, problems in pool.map(lambda p: check(outdir, p), pcaps):
            total_flows += nflows
            for p in problems:
                print("MISMATCH " + p)
            if problems:
                bad_files.append(name)
    print("accounting: %d captures, %d flows counted by tshark; %d captures differ%s"
          % (len(pcaps), total_flows, len(bad_files),
             (": " + ", ".join(bad_files)) if bad_files else ""))
    return 1 if bad_files or not pcaps else 0


if __name__ == "__main__":
    sys.exit(main())
