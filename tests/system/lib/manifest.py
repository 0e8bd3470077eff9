"""Checks flow records against a generator manifest.

Usage: manifest.py MANIFEST.tsv FLOWS.json
Every manifest row must match exactly one flow (same client address and
port, server address and port, protocol, VLAN and VNI) with equal packet
and byte counts per direction, and there must be no other flows.
"""
import csv
import json
import sys


def manifest_rows(path):
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            yield row


def key_of_row(r):
    return (r["proto"], r["src_ip"], int(r["src_port"]), r["dst_ip"], int(r["dst_port"]),
            int(r["vlan"]), int(r["vni"]))


def key_of_rec(d):
    return (d["proto"], d["src_ip"], d["src_port"], d["dst_ip"], d["dst_port"],
            d["vlan"] or 0, d["tunnel_id"] or 0)


def main():
    flows = {}
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            k = key_of_rec(d)
            c = flows.setdefault(k, [0, 0, 0, 0])
            for i, name in enumerate(("pkts_c2s", "bytes_c2s", "pkts_s2c", "bytes_s2c")):
                c[i] += d[name]
    bad = 0
    rows = list(manifest_rows(sys.argv[1]))
    for r in rows:
        k = key_of_row(r)
        want = [int(r["pkts_c2s"]), int(r["bytes_c2s"]), int(r["pkts_s2c"]), int(r["bytes_s2c"])]
        got = flows.pop(k, None)
        if got != want:
            print("flow %s: manifest %s, records %s" % (k, want, got))
            bad += 1
    for k, got in flows.items():
        print("flow %s: not in the manifest (records %s)" % (k, got))
        bad += 1
    print("%d manifest flows, %d mismatches" % (len(rows), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
