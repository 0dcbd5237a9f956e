#!/usr/bin/env python3
"""An IRC client that uses STARTTLS whenever the server offers it.

Written here as a last resort: python3-irc, Debian's IRC client library,
has no STARTTLS. It follows IRCv3 (CAP LS 302; "tls" offered -> STARTTLS,
670 -> TLS handshake, any certificate accepted; 691 -> stays in clear).

Usage: irc_tls_client.py HOST PORT NICK OUTDIR STEP...
Steps, in order: "say:TARGET:TEXT", "wait:N" (until N PRIVMSGs received),
"sleep:SECONDS". After the last step: QUIT, and wait for the server's close.
OUTDIR/NICK.got gets "SENDER TARGET TEXT" per PRIVMSG received,
OUTDIR/NICK.tls "tls" or "clear", OUTDIR/NICK.status "clean" when the
server closed after our QUIT. Exit 0 when every step was done in time.
"""
import os
import socket
import ssl
import sys
import time

TIMEOUT = 20


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.buf = b""
        self.tls = False

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def line(self, deadline):
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def starttls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)
        self.tls = True


def words(line):
    prefix = ""
    if line.startswith(":"):
        prefix, line = line[1:].split(" ", 1)
    trailer = None
    if " :" in line:
        line, trailer = line.split(" :", 1)
    parts = line.split()
    if trailer is not None:
        parts.append(trailer)
    return prefix, parts


def main():
    host, port, nick, outdir = sys.argv[1:5]
    steps = sys.argv[5:]
    got = open(os.path.join(outdir, nick + ".got"), "w", encoding="utf-8")
    c = Conn(host, int(port))
    status, received, rc = "open", 0, 1
    deadline = time.monotonic() + TIMEOUT
    try:
        c.send("CAP LS 302")
        caps = []
        while True:
            prefix, p = words(c.line(deadline))
            if len(p) >= 3 and p[0] == "CAP" and p[2] == "LS":
                caps += p[-1].split()
                if p[3:4] != ["*"]:
                    break
        if "tls" in caps:
            c.send("STARTTLS")
            while True:
                prefix, p = words(c.line(deadline))
                if p and p[0] == "670":
                    c.starttls()
                    break
                if p and p[0] == "691":
                    break
        c.send("CAP END")
        c.send("NICK " + nick)
        c.send("USER %s 0 * :%s" % (nick, nick))

        def pump(until):
            nonlocal received
            while not until():
                line = c.line(time.monotonic() + TIMEOUT)
                if line is None:
                    return False
                prefix, p = words(line)
                if p and p[0] == "PING":
                    c.send("PONG :" + p[-1])
                elif len(p) >= 3 and p[0] == "PRIVMSG":
                    got.write("%s %s %s\n" % (prefix.split("!")[0], p[1], p[2]))
                    got.flush()
                    received += 1
                elif p and p[0] == "001":
                    pump.welcomed = True
            return True
        pump.welcomed = False
        if not pump(lambda: pump.welcomed):
            raise OSError("no welcome")
        for step in steps:
            kind, _, rest = step.partition(":")
            if kind == "say":
                target, _, text = rest.partition(":")
                c.send("PRIVMSG %s :%s" % (target, text))
            elif kind == "wait":
                n = int(rest)
                if not pump(lambda: received >= n):
                    raise OSError("closed while waiting")
            elif kind == "sleep":
                time.sleep(float(rest))
        c.send("QUIT :bye")
        while c.line(time.monotonic() + TIMEOUT) is not None:
            pass
        status, rc = "clean", 0
    except (OSError, ssl.SSLError, TypeError) as err:
        print("%s: %s" % (nick, err), file=sys.stderr)
    got.close()
    with open(os.path.join(outdir, nick + ".tls"), "w") as f:
        f.write("tls\n" if c.tls else "clear\n")
    with open(os.path.join(outdir, nick + ".status"), "w") as f:
        f.write(status + "\n")
    sys.exit(rc)


if __name__ == "__main__":
    main()
