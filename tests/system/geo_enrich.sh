#!/usr/bin/env bash
# Flow records carry src_geo / dst_geo, the gpu_src / gpu_dst roles and
# gpu_host, from a database written here with MaxMind's writer
# (tools/geo-build.pl), the shipped indicator tables and an inventory; and
# SIGHUP reloads the inventory mid-run without losing a flow, while a
# broken file on reload keeps the old tables and names the file and line,
# and a file the sensor can no longer read (a directory its unprivileged
# user cannot enter) keeps the old tables, says so and is counted.
set -euo pipefail

: "${LOOPHOLE:?}" "${LHGEN:?}" "${LOOPHOLE_SRC:?}"
tmp=$(mktemp -d)
# Run as root, the sensor switches to an unprivileged user (docs/security.md),
# which must still reach what it reloads or hands to its private server.
chmod 755 "$tmp"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
"$LHGEN" sample "$tmp/s.pcap" >/dev/null
# The shipped indicator tables, copied where the unprivileged user can read
# them at a reload wherever the clone lives (under /root, say); the copy is
# given explicitly to every run.
mkdir "$tmp/ind"
cp "$LOOPHOLE_SRC"/data/indicators/*.csv "$tmp/ind/"

cat >"$tmp/country.csv" <<'CSV'
175.16.199.0,175.16.199.255,CN
1.180.23.0,1.180.23.255,CN
104.171.200.0,104.171.203.255,US
81.2.69.0,81.2.69.255,GB
CSV
cat >"$tmp/asn.csv" <<'CSV'
175.16.199.0,175.16.199.255,4837,CHINA UNICOM China169 Backbone
1.180.23.0,1.180.23.255,4134,Chinanet
104.171.200.0,104.171.203.255,398090,Lambda
CSV
perl "$LOOPHOLE_SRC/tools/geo-build.pl" --out "$tmp/geo.mmdb" \
    --country "$tmp/country.csv" --asn "$tmp/asn.csv"
printf 'cidr,provider,region,sku,tenant\n' >"$tmp/fleet.csv"

"$LOOPHOLE" -r "$tmp/s.pcap" --alerts /dev/null --flows "$tmp/provider.json" \
    --geo "$tmp/geo.mmdb" --indicators "$tmp/ind" --inventory "$tmp/fleet.csv"
printf 'cidr,provider,region,sku,tenant\n104.171.200.16/28,lambda,us-tx-1,H100,acme\n' \
    >"$tmp/fleet2.csv"
"$LOOPHOLE" -r "$tmp/s.pcap" --alerts /dev/null --flows "$tmp/inventory.json" \
    --geo "$tmp/geo.mmdb" --indicators "$tmp/ind" --inventory "$tmp/fleet2.csv"

python3 - "$tmp/provider.json" "$tmp/inventory.json" <<'PY'
import ipaddress, json, sys
lambda_net = ipaddress.ip_network("104.171.200.0/22")
def in_lambda(ip):
    a = ipaddress.ip_address(ip)
    return a.version == 4 and a in lambda_net
def load(p):
    return [json.loads(l) for l in open(p)]
def fail(msg):
    sys.exit("FAIL: " + msg)
gpu = "104.171.200.17"
prov, inv = load(sys.argv[1]), load(sys.argv[2])
if not prov or len(prov) != len(inv):
    fail("record counts differ: %d vs %d" % (len(prov), len(inv)))
seen_cn = seen_gb = 0
for r in prov:
    for side in ("src", "dst"):
        g, ip = r[side + "_geo"], r[side + "_ip"]
        if set(g) != {"country", "asn", "as_org", "category"}:
            fail("geo keys %s" % sorted(g))
        role = "gpu_" + side
        if ip == gpu:
            if role not in r["roles"]:
                fail("%s lacks %s: %s" % (ip, role, r["roles"]))
            h = r["gpu_host"]
            if h != {"ip": gpu, "source": "provider", "provider": "Lambda", "tenant": None,
                     "sku": None, "region": None}:
                fail("provider gpu_host %s" % h)
            if g != {"country": "US", "asn": 398090, "as_org": "Lambda", "category": "gpu_cloud"}:
                fail("gpu geo %s" % g)
        elif (role in r["roles"]) != in_lambda(ip):
            fail("%s: roles %s" % (ip, r["roles"]))
        if ip == "175.16.199.23":
            seen_cn += 1
            if g != {"country": "CN", "asn": 4837, "as_org": "CHINA UNICOM China169 Backbone",
                     "category": "china_telecom"}:
                fail("175.16.199.23: %s" % g)
        if ip == "81.2.69.142":
            seen_gb += 1
            if g != {"country": "GB", "asn": None, "as_org": None, "category": None}:
                fail("81.2.69.142: %s" % g)
    if (r["gpu_host"] is not None) != (in_lambda(r["src_ip"]) or in_lambda(r["dst_ip"])):
        fail("gpu_host %s on %s -> %s" % (r["gpu_host"], r["src_ip"], r["dst_ip"]))
if not seen_cn or not seen_gb:
    fail("sample lacks the China or GB client")
for r in inv:
    if gpu in (r["src_ip"], r["dst_ip"]):
        h = r["gpu_host"]
        if h != {"ip": gpu, "source": "inventory", "provider": "lambda", "tenant": "acme",
                 "sku": "H100", "region": "us-tx-1"}:
            fail("inventory gpu_host %s" % h)
print("records: %d" % len(prov))
PY

# Reload: packets of every flow are in before SIGHUP; the pipe stays open
# so no flow has ended; the inventory changes; then EOF writes the flows.
mkfifo "$tmp/pipe"
cp "$tmp/fleet.csv" "$tmp/live.csv"
"$LOOPHOLE" -r - --alerts /dev/null --flows "$tmp/reload.json" --geo "$tmp/geo.mmdb" \
    --indicators "$tmp/ind" --inventory "$tmp/live.csv" <"$tmp/pipe" 2>"$tmp/err" &
pid=$!
exec 3>"$tmp/pipe"
cat "$tmp/s.pcap" >&3
sleep 1
printf 'cidr,provider,region,sku,tenant\n104.171.200.17,lambda,,,\nnot-a-cidr,,,,\n' >"$tmp/live.csv"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "reload failed" "$tmp/err" && break; sleep 0.1; done
grep -qF "keeping the previous geo tables: $tmp/live.csv:3: cidr \"not-a-cidr\"" "$tmp/err" ||
    { echo "FAIL: bad reload not reported:" >&2; cat "$tmp/err" >&2; exit 1; }
cp "$tmp/fleet2.csv" "$tmp/live.csv"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "geo tables reloaded" "$tmp/err" && break; sleep 0.1; done
grep -q "geo tables reloaded" "$tmp/err" || { echo "FAIL: no reload" >&2; cat "$tmp/err" >&2; exit 1; }
exec 3>&-
wait "$pid"
pid=
python3 - "$tmp/inventory.json" "$tmp/reload.json" <<'PY'
import json, sys
def key(r):
    return (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["proto"], r["first"])
a = sorted(map(json.loads, open(sys.argv[1])), key=key)
b = sorted(map(json.loads, open(sys.argv[2])), key=key)
if [key(r) for r in a] != [key(r) for r in b]:
    sys.exit("FAIL: flows differ after reload: %d vs %d" % (len(a), len(b)))
# Flows that ended (FIN, RST) while the capture was read were written with
# the first tables; those still open at the reload end at EOF and must carry
# the reloaded inventory, like the run that had it from the start.
late = 0
for x, y in zip(a, b):
    if y["end"] != "eof":
        continue
    late += 1
    if (x["gpu_host"], x["roles"], x["src_geo"], x["dst_geo"]) != \
       (y["gpu_host"], y["roles"], y["src_geo"], y["dst_geo"]):
        sys.exit("FAIL: reloaded tables not used: %s vs %s" % (x["gpu_host"], y["gpu_host"]))
if not any(r["end"] == "eof" and r["gpu_host"] and r["gpu_host"]["source"] == "inventory"
           for r in b):
    sys.exit("FAIL: no flow open across the reload reached the GPU host")
PY

# A reload that cannot read its files keeps the old tables and says so.
# The indicator tables sit in a directory the sensor can read when it
# starts but not at the reload: as root, a 0700 directory of root's (the
# sensor has dropped to an unprivileged user by then, as a clone under
# /root would be); otherwise the directory loses its permissions before
# SIGHUP. Flows still open at the reload must keep their categories.
mkdir -p "$tmp/private/ind"
cp "$LOOPHOLE_SRC"/data/indicators/*.csv "$tmp/private/ind/"
if [ "$(id -u)" -eq 0 ]; then chmod 700 "$tmp/private"; fi
rm -f "$tmp/pipe"
mkfifo "$tmp/pipe"
"$LOOPHOLE" -r - --alerts /dev/null --flows "$tmp/denied.json" --geo "$tmp/geo.mmdb" \
    --indicators "$tmp/private/ind" --stats 3600 <"$tmp/pipe" 2>"$tmp/err2" &
pid=$!
exec 3>"$tmp/pipe"
cat "$tmp/s.pcap" >&3
sleep 1
if [ "$(id -u)" -ne 0 ]; then chmod 000 "$tmp/private"; fi
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "reload failed\|reloaded" "$tmp/err2" && break; sleep 0.1; done
exec 3>&-
wait "$pid" || { echo "FAIL: run with a refused reload failed:" >&2; cat "$tmp/err2" >&2; exit 1; }
pid=
chmod 755 "$tmp/private"
# The first table the reload opens names the refusal (the generated AS
# table comes before asn.csv when the set-up step has built it).
grep -qE "reload failed, keeping the previous geo tables: $tmp/private/ind/(generated/)?asn\.csv: Permission denied" \
    "$tmp/err2" || { echo "FAIL: unreadable tables not refused loudly:" >&2; cat "$tmp/err2" >&2; exit 1; }
if grep -q "geo tables reloaded" "$tmp/err2"; then
    echo "FAIL: an unreadable reload was reported as done" >&2; exit 1
fi
python3 - "$tmp/denied.json" "$tmp/err2" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
stats = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
if not stats or stats[-1]["geo_reload_failures"] != 1 or stats[-1]["geo_reloads"] != 0:
    sys.exit("FAIL: counters do not show the refused reload: %s" % stats[-1:])
late = [r for r in recs if r["end"] == "eof"]
gpu = [r for r in late if "104.171.200.17" in (r["src_ip"], r["dst_ip"])]
if not gpu:
    sys.exit("FAIL: no flow of the GPU host open across the reload")
for r in gpu:
    g = r["src_geo"] if r["src_ip"] == "104.171.200.17" else r["dst_geo"]
    if g["category"] != "gpu_cloud":
        sys.exit("FAIL: the old indicator tables were lost at the refused reload: %s" % g)
print("refused reload: %d flows across it kept their categories" % len(gpu))
PY
echo "PASS"
