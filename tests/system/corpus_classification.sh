#!/usr/bin/env bash
# Classification against nDPI's own regression results.
#
# Every capture named in the corpus's EXPECTED.tsv is replayed with one
# worker; for each flow where upstream nDPI and Debian's nDPI 4.2 (the
# version the sensor links) agree, the sensor's record must carry the same
# application and, where listed, the same SNI / HTTP host / DNS query / SSH
# client banner and JA3 client hash. The expected values come from nDPI,
# not from this program, so a decoder or flow-keying error that feeds nDPI
# the wrong packets shows up here. Details in lib/classify.py.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus folder}"
here=$(cd "$(dirname "$0")" && pwd)
corpus=$LOOPHOLE_CORPUS/ndpi
tsv=$corpus/EXPECTED.tsv
if [ ! -r "$tsv" ]; then
    echo "FAIL: corpus missing: cannot read $tsv" >&2
    exit 1
fi

# shellcheck source=lib/replay.sh
. "$here/lib/replay.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
for pcap in $(tail -n +2 "$tsv" | cut -f1 | sort -u); do
    if [ ! -r "$corpus/$pcap" ]; then
        echo "FAIL: $pcap is listed in EXPECTED.tsv but missing from $corpus" >&2
        fail=1
        continue
    fi
    replay_one "$corpus/$pcap" "$tmp" || fail=1
done

python3 "$here/lib/classify.py" "$corpus" "$tmp" || fail=1
exit $fail
