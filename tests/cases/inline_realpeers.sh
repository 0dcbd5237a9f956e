#!/bin/sh
# imwired inline between real IM clients and real IM servers:
#   IRC:  ngircd in the server namespace, python3-irc clients alice and bob
#         in the client namespace (through the bridge), carol in the server
#         namespace (not through it);
#   XMPP: prosody the same way, with python3-slixmpp clients.
# alice and bob exchange private and channel messages both ways, several
# holding "secret", which a regex_replace rule rewrites. carol
# is there because a message between two bridged clients is rewritten on
# its way out and so reaches the other client's flow already rewritten:
# only a sender beyond the bridge makes the rule act on server->client.
# Checks: what each client received, that every connection stayed up
# until a clean close, the daemon's message log (original texts), its
# edit counters, and that `imwire read` on captures of the same session
# reports the same message events (see check_capture for which capture).
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test
RULE_FROM=secret
RULE_TO="[redacted words]"

# ---- prerequisites, then the namespaces: a missing one is a FAIL, never a skip
live_test inline_realpeers "imwrp$$" ngircd prosody prosodyctl tcpdump iptables ss timeout "$PY" \
	py:irc.client py:slixmpp
$B "$BIN/imwire" setup --bridge br0 --ports 6667,5222 >/dev/null
check inline_realpeers_setup $?

# ---- the daemon of a session -------------------------------------------
start_session_daemon() { # name: the rewrite rule, events to $tmp/NAME.daemon.jsonl
	printf 'jsonl_file=%s\nregex_replace=/%s/%s/\n' "$tmp/$1.daemon.jsonl" \
		"$RULE_FROM" "$RULE_TO" >"$tmp/$1.conf"
	daemon_log=$tmp/$1.daemon.log
	start_daemon "$tmp/$1.conf"
}

# ---- checks common to both sessions -----------------------------------
check_clients() { # name, users...
	local sess="$1" rst
	shift
	check_received "$sess" connection_up_until_clean_close "$@"
	# A reset on the client side of the bridge would be a broken connection.
	rst=$(tcpdump -r "$tmp/$sess.vc.pcap" -n 'tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l)
	[ "$rst" -eq 0 ]
	check "${sess}_no_reset_on_client_side" $? "$rst RST segments"
}

check_log() { # name, edits expected
	local sess="$1"
	$PY "$PEERS/jsonl_messages.py" "$tmp/$sess.daemon.jsonl" >"$tmp/$sess.log.got" 2>&1
	same_lines "${sess}_daemon_logged_original_messages" "$tmp/$sess.log.want" "$tmp/$sess.log.got"
	stats=$(grep "queue 0: .* packets" "$tmp/$sess.daemon.log")
	echo "$stats" | grep -q "; $2 edits, refused: 0 committed, 0 too big, 0 not encodable;"
	check "${sess}_daemon_made_$2_edits_none_refused" $? "$stats"
	[ "$(grep -c '"kind":"error"' "$tmp/$sess.daemon.jsonl")" -eq 0 ]
	check "${sess}_daemon_logged_no_error" $? "$(grep '"kind":"error"' "$tmp/$sess.daemon.jsonl" | head -3)"
}

# Which capture holds the bytes the daemon decoded? Each direction as it
# entered the bridge: client->server on vc, server->client on vs. One
# capture of both ingresses (-i any -Q in, or the two merged) does not
# read back: after a length-changing edit its client->server seqs are the
# client's and the server's acks count the edited stream, and the reader
# takes an ack past the data it saw for capture loss. So each capture is
# read whole (in each, seqs and acks agree), and
# - the outgoing events of the vc capture plus the incoming events of the
#   vs capture must be the daemon's, text for text (originals);
# - every event of the vc capture, what the client's wire carried, must be
#   the daemon's with the rule applied to incoming texts.
check_capture() { # name
	local sess="$1"
	for c in vc vs; do
		"$BIN/imwire" read --format jsonl "$tmp/$sess.$c.pcap" >"$tmp/$sess.$c.jsonl" \
			2>"$tmp/$sess.$c.read.err"
		check "${sess}_read_${c}_capture" $? "$(cat "$tmp/$sess.$c.read.err")"
	done
	$PY "$PEERS/jsonl_messages.py" "$tmp/$sess.vc.jsonl:out" "$tmp/$sess.vs.jsonl:in" \
		>"$tmp/$sess.ingress.msgs" 2>&1
	same_lines "${sess}_captures_read_same_events_as_daemon_each_dir_from_its_ingress" \
		"$tmp/$sess.log.got" "$tmp/$sess.ingress.msgs"
	$PY "$PEERS/jsonl_messages.py" "$tmp/$sess.vc.jsonl" >"$tmp/$sess.vc.msgs" 2>&1
	$PY "$PEERS/jsonl_messages.py" --rewrite-in "$RULE_FROM:$RULE_TO" "$tmp/$sess.daemon.jsonl" \
		>"$tmp/$sess.log.rewritten" 2>&1
	same_lines "${sess}_vc_capture_read_same_events_as_daemon_after_rule" \
		"$tmp/$sess.log.rewritten" "$tmp/$sess.vc.msgs"
}

want_log() { # file, then lines "dir|local|remote|text" on stdin
	$PY -c '
import sys
for line in sys.stdin.read().splitlines():
    d, local, remote, text = line.split("|", 3)
    print("\t".join((d, local, remote, text.encode("unicode_escape").decode("ascii"))))
' >"$1"
}

# ---------------------------------------------------------------------
# 1. IRC: ngircd on 10.77.0.2:6667, channel #imwire. carol is beyond the
# bridge (plan $tmp/irc.far), alice and bob through it (irc.near).
failed_here=0
sess=irc
start_ngircd 120
check irc_server_listens $? "$(tail -5 "$tmp/ngircd.out")"
start_session_daemon $sess
check irc_daemon_starts $?
start_bridge_capture "$tmp/$sess" "tcp port 6667"
check irc_captures_start $?

cat >"$tmp/$sess.far" <<EOF
connect carol
join carol #imwire
signal carol $tmp/$sess.online
members carol #imwire alice bob
wait carol 2
say carol alice carol's secret for alice
say carol bob no secrets here
say carol #imwire carol says secret in channel
wait carol 8
quit carol
EOF
cat >"$tmp/$sess.near" <<'EOF'
connect alice
connect bob
join alice #imwire
join bob #imwire
members alice #imwire bob carol
members bob #imwire alice carol
say alice bob hello bob
wait bob 1
say alice bob the secret is out
wait bob 2
say bob alice secret secret twice, reply
wait alice 1
say alice #imwire channel secret from alice
wait bob 3
say bob #imwire plain channel line from bob
wait alice 2
# carol speaks now
wait alice 4
wait bob 5
# a burst: several lines, each rewritten, in one segment (Nagle)
say alice #imwire burst 1: a secret
say alice #imwire burst 2: a secret
say alice #imwire burst 3: a secret
say alice #imwire burst 4: a secret
say alice #imwire burst 5: a secret
wait bob 10
say bob alice grüße, secret ☺
wait alice 5
say alice carol done
quit alice
quit bob
EOF
run_session $sess 90 "$PY" "$PEERS/irc_client.py" 10.77.0.2 6667
stop_captures
stop_daemon
check irc_daemon_stops_cleanly_with_stats $? "exit status $stopped_rc"
stop_servers

cat >"$tmp/$sess.alice.want" <<'EOF'
bob alice [redacted words] [redacted words] twice, reply
bob #imwire plain channel line from bob
carol alice carol's [redacted words] for alice
carol #imwire carol says [redacted words] in channel
EOF
cat >"$tmp/$sess.bob.want" <<'EOF'
alice bob hello bob
alice bob the [redacted words] is out
alice #imwire channel [redacted words] from alice
carol bob no [redacted words]s here
carol #imwire carol says [redacted words] in channel
EOF
bursts() { # format with %d for 1..5
	for k in 1 2 3 4 5; do printf "$1\n" $k; done
}
bursts 'alice #imwire burst %d: a [redacted words]' >>"$tmp/$sess.bob.want"
echo 'bob alice grüße, [redacted words] ☺' >>"$tmp/$sess.alice.want"
# carol, beyond the bridge, shows what the server was given.
{
	echo 'alice #imwire channel [redacted words] from alice'
	echo 'bob #imwire plain channel line from bob'
	bursts 'alice #imwire burst %d: a [redacted words]'
	echo 'alice carol done'
} >"$tmp/$sess.carol.want"
check_clients $sess alice bob carol
# Each flow's events as they entered the bridge: a message between alice
# and bob was rewritten on its sender's flow, so it reaches the other's
# flow rewritten; carol's reach both flows with the original words.
want_log "$tmp/$sess.log.want" <<EOF
out|alice|bob|hello bob
out|alice|bob|the secret is out
in|alice|bob|[redacted words] [redacted words] twice, reply
out|alice|#imwire|channel secret from alice
in|alice|#imwire|bob: plain channel line from bob
in|alice|carol|carol's secret for alice
in|alice|#imwire|carol: carol says secret in channel
$(bursts 'out|alice|#imwire|burst %d: a secret')
in|alice|bob|grüße, [redacted words] ☺
out|alice|carol|done
in|bob|alice|hello bob
in|bob|alice|the [redacted words] is out
out|bob|alice|secret secret twice, reply
in|bob|#imwire|alice: channel [redacted words] from alice
out|bob|#imwire|plain channel line from bob
in|bob|carol|no secrets here
in|bob|#imwire|carol: carol says secret in channel
$(bursts 'in|bob|#imwire|alice: burst %d: a [redacted words]')
out|bob|alice|grüße, secret ☺
EOF
check_log $sess 13
check_capture $sess
if [ $failed_here -ne 0 ] && [ -z "${VERBOSE:-}" ]; then show_daemon; fi

# ---------------------------------------------------------------------
# 2. XMPP: prosody on 10.77.0.2:5222, cleartext, PLAIN.
failed_here=0
sess=xmpp
register_xmpp '"10.77.0.2"' 5222 alice bob carol
check xmpp_accounts_registered $? "$(tail -3 "$tmp/prosody.register")"
start_prosody "$S" 5222 120
check xmpp_server_listens $? "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
start_session_daemon $sess
check xmpp_daemon_starts $?
start_bridge_capture "$tmp/$sess" "tcp port 5222"
check xmpp_captures_start $?

cat >"$tmp/$sess.far" <<EOF
connect carol
signal carol $tmp/$sess.online
wait carol 1
say carol alice carol's secret for alice
say carol bob plain words from carol
wait carol 2
quit carol
EOF
cat >"$tmp/$sess.near" <<'EOF'
connect alice
connect bob
say alice bob hi bob
wait bob 1
say alice bob the secret plan
wait bob 2
say bob alice bob's secret & <b>reply</b>
wait alice 1
say alice carol ready
wait alice 2
wait bob 3
# a burst: several stanzas, each rewritten, in one segment (Nagle)
say bob alice burst 1 from bob, secret
say bob alice burst 2 from bob, secret
say bob alice burst 3 from bob, secret
say bob alice burst 4 from bob, secret
say bob alice burst 5 from bob, secret
wait alice 7
say alice bob grüße, secret ☺
wait bob 4
say alice carol done, no secret left
quit alice
quit bob
EOF
run_session $sess 90 "$PY" "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password"
stop_captures
stop_daemon
check xmpp_daemon_stops_cleanly_with_stats $? "exit status $stopped_rc"
stop_servers

cat >"$tmp/$sess.alice.want" <<'EOF'
bob@imwire.test bob's [redacted words] & <b>reply</b>
carol@imwire.test carol's [redacted words] for alice
EOF
bursts 'bob@imwire.test burst %d from bob, [redacted words]' >>"$tmp/$sess.alice.want"
cat >"$tmp/$sess.bob.want" <<'EOF'
alice@imwire.test hi bob
alice@imwire.test the [redacted words] plan
carol@imwire.test plain words from carol
alice@imwire.test grüße, [redacted words] ☺
EOF
cat >"$tmp/$sess.carol.want" <<'EOF'
alice@imwire.test ready
alice@imwire.test done, no [redacted words] left
EOF
check_clients $sess alice bob carol
want_log "$tmp/$sess.log.want" <<EOF
out|alice@imwire.test/peer|bob@imwire.test|hi bob
out|alice@imwire.test/peer|bob@imwire.test|the secret plan
in|alice@imwire.test/peer|bob@imwire.test/peer|bob's [redacted words] & <b>reply</b>
out|alice@imwire.test/peer|carol@imwire.test|ready
in|alice@imwire.test/peer|carol@imwire.test/peer|carol's secret for alice
$(bursts 'in|alice@imwire.test/peer|bob@imwire.test/peer|burst %d from bob, [redacted words]')
out|alice@imwire.test/peer|bob@imwire.test|grüße, secret ☺
out|alice@imwire.test/peer|carol@imwire.test|done, no secret left
in|bob@imwire.test/peer|alice@imwire.test/peer|hi bob
in|bob@imwire.test/peer|alice@imwire.test/peer|the [redacted words] plan
out|bob@imwire.test/peer|alice@imwire.test|bob's secret & <b>reply</b>
in|bob@imwire.test/peer|carol@imwire.test/peer|plain words from carol
$(bursts 'out|bob@imwire.test/peer|alice@imwire.test|burst %d from bob, secret')
in|bob@imwire.test/peer|alice@imwire.test/peer|grüße, [redacted words] ☺
EOF
check_log $sess 10
check_capture $sess
if [ $failed_here -ne 0 ] && [ -z "${VERBOSE:-}" ]; then show_daemon; fi
exit 0
