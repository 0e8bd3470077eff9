"""pcapfeed.py CAPTURE CTLDIR FRACTION...: writes CAPTURE (a classic pcap
file) to standard output in parts, so that a test decides what happens
between them. After the packets up to each FRACTION of the packet count
(in increasing order) it flushes, writes the number of packets written so
far to CTLDIR/fed.K (K = 1, 2, ...), and waits until CTLDIR/go.K exists;
then it writes the rest and closes its output."""
import os
import struct
import sys
import time


def main():
    path, ctl, fractions = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3:]]
    with open(path, "rb") as f:
        data = f.read()
    starts, off = [], 24
    while off + 16 <= len(data):
        starts.append(off)
        off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
    starts.append(off)
    npkt = len(starts) - 1
    out = sys.stdout.buffer
    done = 0
    out.write(data[:24])
    for k, frac in enumerate(fractions, 1):
        upto = max(done, min(npkt, int(npkt * frac)))
        out.write(data[starts[done]:starts[upto]])
        out.flush()
        done = upto
        with open(os.path.join(ctl, f"fed.{k}.tmp"), "w") as f:
            f.write(f"{done}\n")
        os.rename(os.path.join(ctl, f"fed.{k}.tmp"), os.path.join(ctl, f"fed.{k}"))
        while not os.path.exists(os.path.join(ctl, f"go.{k}")):
            time.sleep(0.02)
    out.write(data[starts[done]:starts[npkt]])
    out.flush()


if __name__ == "__main__":
    main()
