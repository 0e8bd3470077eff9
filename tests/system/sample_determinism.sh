#!/usr/bin/env bash
# The bundled sample replayed several times, with 1, 2 and 4 workers, each
# run with its own private Redis: the end-of-run table, the --summary JSON
# and the graph are byte-identical in every run, and the table's columns
# keep their width. Alerts: the same lines, byte for byte after sorting,
# in every run (README, "The same answer every time").
set -euo pipefail

: "${LOOPHOLE:?}" "${LOOPHOLE_SRC:?}"
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

runs=()
for t in 1 2 4; do
    for r in 1 2; do
        n="t$t-$r"
        "$LOOPHOLE" -r "$LOOPHOLE_SRC/samples/sample.pcap" --threads "$t" --sensor determinism \
            --summary "$tmp/$n.json" --graph "$tmp/$n.dot" >"$tmp/$n.alerts" 2>"$tmp/$n.err" ||
            fail "replay $n failed: $(cat "$tmp/$n.err")"
        # the table: from its title line to the end of standard error
        sed -n '/^loophole: [0-9]* alerts\? about/,$p' "$tmp/$n.err" >"$tmp/$n.table"
        [ -s "$tmp/$n.table" ] || fail "replay $n printed no table: $(cat "$tmp/$n.err")"
        runs+=("$n")
    done
done

ref=${runs[0]}
for n in "${runs[@]:1}"; do
    for kind in table json dot; do
        cmp -s "$tmp/$ref.$kind" "$tmp/$n.$kind" ||
            fail "the $kind differs between $ref and $n: $(diff "$tmp/$ref.$kind" "$tmp/$n.$kind" | head -20)"
    done
done
sort "$tmp/$ref.alerts" >"$tmp/ref.sorted"
for n in "${runs[@]:1}"; do
    sort "$tmp/$n.alerts" | cmp -s "$tmp/ref.sorted" - ||
        fail "alert lines differ between $ref and $n: $(sort "$tmp/$n.alerts" | diff "$tmp/ref.sorted" - | cut -c1-400 | head -6)"
done

python3 - "$tmp" "${runs[@]}" <<'PY'
import json, sys
tmp, runs = sys.argv[1], sys.argv[2:]
ref = open(f"{tmp}/{runs[0]}.alerts").read().splitlines()
if not ref:
    sys.exit("FAIL: the sample raised no alert")
# the table: every row as wide as the header, nothing spilling over a column
lines = open(f"{tmp}/{runs[0]}.table").read().splitlines()
header, rows = lines[1], lines[2:]
for r in rows:
    if len(r.rstrip()) > len(header.rstrip()) or r[len(header) - 10:].strip() == "":
        sys.exit(f"FAIL: a row does not fit the columns:\n{header}\n{r}")
    for col in ("PEERS", "GPU HOSTS", "BYTES UP"):
        at = header.index(col)
        if r[at - 1] != " ":
            sys.exit(f"FAIL: the column before {col} spills into it:\n{header}\n{r}")
# the summary names both addresses in China that drive the GPU host, whichever
# flow raised the once-per-hour alert
s = json.load(open(f"{tmp}/{runs[0]}.json"))
gpu = [e for e in s["entities"] if e["ip"] == "104.171.200.17"]
if not gpu or not {"175.16.199.23", "1.180.23.7"} <= set(gpu[0]["peers"]):
    sys.exit(f"FAIL: the GPU host's peers lack a controller in China: {gpu}")
print(f"sample_determinism: {len(runs)} replays, {len(ref)} alerts, identical table, summary and graph")
PY
