#!/usr/bin/env python3
"""Message events of imwire jsonl logs, one comparable line each.

Usage: jsonl_messages.py [--rewrite-in FROM:TO] FILE[:DIR]...

Prints "dir<TAB>local<TAB>remote<TAB>text" for every event of kind
"message" (of direction DIR only, "in" or "out", where a file names one),
ordered by local id and then by time, and nothing else, so logs of the
same session from different places (the daemon, captures read offline)
can be compared with diff. Control bytes and non-ASCII text are shown
escaped. --rewrite-in applies FROM -> TO to the text of incoming events,
as the bridge does on their way to the client.
"""
import json
import sys


def main():
    args = sys.argv[1:]
    rule = None
    if len(args) >= 2 and args[0] == "--rewrite-in":
        frm, to = args[1].split(":", 1)
        rule = (frm, to)
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    rows = []
    for arg in args:
        path, only = arg, None
        if arg.endswith(":in") or arg.endswith(":out"):
            path, only = arg.rsplit(":", 1)
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    ev = json.loads(line)
                except ValueError:
                    print("%s:%d: not JSON" % (path, n), file=sys.stderr)
                    sys.exit(1)
                if ev.get("kind") != "message" or (only and ev.get("dir") != only):
                    continue
                text = ev.get("text", "")
                if rule and ev.get("dir") == "in":
                    text = text.replace(rule[0], rule[1])
                rows.append((ev.get("local", ""), ev.get("ts", 0), ev.get("dir", ""),
                             ev.get("remote", ""), text))
    rows.sort(key=lambda r: (r[0], r[1]))
    for local, _ts, d, remote, text in rows:
        print("%s\t%s\t%s\t%s" % (d, local, remote, text.encode("unicode_escape").decode("ascii")))


if __name__ == "__main__":
    main()
