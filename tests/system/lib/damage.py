"""Builds damaged copies of a classic pcap file and reads results back.

usage:
  damage.py make SRC DIR     writes the damaged files into DIR and prints,
                             per file, "NAME RECORDS_BEFORE_DAMAGE", the
                             records a reader can take before it fails
                             (all records when nothing stops a reader)
  damage.py count PCAP       prints the number of complete records in PCAP
  damage.py pkts FLOWS       prints the packets summed over flow records
  damage.py stats STDERR KEY prints KEY of the last "stats" line in STDERR
                             (a JSON value; drop_reasons as JSON)

Only the pcap record framing is parsed here (24-byte file header, 16-byte
record headers), independently of libpcap.
"""

import json
import random
import struct
import sys


def records(data):
    """(offset, caplen) of every complete record of a little- or big-endian
    classic pcap."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise SystemExit("not a classic pcap file")
    out, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        if off + 16 + caplen > len(data):
            break
        out.append((off, caplen))
        off += 16 + caplen
    return end, out


def make(src, outdir):
    data = open(src, "rb").read()
    end, recs = records(data)
    n = len(recs)
    if n < 40:
        raise SystemExit("%s: need at least 40 packets, found %d" % (src, n))
    mid = n // 2
    moff, mlen = recs[mid]
    hdr_ts = data[moff:moff + 8]  # keeps timestamps in order
    made = {}

    def write(name, blob, before):
        with open("%s/%s" % (outdir, name), "wb") as fh:
            fh.write(blob)
        made[name] = before

    # Cut in the middle of packet `mid`'s data: `mid` whole packets before.
    write("truncated.pcap", data[:moff + 16 + mlen // 2], mid)
    # A record with caplen 0 and len 0 before packet `mid`: valid framing,
    # an empty frame; every real packet is still readable.
    zero = hdr_ts + struct.pack(end + "II", 0, 0)
    write("zero_record.pcap", data[:moff] + zero + data[moff:], n + 1)
    # A record header claiming 0x7fffffff captured bytes before packet `mid`.
    huge = hdr_ts + struct.pack(end + "II", 0x7fffffff, 0x7fffffff)
    write("huge_caplen.pcap", data[:moff] + huge + data[moff:], mid)
    # Garbage frame contents behind valid record headers: frames 10..19 keep
    # an Ethernet header for IPv4 and carry an impossible IPv4 header (IHL 1)
    # followed by random bytes; frames 20..24 are random from the first byte.
    rnd = random.Random(20240711)
    g = bytearray(data)
    for i in range(10, 25):
        off, caplen = recs[i]
        body = off + 16
        for j in range(caplen):
            g[body + j] = rnd.randrange(256)
        if i < 20 and caplen > 14:
            g[body + 12:body + 14] = b"\x08\x00"
            g[body + 14] = 0x41
    write("garbage_frames.pcap", bytes(g), n)
    write("not_a_capture.pcap", b"this is a text file, not a packet capture\n" * 20, 0)
    for name, before in made.items():
        print(name, before)


def pkts(path):
    total = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                total += rec["pkts_c2s"] + rec["pkts_s2c"]
    print(total)


def stats(path, key):
    last = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("{") and '"event_type":"stats"' in line:
                last = json.loads(line)
    if last is None:
        raise SystemExit("no stats line in " + path)
    print(json.dumps(last[key]) if not isinstance(last[key], int) else last[key])


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], sys.argv[3])
    elif cmd == "count":
        print(len(records(open(sys.argv[2], "rb").read())[1]))
    elif cmd == "pkts":
        pkts(sys.argv[2])
    elif cmd == "stats":
        stats(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("unknown command " + cmd)
