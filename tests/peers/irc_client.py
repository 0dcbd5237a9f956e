#!/usr/bin/env python3
"""Real IRC clients (Debian's python3-irc) driven by a small plan.

Usage: irc_client.py [--ctcp] [--kinds] [--proxy PHOST:PPORT] HOST PORT PLAN OUTDIR

With --proxy every connection goes through that HTTP proxy: "CONNECT
HOST:PORT HTTP/1.1" and, once it answered 200, IRC on the same socket.

One process runs every nick the plan connects, in one select loop, so a
plan can order what several clients say. PLAN has one step a line, done
in order (blank lines and lines starting with "#" are skipped):

  connect NICK             open a connection and register NICK
  join NICK CHANNEL        join CHANNEL and wait until the server confirms
  members NICK CHANNEL N.. wait until NICK sees every nick N.. in CHANNEL
  say NICK TARGET TEXT...  PRIVMSG TARGET :TEXT (TEXT is the rest of the line)
  raw NICK LINE...         send LINE as it is (a PRIVMSG without ':', say)
  wait NICK COUNT          wait until NICK has received COUNT messages
  quit NICK                send QUIT and wait for the server to close
  signal NICK FILE         create FILE (another plan waits for it)

Every received PRIVMSG or NOTICE from a user is appended to OUTDIR/NICK.got
as "SENDER TARGET TEXT"; with --ctcp, CTCP requests too, as "SENDER TARGET
CTCP WORDS" (so an offer that should have been removed shows). With --kinds,
each line starts with the command, "PRIVMSG " or "NOTICE ", and notices from
a server are kept too, the server's name as SENDER (so who a notice seems to
come from shows). OUTDIR/NICK.status gets one word: "clean" when
the connection stayed up until our QUIT and then the server answered with
ERROR and closed it, "early" when it closed before, "open" otherwise.
Exit status 0 when every step was done within its time bound, 1 otherwise.
"""
import os
import socket
import sys
import time

import irc.buffer
import irc.client

STEP_TIMEOUT = 20
CONNECT_TIMEOUT = 10


class Peer:
    def __init__(self, nick, outdir):
        self.nick = nick
        self.conn = None
        self.welcomed = False
        self.got = []
        self.channels = {}
        self.quit_sent = False
        self.error_after_quit = False
        self.closed = False
        self.closed_early = False
        self.got_file = open(os.path.join(outdir, nick + ".got"), "w", encoding="utf-8")
        self.status_file = os.path.join(outdir, nick + ".status")

    def status(self):
        if self.closed_early:
            return "early"
        if self.closed and self.quit_sent and self.error_after_quit:
            return "clean"
        return "open"


def proxy_factory(proxy):
    """A connect_factory for python3-irc: a socket to the target through
    an HTTP proxy's CONNECT tunnel."""
    phost, pport = proxy.rsplit(":", 1)

    def connect(address):
        sock = socket.create_connection((phost, int(pport)), timeout=CONNECT_TIMEOUT)
        target = "%s:%d" % address
        sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)  # byte by byte: nothing after the head is taken
            if not chunk:
                raise OSError("proxy closed the connection")
            head += chunk
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise OSError("proxy answered %r" % head.split(b"\r\n")[0])
        sock.settimeout(None)
        return sock
    return connect


class Driver:
    def __init__(self, host, port, outdir, record_ctcp=False, kinds=False, proxy=None):
        self.kinds = kinds
        self.host = host
        self.port = port
        self.proxy = proxy
        self.outdir = outdir
        self.irc = irc.client.IRC()
        self.peers = {}
        self.by_conn = {}
        for ev in ("welcome", "pubmsg", "privmsg", "pubnotice", "privnotice", "join",
                   "namreply", "part", "quit", "error", "disconnect"):
            self.irc.add_global_handler(ev, getattr(self, "on_" + ev))
        if record_ctcp:
            self.irc.add_global_handler("ctcp", self.on_ctcp)

    # ---- events --------------------------------------------------------
    def peer(self, conn):
        return self.by_conn.get(id(conn))

    def on_ctcp(self, conn, ev):
        p = self.peer(conn)
        text = "CTCP " + " ".join(ev.arguments)
        p.got.append((ev.source.nick, ev.target, text))
        p.got_file.write("%s %s %s\n" % (ev.source.nick, ev.target, text))
        p.got_file.flush()

    def on_welcome(self, conn, _ev):
        self.peer(conn).welcomed = True

    def record(self, conn, ev):
        p = self.peer(conn)
        sender = ev.source.nick if ev.source else ""
        server = bool(sender) and "!" not in ev.source
        if not sender or (server and not (self.kinds and "notice" in ev.type)):
            return  # a server notice, not a user's message
        if server and ev.target in ("*", "AUTH"):
            return  # the server talking to a connection not yet registered
        text = ev.arguments[0] if ev.arguments else ""
        kind = ("NOTICE " if "notice" in ev.type else "PRIVMSG ") if self.kinds else ""
        p.got.append((sender, ev.target, text))
        p.got_file.write("%s%s %s %s\n" % (kind, sender, ev.target, text))
        p.got_file.flush()

    on_pubmsg = on_privmsg = on_pubnotice = on_privnotice = record

    def on_join(self, conn, ev):
        self.peer(conn).channels.setdefault(ev.target.lower(), set()).add(ev.source.nick)

    def on_namreply(self, conn, ev):
        # arguments: "=" channel "nick1 @nick2 ..."
        chan = ev.arguments[1].lower()
        names = self.peer(conn).channels.setdefault(chan, set())
        for n in ev.arguments[2].split():
            names.add(n.lstrip("@+%&~"))

    def on_part(self, conn, ev):
        self.peer(conn).channels.get(ev.target.lower(), set()).discard(ev.source.nick)

    def on_quit(self, conn, ev):
        for names in self.peer(conn).channels.values():
            names.discard(ev.source.nick)

    def on_error(self, conn, _ev):
        p = self.peer(conn)
        if p.quit_sent:
            p.error_after_quit = True

    def on_disconnect(self, conn, _ev):
        p = self.peer(conn)
        if not p.closed:
            p.closed = True
            p.closed_early = not p.quit_sent

    # ---- steps ---------------------------------------------------------
    def until(self, cond, timeout=STEP_TIMEOUT):
        end = time.monotonic() + timeout
        while not cond():
            left = end - time.monotonic()
            if left <= 0:
                return False
            if any(p.closed_early for p in self.peers.values()):
                return False
            self.irc.process_once(min(left, 0.1))
        return True

    def step(self, words, rest):
        op, nick = words[0], words[1]
        if op == "connect":
            p = Peer(nick, self.outdir)
            self.peers[nick] = p
            p.conn = self.irc.server()
            self.by_conn[id(p.conn)] = p
            kw = {"connect_factory": proxy_factory(self.proxy)} if self.proxy else {}
            p.conn.connect(self.host, self.port, nick, username=nick, ircname=nick, **kw)
            return self.until(lambda: p.welcomed, CONNECT_TIMEOUT)
        p = self.peers[nick]
        if op == "join":
            chan = words[2].lower()
            p.conn.join(words[2])
            return self.until(lambda: nick in p.channels.get(chan, set()))
        if op == "members":
            chan = words[2].lower()
            want = set(words[3:])
            return self.until(lambda: want <= p.channels.get(chan, set()))
        if op == "say":
            p.conn.privmsg(words[2], rest)
            return True
        if op == "raw":
            p.conn.send_raw(rest)
            return True
        if op == "wait":
            n = int(words[2])
            return self.until(lambda: len(p.got) >= n)
        if op == "signal":
            open(words[2], "w").close()
            return True
        if op == "quit":
            p.conn.quit("bye")
            p.quit_sent = True
            # The library's disconnect() sends a QUIT of its own when the
            # server closes: ours was the only one, so make it a no-op.
            p.conn.quit = lambda message="": None
            return self.until(lambda: p.closed)
        raise ValueError("unknown step " + op)

    def finish(self):
        for p in self.peers.values():
            p.got_file.close()
            with open(p.status_file, "w") as f:
                f.write(p.status() + "\n")


def main():
    args = sys.argv[1:]
    record_ctcp = kinds = False
    while args and args[0] in ("--ctcp", "--kinds"):
        record_ctcp |= args[0] == "--ctcp"
        kinds |= args[0] == "--kinds"
        args = args[1:]
    proxy = None
    if args and args[0] == "--proxy":
        proxy, args = args[1], args[2:]
    host, port, plan, outdir = args[:4]
    d = Driver(host, int(port), outdir, record_ctcp, kinds, proxy)
    rc = 0
    with open(plan, encoding="utf-8") as f:
        steps = [l.rstrip("\n") for l in f]
    try:
        for n, line in enumerate(steps, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            words = line.split()
            rest = line.split(None, 3)[3] if words[0] == "say" else ""
            if words[0] == "raw":
                rest = line.split(None, 2)[2]
            if not d.step(words, rest):
                print("step %d failed or timed out: %s" % (n, line), file=sys.stderr)
                rc = 1
                break
    except (irc.client.ServerConnectionError, OSError) as err:
        print("connection error: %s" % err, file=sys.stderr)
        rc = 1
    d.finish()
    sys.exit(rc)


if __name__ == "__main__":
    main()
