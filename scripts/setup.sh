#!/bin/sh
# Installs every Debian 12 package that building, testing and running
# loophole needs, then builds the default geo database (scripts/geo-db.sh).
# Idempotent: packages already present are left alone and the list of what
# is missing is printed before anything is installed; the database is kept
# once built.
# Run as root (or through sudo) on Debian 12.
set -eu

PACKAGES="
build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
libpcap-dev libndpi-dev libndpi-bin
libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl libnet-works-perl
libhiredis-dev redis-server redis-tools
libinih-dev libcmocka-dev libxxhash-dev libcap-ng-dev libjansson-dev nettle-dev
tshark tcpreplay iproute2 procps python3 jq curl prometheus-node-exporter
graphviz man-db adduser systemd
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# npm fetches the geo data; any npm will do (Debian's, or the one bundled
# with a NodeSource nodejs, which conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || missing="$missing npm"

# The default geo database (docs/geo.md): fetched through npm and built
# once; a no-op when it exists. Runs as the invoking user, not as root.
geo_db() {
    here=$(cd "$(dirname "$0")" && pwd)
    if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ]; then
        su "$SUDO_USER" -c "$here/geo-db.sh"
    else
        "$here/geo-db.sh"
    fi
}

if [ -z "$missing" ]; then
    echo "setup: all packages already installed"
    geo_db
    exit 0
fi

echo "setup: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
geo_db
echo "setup: done"
