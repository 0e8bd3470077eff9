#!/bin/bash
# ai_api_relay at the level of requests inside kept-alive connections:
#  - rules-ai-relay-pooled: GPU host 104.171.201.9 relays 30-45 clients in
#    China (1-3 requests each over half an hour) onto two HTTP/2
#    connections to api.openai.com and api.anthropic.com held for 32-40
#    minutes (each cut into two records by the active timeout), no
#    upstream connection per request: ai_api_relay about the host, high;
#  - la-api-periodic: a job on the same host calls api.openai.com on a
#    timer (every 3-30 s) over one kept-alive connection while the site
#    gets the same visitors from China: nothing.
# Three seeds each, replayed with --threads 1, 2 and 4: the same (rule,
# entity, severity) alerts (lib/threads_keys.sh). With --threads 1 the
# pooled relay also keeps most of its clients followed in Redis, read
# back from K:fol.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
# shellcheck source=lib/scratch.sh
. "$here/lib/scratch.sh"
fail() {
    echo "FAIL: rules_ai_pooled: $*" >&2
    exit 1
}
scratch_init
# shellcheck source=lib/threads_keys.sh
. "$here/lib/threads_keys.sh"
failed=0
relay=104.171.201.9

for seed in 1 2 3; do
    threads_keys "$tmp" rules-ai-relay-pooled "$seed" || failed=1
    python3 "$here/lib/rules_check.py" "$tmp/rules-ai-relay-pooled.$seed.1.alerts" count=1 \
        "+ai_api_relay|gpu_host|$relay|gpu=$relay|severity=high" || failed=1
    threads_keys "$tmp" la-api-periodic "$seed" || failed=1
    python3 "$here/lib/rules_check.py" "$tmp/la-api-periodic.$seed.1.alerts" count=0 || failed=1
done

# The followed clients themselves: at least 20 (ai_relay_clients) of the
# relay's clients, each a client in China.
redis_start
"$LOOPHOLE" -r "$tmp/rules-ai-relay-pooled.1.pcap" --threads 1 --redis "unix://$tmp/redis.sock" \
    --alerts "$tmp/redis.alerts" 2>"$tmp/err" || {
    echo "FAIL: $(cat "$tmp/err")" >&2
    exit 1
}
key=$(redis_cli --scan --pattern "lh:{e:airelay:$relay}:fol:*" | head -1)
n=$(redis_cli ZCARD "$key")
if [ -z "$key" ] || [ "$n" -lt 20 ]; then
    echo "FAIL: ${n:-no} followed clients of the pooled relay in Redis" >&2
    failed=1
fi
if redis_cli ZRANGE "$key" 0 -1 | grep -qv '^27\.185\.'; then
    echo "FAIL: a followed client is not one of the relay's clients" >&2
    failed=1
fi
[ "$failed" = 0 ] && echo PASS
exit $failed
