#!/bin/bash
# Checks that the two README commands pass on a freshly bootstrapped
# Debian 12, exactly as a new user runs them (docs/fresh-machine.md):
#
#   1. debootstraps bookworm (minbase, plus git and ca-certificates) once
#      into DIR/base, and copies it to a fresh DIR/root for every check;
#   2. clones this repository's HEAD (committed work only) into
#      /root/loophole in the chroot, and copies ../shared beside it
#      (/root is 0700 there, as on a real machine);
#   3. bind-mounts the root on itself, mounts /proc, /sys, /dev, /dev/pts,
#      /dev/shm and /run, copies
#      resolv.conf, and keeps package scripts from starting services;
#   4. runs, as root, `cd /root/loophole && ./scripts/sample.sh` and then
#      `./scripts/test.sh`, each with its output in DIR/<name>.log;
#   5. stops what is left running in the chroot and unmounts everything.
#
#   scripts/fresh-check.sh [DIR]      default DIR: /var/tmp/loophole-fresh
#
# Environment: LOOPHOLE_MIRROR (default http://deb.debian.org/debian),
# LOOPHOLE_SHARED (default ../shared beside this clone), LOOPHOLE_FRESH_KEEP=1
# keeps DIR/root afterwards, LOOPHOLE_FRESH_CA=FILE: the CA certificate of a
# TLS-inspecting proxy between this host and the npm registry, installed in
# the chroot as its operator would (update-ca-certificates, npm's cafile). Needs root, debootstrap and the network (Debian's
# mirror and the npm registry). Exit status: 0 when both commands passed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/var/tmp/loophole-fresh}
mirror=${LOOPHOLE_MIRROR:-http://deb.debian.org/debian}
shared=${LOOPHOLE_SHARED:-$src/../shared}
root=$dir/root

[ "$(id -u)" -eq 0 ] || { echo "fresh-check: run as root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh-check: apt-get install debootstrap" >&2; exit 2; }
[ -d "$shared" ] || { echo "fresh-check: $shared: no shared data (set LOOPHOLE_SHARED)" >&2; exit 2; }
mkdir -p "$dir"

if [ ! -e "$dir/base/.bootstrapped" ]; then
    echo "fresh-check: debootstrap bookworm into $dir/base"
    rm -rf "$dir/base"
    debootstrap --variant=minbase --include=git,ca-certificates bookworm "$dir/base" "$mirror" \
        >"$dir/debootstrap.log" 2>&1 || { echo "fresh-check: debootstrap failed: $dir/debootstrap.log" >&2; exit 1; }
    touch "$dir/base/.bootstrapped"
fi

mounts=()
cleanup() {
    # processes still running in the chroot (a server a failed test left)
    for p in /proc/[0-9]*; do
        if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then
            kill -9 "${p#/proc/}" 2>/dev/null || true
        fi
    done
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount -l "${mounts[$i]}" 2>/dev/null || true
    done
    mounts=()
    if [ "${LOOPHOLE_FRESH_KEEP:-0}" != 1 ] && ! grep -q " $root[/ ]" /proc/mounts; then
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "fresh-check: a fresh copy of the base system in $root"
rm -rf --one-file-system "$root"
cp -a "$dir/base" "$root"
rm -f "$root/.bootstrapped"

mnt() { # mnt TARGET MOUNT-ARGS...
    local t=$root$1
    shift
    mkdir -p "$t"
    mount "$@" "$t"
    mounts+=("$t")
}
# The chroot's / must be a mount point: `ip netns add` (the live-capture
# tests) runs `mount --make-rslave /`, which a plain directory refuses.
mount --bind "$root" "$root"
mounts+=("$root")
mnt /proc -t proc proc
mnt /sys -t sysfs sysfs
mnt /dev --bind /dev
mnt /dev/pts --bind /dev/pts
mnt /dev/shm -t tmpfs shm
mnt /run -t tmpfs run
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# No init runs in a chroot: package scripts must not start redis-server
# and the like on the host's ports (what every Debian chroot tool does).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

echo "fresh-check: cloning $(git -C "$src" rev-parse --short HEAD) into /root/loophole"
chmod 700 "$root/root"
git clone -q --no-local "$src" "$root/root/loophole"
git -C "$root/root/loophole" checkout -q --detach "$(git -C "$src" rev-parse HEAD)"
cp -a "$shared/." "$root/root/shared/"
if [ -n "${LOOPHOLE_FRESH_CA:-}" ]; then
    echo "fresh-check: trusting the proxy CA $LOOPHOLE_FRESH_CA in the chroot"
    cp "$LOOPHOLE_FRESH_CA" "$root/usr/local/share/ca-certificates/fresh-check-proxy.crt"
    chroot "$root" update-ca-certificates >/dev/null
    echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$root/root/.npmrc"
fi
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
    echo "fresh-check: note: uncommitted changes in $src are not part of the check"
fi

status=0
for cmd in sample test; do
    echo "fresh-check: ./scripts/$cmd.sh (log: $dir/$cmd.log)"
    start=$(date +%s)
    if chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /root/loophole && ./scripts/$cmd.sh" >"$dir/$cmd.log" 2>&1; then
        echo "fresh-check: ./scripts/$cmd.sh passed in $(($(date +%s) - start)) s"
    else
        echo "fresh-check: ./scripts/$cmd.sh FAILED after $(($(date +%s) - start)) s; the end of $dir/$cmd.log:"
        tail -n 40 "$dir/$cmd.log"
        status=1
    fi
done
exit "$status"
