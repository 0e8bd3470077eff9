#!/bin/bash
# The folders of the sensor depend downward only (docs/architecture.md):
#   base < capture < analyze < rules < redis < app, and geo beside:
# geo may include base only; analyze, rules, redis and app may include geo.
# A file may include its own folder and any folder below it; this fails on
# every #include "folder/..." that reaches up or sideways, naming the line.
set -euo pipefail
src=${LOOPHOLE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
declare -A rank=([base]=0 [geo]=1 [capture]=1 [analyze]=2 [rules]=3 [redis]=4 [app]=5)
# allowed FROM TO: 0 when FROM may include TO.
allowed() {
    local from=$1 to=$2
    [ "$from" = "$to" ] && return 0
    [ "$to" = base ] && return 0
    [ "$from" = geo ] && return 1 # geo sits on base alone
    if [ "$to" = geo ]; then
        [ "$from" != capture ] # capture knows nothing of geo
        return
    fi
    [ "$from" != geo ] && [ "${rank[$to]}" -lt "${rank[$from]}" ]
}
fail=0 n=0
cd "$src"
while IFS=: read -r file line inc; do
    dir=${file%%/*} to=${inc%%/*}
    [ -n "${rank[$to]:-}" ] || continue
    n=$((n + 1))
    if ! allowed "$dir" "$to"; then
        echo "folder_order: $file:$line includes $inc: $dir may not depend on $to" >&2
        fail=1
    fi
done < <(grep -Hn '^#include "[a-z_]*/' base/*.[ch] capture/*.[ch] analyze/*.[ch] rules/*.[ch] \
    redis/*.[ch] geo/*.[ch] app/*.[ch] | sed -E 's/^([^:]+):([0-9]+):#include "([^"]+)".*/\1:\2:\3/')
[ $n -gt 0 ] || { echo "folder_order: no folder includes found under $src" >&2; exit 1; }
exit $fail
