"""Checks loophole's EVE alerts against its native alerts of the same run.

usage: eve_check.py SIEM_MD NATIVE.jsonl EVE.jsonl ECS.jsonl [NATIVE EVE ECS]...

For each triple (the native alerts, the EVE alerts of the same capture
replayed again with --alerts-format eve, and what docs/siem/eve-to-ecs.jq
made of the EVE file): the two replays raise the same (rule, entity)
alerts; every EVE line is a JSON object with every field of docs/siem.md's
mapping, each of its type; its "loophole" object is a native alert (the
native fields, without ts and event_type); timestamp, five-tuple,
community_id and severity are those of that alert and its first evidence
flow; the signature_id is the one docs/siem.md's table gives the rule; the
ECS document carries the same values. The EVE line is compared with the
alert it carries, not with the first replay's line: alerts of windowed
rules may keep other evidence from one replay to the next. Prints the
rules seen; exits 1 on any difference.
"""

import json
import re
import sys

TYPES = {"timestamp": str, "flow_id": int, "event_type": str, "src_ip": str, "src_port": int,
         "dest_ip": str, "dest_port": int, "proto": str, "community_id": str, "host": str,
         "alert": dict, "loophole": dict}
ALERT_TYPES = {"action": str, "gid": int, "signature_id": int, "rev": int, "signature": str,
               "category": str, "severity": int}
LOOPHOLE_TYPES = {"entity": dict, "evidence": list, "summary": str, "score": int, "rule": str,
                  "id": str}
SEVERITY = {"critical": 1, "high": 1, "medium": 2, "low": 3}
PROTO = {"tcp": "TCP", "udp": "UDP", "icmp": "ICMP", "icmpv6": "IPv6-ICMP"}


def sid_table(path):
    table = {}
    for line in open(path):
        m = re.match(r"\|\s*`([a-z_]+)`\s*\|\s*(\d+)\s*\|", line)
        if m:
            table[m.group(1)] = int(m.group(2))
    return table


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def endpoint(text):
    addr, _, port = text.rpartition(":")
    return addr.strip("[]"), int(port)


def typed(obj, types, where, bad):
    for k, t in types.items():
        v = obj.get(k)
        if not isinstance(v, t) or (t is int and isinstance(v, bool)):
            bad.append("%s: %s is %r, expected %s" % (where, k, v, t.__name__))


def check(table, native, eve, ecs, bad, seen):
    n, e, d = lines(native), lines(eve), lines(ecs)
    if not n:
        bad.append("%s: no alerts" % native)
    if not (len(n) == len(e) == len(d)):
        bad.append("%s: %d native alerts, %d EVE, %d ECS" % (eve, len(n), len(e), len(d)))
        return
    def who(a):
        return (a["rule"], a["entity"]["role"], a["entity"]["ip"])
    if sorted(map(who, n)) != sorted(who(x["loophole"]) for x in e):
        bad.append("%s: other alerts than the native replay's" % eve)
    for x, doc in zip(e, d):
        typed(x, TYPES, eve, bad)
        typed(x.get("alert", {}), ALERT_TYPES, eve + ": alert", bad)
        typed(x.get("loophole", {}), LOOPHOLE_TYPES, eve + ": loophole", bad)
        a = dict(x["loophole"])
        where = "%s: %s %s" % (eve, a["rule"], a["id"])
        if "ts" in a or "event_type" in a or not {"sensor", "severity", "evidence"} <= set(a):
            bad.append("%s: loophole object is not a native alert" % where)
        if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$", x["timestamp"]):
            bad.append("%s: timestamp %r is not EVE's form" % (where, x["timestamp"]))
        flow = a["evidence"][0]["flow"]
        src, dst = endpoint(flow["src"]), endpoint(flow["dst"])
        want = {"event_type": "alert",
                "src_ip": src[0], "src_port": src[1], "dest_ip": dst[0], "dest_port": dst[1],
                "proto": PROTO[flow["proto"]], "community_id": flow["community_id"],
                "host": a["sensor"]}
        for k, v in want.items():
            if x.get(k) != v:
                bad.append("%s: %s is %r, expected %r" % (where, k, x.get(k), v))
        al = x.get("alert", {})
        if al.get("severity") != SEVERITY[a["severity"]]:
            bad.append("%s: severity %r for %s" % (where, al.get("severity"), a["severity"]))
        if al.get("signature_id") != table.get(a["rule"]):
            bad.append("%s: signature_id %r, docs/siem.md says %r" % (
                where, al.get("signature_id"), table.get(a["rule"])))
        if (al.get("gid"), al.get("rev"), al.get("action")) != (1, 1, "allowed"):
            bad.append("%s: gid/rev/action %r" % (where, al))
        if not 0 < x.get("flow_id", 0) < 2 ** 53:
            bad.append("%s: flow_id %r outside (0, 2^53)" % (where, x.get("flow_id")))
        ecs_want = {("rule", "id"): str(table.get(a["rule"])), ("rule", "name"): a["rule"],
                    ("source", "ip"): src[0], ("destination", "port"): dst[1],
                    ("network", "community_id"): flow["community_id"],
                    ("event", "risk_score"): a["score"], ("message",): a["summary"]}
        for path, v in ecs_want.items():
            got = doc
            for p in path:
                got = got.get(p, {}) if isinstance(got, dict) else None
            if got != v:
                bad.append("%s: ECS %s is %r, expected %r" % (where, ".".join(path), got, v))
        seen.add(a["rule"])


def main():
    table = sid_table(sys.argv[1])
    if len(table) < 11 or len(set(table.values())) != len(table):
        print("FAIL: docs/siem.md: signature_id table missing or with repeated ids: %r" % table)
        return 1
    bad, seen = [], set()
    args = sys.argv[2:]
    for i in range(0, len(args), 3):
        check(table, args[i], args[i + 1], args[i + 2], bad, seen)
    for b in bad:
        print("FAIL: " + b)
    print("eve: rules seen: %s" % " ".join(sorted(seen)))
    missing = set(table) - seen
    if missing:
        print("FAIL: no scenario raised %s" % " ".join(sorted(missing)))
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
