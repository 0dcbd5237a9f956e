#!/usr/bin/env python3
"""A DCC SEND between two real IRC clients (Debian's python3-irc: its IRC
connection, CTCP and DCC connection classes, and the protocol of its
dccsend.py/dccreceive.py examples: 1024-byte chunks, each answered by the
receiver's 32-bit count of the bytes it has).

Usage:
  irc_dcc.py receive HOST PORT NICK OUTDIR READY [COUNT]
  irc_dcc.py send HOST PORT NICK TO FILE LISTEN_IP OUTDIR [COUNT]

receive: registers NICK, creates the file READY, keeps every NOTICE it
gets in OUTDIR/NICK.notices (a line each), accepts every DCC SEND
offered to it (COUNT of them for a sender that sends several), writes
each file to OUTDIR/NAME (the second of that name to NAME.2, ...) and a line "NAME BYTES STATE" to
OUTDIR/NICK.received, STATE "complete" (as many bytes as offered, the
sender closed), "reset" (the connection was reset), or "short" (closed
early); then quits once its senders are done (OUTDIR/done appears).
send: registers NICK, listens on LISTEN_IP (python3-irc binds to the host
name's address: in a network namespace that is not the one the peer
reaches), offers FILE to TO COUNT times (1 by default, on as many
connections at once), sends each as the receiver acknowledges, and
writes "BYTES STATE" per transfer to OUTDIR/NICK.sent: "acked" (the
receiver acknowledged everything), "reset", or "closed".
Exit status 0 when everything ran to an end within the time bounds.
"""
import errno
import os
import socket
import struct
import sys
import time

import irc.client

TIMEOUT = 60
CHUNK = 1024


def register(reactor, host, port, nick):
    conn = reactor.server().connect(host, port, nick)
    welcomed = []
    conn.add_global_handler("welcome", lambda c, e: welcomed.append(1))
    deadline = time.time() + 10
    while not welcomed and time.time() < deadline:
        reactor.process_once(0.1)
    if not welcomed:
        sys.exit("irc_dcc: %s was not welcomed" % nick)
    return conn


class Transfer:
    def __init__(self, dcc, name, size):
        self.dcc = dcc
        self.name = name
        self.size = size
        self.bytes = 0
        self.state = None
        self.out = None
        self.file = None


def receive(host, port, nick, outdir, ready, count):
    reactor = irc.client.IRC()
    transfers = {}
    conn = register(reactor, host, port, nick)

    def on_ctcp(c, e):
        words = e.arguments[1].split() if len(e.arguments) > 1 else []
        if e.arguments[0] != "DCC" or len(words) < 5 or words[0] != "SEND":
            return
        name, addr, p, size = words[1], words[2], int(words[3]), int(words[4])
        dcc = reactor.dcc("raw")
        t = Transfer(dcc, name, size)
        # the first as NAME, more of the same name as NAME.2, NAME.3...
        same = sum(1 for o in transfers.values() if o.name == name)
        t.out = open(os.path.join(outdir, name if not same else "%s.%d" % (name, same + 1)), "wb")
        transfers[dcc] = t
        try:
            dcc.connect(irc.client.ip_numstr_to_quad(addr), p)
        except irc.client.DCCConnectionError:
            t.state = "refused"

    def on_dccmsg(c, e):
        t = transfers[c]
        data = e.arguments[0]
        t.out.write(data)
        t.bytes += len(data)
        c.send_bytes(struct.pack("!I", t.bytes & 0xFFFFFFFF))

    def on_dcc_disconnect(c, e):
        t = transfers.get(c)
        if t and t.state is None:
            msg = e.arguments[0] if e.arguments else ""
            t.state = "complete" if t.bytes == t.size else ("reset" if "reset" in msg else "short")

    notices = open(os.path.join(outdir, nick + ".notices"), "w", encoding="utf-8")

    told = []

    def on_notice(c, e):
        told.append(1)
        if not notices.closed:
            notices.write("%s\n" % (e.arguments[0] if e.arguments else ""))
            notices.flush()

    conn.add_global_handler("ctcp", on_ctcp)
    conn.add_global_handler("privnotice", on_notice)
    reactor.add_global_handler("dccmsg", on_dccmsg)
    reactor.add_global_handler("dcc_disconnect", on_dcc_disconnect)
    open(ready, "w").close()
    done = os.path.join(outdir, "done")
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        reactor.process_once(0.05)
        finished = [t for t in transfers.values() if t.state]
        if len(finished) >= count and os.path.exists(done):
            break
    # A cut transfer's notice comes on the IRC connection, beside the DCC
    # reset: it may arrive just after the reset; read on for it (bounded).
    linger = time.time() + 3
    while (any(t.state in ("reset", "short") for t in transfers.values()) and not told
           and time.time() < linger):
        reactor.process_once(0.05)
    with open(os.path.join(outdir, nick + ".received"), "w") as f:
        for t in transfers.values():
            t.out.close()
            f.write("%s %d %s\n" % (t.name, t.bytes, t.state or "open"))
    notices.close()
    conn.quit("bye")
    reactor.process_once(0.5)
    return 0 if len(transfers) >= count and all(t.state for t in transfers.values()) else 1


class Sending:
    def __init__(self, dcc, data):
        self.dcc = dcc
        self.data = data
        self.sent = 0
        self.acked = 0
        self.state = None


def listen_on(reactor, ip):
    """python3-irc's DCCConnection.listen, bound to ip."""
    dcc = reactor.dcc("raw")
    dcc.buffer = None
    dcc.handlers = {}
    dcc.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dcc.passive = 1
    dcc.socket.bind((ip, 0))
    dcc.localaddress, dcc.localport = dcc.socket.getsockname()
    dcc.socket.listen(10)
    return dcc


def send_chunk(s):
    chunk = s.data[s.sent:s.sent + CHUNK]
    try:
        s.dcc.socket.sendall(chunk)
    except OSError as x:
        s.state = "reset" if x.errno in (errno.ECONNRESET, errno.EPIPE) else "closed"
        return
    s.sent += len(chunk)


def send(host, port, nick, to, path, listen_ip, outdir, count):
    reactor = irc.client.IRC()
    conn = register(reactor, host, port, nick)
    data = open(path, "rb").read()
    name = os.path.basename(path)
    sends = {}

    def on_dcc_connect(c, e):
        s = sends[c]
        if not s.data:
            c.disconnect()
        else:
            send_chunk(s)

    def on_dccmsg(c, e):
        s = sends[c]
        buf = e.arguments[0]
        for i in range(0, len(buf) - 3, 4):
            s.acked = struct.unpack("!I", buf[i:i + 4])[0]
        if s.acked == len(s.data):
            s.state = "acked"
            c.disconnect()
        elif s.acked == s.sent and s.state is None:
            send_chunk(s)

    def on_dcc_disconnect(c, e):
        s = sends.get(c)
        if s and s.state is None:
            msg = e.arguments[0] if e.arguments else ""
            s.state = "reset" if "reset" in msg else "closed"

    reactor.add_global_handler("dcc_connect", on_dcc_connect)
    reactor.add_global_handler("dccmsg", on_dccmsg)
    reactor.add_global_handler("dcc_disconnect", on_dcc_disconnect)
    for _ in range(count):
        dcc = listen_on(reactor, listen_ip)
        sends[dcc] = Sending(dcc, data)
        conn.ctcp("DCC", to, "SEND %s %s %d %d" % (
            name, irc.client.ip_quad_to_numstr(dcc.localaddress), dcc.localport, len(data)))
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and not all(s.state for s in sends.values()):
        reactor.process_once(0.05)
    with open(os.path.join(outdir, nick + ".sent"), "w") as f:
        for s in sends.values():
            f.write("%d %s\n" % (s.acked, s.state or "open"))
    open(os.path.join(outdir, "done"), "w").close()
    conn.quit("bye")
    reactor.process_once(0.5)
    return 0 if all(s.state for s in sends.values()) else 1


def main():
    a = sys.argv[1:]
    if len(a) >= 6 and a[0] == "receive":
        count = int(a[6]) if len(a) > 6 else 1
        return receive(a[1], int(a[2]), a[3], a[4], a[5], count)
    if len(a) >= 8 and a[0] == "send":
        count = int(a[8]) if len(a) > 8 else 1
        return send(a[1], int(a[2]), a[3], a[4], a[5], a[6], a[7], count)
    sys.exit(__doc__)


sys.exit(main())
