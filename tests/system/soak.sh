#!/bin/bash
# Soak: a bounded long run (LOOPHOLE_SOAK_SECS, default 60 s of wall
# time). A feeder streams scenario captures in a loop through a FIFO, time
# shifted so the stream is one long capture (flows start, go idle and end
# all along), with a damaged capture among them so that drops happen too.
# While it runs, the sensor's RSS is sampled from /proc every second.
#
#  1. RSS stays flat: after the warm-up (the first third of the run), no
#     sample exceeds the RSS at the end of the warm-up by more than
#     TOLERANCE_PCT percent plus TOLERANCE_MIB (allocator noise);
#  2. the counters add up: packets in = decoded + ignored (non-IP) + the
#     drops by reason (malformed kinds, queue_full), and the packets of the
#     flow records add up to the packets decoded;
#  3. the feeder's count of packets written equals the sensor's count.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib/scratch.sh
. "$here/lib/scratch.sh"
fail() { echo "FAIL: soak: $*" >&2; tail -3 "$tmp/err" >&2 2>/dev/null || true; exit 1; }
scratch_init

secs=${LOOPHOLE_SOAK_SECS:-60}
TOLERANCE_PCT=10
TOLERANCE_MIB=8

for s in sample ssh tls dns; do "$LHGEN" "$s" "$tmp/$s.pcap" >/dev/null; done
"$LHGEN" damage garbage "$tmp/sample.pcap" "$tmp/damaged.pcap" >/dev/null
mkfifo "$tmp/fifo"
python3 "$here/lib/loopfeed.py" "$secs" "$tmp/fifo" "$tmp/sample.pcap" "$tmp/ssh.pcap" \
    "$tmp/tls.pcap" "$tmp/damaged.pcap" "$tmp/dns.pcap" >"$tmp/fed" &
feeder=$!
pids+=("$feeder")
"$LOOPHOLE" -r - --threads 2 --stats 5 --flows "$tmp/flows.json" <"$tmp/fifo" 2>"$tmp/err" &
pid=$!
pids+=("$pid")

: >"$tmp/rss"
while kill -0 "$pid" 2>/dev/null; do
    awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status" 2>/dev/null >>"$tmp/rss" || true
    sleep 1
done
wait "$pid" || fail "the sensor exited non-zero"
wait "$feeder" || fail "the feeder failed"

# 1. flat RSS
python3 - "$tmp/rss" "$TOLERANCE_PCT" "$TOLERANCE_MIB" <<'PY' || fail "RSS grows"
import sys
rss = [int(l) for l in open(sys.argv[1]) if l.strip()]
pct, mib = int(sys.argv[2]), int(sys.argv[3])
assert len(rss) >= 10, f"only {len(rss)} RSS samples"
warm = rss[len(rss) // 3]
limit = warm * (100 + pct) // 100 + mib * 1024
peak = max(rss[len(rss) // 3:])
print(f"soak: {len(rss)} RSS samples, {warm} KiB after warm-up, peak {peak} KiB, limit {limit} KiB")
assert peak <= limit, f"RSS rose from {warm} KiB to {peak} KiB after warm-up"
PY

# 2. and 3. the counters
python3 - "$tmp/err" "$tmp/flows.json" "$(cat "$tmp/fed")" <<'PY' || fail "counters do not add up"
import json, sys
stats = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"event_type":"stats"')][-1]
fed = int(sys.argv[3])
drops = sum(stats["drop_reasons"].values())
assert stats["drops"] == drops, "drops differs from the sum of its reasons"
assert drops > 0, "the damaged capture caused no drop: the check would be vacuous"
total = stats["decoded"] + stats["ignored_non_ip"] + drops
assert stats["packets"] == fed, f"fed {fed} packets, the sensor read {stats['packets']}"
assert stats["packets"] == total, (
    f"packets {stats['packets']} != decoded {stats['decoded']} + non-IP "
    f"{stats['ignored_non_ip']} + drops {drops} {stats['drop_reasons']}")
in_records = sum(r["pkts_c2s"] + r["pkts_s2c"] for r in map(json.loads, open(sys.argv[2])))
assert in_records == stats["decoded"], f"records hold {in_records} packets of {stats['decoded']} decoded"
print(f"soak: {fed} packets = {stats['decoded']} decoded + {stats['ignored_non_ip']} non-IP + "
      f"{drops} dropped {stats['drop_reasons']}; records hold all {in_records} decoded")
PY
