#!/usr/bin/env bash
# The set-up step installs everything the tests and scripts call. Every
# tool below (and every `command -v TOOL` and absolute /usr/bin, /usr/sbin
# path in tests/system, scripts and packaging, except scripts/fresh-check.sh,
# which runs on the host that makes the fresh machine) must be installed,
# and the Debian package that ships it must be in scripts/setup.sh's list,
# be a dependency of a listed package, or be part of every Debian system
# (Priority: required, what debootstrap installs). A tool that is here
# only because the build machine happens to have it fails this test on
# that machine too, before it fails on a fresh one.
set -euo pipefail

: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v dpkg-query >/dev/null || fail "not a Debian system: no dpkg-query"

# Called by the tests and scripts (the build's own compilers come with
# build-essential, listed).
tools="file /usr/bin/time tshark editcap mergecap tcpreplay ip python3
redis-server redis-cli dot man cmake cpack dpkg-deb dpkg-shlibdeps pgrep
timeout su adduser mmdblookup perl clang clang-format pkg-config
systemctl apt-get openssl"
found=$(cd "$LOOPHOLE_SRC" &&
    grep -rhoE --exclude=fresh-check.sh 'command -v "?[A-Za-z0-9_.-]+|/usr/s?bin/[A-Za-z0-9_.-]+' \
        tests/system scripts packaging 2>/dev/null |
    sed -E 's/^command -v "?//' | grep -v '^\$\|^[A-Z]\|/loophole$' | sort -u)
# npm may be Debian's or NodeSource's (setup.sh accepts either)
tools=$(printf '%s\n' $tools $found | grep -vx 'npm\|node\|sudo' | sort -u)

listed=$("$LOOPHOLE_SRC/scripts/setup.sh" --list)
[ -n "$listed" ] || fail "scripts/setup.sh --list printed no packages"
# what apt installs for the list: the packages and their dependencies
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances $listed 2>/dev/null | grep -v '^ ' | sort -u)

# owner PATH: the package that ships PATH (usr-merged or not, or the file
# a symlink names)
owner() {
    local p=$1 alt
    for alt in "$p" "${p#/usr}" "$(readlink -f "$p")" "/usr$(readlink -f "$p")"; do
        dpkg-query -S "$alt" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
    done
    return 1
}

bad=""
for t in $tools; do
    # the system's own directories: a tool elsewhere (pyenv, /usr/local)
    # is not what a fresh machine has
    path=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t" || true)
    if [ -z "$path" ]; then
        bad="$bad\n  $t: not installed (add its package to scripts/setup.sh)"
        continue
    fi
    pkg=$(owner "$path") || { bad="$bad\n  $t ($path): no Debian package ships it"; continue; }
    pkg=${pkg%%,*}
    if printf '%s\n' $listed | grep -qx "$pkg" || printf '%s\n' "$closure" | grep -qx "$pkg"; then
        continue
    fi
    prio=$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null || true)
    [ "$prio" = required ] && continue
    bad="$bad\n  $t ($path) is in package $pkg (priority $prio), which scripts/setup.sh does not install"
done
[ -z "$bad" ] || fail "tools the tests and scripts call that the set-up step does not provide:$(printf "$bad")"
echo "setup_packages: $(printf '%s\n' $tools | wc -l) tools, each from a listed package or the base system"
