# shellcheck shell=bash
# The rule scenarios the EVE tests replay, one per rule of docs/siem.md's
# table (eve_alerts.sh, alerts_follow_eve.sh), as
# "scenario|generator arguments|replay arguments"; needs LOOPHOLE_SRC.
corr=$LOOPHOLE_SRC/tests/data/rules/corr.conf
eve_scenarios=(
    "ssh||"
    "rules-relay||"
    "relay-ssh||"
    "rules-fanout||"
    "rules-fanin||"
    "dns||"
    "rules-tunnel||"
    "rules-ai-relay||"
    "relay-hop||-c $corr"
    "tz-cst||-c $corr"
    "bulk|--packets 18000|-c $corr"
)
