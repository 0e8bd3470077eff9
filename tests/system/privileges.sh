#!/bin/bash
# Privileges, started as root (exit 77 otherwise):
#  1. a live capture on a veth in a namespace and a replay (from a FIFO, so
#     it is still running when looked at) both run as the default user
#     (loophole if it exists, else nobody) with no capability:
#     /proc/PID/status shows its Uid, CapPrm, CapEff and
#     CapBnd zero, NoNewPrivs 1; the private redis-server runs as that user;
#     with --wait-interface only CAP_NET_RAW is kept;
#  2. nothing the sensor creates is writable by others (flows, journal,
#     the private server's directory);
#  3. the Redis password given in the URL or in LOOPHOLE_REDIS_PASSWORD is
#     in neither /proc/PID/cmdline, /proc/PID/environ nor any line the
#     sensor prints, also when it is refused (a password-protected
#     redis-server started by the test).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "privileges: needs root" >&2
    exit 77
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"
ns=lhpriv$$
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: privileges: $*" >&2; cat "$tmp"/*.err >&2 2>/dev/null || true; exit 1; }
# The default user: loophole when it exists, else nobody (app/privs.h).
user=loophole
id -u loophole >/dev/null 2>&1 || user=nobody
want_uid=$(id -u "$user")
field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$2/status"; }
wait_for() { # wait_for PATTERN FILE
    for _ in $(seq 100); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
    fail "no '$1' in $2"
}
check_unprivileged() { # check_unprivileged PID WHAT [CAPEFF]
    local want=${3:-0000000000000000}
    [ "$(field Uid "$1")" = "$want_uid" ] || fail "$2: Uid $(field Uid "$1"), expected $user"
    [ "$(field Gid "$1")" = "$(id -g "$user")" ] || fail "$2: Gid $(field Gid "$1")"
    [ "$(field Groups "$1")" = "" ] || [ "$(field Groups "$1")" = "$(id -g "$user")" ] ||
        fail "$2: supplementary groups $(field Groups "$1")"
    [ "$(field CapEff "$1")" = "$want" ] || fail "$2: CapEff $(field CapEff "$1"), expected $want"
    [ "$(field CapPrm "$1")" = "$want" ] || fail "$2: CapPrm $(field CapPrm "$1")"
    [ "$(field CapBnd "$1")" = 0000000000000000 ] || fail "$2: CapBnd $(field CapBnd "$1")"
    [ "$(field NoNewPrivs "$1")" = 1 ] || fail "$2: NoNewPrivs not set"
    echo "privileges: $2: uid $user, CapEff $(field CapEff "$1"), no new privileges"
}
"$LHGEN" ssh "$tmp/ssh.pcap" >/dev/null

# 1a. live capture
ip netns add "$ns"
ip netns exec "$ns" ip link add veth-a type veth peer name veth-b
ip netns exec "$ns" ip link set veth-a up
ip netns exec "$ns" ip link set veth-b up
for mode in plain wait; do
    extra=()
    [ "$mode" = wait ] && extra=(--wait-interface)
    ip netns exec "$ns" "$LOOPHOLE" -i veth-b "${extra[@]}" --threads 1 --flows "$tmp/live-$mode.json" \
        2>"$tmp/live-$mode.err" &
    pid=$!
    pids+=("$pid")
    wait_for "capturing on veth-b" "$tmp/live-$mode.err"
    if [ "$mode" = wait ]; then
        check_unprivileged "$pid" "live capture, --wait-interface" 0000000000002000
    else
        check_unprivileged "$pid" "live capture"
        redis=$(pgrep -P "$pid" redis-server) || fail "no private redis-server child"
        [ "$(field Uid "$redis")" = "$want_uid" ] || fail "the private redis-server runs as uid $(field Uid "$redis")"
        [ "$(field CapEff "$redis")" = 0000000000000000 ] || fail "the private redis-server has capabilities"
        echo "privileges: the private redis-server runs as $user"
    fi
    ip netns exec "$ns" tcpreplay -q -i veth-a --topspeed "$tmp/ssh.pcap" >/dev/null 2>&1
    sleep 0.5
    kill -TERM "$pid"
    wait "$pid" || fail "live capture ($mode) exited non-zero"
    [ -s "$tmp/live-$mode.json" ] || fail "live capture ($mode) wrote no record as $user"
done

# 1b. replay, from a FIFO so it is still running; 2. file modes
mkfifo "$tmp/fifo"
python3 "$here/lib/feed.py" "$tmp/ssh.pcap" 50 "$tmp/fifo" &
pids+=("$!")
"$LOOPHOLE" -r - --threads 1 --flows "$tmp/replay.json" <"$tmp/fifo" 2>"$tmp/replay.err" &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do [ "$(field Uid "$pid")" = "$want_uid" ] && break; sleep 0.1; done
check_unprivileged "$pid" "replay"
rdir=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'loophole-redis.*' -user "$user" -newer "$tmp/fifo" | head -1)
[ -n "$rdir" ] || fail "no private server directory owned by $user"
kill -TERM "$pid"
wait "$pid" || fail "replay exited non-zero"
ww=$(find "$tmp" "$rdir" -newer "$tmp/ssh.pcap" -perm -o+w ! -type p ! -type l 2>/dev/null || true)
[ -z "$ww" ] || fail "world-writable files: $ww"
[ "$(stat -c %a "$tmp/replay.json")" = 640 ] || fail "flow records mode $(stat -c %a "$tmp/replay.json"), expected 640"
echo "privileges: nothing world-writable (records 640, private server directory 700)"

# 3. the Redis password
pw="Secr3t-$$-pw"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --requirepass "$pw" --save '' --appendonly no \
    --dir "$tmp" --daemonize no >"$tmp/redis.log" &
pids+=("$!")
for _ in $(seq 100); do redis-cli -p "$port" -a "$pw" --no-auth-warning ping >/dev/null 2>&1 && break; sleep 0.05; done
check_hidden() { # check_hidden PID WHAT
    if tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$pw"; then fail "$2: the password is in /proc/PID/cmdline"; fi
    if tr '\0' '\n' <"/proc/$1/environ" | grep -q -- "$pw"; then fail "$2: the password is in /proc/PID/environ"; fi
}
for how in url env wrong; do
    rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
    python3 "$here/lib/feed.py" "$tmp/ssh.pcap" 50 "$tmp/fifo" &
    pids+=("$!")
    case $how in
    url) env=() url="redis://default:$pw@127.0.0.1:$port" ;;
    env) env=(LOOPHOLE_REDIS_PASSWORD="$pw") url="redis://127.0.0.1:$port" ;;
    wrong) env=() url="redis://default:$pw-no@127.0.0.1:$port" ;;
    esac
    env "${env[@]}" "$LOOPHOLE" -r - --redis "$url" --sensor "privs$$" --stats 1 --threads 1 --flows /dev/null \
        <"$tmp/fifo" >"$tmp/pw-$how.out" 2>"$tmp/pw-$how.err" &
    pid=$!
    pids+=("$pid")
    if [ "$how" = wrong ]; then
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" -ne 0 ] || fail "a wrong password was accepted"
    else
        wait_for '"event_type":"stats"' "$tmp/pw-$how.err"
        check_hidden "$pid" "password in the $how"
        kill -TERM "$pid"
        wait "$pid" || fail "password in the $how: exit non-zero"
        [ "$(redis-cli -p "$port" -a "$pw" --no-auth-warning HGET lh:stats:"privs$$" packets)" -ge 50 ] ||
            fail "password in the $how: nothing reached Redis"
    fi
    if grep -q -- "$pw" "$tmp/pw-$how.err" "$tmp/pw-$how.out"; then fail "password in the $how: printed"; fi
done
echo "privileges: the Redis password is in no process listing and no output line (URL, environment, refused)"
