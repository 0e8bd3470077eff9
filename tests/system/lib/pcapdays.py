"""pcapdays.py OUT IN...: one classic pcap file of the captures IN, in the
order given, the i-th moved i days later in packet time. Each input must
last less than a day, so OUT's time only moves forward, and a capture given
twice raises its alerts again in new windows (every window of the rules is
at most a day long). All inputs must share one link type; OUT keeps the
largest snap length."""
import struct
import sys

DAY = 86400


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        sys.exit(f"{path}: not a little-endian microsecond pcap file")
    snaplen, linktype = struct.unpack("<II", data[16:24])
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        recs.append((sec, usec, wirelen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return data[:16], snaplen, linktype, recs


def main():
    out, inputs = sys.argv[1], sys.argv[2:]
    caps = [read(p) for p in inputs]
    if len({c[2] for c in caps}) != 1:
        sys.exit("pcapdays: the inputs have different link types")
    with open(out, "wb") as f:
        f.write(caps[0][0] + struct.pack("<II", max(c[1] for c in caps), caps[0][2]))
        for day, (_, _, _, recs) in enumerate(caps):
            if recs and recs[-1][0] - recs[0][0] >= DAY:
                sys.exit(f"pcapdays: {inputs[day]} lasts a day or more")
            for sec, usec, wirelen, payload in recs:
                f.write(struct.pack("<IIII", sec + day * DAY, usec, len(payload), wirelen))
                f.write(payload)


if __name__ == "__main__":
    main()
