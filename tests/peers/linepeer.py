#!/usr/bin/python3
"""A scripted TCP peer for the inline tests: a real kernel TCP stack on each
side, so what crosses the bridge is whatever Linux sends.

  linepeer.py server PORT SCRIPT OUT     accept one connection
  linepeer.py client HOST PORT SCRIPT OUT

SCRIPT is a file of steps, one a line:
  send TEXT            send TEXT + CRLF (\\r\\n escapes allowed in TEXT)
  sendsplit N TEXT     send TEXT + CRLF in N writes, 50 ms apart
  sendmany N TEXT      send N lines "TEXT i"
  bulk BYTES           send BYTES of NOTICE lines (1000 bytes each)
  bulkraw BYTES        send BYTES of non-IM filler (an HTTP-like body)
  sleep SECONDS
  nodelay on|off       TCP_NODELAY (Nagle off/on)
  expect BYTES         wait until BYTES bytes were received (10 s limit)
  expectline TEXT      wait until a received line equals TEXT (10 s limit)
  waitfile PATH        wait until PATH exists (10 s limit): the test's cue
  close                shut down the sending side
Everything received is written to OUT when the peer ends. Every wait is
bounded; the exit status is 0 only if every expectation was met.
"""
import os
import socket
import sys
import time

LIMIT = 10.0


def unescape(s):
    return s.replace("\\r", "\r").replace("\\n", "\n").encode("utf-8", "surrogateescape")


class Peer:
    def __init__(self, sock):
        self.sock = sock
        self.received = b""
        self.ok = True

    def pump(self, deadline):
        self.sock.settimeout(max(0.01, min(0.2, deadline - time.monotonic())))
        try:
            d = self.sock.recv(1 << 20)
            if d:
                self.received += d
                return True
            return False
        except socket.timeout:
            return True

    def wait(self, cond, what):
        deadline = time.monotonic() + LIMIT
        while not cond():
            if time.monotonic() > deadline:
                sys.stderr.write("linepeer: timed out waiting for %s\n" % what)
                self.ok = False
                return
            if not self.pump(deadline):
                if not cond():
                    sys.stderr.write("linepeer: connection closed waiting for %s\n" % what)
                    self.ok = False
                return

    def run(self, script):
        for raw in script:
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cmd, _, arg = line.partition(" ")
            if cmd == "send":
                self.sock.sendall(unescape(arg) + b"\r\n")
            elif cmd == "sendsplit":
                n, _, text = arg.partition(" ")
                data = unescape(text) + b"\r\n"
                n = int(n)
                step = max(1, len(data) // n)
                for i in range(n):
                    part = data[i * step:] if i == n - 1 else data[i * step:(i + 1) * step]
                    self.sock.sendall(part)
                    time.sleep(0.05)
            elif cmd == "sendmany":
                n, _, text = arg.partition(" ")
                self.sock.sendall(b"".join(unescape(text) + (" %d\r\n" % i).encode() for i in range(int(n))))
            elif cmd == "bulk":
                total = int(arg)
                line_ = b":srv NOTICE bulk :" + b"x" * 980 + b"\r\n"
                n = total // len(line_)
                chunk = line_ * 64
                sent = 0
                while sent < n:
                    k = min(64, n - sent)
                    self.sock.sendall(chunk[: k * len(line_)])
                    sent += k
            elif cmd == "bulkraw":
                total = int(arg)
                chunk = (b"<p>" + b"lorem ipsum dolor sit amet " * 36 + b"</p>\n")[:1000] * 64
                sent = 0
                while sent < total:
                    k = min(len(chunk), total - sent)
                    self.sock.sendall(chunk[:k])
                    sent += k
            elif cmd == "sleep":
                time.sleep(float(arg))
            elif cmd == "nodelay":
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if arg == "on" else 0)
            elif cmd == "expect":
                n = int(arg)
                self.wait(lambda: len(self.received) >= n, "%d bytes" % n)
            elif cmd == "expectline":
                want = unescape(arg)
                self.wait(lambda: want in self.received.split(b"\r\n"), repr(arg))
            elif cmd == "waitfile":
                deadline = time.monotonic() + LIMIT
                while not os.path.exists(arg) and time.monotonic() < deadline:
                    time.sleep(0.005)
                if not os.path.exists(arg):
                    sys.stderr.write("linepeer: timed out waiting for %s\n" % arg)
                    self.ok = False
            elif cmd == "close":
                self.sock.shutdown(socket.SHUT_WR)
            else:
                raise SystemExit("linepeer: unknown step %r" % line)
        # drain until the other side closes (bounded): a connection whose
        # FIN never arrives is a failure too
        deadline = time.monotonic() + LIMIT
        closed = False
        while time.monotonic() < deadline:
            if not self.pump(deadline):
                closed = True
                break
        if not closed:
            sys.stderr.write("linepeer: the other side never closed the connection\n")
            self.ok = False


def main():
    mode = sys.argv[1]
    if mode == "server":
        port, script, out = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        # Dual-stack: the same peer serves IPv4 and IPv6 clients.
        ls = socket.socket(socket.AF_INET6)
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("::", port))
        ls.listen(1)
        ls.settimeout(LIMIT * 2)
        sock, _ = ls.accept()
    else:
        host, port, script, out = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        sock = socket.create_connection((host, port), timeout=LIMIT)
    peer = Peer(sock)
    with open(script) as f:
        peer.run(f.readlines())
    sock.close()
    with open(out, "wb") as f:
        f.write(peer.received)
    sys.exit(0 if peer.ok else 1)


if __name__ == "__main__":
    main()
