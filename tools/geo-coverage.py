#!/usr/bin/env python3
"""geo-coverage.py -- how much of some countries' IPv4 space the indicator
tables give a category, as docs/geo.md reports it.

  python3 tools/geo-coverage.py --country COUNTRY_CSV --asn ASN_CSV \
      [--cc JP,KR,TW,MY,HK,SG] INDICATOR_DIR

COUNTRY_CSV and ASN_CSV are ip-location-db's numeric IPv4 files
(geo-whois-asn-country-ipv4-num.csv, asn-ipv4-num.csv: first,last,...),
the data the default database is built from. An address counts as
categorised when the sensor would give it a category: its network is in
networks.csv (or generated/networks.csv), or its AS is in asn.csv (or
generated/asn.csv). Prints, per country, the share of its addresses that
carry a category, and the share by category. Standard library only.
"""
import argparse
import bisect
import collections
import csv
import ipaddress
import os
import sys


def table_rows(path):
    """(key, category) of an indicator table, comments and header skipped."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f if l.strip() and not l.lstrip().startswith("#")]
    for r in csv.reader(lines[1:]):
        key = r[0].split("#")[0].strip()
        yield key, r[1].split("#")[0].strip()


def asn_categories(d):
    cats = {}
    for sub in ("generated/asn.csv", "asn.csv"):  # the sensor's load order
        for key, cat in table_rows(os.path.join(d, sub)):
            k = key.upper().replace("AS", "")
            lo, _, hi = k.partition("-")
            for a in range(int(lo), int(hi or lo) + 1):
                cats[a] = cat
    return cats


def network_ranges(d):
    out = []
    for sub in ("generated/networks.csv", "networks.csv"):
        for key, cat in table_rows(os.path.join(d, sub)):
            n = ipaddress.ip_network(key, strict=False)
            if n.version == 4:
                out.append((int(n.network_address), int(n.broadcast_address), cat))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--country", required=True)
    ap.add_argument("--asn", required=True)
    ap.add_argument("--cc", default="JP,KR,TW,MY,HK,SG")
    ap.add_argument("dir")
    a = ap.parse_args()
    ccs = a.cc.split(",")
    cats = asn_categories(a.dir)
    # categorised ranges: ASN ranges with a category, then networks on top
    # (a listed network beats its AS; overlaps are cut by a sweep)
    marks = []
    with open(a.asn, encoding="utf-8") as f:
        for r in csv.reader(f):
            c = cats.get(int(r[2]))
            if c:
                marks.append((int(r[0]), int(r[1]), c, 0))
    for lo, hi, c in network_ranges(a.dir):
        marks.append((lo, hi, c, 1))
    marks.sort()
    starts = [m[0] for m in marks]
    total = collections.Counter()
    covered = collections.defaultdict(collections.Counter)
    with open(a.country, encoding="utf-8") as f:
        for r in csv.reader(f):
            if r[2] not in ccs:
                continue
            lo, hi = int(r[0]), int(r[1])
            total[r[2]] += hi - lo + 1
            # ASN ranges do not overlap each other; networks are few and
            # counted where they fall outside a categorised AS range
            i = max(bisect.bisect_right(starts, lo) - 1, 0)
            seen = []
            while i < len(marks) and marks[i][0] <= hi:
                m = marks[i]
                l, h = max(lo, m[0]), min(hi, m[1])
                if l <= h:
                    seen.append((l, h, m[2]))
                i += 1
            seen.sort()
            end = lo - 1
            for l, h, c in seen:
                l = max(l, end + 1)
                if l <= h:
                    covered[r[2]][c] += h - l + 1
                    end = h
    for cc in ccs:
        n = sum(covered[cc].values())
        parts = ", ".join("%s %.1f%%" % (c, 100.0 * v / total[cc])
                          for c, v in covered[cc].most_common())
        print("%s %.1f%% of %d addresses (%s)" % (cc, 100.0 * n / max(total[cc], 1), total[cc],
                                                   parts))


if __name__ == "__main__":
    sys.exit(main())
