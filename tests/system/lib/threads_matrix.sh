# shellcheck shell=bash
# threads_matrix.sh -- sourced by system tests: the same capture must give
# byte-identical alert lines with any number of workers, on every run
# (issue 12; README, "The same answer every time").
#
#   threads_matrix REF NAME LOOPHOLE-ARGS...
#
# Replays LOOPHOLE-ARGS (a capture and options, without --threads and
# --alerts) with --threads 1, 2, 4 and 8, three times each, and compares
# every run's alert lines, sorted, with those of REF (an alerts file of
# the same capture and options, from the test's own replay): every field
# of every line, and no line where REF has none (a near miss stays
# silent every time). The runs' files are REF.t<N>.<run>. Returns 1 with
# the difference on stderr otherwise. Needs LOOPHOLE.
threads_matrix() {
    local ref=$1 name=$2 t run out
    shift 2
    sort "$ref" >"$ref.sorted"
    for t in 1 2 4 8; do
        for run in 1 2 3; do
            out="$ref.t$t.$run"
            "$LOOPHOLE" "$@" --threads "$t" --alerts "$out" 2>"$out.err" || {
                echo "$name: loophole failed with --threads $t: $(cat "$out.err")" >&2
                return 1
            }
            sort "$out" >"$out.sorted"
            cmp -s "$ref.sorted" "$out.sorted" || {
                echo "$name: --threads $t run $run raised other alert lines:" >&2
                diff "$ref.sorted" "$out.sorted" | cut -c1-1500 | head -8 >&2
                return 1
            }
        done
    done
}
