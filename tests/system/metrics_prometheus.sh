#!/usr/bin/env bash
# --metrics against Debian's prometheus-node-exporter.
#
# node_exporter runs with only its textfile collector, on a free local
# port, reading the directory the sensor writes its .prom file to. A
# generated fleet capture is replayed with --stats 1 while /metrics is
# scraped every 0.2 s (the capture arrives through a pipe, its second half
# only after a scrape has served the counters); after the replay a last scrape must give the packet,
# drop, flow and alert counts (by rule too) that the sensor's final --stats
# line printed (lib/prom_check.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"
exporter=$(command -v prometheus-node-exporter || true)
[ -n "$exporter" ] || { echo "FAIL: prometheus-node-exporter is not installed" >&2; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
exporter_pid=
sensor_pid=
cleanup() {
    local pid
    for pid in $sensor_pid $exporter_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
# The sensor drops root privileges to a user of its own (README,
# "Privileges"): that user must reach and write the textfile directory.
chmod 755 "$tmp"
mkdir -m 1777 "$tmp/textfile" "$tmp/scrapes"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$exporter" --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
    --collector.textfile --collector.textfile.directory="$tmp/textfile" >"$tmp/exporter.log" 2>&1 &
exporter_pid=$!
url=http://127.0.0.1:$port/metrics
for _ in $(seq 100); do
    curl -sf "$url" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "$url" >/dev/null || { echo "FAIL: node_exporter did not start:" >&2; cat "$tmp/exporter.log" >&2; exit 1; }

"$LHGEN" fleet "$tmp/fleet.pcap" --packets 150000 >/dev/null
# The capture reaches the sensor through a pipe in two halves, and the
# second half is written only once a scrape has served the sensor's
# counters: "during the replay" must not depend on how fast the machine
# replays 150 000 packets.
mkfifo "$tmp/feed"
"$LOOPHOLE" -r - --sensor prom-test --stats 1 --alerts /dev/null \
    --metrics "$tmp/textfile/loophole.prom" <"$tmp/feed" 2>"$tmp/sensor.err" &
sensor_pid=$!
exec 3>"$tmp/feed"
half=$(python3 - "$tmp/fleet.pcap" <<'EOF_PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off, n = 24, 0
while off + 16 <= len(data):
    caplen = struct.unpack(end + "I", data[off + 8:off + 12])[0]
    off += 16 + caplen
    n += 1
    if n == 75000:
        break
print(off)
EOF_PY
)
head -c "$half" "$tmp/fleet.pcap" >&3
n=0
mid_seen=
for _ in $(seq 300); do
    kill -0 "$sensor_pid" 2>/dev/null || break
    f="$tmp/scrapes/mid-$(printf %03d $n).txt"
    curl -sf "$url" >"$f" || true
    n=$((n + 1))
    if grep -q '^loophole_packets_total{sensor="prom-test"} [1-9]' "$f"; then
        mid_seen=1
        break
    fi
    sleep 0.2
done
[ -n "$mid_seen" ] || echo "metrics_prometheus: no scrape served the counters within 60 s of the first half" >&2
tail -c +"$((half + 1))" "$tmp/fleet.pcap" >&3
exec 3>&-
while kill -0 "$sensor_pid" 2>/dev/null; do
    curl -sf "$url" >"$tmp/scrapes/mid-$(printf %03d $n).txt" || true
    n=$((n + 1))
    sleep 0.2
done
rc=0
wait "$sensor_pid" || rc=$?
sensor_pid=
if [ "$rc" -ne 0 ]; then
    echo "FAIL: loophole exited with status $rc:" >&2
    cat "$tmp/sensor.err" >&2
    exit 1
fi
curl -sf "$url" >"$tmp/scrapes/end.txt"
if grep -q "^node_textfile_scrape_error 1" "$tmp/scrapes/end.txt"; then
    echo "FAIL: node_exporter could not read the textfile:" >&2
    grep -i "error" "$tmp/exporter.log" >&2 || true
    exit 1
fi
python3 "$here/lib/prom_check.py" "$tmp/sensor.err" "$tmp/scrapes"
