#!/usr/bin/python3
"""A webhook receiver for tests/cases/archive_webhook.sh, written here: the
alert webhook is plain HTTP POST with JSON, and Debian's python3 http.server
is the real HTTP peer; what it adds is the bookkeeping.

Usage: webhook_receiver.py PORTFILE LOG [PORT] [FAIL_FIRST]
Listens on 127.0.0.1:PORT (0: any free port), writes the port to PORTFILE
once listening, and answers every POST 200 after appending one line to LOG:
"<Idempotency-Key>\t<eventid>\t<text>". The first FAIL_FIRST POSTs get 503
and are not logged (a receiver that is up but failing). Runs until killed.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

portfile, logpath = sys.argv[1], sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
fail_first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
seen = {"posts": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        seen["posts"] += 1
        if seen["posts"] <= fail_first:
            self.send_response(503)
            self.end_headers()
            return
        ev = json.loads(body)
        with open(logpath, "a", encoding="utf-8") as f:
            f.write("%s\t%s\t%s\n" % (self.headers.get("Idempotency-Key", ""),
                                      ev.get("eventid", ""), ev.get("text", "")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = HTTPServer(("127.0.0.1", port), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
