#!/bin/bash
# proxy_latency against relays that jitter and relays behind relays, and
# against the ordinary traffic that looks like them (docs/rules.md,
# proxy_latency). Each scenario is generated with three seeds (round
# trips, the way beyond the relay, the jitter, session counts and times
# all drawn) and replayed with 1, 2 and 4 workers: every replay must meet
# the expectations, and the three must raise the same (rule, entity,
# severity) set.
#
#   lat-relay-jitter  a Malaysian relay (no hosting category) holding
#                     every packet 10-60 ms at random, users in China
#                     40-90 ms beyond: proxy_latency, medium
#   lat-chain         a Tokyo VPS fed from a jittering Hong Kong relay,
#                     users 75-130 ms beyond it: proxy_latency (medium)
#                     and relay_control about the Tokyo VPS, the last hop
#   la-mobile-us      a US user on a mobile line, queueing delays drawn
#                     per packet: nothing at all
#   la-jump-host      employees through the company's jump host: the
#                     ssh -J sessions are relayed (proxy_latency low at
#                     most), nothing medium or above
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
keys() { python3 -c '
import json, sys
for k in sorted({(a["rule"], a["entity"]["role"], a["entity"]["ip"], a["severity"])
                 for a in map(json.loads, open(sys.argv[1]))}):
    print(*k)' "$1"; }

# check SCENARIO EXPECT...: for seeds 1-3, generate, replay with 1, 2 and
# 4 workers, check each and compare them.
check() {
    local s=$1
    shift
    for seed in 1 2 3; do
        local out="$tmp/$s.$seed"
        "$LHGEN" "$s" "$out.pcap" --seed "$seed" >/dev/null
        for th in 1 2 4; do
            "$LOOPHOLE" -r "$out.pcap" --threads "$th" --alerts "$out.t$th.alerts" 2>"$out.err" || {
                echo "rules_latency: $s seed $seed --threads $th: loophole failed: $(cat "$out.err")" >&2
                fail=1
                continue
            }
            python3 "$here/lib/rules_check.py" "$out.t$th.alerts" "$@" || {
                echo "rules_latency: $s seed $seed --threads $th: failed" >&2
                fail=1
            }
            keys "$out.t$th.alerts" >"$out.t$th.keys"
        done
        for th in 2 4; do
            diff "$out.t1.keys" "$out.t$th.keys" >&2 || {
                echo "rules_latency: $s seed $seed: --threads 1 and $th raise different alerts" >&2
                fail=1
            }
        done
    done
}

check lat-relay-jitter "+proxy_latency|relay|43.252.36.20|gpu=104.171.200.17|severity=medium|detail=lower quartile of 6" \
    -relay_control -cn_direct_control
check lat-chain "+proxy_latency|relay|103.201.130.10|gpu=104.171.200.17|severity=medium" \
    "+relay_control|relay|103.201.130.10|gpu=104.171.200.17" -cn_direct_control
check la-mobile-us count=0
check la-jump-host quiet -stepping_stone
exit $fail
