#!/usr/bin/env python3
"""Many real IRC conversations at once (Debian's python3-irc), for the chaos suite.

Usage: irc_chaos.py HOST PORT PAIRS MESSAGES INTERVAL OUTDIR [SECONDS [GOFILE]]

One process connects 2*PAIRS clients, a00/b00 ... , in one select loop.
Once every client is welcomed it creates OUTDIR/online (and, with GOFILE,
waits idle until that file exists), then every client
sends MESSAGES private messages to its partner (aNN <-> bNN), one per
INTERVAL seconds each, all conversations interleaved, both directions.
Message k of a sender S to R reads

    m<k> S secret <padding>

with a padding of 10..150 characters (some UTF-8) chosen by k and S, so
lengths are realistic and every line is different. When every message
was sent and received (or SECONDS have passed since the start: default
120), every client QUITs and waits for the server to close.

OUTDIR/NICK.sent: one line per message sent: "k<TAB>unix time<TAB>text".
OUTDIR/NICK.got:  one line per PRIVMSG received, in order of arrival:
                  "sender<TAB>unix time<TAB>text".
OUTDIR/NICK.other: what else the server said while the messages went
                  (after OUTDIR/online, before our QUIT), one
                  "unix time<TAB>numeric<TAB>event type<TAB>arguments"
                  line each (numeric empty for a command). An error reply
                  (4xx, 5xx) says what a mangled line looked like to the
                  server: it refuses it rather than relay it.
OUTDIR/NICK.status: "clean" when the connection stayed up until our QUIT
                  and the server then closed it; "early" when it closed
                  before; "open" when it never closed.
Exit status 0 when every client got every message and ended clean.
The checking is done by chaos_check.py, which knows the policy.
"""
import os
import sys
import time

import irc.buffer
import irc.client
import irc.events

# A line that is not UTF-8 (bytes spliced at a wrong offset) is received
# with U+FFFD in place of what does not decode, and the checker counts it
# corrupted; strict decoding would raise in the select loop and end every
# client of this process at once, hiding the count.
irc.buffer.DecodingLineBuffer.errors = "replace"

CONNECT_TIMEOUT = 20
# Events every client sees, not worth keeping in NICK.other.
QUIET = {"privmsg", "ping", "pong", "all_raw_messages", "disconnect", "quit"}
NUMERIC = {name: code for code, name in irc.events.numeric.items()}
QUIT_TIMEOUT = 10


def padding(k, nick):
    """10..150 characters, a fifth of them with UTF-8 sequences."""
    seed = (k * 7919 + sum(map(ord, nick)) * 104729) % 1000003
    n = 10 + seed % 141
    base = "lorem ipsum dolor sit amet consectetur adipiscing elit "
    if seed % 5 == 0:
        base = "grüße aus köln – naïve café ☕ "
    out = (base * (n // len(base) + 1))[:n]
    return out.rstrip() or "x"


def message(k, nick):
    return "m%d %s secret %s" % (k, nick, padding(k, nick))


class Client:
    def __init__(self, nick, partner, outdir):
        self.nick = nick
        self.partner = partner
        self.conn = None
        self.welcomed = False
        self.next_k = 0
        self.received = 0
        self.quit_sent = False
        self.closed = False
        self.closed_early = False
        self.sent_f = open(os.path.join(outdir, nick + ".sent"), "w", encoding="utf-8")
        self.got_f = open(os.path.join(outdir, nick + ".got"), "w", encoding="utf-8")
        self.other_f = open(os.path.join(outdir, nick + ".other"), "w", encoding="utf-8")
        self.status_path = os.path.join(outdir, nick + ".status")

    def status(self):
        if self.closed_early:
            return "early"
        if self.closed and self.quit_sent:
            return "clean"
        return "open"


def main(argv):
    if len(argv) < 7:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = argv[1], int(argv[2])
    pairs, messages, interval = int(argv[3]), int(argv[4]), float(argv[5])
    outdir = argv[6]
    limit = float(argv[7]) if len(argv) > 7 else 120.0
    gofile = argv[8] if len(argv) > 8 else None
    start = time.time()
    reactor = irc.client.IRC()
    clients = {}
    by_conn = {}
    for i in range(pairs):
        a, b = "a%02d" % i, "b%02d" % i
        clients[a] = Client(a, b, outdir)
        clients[b] = Client(b, a, outdir)

    def on_welcome(conn, ev):
        by_conn[id(conn)].welcomed = True

    def on_privmsg(conn, ev):
        c = by_conn[id(conn)]
        text = ev.arguments[0] if ev.arguments else ""
        c.got_f.write("%s\t%.6f\t%s\n" % (ev.source.nick, time.time(), text))
        c.got_f.flush()
        c.received += 1

    def on_disconnect(conn, ev):
        c = by_conn[id(conn)]
        c.closed = True
        if not c.quit_sent:
            c.closed_early = True

    talking = False

    def on_other(conn, ev):
        c = by_conn.get(id(conn))
        if c is None or not talking or c.quit_sent or ev.type in QUIET:
            return
        c.other_f.write("%.6f\t%s\t%s\t%r\n" %
                        (time.time(), NUMERIC.get(ev.type, ""), ev.type, ev.arguments))
        c.other_f.flush()

    reactor.add_global_handler("welcome", on_welcome)
    reactor.add_global_handler("all_events", on_other, 10)
    reactor.add_global_handler("privmsg", on_privmsg)
    reactor.add_global_handler("disconnect", on_disconnect)
    for c in clients.values():
        c.conn = reactor.server().connect(host, port, c.nick, username=c.nick, ircname=c.nick)
        by_conn[id(c.conn)] = c

    deadline = time.time() + CONNECT_TIMEOUT
    while not all(c.welcomed for c in clients.values()) and time.time() < deadline:
        reactor.process_once(0.05)
    if not all(c.welcomed for c in clients.values()):
        print("not every client was welcomed", file=sys.stderr)
        return 1
    open(os.path.join(outdir, "online"), "w").close()
    talking = True
    while gofile and not os.path.exists(gofile) and time.time() - start < limit:
        reactor.process_once(0.05)

    next_round = time.time()
    while time.time() - start < limit:
        now = time.time()
        if now >= next_round and any(c.next_k < messages for c in clients.values()):
            for c in clients.values():
                if c.next_k < messages and not c.closed:
                    text = message(c.next_k, c.nick)
                    try:
                        c.conn.privmsg(c.partner, text)
                    except irc.client.ServerNotConnectedError:
                        c.closed = c.closed_early = True
                        continue
                    c.sent_f.write("%d\t%.6f\t%s\n" % (c.next_k, time.time(), text))
                    c.sent_f.flush()
                    c.next_k += 1
            next_round += interval
        if all(c.next_k >= messages and c.received >= messages for c in clients.values()):
            break
        if all(c.closed for c in clients.values()):
            break
        reactor.process_once(0.01)

    for c in clients.values():
        if not c.closed:
            c.quit_sent = True
            try:
                c.conn.quit("done")
            except irc.client.ServerNotConnectedError:
                c.closed = c.closed_early = True
    deadline = time.time() + QUIT_TIMEOUT
    while not all(c.closed for c in clients.values()) and time.time() < deadline:
        reactor.process_once(0.05)
    ok = True
    for c in clients.values():
        with open(c.status_path, "w") as f:
            f.write(c.status() + "\n")
        c.sent_f.close()
        c.got_f.close()
        c.other_f.close()
        if c.status() != "clean" or c.received < messages:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
