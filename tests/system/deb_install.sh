#!/usr/bin/env bash
# The Debian package: built with CPack from a tree configured for /usr
# (LOOPHOLE_PACKAGE: the binary reads data only where it is installed),
# installed with apt from the file as an operator would, then exercised:
# the installed binary replays the sample capture with the installed geo
# database and indicator tables, the man page and the systemd unit are in
# place (systemd-analyze verify), the service user exists. Then the
# package is purged, and the user removed if this test created it, so the
# machine is left as it was. Needs root and apt; runs in the plain build
# only (label nosan).
set -euo pipefail

: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
: "${LOOPHOLE_BUILD:?LOOPHOLE_BUILD must name the build tree}"

fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (apt-get install of the package)"
[ -f "$LOOPHOLE_SRC/data/geo/loophole-geo.mmdb" ] ||
    fail "the default geo database is not built (scripts/geo-db.sh): the package would lack it"
if dpkg-query -W -f='${Status}' loophole 2>/dev/null | grep -q "install ok installed"; then
    fail "a loophole package is already installed here; this test will not replace it"
fi
had_user=0
getent passwd loophole >/dev/null && had_user=1

tmp=$(mktemp -d)
installed=0
cleanup() {
    if [ "$installed" -eq 1 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q loophole >/dev/null 2>&1 || true
    fi
    if [ "$had_user" -eq 0 ] && getent passwd loophole >/dev/null; then
        deluser --system loophole >/dev/null 2>&1 || true
        getent group loophole >/dev/null && delgroup --system loophole >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# Build (incrementally: the tree is kept in the build directory).
deb="$LOOPHOLE_BUILD/deb"
cmake -S "$LOOPHOLE_SRC" -B "$deb" -DCMAKE_INSTALL_PREFIX=/usr -DLOOPHOLE_PACKAGE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/cmake.log" 2>&1 || fail "configure: $(tail "$tmp/cmake.log")"
cmake --build "$deb" --target loophole -j2 >>"$tmp/cmake.log" 2>&1 || fail "build: $(tail "$tmp/cmake.log")"
rm -f "$deb"/loophole_*.deb
(cd "$deb" && cpack -G DEB) >"$tmp/cpack.log" 2>&1 || fail "cpack: $(tail "$tmp/cpack.log")"
pkg=$(ls "$deb"/loophole_*.deb)
dpkg-deb -f "$pkg" Depends | tee "$tmp/depends" | grep -q 'libndpi4.2' ||
    fail "Depends lacks nDPI: $(cat "$tmp/depends")"
for dep in libpcap0.8 libmaxminddb0 libhiredis0.14 libinih1 libjansson4 libxxhash0 redis-server adduser; do
    grep -q "$dep" "$tmp/depends" || fail "Depends lacks $dep: $(cat "$tmp/depends")"
done
dpkg-deb -c "$pkg" >"$tmp/contents"
for f in ./usr/bin/loophole ./usr/share/loophole/loophole-geo.mmdb \
    ./usr/share/loophole/indicators/asn.csv ./usr/share/man/man8/loophole.8 \
    ./usr/lib/systemd/system/loophole.service ./etc/loophole/loophole.conf; do
    grep -q " $f\$" "$tmp/contents" || fail "the package lacks $f"
done
dpkg-deb -e "$pkg" "$tmp/control"
grep -qx /etc/loophole/loophole.conf "$tmp/control/conffiles" || fail "the configuration is not a conffile"

# Install as an operator would: apt resolves the dependencies.
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >"$tmp/apt.log" 2>&1 ||
    fail "apt-get install: $(tail "$tmp/apt.log")"
[ -x /usr/bin/loophole ] || fail "/usr/bin/loophole missing after install"
getent passwd loophole >/dev/null || fail "the postinst did not create the loophole user"

# The installed binary on the sample, with the installed data only.
(cd / && /usr/bin/loophole -r "$LOOPHOLE_SRC/samples/sample.pcap" --flows - \
    >"$tmp/flows.jsonl" 2>"$tmp/run.err") || fail "installed binary: $(cat "$tmp/run.err")"
if grep -q "warning" "$tmp/run.err"; then fail "installed binary warned: $(cat "$tmp/run.err")"; fi
python3 - "$tmp/flows.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
flows = [l for l in lines if l["event_type"] == "flow"]
alerts = [l for l in lines if l["event_type"] == "alert"]
if not alerts:
    sys.exit("FAIL: the installed binary raised no alert on the sample")
if len(flows) != 15:
    sys.exit(f"FAIL: {len(flows)} flow records from the sample, expected 15")
cn = [f for f in flows if (f["src_geo"] or {}).get("country") == "CN"]
if not cn or cn[0]["src_geo"]["category"] != "china_telecom":
    sys.exit("FAIL: the installed geo database or indicator tables were not used")
if not any("gpu_dst" in f["roles"] for f in flows):
    sys.exit("FAIL: no GPU host recognised by the installed provider ranges")
PY
/usr/bin/loophole --version | grep -q '^loophole ' || fail "--version"

# Man page, unit, configuration.
[ "$(man -w loophole)" = /usr/share/man/man8/loophole.8 ] || fail "man -w loophole: $(man -w loophole 2>&1)"
MANWIDTH=80 man loophole 2>/dev/null | grep -q "EXIT STATUS" || fail "the man page does not render"
unit=/usr/lib/systemd/system/loophole.service
grep -qx "ExecStart=/usr/bin/loophole -c /etc/loophole/loophole.conf" "$unit" || fail "ExecStart"
grep -qx "Restart=on-failure" "$unit" || fail "Restart"
systemd-analyze verify "$unit" >"$tmp/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$tmp/verify.log")"
# the shipped configuration loads (every key is commented out: it is the
# defaults); without an interface it is a configuration error, status 2
set +e
/usr/bin/loophole -c /etc/loophole/loophole.conf 2>"$tmp/conf.err"
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "no packet source" "$tmp/conf.err" ||
    fail "installed configuration: status $rc: $(cat "$tmp/conf.err")"

# Remove everything.
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q loophole >"$tmp/purge.log" 2>&1 ||
    fail "apt-get purge: $(tail "$tmp/purge.log")"
installed=0
[ ! -e /usr/bin/loophole ] && [ ! -e /etc/loophole/loophole.conf ] && [ ! -e "$unit" ] ||
    fail "files left after purge"
echo "deb_install: ok"
