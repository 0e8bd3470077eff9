#!/usr/bin/env bash
# A geo file that is named but missing, unreadable or corrupt stops
# loophole before any packet with exit status 2 and a message naming the
# file (and for tables, the line).
set -euo pipefail

: "${LOOPHOLE:?}" "${LHGEN:?}" "${LOOPHOLE_CORPUS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$LHGEN" dns "$tmp/in.pcap" >/dev/null

expect() { # expect WANT_TEXT ARGS...
    local want=$1 rc=0
    shift
    "$LOOPHOLE" -r "$tmp/in.pcap" --alerts /dev/null "$@" 2>"$tmp/err" || rc=$?
    if [ "$rc" -ne 2 ]; then
        echo "FAIL: $* exited $rc, want 2" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
    if ! grep -qF -- "$want" "$tmp/err"; then
        echo "FAIL: $*: stderr lacks '$want':" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
}

expect "$tmp/none.mmdb: cannot read the geo database: No such file" --geo "$tmp/none.mmdb"
echo "not a database" >"$tmp/junk.mmdb"
expect "$tmp/junk.mmdb: not a valid MaxMind database" --geo "$tmp/junk.mmdb"
head -c 3000 "$LOOPHOLE_CORPUS/mmdb/GeoIP2-City-Test.mmdb" >"$tmp/cut.mmdb"
expect "$tmp/cut.mmdb" --geo "$LOOPHOLE_CORPUS/mmdb/GeoLite2-ASN-Test.mmdb" --geo "$tmp/cut.mmdb"
printf 'cidr,provider,region,sku,tenant\n10.0.0.0/8,a,,,\n10.0.0.0/33,b,,,\n' >"$tmp/fleet.csv"
expect "$tmp/fleet.csv:3: cidr \"10.0.0.0/33\"" --inventory "$tmp/fleet.csv"
expect "$tmp/nofleet.csv: No such file" --inventory "$tmp/nofleet.csv"
expect "$tmp/noind/asn.csv: No such file" --indicators "$tmp/noind"
mkdir "$tmp/ind"
printf 'asn,category,name\n' >"$tmp/ind/asn.csv"
printf 'cidr,category,name\n' >"$tmp/ind/networks.csv"
printf 'suffix,category,name\nok.com,x,y\nnot a name,x,y\n' >"$tmp/ind/domains.csv"
expect "$tmp/ind/domains.csv:3: not a domain name" --indicators "$tmp/ind"
sed -i '/not a name/d' "$tmp/ind/domains.csv"
expect "$tmp/ind/controls.csv: No such file" --indicators "$tmp/ind"
printf 'kind,by,match,apps\nssh,app,SSH,\nssh,port,tcp/22x,Unknown\n' >"$tmp/ind/controls.csv"
expect "$tmp/ind/controls.csv:3: port must be" --indicators "$tmp/ind"
# the same through the configuration file
printf '[geo]\ndb = %s\n' "$tmp/junk.mmdb" >"$tmp/lh.conf"
expect "$tmp/junk.mmdb" -c "$tmp/lh.conf"
if [ "$(id -u)" -ne 0 ]; then
    cp "$LOOPHOLE_CORPUS/mmdb/GeoLite2-ASN-Test.mmdb" "$tmp/locked.mmdb"
    chmod 000 "$tmp/locked.mmdb"
    expect "$tmp/locked.mmdb: cannot read the geo database: Permission denied" --geo "$tmp/locked.mmdb"
fi
# and valid files are accepted
sed -i '/22x/d' "$tmp/ind/controls.csv"
"$LOOPHOLE" -r "$tmp/in.pcap" --alerts /dev/null --indicators "$tmp/ind" \
    --geo "$LOOPHOLE_CORPUS/mmdb/GeoLite2-ASN-Test.mmdb" || { echo "FAIL: valid files refused" >&2; exit 1; }
echo "PASS"
