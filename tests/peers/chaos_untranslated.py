#!/usr/bin/env python3
"""Packets of edited connections that crossed the bridge untranslated.

Usage: chaos_untranslated.py OUTDIR [SERVER_PORT]

OUTDIR holds c.pcap and s.pcap, the traffic as the clients and the
server saw it (chaos_inline.sh with CHAOS_DEBUG=1). Every packet the
receiver got is matched to the one its sender sent by ports and IP id
(the engine and the classifier keep the IP id). Once a direction of a
connection has been translated at some point of its stream (its seq or
its ack moved: an edit before that point changed a length), every packet
whose seq (or ack) lies past that point must move too, since the edits
of this policy only grow the streams; one whose seq and ack both arrived
as they were sent went through neither the daemon nor the classifier (a
queue without a listener lets it through raw).

Prints one "untranslated <ports> at <time> ..." line per such packet,
then "untranslated N" (N their count). Exit status 0 when N is 0; 2 when
tshark is missing or a capture cannot be read."""
import collections
import shutil
import subprocess
import sys


def packets(pcap):
    """(sport, dport, ip id) -> [(time, seq, ack, len, flags)] of a capture."""
    out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.time_epoch",
                          "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "ip.id",
                          "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.len",
                          "-e", "tcp.flags"], capture_output=True, text=True, check=True).stdout
    by = {}
    for line in out.splitlines():
        p = line.split("\t")
        if len(p) < 8 or not p[4]:
            continue
        by.setdefault((int(p[1]), int(p[2]), p[3]), []).append(
            (float(p[0]), int(p[4]), int(p[5] or 0), int(p[6] or 0), int(p[7], 16)))
    return by


def after(a, b):
    """Sequence number a comes after b (mod 2^32)."""
    return a != b and (a - b) % 2**32 < 2**31


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = argv[1]
    server_port = int(argv[2]) if len(argv) > 2 else 6667
    if not shutil.which("tshark"):
        print("tshark is missing", file=sys.stderr)
        return 2
    try:
        client, server = packets(outdir + "/c.pcap"), packets(outdir + "/s.pcap")
    except (OSError, subprocess.CalledProcessError) as e:
        print("cannot read the captures: %s" % e, file=sys.stderr)
        return 2
    directions = collections.defaultdict(list)
    for key, at_server in server.items():
        at_client = client.get(key)
        if not at_client:
            continue
        sport, dport, _ = key
        sent, got = (at_client[0], at_server[0]) if dport == server_port else \
            (at_server[0], at_client[0])
        directions[(sport, dport)].append(
            (got[0], (got[1] - sent[1]) % 2**32, (got[2] - sent[2]) % 2**32, sent[3], sent[4],
             sent[1], sent[2]))
    count = 0
    for ports, seen in sorted(directions.items()):
        seen.sort()
        seq_moved = [s[5] for s in seen if s[1]]
        ack_moved = [s[6] for s in seen if s[2]]
        for t, dseq, dack, length, flags, seq, ack in seen:
            if dseq or dack or flags & 0x02:
                continue
            if any(after(seq, m) for m in seq_moved) or \
                    any(after(ack, m) or ack == m for m in ack_moved):
                count += 1
                print("untranslated %d->%d at %.6f len %d flags %#x" %
                      (ports[0], ports[1], t, length, flags))
    print("untranslated", count)
    return 0 if count == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
