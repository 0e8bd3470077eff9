#!/usr/bin/env bash
# --graph on the sample capture: Graphviz's own parser reads the file
# (dot -Tsvg renders it, dot -Tjson0 gives the nodes and edges back), the
# expected hosts are there in the right columns with the right edges, and
# the file is the same with one worker and with four.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

sample="$LOOPHOLE_SRC/samples/sample.pcap"
geo="$LOOPHOLE_SRC/data/geo/loophole-geo.mmdb"
[ -f "$geo" ] || fail "$geo missing: run scripts/geo-db.sh"
for t in 1 4; do
    "$LOOPHOLE" -r "$sample" --geo "$geo" --threads "$t" --graph "$tmp/g$t.dot" \
        --sensor test >/dev/null 2>"$tmp/err$t" || fail "threads $t: $(cat "$tmp/err$t")"
done
cmp -s "$tmp/g1.dot" "$tmp/g4.dot" || fail "the graph differs between 1 and 4 threads"
dot -Tsvg "$tmp/g1.dot" -o "$tmp/g.svg" 2>"$tmp/dot.err" || fail "dot -Tsvg: $(cat "$tmp/dot.err")"
[ -s "$tmp/dot.err" ] && fail "dot warned: $(cat "$tmp/dot.err")"
grep -q '<svg' "$tmp/g.svg" || fail "no SVG"
dot -Tjson0 "$tmp/g1.dot" >"$tmp/g.json" || fail "dot -Tjson0"

python3 - "$tmp/g.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
nodes = {o["name"]: o for o in g["objects"] if "lh_kind" in o}
edges = {}
for e in g.get("edges", []):
    src, dst = g["objects"][e["tail"]]["name"], g["objects"][e["head"]]["name"]
    edges[(src, dst, e["lh_proto"])] = e

def kind(ip, want):
    if ip not in nodes:
        sys.exit(f"FAIL: node {ip} missing; nodes: {sorted(nodes)}")
    if nodes[ip]["lh_kind"] != want:
        sys.exit(f"FAIL: {ip} is {nodes[ip]['lh_kind']}, expected {want}")

kind("104.171.200.17", "gpu_host")
kind("104.171.201.9", "gpu_host")
kind("175.16.199.23", "end_user")
kind("1.180.23.7", "end_user")
kind("118.31.219.198", "egress")
for ip in ("175.16.199.23", "1.180.23.7", "118.31.219.198"):
    if nodes[ip]["lh_country"] != "CN" or nodes[ip]["fillcolor"] != "#f4a3a3":
        sys.exit(f"FAIL: {ip} should be filled as China: {nodes[ip]}")
if nodes["118.31.219.198"]["lh_category"] != "china_cloud":
    sys.exit("FAIL: 118.31.219.198 category")

def edge(src, dst, proto, sessions, nbytes=None):
    e = edges.get((src, dst, proto))
    if e is None:
        sys.exit(f"FAIL: edge {src} -> {dst} {proto} missing; edges: {sorted(edges)}")
    if int(e["lh_sessions"]) != sessions:
        sys.exit(f"FAIL: {src} -> {dst} {proto}: {e['lh_sessions']} sessions, expected {sessions}")
    if nbytes is not None and int(e["lh_bytes"]) != nbytes:
        sys.exit(f"FAIL: {src} -> {dst} {proto}: {e['lh_bytes']} bytes, expected {nbytes}")

# byte counts are the flow records' bytes_c2s + bytes_s2c
edge("175.16.199.23", "104.171.200.17", "SSH", 1, 12664 + 80074)
edge("175.16.199.23", "104.171.201.9", "RDP", 1, 31040 + 532906)
edge("1.180.23.7", "104.171.200.17", "HTTP", 2, 2290 + 29111 + 5813 + 18113)
edge("104.171.200.17", "118.31.219.198", "TLS.Alibaba", 1, 26313741 + 574924)
# nothing that touches no GPU host
for (s, d, _p) in edges:
    if "104.171.200.17" not in (s, d) and "104.171.201.9" not in (s, d):
        sys.exit(f"FAIL: unexpected edge {s} -> {d}")
PY

# an unwritable --graph path fails before any packet is read, naming itself
set +e
"$LOOPHOLE" -r "$sample" --graph "$tmp/no/such/dir/g.dot" >/dev/null 2>"$tmp/bad.err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q -- "--graph $tmp/no/such/dir/g.dot" "$tmp/bad.err" ||
    fail "unwritable --graph: status $rc: $(cat "$tmp/bad.err")"
echo "graph: ok"
