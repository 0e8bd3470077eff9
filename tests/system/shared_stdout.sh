#!/usr/bin/env bash
# Flow records and alerts on one standard output (--flows -, alerts to
# standard output by default, or --alerts naming the same file): one sink
# owns the descriptor and writes whole lines, so with many replays at once,
# through a pipe, every line of standard output is one JSON object, and
# each replay writes all of its records and alerts. The capture is a fleet
# mirror port whose alerts come while records are being written, which
# glued two objects on a line in about one replay in three when the two
# streams had a writer each.
set -euo pipefail

: "${LOOPHOLE:?}" "${LHGEN:?}"
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
"$LHGEN" fleet "$tmp/s.pcap" --packets 300000 >/dev/null

# the reference: records and alerts in files of their own
"$LOOPHOLE" -r "$tmp/s.pcap" --threads 2 --flows "$tmp/ref.flows" --alerts "$tmp/ref.alerts" \
    --sensor shared-ref 2>/dev/null
nflows=$(wc -l <"$tmp/ref.flows")
nalerts=$(wc -l <"$tmp/ref.alerts")
[ "$nflows" -gt 0 ] && [ "$nalerts" -gt 0 ] || { echo "FAIL: the capture gave $nflows flows, $nalerts alerts" >&2; exit 1; }

runs=${SHARED_STDOUT_RUNS:-12}
one() { # one replay, standard output through a pipe into out.N
    local i=$1 extra=()
    # every third run names standard output by path: the same descriptor
    if [ $((i % 3)) -eq 0 ]; then extra=(--alerts /dev/stdout); fi
    "$LOOPHOLE" -r "$tmp/s.pcap" --threads 2 --flows - "${extra[@]}" --sensor "shared-$i" \
        2>"$tmp/err.$i" | cat >"$tmp/out.$i"
}
for ((i = 1; i <= runs; i++)); do
    one "$i" &
    if ((i % 4 == 0)); then wait; fi
done
wait

python3 - "$tmp" "$runs" "$nflows" "$nalerts" <<'PY'
import json, sys
tmp, runs, nflows, nalerts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(1, runs + 1):
    data = open(f"{tmp}/out.{i}", "rb").read().decode()
    if not data.endswith("\n"):
        sys.exit(f"FAIL: replay {i}: standard output does not end with a whole line")
    flows = alerts = 0
    for n, line in enumerate(data.split("\n")[:-1], 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            sys.exit(f"FAIL: replay {i} line {n} is not one JSON object ({e}): {line[:200]!r}")
        if o.get("event_type") == "alert":
            alerts += 1
        else:
            flows += 1
    if (flows, alerts) != (nflows, nalerts):
        sys.exit(f"FAIL: replay {i}: {flows} flows and {alerts} alerts, expected {nflows} and {nalerts}")
print(f"shared_stdout: {runs} replays, {nflows} records and {nalerts} alerts each, every line one object")
PY
