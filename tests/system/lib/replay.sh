# Sourced by system tests. replay_one PCAP OUTDIR: replays one capture with
# one worker into OUTDIR/<name>.jsonl (stderr in <name>.err); returns 1 and
# prints the sensor's errors when it exits non-zero.
replay_one() {
    local pcap=$1 out=$2 name rc=0
    name=$(basename "$pcap")
    "$LOOPHOLE" -r "$pcap" --threads 1 --flows "$out/$name.jsonl" 2>"$out/$name.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: $name: loophole exited with status $rc:" >&2
        cat "$out/$name.err" >&2
        return 1
    fi
}
