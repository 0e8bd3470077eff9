#!/bin/bash
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang, ASan and
# UBSan in build-fuzz/, and runs each for the given number of seconds
# (default 30) on a scratch copy of its seed corpus (tests/fuzz/corpus/NAME),
# so new inputs do not land in the repository. Fails on the first crash,
# leaving the crashing input in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
CC=clang cmake -S . -B build-fuzz -DLOOPHOLE_FUZZ=ON -DLOOPHOLE_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    seeds=tests/fuzz/corpus/${name#fuzz_}
    work=build-fuzz/corpus-$name
    rm -rf "$work" && mkdir -p "$work"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
    echo "fuzz: $name for ${secs}s ($(ls "$work" | wc -l) seeds)"
    (cd build-fuzz && "./tests/$name" -max_total_time="$secs" -print_final_stats=1 \
        "corpus-$name" 2>&1 | tail -n 3)
done
