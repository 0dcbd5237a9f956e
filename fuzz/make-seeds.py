#!/usr/bin/python3
"""Seed corpora for the fuzz targets, from tests/pcaps, the shared captures
and imwire.conf.example. Deterministic and small (a few KB per seed, a few
seeds per capture): libFuzzer grows its own corpus from these at run time,
in a scratch directory, never here.

Usage: fuzz/make-seeds.py [SHARED_PCAP_DIR]   (run from the repository top)
"""
import gzip
import hashlib
import os
import struct
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "fuzz", "corpus")
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "..", "shared", "pcaps")

# Index of each module in proto_modules() (daemon/src/proto/registry.c).
MODULES = {"toc": 0, "oscar": 1, "ymsg": 2, "imip": 3, "xmpp": 4, "gg": 5, "gadu": 5,
           "msn": 6, "msnp": 6, "irc": 7}
# fuzz/fuzz_packet.c's link_types[] order.
LINK_INDEX = {1: 0, 0: 1, 108: 2, 101: 3, 12: 3, 228: 4, 229: 5, 113: 6, 276: 7}

MAX_SEED = 2048
SEEDS_PER_CAPTURE = 3
FRAMES_PER_CAPTURE = 2


def save(target, blob):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(blob).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def read_pcap(path):
    """(linktype, [frames]) of a classic pcap; pcapng goes through tcpdump."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        data = subprocess.run(["tcpdump", "-r", path, "-w", "-"], capture_output=True,
                              check=True).stdout
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        return None, []
    link = struct.unpack(end + "I", data[20:24])[0] & 0xFFFFFFF
    frames, pos = [], 24
    while pos + 16 <= len(data):
        incl = struct.unpack(end + "I", data[pos + 8:pos + 12])[0]
        frames.append(data[pos + 16:pos + 16 + incl])
        pos += 16 + incl
    return link, frames


def tcp_of(link, frame):
    """(src, sport, dst, dport, flags, payload) or None."""
    if link == 1:
        off, etype = 14, struct.unpack(">H", frame[12:14])[0] if len(frame) >= 14 else 0
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
    elif link in (101, 12, 228, 229):
        off, etype = 0, 0
    elif link == 113:
        off, etype = 16, struct.unpack(">H", frame[14:16])[0] if len(frame) >= 16 else 0
    elif link == 276:
        off, etype = 20, struct.unpack(">H", frame[0:2])[0] if len(frame) >= 2 else 0
    elif link in (0, 108):
        off, etype = 4, 0
    else:
        return None
    ip = frame[off:]
    if not ip:
        return None
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        if len(ip) < ihl + 20 or ip[9] != 6:
            return None
        total = struct.unpack(">H", ip[2:4])[0]
        src, dst, l4, end = ip[12:16], ip[16:20], ip[ihl:], min(total, len(ip)) - ihl
    elif ip[0] >> 4 == 6:
        if len(ip) < 60 or ip[6] != 6:
            return None
        plen = struct.unpack(">H", ip[4:6])[0]
        src, dst, l4, end = ip[8:24], ip[24:40], ip[40:], min(plen, len(ip) - 40)
    else:
        return None
    if len(l4) < 20:
        return None
    doff = (l4[12] >> 4) * 4
    sport, dport = struct.unpack(">HH", l4[0:4])
    return src, sport, dst, dport, l4[13], l4[doff:end]


def streams(link, frames):
    """Per connection: [(dir, payload)], dir 0 from the first sender."""
    conns, order = {}, []
    for fr in frames:
        t = tcp_of(link, fr)
        if not t or not t[5]:
            continue
        src, sport, dst, dport, _, payload = t
        key = (src, sport, dst, dport)
        rkey = (dst, dport, src, sport)
        if rkey in conns:
            conns[rkey].append((1, payload))
        else:
            if key not in conns:
                conns[key] = []
                order.append(key)
            conns[key].append((0, payload))
    return [conns[k] for k in order]


def proto_seed(module, chunks):
    blob = bytearray([module])
    for d, payload in chunks:
        for i in range(0, len(payload), 255):
            piece = payload[i:i + 255]
            if len(blob) + 2 + len(piece) > MAX_SEED:
                return bytes(blob)
            blob += bytes([d, len(piece)]) + piece
    return bytes(blob)


def captures():
    for name in sorted(os.listdir(os.path.join(TOP, "tests", "pcaps"))):
        if name.endswith(".pcap"):
            yield name.split("_")[0], os.path.join(TOP, "tests", "pcaps", name)
    if os.path.isdir(SHARED):
        for sub in sorted(os.listdir(SHARED)):
            d = os.path.join(SHARED, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                if name.endswith((".pcap", ".pcapng")):
                    yield sub, os.path.join(d, name)


def capture_seeds(path):
    """The head of a capture file as it is, and gzip-compressed (no name,
    time 0: the same bytes every run)."""
    with open(path, "rb") as f:
        head = f.read(MAX_SEED)
    save("fuzz_capture", head)
    save("fuzz_capture", gzip.compress(head, mtime=0))


def main():
    xml = []
    for name in ("irc/zeek_irc-basic.pcap", "irc/zeek_irc-dcc-send.pcapng",
                 "irc/zeek_irc-starttls.pcap"):
        if os.path.exists(os.path.join(SHARED, name)):
            capture_seeds(os.path.join(SHARED, name))
    for proto, path in captures():
        link, frames = read_pcap(path)
        if link is None or proto not in MODULES:
            continue
        for fr in frames[:FRAMES_PER_CAPTURE]:
            if link in LINK_INDEX:
                save("fuzz_packet", bytes([LINK_INDEX[link], 0]) + fr[:256])
        conns = streams(link, frames)
        for chunks in conns[:SEEDS_PER_CAPTURE]:
            save("fuzz_proto", proto_seed(MODULES[proto], chunks))
            if proto == "xmpp":
                xml.append(b"".join(p for d, p in chunks if d == 0)[:MAX_SEED])
                xml.append(b"".join(p for d, p in chunks if d == 1)[:MAX_SEED])
    for i, doc in enumerate(x for x in xml if x):
        save("fuzz_xml", bytes([1 + i * 7 % 64]) + doc)
    with open(os.path.join(TOP, "imwire.conf.example"), "rb") as f:
        save("fuzz_config", f.read()[:MAX_SEED])
    save("fuzz_config", b"irc_protocol=on\nlocal_nets=10.0.0.0/8, fd00::/8\nhold_deadline_ms=50\n")
    # Reassembly: limits, ISN, then ops (kind, rel seq, len, flags).
    ops = [(0, 0, 0, 0), (1, 0, 100, 0), (1, 200, 50, 0), (1, 100, 100, 0), (5, 400, 0, 0),
           (1, 300, 300, 1), (6, 0, 0, 0)]
    blob = bytes([16, 8]) + struct.pack(">I", 0xFFFFFF80)
    for k, rel, ln, fl in ops:
        blob += struct.pack(">BIHB", k, rel, ln, fl)
    save("fuzz_reasm", blob)
    # Sequence map: base seq, length/16, edits (skip+1, delete, insert), segment sizes.
    save("fuzz_seqmap", struct.pack(">I", 0xFFFFFFF0) + bytes([8, 5, 3, 9, 20, 0, 4, 1, 2, 0]) +
         bytes([17, 40, 3, 200, 1, 9]))
    # Engine: an IRC flow with a handshake and messages hitting the rules.
    rec = bytearray()

    def pkt(flow_dir, flags, seq, ack, payload, tick=0):
        rec.extend(bytes([flow_dir | tick, flags]) + struct.pack(">HH", seq, ack) +
                   bytes([len(payload)]) + payload)

    pkt(0x00, 2, 0, 0, b"")
    pkt(0x10, 3, 0, 0, b"")
    pkt(0x00, 1, 0, 0, b"")
    c = s = 0
    for line in (b"NICK alice\r\nUSER a 0 * :A\r\n", b"PRIVMSG bob :a secret word\r\n",
                 b"PRIVMSG bob :dropme now\r\n", b"PRIVMSG bob :hello there\r\n"):
        pkt(0x00, 0, c, s, line)
        c += len(line)
        pkt(0x10, 1, s, c, b"", 0x40)
    pong = b":srv PRIVMSG alice :secret back\r\n"
    pkt(0x10, 0, s, c, pong[:10])
    pkt(0x10, 0, s + 10, c, pong[10:], 0x40)
    save("fuzz_engine", bytes(rec))


if __name__ == "__main__":
    main()
