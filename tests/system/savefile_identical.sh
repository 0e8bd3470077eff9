#!/usr/bin/env bash
# The two capture-file readers give the same results.
#
# Classic pcap files given by path are read by capture/savefile.c; standard
# input (`-r -`) always goes through libpcap. Every capture below is
# replayed both ways with one worker, and the flow records and the alert
# lines must be byte-identical, the exit status the same, and the capture,
# flow and alert counters of the last stats line equal (lib/pcapvariant.py
# stats):
#   - every capture of the corpus named *.pcap (a third of them are
#     pcapng, which libpcap reads either way);
#   - four of them rewritten big-endian, with nanosecond timestamps (whose
#     sub-microsecond digits both readers must drop the same way), both,
#     and with a snap length in the file header below the longest record
#     (both readers clip those records to it);
#   - an Ethernet capture rewritten under every other link type the
#     decoder reads (raw IP, BSD loopback in both byte orders, Linux cooked v1 and
#     v2, IPv4 and IPv6 only, the PPP and Cisco HDLC framings);
#   - the same with a capture filter (-f), which savefile's path
#     runs itself;
#   - generated scenarios with alerts (the GPU fleet, relays, fan-out) and
#     their big-endian nanosecond forms;
#   - the damaged copies of lib/damage.py: the same packets before the
#     damage, status 1, and the message names the file.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus folder}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
here=$(cd "$(dirname "$0")" && pwd)
corpus=$LOOPHOLE_CORPUS/ndpi
conf="$LOOPHOLE_SRC/tests/data/rules/corr.conf"
variant() { python3 "$here/lib/pcapvariant.py" "$@"; }

shopt -s nullglob
pcaps=("$corpus"/*.pcap)
if [ ${#pcaps[@]} -lt 10 ]; then
    echo "FAIL: corpus missing: ${#pcaps[@]} pcap files in $corpus" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/in" "$tmp/out"

files=("${pcaps[@]}")
for f in chrome iphone google_ssl quic; do
    variant forms "$corpus/$f.pcap" "$tmp/in"
    files+=("$tmp/in/$f".{be,ns,be-ns,clip}.pcap)
done
mapfile -t links < <(variant links "$corpus/iphone.pcap" "$tmp/in")
[ ${#links[@]} -ge 14 ] || {
    echo "FAIL: only ${#links[@]} link types written" >&2
    exit 1
}
files+=("${links[@]}")
for c in fleet rules-relay rules-fanout; do
    extra=()
    [ "$c" = fleet ] && extra=(--packets 50000)
    "$LHGEN" "$c" "$tmp/in/$c.pcap" "${extra[@]}" >/dev/null
    variant forms "$tmp/in/$c.pcap" "$tmp/in"
    files+=("$tmp/in/$c.pcap" "$tmp/in/$c.be-ns.pcap")
done
python3 "$here/lib/damage.py" make "$corpus/chrome.pcap" "$tmp/in" >/dev/null
damaged=("$tmp/in"/{truncated,huge_caplen,zero_record,garbage_frames}.pcap)

fail=0
# run NAME FILE ARGS...: both readers; compares everything
run() {
    local name=$1 f=$2 rca=0 rcb=0
    shift 2
    local a="$tmp/out/$name.file" b="$tmp/out/$name.stdin"
    "$LOOPHOLE" -r "$f" --threads 1 -c "$conf" --sensor replay --stats 1 --flows "$a.flows" \
        --alerts "$a.alerts" "$@" >"$a.out" 2>"$a.err" || rca=$?
    "$LOOPHOLE" -r - --threads 1 -c "$conf" --sensor replay --stats 1 --flows "$b.flows" \
        --alerts "$b.alerts" "$@" <"$f" >"$b.out" 2>"$b.err" || rcb=$?
    if [ "$rca" -ne "$rcb" ]; then
        echo "FAIL: $name: exit status $rca from the file, $rcb from standard input" >&2
        cat "$a.err" "$b.err" >&2
        fail=1
    fi
    for kind in flows alerts; do
        if ! cmp -s "$a.$kind" "$b.$kind"; then
            echo "FAIL: $name: the $kind differ between the two readers:" >&2
            diff "$a.$kind" "$b.$kind" | cut -c1-300 | head -10 >&2 || true
            fail=1
        fi
    done
    if ! variant stats "$a.err" "$b.err" >"$a.statdiff"; then
        echo "FAIL: $name: counters differ (file against standard input):" >&2
        cat "$a.statdiff" >&2
        fail=1
    fi
    return "$rca"
}

n=0
for f in "${files[@]}"; do
    name=$(basename "$f" .pcap)
    run "$name" "$f" || {
        echo "FAIL: $name: loophole failed: $(grep -v '"event_type"' "$tmp/out/$name.file.err")" >&2
        fail=1
    }
    [ -s "$tmp/out/$name.file.flows" ] || {
        echo "FAIL: $name: no flow records" >&2
        fail=1
    }
    n=$((n + 1))
done
for f in "$corpus/iphone.pcap" "$tmp/in/iphone.be-ns.pcap" "$tmp/in/iphone.sll.pcap" \
    "$tmp/in/fleet.pcap"; do
    name=$(basename "$f" .pcap).filtered
    run "$name" "$f" -f "udp or ip6" || fail=1
    n=$((n + 1))
done
# the filter keeps some flows and drops others
if [ "$(wc -l <"$tmp/out/iphone.filtered.file.flows")" -ge \
    "$(wc -l <"$tmp/out/iphone.file.flows")" ]; then
    echo "FAIL: iphone: the capture filter removed no flow" >&2
    fail=1
fi
for f in "${damaged[@]}"; do
    name=$(basename "$f" .pcap)
    rc=0
    run "$name" "$f" || rc=$?
    n=$((n + 1))
    case $name in truncated | huge_caplen) want=1 ;; *) want=0 ;; esac
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL: $name: exit status $rc, expected $want" >&2
        fail=1
    fi
    if [ "$want" -eq 1 ] && ! grep -v '"event_type"' "$tmp/out/$name.file.err" | grep -qF "$f"; then
        echo "FAIL: $name: no message names $f:" >&2
        cat "$tmp/out/$name.file.err" >&2
        fail=1
    fi
done
[ "$fail" -eq 0 ] && echo "savefile_identical: $n captures, the same through both readers"
exit $fail
