#!/usr/bin/env python3
"""Two real slixmpp clients exchange messages through a real XMPP server.

Usage: xmpp_chat.py HOST PORT DOMAIN PASSWORD MSG_FILE
Logs in alice@DOMAIN and bob@DOMAIN in cleartext (no STARTTLS, PLAIN),
alice sends the lines of MSG_FILE prefixed "a:" to bob, bob answers each
line prefixed "b:" with one message back; the script exits 0 once both
sides received everything, 1 on a timeout or a login failure.
"""
import asyncio
import sys

import slixmpp

TIMEOUT = 30


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, expect):
        super().__init__(jid, password)
        self.expect = expect
        self.got = []
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.failed = False
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("failed_auth", self.on_fail)

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
        self.done.set()

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            self.got.append(msg["body"])
            if len(self.got) >= self.expect:
                self.done.set()


async def run(host, port, domain, password, lines):
    alice = Client("alice@%s/peer" % domain, password, len(lines))
    bob = Client("bob@%s/peer" % domain, password, len(lines))
    for c in (alice, bob):
        c.connect((host, port), disable_starttls=True, use_ssl=False, force_starttls=False)
        c["feature_mechanisms"].unencrypted_plain = True
    await asyncio.wait_for(asyncio.gather(alice.ready.wait(), bob.ready.wait()), TIMEOUT)
    if alice.failed or bob.failed:
        print("login failed", file=sys.stderr)
        return 1
    for line in lines:
        alice.send_message(mto="bob@%s" % domain, mbody="a:" + line, mtype="chat")
        await asyncio.sleep(0.2)
    await asyncio.wait_for(bob.done.wait(), TIMEOUT)
    for line in bob.got:
        bob.send_message(mto="alice@%s" % domain, mbody="b:" + line[2:], mtype="chat")
        await asyncio.sleep(0.2)
    await asyncio.wait_for(alice.done.wait(), TIMEOUT)
    await asyncio.sleep(0.5)
    for c in (alice, bob):
        c.disconnect()
    await asyncio.sleep(1)
    ok = bob.got == ["a:" + l for l in lines] and alice.got == ["b:" + l for l in lines]
    if not ok:
        print("got alice=%r bob=%r" % (alice.got, bob.got), file=sys.stderr)
    return 0 if ok else 1


def main():
    host, port, domain, password, msg_file = sys.argv[1:6]
    with open(msg_file, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        rc = loop.run_until_complete(run(host, int(port), domain, password, lines))
    except asyncio.TimeoutError:
        print("timeout", file=sys.stderr)
        rc = 1
    sys.exit(rc)


if __name__ == "__main__":
    main()
