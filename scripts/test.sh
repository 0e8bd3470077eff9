#!/bin/bash
# Sets up a Debian 12 machine and passes every test:
#   1. installs the packages (scripts/setup.sh);
#   2. builds with -Wall -Wextra -Werror and runs the suite (CTest);
#   3. builds with AddressSanitizer + UndefinedBehaviorSanitizer (leak
#      checking on) and runs the suite again;
#   4. builds the libFuzzer harnesses and runs each for a short while.
# Run as root: the live-capture test makes its own network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_secs=${LOOPHOLE_FUZZ_SECS:-90} # in all, shared by the harnesses
jobs=$(nproc)

./scripts/setup.sh

echo "== build and test"
./scripts/build.sh build
(cd build && ctest --output-on-failure -j"$jobs")

echo "== sanitizer build and test"
./scripts/build.sh build-asan -DLOOPHOLE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE nosan)

echo "== fuzz"
./scripts/fuzz.sh "$fuzz_secs"
echo "== all tests passed"
