#!/usr/bin/env bash
# The progress line: on a terminal (standard error on a pseudo-terminal)
# a replay shows packets, the share of the file read, the rate, flows and
# alerts, rewritten in place and cleared at the end; with standard error
# redirected to a file, or with --no-progress, not one byte of it appears;
# an alert printed on the same terminal starts on a clean line.
set -euo pipefail

: "${LOOPHOLE:?LOOPHOLE must name the loophole binary}"
: "${LHGEN:?LHGEN must name the scenario generator}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# big enough to take a few tenths of a second to replay
"$LHGEN" fleet "$tmp/fleet.pcap" --packets 1500000 >/dev/null

# run_pty OUT ARGS...: standard error on a pseudo-terminal, recorded in OUT
run_pty() {
    python3 - "$@" <<'PY'
import os, pty, subprocess, sys
out, args = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
data = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not chunk:
        break
    data += chunk
rc = p.wait()
open(out, "wb").write(data)
sys.exit(rc)
PY
}

run_pty "$tmp/tty.out" "$LOOPHOLE" -r "$tmp/fleet.pcap" --threads 2 ||
    fail "replay on a terminal failed: $(cat "$tmp/tty.out")"
python3 - "$tmp/tty.out" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read().decode()
# the rate appears from the second drawing on (app/progress.c), so a
# replay that ends within one period shows the line without it
lines = re.findall(r"\rloophole: +([0-9.]+)% +(\S+) packets +(?:(\S+) pkt/s +)?(\S+) flows +(\S+) alerts\x1b\[K", data)
if not lines:
    sys.exit(f"FAIL: no progress line on the terminal: {data!r}")
shares = [float(l[0]) for l in lines]
if shares != sorted(shares) or not all(0 <= s <= 100 for s in shares):
    sys.exit(f"FAIL: shares not rising within 0..100: {shares}")
# the line is cleared at the end, before anything else is printed
last = data.rfind("alerts\x1b[K")
if "\r\x1b[K" not in data[last:]:
    sys.exit(f"FAIL: the progress line is not cleared at the end: {data[last:]!r}")
PY

# not a terminal: nothing
"$LOOPHOLE" -r "$tmp/fleet.pcap" --threads 2 >/dev/null 2>"$tmp/file.err" ||
    fail "replay failed: $(cat "$tmp/file.err")"
# "packets  " marks the progress line, with or without its rate
if grep -q $'\r\|packets  ' "$tmp/file.err"; then
    fail "progress written to a file: $(cat -A "$tmp/file.err" | head -3)"
fi
# a terminal, but --no-progress (and the file key) turn it off
run_pty "$tmp/off.out" "$LOOPHOLE" -r "$tmp/fleet.pcap" --threads 2 --no-progress ||
    fail "replay with --no-progress failed"
if grep -q 'packets  ' "$tmp/off.out"; then fail "--no-progress still printed progress"; fi
printf '[output]\nprogress = no\n' >"$tmp/quiet.conf"
run_pty "$tmp/conf.out" "$LOOPHOLE" -c "$tmp/quiet.conf" -r "$tmp/fleet.pcap" --threads 2 ||
    fail "replay with progress = no failed"
if grep -q 'packets  ' "$tmp/conf.out"; then fail "progress = no still printed progress"; fi
run_pty "$tmp/on.out" "$LOOPHOLE" -c "$tmp/quiet.conf" --progress -r "$tmp/fleet.pcap" --threads 2 ||
    fail "replay with --progress failed"
grep -q 'packets  ' "$tmp/on.out" || fail "--progress does not override progress = no"

# Alerts on the same terminal (standard output and standard error on one
# pseudo-terminal): each alert starts on a line of its own, the progress
# line cleared before it, and the rate is left out until it was measured
# (never "0 pkt/s" on a short replay). The sample is fed through a pipe a
# little at a time, so the progress line is drawn between alerts.
"$LHGEN" sample "$tmp/s.pcap" >/dev/null
python3 - "$tmp/s.pcap" "$tmp/paced.sh" <<'PY'
import sys
open(sys.argv[2], "w").write(f"""python3 -c '
import struct, sys, time
d = open("{sys.argv[1]}", "rb").read()
out = sys.stdout.buffer
out.write(d[:24]); off = 24; n = 0
while off + 16 <= len(d):
    ln = struct.unpack("<I", d[off + 8:off + 12])[0]
    out.write(d[off:off + 16 + ln]); off += 16 + ln; n += 1
    if n % 200 == 0:
        out.flush(); time.sleep(0.05)
out.flush()
'""")
PY
python3 - "$LOOPHOLE" "$tmp/paced.sh" "$tmp/both.out" <<'PY'
import os, pty, re, subprocess, sys
loophole, paced, out = sys.argv[1:4]
master, slave = pty.openpty()
feed = subprocess.Popen(["sh", paced], stdout=subprocess.PIPE)
p = subprocess.Popen([loophole, "-r", "-", "--threads", "2", "--progress"], stdin=feed.stdout,
                     stdout=slave, stderr=slave)
feed.stdout.close()
os.close(slave)
data = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
if p.wait() != 0 or feed.wait() != 0:
    sys.exit(f"FAIL: paced replay on a terminal failed: {data!r}")
open(out, "wb").write(data)
text = data.decode()
if "pkt/s" not in text:
    sys.exit(f"FAIL: no progress line while the sample was fed: {text!r}")
if re.search(r"(?<![0-9.])0 pkt/s", text):
    sys.exit(f"FAIL: the progress line shows 0 pkt/s: {text!r}")
alerts = 0
for line in text.replace("\r\n", "\n").split("\n"):
    at = line.find('{"ts"')
    if at < 0:
        continue
    alerts += 1
    # what is before the alert on its line must be cleared: a progress
    # line followed by carriage return and erase-line, or nothing
    before = line[:at]
    if before and not before.endswith("\r\x1b[K"):
        sys.exit(f"FAIL: an alert shares its line with {before!r}")
if alerts == 0:
    sys.exit(f"FAIL: no alert on the terminal: {text!r}")
print(f"progress: {alerts} alerts, each on a clean line")
PY
echo "progress: ok"
