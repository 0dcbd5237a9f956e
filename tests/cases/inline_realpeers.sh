#!/bin/sh
# imwired inline between real IM clients and real IM servers:
#   IRC:  ngircd in the server namespace, python3-irc clients alice and bob
#         in the client namespace (through the bridge), carol in the server
#         namespace (not through it);
#   XMPP: prosody the same way, with python3-slixmpp clients.
# alice and bob exchange private and channel messages both ways, several
# holding "secret", which the test-only rule rewrite_test rewrites. carol
# is there because a message between two bridged clients is rewritten on
# its way out and so reaches the other client's flow already rewritten:
# only a sender beyond the bridge makes the rule act on server->client.
# Checks: what each client received, that every connection stayed up
# until a clean close, the daemon's message log (original texts), its
# edit counters, and that `imwire read` on captures of the same session
# reports the same message events (see check_capture for which capture).
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
PY=/usr/bin/python3
PEERS="$TOP/tests/peers"
RULE_FROM=secret
RULE_TO="[redacted words]"
tmp=$(mktemp -d)
# ngircd drops to an unprivileged user and prosody may: let them read it.
chmod 755 "$tmp"
P="imwrp$$"
B="ip netns exec $P-b"
C="ip netns exec $P-c"
S="ip netns exec $P-s"
daemon_pid=""
server_pid=""
cap_pids=""
topology=0

stop_pid() { # pid: TERM, then at most 5 s before KILL; exit status in $stopped_rc
	stopped_rc=0
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	stopped_rc=$?
}

cleanup() {
	for p in $cap_pids $server_pid $daemon_pid; do stop_pid "$p"; done
	if [ $topology -eq 1 ]; then
		$B "$BIN/imwire" setup --remove >/dev/null 2>&1
		"$TOP/scripts/netns-topology.sh" down "$P" >/dev/null 2>&1
	fi
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT INT TERM

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1"
	shift
	[ $# -gt 0 ] && printf '  %s\n' "$@"
	failed_here=1
}
check() { # name, status (0 = pass), details...
	local name=$1 st=$2
	shift 2
	if [ "$st" -eq 0 ]; then pass "$name"; else fail "$name" "$@"; fi
}

# same_lines NAME expected-file got-file
same_lines() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "expected $(wc -l <"$2") lines, got $(wc -l <"$3" 2>/dev/null)"
		diff "$2" "$3" 2>&1 | head -20 | cut -c1-200 | sed 's/^/    /'
	fi
}

# ---- prerequisites: a missing one is a FAIL, never a skip --------------
if [ "$(id -u)" != 0 ]; then
	fail inline_realpeers_needs_root
	exit 1
fi
missing=""
for tool in ngircd prosody prosodyctl tcpdump iptables ss timeout $PY; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
$PY -c 'import irc.client' 2>/dev/null || missing="$missing python3-irc"
$PY -c 'import slixmpp' 2>/dev/null || missing="$missing python3-slixmpp"
if [ -n "$missing" ]; then
	fail inline_realpeers_prerequisites "missing:$missing (run scripts/install-deps.sh)"
	exit 1
fi
if ! "$TOP/scripts/netns-topology.sh" up "$P" >/dev/null; then
	fail inline_realpeers_topology
	exit 1
fi
topology=1
$B "$BIN/imwire" setup --bridge br0 --ports 6667,5222 >/dev/null
check inline_realpeers_setup $?

# ---- daemon, captures, servers ----------------------------------------
start_daemon() { # name
	printf 'jsonl_file=%s\nrewrite_test=%s:%s\n' "$tmp/$1.daemon.jsonl" \
		"$RULE_FROM" "$RULE_TO" >"$tmp/$1.conf"
	$B "$BIN/imwired" -d -c "$tmp/$1.conf" >"$tmp/$1.daemon.log" 2>&1 &
	daemon_pid=$!
	i=0
	while ! grep -q "queue 0: ready" "$tmp/$1.daemon.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			sed 's/^/    /' "$tmp/$1.daemon.log"
			return 1
		fi
		sleep 0.05
	done
}

stop_daemon() { # name: the statistics line goes to the log at exit
	stop_pid "$daemon_pid"
	daemon_pid=""
	# A sanitizer's report (a leak found at exit) changes the exit status.
	[ "$stopped_rc" -eq 0 ] && grep -q "queue 0: .* packets" "$tmp/$1.daemon.log" &&
		! grep -q "Sanitizer\|runtime error" "$tmp/$1.daemon.log"
}

show_daemon() { # name
	sed 's/^/    daemon: /' "$tmp/$1.daemon.log"
}

# Two captures in the bridge, one on each port, both ways.
start_captures() { # name, port
	for c in vc vs; do
		# Immediate mode: without it the packets of the last ring block
		# (up to a second's worth) are lost when tcpdump is stopped.
		$B timeout 120 tcpdump -i $c --immediate-mode -n -U -w "$tmp/$1.$c.pcap" "tcp port $2" \
			2>"$tmp/$1.$c.tcpdump.err" &
		cap_pids="$cap_pids $!"
		i=0
		until grep -q listening "$tmp/$1.$c.tcpdump.err" 2>/dev/null; do
			i=$((i + 1))
			if [ $i -gt 100 ]; then
				cat "$tmp/$1.$c.tcpdump.err"
				return 1
			fi
			sleep 0.05
		done
	done
}

stop_captures() {
	sleep 0.3 # the last FIN/ACK reaches the capture buffers
	for p in $cap_pids; do kill -INT "$p" 2>/dev/null; done
	for p in $cap_pids; do stop_pid "$p"; done
	cap_pids=""
}

wait_listen() { # port
	i=0
	until $S ss -Hltn "sport = :$1" | grep -q .; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

# ---- checks common to both sessions -----------------------------------
check_clients() { # name, users...
	local sess=$1
	shift
	for u in "$@"; do
		same_lines "${sess}_${u}_received_exactly" "$tmp/$sess.$u.want" "$tmp/$sess.out/$u.got"
		st=$(cat "$tmp/$sess.out/$u.status" 2>/dev/null)
		[ "$st" = clean ]
		check "${sess}_${u}_connection_up_until_clean_close" $? "status: ${st:-none}"
	done
	# A reset on the client side of the bridge would be a broken connection.
	rst=$(tcpdump -r "$tmp/$sess.vc.pcap" -n 'tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l)
	[ "$rst" -eq 0 ]
	check "${sess}_no_reset_on_client_side" $? "$rst RST segments"
}

check_log() { # name, edits expected
	local sess=$1
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
	local sess=$1
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
# 1. IRC: ngircd on 10.77.0.2:6667, channel #imwire.
failed_here=0
sess=irc
mkdir -p "$tmp/irc.ngircd.d" "$tmp/$sess.out"
cat >"$tmp/ngircd.conf" <<EOF
[Global]
Name = irc.imwire.test
Info = imwire test server
AdminInfo1 = imwire tests
AdminInfo2 = network namespace
AdminEMail = nobody@imwire.test
Listen = 10.77.0.2
Ports = 6667
MotdPhrase = imwire test
PidFile = $tmp/ngircd.pid
[Limits]
PingTimeout = 600
PongTimeout = 60
[Options]
DNS = no
Ident = no
PAM = no
IncludeDir = $tmp/irc.ngircd.d
EOF
$S timeout 120 ngircd -n -f "$tmp/ngircd.conf" >"$tmp/ngircd.out" 2>&1 &
server_pid=$!
wait_listen 6667
check irc_server_listens $? "$(tail -5 "$tmp/ngircd.out")"
start_daemon $sess
check irc_daemon_starts $?
start_captures $sess 6667
check irc_captures_start $?

cat >"$tmp/$sess.carol.plan" <<'EOF'
connect carol
join carol #imwire
members carol #imwire alice bob
wait carol 2
say carol alice carol's secret for alice
say carol bob no secrets here
say carol #imwire carol says secret in channel
wait carol 8
quit carol
EOF
cat >"$tmp/$sess.ab.plan" <<'EOF'
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
$S timeout 90 $PY "$PEERS/irc_client.py" 10.77.0.2 6667 "$tmp/$sess.carol.plan" "$tmp/$sess.out" \
	2>"$tmp/$sess.carol.err" &
carol=$!
$C timeout 90 $PY "$PEERS/irc_client.py" 10.77.0.2 6667 "$tmp/$sess.ab.plan" "$tmp/$sess.out" \
	2>"$tmp/$sess.ab.err"
rc_ab=$?
wait $carol
rc_carol=$?
[ $rc_ab -eq 0 ] && [ $rc_carol -eq 0 ]
check irc_clients_complete_their_plans $? "alice+bob rc $rc_ab: $(tail -3 "$tmp/$sess.ab.err")" \
	"carol rc $rc_carol: $(tail -3 "$tmp/$sess.carol.err")"
stop_captures
stop_daemon $sess
check irc_daemon_stops_cleanly_with_stats $? "exit status $stopped_rc"
stop_pid "$server_pid"
server_pid=""

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
if [ $failed_here -ne 0 ] || [ -n "${VERBOSE:-}" ]; then show_daemon $sess; fi

# ---------------------------------------------------------------------
# 2. XMPP: prosody on 10.77.0.2:5222, cleartext, PLAIN.
failed_here=0
sess=xmpp
domain=imwire.test
password=pw-imwire
mkdir -p "$tmp/prosody.data" "$tmp/$sess.out"
cat >"$tmp/prosody.cfg.lua" <<CFG
pidfile = "$tmp/prosody.pid"
data_path = "$tmp/prosody.data"
log = { info = "$tmp/prosody.log"; error = "$tmp/prosody.err" }
run_as_root = true
prosody_user = "root"
interfaces = { "10.77.0.2" }
c2s_ports = { 5222 }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
modules_enabled = { "roster", "saslauth", "disco", "ping", "posix" }
modules_disabled = { "s2s", "tls", "offline" }
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "$domain"
CFG
reg=0
for u in alice bob carol; do
	timeout 20 prosodyctl --config "$tmp/prosody.cfg.lua" register "$u" "$domain" "$password" \
		>>"$tmp/prosody.register" 2>&1 || reg=1
done
check xmpp_accounts_registered $reg "$(tail -3 "$tmp/prosody.register")"
$S timeout 120 prosody --config "$tmp/prosody.cfg.lua" -F >"$tmp/prosody.out" 2>&1 &
server_pid=$!
wait_listen 5222
check xmpp_server_listens $? "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
start_daemon $sess
check xmpp_daemon_starts $?
start_captures $sess 5222
check xmpp_captures_start $?

cat >"$tmp/$sess.carol.plan" <<EOF
connect carol
signal carol $tmp/$sess.carol.online
wait carol 1
say carol alice carol's secret for alice
say carol bob plain words from carol
wait carol 2
quit carol
EOF
cat >"$tmp/$sess.ab.plan" <<'EOF'
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
$S timeout 90 $PY "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
	"$tmp/$sess.carol.plan" "$tmp/$sess.out" >"$tmp/$sess.carol.err" 2>&1 &
carol=$!
i=0
while [ ! -e "$tmp/$sess.carol.online" ] && kill -0 $carol 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
$C timeout 90 $PY "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
	"$tmp/$sess.ab.plan" "$tmp/$sess.out" >"$tmp/$sess.ab.err" 2>&1
rc_ab=$?
wait $carol
rc_carol=$?
[ $rc_ab -eq 0 ] && [ $rc_carol -eq 0 ]
check xmpp_clients_complete_their_plans $? "alice+bob rc $rc_ab: $(tail -3 "$tmp/$sess.ab.err")" \
	"carol rc $rc_carol: $(tail -3 "$tmp/$sess.carol.err")"
stop_captures
stop_daemon $sess
check xmpp_daemon_stops_cleanly_with_stats $? "exit status $stopped_rc"
stop_pid "$server_pid"
server_pid=""

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
if [ $failed_here -ne 0 ] || [ -n "${VERBOSE:-}" ]; then show_daemon $sess; fi
exit 0
