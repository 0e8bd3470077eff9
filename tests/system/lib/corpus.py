"""Shared helpers for the corpus system tests: endpoint parsing and flow
record loading. Python 3 standard library only."""

import ipaddress
import json
import subprocess

# L4 protocol names as EXPECTED.tsv writes them -> the sensor's "proto".
L4_NAMES = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "ICMPV6": "icmpv6", "IGMP": "igmp"}

# IP protocol numbers -> the sensor's "proto" names.
PROTO_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah",
               58: "icmpv6", 132: "sctp"}

PORTED = ("tcp", "udp")


def proto_name(num):
    return PROTO_NAMES.get(num, str(num))


def canon_addr(text):
    return ipaddress.ip_address(text).compressed


def parse_endpoint(text):
    """'1.2.3.4:80' or '[v6]:80' -> (canonical address, port)."""
    if text.startswith("["):
        addr, _, port = text[1:].partition("]:")
    else:
        addr, _, port = text.rpartition(":")
    return canon_addr(addr), int(port)


def endpoint(addr, port, proto):
    """One side of a flow key: ports only for TCP and UDP."""
    return (addr, port) if proto in PORTED else (addr, 0)


def flow_key(proto, vlan, a, b):
    """Unordered key: proto name, VLAN (None untagged), sorted endpoints."""
    return (proto, vlan, tuple(sorted([a, b])))


def fmt_key(key):
    proto, vlan, (a, b) = key
    def ep(e):
        addr = "[%s]" % e[0] if ":" in e[0] else e[0]
        return "%s:%d" % (addr, e[1])
    return "%s %s <-> %s vlan %s" % (proto, ep(a), ep(b), "-" if vlan is None else vlan)


def load_records(path):
    """The flow records of one run, each with its unordered key and the
    client and server endpoints."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if rec.get("event_type") != "flow":
                continue
            proto = rec["proto"]
            c = endpoint(canon_addr(rec["src_ip"]), rec["src_port"], proto)
            s = endpoint(canon_addr(rec["dst_ip"]), rec["dst_port"], proto)
            rec["_key"] = flow_key(proto, rec["vlan"], c, s)
            rec["_client"], rec["_server"] = c, s
            out.append(rec)
    return out


def tshark_fields(pcap, fields, options=()):
    """tshark's text for FIELDS of every frame of PCAP: one line per frame,
    fields tab-separated, every occurrence of a field comma-separated.
    IP reassembly is off, so each fragment is its own line."""
    cmd = ["tshark", "-n", "-r", pcap] + list(options) + [
        "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-T", "fields",
        "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"]
    for f in fields:
        cmd += ["-e", f]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    if res.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (pcap, res.stderr.strip()))
    return res.stdout
