# Sourced by system tests that wait on what a sensor does. The caller
# defines fail MESSAGE (report and exit) and sets $here (tests/system).
#   wait_for WHAT SECONDS CONDITION  evaluates the shell text CONDITION
#                                    until it succeeds, or fails
#   stat_of NAME FILE                a counter of the last stats line in
#                                    FILE (a sensor's stderr), 0 if none
wait_for() {
    local what=$1 deadline=$((SECONDS + $2))
    until eval "$3"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
        sleep 0.05
    done
}
stat_of() { python3 "$here/lib/laststat.py" "$1" "$2"; }
