#!/usr/bin/env python3
"""redis_dump.py SOCKET: every key of a Redis on a Unix socket with its
content, one line per key, sorted, without TTLs, so two dumps compare with
diff. Streams are dumped by their field values (entry ids carry the wall
clock of the XADD). Left out: the sensors' run counters (lh:stats:<sensor>,
the last run's) and the answers kept for settle calls sent again
(K:settle:<call id>, named by the writer's run), no state of the
functions library.
A minimal RESP client: the test needs no Redis module."""
import socket
import sys


class Resp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)


def content(r, key):
    t = r.call("TYPE", key).decode()
    if t == "string":
        v = r.call("GET", key)
        if v.startswith(b"HYLL"):  # a HyperLogLog: its count is what matters
            return t, r.call("PFCOUNT", key)
        return t, v
    if t == "hash":
        h = r.call("HGETALL", key)
        return t, sorted(zip(h[::2], h[1::2]))
    if t == "set":
        return t, sorted(r.call("SMEMBERS", key))
    if t == "zset":
        z = r.call("ZRANGE", key, 0, -1, "WITHSCORES")
        return t, sorted(zip(z[::2], z[1::2]))
    if t == "list":
        return t, r.call("LRANGE", key, 0, -1)
    if t == "stream":
        return t, sorted(repr(e[1]) for e in r.call("XRANGE", key, "-", "+"))
    return t, None


def main():
    r = Resp(sys.argv[1])
    keys, cursor = set(), b"0"
    while True:
        cursor, batch = r.call("SCAN", cursor, "COUNT", 1000)
        keys.update(batch)
        if cursor == b"0":
            break
    for k in sorted(keys):
        if k.startswith(b"lh:stats:") or b":settle:" in k:
            continue
        t, v = content(r, k)
        print(k.decode(errors="replace"), t, repr(v))


if __name__ == "__main__":
    main()
