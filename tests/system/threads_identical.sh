#!/usr/bin/env bash
# The number of workers must not change the output.
#
# Flows are sharded over workers by hash, and every deadline is packet
# time, so one worker and four workers must write the same set of flow
# records for the same input (only their order may differ), and two runs
# with four workers must agree with each other. All corpus captures are
# replayed in one run, so flows of several files share the tables and the
# packet clock crosses file boundaries.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_CORPUS:?LOOPHOLE_CORPUS must name the corpus folder}"
corpus=$LOOPHOLE_CORPUS/ndpi

shopt -s nullglob
pcaps=("$corpus"/*.pcap "$corpus"/*.pcapng)
if [ ${#pcaps[@]} -lt 2 ]; then
    echo "FAIL: corpus missing: fewer than two captures in $corpus" >&2
    exit 1
fi
args=()
for p in "${pcaps[@]}"; do
    args+=(-r "$p")
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # run NAME THREADS
    local rc=0
    "$LOOPHOLE" "${args[@]}" --threads "$2" --sensor systest --flows "$tmp/$1.jsonl" \
        2>"$tmp/$1.err" || rc=$?
    # telnet.pcap carries frames the decoder may report as dropped; that is
    # a warning, not a failure, and the status must stay 0.
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: run $1 (--threads $2) exited with status $rc:" >&2
        cat "$tmp/$1.err" >&2
        exit 1
    fi
    LC_ALL=C sort "$tmp/$1.jsonl" >"$tmp/$1.sorted"
}

run t1 1
run t4a 4
run t4b 4

n=$(wc -l <"$tmp/t1.sorted")
if [ "$n" -lt 500 ]; then
    echo "FAIL: only $n flow records from ${#pcaps[@]} captures; expected at least 500" >&2
    exit 1
fi

fail=0
compare() { # compare A B WHAT
    if ! cmp -s "$tmp/$1.sorted" "$tmp/$2.sorted"; then
        echo "FAIL: $3: flow records differ (< $1, > $2):" >&2
        diff "$tmp/$1.sorted" "$tmp/$2.sorted" | head -40 >&2 || true
        fail=1
    fi
}
compare t1 t4a "--threads 1 vs --threads 4"
compare t4a t4b "two runs with --threads 4"
echo "threads_identical: ${#pcaps[@]} captures, $n records; 1 vs 4 workers and 4 vs 4 compared"
exit $fail
