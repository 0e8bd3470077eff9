#!/bin/bash
# Determinism (issue 12): the same capture gives the same alerts, with any
# --threads, on every replay (README, Forensic replay).
#
#  1. Each capture below is replayed with --threads 1, 2, 4 and 8, three
#     times each: the alert lines, sorted, are byte-identical, every field
#     (a near miss that must raise nothing gives nothing every time).
#  2. Each capture is replayed twice into one Redis with one worker, then
#     once more with four: the later replays write no alert line, and
#     after the second every key the functions library wrote (counts,
#     sums, sets, evidence, facts, knocks, candidate records, the alerts
#     stream, the risk and host hashes) is the same after it as before
#     (lib/redis_dump.py, without TTLs); and the first replay into Redis
#     with four workers leaves the same keys as with one (but the follow
#     matcher's marks, which answer each call as it arrives).
#  3. A day later: the Redis of part 2 is aged by a day of wall clock (every
#     TTL shortened by 24 h, keys past theirs deleted: lib/redis_age.py),
#     and the capture replayed a third time raises nothing new: the alerts
#     are remembered for [redis] alert_retention (30 days), longer than
#     the windows' counts, which the replay rebuilds.
#
# The captures are a representative subset of the rule scenarios, chosen
# so the matrix runs in a few minutes on two cores: one per kind of
# correlation (fan-out counts, relay legs, the API relay's approximate
# count, a behaviour-recognised host, the egress sums just under the
# threshold and gated by a controller network), the reverse tunnel's near
# miss (a tunnel whose host also has an inbound control session), and the
# background-radiation hour with its one session from China (scans and
# brute force, counted as knocks). The egress threshold is
# tests/data/rules/corr.conf's 16 MiB.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
# shellcheck source=lib/scratch.sh
. "$here/lib/scratch.sh"
fail() {
    echo "FAIL: replay_identical: $*" >&2
    exit 1
}
scratch_init
failed=0
conf="$LOOPHOLE_SRC/tests/data/rules/corr.conf"

declare -A extra=([egress-under]="--packets 16600")
declare -A gen=([egress-under]=bulk)
captures=(rules-fanout rules-relay rules-ai-relay rules-behavior rules-tunnel-controlled
    egress-ctl egress-under background-cn)
for c in "${captures[@]}"; do
    # shellcheck disable=SC2086 # extra holds separate words
    "$LHGEN" "${gen[$c]:-$c}" "$tmp/$c.pcap" ${extra[$c]:-} >/dev/null
done

replay() { # replay CAPTURE OUT ARGS...
    local c=$1 out=$2
    shift 2
    "$LOOPHOLE" -r "$tmp/$c.pcap" -c "$conf" --sensor replay --alerts "$out" "$@" 2>"$out.err" || {
        echo "FAIL: replay_identical: $c: loophole failed: $(cat "$out.err")" >&2
        return 1
    }
}

# 1. any --threads, any run: the same lines
for c in "${captures[@]}"; do
    first=
    for t in 1 2 4 8; do
        for run in 1 2 3; do
            out="$tmp/$c.t$t.$run"
            replay "$c" "$out" --threads "$t" || { failed=1; continue; }
            sort "$out" >"$out.sorted"
            if [ -z "$first" ]; then
                first=$out.sorted
            elif ! cmp -s "$first" "$out.sorted"; then
                echo "FAIL: replay_identical: $c: --threads $t run $run differs from" \
                    "--threads 1 run 1:" >&2
                diff "$first" "$out.sorted" | cut -c1-2000 >&2 || true
                failed=1
            fi
        done
    done
    [ -z "$first" ] || echo "$c: $(wc -l <"$first") alert lines, compared in 12 runs"
done

# 2. a second replay into the same Redis: nothing new, nothing changed
# With --redis the default journal is /var/tmp/loophole-<uid>-<sensor>.journal,
# which two copies of this test running on one machine would share: these
# replays use corr.conf plus a journal of their own, in a directory the
# unprivileged user can remove the emptied journal from (as /var/tmp).
mkdir -m 1777 "$tmp/journal"
cp "$conf" "$tmp/corr.conf"
printf '\n[redis]\njournal = %s\n' "$tmp/journal/replay.journal" >>"$tmp/corr.conf"
conf="$tmp/corr.conf"
redis_start
sock=$redis_sock
for c in "${captures[@]}"; do
    redis-cli -s "$sock" FLUSHALL >/dev/null
    replay "$c" "$tmp/$c.r0" --threads 4 --redis "unix://$sock" || { failed=1; continue; }
    python3 "$here/lib/redis_dump.py" "$sock" >"$tmp/$c.dump0"
    redis-cli -s "$sock" FLUSHALL >/dev/null
    replay "$c" "$tmp/$c.r1" --threads 1 --redis "unix://$sock" || { failed=1; continue; }
    python3 "$here/lib/redis_dump.py" "$sock" >"$tmp/$c.dump1"
    replay "$c" "$tmp/$c.r2" --threads 1 --redis "unix://$sock" || { failed=1; continue; }
    python3 "$here/lib/redis_dump.py" "$sock" >"$tmp/$c.dump2"
    replay "$c" "$tmp/$c.r2b" --threads 4 --redis "unix://$sock" || { failed=1; continue; }
    # K:fol, the follow matcher's marks, answer each call as it arrives
    # (the alert is decided from the start sets, rules/lua/70_follow.lua)
    if ! cmp -s <(grep -v ':fol:' "$tmp/$c.dump0") <(grep -v ':fol:' "$tmp/$c.dump1"); then
        echo "FAIL: replay_identical: $c: four workers leave other keys than one:" >&2
        diff "$tmp/$c.dump0" "$tmp/$c.dump1" | cut -c1-300 | head -20 >&2 || true
        failed=1
    fi
    for r in r2 r2b; do
        if [ -s "$tmp/$c.$r" ]; then
            echo "FAIL: replay_identical: $c: a second replay ($r) raised $(wc -l <"$tmp/$c.$r") alerts" >&2
            cut -c1-300 "$tmp/$c.$r" >&2
            failed=1
        fi
    done
    if ! cmp -s "$tmp/$c.dump1" "$tmp/$c.dump2"; then
        echo "FAIL: replay_identical: $c: the second replay changed Redis:" >&2
        diff "$tmp/$c.dump1" "$tmp/$c.dump2" | cut -c1-300 | head -20 >&2 || true
        failed=1
    fi
    if ! sort "$tmp/$c.r1" | cmp -s - "$tmp/$c.t1.1.sorted"; then
        echo "FAIL: replay_identical: $c: the replay into Redis raised other alerts" >&2
        failed=1
    fi
    echo "$c: $(wc -l <"$tmp/$c.dump1") keys, unchanged by a second replay"
    # 3. a day later
    python3 "$here/lib/redis_age.py" "$sock" 86400 >/dev/null
    replay "$c" "$tmp/$c.r3" --threads 2 --redis "unix://$sock" || { failed=1; continue; }
    if [ -s "$tmp/$c.r3" ]; then
        echo "FAIL: replay_identical: $c: a replay a day later raised $(wc -l <"$tmp/$c.r3") alerts" >&2
        cut -c1-300 "$tmp/$c.r3" >&2
        failed=1
    fi
done
exit $failed
