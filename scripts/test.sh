#!/bin/bash
# Sets up a Debian 12 machine and passes every test:
#   1. installs the packages (scripts/setup.sh);
#   2. builds with -Wall -Wextra -Werror and runs the suite (CTest);
#   3. builds with AddressSanitizer + UndefinedBehaviorSanitizer (leak
#      checking on) and runs the suite again;
#   4. builds the libFuzzer harnesses and runs each for a short while.
# Run as root: the live-capture test makes its own network namespace.
# When a stage fails, the script stops there and says which stages passed
# and which never ran, so a failure of the first cannot pass for success of
# the others.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_secs=${LOOPHOLE_FUZZ_SECS:-90} # in all, shared by the harnesses
jobs=$(nproc)

stages=("set-up" "plain build and test" "sanitizer build and test" "fuzz")
reached=0
report() {
    local rc=$?
    [ "$rc" -eq 0 ] && return
    echo "== test.sh FAILED in stage $((reached + 1)) of ${#stages[@]}: ${stages[$reached]}" >&2
    for ((i = 0; i < ${#stages[@]}; i++)); do
        if ((i < reached)); then
            echo "   passed:    ${stages[$i]}" >&2
        elif ((i == reached)); then
            echo "   FAILED:    ${stages[$i]}" >&2
        else
            echo "   never ran: ${stages[$i]}" >&2
        fi
    done
}
trap report EXIT

./scripts/setup.sh

reached=1
echo "== build and test"
./scripts/build.sh build
(cd build && ctest --output-on-failure -j"$jobs")

reached=2
echo "== sanitizer build and test"
./scripts/build.sh build-asan -DLOOPHOLE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE nosan)

reached=3
echo "== fuzz"
./scripts/fuzz.sh "$fuzz_secs"
reached=4
echo "== all tests passed: set-up, plain, sanitizer and fuzz stages"
