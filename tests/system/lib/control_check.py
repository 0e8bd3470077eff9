"""Checks the per-flow analysis fields of one generated scenario.

Usage: control_check.py SCENARIO FLOWS.json MANIFEST.tsv
Each scenario's expected records are written below as (selector,
expectations): the selector picks exactly one record (by server port, SNI
or DNS query), the expectations name field values, roles that must or must
not be there, and numbers that must lie within a tolerance of the value the
generator modelled for that flow. The model is the flow's manifest row
(lhgen's rtt_c_us and extra_c_us: a relay 1 ms from the sensor with its
user 38-87 ms beyond, drawn per seed; an SSH client 180 ms away), so any
seed can be checked. Prints every mismatch and exits 1 if there is one.
"""
import csv
import json
import sys

TOL = 3.0  # ms: processing time the generator adds to each answer
# The way beyond relay-ssh's relay varies per exchange (exponential, mean
# 1.4 ms, at most 6.6: lhgen's relay_beyond); the sensor takes the lower
# quartile of the exchanges, which a delay only raises: the second least
# of six such delays passes 3 ms with probability about 1e-4.
JITTER_LQ = 3.0


def rtt(m):
    return m["rtt"]


def extra(m):
    return m["extra"]


def app_rtt(m):
    return m["rtt"] + m["extra"]


def km(m):
    return m["extra"] * 100

EXPECT = {
    "ssh": [
        ({"dst_port": 22}, {"control": "ssh", "interactive": True,
                            "roles+": ["control", "interactive"], "roles-": ["bulk"],
                            "app_rtt_ms~": app_rtt, "app_rtt_extra_ms~": extra,
                            "keystrokes>=": 50, "bursts>=": 3}),
    ],
    # 20-150 keys drawn (lhgen's session_keys); a few go uncounted
    # around the command output.
    "relay-ssh": [
        ({"dst_port": 22}, {"control": "ssh", "interactive": True,
                            "roles+": ["control", "interactive"],
                            "tcp_rtt_client_ms~": rtt,
                            "app_rtt_ms~+": app_rtt,
                            "app_rtt_extra_ms~+": extra,
                            "distance_km_max~+": km, "keystrokes>=": 16}),
    ],
    "relay-tls": [
        ({"sni": "jupyter-7f3a9c.lambdaspaces.com"},
         {"control": "jupyter", "roles+": ["control"], "tcp_rtt_client_ms~": rtt,
          "app_rtt_ms~": app_rtt, "app_rtt_extra_ms~": extra,
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


def model_of(rows, rec):
    """The generator's model of the record's flow (ms), from its manifest row."""
    key = (rec["src_ip"], str(rec["src_port"]), rec["dst_ip"], str(rec["dst_port"]))
    for r in rows:
        if (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]) == key:
            return {"rtt": int(r["rtt_c_us"]) / 1000.0, "extra": int(r["extra_c_us"]) / 1000.0}
    return None


def check(rec, exp, model):
    bad = []
    for k, v in exp.items():
        if k == "roles+":
            bad += ["role %s missing" % r for r in v if r not in rec["roles"]]
        elif k == "roles-":
            bad += ["role %s present" % r for r in v if r in rec["roles"]]
        elif k.endswith("~") or k.endswith("~+"):
            # "~": within TOL of the model; "~+": as much as the jitter's
            # lower quartile more (a delay only adds).
            name = k.rstrip("~+")
            scale = 100 if "km" in k else 1
            if callable(v):
                if model is None:
                    bad.append("%s: the flow has no manifest row" % name)
                    continue
                v = v(model)
            lo, hi = TOL * scale, (TOL + (JITTER_LQ if k.endswith("+") else 0)) * scale
            got = rec.get(name)
            if not isinstance(got, (int, float)) or not v - lo <= got <= v + hi:
                bad.append("%s = %r, want %.1f (-%g, +%g)" % (name, got, v, lo, hi))
        elif k.endswith(">="):
            got = rec.get(k[:-2])
            if not isinstance(got, int) or got < v:
                bad.append("%s = %r, want at least %d" % (k[:-2], got, v))
        elif rec.get(k) != v or (v is not None and type(rec.get(k)) is not type(v)):
            bad.append("%s = %r, want %r" % (k, rec.get(k), v))
    return bad


def main():
    scen, path, manifest = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
    with open(manifest, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    fails = 0
    for sel, exp in EXPECT[scen]:
        hits = [r for r in recs if selected(r, sel)]
        if len(hits) != 1:
            print("%s: %d records match %s, want 1" % (scen, len(hits), sel))
            fails += 1
            continue
        for b in check(hits[0], exp, model_of(rows, hits[0])):
            print("%s: %s: %s" % (scen, sel, b))
            fails += 1
    print("%s: %d records, %d checks failed" % (scen, len(recs), fails))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
