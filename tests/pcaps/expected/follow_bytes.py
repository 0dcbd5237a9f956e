#!/usr/bin/env python3
"""The bytes one side of a TCP stream sent, from tshark's
`-q -z follow,tcp,raw,N` output on stdin (tshark reassembles the stream:
retransmissions and overlaps removed), written to OUT; --skip and --take
cut the protocol's framing away (an OFT2 header before the file).
Usage: follow_bytes.py NODE OUT [--skip N] [--take N]
NODE 0 is the side tshark names first (the connection's initiator)."""
import argparse
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("node", type=int, choices=(0, 1))
    ap.add_argument("out")
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--take", type=int, default=-1)
    a = ap.parse_args()
    data = bytearray()
    started = False
    for line in sys.stdin:
        if line.startswith("Node 1:"):
            started = True
            continue
        if not started or line.startswith("====") or not line.strip():
            continue
        # tshark indents what node 1 sent with a tab.
        if line.startswith("\t") == (a.node == 1):
            data += bytes.fromhex(line.strip())
    data = data[a.skip:]
    if a.take >= 0:
        data = data[:a.take]
    if not started:
        sys.exit("follow_bytes.py: no stream in tshark's output")
    with open(a.out, "wb") as f:
        f.write(data)


main()
