#!/bin/bash
# cn_timezone on generated captures:
#  - tz-cst: 3-6 short SSH sessions a day into GPU host 104.171.200.17
#    on 3-5 weekdays from Monday, each at a minute drawn evenly over the
#    China Standard Time working day (08-12, 14-18, 19-22), seeds 1-3:
#    raises (low) about the GPU host once 8 sessions on 3 days are inside
#    the profile and it fits clearly better than a zone up to 3 h away,
#    with the sessions as evidence;
#  - tz-us: sessions of a US Pacific working day raise nothing;
#  - la-office-de, la-office-in, la-office-jp: working weeks in Germany,
#    India and Japan (09-12, 13-18 local, seeds 1-3) raise nothing;
#  - the same alerts with 1 and 4 workers; no duplicate on a second replay
#    into the same Redis.
set -euo pipefail
tmp=$(mktemp -d)
trap 'corr_redis_stop; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/rules_corr.sh"

fail=0
for seed in 1 2 3; do
    "$LHGEN" tz-cst "$tmp/cst$seed.pcap" --seed $seed
    corr_replay "$tmp/cst$seed.pcap" "$tmp/cst$seed.json" --threads 2 || fail=1
    corr_check expect "$tmp/cst$seed.json" cn_timezone gpu_host 104.171.200.17 \
        gpu_host.ip=104.171.200.17 severity=low 'evidence>=8' 'evidence<=16' || fail=1
    for s in tz-us la-office-de la-office-in la-office-jp; do
        "$LHGEN" $s "$tmp/$s$seed.pcap" --seed $seed
        corr_replay "$tmp/$s$seed.pcap" "$tmp/$s$seed.json" --threads 2 || fail=1
        corr_check none "$tmp/$s$seed.json" cn_timezone || {
            echo "FAIL: $s seed $seed raised cn_timezone" >&2
            fail=1
        }
    done
done
cp "$tmp/cst1.pcap" "$tmp/cst.pcap"

corr_threads_and_replay "$tmp/cst.pcap" cst || fail=1
# the look-alikes (the fit against the neighbouring zones decides them)
for s in tz-us la-office-de la-office-in la-office-jp; do
    corr_threads_and_replay "$tmp/${s}1.pcap" "$s" || fail=1
done
exit $fail
