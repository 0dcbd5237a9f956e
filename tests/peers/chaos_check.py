#!/usr/bin/env python3
"""Checks what irc_chaos.py's clients sent and received, line by line.

Usage: chaos_check.py OUTDIR PAIRS MESSAGES ABSENT [SLACK]

The policy the daemon applied is `regex_replace=/secret/secret-secret/`,
which doubles every "secret" in a message each time it crosses the
bridge: once client to server, once server to client. So a message sent
as "m<k> S secret PAD" must arrive as "m<k> S secret-secret-secret-secret PAD";
it arrives with two "secret"s when one crossing was not rewritten and
with one when neither was. A line the daemon could not rewrite in place
(an edit too big for the path, under loss) goes as its same-length
fallback: the rewritten text cut to the length of what was sent at that
crossing; such a line is counted as "fallback" (enforced, not a bypass,
and the caller checks each against a logged policy_failure event).
Anything else is a corrupted line.

ABSENT is a file of "start end" lines (unix times): when no daemon was
bound to the queue (fail-open: lines may cross un-rewritten). A line
that crossed (from its send time to its arrival, widened by SLACK
seconds, default 0.3) during such a window may be un-rewritten;
un-rewritten outside them is a policy bypass.

What the server refused while the messages went (an error reply in
OUTDIR/NICK.other: a line that reached it mangled) counts as
"server_refused" and as a corrupted line: the receiver never sees it.

Prints one "name value" line per figure and, for each problem, a
"problem ..." line (at most 20). Exit status 0 when no conversation
broke, no line was corrupted or missing or out of order, and no line
crossed un-rewritten outside the absent windows.
"""
import os
import sys


def read_tsv(path, n):
    rows = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t", n - 1)
                if len(parts) == n:
                    rows.append(parts)
    except FileNotFoundError:
        pass
    return rows


def is_fallback(text, original, half, full):
    """The same-length fallback of one crossing, the other crossing (if
    any) rewritten or not: a rewritten form cut to the length the refused
    crossing had to keep."""
    for n in (len(original), len(half)):
        for f in (half, full):
            if n >= len(f):
                continue
            cut = f[:n]
            # the second crossing refused; or the first, the second then
            # rewrote (every "secret") or not what was left
            if text in (cut, cut.replace("secret", "secret-secret")):
                return True
    return False


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, pairs, messages, absent_path = argv[1], int(argv[2]), int(argv[3]), argv[4]
    slack = float(argv[5]) if len(argv) > 5 else 0.3
    windows = []
    if os.path.exists(absent_path):
        with open(absent_path) as f:
            for line in f:
                p = line.split()
                if len(p) == 2:
                    windows.append((float(p[0]) - slack, float(p[1]) + slack))

    def absent_during(t0, t1):
        return any(t0 <= w1 and t1 >= w0 for w0, w1 in windows)

    figures = dict(conversations=pairs, broken=0, lines=0, missing=0, out_of_order=0,
                   corrupted=0, unrewritten_absent=0, unrewritten_bypass=0, rewritten=0,
                   fallback=0, unclean_close=0, server_refused=0)
    problems = []
    for i in range(pairs):
        broken = False
        for me, peer in (("a%02d" % i, "b%02d" % i), ("b%02d" % i, "a%02d" % i)):
            status = ""
            try:
                with open(os.path.join(outdir, me + ".status")) as f:
                    status = f.read().strip()
            except FileNotFoundError:
                pass
            if status != "clean":
                figures["unclean_close"] += 1
                broken = True
                problems.append("%s closed %s" % (me, status or "never"))
            for _, code, kind, args in read_tsv(os.path.join(outdir, me + ".other"), 4):
                if code[:1] in ("4", "5"):
                    figures["server_refused"] += 1
                    figures["corrupted"] += 1
                    broken = True
                    problems.append("%s: the server refused a line: %s %s" % (me, kind, args[:80]))
            sent = {int(k): (float(t), text)
                    for k, t, text in read_tsv(os.path.join(outdir, peer + ".sent"), 3)}
            got = read_tsv(os.path.join(outdir, me + ".got"), 3)
            want_k = 0
            for sender, t, text in got:
                figures["lines"] += 1
                words = text.split(" ", 3)
                k = None
                if sender == peer and len(words) >= 3 and words[0].startswith("m") and \
                        words[0][1:].isdigit() and words[1] == peer:
                    k = int(words[0][1:])
                if k is None or k not in sent:
                    figures["corrupted"] += 1
                    broken = True
                    problems.append("%s got unknown line from %s: %r" % (me, sender, text[:80]))
                    continue
                if k != want_k:
                    figures["out_of_order"] += 1
                    broken = True
                    problems.append("%s got m%d from %s, expected m%d" % (me, k, peer, want_k))
                want_k = k + 1
                t_sent, original = sent[k]
                full = original.replace("secret", "secret-secret-secret-secret", 1)
                half = original.replace("secret", "secret-secret", 1)
                if text == full:
                    figures["rewritten"] += 1
                elif text in (half, original):
                    if absent_during(t_sent, float(t)):
                        figures["unrewritten_absent"] += 1
                    else:
                        figures["unrewritten_bypass"] += 1
                        problems.append("%s got m%d un-rewritten outside an absence: %r" %
                                        (me, k, text[:60]))
                elif is_fallback(text, original, half, full):
                    figures["fallback"] += 1
                    problems.append("%s got m%d as its fallback: %r" % (me, k, text[:80]))
                else:
                    figures["corrupted"] += 1
                    broken = True
                    problems.append("%s got m%d corrupted: %r" % (me, k, text[:80]))
            if want_k < len(sent) or len(sent) < messages:
                figures["missing"] += max(len(sent), messages) - want_k
                broken = True
                problems.append("%s got %d of %d messages from %s" %
                                (me, want_k, max(len(sent), messages), peer))
        if broken:
            figures["broken"] += 1
    for name, value in figures.items():
        print(name, value)
    for p in problems[:20]:
        print("problem", p)
    ok = figures["broken"] == 0 and figures["corrupted"] == 0 and \
        figures["unrewritten_bypass"] == 0 and figures["missing"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
