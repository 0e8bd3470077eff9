#!/bin/bash
# cn_timezone on generated captures:
#  - tz-cst: nine short SSH sessions into GPU host 104.171.200.17 on
#    Monday to Wednesday, at 09, 10:30, 15 and 20-20:30 China Standard
#    Time: raises (low) about the GPU host once 8 sessions on 3 days are
#    inside the profile, with the sessions as evidence;
#  - tz-us: the same number of sessions at 00-07 CST (a US working day)
#    raises nothing;
#  - the same alerts with 1 and 4 workers; no duplicate on a second replay
#    into the same Redis.
set -euo pipefail
tmp=$(mktemp -d)
trap 'corr_redis_stop; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/rules_corr.sh"

fail=0
"$LHGEN" tz-cst "$tmp/cst.pcap"
"$LHGEN" tz-us "$tmp/us.pcap"

corr_replay "$tmp/cst.pcap" "$tmp/cst.json" --threads 2 || fail=1
corr_check expect "$tmp/cst.json" cn_timezone gpu_host 104.171.200.17 \
    gpu_host.ip=104.171.200.17 severity=low days=3 'evidence>=8' 'evidence<=9' || fail=1

corr_replay "$tmp/us.pcap" "$tmp/us.json" --threads 2 || fail=1
corr_check none "$tmp/us.json" cn_timezone || fail=1

corr_threads_and_replay "$tmp/cst.pcap" cst || fail=1
exit $fail
