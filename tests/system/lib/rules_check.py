#!/usr/bin/env python3
"""Checks alert lines (interface.md section 2) against what a scenario
must and must not raise.

  rules_check.py ALERTS [EXPECT ...]

ALERTS is a file of alert JSON lines. Every line is checked against the
contract first (fields, types, severities, score range, evidence items).
Each EXPECT is one of:

  +RULE|ROLE|IP[|key=value...]   an alert of RULE about entity (ROLE, IP)
                                 must be present; keys: gpu (gpu_host.ip),
                                 source (gpu_host.source), peer (peer.ip),
                                 inter (intermediary.ip), src (the ip of
                                 an evidence flow's src), detail (text in
                                 an evidence detail), severity
  -RULE                          no alert of RULE at all
  quiet                          no alert of severity medium or above
  count=N                        exactly N alert lines

Exits 1 with one line per failure. Standard library only.
"""
import json
import re
import sys

SEVERITIES = ("low", "medium", "high", "critical")
ROLES = ("gpu_host", "controller", "intermediary", "relay")
RULES = ("cn_direct_control", "relay_control", "proxy_latency", "stepping_stone",
         "reseller_fanout", "shared_access_fanin", "cn_footprint", "weights_egress",
         "reverse_tunnel", "ai_api_relay", "cn_timezone")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def contract(a):
    """Problems of one alert against interface.md section 2."""
    bad = []
    for k, t in (("ts", str), ("event_type", str), ("id", str), ("sensor", str),
                 ("rule", str), ("severity", str), ("score", int), ("entity", dict),
                 ("evidence", list), ("summary", str)):
        if not isinstance(a.get(k), t):
            bad.append("field %s missing or not %s" % (k, t.__name__))
    if bad:
        return bad
    if not TS.match(a["ts"]):
        bad.append("ts %r is not RFC 3339 with microseconds" % a["ts"])
    if a["event_type"] != "alert":
        bad.append("event_type is %r" % a["event_type"])
    if a["rule"] not in RULES:
        bad.append("unknown rule %r" % a["rule"])
    if a["severity"] not in SEVERITIES:
        bad.append("severity %r" % a["severity"])
    if not 0 <= a["score"] <= 100:
        bad.append("score %r out of 0-100" % a["score"])
    if a["entity"].get("role") not in ROLES or not a["entity"].get("ip"):
        bad.append("entity %r" % a["entity"])
    if not a["summary"].strip():
        bad.append("empty summary")
    if not 1 <= len(a["evidence"]) <= 16:
        bad.append("%d evidence items" % len(a["evidence"]))
    for e in a["evidence"]:
        f = e.get("flow", {})
        for k in ("src", "dst", "proto", "community_id", "app", "first", "last", "bytes_up",
                  "bytes_down"):
            if k not in f:
                bad.append("evidence flow without %s" % k)
        cid = f.get("community_id", "")
        if not (isinstance(cid, str) and cid.startswith("1:") and len(cid) == 30):
            bad.append("evidence flow community_id %r" % cid)
        if not e.get("detail"):
            bad.append("evidence without detail")
    if "gpu_host" in a and a["gpu_host"].get("source") not in ("inventory", "provider",
                                                                 "behavior"):
        bad.append("gpu_host.source %r" % a["gpu_host"].get("source"))
    for k in ("peer", "intermediary"):
        if k in a and not a[k].get("ip"):
            bad.append("%s without ip" % k)
    return bad


def flow_ip(ep):
    """The address of an ip:port or [ip]:port text."""
    return ep[1:ep.index("]")] if ep.startswith("[") else ep.rsplit(":", 1)[0]


def matches(a, rule, role, ip, keys):
    if (a["rule"], a["entity"]["role"], a["entity"]["ip"]) != (rule, role, ip):
        return False
    for k, v in keys.items():
        if k == "gpu" and a.get("gpu_host", {}).get("ip") != v:
            return False
        if k == "source" and a.get("gpu_host", {}).get("source") != v:
            return False
        if k == "peer" and a.get("peer", {}).get("ip") != v:
            return False
        if k == "inter" and a.get("intermediary", {}).get("ip") != v:
            return False
        if k == "severity" and a["severity"] != v:
            return False
        if k == "src" and not any(flow_ip(e["flow"]["src"]) == v for e in a["evidence"]):
            return False
        if k == "detail" and not any(v in e["detail"] for e in a["evidence"]):
            return False
    return True


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    alerts, fails = [], []
    with open(sys.argv[1], encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            a = json.loads(line)
            for p in contract(a):
                fails.append("line %d (%s): %s" % (n, a.get("rule"), p))
            alerts.append(a)
    for x in sys.argv[2:]:
        if x == "quiet":
            for a in alerts:
                if a["severity"] not in ("low",):
                    fails.append("%s %s about %s: severity %s on a benign capture" %
                                 (a["rule"], a["entity"]["role"], a["entity"]["ip"],
                                  a["severity"]))
        elif x.startswith("count="):
            if len(alerts) != int(x[6:]):
                fails.append("%d alerts, expected %s" % (len(alerts), x[6:]))
        elif x.startswith("-"):
            for a in alerts:
                if a["rule"] == x[1:]:
                    fails.append("unexpected %s about %s %s" %
                                 (a["rule"], a["entity"]["role"], a["entity"]["ip"]))
        elif x.startswith("+"):
            parts = x[1:].split("|")
            keys = dict(p.split("=", 1) for p in parts[3:])
            if not any(matches(a, parts[0], parts[1], parts[2], keys) for a in alerts):
                fails.append("missing %s" % x[1:])
        else:
            sys.exit("rules_check: bad expectation %r" % x)
    for f in fails:
        print("%s: %s" % (sys.argv[1], f), file=sys.stderr)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
