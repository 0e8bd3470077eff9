"""Summarises bench/run.sh timings as markdown.

summarize.py CAPTURE TIMES          replay table: medians, packets/s, ratios
summarize.py --per-flow N CAPTURE TIMES
                                    memory per flow: (flood - base) / N
TIMES holds lines "name seconds peak_kib", the commands alternating.
"""
import collections
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "system", "lib"))
from pcapcount import count as packets  # noqa: E402


def load(path):
    runs = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            name, secs, kib = line.split()
            runs[name].append((float(secs), int(kib)))
    return runs


def replay(cap, runs):
    n = packets(cap)
    print("## %s (%d packets)\n" % (cap.rsplit("/", 1)[-1], n))
    print("| command | wall s (median) | min–max | spread | packets/s | peak RSS MiB | vs floor "
          "| vs ndpiReader | vs `--threads 1` |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ("floor", "loophole-t1", "loophole-t2", "ndpiReader"):
        t = [r[0] for r in runs[name]]
        m = [r[1] for r in runs[name]]
        ratio = lambda ref: statistics.median(a[0] / b[0] for a, b in zip(runs[name], runs[ref]))
        # spread: (max - min) / median, the run-to-run figure the aims bound
        print("| %s | %.2f | %.2f–%.2f | %.0f%% | %.2f M | %.0f | %.2f | %.2f | %.2f |" % (
            name, statistics.median(t), min(t), max(t),
            100 * (max(t) - min(t)) / statistics.median(t), n / statistics.median(t) / 1e6,
            statistics.median(m) / 1024, ratio("floor"), ratio("ndpiReader"),
            ratio("loophole-t1")))
    print()


def per_flow(nflows, runs):
    base = statistics.median(r[1] for r in runs["base"])
    flood = statistics.median(r[1] for r in runs["flood"])
    print("## Memory with %d concurrent flows\n" % nflows)
    print("peak RSS %.0f MiB against %.0f MiB for a tiny capture: %.0f bytes per flow\n" % (
        flood / 1024, base / 1024, (flood - base) * 1024 / nflows))
    if runs.get("flood-capped"):
        capped = statistics.median(r[1] for r in runs["flood-capped"])
        print("the same capture with `--max-flows 100000`: peak RSS %.0f MiB\n" % (capped / 1024))


if __name__ == "__main__":
    if sys.argv[1] == "--per-flow":
        per_flow(int(sys.argv[2]), load(sys.argv[4]))
    else:
        replay(sys.argv[1], load(sys.argv[2]))
