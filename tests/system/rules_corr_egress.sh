#!/bin/bash
# weights_egress on generated captures, with egress_bytes = 16 MiB
# (tests/data/rules/corr.conf):
#  - bulk, 18000 packets: ~18 MB from GPU host 104.171.200.17 to Aliyun OSS
#    (118.31.219.198, China) raises about the GPU host and the storage
#    service Alibaba OSS; 16600 packets (16.75 MB, just under 16 MiB)
#    raises nothing;
#  - weights in pieces: egress-parts and egress-parts-minio (a ~25 MB
#    object in parts over 8-16 connections to 6-10 /24s of Alibaba Cloud
#    Hong Kong, no /24 reaching 16 MiB; to OSS by name, and to a MinIO
#    store named in no list) raise per storage service and per AS, for
#    three seeds; la-egress-backup (the same shape to the tenant's own S3
#    bucket in us-west-2 or eu-west-1, after its SSH login from the
#    company's network) raises nothing;
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
#    rule, entity, peer, severity and evidence flow;
#  - the same alerts with 1 and 4 workers; no duplicate on a second replay
#    into the same Redis.
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
grep -q 'any address of storage service Alibaba OSS (CN, in China)' "$tmp/over.json" || {
    echo "FAIL: the summary does not name the destination service" >&2
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

# One worker: which of the upload and the session reaches Redis last
# decides the alert's peer (issue 12, alert content), and the point here
# is the day boundary, not the order.
for s in egress-midnight egress-midday; do
    "$LHGEN" "$s" "$tmp/$s.pcap"
    corr_replay "$tmp/$s.pcap" "$tmp/$s.json" --threads 1 || fail=1
    corr_check expect "$tmp/$s.json" weights_egress gpu_host 104.171.200.17 \
        peer.ip=216.160.83.56 'evidence>=1' || fail=1
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

# 17400 segments: a 25 MB object, over egress_bytes only as a whole.
for seed in 1 2 3; do
    for s in egress-parts egress-parts-minio la-egress-backup; do
        "$LHGEN" "$s" "$tmp/$s.$seed.pcap" --packets 17400 --seed "$seed" >/dev/null
        corr_replay "$tmp/$s.$seed.pcap" "$tmp/$s.$seed.json" --threads 2 || fail=1
    done
    corr_check expect "$tmp/egress-parts.$seed.json" weights_egress gpu_host 104.171.200.17 \
        peer.country=HK severity=high 'evidence>=2' || fail=1
    grep -q 'any address of storage service Alibaba OSS (HK' "$tmp/egress-parts.$seed.json" || {
        echo "FAIL: egress-parts seed $seed: not summed per storage service" >&2
        fail=1
    }
    corr_check expect "$tmp/egress-parts-minio.$seed.json" weights_egress gpu_host \
        104.171.200.17 peer.asn=45102 severity=high 'evidence>=2' || fail=1
    grep -q 'any address of AS45102 ' "$tmp/egress-parts-minio.$seed.json" || {
        echo "FAIL: egress-parts-minio seed $seed: not summed per AS" >&2
        fail=1
    }
    corr_check none "$tmp/la-egress-backup.$seed.json" weights_egress || fail=1
    if [ -s "$tmp/la-egress-backup.$seed.json" ]; then
        echo "FAIL: la-egress-backup seed $seed raised:" >&2
        cat "$tmp/la-egress-backup.$seed.json" >&2
        fail=1
    fi
done

corr_threads_and_replay "$tmp/over.pcap" over || fail=1
corr_threads_and_replay "$tmp/egress-parts.1.pcap" parts || fail=1
corr_threads_and_replay "$tmp/egress-parts-minio.2.pcap" minio || fail=1
corr_threads_and_replay "$tmp/la-egress-backup.3.pcap" backup || fail=1
corr_threads_and_replay "$tmp/ctl.pcap" ctl || fail=1
exit $fail
