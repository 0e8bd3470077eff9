"""Rewrites a little-endian classic pcap file in the other forms of the
format, for tests that read the same packets through different readers.

usage: pcapvariant.py forms SRC.pcap OUTDIR
         OUTDIR/<name>.be.pcap      headers big-endian
         OUTDIR/<name>.ns.pcap      nanosecond timestamps (each fraction
                                    times 1000 plus 0..999, which a reader
                                    converting to microseconds drops)
         OUTDIR/<name>.be-ns.pcap   both
         OUTDIR/<name>.clip.pcap    the file header's snap length set below
                                    the longest record, so readers clip
       pcapvariant.py links ETH.pcap OUTDIR
         the IPv4 and IPv6 frames of an Ethernet capture behind every other
         link type the decoder reads: OUTDIR/<name>.<link>.pcap, one path
         a line on standard output
       pcapvariant.py stats A.err B.err
         compares the capture, flow and alert counters of the last stats
         line of two runs' standard error; prints the differences and exits
         1 if there are any.

Python 3 standard library only.
"""

import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linktypes import LINKS  # noqa: E402  serial link types' headers


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, vmaj, vmin, zone, sigfigs, snap, link = struct.unpack("<IHHiIII", data[:24])
    if magic != 0xA1B2C3D4:
        raise SystemExit("%s: not a little-endian microsecond pcap file" % path)
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        recs.append((sec, usec, wirelen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return (vmaj, vmin, zone, sigfigs, snap, link), recs


def write_pcap(path, hdr, recs, order="<", nsec=False):
    vmaj, vmin, zone, sigfigs, snap, link = hdr
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, vmaj, vmin, zone, sigfigs, snap, link)]
    for i, (sec, frac, wirelen, frame) in enumerate(recs):
        if nsec:
            frac = frac * 1000 + i % 1000
        out.append(struct.pack(order + "IIII", sec, frac, len(frame), wirelen))
        out.append(frame)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def forms(src, outdir):
    hdr, recs = read_pcap(src)
    name = os.path.basename(src)[:-len(".pcap")]
    write_pcap(os.path.join(outdir, name + ".be.pcap"), hdr, recs, ">")
    write_pcap(os.path.join(outdir, name + ".ns.pcap"), hdr, recs, "<", True)
    write_pcap(os.path.join(outdir, name + ".be-ns.pcap"), hdr, recs, ">", True)
    longest = max(len(r[3]) for r in recs)
    clip = hdr[:4] + (max(60, longest // 2),) + hdr[5:]
    write_pcap(os.path.join(outdir, name + ".clip.pcap"), clip, recs)


def sll(ethertype):
    # packet type 0 (to us), ARPHRD_ETHER, 6-byte address, protocol
    return struct.pack(">HHH8sH", 0, 1, 6, b"\x02\x00\x00\x00\x00\x01", ethertype)


def sll2(ethertype):
    # protocol, reserved, interface index, ARPHRD_ETHER, packet type, address
    return struct.pack(">HHIHBB8s", ethertype, 0, 1, 1, 0, 6, b"\x02\x00\x00\x00\x00\x01")


def links(src, outdir):
    hdr, recs = read_pcap(src)
    if hdr[5] != 1:
        raise SystemExit("%s: not an Ethernet capture" % src)
    name = os.path.basename(src)[:-len(".pcap")]
    ip = []  # (record, ethertype, IP packet)
    for r in recs:
        frame = r[3]
        if len(frame) > 14 and frame[12:14] in (b"\x08\x00", b"\x86\xdd"):
            ip.append((r, struct.unpack(">H", frame[12:14])[0], frame[14:]))
    kinds = {
        "raw": (101, lambda et: b""),
        "null": (0, lambda et: struct.pack("<I", 2 if et == 0x0800 else 30)),
        "loop": (108, lambda et: struct.pack(">I", 2 if et == 0x0800 else 30)),
        "sll": (113, sll),
        "sll2": (276, sll2),
    }
    made = []
    for link, (lt, v4, v6) in LINKS.items():
        kinds[link] = (lt, lambda et, v4=v4, v6=v6: v4 if et == 0x0800 else v6)
    for kind, (lt, head) in kinds.items():
        out = [(r[0], r[1], r[2] - 14 + len(head(et)), head(et) + pkt) for r, et, pkt in ip]
        made.append(os.path.join(outdir, "%s.%s.pcap" % (name, kind)))
        write_pcap(made[-1], hdr[:5] + (lt,), out)
    for kind, lt, et in (("ipv4", 228, 0x0800), ("ipv6", 229, 0x86DD)):
        out = [(r[0], r[1], r[2] - 14, pkt) for r, e, pkt in ip if e == et]
        if not out:
            raise SystemExit("%s: no frame for link type %s" % (src, kind))
        made.append(os.path.join(outdir, "%s.%s.pcap" % (name, kind)))
        write_pcap(made[-1], hdr[:5] + (lt,), out)
    print("\n".join(made))


COUNTERS = ("clock", "packets", "bytes", "decoded", "ignored_non_ip", "drops", "drop_reasons",
            "truncated_copies", "ip_length_clipped", "flows_total", "flow_records", "dpi_flows",
            "dpi_packets", "dpi_unknown", "alerts", "alerts_by_rule")


def last_stats(path):
    last = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("{") and '"event_type":"stats"' in line:
                last = json.loads(line)
    if last is None:
        raise SystemExit("%s: no stats line" % path)
    return {k: last.get(k) for k in COUNTERS}


def stats(a, b):
    sa, sb = last_stats(a), last_stats(b)
    diff = [k for k in COUNTERS if sa[k] != sb[k]]
    for k in diff:
        print("  %s: %s against %s" % (k, json.dumps(sa[k]), json.dumps(sb[k])))
    return 1 if diff else 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "forms":
        forms(sys.argv[2], sys.argv[3])
    elif cmd == "links":
        links(sys.argv[2], sys.argv[3])
    elif cmd == "stats":
        sys.exit(stats(sys.argv[2], sys.argv[3]))
    else:
        raise SystemExit(__doc__)
