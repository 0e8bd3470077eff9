#!/bin/bash
# Legitimate look-alikes of the rules (docs/rules.md, "Look-alikes"): each
# generated scenario is the ordinary use a rule must tell from the attack,
# drawn with three seeds (counts, round trips and times vary), and must
# raise nothing of severity medium or above, nor the rule it resembles
# (where the rule has a low grade for it, only that). Every alert line is
# also checked against interface.md section 2 (lib/rules_check.py). The
# attacks they resemble stay covered by rules_scenarios.sh and
# rules_corr_*.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
: "${LOOPHOLE_SRC:?LOOPHOLE_SRC must name the source tree}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
gen=()     # extra lhgen arguments
conf=()    # loophole options: -c FILE, --inventory FILE
threads=2  # workers of the replay
# check SCENARIO EXPECT...: for seeds 1-3, generate, replay with $threads
# workers, check.
check() {
    local s=$1
    shift
    for seed in 1 2 3; do
        local out="$tmp/$s.$seed"
        "$LHGEN" "$s" "$out.pcap" --seed "$seed" "${gen[@]}" >/dev/null
        "$LOOPHOLE" "${conf[@]}" -r "$out.pcap" --threads "$threads" --alerts "$out.alerts" 2>"$out.err" || {
            echo "rules_lookalike: $s seed $seed: loophole failed: $(cat "$out.err")" >&2
            fail=1
            continue
        }
        python3 "$here/lib/rules_check.py" "$out.alerts" quiet "$@" || {
            echo "rules_lookalike: $s seed $seed: failed" >&2
            fail=1
        }
    done
}

# A CI runner on AWS in the US driving 5-12 hosts of its company: the
# fan-out is seen, low (an ordinary network outside China and the relay
# countries; a hyperscaler is not an anonymiser).
check la-ci-fanout "+reseller_fanout|controller|3.14.20.10|severity=low" -relay_control
# A Japanese team's bastion on AWS Tokyo: not a relay country's hosting,
# VPN or proxy space; its users a few ms away.
check la-tokyo-bastion -relay_control -proxy_latency count=0
# One team from eight lines in six ordinary countries: no controller in
# China or a relay country among them.
check la-six-countries -shared_access_fanin count=0
# Employees through the company's jump host: keys relayed (no user in
# China or a relay country's hosting space: no stepping stone) and ssh -J
# sessions 10-60 ms beyond it (proxy_latency at most low).
check la-jump-host -stepping_stone
# A home PC in China resolving mirror names: no footprint (it is neither a
# GPU host nor abroad), so nothing about it reaches lh:host:.
check la-home-cn count=0
# An idle ngrok agent on a GPU host for 40-70 minutes, heartbeats every
# 10 s: the tunnel is reported, low (nobody drives it).
check la-tunnel-idle "+reverse_tunnel|gpu_host|104.171.200.17|severity=low"
# A batch job calling the OpenAI API about once a second (a new
# connection each time) while the host's web site gets 25-40 visitors from
# China: an outbound call comes within 2 s after every request, but the
# host was never quiet toward the API before one.
# One worker: the quiet lag before a request is still judged when the
# records reach Redis, so with several workers a late record can undo it
# (README, "The same answer every time").
threads=1
check la-api-job -ai_api_relay count=0
threads=2
# A job calling the OpenAI API on a timer (every 3-30 s) over one
# kept-alive connection while the site gets 30-45 visitors from China: its
# requests come at a regular interval, so none is matched
# (rules_ai_pooled.sh replays it with 1, 2 and 4 workers).
check la-api-periodic -ai_api_relay count=0
# A Japanese company's fleet of one tenant driven by 2-4 engineers from
# its office /24: hosts are counted, the fan-out is seen, low only
# (rules_fanout_spread.sh replays it with 1, 2 and 4 workers).
conf=(--inventory "$LOOPHOLE_SRC/tests/data/rules/fanout-fleet.csv")
check la-fleet-own "+reseller_fanout|controller|153.156.48.0/24|severity=low" -relay_control
conf=()
# A researcher in the US copying results home to the network of the SSH
# session (egress_bytes 16 MiB here, ~29 MB copied): the controller is
# neither in China or a relay country's hosting space nor a proven relay.
gen=(--packets 20000)
conf=(-c "$LOOPHOLE_SRC/tests/data/rules/corr.conf")
check la-egress-home -weights_egress count=0
# A tenant's multipart backup to its own S3 bucket in us-west-2 or
# eu-west-1, 8-16 connections to 6-10 /24s: a hyperscaler outside China
# and the relay countries is summed per /24 only, and controls nothing.
check la-egress-backup -weights_egress count=0
exit $fail
