# shellcheck shell=bash
# threads_replay.sh -- sourced by system tests: generates scenarios and
# replays each with several worker counts.
#
#   threads_replay DIR SCENARIO...
#
# For each SCENARIO: lhgen writes DIR/SCENARIO.pcap and its manifest; the
# capture is replayed with --threads 1, 2 and 4 into DIR/SCENARIO.N.flows
# and DIR/SCENARIO.N.alerts; the alert lines of every run must be
# byte-identical to those of one worker, and the one-worker records must
# match the manifest. Returns 1 with a message on stderr otherwise. Needs
# LOOPHOLE and LHGEN; lib/manifest.py beside this file.
threads_replay() {
    local dir=$1 s t lib
    lib=$(dirname "${BASH_SOURCE[0]}")
    shift
    for s in "$@"; do
        "$LHGEN" "$s" "$dir/$s.pcap" --manifest "$dir/$s.tsv" >/dev/null || return 1
        for t in 1 2 4; do
            "$LOOPHOLE" -r "$dir/$s.pcap" --threads "$t" --flows "$dir/$s.$t.flows" \
                --alerts "$dir/$s.$t.alerts" 2>"$dir/$s.err" || {
                echo "$s: $(cat "$dir/$s.err")" >&2
                return 1
            }
            cmp -s "$dir/$s.1.alerts" "$dir/$s.$t.alerts" || {
                echo "$s: --threads $t raises other alerts than one worker" >&2
                return 1
            }
        done
        python3 "$lib/manifest.py" "$dir/$s.tsv" "$dir/$s.1.flows" >/dev/null || {
            echo "$s: records differ from the manifest" >&2
            return 1
        }
    done
}
