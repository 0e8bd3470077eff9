#!/usr/bin/env python3
"""Turns capture files into seeds for fuzz_flow: one seed per capture,
its first packets in the harness's format (link-type byte, then for each
frame a little-endian 16-bit length, a control byte and the frame). The
control byte carries the time step to the next frame in 50 ms units (at
most 63), with the tick bit set every 16 frames.

usage: pcap_seeds.py OUTDIR FILE.pcap...   (pcap only, not pcapng)
"""
import hashlib
import os
import struct
import sys

# Index in fuzz_flow.c's fuzz_dlts[] of each link type.
DLTS = {1: 0, 113: 1, 276: 2, 101: 3, 228: 4, 229: 5, 0: 6, 108: 7, 12: 3}
MAX_FRAMES, MAX_FRAME, MAX_SEED = 48, 1600, 32 * 1024


def seed(path):
    with open(path, 'rb') as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return None
        magic = hdr[:4]
        if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
            e = '<'
        elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
            e = '>'
        else:
            return None
        nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
        dlt = struct.unpack(e + 'I', hdr[20:24])[0] & 0xffff
        if dlt not in DLTS:
            return None
        out = bytearray([DLTS[dlt]])
        prev = None
        for n in range(MAX_FRAMES):
            ph = f.read(16)
            if len(ph) < 16:
                break
            sec, frac, incl, _ = struct.unpack(e + 'IIII', ph)
            data = f.read(incl)[:MAX_FRAME]
            t = sec * 1e6 + (frac / 1000 if nano else frac)
            step = 0 if prev is None else min(63, max(0, int((t - prev) / 50000)))
            prev = t
            ctl = step | (0x80 if n % 16 == 15 else 0)
            rec = struct.pack('<HB', len(data), ctl) + data
            if len(out) + len(rec) > MAX_SEED:
                break
            out += rec
        return bytes(out)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for path in sys.argv[2:]:
        s = seed(path)
        if s:
            name = hashlib.sha1(s).hexdigest()
            with open(os.path.join(outdir, name), 'wb') as f:
                f.write(s)


if __name__ == '__main__':
    main()
