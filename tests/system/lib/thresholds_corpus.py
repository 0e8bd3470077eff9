"""The corpus' side of the thresholds table (docs/rules.md, "Thresholds
and their sources"): what real captures nobody here made (nDPI's test
suite) show next to each [thresholds] default, measured from loophole's
own flow records of them.

Usage: thresholds_corpus.py FLOWS_DIR [--check]
FLOWS_DIR holds one <capture>.jsonl of flow records per capture
(loophole -r <capture> --flows ...). Prints the measurements; with
--check, also compares them with the figures docs/rules.md states
(EXPECTED below) and exits 1 on any difference, naming it.
"""
import datetime
import glob
import ipaddress
import json
import os
import sys

PROXY_LATENCY_MS = 25  # the default of [thresholds] proxy_latency_ms
RTT_DECIDE = 4  # samples proxy_latency needs (TIMING_RTT_DECIDE, analyze/timing.h)

# The figures docs/rules.md quotes; a change of the corpus, of the
# measurement or of the record fields shows here first. The control
# figures are over established control sessions (tunnel:* outbound kinds
# left out), as reseller_fanout and shared_access_fanin count them: the
# most GPU hosts one client drives and the most controller networks one
# host has in a capture; and the keystrokes of the interactive SSH
# sessions, which lhgen's session_keys starts from.
EXPECTED = {
    "tcp_extra_n": 57,
    "tcp_extra_median_ms": 10.1,
    "tcp_extra_p90_ms": 257.2,
    "tcp_extra_over_threshold": 22,
    "tcp_extra_decidable_ms": [0.1, 1.7],
    "control_extra_ms": [1.7, 1.8, 39.6],
    "largest_flow_bytes_one_way": 230944,
    "vpn_tunnel_flows": 104,
    "vpn_tunnel_longest_s": 258,
    "vpn_tunnel_most_bursts": 26,
    "control_clients": 12,
    "control_most_hosts_per_client": 2,
    "control_most_networks_per_host": 1,
    "ssh_interactive_keystrokes": [23, 28],
}


def network(ip):
    """The controller network the rules count: /24 IPv4, /48 IPv6."""
    return str(ipaddress.ip_network(ip + ("/48" if ":" in ip else "/24"), strict=False))


def records(folder):
    for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
        name = os.path.basename(path)[: -len(".jsonl")]
        with open(path) as f:
            for line in f:
                yield name, json.loads(line)


def quantile(values, q):
    """The lower q-quantile (nearest rank), as the rules take their quantiles."""
    s = sorted(values)
    return s[max(0, int(q * len(s) + 0.5) - 1)]


def seconds(stamp):
    """RFC 3339 UTC text of a record ("2011-11-04T19:37:44.760244Z")."""
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def measure(folder):
    extra, decidable, control, sizes, tunnels = [], [], [], [], []
    hosts, nets, keys = {}, {}, []  # per (capture, client) / (capture, server)
    for name, r in records(folder):
        kind = r.get("control") or ""
        if kind and not kind.startswith("tunnel:") and r.get("session") == "established":
            hosts.setdefault((name, r["src_ip"]), set()).add(r["dst_ip"])
            nets.setdefault((name, r["dst_ip"]), set()).add(network(r["src_ip"]))
            if kind == "ssh" and r.get("interactive"):
                keys.append(r.get("keystrokes") or 0)
        x = r.get("app_rtt_extra_ms")
        if x is not None and r.get("proto") == "tcp":
            extra.append(x)
            if (r.get("app_rtt_samples") or 0) >= RTT_DECIDE:
                decidable.append(round(x, 1))
            if r.get("control") and r.get("session") == "established":
                control.append(round(x, 1))
        sizes.append(max(r.get("bytes_c2s") or 0, r.get("bytes_s2c") or 0))
        kind = r.get("control") or ""
        if kind.startswith("tunnel:") or r.get("app") in ("OpenVPN", "WireGuard", "IPsec"):
            tunnels.append((seconds(r["last"]) - seconds(r["first"]), r.get("bursts") or 0))
    return {
        "tcp_extra_n": len(extra),
        "tcp_extra_median_ms": round(quantile(extra, 0.5), 1),
        "tcp_extra_p90_ms": round(quantile(extra, 0.9), 1),
        "tcp_extra_over_threshold": sum(1 for x in extra if x > PROXY_LATENCY_MS),
        "tcp_extra_decidable_ms": sorted(decidable),
        "control_extra_ms": sorted(control),
        "largest_flow_bytes_one_way": max(sizes),
        "vpn_tunnel_flows": len(tunnels),
        "vpn_tunnel_longest_s": int(max(d for d, _ in tunnels)),
        "vpn_tunnel_most_bursts": max(b for _, b in tunnels),
        "control_clients": len(hosts),
        "control_most_hosts_per_client": max(len(v) for v in hosts.values()),
        "control_most_networks_per_host": max(len(v) for v in nets.values()),
        "ssh_interactive_keystrokes": sorted(keys),
    }


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    m = measure(sys.argv[1])
    for k, v in m.items():
        print(f"{k}: {v}")
    if "--check" in sys.argv[2:]:
        bad = [f"{k}: measured {m[k]}, docs/rules.md says {v}" for k, v in EXPECTED.items()
               if m[k] != v]
        for b in bad:
            print("FAIL: thresholds_corpus:", b, file=sys.stderr)
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
