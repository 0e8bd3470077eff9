"""Prints one counter from the last stats line (JSON, "event_type":"stats")
of a sensor's standard error, or 0 when there is none yet."""
import json
import sys

value = 0
with open(sys.argv[2], encoding="utf-8", errors="replace") as f:
    for line in f:
        if line.startswith("{") and '"event_type":"stats"' in line:
            try:
                value = json.loads(line)[sys.argv[1]]
            except ValueError:
                pass
print(value)
