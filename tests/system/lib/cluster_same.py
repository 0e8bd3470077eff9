"""cluster_same.py -- the alerts of sensors sharing a Redis Cluster against
the alerts of one sensor that saw everything.

  cluster_same.py [--strict] REF STREAM ALERTS...
      REF: the alerts file of the reference run (one sensor, one server);
      STREAM: the json fields of the cluster's alerts stream, one a line;
      ALERTS: the alerts files of the sensors sharing the cluster.
The sensors' alerts together, and the stream, must be REF's alerts, each
exactly once (the same ids), with the same rule, entity, severity and
score; the "sensor" field (the alert names the sensor whose record the
line was built from) and what a line takes from the facts of its window
(RAISER, the evidence, and the window's figures in WINDOW) may differ:
each sensor settles the windows it fed when it stops, so a window that
sensors running side by side feed is decided by the first to settle it,
from the facts in Redis then (docs/redis.md, "Settling with several
sensors"). --strict: one sensor that saw everything: every field but
"sensor" must be equal. Exit status 0, or 1 with the differences.
"""
import collections
import json
import sys

RAISER = {"ts", "summary", "gpu_host", "peer", "intermediary"}
WINDOW = {"count", "bytes", "sessions_in_profile", "sessions", "days", "best_neighbour_in_profile",
          "coincidences", "on_periods", "back_to_back", "packets_agree"}


def canon(line):
    a = json.loads(line)
    a.pop("sensor", None)
    return json.dumps(a, sort_keys=True)


def same_window(a, b):
    x, y = json.loads(a), json.loads(b)
    skip = RAISER | WINDOW | {"evidence"}
    return all(x.get(k) == y.get(k) for k in set(x) | set(y) if k not in skip)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [canon(line) for line in f if line.strip()]


def fields(a, b):
    """The top-level fields in which two alerts (canonical text) differ."""
    x, y = json.loads(a), json.loads(b)
    return ", ".join("%s: %s != %s" % (k, json.dumps(x.get(k))[:300], json.dumps(y.get(k))[:300])
                     for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k))


def key(a):
    x = json.loads(a)
    return (x.get("rule"), json.dumps(x.get("entity"), sort_keys=True), x.get("id"))


STRICT = len(sys.argv) > 1 and sys.argv[1] == "--strict"


def diff(name, want, got):
    w, g = collections.Counter(want), collections.Counter(got)
    if w == g:
        return 0
    extra = {key(a): a for a in (g - w).elements()}
    rc = 0
    for a in sorted((w - g).elements()):
        b = extra.pop(key(a), None)
        if b is not None and not STRICT and same_window(a, b):
            print("%s: %s %s raised by another event: %s" % ((name,) + key(a)[:2] + (fields(a, b),)))
        elif b is not None:
            print("%s: %s %s differs: %s" % ((name,) + key(a)[:2] + (fields(a, b),)),
                  file=sys.stderr)
            rc = 1
        else:
            print("%s: missing: %s" % (name, a[:400]), file=sys.stderr)
            rc = 1
    for a in extra.values():
        print("%s: extra or repeated: %s" % (name, a[:400]), file=sys.stderr)
        rc = 1
    return rc


def main():
    args = sys.argv[2:] if STRICT else sys.argv[1:]
    ref = load(args[0])
    stream = load(args[1])
    sensors = [a for path in args[2:] for a in load(path)]
    if not ref:
        print("the reference raised nothing: nothing to compare", file=sys.stderr)
        return 1
    return diff("sensors", ref, sensors) | diff("stream", ref, stream)


sys.exit(main())
