#!/usr/bin/env python3
"""A file sent between two real XMPP clients (Debian's python3-slixmpp):
an SI file-transfer offer (XEP-0096 over XEP-0095: slixmpp's xep_0096
stanza, sent by its xep_0095) and the bytes over an in-band bytestream (XEP-0047,
slixmpp's xep_0047), through the server.

Usage:
  xmpp_file.py receive HOST PORT DOMAIN PASSWORD USER OUTDIR READY
  xmpp_file.py send HOST PORT DOMAIN PASSWORD USER TO FILE OUTDIR

receive: logs in USER@DOMAIN/peer (cleartext, SASL PLAIN), creates READY,
accepts the first offer, keeps what arrives in OUTDIR/NAME and writes
"NAME BYTES STATE" to OUTDIR/USER.received: STATE "closed" when the
sender closed the stream, "open" when the time ran out first.
send: logs in, offers FILE to TO@DOMAIN/peer, sends it in-band once the
offer is accepted, closes the stream, and writes "BYTES STATE" to
OUTDIR/USER.sent ("sent" or the error). Exit 0 when all of it ran within
the time bound.
"""
import asyncio
import os
import sys

import slixmpp
from slixmpp.plugins.xep_0096.stanza import File
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath

TIMEOUT = 60


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0047", {"auto_accept": True, "block_size": 4096})
        self.register_plugin("xep_0095")
        self.register_plugin("xep_0096")
        self.started = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        # slixmpp 1.8.3 registers xep_0095's coroutine request handler as a
        # plain callback (never awaited): the same handler, awaited.
        self.remove_handler("SI Request")
        self.register_handler(CoroutineCallback(
            "SI Request", StanzaPath("iq@type=set/si"), self["xep_0095"]._handle_request))

    async def on_start(self, _event):
        self.send_presence()
        self.started.set()


def login(p, host, port):
    p.connect((host, port), disable_starttls=True, use_ssl=False, force_starttls=False)
    p["feature_mechanisms"].unencrypted_plain = True


async def run_receive(host, port, domain, password, user, outdir, ready):
    p = Peer("%s@%s/peer" % (user, domain), password)
    done = asyncio.Event()
    result = {}

    async def on_si(iq):
        result["name"] = iq["si"]["file"]["name"] or "unnamed"
        await p["xep_0095"].accept(iq["from"], iq["si"]["id"])

    async def on_stream(stream):
        data = await stream.gather(timeout=TIMEOUT)
        result["data"] = data
        result["state"] = "closed"
        done.set()

    p.add_event_handler("si_request", on_si)
    p.add_event_handler("ibb_stream_start", on_stream)
    login(p, host, port)
    await asyncio.wait_for(p.started.wait(), 20)
    open(ready, "w").close()
    try:
        await asyncio.wait_for(done.wait(), TIMEOUT)
    except asyncio.TimeoutError:
        result.setdefault("state", "open")
    name = result.get("name", "unnamed")
    data = result.get("data", b"")
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)
    with open(os.path.join(outdir, user + ".received"), "w") as f:
        f.write("%s %d %s\n" % (name, len(data), result.get("state", "open")))
    p.disconnect()
    await asyncio.sleep(0.5)
    return 0 if result.get("state") == "closed" else 1


async def run_send(host, port, domain, password, user, to, path, outdir):
    p = Peer("%s@%s/peer" % (user, domain), password)
    data = open(path, "rb").read()
    target = "%s@%s/peer" % (to, domain)
    sid = "imwire-%d" % os.getpid()
    state = "sent"
    login(p, host, port)
    await asyncio.wait_for(p.started.wait(), 20)
    try:
        # xep_0096's request_file_transfer sets every field, None ones
        # too, which its stanza refuses: the same offer with name and size.
        offer = File()
        offer["name"] = os.path.basename(path)
        offer["size"] = len(data)
        # Its list of stream methods must be mappings for this slixmpp's form.
        await p["xep_0095"].offer(target, sid=sid, profile=File.namespace, payload=offer,
                                  methods=[{"value": "http://jabber.org/protocol/ibb"}],
                                  timeout=20)
        stream = await p["xep_0047"].open_stream(target, sid=sid)
        await stream.sendall(data, timeout=TIMEOUT)
        await stream.close(timeout=20)
    except Exception as x:  # noqa: BLE001 - the state says what happened
        import traceback
        traceback.print_exc()
        state = type(x).__name__
    with open(os.path.join(outdir, user + ".sent"), "w") as f:
        f.write("%d %s\n" % (len(data), state))
    p.disconnect()
    await asyncio.sleep(0.5)
    return 0 if state == "sent" else 1


def main():
    a = sys.argv[1:]
    if len(a) == 8 and a[0] == "receive":
        coro = run_receive(a[1], int(a[2]), a[3], a[4], a[5], a[6], a[7])
    elif len(a) == 9 and a[0] == "send":
        coro = run_send(a[1], int(a[2]), a[3], a[4], a[5], a[6], a[7], a[8])
    else:
        sys.exit(__doc__)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(asyncio.wait_for(coro, TIMEOUT + 30))


sys.exit(main())
