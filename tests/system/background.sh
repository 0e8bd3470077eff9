#!/bin/bash
# Internet background radiation (issue 17): an hour of what every public
# GPU fleet sees -- SYN scans and SYN/RST sweeps, banner grabs, SSH brute
# force from China and elsewhere (failed logins, key exchanges, audits),
# RDP logons that fail NLA, VNC logins that fail, notebook probes
# redirected to the login page or refused -- mixed with the fleet's
# ordinary work (lhgen scenario "background").
#
#  1. background: no alert at all. Among it the textbook cases that once
#     raised high alerts: a scanner in China (36.112.10.77) sending SYNs
#     to port 22 of five GPU hosts (cn_direct_control on five hosts,
#     reseller_fanout on it and its /24); six lone SYNs from six Chinese
#     /24s to one host (shared_access_fanin); one SYN to :8888 of an
#     unlisted VPS (a GPU host by behaviour, then cn_direct_control).
#  2. the flow records agree: the only established control sessions are
#     the ordinary work's (a US researcher's SSH, a UK notebook over
#     TLS); every scanner and bot flow is a probe or an attempt.
#  3. background-cn, the same hour with one interactive SSH session from
#     China into 104.171.200.17 half an hour in, after a Chinese scanner
#     and a Chinese brute-force bot hit that host: exactly one alert,
#     cn_direct_control about that host, naming the real source
#     175.16.199.23 and carrying its session as evidence.
#  4. scans and brute force as facts of their own: replayed into Redis,
#     the knocks (lh_knock) name the Chinese scanner with one probe at each
#     of the five hosts, its /24, and the brute-force bots with their
#     failed attempts, in the Redis keys and the --summary; the source of
#     the real session is no knocker.
#  5. both captures replayed with --threads 1, 2, 4 and 8, three times
#     each: the same alert lines, byte for byte (lib/threads_matrix.sh).
#  6. seeds 2 and 3 (other scanners' targets and timing, other bots'
#     logins, other round trips): 1 and 3 again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
# shellcheck source=tests/system/lib/scratch.sh
. "$here/lib/scratch.sh"
fail() { echo "FAIL: background: $*" >&2; exit 1; }
scratch_init
# shellcheck source=tests/system/lib/threads_matrix.sh
. "$here/lib/threads_matrix.sh"

run() { # run SCENARIO: capture, records, alerts
    "$LHGEN" "$1" "$tmp/$1.pcap" --manifest "$tmp/$1.tsv" >/dev/null
    "$LOOPHOLE" -r "$tmp/$1.pcap" --threads 2 --flows "$tmp/$1.flows" --alerts "$tmp/$1.alerts" \
        --stats 3600 2>"$tmp/$1.err" || fail "$1: loophole failed: $(cat "$tmp/$1.err")"
    # every library call (knocks and their next steps included) accepted
    for c in events_rejected events_dropped; do
        [ "$(python3 "$here/lib/laststat.py" "$c" "$tmp/$1.err")" = 0 ] ||
            fail "$1: $c is not 0: $(grep -v '^{' "$tmp/$1.err" | head -5)"
    done
    [ "$(python3 "$here/lib/laststat.py" events_sent "$tmp/$1.err")" -gt 0 ] ||
        fail "$1: no event reached Redis"
    python3 "$here/lib/manifest.py" "$tmp/$1.tsv" "$tmp/$1.flows" >/dev/null ||
        fail "$1: records differ from the manifest"
    # 5. the same lines, byte for byte, in every worker count and run
    threads_matrix "$tmp/$1.alerts" "background: $1" -r "$tmp/$1.pcap" || exit 1
}
run background
run background-cn

# 1. nothing at all
python3 "$here/lib/rules_check.py" "$tmp/background.alerts" count=0 ||
    fail "the background raised: $(cut -c1-400 "$tmp/background.alerts")"

# 2. sessions: the established control sessions are the ordinary work's
python3 - "$tmp/background.flows" "$tmp/background-cn.flows" <<'PY' || fail "session levels"
import json, sys
def established(path):
    out, levels = set(), {}
    for line in open(path):
        r = json.loads(line)
        levels[r["session"]] = levels.get(r["session"], 0) + 1
        if r["control"] and r["session"] == "established":
            out.add((r["src_ip"], r["dst_ip"], r["dst_port"], r["control"]))
    return out, levels
bg, levels = established(sys.argv[1])
want = {("216.160.83.56", "104.171.200.20", 22, "ssh"),
        ("81.2.69.142", "104.171.200.21", 443, "jupyter")}
assert bg == want, f"established control sessions {sorted(bg)}, want {sorted(want)}"
assert levels.get("probe", 0) > 1000 and levels.get("attempt", 0) > 300, levels
# the textbook cases are in the capture, and are probes
recs = [json.loads(l) for l in open(sys.argv[1])]
def probes(pred):
    return [r for r in recs if pred(r) and r["session"] == "probe"]
assert len(probes(lambda r: r["src_ip"] == "36.112.10.77" and r["dst_port"] == 22)) == 5
six = probes(lambda r: r["dst_ip"] == "104.171.201.30" and r["dst_port"] == 22 and
             r["src_ip"].endswith(".9") and r["src_ip"].split(".")[2] in ("40", "41", "42", "43", "44", "45"))
assert len({r["src_ip"].rsplit(".", 1)[0] for r in six}) == 6, six
assert len(probes(lambda r: r["dst_ip"] == "45.76.12.34" and r["dst_port"] == 8888)) == 1
cn, _ = established(sys.argv[2])
assert cn == want | {("175.16.199.23", "104.171.200.17", 22, "ssh")}, sorted(cn)
print(f"background: {levels}; established control sessions: the ordinary work's only")
PY

# 3. the real session, whatever came first
python3 "$here/lib/rules_check.py" "$tmp/background-cn.alerts" count=1 \
    "+cn_direct_control|gpu_host|104.171.200.17|peer=175.16.199.23|src=175.16.199.23|severity=high" ||
    fail "background-cn: $(cut -c1-400 "$tmp/background-cn.alerts")"

# 4. knocks in Redis and in the summary
redis_start
sock=$redis_sock
printf '[redis]\njournal = %s/journal\n' "$tmp" >"$tmp/lh.conf"
"$LOOPHOLE" -c "$tmp/lh.conf" -r "$tmp/background-cn.pcap" --threads 2 --redis "unix://$sock" \
    --sensor bg --summary "$tmp/summary.json" >/dev/null 2>"$tmp/redis-run.err" ||
    fail "replay into Redis: $(cat "$tmp/redis-run.err")"
[ "$(redis-cli -s "$sock" HGET 'lh:{k:36.112.10.0/24}:src:36.112.10.77' probe)" = 5 ] ||
    fail "the scanner's probes: $(redis-cli -s "$sock" HGETALL 'lh:{k:36.112.10.0/24}:src:36.112.10.77')"
[ "$(redis-cli -s "$sock" PFCOUNT 'lh:{k:36.112.10.0/24}:src:36.112.10.77:gpu')" = 5 ] ||
    fail "the scanner's GPU hosts"
[ -z "$(redis-cli -s "$sock" ZSCORE lh:knockers 'lh:{k:175.16.199.0/24}:src:175.16.199.23')" ] ||
    fail "the source of the real session counted as a knocker"
python3 - "$tmp/summary.json" <<'PY' || fail "summary knockers"
import json, sys
s = json.load(open(sys.argv[1]))
k = s["knockers"]
assert s["alerts"] == 1, s["alerts"]
assert len(k) == 20, len(k)
total = [r["probes"] + r["attempts"] for r in k]
assert total == sorted(total, reverse=True), "knockers not ranked by knocks"
assert {r["kind"] for r in k} == {"address", "network"}, k
assert any(r["kind"] == "address" and r["attempts"] >= 20 for r in k), "no brute-force bot"
assert k[0]["gpu_hosts"] == 20, f"the top knocker is a sweep of the fleet: {k[0]}"
print(f"background: top knocker {k[0]}")
PY
# 6. other seeds: silent, and exactly the real session's alert
for seed in 2 3; do
    for s in background background-cn; do
        "$LHGEN" "$s" "$tmp/$s.$seed.pcap" --seed "$seed" >/dev/null
        "$LOOPHOLE" -r "$tmp/$s.$seed.pcap" --threads 2 --alerts "$tmp/$s.$seed.alerts" \
            2>"$tmp/$s.$seed.err" || fail "$s seed $seed: loophole failed: $(cat "$tmp/$s.$seed.err")"
    done
    python3 "$here/lib/rules_check.py" "$tmp/background.$seed.alerts" count=0 ||
        fail "background seed $seed raised: $(cut -c1-400 "$tmp/background.$seed.alerts")"
    python3 "$here/lib/rules_check.py" "$tmp/background-cn.$seed.alerts" count=1 \
        "+cn_direct_control|gpu_host|104.171.200.17|peer=175.16.199.23|src=175.16.199.23|severity=high" ||
        fail "background-cn seed $seed: $(cut -c1-400 "$tmp/background-cn.$seed.alerts")"
done
echo "background: silent; with the session from China: exactly its alert; knockers counted"
