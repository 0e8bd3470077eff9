"""Rewrites a raw-IP capture under the serial link types and compares the
sensor's flow records against those of the Ethernet original.

usage: linktypes.py make RAW.pcap OUTDIR
         writes OUTDIR/<name>.pcap for each link type below: every frame of
         RAW.pcap (link type 101, as `editcap -C 14 -T rawip` leaves an
         Ethernet capture) behind that link type's header.
       linktypes.py compare ETH.jsonl LINK.jsonl HDRLEN
         the --flows records of the two replays must hold the same flows
         (endpoints, protocol, application, Community ID, end) with the same
         packets per direction; bytes differ only by the header: 14 bytes
         of Ethernet became HDRLEN bytes on every packet.

Python 3 standard library only.
"""

import json
import struct
import sys

# name: (link type, header before an IPv4 packet, before an IPv6 packet)
LINKS = {
    "ppp": (9, b"\xff\x03\x00\x21", b"\xff\x03\x00\x57"),          # RFC 1662 framing
    "ppp-acfc-pfc": (9, b"\x21", b"\x57"),                          # both compressed
    "ppp-serial": (50, b"\xff\x03\x00\x21", b"\xff\x03\x00\x57"),
    "chdlc": (104, b"\x0f\x00\x08\x00", b"\x0f\x00\x86\xdd"),
    "pppoe": (51, b"\x11\x00\x00\x01\x00\x00\x00\x21", b"\x11\x00\x00\x01\x00\x00\x00\x57"),
    "ppp-dir": (204, b"\x01\xff\x03\x00\x21", b"\x00\xff\x03\x00\x57"),
    "chdlc-dir": (205, b"\x00\x0f\x00\x08\x00", b"\x01\x0f\x00\x86\xdd"),
}


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise SystemExit("%s: not a little-endian pcap file" % path)
    linktype = struct.unpack("<I", data[20:24])[0]
    if linktype != 101:
        raise SystemExit("%s: link type %d, expected raw IP (101)" % (path, linktype))
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        yield sec, frac, orig, data[off + 16:off + 16 + incl]
        off += 16 + incl


def make(raw, outdir):
    with open(raw, "rb") as f:
        head = f.read(24)
    frames = list(read_pcap(raw))
    for name, (lt, h4, h6) in LINKS.items():
        with open("%s/%s.pcap" % (outdir, name), "wb") as out:
            out.write(head[:20] + struct.pack("<I", lt))
            for sec, frac, orig, frame in frames:
                h = h6 if frame and frame[0] >> 4 == 6 else h4
                if lt == 51:  # PPPoE payload length: the PPP protocol and the packet
                    h = h[:4] + struct.pack("!H", len(frame) + 2) + h[6:]
                # editcap -C keeps each frame's length on the wire: the
                # Ethernet header left the wire as well.
                wire = orig - 14 + len(h)
                out.write(struct.pack("<IIII", sec, frac, len(frame) + len(h), wire))
                out.write(h + frame)
        print("%s %d %d" % (name, lt, len(h4)))


KEYS = ("src_ip", "src_port", "dst_ip", "dst_port", "proto", "app", "community_id", "end",
        "pkts_c2s", "pkts_s2c")


def records(path):
    with open(path) as f:
        return [json.loads(l) for l in f if '"event_type":"flow"' in l]


def compare(eth, link, hdrlen):
    delta = 14 - int(hdrlen)
    want = sorted((tuple(r[k] for k in KEYS), r["bytes_c2s"] - delta * r["pkts_c2s"],
                   r["bytes_s2c"] - delta * r["pkts_s2c"]) for r in records(eth))
    got = sorted((tuple(r[k] for k in KEYS), r["bytes_c2s"], r["bytes_s2c"])
                 for r in records(link))
    if not want:
        print("FAIL: %s: no flow records" % eth)
        return 1
    if want != got:
        for w in sorted(set(want) - set(got)):
            print("FAIL: %s: missing %s" % (link, w))
        for g in sorted(set(got) - set(want)):
            print("FAIL: %s: unexpected %s" % (link, g))
        return 1
    print("%s: %d flows as in the Ethernet capture" % (link, len(got)))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4]))
