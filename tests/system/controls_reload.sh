#!/bin/bash
# The control-session rules (controls.csv) are reloaded on SIGHUP like the
# other indicator tables: a broken file is refused naming FILE:LINE and the
# old rules stay; an edited file applies to the records written after the
# reload, flows open across it included.
#
# The todesk scenario (TLS to api.todesk.com) is written into a FIFO that
# stays open, so every flow is still open at the reload; the kind of the
# todesk.com rule is then renamed in a copy of the shipped tables and
# SIGHUP sent; at EOF the ToDesk session's record must carry the new kind.
set -euo pipefail
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
chmod 755 "$tmp" # started as root, loophole reloads as its own user
fail() { echo "controls_reload: FAIL: $*" >&2; [ ! -f "$tmp/err" ] || cat "$tmp/err" >&2; exit 1; }

mkdir "$tmp/ind"
cp "$LOOPHOLE_SRC"/data/indicators/*.csv "$tmp/ind/"
# A reload reads the geo database again too, as the sensor's own user: the
# default one lies in the source tree, which that user may not be able to
# read (a clone under /root), and then the reload is refused for it before
# controls.csv is read. The test's own database, where that user can read.
printf '175.16.199.0,175.16.199.255,CN\n' >"$tmp/country.csv"
printf '175.16.199.0,175.16.199.255,4837,CHINA UNICOM China169 Backbone\n' >"$tmp/asn.csv"
perl "$LOOPHOLE_SRC/tools/geo-build.pl" --out "$tmp/geo.mmdb" \
    --country "$tmp/country.csv" --asn "$tmp/asn.csv"
"$LHGEN" todesk "$tmp/t.pcap" >/dev/null
mkfifo "$tmp/pipe"
"$LOOPHOLE" -r - --alerts /dev/null --flows "$tmp/flows.json" --indicators "$tmp/ind" \
    --geo "$tmp/geo.mmdb" <"$tmp/pipe" 2>"$tmp/err" &
pid=$!
exec 3>"$tmp/pipe"
cat "$tmp/t.pcap" >&3
sleep 1
# a broken rule: refused, naming the line
cp "$tmp/ind/controls.csv" "$tmp/good.csv"
printf 'tunnel:x,port,tcp/99999,\n' >>"$tmp/ind/controls.csv"
line=$(wc -l <"$tmp/ind/controls.csv")
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "reload failed" "$tmp/err" && break; sleep 0.1; done
grep -qF "keeping the previous geo tables: $tmp/ind/controls.csv:$line: port must be" "$tmp/err" ||
    fail "bad controls.csv not reported"
# an edited rule: taken
sed 's/^remote_desktop:todesk,name,todesk.com,/remote_desktop:todesk-edited,name,todesk.com,/' \
    "$tmp/good.csv" >"$tmp/ind/controls.csv"
grep -q '^remote_desktop:todesk-edited,' "$tmp/ind/controls.csv" || fail "the edit did not apply"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q "geo tables reloaded" "$tmp/err" && break; sleep 0.1; done
grep -q "geo tables reloaded" "$tmp/err" || fail "no reload"
exec 3>&-
wait "$pid" || fail "loophole failed"
pid=
python3 - "$tmp/flows.json" <<'PY' || fail "records"
import json, sys
recs = list(map(json.loads, open(sys.argv[1])))
tls = [r for r in recs if r["sni"] == "api.todesk.com"]
if not tls or any(r["control"] != "remote_desktop:todesk-edited" for r in tls):
    sys.exit("ToDesk sessions: %s" % [(r["end"], r["control"]) for r in tls])
if any(r["control"] == "remote_desktop:todesk" for r in recs):
    sys.exit("the old kind is still written")
PY
echo "PASS"
