"""feed.py PCAP COUNT FIFO: writes the capture's header and its first COUNT
packets to FIFO, then holds the FIFO open (the reader sees a stream that
has stopped mid-way, not an end of file) until it is killed."""
import struct
import sys
import time

path, count, fifo = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, 'rb') as f:
    data = f.read()
e = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
off = 24
for _ in range(count):
    incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
    off += 16 + incl
with open(fifo, 'wb') as out:
    out.write(data[:off])
    out.flush()
    while True:
        time.sleep(1)
