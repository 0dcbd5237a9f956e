#!/usr/bin/env python3
"""Real XMPP clients (Debian's python3-slixmpp) driven by a small plan.

Usage: xmpp_client.py [--proxy PHOST:PPORT] HOST PORT DOMAIN PASSWORD PLAN OUTDIR

With --proxy every stream goes through that HTTP proxy's CONNECT tunnel
(slixmpp 1.8 has no proxy option of its own: the event loop's
create_connection is handed the tunnelled socket).

One process runs every user the plan connects, in one event loop, so a
plan can order what several clients say. Logins are cleartext (no
STARTTLS, SASL PLAIN), every client binds the resource "peer". PLAN has
one step a line, done in order ("#" lines and blank lines are skipped):

  connect USER             log in USER@DOMAIN/peer and send presence
  say USER TO TEXT...      a chat message to TO@DOMAIN (TEXT is the rest)
  wait USER COUNT          wait until USER has received COUNT messages
  quit USER                close the stream and wait for the server's close
  connect-tls USER         log in using STARTTLS when the server offers it
                           (any certificate accepted); OUTDIR/USER.tls gets
                           "tls" if the stream went to TLS, else "clear"
  connect-sm USER          the same with XEP-0198 stream management asked
                           for (slixmpp's xep_0198), if the server offers it
  sm USER on|off           check whether stream management got enabled
  signal USER PATH         create the file PATH (tells another process
                           in another namespace that USER is online)

Every received chat message body (and headline: a notice, whose sender
may be a server's domain) is appended to OUTDIR/USER.got as
"SENDER-BARE-JID TEXT" (newlines in a body as "\\n"). OUTDIR/USER.status
gets one word: "clean" when the stream stayed up until our close and the
server closed its side in answer, "early" when the connection ended
before, "open" otherwise. Exit 0 when every step was done in time.
"""
import asyncio
import os
import socket
import ssl
import sys

import slixmpp

STEP_TIMEOUT = 20


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, outdir, user):
        super().__init__(jid, password)
        self.got = []
        self.ready = asyncio.Event()
        self.changed = asyncio.Event()
        self.failed = False
        self.sm_enabled = False
        self.quit_sent = False
        self.end_reason = None
        self.closed = False
        self.closed_early = False
        self.got_file = open(os.path.join(outdir, user + ".got"), "w", encoding="utf-8")
        self.status_file = os.path.join(outdir, user + ".status")
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", self.on_fail)
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("sm_enabled", self.on_sm_enabled)
        self.add_event_handler("tls_success", self.on_tls)
        self.tls = False
        self.tls_file = os.path.join(outdir, user + ".tls")

    def on_tls(self, _event):
        self.tls = True

    def on_sm_enabled(self, _event):
        self.sm_enabled = True
        self.changed.set()

    async def on_start(self, _event):
        self.send_presence()
        # A message to a bare JID reaches only resources the server knows
        # as available: the answer to a query sent after the presence says
        # the server has processed it (a session's stanzas go in order).
        await self.get_roster()
        self.ready.set()

    def on_fail(self, _event):
        self.failed = True
        self.ready.set()

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal", "headline") and msg["body"]:
            body = msg["body"]
            self.got.append((msg["from"].bare, body))
            self.got_file.write("%s %s\n" % (msg["from"].bare, body.replace("\n", "\\n")))
            self.got_file.flush()
            self.changed.set()

    def on_disconnected(self, _event):
        if not self.closed:
            self.closed = True
            self.closed_early = not self.quit_sent
            # slixmpp's name for the server's </stream:stream>
            self.end_reason = self.disconnect_reason
        self.changed.set()

    def status(self):
        if self.closed_early:
            return "early"
        if self.closed and self.end_reason == "End of stream":
            return "clean"
        return "open"


async def wait_for(client, cond):
    async def loop():
        while not cond():
            if client.closed_early:
                return False
            client.changed.clear()
            await client.changed.wait()
        return True
    return await asyncio.wait_for(loop(), STEP_TIMEOUT)


async def run(host, port, domain, password, steps, outdir, clients):
    for n, line in enumerate(steps, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        words = line.split()
        op, user = words[0], words[1]
        ok = True
        if op in ("connect", "connect-sm", "connect-tls"):
            c = Client("%s@%s/peer" % (user, domain), password, outdir, user)
            if op == "connect-sm":
                c.register_plugin("xep_0198")
            clients[user] = c
            if op == "connect-tls":
                # A test server's throw-away certificate.
                c.ssl_context.check_hostname = False
                c.ssl_context.verify_mode = ssl.CERT_NONE
            c.connect((host, port), disable_starttls=op != "connect-tls", use_ssl=False,
                      force_starttls=False)
            c["feature_mechanisms"].unencrypted_plain = True
            await asyncio.wait_for(c.ready.wait(), STEP_TIMEOUT)
            ok = not c.failed
        elif op == "say":
            text = line.split(None, 3)[3]
            clients[user].send_message(mto="%s@%s" % (words[2], domain), mbody=text, mtype="chat")
        elif op == "wait":
            c, count = clients[user], int(words[2])
            ok = await wait_for(c, lambda: len(c.got) >= count)
        elif op == "quit":
            c = clients[user]
            c.quit_sent = True
            await c.disconnect(wait=STEP_TIMEOUT)
            ok = await wait_for(c, lambda: c.closed)
        elif op == "sm":
            # Enabling follows the session start closely: give it a moment.
            c, want = clients[user], words[2] == "on"
            if want:
                ok = await wait_for(c, lambda: c.sm_enabled)
            else:
                await asyncio.sleep(1)
                ok = not c.sm_enabled
        elif op == "signal":
            with open(words[2], "w"):
                pass
        else:
            raise ValueError("unknown step " + op)
        if not ok:
            print("step %d failed: %s" % (n, line), file=sys.stderr)
            return 1
    return 0


def tunnel(proxy, host, port):
    phost, pport = proxy.rsplit(":", 1)
    sock = socket.create_connection((phost, int(pport)), timeout=STEP_TIMEOUT)
    target = "%s:%d" % (host, port)
    sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise OSError("proxy closed the connection")
        head += chunk
    if head.split(b" ", 2)[1] != b"200":
        raise OSError("proxy answered %r" % head.split(b"\r\n")[0])
    sock.setblocking(False)
    return sock


def use_proxy(loop, proxy):
    plain = loop.create_connection

    async def via_proxy(factory, host=None, port=None, **kw):
        if kw.get("sock") is not None or kw.get("ssl"):
            return await plain(factory, host, port, **kw)
        kw.pop("server_hostname", None)
        return await plain(factory, sock=tunnel(proxy, host, port), **kw)
    loop.create_connection = via_proxy


def main():
    args = sys.argv[1:]
    proxy = None
    if args and args[0] == "--proxy":
        proxy, args = args[1], args[2:]
    host, port, domain, password, plan, outdir = args[:6]
    with open(plan, encoding="utf-8") as f:
        steps = [l.rstrip("\n") for l in f]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if proxy:
        use_proxy(loop, proxy)
    clients = {}
    try:
        rc = loop.run_until_complete(run(host, int(port), domain, password, steps, outdir, clients))
    except asyncio.TimeoutError:
        print("timeout", file=sys.stderr)
        rc = 1
    for c in clients.values():
        with open(c.tls_file, "w") as f:
            f.write("tls\n" if c.tls else "clear\n")
        c.got_file.close()
        with open(c.status_file, "w") as f:
            f.write(c.status() + "\n")
    sys.exit(rc)


if __name__ == "__main__":
    main()
