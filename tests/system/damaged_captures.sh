#!/usr/bin/env bash
# Damaged and unreadable capture files.
#
# interface.md: exit 0 on success, 1 on a runtime failure such as an
# unreadable file; every error names the file at fault; a malformed or
# truncated capture is processed up to the damage, reported, and ends with
# status 1, and nothing before the damage is lost. Copies of a corpus pcap
# are damaged in Python (lib/damage.py), which also counts, from the record
# framing alone, how many packets precede the damage. For every run:
#   packets in flow records + dropped + non-IP == packets before the damage
# and the stats line's `packets` equals that count.
#
# Cases and the status a user should get:
#   truncated.pcap      cut inside a packet's data: status 1, file named.
#   huge_caplen.pcap    a record header claiming 0x7fffffff bytes: libpcap
#                       refuses it; status 1, file named.
#   zero_record.pcap    a record with caplen 0 and len 0. The pcap framing
#                       is intact and libpcap returns it as an empty frame,
#                       and every packet after it is read. Nothing is lost,
#                       so this is not a damaged file: status 0, the empty
#                       frame counted as one drop (truncated_l2) and the
#                       drop warning printed.
#   garbage_frames.pcap valid record headers, random frame contents: the
#                       file is fine, its frames are not. Status 0; the ten
#                       frames with an impossible IPv4 header are drops in
#                       the stats and the warning.
#   not_a_capture.pcap  status 1, file named, no records.
#   a missing file      status 1, file named, no records.
#   damaged + good      -r truncated.pcap -r <good>: status 1, the first
#                       file named, and the second file fully processed.
# The file name is asserted for failures; the drop warning of a run that
# succeeds is a total over the run and is checked for its reason instead.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus folder}"
here=$(cd "$(dirname "$0")" && pwd)
src=$LOOPHOLE_CORPUS/ndpi/chrome.pcap
good=$LOOPHOLE_CORPUS/ndpi/firefox.pcap
for f in "$src" "$good"; do
    [ -r "$f" ] || { echo "FAIL: corpus missing: cannot read $f" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dmg() { python3 "$here/lib/damage.py" "$@"; }

declare -A before
while read -r name n; do
    before[$name]=$n
done < <(dmg make "$src" "$tmp")
n_truncated=${before[truncated.pcap]}
n_huge=${before[huge_caplen.pcap]}
n_zero=${before[zero_record.pcap]}
n_garbage=${before[garbage_frames.pcap]}

fail=0
err() {
    echo "FAIL: $*" >&2
    fail=1
}

# run CASE WANT_STATUS EXPECTED_PACKETS NAMED_FILE -r FILE...
run() {
    local case=$1 want=$2 expect=$3 named=$4 rc=0
    shift 4
    "$LOOPHOLE" "$@" --threads 1 --stats 1 --flows "$tmp/$case.jsonl" \
        >"$tmp/$case.out" 2>"$tmp/$case.err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        err "$case: exit status $rc, expected $want; stderr:"
        cat "$tmp/$case.err" >&2
    fi
    if [ -n "$named" ] && ! grep -v '"event_type":"stats"' "$tmp/$case.err" | grep -qF "$named"; then
        err "$case: no message on stderr names $named; stderr:"
        cat "$tmp/$case.err" >&2
    fi
    local pk drops nonip seen
    pk=$(dmg pkts "$tmp/$case.jsonl")
    drops=$(dmg stats "$tmp/$case.err" drops)
    nonip=$(dmg stats "$tmp/$case.err" ignored_non_ip)
    seen=$(dmg stats "$tmp/$case.err" packets)
    if [ "$seen" -ne "$expect" ]; then
        err "$case: stats count $seen packets, the file has $expect before the damage"
    fi
    if [ $((pk + drops + nonip)) -ne "$expect" ]; then
        err "$case: $pk packets in flow records + $drops dropped + $nonip non-IP" \
            "!= $expect packets before the damage"
    fi
    echo "$case: status $rc, $pk packets in records, $drops dropped, $nonip non-IP, $expect expected"
}

# warned CASE REASON: the drop warning names the reason.
warned() {
    if ! grep -q "warning: .*packets dropped.*$2" "$tmp/$1.err"; then
        err "$1: no drop warning naming $2 on stderr:"
        cat "$tmp/$1.err" >&2
    fi
}

run truncated 1 "$n_truncated" truncated.pcap -r "$tmp/truncated.pcap"
run huge_caplen 1 "$n_huge" huge_caplen.pcap -r "$tmp/huge_caplen.pcap"

run zero_record 0 "$n_zero" "" -r "$tmp/zero_record.pcap"
real=$(dmg pkts "$tmp/zero_record.jsonl")
if [ "$real" -ne $((n_zero - 1)) ]; then
    err "zero_record: $real packets in flow records; every one of the" \
        "$((n_zero - 1)) real packets must count"
fi
warned zero_record truncated_l2

run garbage_frames 0 "$n_garbage" "" -r "$tmp/garbage_frames.pcap"
gd=$(dmg stats "$tmp/garbage_frames.err" drops)
if [ "$gd" -lt 10 ]; then
    err "garbage_frames: $gd drops; the 10 frames with an impossible IPv4 header must be drops"
fi
warned garbage_frames bad_ipv4

run not_a_capture 1 0 not_a_capture.pcap -r "$tmp/not_a_capture.pcap"
run missing 1 0 no-such-file.pcap -r "$tmp/no-such-file.pcap"
for c in not_a_capture missing; do
    if [ -s "$tmp/$c.jsonl" ]; then
        err "$c: flow records written for a file that was never read"
    fi
done

ngood=$(dmg count "$good")
run damaged_then_good 1 $((n_truncated + ngood)) truncated.pcap \
    -r "$tmp/truncated.pcap" -r "$good"

exit $fail
