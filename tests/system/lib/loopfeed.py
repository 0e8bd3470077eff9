"""loopfeed.py SECONDS OUT PCAP...: writes one pcap stream to OUT (a FIFO)
for SECONDS of wall time: the given captures one after the other, over and
over, each pass shifted in packet time to start one second after the last
one ended, so the stream is one long capture whose flows come and go.
All captures must share one link type. Prints the packets written."""
import struct
import sys
import time


def load(path):
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:4] == b'\xd4\xc3\xb2\xa1', f"{path}: little-endian microsecond pcap expected"
    pkts, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from('<IIII', data, off)
        pkts.append((sec * 1000000 + usec, data[off + 8:off + 16 + incl]))
        off += 16 + incl
    return data[:24], pkts


secs, out = float(sys.argv[1]), sys.argv[2]
caps = [load(p) for p in sys.argv[3:]]
header = caps[0][0]
end = time.monotonic() + secs
written, clock = 0, caps[0][1][0][0]
with open(out, 'wb', buffering=1 << 20) as f:
    f.write(header)
    while time.monotonic() < end:
        for _, pkts in caps:
            shift = clock + 1000000 - pkts[0][0]
            for ts, rest in pkts:
                t = ts + shift
                f.write(struct.pack('<II', t // 1000000, t % 1000000))
                f.write(rest)
            written += len(pkts)
            clock = pkts[-1][0] + shift
print(written)
