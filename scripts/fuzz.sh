#!/bin/bash
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang, ASan and
# UBSan in build-fuzz/, and runs them for TOTAL seconds in all, shared
# evenly between the harnesses, each on a scratch copy of its seed corpus
# (tests/fuzz/corpus/NAME), so new inputs do not land in the repository.
#
#   scripts/fuzz.sh          90 s in all: the short run CI does
#   scripts/fuzz.sh 600      ten minutes in all: the longer run, on demand
#   scripts/fuzz.sh 600 --merge
#                            the same, then minimises what was found into
#                            tests/fuzz/corpus/NAME (libFuzzer -merge=1),
#                            ready to commit
#   FUZZ_ONLY=flow scripts/fuzz.sh 300    one harness
#
# Also `cmake --build build --target fuzz` (LOOPHOLE_FUZZ_SECS, default 90).
# Fails on the first crash, leak or timeout, leaving the input in
# build-fuzz/ (crash-*, leak-*, timeout-*). A crash gets a fix and the input
# goes into the harness's corpus and a unit test (docs/security.md).
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-90}
merge=${2:-}
CC=clang cmake -S . -B build-fuzz -DLOOPHOLE_FUZZ=ON -DLOOPHOLE_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
harnesses=()
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    [ -n "${FUZZ_ONLY:-}" ] && [ "${name#fuzz_}" != "$FUZZ_ONLY" ] && continue
    harnesses+=("$name")
done
secs=$((total / ${#harnesses[@]}))
[ "$secs" -ge 1 ] || secs=1
export ASAN_OPTIONS=detect_leaks=1
for name in "${harnesses[@]}"; do
    seeds=tests/fuzz/corpus/${name#fuzz_}
    work=build-fuzz/corpus-$name
    rm -rf "$work" && mkdir -p "$work"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
    echo "fuzz: $name for ${secs}s ($(ls "$work" | wc -l) seeds)"
    rc=0
    (cd build-fuzz && "./tests/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=3072 \
        -print_final_stats=1 "corpus-$name") >"build-fuzz/$name.log" 2>&1 || rc=$?
    grep -E '^stat::(number_of_executed_units|new_units_added)' "build-fuzz/$name.log" || true
    if [ "$rc" -ne 0 ]; then
        grep -E -A30 'ERROR|SUMMARY' "build-fuzz/$name.log" | head -60 >&2
        echo "fuzz: $name failed (log: build-fuzz/$name.log)" >&2
        exit 1
    fi
    if [ "$merge" = "--merge" ]; then
        mkdir -p "$seeds"
        (cd build-fuzz && "./tests/$name" -merge=1 -timeout=10 "../$seeds" "corpus-$name" 2>&1 |
            grep -E '^MERGE-OUTER: [0-9]+ new files' || true)
    fi
done
echo "fuzz: ${#harnesses[@]} harnesses clean for ${secs}s each"
