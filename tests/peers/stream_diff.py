#!/usr/bin/env python3
"""Compare the TCP byte streams of two captures of the same flows, taken
on both sides of the bridge, and say whether the rewrite changed anything
but censored words.

Usage: stream_diff.py SERVER_IP CLIENT_SIDE.pcap SERVER_SIDE.pcap WORD...

For each flow and direction the original stream is the one captured
where its packets enter the bridge (client to server: the client-side
capture; server to client: the server-side one), the rewritten one where
they leave. Streams are rebuilt from sequence numbers (a retransmission
carries the same bytes). Each direction gets one line:
  CLIENT:PORT>SERVER:PORT bytes=N changed=M words=K
and a line starting "OUTSIDE" for every changed byte that is not part of
an occurrence of a WORD (any case) overwritten by as many '*', or
"LENGTH" when the two streams differ in length. Exit status 0 when there
is no such line and at least one word was censored, 1 otherwise. Reads
classic pcap files with Ethernet frames (tcpdump -w), IPv4 only.
"""
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[pos:pos + 16])
        pos += 16
        yield data[pos:pos + incl]
        pos += incl


def segments(path):
    for frame in packets(path):
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6:
            continue
        total = struct.unpack(">H", ip[2:4])[0]
        src = ".".join(str(b) for b in ip[12:16])
        dst = ".".join(str(b) for b in ip[16:20])
        tcp = ip[ihl:total]
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        flags = tcp[13]
        doff = (tcp[12] >> 4) * 4
        yield (src, sport, dst, dport), seq, flags, tcp[doff:]


def streams(path):
    """{(src, sport, dst, dport): bytes} from the SYN's sequence number on."""
    isn, parts = {}, {}
    for key, seq, flags, payload in segments(path):
        if flags & 0x02:
            isn[key] = (seq + 1) & 0xFFFFFFFF
        if payload and key in isn:
            parts.setdefault(key, {})[(seq - isn[key]) & 0xFFFFFFFF] = payload
    out = {}
    for key, segs in parts.items():
        buf = bytearray()
        for off in sorted(segs):
            p = segs[off]
            if off > len(buf):
                buf.extend(b"\0" * (off - len(buf)))  # a hole: shows as a difference
            buf[off:off + len(p)] = p
        out[key] = bytes(buf)
    return out


def censored_positions(orig, new, words):
    ok, count = set(), 0
    low = orig.lower()
    for w in words:
        wb = w.lower().encode()
        start = 0
        while True:
            i = low.find(wb, start)
            if i < 0:
                break
            if new[i:i + len(wb)] == b"*" * len(wb):
                ok.update(range(i, i + len(wb)))
                count += 1
            start = i + 1
    return ok, count


def main():
    server, client_side, server_side, words = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    a, b = streams(client_side), streams(server_side)
    bad, total_words = 0, 0
    for key in sorted(set(a) | set(b)):
        to_server = key[2] == server
        orig = (a if to_server else b).get(key, b"")
        new = (b if to_server else a).get(key, b"")
        name = "%s:%d>%s:%d" % key
        ok, count = censored_positions(orig, new, words)
        changed = [i for i in range(min(len(orig), len(new))) if orig[i] != new[i]]
        total_words += count
        print("%s bytes=%d changed=%d words=%d" % (name, len(orig), len(changed), count))
        if len(orig) != len(new):
            print("LENGTH %s %d -> %d" % (name, len(orig), len(new)))
            bad += 1
        for i in changed:
            if i not in ok:
                print("OUTSIDE %s at %d: %r -> %r" % (name, i, orig[max(0, i - 20):i + 20],
                                                      new[max(0, i - 20):i + 20]))
                bad += 1
                break
    sys.exit(0 if bad == 0 and total_words > 0 else 1)


if __name__ == "__main__":
    main()
