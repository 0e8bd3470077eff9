"""Checks the per-flow analysis fields of one generated scenario.

Usage: control_check.py SCENARIO FLOWS.json
Each scenario's expected records are written below as (selector,
expectations): the selector picks exactly one record (by server port, SNI
or DNS query), the expectations name field values, roles that must or must
not be there, and numbers that must lie within a tolerance of the value the
generator models (lhgen's scen.c: a relay 1 ms from the sensor with its user
45 ms beyond, an SSH client 180 ms away). Prints every mismatch and exits 1
if there is one.
"""
import json
import sys

RELAY_RTT, RELAY_EXTRA = 1.0, 45.0
TOL = 3.0  # ms: processing time the generator adds to each answer

EXPECT = {
    "ssh": [
        ({"dst_port": 22}, {"control": "ssh", "interactive": True,
                            "roles+": ["control", "interactive"], "roles-": ["bulk"],
                            "app_rtt_ms~": 180.0, "app_rtt_extra_ms~": 0.0,
                            "keystrokes>=": 50, "bursts>=": 3}),
    ],
    "relay-ssh": [
        ({"dst_port": 22}, {"control": "ssh", "interactive": True,
                            "roles+": ["control", "interactive"],
                            "tcp_rtt_client_ms~": RELAY_RTT,
                            "app_rtt_ms~": RELAY_RTT + RELAY_EXTRA,
                            "app_rtt_extra_ms~": RELAY_EXTRA,
                            "distance_km_max~": RELAY_EXTRA * 100, "keystrokes>=": 30}),
    ],
    "relay-tls": [
        ({"sni": "jupyter-7f3a9c.lambdaspaces.com"},
         {"control": "jupyter", "roles+": ["control"], "tcp_rtt_client_ms~": RELAY_RTT,
          "app_rtt_ms~": RELAY_RTT + RELAY_EXTRA, "app_rtt_extra_ms~": RELAY_EXTRA,
          "interactive": False}),
    ],
    "todesk": [
        ({"sni": "api.todesk.com"}, {"control": "remote_desktop:todesk", "roles+": ["control"]}),
        ({"sni": "evil-todesk.com.example"}, {"control": None, "control_lookup": None,
                                              "roles-": ["control"]}),
        ({"dns_query": "api.todesk.com"}, {"control": None,
                                           "control_lookup": "remote_desktop:todesk",
                                           "roles-": ["control"], "interactive": False,
                                           "app_rtt_ms": None}),
    ],
    "k8s": [
        ({"dst_port": 6443}, {"control": "kubernetes", "roles+": ["control"]}),
        # Two GETs through kubectl proxy: under the HTTP bound of an
        # established session (docs/rules.md), so named but no control role.
        ({"dst_port": 8001}, {"control": "kubernetes", "session": "attempt",
                              "roles-": ["control"]}),
    ],
    "rdp": [
        ({"dst_port": 3389}, {"control": "rdp", "roles+": ["control"]}),
    ],
    "http-jupyter": [
        ({"dst_port": 8888, "url~": "/lab"}, {"control": "jupyter", "roles+": ["control"]}),
        ({"dst_port": 8888, "url~": "/channels"}, {"control": "jupyter", "roles+": ["control"]}),
    ],
    "bulk": [
        ({"sni": "llm-ckpt-7f3a.oss-cn-hangzhou.aliyuncs.com"},
         {"control": None, "interactive": False, "roles+": ["bulk"],
          "roles-": ["control", "interactive"]}),
        ({"sni": "cdn-lfs.huggingface.co"},
         {"control": None, "interactive": False, "roles+": ["bulk"],
          "roles-": ["control", "interactive"]}),
    ],
    "tls": [
        ({"sni": "download.pytorch.org"}, {"control": None, "roles-": ["control", "bulk"]}),
        ({"sni": "api.openai.com"}, {"control": None, "roles-": ["control"]}),
    ],
}


def selected(rec, sel):
    for k, v in sel.items():
        if k.endswith("~"):
            if v not in (rec.get(k[:-1]) or ""):
                return False
        elif rec.get(k) != v:
            return False
    return True


def check(rec, exp):
    bad = []
    for k, v in exp.items():
        if k == "roles+":
            bad += ["role %s missing" % r for r in v if r not in rec["roles"]]
        elif k == "roles-":
            bad += ["role %s present" % r for r in v if r in rec["roles"]]
        elif k.endswith("~"):
            got = rec.get(k[:-1])
            if not isinstance(got, (int, float)) or abs(got - v) > TOL * (100 if "km" in k else 1):
                bad.append("%s = %r, want %r +- %g" % (k[:-1], got, v, TOL))
        elif k.endswith(">="):
            got = rec.get(k[:-2])
            if not isinstance(got, int) or got < v:
                bad.append("%s = %r, want at least %d" % (k[:-2], got, v))
        elif rec.get(k) != v or (v is not None and type(rec.get(k)) is not type(v)):
            bad.append("%s = %r, want %r" % (k, rec.get(k), v))
    return bad


def main():
    scen, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
    fails = 0
    for sel, exp in EXPECT[scen]:
        hits = [r for r in recs if selected(r, sel)]
        if len(hits) != 1:
            print("%s: %d records match %s, want 1" % (scen, len(hits), sel))
            fails += 1
            continue
        for b in check(hits[0], exp):
            print("%s: %s: %s" % (scen, sel, b))
            fails += 1
    print("%s: %d records, %d checks failed" % (scen, len(recs), fails))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
