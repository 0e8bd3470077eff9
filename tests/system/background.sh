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
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: background: $*" >&2; exit 1; }

run() { # run SCENARIO: capture, records, alerts
    "$LHGEN" "$1" "$tmp/$1.pcap" --manifest "$tmp/$1.tsv" >/dev/null
    "$LOOPHOLE" -r "$tmp/$1.pcap" --threads 2 --flows "$tmp/$1.flows" --alerts "$tmp/$1.alerts" \
        2>"$tmp/$1.err" || fail "$1: loophole failed: $(cat "$tmp/$1.err")"
    python3 "$here/lib/manifest.py" "$tmp/$1.tsv" "$tmp/$1.flows" >/dev/null ||
        fail "$1: records differ from the manifest"
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
cn, _ = established(sys.argv[2])
assert cn == want | {("175.16.199.23", "104.171.200.17", 22, "ssh")}, sorted(cn)
print(f"background: {levels}; established control sessions: the ordinary work's only")
PY

# 3. the real session, whatever came first
python3 "$here/lib/rules_check.py" "$tmp/background-cn.alerts" count=1 \
    "+cn_direct_control|gpu_host|104.171.200.17|peer=175.16.199.23|src=175.16.199.23|severity=high" ||
    fail "background-cn: $(cut -c1-400 "$tmp/background-cn.alerts")"
echo "background: silent; with the session from China: exactly its alert"
