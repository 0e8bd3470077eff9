#!/bin/bash
# The corpus' side of the thresholds table (docs/rules.md, "Thresholds and
# their sources"): every capture of nDPI's test suite (../shared/corpus,
# real traffic nobody here made) replayed with one worker, and the figures
# the table quotes measured again from the flow records
# (tests/system/lib/thresholds_corpus.py): the extra
# application round trip of direct TCP flows against proxy_latency_ms, the
# largest flow against egress_bytes, the VPN and tunnel flows against the
# tunnel_* keys, the hosts per controller and the controller networks per
# host of established control sessions against fanout_hosts and
# fanin_networks, and the interactive SSH sessions' keystrokes the
# generator's sessions start from. A figure that moves fails here, naming it, so the table
# is corrected with it.
set -euo pipefail
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus folder}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
# shellcheck source=lib/replay.sh
. "$LOOPHOLE_SRC/tests/system/lib/replay.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for p in "$LOOPHOLE_CORPUS"/ndpi/*.pcap "$LOOPHOLE_CORPUS"/ndpi/*.pcapng; do
    replay_one "$p" "$tmp" >/dev/null || exit 1
    n=$((n + 1))
done
[ "$n" -ge 38 ] || { echo "FAIL: thresholds_corpus: only $n captures found" >&2; exit 1; }
python3 "$LOOPHOLE_SRC/tests/system/lib/thresholds_corpus.py" "$tmp" --check
echo "PASS: thresholds_corpus: $n captures"
