#!/bin/bash
# Sets up the machine, builds loophole and replays the bundled sample
# capture (samples/sample.pcap: a few minutes of a GPU host's mirror port,
# made by tests/gen/lhgen), printing every flow record it finds and the
# sensor's counters. Extra arguments go to loophole.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >&2
./scripts/build.sh build >&2
exec ./build/loophole -r samples/sample.pcap --flows - --stats 3600 "$@"
