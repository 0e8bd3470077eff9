"""Compares the sensor's flow classification with EXPECTED.tsv.

usage: classify.py NDPI_DIR OUTDIR

NDPI_DIR is the corpus folder with EXPECTED.tsv and ndpireader-4.2-out/;
OUTDIR holds <pcap>.jsonl, the --flows output of one run per capture.
For each row whose ndpi42_agrees is "yes" (Debian's nDPI 4.2 and upstream
agree, so the sensor, which links 4.2, must agree too), the earliest record
with the same L4 protocol, VLAN and unordered endpoint pair must have:
  app    equal to expected_proto or ndpi42_proto (case-insensitive);
  sni / host / dns_query (TLS-QUIC / HTTP / DNS) or ssh_client (SSH)
         equal to host_or_sni where that is set and nDPI 4.2 finds a host
         name in that flow too (ndpireader-4.2-out/<pcap>.out). host_or_sni
         is upstream's value; for QUIC flows whose ClientHello is split and
         reordered, 4.2 finds no SNI (corpus README), so those rows check
         the application only and are counted as such in the summary;
  ja3c   equal to ndpi42_ja3c where that is set.
Prints every mismatch, then a summary; exits 1 on any mismatch.
"""

import collections
import csv
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

# Master protocol -> the record field that carries host_or_sni.
HOST_FIELD = {"TLS": "sni", "QUIC": "sni", "HTTP": "host", "HTTP_CONNECT": "host",
              "HTTP_PROXY": "host", "DNS": "dns_query",
              "SSH": "ssh_client"}


def host_field(row):
    for name in (row["expected_proto"], row["ndpi42_proto"]):
        master = name.split(".")[0].upper()
        if master in HOST_FIELD:
            return HOST_FIELD[master]
    return None


# One flow line of ndpiReader's -v 2 output:
#   "\t12\tUDP 1.2.3.4:5 -> 6.7.8.9:443 [VLAN: 7][proto: ...]...[Hostname/SNI: x]..."
NDPI42_LINE = re.compile(r"^\s*\d+\s+(\S+) (\S+) <?-> (\S+) (?:\[VLAN: (\d+)\])?")
NDPI42_HOST = re.compile(r"\[Hostname/SNI: ([^\]]*)\]")


def ndpi42_hosts(path):
    """Flow key -> host name nDPI 4.2 reported (None when it found none)."""
    hosts = {}
    if not os.path.exists(path):
        return hosts
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = NDPI42_LINE.match(line)
            if not m:
                continue
            proto = corpus.L4_NAMES.get(m.group(1).upper(), m.group(1).lower())
            try:
                a = corpus.endpoint(*corpus.parse_endpoint(m.group(2)), proto)
                b = corpus.endpoint(*corpus.parse_endpoint(m.group(3)), proto)
            except ValueError:
                continue
            vlan = int(m.group(4)) if m.group(4) else None
            h = NDPI42_HOST.search(line)
            hosts[corpus.flow_key(proto, vlan, a, b)] = h.group(1) if h else None
    return hosts


def main():
    ndpi_dir, outdir = sys.argv[1], sys.argv[2]
    tsv = os.path.join(ndpi_dir, "EXPECTED.tsv")
    hosts42 = {}
    host_skipped = 0
    records = {}
    problems = []
    checked = matched = 0

    with open(tsv, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        if row["ndpi42_agrees"] != "yes":
            continue
        pcap = row["pcap"]
        if pcap not in records:
            by_key = collections.defaultdict(list)
            for rec in corpus.load_records(os.path.join(outdir, pcap + ".jsonl")):
                by_key[rec["_key"]].append(rec)
            records[pcap] = by_key
            hosts42[pcap] = ndpi42_hosts(
                os.path.join(ndpi_dir, "ndpireader-4.2-out", pcap + ".out"))
        proto = corpus.L4_NAMES.get(row["l4"].upper(), row["l4"].lower())
        vlan = None if row["vlan"] == "-" else int(row["vlan"])
        a = corpus.endpoint(*corpus.parse_endpoint(row["endpoint_a"]), proto)
        b = corpus.endpoint(*corpus.parse_endpoint(row["endpoint_b"]), proto)
        key = corpus.flow_key(proto, vlan, a, b)
        where = "%s: %s" % (pcap, corpus.fmt_key(key))
        checked += 1

        recs = records[pcap].get(key)
        if not recs:
            problems.append("%s: no flow record (expected %s)" % (where, row["expected_proto"]))
            continue
        rec = min(recs, key=lambda r: r["first"])
        bad = []
        wanted = {row["expected_proto"].lower(), row["ndpi42_proto"].lower()}
        if str(rec["app"]).lower() not in wanted:
            bad.append("app %r, expected %r or %r" %
                       (rec["app"], row["expected_proto"], row["ndpi42_proto"]))
        field = host_field(row)
        want_host = row["host_or_sni"] if row["host_or_sni"] != "-" and field else None
        if want_host is not None and key in hosts42[pcap] and hosts42[pcap][key] is None:
            want_host = None
            host_skipped += 1
        if want_host is not None and rec.get(field) != want_host:
            bad.append("%s %r, expected %r" % (field, rec.get(field), want_host))
        if row["ndpi42_ja3c"] != "-" and rec.get("ja3c") != row["ndpi42_ja3c"]:
            bad.append("ja3c %r, expected %r" % (rec.get("ja3c"), row["ndpi42_ja3c"]))
        if bad:
            problems.append("%s: %s" % (where, "; ".join(bad)))
        else:
            matched += 1

    for p in problems:
        print("MISMATCH " + p)
    print("classification: %d rows checked (ndpi42_agrees=yes), %d matched, %d mismatched; "
          "%d host names not checked because nDPI 4.2 finds none"
          % (checked, matched, checked - matched, host_skipped))
    if checked == 0:
        print("no rows checked: is %s empty?" % tsv)
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
