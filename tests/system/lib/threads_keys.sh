# shellcheck shell=bash
# threads_keys.sh -- sourced by system tests: generates a scenario with a
# seed and replays it with several worker counts, comparing which alerts
# are raised.
#
#   threads_keys DIR SCENARIO SEED [LOOPHOLE ARGS...]
#
# lhgen writes DIR/SCENARIO.SEED.pcap; it is replayed with --threads 1, 2
# and 4 into DIR/SCENARIO.SEED.N.alerts, and every run must raise the same
# (rule, entity, severity) alerts as one worker. Which record of a window
# reaches the library first (a windowed alert's time, peer and first
# evidence) follows arrival order with several workers (README, "The same
# answer every time"), so the lines themselves are not compared. Returns 1
# with a message on stderr otherwise. Needs LOOPHOLE and LHGEN.
threads_keys_of() {
    python3 -c '
import json, sys
for k in sorted({(a["rule"], a["entity"]["role"], a["entity"]["ip"], a["severity"])
                 for a in map(json.loads, open(sys.argv[1]))}):
    print(*k)' "$1"
}

threads_keys() {
    local dir=$1 s=$2 seed=$3 t
    shift 3
    "$LHGEN" "$s" "$dir/$s.$seed.pcap" --seed "$seed" >/dev/null || return 1
    for t in 1 2 4; do
        "$LOOPHOLE" -r "$dir/$s.$seed.pcap" "$@" --threads "$t" \
            --alerts "$dir/$s.$seed.$t.alerts" 2>"$dir/$s.err" || {
            echo "$s seed $seed: $(cat "$dir/$s.err")" >&2
            return 1
        }
        [ "$(threads_keys_of "$dir/$s.$seed.1.alerts")" = "$(threads_keys_of "$dir/$s.$seed.$t.alerts")" ] || {
            echo "$s seed $seed: --threads $t raises other alerts than one worker" >&2
            return 1
        }
    done
}
