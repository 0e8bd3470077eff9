#!/bin/bash
# stepping_stone on generated captures:
#  - relay-hop: 175.16.199.23 (China) types into SSH on 81.2.69.142 (UK),
#    which types the same keys a few ms later into SSH to GPU host
#    104.171.200.17; the user stays on the UK host after the hop ends.
#    Raises about the intermediary 81.2.69.142, naming the user as peer
#    and the GPU host, with both legs as evidence;
#  - relay-hop-miss: the same two sessions typed independently raise
#    nothing;
#  - the intermediary's host hash carries no gpu_source (it is no GPU
#    host, whichever leg arrives last);
#  - the same alerts with 1 and 4 workers (the legs meet in Redis in either
#    order); no duplicate on a second replay into the same Redis.
set -euo pipefail
tmp=$(mktemp -d)
trap 'corr_redis_stop; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/rules_corr.sh"

fail=0
"$LHGEN" relay-hop "$tmp/hop.pcap"
"$LHGEN" relay-hop-miss "$tmp/miss.pcap"

corr_replay "$tmp/hop.pcap" "$tmp/hop.json" --threads 2 || fail=1
corr_check expect "$tmp/hop.json" stepping_stone intermediary 81.2.69.142 \
    intermediary.ip=81.2.69.142 intermediary.country=GB peer.ip=175.16.199.23 \
    peer.country=CN gpu_host.ip=104.171.200.17 severity=high \
    'evidence>=2' 'evidence<=2' || fail=1
python3 - "$tmp/hop.json" <<'PY' || fail=1
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])][0]
dsts = sorted(e["flow"]["dst"] for e in a["evidence"])
assert dsts == ["104.171.200.17:22", "81.2.69.142:22"], dsts
assert a["coincidences"] >= 4 and a["coincidences"] * 10 > 3 * a["on_periods"], a
assert a["back_to_back"] >= 2 and a["packets_agree"] * 2 >= a["coincidences"], a
PY

# The intermediary is no GPU host: its host hash never says it was found
# by behaviour, whichever leg reaches Redis last (several worker counts).
corr_redis_start || fail=1
for t in 1 2 4 4; do
    redis-cli -s "$tmp/redis.sock" FLUSHALL >/dev/null
    corr_replay "$tmp/hop.pcap" "$tmp/hop.h$t" --threads $t --redis "unix://$tmp/redis.sock" || fail=1
    [ "$(redis-cli -s "$tmp/redis.sock" EXISTS lh:host:81.2.69.142)" = 1 ] ||
        { echo "FAIL: no host hash for the intermediary (threads $t)" >&2; fail=1; }
    src=$(redis-cli -s "$tmp/redis.sock" HGET lh:host:81.2.69.142 gpu_source)
    [ -z "$src" ] || { echo "FAIL: the intermediary's host hash has gpu_source=$src (threads $t)" >&2; fail=1; }
done
corr_redis_stop

corr_replay "$tmp/miss.pcap" "$tmp/miss.json" --threads 2 || fail=1
corr_check none "$tmp/miss.json" stepping_stone || fail=1

corr_threads_and_replay "$tmp/hop.pcap" hop || fail=1
corr_threads_and_replay "$tmp/miss.pcap" miss || fail=1
exit $fail
