#!/bin/bash
# weights_egress on generated captures, with egress_bytes = 16 MiB
# (tests/data/rules/corr.conf):
#  - bulk, 18000 packets: ~18 MB from GPU host 104.171.200.17 to Aliyun OSS
#    (118.31.219.198, China) raises about the GPU host and 118.31.219.0/24;
#    16600 packets (16.75 MB, just under 16 MiB) raises nothing;
#  - egress-ctl: 216.160.83.56, a relay with its user 110-190 ms beyond it
#    (a proven relay), controls the GPU host over SSH; 24 MiB to
#    216.160.83.61 (the same /24) raises, the same upload to S3 in the US
#    (a network that controls nothing) does not; the same upload to the
#    network of an ordinary controller is rules_lookalike.sh's
#    la-egress-home;
#  - a control session is control for as long as it lasts: egress-midnight
#    (the SSH login at 23:50 UTC held open until after midnight, the upload
#    to the controller's /24 at 00:05) raises the same alert as
#    egress-midday (the same ten hours earlier, inside one UTC day): same
#    rule, entity, peer (the upload's destination, 216.160.83.61: the line
#    names the window's earliest egress record toward the network),
#    severity and evidence flow;
#  - the same alert lines with 1, 2, 4 and 8 workers, three runs each; no
#    duplicate on a second replay into the same Redis.
set -euo pipefail
tmp=$(mktemp -d)
trap 'corr_redis_stop; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib/rules_corr.sh"

fail=0
"$LHGEN" bulk "$tmp/over.pcap" --packets 18000
"$LHGEN" bulk "$tmp/under.pcap" --packets 16600
"$LHGEN" egress-ctl "$tmp/ctl.pcap"

corr_replay "$tmp/over.pcap" "$tmp/over.json" --threads 2 || fail=1
corr_check expect "$tmp/over.json" weights_egress gpu_host 104.171.200.17 \
    gpu_host.ip=104.171.200.17 gpu_host.provider=Lambda peer.ip=118.31.219.198 \
    peer.country=CN severity=high 'evidence>=1' 'evidence<=16' || fail=1
grep -q '118.31.219.0/24 (CN, in China)' "$tmp/over.json" || {
    echo "FAIL: the summary does not name the destination network" >&2
    fail=1
}
grep -q 'producer-consumer ratio 0.9' "$tmp/over.json" || {
    echo "FAIL: the evidence does not give the producer-consumer ratio" >&2
    fail=1
}
grep -q '"sni":"llm-ckpt-7f3a.oss-cn-hangzhou.aliyuncs.com"' "$tmp/over.json" || {
    echo "FAIL: the evidence does not hold the upload flow" >&2
    fail=1
}

corr_replay "$tmp/under.pcap" "$tmp/under.json" --threads 2 || fail=1
corr_check none "$tmp/under.json" weights_egress || fail=1

corr_replay "$tmp/ctl.pcap" "$tmp/ctl.json" --threads 2 || fail=1
corr_check expect "$tmp/ctl.json" weights_egress gpu_host 104.171.200.17 \
    peer.country=US 'evidence>=1' || fail=1
grep -q '216.160.83.0/24 (US, the network of a relay that controls it)' "$tmp/ctl.json" || {
    echo "FAIL: the controller network is not named" >&2
    fail=1
}
if grep -q '52.218.228' "$tmp/ctl.json"; then
    echo "FAIL: egress to a network that does not control the host raised" >&2
    fail=1
fi

# The day boundary: a login before midnight UTC and the egress after it,
# and the same ten hours earlier, give the same alert (with any workers:
# corr_threads_and_replay below).
for s in egress-midnight egress-midday; do
    "$LHGEN" "$s" "$tmp/$s.pcap"
    corr_replay "$tmp/$s.pcap" "$tmp/$s.json" --threads 2 || fail=1
    corr_check expect "$tmp/$s.json" weights_egress gpu_host 104.171.200.17 \
        peer.ip=216.160.83.61 'evidence>=1' || fail=1
done
same_alert() {
    python3 -c '
import json, sys
for a in map(json.loads, open(sys.argv[1])):
    if a["rule"] != "weights_egress":
        continue
    print(a["rule"], a["entity"], a["severity"], a["peer"], a["gpu_host"],
          [(e["flow"]["src"], e["flow"]["dst"], e["flow"]["bytes_up"]) for e in a["evidence"]])' "$1"
}
if [ "$(same_alert "$tmp/egress-midnight.json")" != "$(same_alert "$tmp/egress-midday.json")" ]; then
    echo "FAIL: a login held past midnight gives another alert than the same ten hours earlier" >&2
    fail=1
fi

corr_threads_and_replay "$tmp/over.pcap" over || fail=1
corr_threads_and_replay "$tmp/ctl.pcap" ctl || fail=1
corr_threads_and_replay "$tmp/under.pcap" under || fail=1
corr_threads_and_replay "$tmp/egress-midnight.pcap" egress-midnight || fail=1
corr_threads_and_replay "$tmp/egress-midday.pcap" egress-midday || fail=1
exit $fail
