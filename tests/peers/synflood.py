#!/usr/bin/env python3
"""Sends TCP SYNs from many made-up source addresses (a test tool, written here:
Debian's hping3 is not among the test dependencies).

Usage: synflood.py DST_IP DST_PORT COUNT SECONDS [SRC_NET]

COUNT IPv4 SYNs to DST_IP:DST_PORT through a raw socket, each from a
different source address in SRC_NET (a /16, default 10.78.0.0) and port,
spread evenly over at most SECONDS. Prints how many were sent.
"""
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq & 0xFFFF, 0, 64,
                     socket.IPPROTO_TCP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    dst_ip, dport, count, seconds = argv[1], int(argv[2]), int(argv[3]), float(argv[4])
    net = socket.inet_aton(argv[5] if len(argv) > 5 else "10.78.0.0")
    dst = socket.inet_aton(dst_ip)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    start = time.time()
    sent = 0
    for i in range(count):
        host = 1 + i % 65000
        src = net[:2] + struct.pack("!H", host)
        try:
            s.sendto(syn(src, dst, 1024 + (i * 7) % 60000, dport, i * 2654435761 & 0xFFFFFFFF),
                     (dst_ip, 0))
            sent += 1
        except OSError:
            time.sleep(0.001)
        due = start + seconds * (i + 1) / count
        if due > time.time() + 0.002:
            time.sleep(due - time.time())
        if time.time() - start > seconds * 2 + 5:
            break
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
