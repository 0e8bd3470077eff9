#!/usr/bin/env python3
"""redis_age.py SOCKET SECONDS: what SECONDS of wall clock do to a Redis on
a Unix socket: every key with a TTL loses SECONDS of it, and a key whose
TTL would run out is deleted, as it would have expired. Keys without a
TTL (the alerts stream, the risk set, host hashes) stay."""
import sys

from redis_dump import Resp


def main():
    r = Resp(sys.argv[1])
    age_ms = int(sys.argv[2]) * 1000
    cursor, aged, gone = b"0", 0, 0
    while True:
        cursor, batch = r.call("SCAN", cursor, "COUNT", 1000)
        for k in batch:
            ttl = int(r.call("PTTL", k))
            if ttl < 0:
                continue
            if ttl <= age_ms:
                r.call("DEL", k)
                gone += 1
            else:
                r.call("PEXPIRE", k, ttl - age_ms)
                aged += 1
        if cursor == b"0":
            break
    print("%d keys aged, %d expired" % (aged, gone))


main()
