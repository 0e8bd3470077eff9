#!/bin/sh
# Builds loophole's default geo database, data/geo/loophole-geo.mmdb, from
# open data fetched through the npm registry (docs/geo.md):
#
#   @ip-location-db/geo-whois-asn-country  country: RIR whois + geofeeds (NRO, CC BY 4.0)
#   @ip-location-db/asn                    AS number and organisation
#                                          (RouteViews, RIRs, DB-IP; CC BY 4.0)
#
# and writes it with MaxMind's writer (tools/geo-build.pl). From the same
# "asn" package it also derives data/indicators/generated/asn.csv, the
# hosting ASes named as such (tools/geo-categories.py, docs/geo.md).
#
#   scripts/geo-db.sh            build once; a no-op when the database exists
#   scripts/geo-db.sh --update   fetch the newest packages and rebuild
#
# Idempotent: tarballs are kept in data/geo/npm/ by version, so a rebuild of
# the same versions needs no network. LOOPHOLE_GEO_DIR overrides data/geo,
# LOOPHOLE_INDICATORS_DIR data/indicators.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${LOOPHOLE_GEO_DIR:-$here/data/geo}
db=$dir/loophole-geo.mmdb
packages="@ip-location-db/geo-whois-asn-country @ip-location-db/asn"
update=0
case "${1:-}" in
--update) update=1 ;;
"") ;;
*) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

generated=${LOOPHOLE_INDICATORS_DIR:-$here/data/indicators}/generated/asn.csv
# derive_hosting DIR VERSION: the generated hosting table from the "asn"
# package unpacked in DIR.
derive_hosting() {
    command -v python3 >/dev/null || { echo "geo-db: python3 is missing: run scripts/setup.sh" >&2; return 1; }
    python3 "$here/tools/geo-categories.py" --version "$2" --out "$generated" \
        "$1/asn-ipv4.csv" "$1/asn-ipv6.csv"
}

if [ "$update" -eq 0 ] && [ -s "$db" ]; then
    echo "geo-db: $db is present (scripts/geo-db.sh --update rebuilds it)"
    # a database built before the generated tables existed: derive them
    # from the cached package, without the network
    tgz=$(ls -1 "$dir/npm/ip-location-db-asn-"[0-9]*.tgz 2>/dev/null | sort | tail -n 1)
    if [ ! -s "$generated" ] && [ -n "$tgz" ]; then
        tmpd=$(mktemp -d)
        trap 'rm -rf "$tmpd"' EXIT INT TERM
        tar -xzf "$tgz" -C "$tmpd"
        derive_hosting "$tmpd/package" "$(basename "$tgz" .tgz | sed 's/.*-//')"
    fi
    exit 0
fi
for tool in npm perl; do
    command -v "$tool" >/dev/null || { echo "geo-db: $tool is missing: run scripts/setup.sh" >&2; exit 1; }
done
perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null ||
    { echo "geo-db: libmaxmind-db-writer-perl is missing: run scripts/setup.sh" >&2; exit 1; }

mkdir -p "$dir/npm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
: >"$work/sources"

# npm_failed WHAT: npm's own error (in $work/npm.err), what it most likely
# means and what to do, on standard error.
npm_failed() {
    registry=$(npm config get registry 2>/dev/null || echo "the npm registry")
    echo "geo-db: $1 from $registry failed; npm said:" >&2
    grep -v 'A complete log of this run' "$work/npm.err" | sed 's/^/    /' >&2
    if grep -qiE 'certificate|CERT_|SSL|self.signed|UNABLE_TO' "$work/npm.err"; then
        cat >&2 <<'MSG'
geo-db: the TLS certificate of the registry could not be verified. Behind a
  TLS-inspecting proxy, give npm the proxy's CA certificate:
    npm config set cafile /path/to/proxy-ca.pem    (or NODE_EXTRA_CA_CERTS=...)
  then run scripts/geo-db.sh again.
MSG
    elif grep -qiE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|network' \
        "$work/npm.err"; then
        cat >&2 <<'MSG'
geo-db: the npm registry cannot be reached. Check
  the network or DNS; behind a proxy: npm config set https-proxy URL. Then run
  scripts/geo-db.sh again.
MSG
    else
        echo "geo-db: fix what npm reports above, then run scripts/geo-db.sh again." >&2
    fi
}

for pkg in $packages; do
    name=${pkg#@ip-location-db/}
    version=$(npm view "$pkg" version 2>"$work/npm.err") || version=""
    if [ -z "$version" ]; then
        # Offline: fall back to the newest tarball already cached.
        tgz=$(ls -1 "$dir/npm/ip-location-db-$name-"[0-9]*.tgz 2>/dev/null | sort | tail -n 1)
        if [ -z "$tgz" ]; then
            npm_failed "asking the npm registry for $pkg"
            exit 1
        fi
        echo "geo-db: npm view $pkg failed; using the cached $(basename "$tgz")" >&2
    else
        tgz=$dir/npm/ip-location-db-$name-$version.tgz
        if [ ! -s "$tgz" ]; then
            echo "geo-db: fetching $pkg@$version"
            if ! (cd "$work" && npm pack --silent "$pkg@$version" >/dev/null 2>"$work/npm.err"); then
                npm_failed "fetching $pkg@$version"
                exit 1
            fi
            mv "$work/ip-location-db-$name-$version.tgz" "$tgz"
        fi
    fi
    mkdir -p "$work/$name"
    tar -xzf "$tgz" -C "$work/$name"
    echo "$pkg $(basename "$tgz" .tgz | sed 's/.*-//')" >>"$work/sources"
done

c=$work/geo-whois-asn-country/package
a=$work/asn/package
echo "geo-db: writing $db"
start=$(date +%s)
perl "$here/tools/geo-build.pl" --out "$db" \
    --country "$c/geo-whois-asn-country-ipv4.csv" --country "$c/geo-whois-asn-country-ipv6.csv" \
    --asn "$a/asn-ipv4.csv" --asn "$a/asn-ipv6.csv"
cp "$work/sources" "$dir/SOURCES"
derive_hosting "$a" "$(sed -n 's|^@ip-location-db/asn ||p' "$work/sources")"
echo "geo-db: done in $(($(date +%s) - start))s: $(wc -c <"$db") bytes from $(tr '\n' ' ' <"$work/sources")"
