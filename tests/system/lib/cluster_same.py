"""cluster_same.py -- the alerts of sensors sharing a Redis (a cluster, or
one server) against the alerts of one sensor that saw everything.

  cluster_same.py REF STREAM ALERTS...
      REF: the alerts file of the reference run (one sensor, one server);
      STREAM: the json fields of the shared alerts stream, one a line;
      ALERTS: the alerts files of the sensors sharing the Redis.
The sensors' alerts together, and the stream, must be REF's alert lines,
each exactly once, equal in every field but "sensor", which by definition
names the sensor whose record the line was built from (interface.md
section 2). Sensors that name each other in [redis] peers settle no window
before all of them have delivered their records of it, so what a line
takes from its window's facts (ts, summary, parties, evidence, counts) is
what one sensor seeing everything takes (docs/redis.md, "Settling with
several sensors"). Exit status 0, or 1 with the differences.
"""
import collections
import json
import sys


def canon(line):
    a = json.loads(line)
    a.pop("sensor", None)
    return json.dumps(a, sort_keys=True)


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


def diff(name, want, got):
    w, g = collections.Counter(want), collections.Counter(got)
    if w == g:
        return 0
    extra = {key(a): a for a in (g - w).elements()}
    for a in sorted((w - g).elements()):
        b = extra.pop(key(a), None)
        if b is not None:
            print("%s: %s %s differs: %s" % ((name,) + key(a)[:2] + (fields(a, b),)),
                  file=sys.stderr)
        else:
            print("%s: missing: %s" % (name, a[:400]), file=sys.stderr)
    for a in extra.values():
        print("%s: extra or repeated: %s" % (name, a[:400]), file=sys.stderr)
    return 1


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit("usage: cluster_same.py REF STREAM ALERTS...")
    ref = load(args[0])
    stream = load(args[1])
    sensors = [a for path in args[2:] for a in load(path)]
    if not ref:
        print("the reference raised nothing: nothing to compare", file=sys.stderr)
        return 1
    return diff("sensors", ref, sensors) | diff("stream", ref, stream)


sys.exit(main())
