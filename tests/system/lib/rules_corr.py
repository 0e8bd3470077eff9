"""rules_corr.py -- checks of the alerts the correlation rules raise.

  rules_corr.py expect ALERTS RULE ROLE IP [KEY=VALUE ...]
      exactly one alert of RULE exists, about entity (ROLE, IP); each
      KEY=VALUE holds (KEY may be a dotted path such as gpu_host.ip or
      peer.country; VALUE is compared as text); 'evidence>=N' and
      'evidence<=N' bound the number of evidence items, which must each
      carry a flow with src, dst, bytes_up and bytes_down and a detail.
  rules_corr.py none ALERTS RULE
      no alert of RULE.
  rules_corr.py same ALERTS_A ALERTS_B
      both files hold the same (rule, role, ip) alerts.
Exit status 0 when the check holds, 1 with a message otherwise.
"""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def get(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def check_evidence(alert, cond):
    ev = alert.get("evidence")
    if not isinstance(ev, list) or len(ev) > 16:
        return "evidence is not a list of at most 16 items"
    for item in ev:
        flow = item.get("flow", {})
        for key in ("src", "dst", "first", "last", "bytes_up", "bytes_down"):
            if key not in flow:
                return "an evidence flow lacks " + key
        if not item.get("detail"):
            return "an evidence item lacks its detail"
    op, n = (">=", int(cond[10:])) if cond[8:10] == ">=" else ("<=", int(cond[10:]))
    if (op == ">=" and len(ev) < n) or (op == "<=" and len(ev) > n):
        return "%d evidence items, want %s %d" % (len(ev), op, n)
    return None


def expect(path, rule, role, ip, conds):
    hits = [a for a in load(path) if a.get("rule") == rule]
    if len(hits) != 1:
        return "%d alerts of %s, want 1" % (len(hits), rule)
    a = hits[0]
    if a.get("entity") != {"role": role, "ip": ip}:
        return "entity %r, want %s %s" % (a.get("entity"), role, ip)
    for cond in conds:
        if cond.startswith("evidence"):
            err = check_evidence(a, cond)
        else:
            key, want = cond.split("=", 1)
            got = get(a, key)
            err = None if str(got) == want else "%s is %r, want %s" % (key, got, want)
        if err:
            return err
    return None


def keyset(path):
    return sorted((a["rule"], a["entity"]["role"], a["entity"]["ip"]) for a in load(path))


def main(argv):
    if len(argv) >= 5 and argv[1] == "expect":
        err = expect(argv[2], argv[3], argv[4], argv[5], argv[6:])
    elif len(argv) == 4 and argv[1] == "none":
        n = sum(1 for a in load(argv[2]) if a.get("rule") == argv[3])
        err = "%d alerts of %s, want none" % (n, argv[3]) if n else None
    elif len(argv) == 4 and argv[1] == "same":
        a, b = keyset(argv[2]), keyset(argv[3])
        err = None if a == b else "alerts differ: %r vs %r" % (a, b)
    else:
        err = "usage: see the module's docstring"
    if err:
        print("rules_corr: %s: %s" % (" ".join(argv[1:4]), err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
