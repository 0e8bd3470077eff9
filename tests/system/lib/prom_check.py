"""Checks what node_exporter served against the sensor's final --stats line.

usage: prom_check.py STATS.err SCRAPE_DIR

STATS.err holds the sensor's standard error with --stats lines; the last
one is the end of the run. SCRAPE_DIR holds mid-NNN.txt (scrapes of
node_exporter's /metrics while the replay ran) and end.txt (after it).
Checked: every scrape parses as Prometheus text; during the run at least one
scrape carries loophole_packets_total and the counts never go down; at
the end, loophole_packets_total, loophole_alerts_total, the drops and every
loophole_rule_alerts_total{rule} equal the numbers the final --stats line
prints. Python 3 standard library only.
"""

import glob
import json
import os
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$')


def parse(path):
    series = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                raise SystemExit("FAIL: %s: not Prometheus text: %r" % (path, line))
            labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")))
            series[(m.group(1), labels)] = float(m.group(4))
    return series


def value(series, name, **labels):
    want = {k: v for k, v in labels.items()}
    for (n, ls), v in series.items():
        if n == name and all(dict(ls).get(k) == x for k, x in want.items()):
            return v
    return None


def main():
    err, scrapes = sys.argv[1], sys.argv[2]
    with open(err) as f:
        stats = [json.loads(l) for l in f if l.startswith('{"event_type":"stats"')]
    if not stats:
        print("FAIL: the sensor printed no --stats line")
        return 1
    final = stats[-1]
    bad = []
    mids = sorted(glob.glob(os.path.join(scrapes, "mid-*.txt")))
    seen, last = 0, 0.0
    for path in mids:
        v = value(parse(path), "loophole_packets_total", sensor="prom-test")
        if v is None:
            continue
        seen += 1
        if v < last:
            bad.append("%s: loophole_packets_total went down: %s -> %s" % (path, last, v))
        last = v
    if seen == 0:
        bad.append("no scrape during the replay served loophole_packets_total (%d scrapes)"
                   % len(mids))
    end = parse(os.path.join(scrapes, "end.txt"))
    checks = [("loophole_packets_total", {}, final["packets"]),
              ("loophole_alerts_total", {}, final["alerts"]),
              ("loophole_drops_total", {}, final["drops"]),
              ("loophole_flows_total", {}, final["flows_total"]),
              ("loophole_events_journaled_total", {}, final["events_journaled"])]
    for rule, n in final["alerts_by_rule"].items():
        checks.append(("loophole_rule_alerts_total", {"rule": rule}, n))
    for name, labels, want in checks:
        got = value(end, name, sensor="prom-test", **labels)
        if got != want:
            bad.append("%s%s: node_exporter served %r, --stats printed %r" % (name, labels, got,
                                                                              want))
    if final["alerts"] == 0:
        bad.append("the replay raised no alert: nothing to compare")
    for b in bad:
        print("FAIL: " + b)
    print("prometheus: %d scrapes during the replay, final packets %d alerts %d" %
          (seen, final["packets"], final["alerts"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
