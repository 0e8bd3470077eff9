#!/bin/sh
# Installs every Debian 12 package that building, testing and running
# loophole needs, then builds the default geo database (scripts/geo-db.sh).
# Idempotent: packages already present are left alone and the list of what
# is missing is printed before anything is installed; the database is kept
# once built.
# Run as root (or through sudo) on Debian 12. `setup.sh --list` prints the
# package list and changes nothing (tests/system/setup_packages.sh checks it
# against the tools the tests and scripts call).
set -eu

PACKAGES="
build-essential dpkg-dev cmake pkg-config clang clang-format libclang-rt-14-dev
libpcap-dev libndpi-dev libndpi-bin
libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl libnet-works-perl
libhiredis-dev redis-server redis-tools
libinih-dev libcmocka-dev libxxhash-dev libcap-ng-dev libjansson-dev nettle-dev
tshark wireshark-common tcpreplay iproute2 procps python3 jq curl prometheus-node-exporter
graphviz man-db adduser systemd file time openssl
"

if [ "${1:-}" = "--list" ]; then
    # shellcheck disable=SC2086
    printf '%s\n' $PACKAGES
    exit 0
fi

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
# When it cannot be built (no registry, a proxy npm does not trust), the
# set-up goes on: loophole runs without it (country and AS stay null, and
# it says so at start), and geo-db.sh has said what to do.
geo_db() {
    here=$(cd "$(dirname "$0")" && pwd)
    if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ]; then
        su "$SUDO_USER" -c "$here/geo-db.sh"
    else
        "$here/geo-db.sh"
    fi || echo "setup: warning: no default geo database (see above); loophole runs without" \
        "it, with country and AS null, until scripts/geo-db.sh succeeds" >&2
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
