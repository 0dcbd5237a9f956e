#!/usr/bin/env python3
"""Expected IRC message events, derived from tshark's irc dissector, never
from imwire's own output. Usage: irc_texts_from_tshark.py CAPTURE > irc_NAME.texts

One line per message event: dir<TAB>remote<TAB>text, the text escaped as the
JSON sink does. The rules are imwire's documented conventions
(daemon/src/proto/irc/irc.c), applied to tshark's irc.request/irc.response lines:
- PRIVMSG and NOTICE only; from the server side only with a user prefix
  (nick!user@host), or a PRIVMSG without any prefix (the sender is then
  unknown: empty); never to "*" or "AUTH"; one event per comma target.
- text = the trailer; CTCP (\x01...\x01, after an optional +/- marker) counts
  only for ACTION in PRIVMSG, with the \x01 bytes removed (a DCC SEND offer is
  a file event, not a message).
- an incoming channel line is "<sender>: <trailer>"; remote is the channel,
  or the sender for an incoming private message, or the target going out.
tshark does not join lines across TCP segments: a line cut at a segment
boundary is skipped when it cannot be parsed, and a cut PRIVMSG would show up
as a difference against imwire's output to be checked by hand (none occurs
in the committed captures)."""
import subprocess, sys
SERVER_PORTS = {6667, 6668, 6669, 6697, 7000}
CHAN = "#&+!"
def jesc(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == '"': out.append('\\"')
        elif ch == '\\': out.append('\\\\')
        elif ch == '\n': out.append('\\n')
        elif ch == '\r': out.append('\\r')
        elif ch == '\t': out.append('\\t')
        elif o < 0x20 or o == 0x7f: out.append('\\u%04x' % o)
        else: out.append(ch)
    return ''.join(out)
def parse(line):
    s = line.lstrip(' ')
    if s.startswith('@'): s = s.split(' ', 1)[1].lstrip(' ')
    prefix = ''
    if s.startswith(':'):
        prefix, s = s[1:].split(' ', 1); s = s.lstrip(' ')
    parts = s.split(' ', 1); cmd = parts[0]; rest = parts[1] if len(parts) > 1 else ''
    params = []
    while rest:
        rest = rest.lstrip(' ')
        if not rest: break
        if rest.startswith(':'): params.append(rest[1:]); break
        p = rest.split(' ', 1); params.append(p[0]); rest = p[1] if len(p) > 1 else ''
    return prefix, cmd, params
f = sys.argv[1]
out = subprocess.run(['tshark', '-r', f, '-Y', 'irc', '-T', 'fields', '-E', 'aggregator=\x1e',
                      '-e', 'tcp.srcport', '-e', 'irc.request', '-e', 'irc.response'],
                     capture_output=True).stdout
for rec in out.split(b'\n'):
    if not rec: continue
    port, req, resp = rec.split(b'\t')
    dirn = 'in' if int(port) in SERVER_PORTS else 'out'
    for raw in (resp if dirn == 'in' else req).split(b'\x1e'):
        if not raw: continue
        line = raw.decode('utf-8', 'replace')
        try:
            prefix, cmd, params = parse(line)
        except (ValueError, IndexError):
            continue  # a fragment: tshark does not join lines across segments
        if cmd.upper() not in ('PRIVMSG', 'NOTICE') or len(params) < 2: continue
        notice = cmd.upper() == 'NOTICE'
        sender = None
        if dirn == 'in':
            if '!' not in prefix and '@' not in prefix:
                if notice or prefix: continue
                sender = ''
            else:
                sender = prefix.split('!')[0].split('@')[0]
        text = params[1]
        body = text[1:] if text[:2] in ('+\x01', '-\x01') else text
        if body.startswith('\x01'):
            words = body.strip('\x01').split(' ')
            if notice: continue
            if words[0] == 'ACTION': pass
            else: continue
            text = text.replace('\x01', '')
        for target in params[0].split(','):
            if not target or target in ('*', 'AUTH'): continue
            group = target[0] in CHAN
            remote = target if (dirn == 'out' or group) else sender
            t = (sender + ': ' + text) if (dirn == 'in' and group and sender) else text
            print('%s\t%s\t%s' % (dirn, remote, jesc(t)))
