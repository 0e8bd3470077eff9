#!/bin/bash
# Configures and builds loophole in build/ (or the directory given as $1)
# with warnings as errors. Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOPHOLE_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
