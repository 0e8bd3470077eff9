#!/bin/bash
# Sets up the machine, builds loophole and replays the bundled sample
# capture (samples/sample.pcap: a few minutes of a GPU host's mirror port,
# made by tests/gen/lhgen) with a private Redis and the default geo
# database. Alerts are printed on standard output as JSON lines; the table
# of entities by risk, on standard error; the flow records, the summary
# and the relationship graph are written under build/. Extra arguments go
# to loophole.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >&2
./scripts/build.sh build >&2
./build/loophole -r samples/sample.pcap --flows build/sample-flows.jsonl \
    --summary build/sample-summary.json --graph build/sample.dot "$@"
echo "sample: flow records in build/sample-flows.jsonl, summary in build/sample-summary.json," \
    "graph in build/sample.dot (dot -Tpng build/sample.dot -o sample.png)" >&2
