#!/bin/bash
# Offline replay benchmark, run on demand (never as a test).
#
# Replays each capture with loophole beside two references on the same
# file, in the same run, alternating the commands so that drift of the
# machine's speed hits all of them alike:
#   floor      ../shared/bench/pcap_floor: libpcap reads every packet, nothing else
#   ndpiReader Debian's nDPI 4.2 reader (ndpiReader -i FILE -q)
# and reports medians of wall time and peak RSS, packets per second, and
# the ratios loophole/floor and loophole/ndpiReader (median of the per-run
# ratios). Captures:
#   dpi-dense  5 M packets concatenated from the nDPI test captures by
#              ../shared/bench/make_bench_pcap (about 223 k flows)
#   gpu-fleet  5 M packets of a GPU fleet's mirror port from lhgen: long
#              bulk flows cut to a 96-byte snap length, ~2% control sessions
# Then the memory per flow with a million concurrent flows (a SYN flood
# of 1 M distinct flows, all alive at the end of the capture), and the same
# flood under --max-flows 100000, whose peak the table's bound must hold.
#
# Usage: bench/run.sh [RUNS]   (default 5; needs a build in build/)
# Output: a markdown report on standard output; work files in bench/work/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shared=$(cd ../shared && pwd)
work=bench/work
mkdir -p "$work"
[ -x build/loophole ] && [ -x build/tests/lhgen ] || { echo "bench: build first (scripts/build.sh)" >&2; exit 2; }
# Copies, so that a rebuild during the run does not mix two binaries.
cp build/loophole "$work/loophole"
cp build/tests/lhgen "$work/lhgen"
loophole=$PWD/$work/loophole
lhgen=$PWD/$work/lhgen

cc -O2 -o "$work/pcap_floor" "$shared/bench/pcap_floor.c" -lpcap
cc -O2 -o "$work/make_bench_pcap" "$shared/bench/make_bench_pcap.c" -lpcap
[ -f "$work/dpi-dense.pcap" ] ||
    "$work/make_bench_pcap" "$work/dpi-dense.pcap" 5000000 "$shared"/corpus/ndpi/*.pcap \
        "$shared"/corpus/ndpi/*.pcapng >&2
[ -f "$work/gpu-fleet.pcap" ] || "$lhgen" fleet "$work/gpu-fleet.pcap" --packets 5000000
[ -f "$work/flood-1m.pcap" ] || "$lhgen" flood "$work/flood-1m.pcap" --packets 1000000
[ -f "$work/tiny.pcap" ] || "$lhgen" dns "$work/tiny.pcap"

# One timed run: appends "name seconds peak_kib" to the results file.
timed() {
    local name=$1 out=$2
    shift 2
    /usr/bin/time -f "$name %e %M" -a -o "$out" "$@" >/dev/null 2>&1
}

bench_capture() {
    local cap=$1
    local res
    res=$work/$(basename "$cap" .pcap).times
    : >"$res"
    cat "$cap" >/dev/null # into the page cache for every command alike
    for _ in $(seq "$runs"); do
        timed floor "$res" "$work/pcap_floor" "$cap"
        timed loophole-t1 "$res" "$loophole" -r "$cap" --threads 1
        timed loophole-t2 "$res" "$loophole" -r "$cap" --threads 2
        timed ndpiReader "$res" ndpiReader -i "$cap" -q
    done
    python3 bench/summarize.py "$cap" "$res"
}

echo "# Replay benchmark ($runs runs each, $(nproc) cores, $(date -u +%Y-%m-%d))"
echo
bench_capture "$work/dpi-dense.pcap"
bench_capture "$work/gpu-fleet.pcap"

mem=$work/memory.times
: >"$mem"
for _ in $(seq "$runs"); do
    timed base "$mem" "$loophole" -r "$work/tiny.pcap" --threads 1
    timed flood "$mem" "$loophole" -r "$work/flood-1m.pcap" --threads 1 --max-flows 2000000
    timed flood-capped "$mem" "$loophole" -r "$work/flood-1m.pcap" --threads 1 --max-flows 100000
done
python3 bench/summarize.py --per-flow 1000000 "$work/flood-1m.pcap" "$mem"
