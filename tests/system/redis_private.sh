#!/usr/bin/env bash
# The private redis-server: started without --redis, gone after a normal
# exit, after SIGTERM and SIGINT, after a failure; kept on request with its
# data set; a clear error and exit status 1 when redis-server is missing.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"

tmp=$(mktemp -d)
# Run as root, the sensor switches to an unprivileged user (docs/security.md),
# which must still reach what it reloads or hands to its private server.
chmod 755 "$tmp"
pids=()
# redis-server processes working in our TMPDIR (redis-server rewrites its
# command line, so they are found by their working directory, --dir).
our_servers() {
    local p
    for p in $(pgrep -x redis-server || true); do
        case "$(readlink "/proc/$p/cwd" 2>/dev/null)" in
        "$tmp"/*) echo "$p" ;;
        esac
    done
}
cleanup() {
    for p in "${pids[@]}" $(our_servers); do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$LHGEN" sample "$tmp/sample.pcap" >/dev/null
mkdir -m 1777 "$tmp/t" # like /tmp: the server's user makes and removes its directory
export TMPDIR=$tmp/t

# Nothing of a private server may remain: no directory, no process.
assert_gone() { # assert_gone WHAT
    local left
    left=$(ls -A "$tmp/t")
    [ -z "$left" ] || fail "$1: left behind in TMPDIR: $left"
    [ -z "$(our_servers)" ] || fail "$1: a redis-server is still running"
}

# 1. normal exit; the run really used a private server (its stats hash
# is written, so the server must have been there).
"$LOOPHOLE" -r "$tmp/sample.pcap" --sensor sys >"$tmp/alerts" 2>"$tmp/err" ||
    fail "normal run exited $?: $(cat "$tmp/err")"
assert_gone "normal exit"

# 2./3. SIGTERM and SIGINT while the capture waits on a pipe: the signal
# must not kill loophole (which would leave the directory) but stop it
# through the clean-up path.
for sig in TERM INT; do
    mkfifo "$tmp/fifo"
    "$LOOPHOLE" -r - --sensor sys <"$tmp/fifo" >"$tmp/alerts" 2>"$tmp/err" &
    pid=$!
    pids+=("$pid")
    exec 3>"$tmp/fifo"
    cat "$tmp/sample.pcap" >&3
    # wait until the private server runs
    for _ in $(seq 100); do
        [ -n "$(our_servers)" ] && break
        sleep 0.1
    done
    [ -n "$(our_servers)" ] || fail "SIG$sig: no private server started"
    kill -s "$sig" "$pid"
    sleep 0.2
    # a capture blocked in read() on the pipe sees the stop at its next
    # record boundary: end the input so it gets there
    exec 3>&-
    rc=0
    wait "$pid" || rc=$?
    rm -f "$tmp/fifo"
    [ "$rc" -lt 128 ] || fail "SIG$sig: loophole died of the signal (status $rc)"
    assert_gone "SIG$sig"
done

# 4. a failure after the server started: a capture file that is not one
echo "not a capture" >"$tmp/bad.pcap"
rc=0
"$LOOPHOLE" -r "$tmp/bad.pcap" >"$tmp/alerts" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "bad capture: status $rc, expected 1"
assert_gone "failure"

# 5. redis-server missing from PATH: exit 1, an error that names it
mkdir "$tmp/bin"
rc=0
PATH=$tmp/bin "$LOOPHOLE" -r "$tmp/sample.pcap" >"$tmp/alerts" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "missing redis-server: status $rc, expected 1"
grep -q "redis-server not found in PATH" "$tmp/err" ||
    fail "missing redis-server: unclear error: $(cat "$tmp/err")"
assert_gone "missing redis-server"

# 6. --keep-redis keeps the data set, and says how to read it
"$LOOPHOLE" -r "$tmp/sample.pcap" --sensor kept --keep-redis --redis-flows \
    >"$tmp/alerts" 2>"$tmp/err" || fail "keep: status $?"
dir=$(sed -n 's/.*data set kept in \(.*\)\/dump\.rdb.*/\1/p' "$tmp/err")
[ -n "$dir" ] && [ -s "$dir/dump.rdb" ] || fail "keep: no dump: $(cat "$tmp/err")"
[ ! -e "$dir/redis.sock" ] || fail "keep: stale socket left"
[ -z "$(our_servers)" ] || fail "keep: server still running"
# the kept data set holds the run's stats and flows
redis-server --port 0 --unixsocket "$dir/redis.sock" --dir "$dir" --save '' \
    --daemonize no >/dev/null &
pids+=("$!")
for _ in $(seq 100); do
    redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && break
    sleep 0.05
done
n=$(redis-cli -s "$dir/redis.sock" XLEN lh:flows)
[ "$n" -gt 0 ] || fail "keep: no flows in the kept data set"
[ "$(redis-cli -s "$dir/redis.sock" HEXISTS lh:stats:kept packets)" = 1 ] ||
    fail "keep: no stats in the kept data set"
redis-cli -s "$dir/redis.sock" shutdown nosave >/dev/null 2>&1 || true
echo "ok"
