"""Counts the packet records of a classic pcap file, independently of libpcap."""
import struct
import sys


def count(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        n = 0
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return n
            caplen = struct.unpack(endian + "IIII", rec)[2]
            f.seek(caplen, 1)
            n += 1


if __name__ == "__main__":
    print(count(sys.argv[1]))
