#!/bin/sh
# Installs every Debian 12 package that building, testing and running
# loophole needs. Idempotent: packages already present are left alone and
# the list of what is missing is printed before anything is installed.
# Run as root (or through sudo) on Debian 12.
set -eu

PACKAGES="
build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
libpcap-dev libndpi-dev libndpi-bin
libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl
libhiredis-dev redis-server redis-tools
libinih-dev libcmocka-dev libxxhash-dev libcap-ng-dev libjansson-dev
tshark tcpreplay iproute2 procps python3
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "setup: all packages already installed"
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
echo "setup: done"
