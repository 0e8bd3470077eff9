"""Compares two files of flow records as multisets of JSON objects.

Usage: compare_flows.py [--ignore f1,f2] [--ignore-roles r1,r2] EXPECTED ACTUAL
Fields named in --ignore are dropped before comparing, and so are the
entries of each record's roles list named in --ignore-roles. With --open-ends,
the end reasons that depend on how fast packets arrived (idle, active, eof)
compare equal; fin, rst and evicted must still match. Prints every record
that is in one file and not the other, and exits 1 when they differ.
"""
import argparse
import collections
import json
import sys


OPEN_ENDS = {"idle", "active", "eof"}


def load(path, ignore, open_ends, ignore_roles=()):
    out = collections.Counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("event_type") != "flow":
                continue
            for k in ignore:
                rec.pop(k, None)
            if ignore_roles and isinstance(rec.get("roles"), list):
                rec["roles"] = [r for r in rec["roles"] if r not in ignore_roles]
            if open_ends and rec.get("end") in OPEN_ENDS:
                rec["end"] = "open"
            out[json.dumps(rec, sort_keys=True)] += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ignore", default="")
    ap.add_argument("--ignore-roles", default="")
    ap.add_argument("--open-ends", action="store_true")
    ap.add_argument("expected")
    ap.add_argument("actual")
    a = ap.parse_args()
    ignore = [k for k in a.ignore.split(",") if k]
    roles = [r for r in a.ignore_roles.split(",") if r]
    exp = load(a.expected, ignore, a.open_ends, roles)
    act = load(a.actual, ignore, a.open_ends, roles)
    missing, extra = exp - act, act - exp
    for rec in missing.elements():
        print("only in %s: %s" % (a.expected, rec))
    for rec in extra.elements():
        print("only in %s: %s" % (a.actual, rec))
    if missing or extra:
        print("%d records differ" % (sum(missing.values()) + sum(extra.values())))
        sys.exit(1)
    print("%d records identical" % sum(exp.values()))


if __name__ == "__main__":
    main()
