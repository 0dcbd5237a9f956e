#!/bin/sh
# The policy stage live with real XMPP peers: prosody in the server
# namespace, python3-slixmpp clients on both sides of the bridge
# (tests/peers/xmpp_client.py: alice and bob through it, carol, dave and
# erin beyond it), imwired inline on the bridge, one IMSpector filter
# configuration after another (a restart, or SIGHUP for the regex):
# bad words (replaced in place, blocked above badwords_block_count), the
# ACL files with block_unlisted, the SQLite DB filter with its AWL and a
# row added while the daemon runs, a length-changing regex rewrite, and
# block_encrypted refusing STARTTLS (linepeer on both ends: prosody here
# runs without TLS). Each scenario checks what every client received,
# that every stream stayed up until a clean close, and the daemon's log:
# original texts, filtered flags, local and remote JIDs.
# XMPP ids: local is the client's full JID (alice@imwire.test/peer), a
# remote is the JID as the stanza writes it (bare when sent to an account,
# full when received from a session); the list files name bare JIDs, as
# an administrator writes them.
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
PY=/usr/bin/python3
PEERS="$TOP/tests/peers"
tmp=$(mktemp -d)
# prosody may drop privileges: let it read its files.
chmod 755 "$tmp"
P="imwpx$$"
B="ip netns exec $P-b"
C="ip netns exec $P-c"
S="ip netns exec $P-s"
domain=imwire.test
password=pw-imwire
daemon_pid=""
server_pid=""
peer_pids=""
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
	for p in $peer_pids $server_pid $daemon_pid; do stop_pid "$p"; done
	if [ $topology -eq 1 ]; then
		$B "$BIN/imwire" setup --remove >/dev/null 2>&1
		"$TOP/scripts/netns-topology.sh" down "$P" >/dev/null 2>&1
	fi
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap "exit 1" INT TERM # through the EXIT trap, once

failed_here=0
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
same_lines() { # name, expected-file, got-file
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "expected $(wc -l <"$2") lines, got $(wc -l <"$3" 2>/dev/null)"
		diff "$2" "$3" 2>&1 | head -20 | cut -c1-200 | sed 's/^/    /'
	fi
}

# ---- prerequisites: a missing one is a FAIL, never a skip --------------
if [ "$(id -u)" != 0 ]; then
	fail inline_policy_xmpp_needs_root
	exit 1
fi
missing=""
for tool in prosody prosodyctl sqlite3 iptables ss timeout $PY; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
$PY -c 'import slixmpp' 2>/dev/null || missing="$missing python3-slixmpp"
if [ -n "$missing" ]; then
	fail inline_policy_xmpp_prerequisites "missing:$missing (run scripts/install-deps.sh)"
	exit 1
fi
if ! "$TOP/scripts/netns-topology.sh" up "$P" >/dev/null; then
	fail inline_policy_xmpp_topology
	exit 1
fi
topology=1
$B "$BIN/imwire" setup --bridge br0 --ports 5222 >/dev/null
check xmpp_policy_setup $?

# ---- daemon --------------------------------------------------------------
write_config() { # name, extra lines...: $tmp/NAME.conf logging to $tmp/events.jsonl
	f="$tmp/$1.conf"
	shift
	printf 'jsonl_file=%s\nhold_deadline_ms=200\n' "$tmp/events.jsonl" >"$f"
	for l in "$@"; do printf '%s\n' "$l" >>"$f"; done
}

start_daemon() { # config name
	rm -f "$tmp/events.jsonl"
	: >"$tmp/daemon.log"
	$B "$BIN/imwired" -d -c "$tmp/$1.conf" >"$tmp/daemon.log" 2>&1 &
	daemon_pid=$!
	i=0
	while ! grep -q "queue 0: ready" "$tmp/daemon.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			sed 's/^/    daemon: /' "$tmp/daemon.log"
			return 1
		fi
		sleep 0.05
	done
}

stop_daemon() { # true when it stopped cleanly, with its statistics and no sanitizer report
	[ -n "$daemon_pid" ] || return 1
	stop_pid "$daemon_pid"
	daemon_pid=""
	cat "$tmp/daemon.log" >>"$tmp/daemon.all.log"
	[ "$stopped_rc" -eq 0 ] && grep -q "queue 0: .* packets" "$tmp/daemon.log" &&
		! grep -q "Sanitizer\|runtime error" "$tmp/daemon.log"
}

end_scenario() { # name: stop the daemon, show its log if something failed
	local stats
	stop_daemon
	check "$1_daemon_stops_cleanly" $? "exit status $stopped_rc"
	# Every edit the policy asked for was made (the line is written at exit).
	stats=$(grep "queue 0: .* packets" "$tmp/daemon.log")
	echo "$stats" | grep -q "refused: 0 committed, 0 too big, 0 not encodable;"
	check "$1_no_edit_refused" $? "$stats"
	if [ $failed_here -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
		sed 's/^/    daemon: /' "$tmp/daemon.log"
	fi
	failed_here=0
}

# ---- prosody -------------------------------------------------------------
mkdir -p "$tmp/prosody.data"
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
for u in alice bob carol dave erin; do
	timeout 20 prosodyctl --config "$tmp/prosody.cfg.lua" register "$u" "$domain" "$password" \
		>>"$tmp/prosody.register" 2>&1 || reg=1
done
check xmpp_policy_accounts_registered $reg "$(tail -3 "$tmp/prosody.register")"
$S timeout 300 prosody --config "$tmp/prosody.cfg.lua" -F >"$tmp/prosody.out" 2>&1 &
server_pid=$!
i=0
until $S ss -Hltn "sport = :5222" | grep -q .; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		fail xmpp_policy_server_listens "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
		exit 1
	fi
	sleep 0.1
done

# ---- one conversation: the far side first, the bridged side once it is on
# run_session NAME: plans $tmp/NAME.far (carol, dave, erin: beyond the
# bridge; connected, it does "signal carol $tmp/NAME.online" and speaks to
# alice only once she has written to carol, so everyone is online) and
# $tmp/NAME.near (alice, bob: through the bridge); received texts in
# $tmp/NAME.out/USER.got.
run_session() {
	local n=$1 far i rc_near rc_far
	mkdir -p "$tmp/$n.out"
	$S timeout 60 $PY "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
		"$tmp/$n.far" "$tmp/$n.out" >"$tmp/$n.far.err" 2>&1 &
	far=$!
	peer_pids="$far"
	i=0
	while [ ! -e "$tmp/$n.online" ] && kill -0 $far 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	$C timeout 60 $PY "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
		"$tmp/$n.near" "$tmp/$n.out" >"$tmp/$n.near.err" 2>&1
	rc_near=$?
	wait $far
	rc_far=$?
	peer_pids=""
	[ $rc_near -eq 0 ] && [ $rc_far -eq 0 ]
	check "${n}_clients_complete_their_plans" $? \
		"near rc $rc_near: $(tail -3 "$tmp/$n.near.err")" \
		"far rc $rc_far: $(tail -3 "$tmp/$n.far.err" 2>/dev/null)"
}

# check_received NAME USER: $tmp/NAME.USER.want is exactly what USER got,
# and USER's stream stayed up until our close was answered by the server's.
check_received() {
	local n=$1 u=$2 st
	[ -e "$tmp/$n.$u.want" ] || : >"$tmp/$n.$u.want"
	same_lines "${n}_${u}_received_exactly" "$tmp/$n.$u.want" "$tmp/$n.out/$u.got"
	st=$(cat "$tmp/$n.out/$u.status" 2>/dev/null)
	[ "$st" = clean ]
	check "${n}_${u}_stream_up_until_clean_close" $? "status: ${st:-none}"
}

# The daemon's message events as "dir|local|remote|text|filtered", in log
# order for each local id.
log_messages() { # jsonl file
	$PY - "$1" <<'EOF'
import json, sys
rows = []
with open(sys.argv[1], encoding="utf-8") as f:
    for n, line in enumerate(f):
        ev = json.loads(line)
        if ev.get("kind") != "message":
            continue
        rows.append((ev.get("local", ""), n, "|".join((ev.get("dir", ""), ev.get("local", ""),
            ev.get("remote", ""), ev.get("text", ""), "true" if ev.get("filtered") else "false"))))
for _l, _n, text in sorted(rows):
    print(text)
EOF
}

check_log() { # name [events file]: $tmp/NAME.log.want against the daemon's log
	local events=${2:-$tmp/events.jsonl}
	log_messages "$events" >"$tmp/$1.log.got" 2>&1
	same_lines "$1_daemon_logged_originals_and_filtered_flags" "$tmp/$1.log.want" "$tmp/$1.log.got"
	[ "$(grep -c '"kind":"error"' "$events")" -eq 0 ]
	check "$1_daemon_logged_no_error" $? "$(grep '"kind":"error"' "$events" | head -3)"
}

A=alice@$domain
Af=alice@$domain/peer
Bb=bob@$domain
Bf=bob@$domain/peer
Cb=carol@$domain
Cf=carol@$domain/peer
Db=dave@$domain
Df=dave@$domain/peer
Eb=erin@$domain
Ef=erin@$domain/peer

# ---------------------------------------------------------------------
# 1. Bad words: each one replaced by as many '#', on the wire re-escaped
# where the body has references; more than two blocks the message, which
# the recipient never gets and the log keeps with filtered=true. alice's
# messages are censored on her flow and so reach bob's already censored;
# carol, beyond the bridge, makes the filter act on server->client.
n=badwords
printf 'frak\nsmeg\n' >"$tmp/badwords.txt"
write_config $n "badwords_filename=$tmp/badwords.txt" "badwords_replace_character=#" \
	"badwords_block_count=2"
start_daemon $n
check ${n}_daemon_starts $?
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
say alice carol ready
say alice bob what the FRAK
say alice bob frak smeg frak
say alice bob frak & <smeg> stays
say alice bob after
wait bob 3
wait alice 2
quit alice
quit bob
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
signal carol $tmp/$n.online
wait carol 1
say carol alice smeg off, Smeg!
say carol alice smeg smeg smeg
say carol alice end
quit carol
EOF
run_session $n
cat >"$tmp/$n.bob.want" <<EOF
$A what the ####
$A #### & <####> stays
$A after
EOF
cat >"$tmp/$n.alice.want" <<EOF
$Cb #### off, ####!
$Cb end
EOF
echo "$A ready" >"$tmp/$n.carol.want"
for u in alice bob carol; do check_received $n $u; done
cat >"$tmp/$n.log.want" <<EOF
out|$Af|$Cb|ready|false
out|$Af|$Bb|what the FRAK|false
out|$Af|$Bb|frak smeg frak|true
out|$Af|$Bb|frak & <smeg> stays|false
out|$Af|$Bb|after|false
in|$Af|$Cf|smeg off, Smeg!|false
in|$Af|$Cf|smeg smeg smeg|true
in|$Af|$Cf|end|false
in|$Bf|$Af|what the ####|false
in|$Bf|$Af|#### & <####> stays|false
in|$Bf|$Af|after|false
EOF
check_log $n
end_scenario $n

# ---------------------------------------------------------------------
# 2. ACL: alice's whitelist names bob and carol (carol passes though
# blacklisted: the whitelist goes first), dave is blacklisted, erin
# unlisted (block_unlisted=on; alice's whitelist line also means "none
# else"). bob's line lets alice's messages into his flow.
n=acl
printf '%s: %s %s\n%s: %s\n' "$A" "$Bb" "$Cb" "$Bb" "$A" >"$tmp/white.txt"
printf '%s: %s %s\n' "$A" "$Cb" "$Db" >"$tmp/black.txt"
write_config $n "whitelist_filename=$tmp/white.txt" "blacklist_filename=$tmp/black.txt" \
	"block_unlisted=on"
start_daemon $n
check ${n}_daemon_starts $?
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
say alice bob to bob
say alice dave to dave
say alice erin to erin
say alice carol to carol
wait bob 1
wait alice 2
quit alice
quit bob
EOF
# Each far sender hands over to the next: their messages reach alice's
# stream in this order.
cat >"$tmp/$n.far" <<EOF
connect carol
connect dave
connect erin
signal carol $tmp/$n.online
wait carol 1
say dave alice from dave
say dave erin your turn
wait erin 1
say erin alice from erin
say erin carol your turn
wait carol 2
say carol alice from carol
say carol alice end
quit carol
quit dave
quit erin
EOF
run_session $n
echo "$A to bob" >"$tmp/$n.bob.want"
printf '%s from carol\n%s end\n' "$Cb" "$Cb" >"$tmp/$n.alice.want"
printf '%s to carol\n%s your turn\n' "$A" "$Eb" >"$tmp/$n.carol.want"
: >"$tmp/$n.dave.want"
echo "$Db your turn" >"$tmp/$n.erin.want"
for u in alice bob carol dave erin; do check_received $n $u; done
cat >"$tmp/$n.log.want" <<EOF
out|$Af|$Bb|to bob|false
out|$Af|$Db|to dave|true
out|$Af|$Eb|to erin|true
out|$Af|$Cb|to carol|false
in|$Af|$Df|from dave|true
in|$Af|$Ef|from erin|true
in|$Af|$Cf|from carol|false
in|$Af|$Cf|end|false
in|$Bf|$Af|to bob|false
EOF
check_log $n
end_scenario $n

# ---------------------------------------------------------------------
# 3. The DB filter: an AWL rule for everyone, dave blocked for alice.
# dave's first message is blocked; alice writes to him, which adds an AUTO
# ACCEPT row, and his reply passes. Then, the daemon still running, a
# BLOCK row for erin: her next message is blocked.
n=db
db="$tmp/filter.db"
write_config $n "db_filter_filename=$db"
start_daemon $n
check ${n}_daemon_starts $?
sqlite3 "$db" "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES
	(NULL, NULL, 3, 1, 0), ('$A', '$Db', 2, 1, 0);"
check ${n}_rules_inserted $?
cat >"$tmp/$n.near" <<EOF
connect alice
say alice carol ready
wait alice 1
say alice dave hello dave
wait alice 2
quit alice
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
connect dave
connect erin
signal carol $tmp/$n.online
wait carol 1
say dave alice dave before
say dave erin your turn
wait erin 1
say erin alice erin one
wait dave 1
say dave alice reply from dave
quit carol
quit dave
quit erin
EOF
run_session $n
printf '%s erin one\n%s reply from dave\n' "$Eb" "$Db" >"$tmp/$n.alice.want"
echo "$A ready" >"$tmp/$n.carol.want"
echo "$A hello dave" >"$tmp/$n.dave.want"
echo "$Db your turn" >"$tmp/$n.erin.want"
for u in alice carol dave erin; do check_received $n $u; done
auto=$(sqlite3 -separator '|' "$db" "SELECT localid, remoteid FROM lists WHERE action=1 AND type=2 ORDER BY remoteid")
[ "$auto" = "$(printf '%s|%s\n%s|%s' "$A" "$Cb" "$A" "$Db")" ]
check ${n}_awl_added_auto_accept_row_for_bare_jids $? "AUTO rows: ${auto:-none}"

n=db_live
sqlite3 "$db" "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES ('$A', '$Eb', 2, 1, 0);"
check ${n}_block_row_inserted_while_running $?
cat >"$tmp/$n.near" <<EOF
connect alice
say alice carol ready
wait alice 1
quit alice
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
connect dave
connect erin
signal carol $tmp/$n.online
wait carol 1
say erin alice erin two
say erin dave your turn
wait dave 1
say dave alice dave again
quit carol
quit dave
quit erin
EOF
run_session $n
echo "$Db dave again" >"$tmp/$n.alice.want"
echo "$A ready" >"$tmp/$n.carol.want"
echo "$Eb your turn" >"$tmp/$n.dave.want"
for u in alice carol dave erin; do check_received $n $u; done
cat >"$tmp/$n.log.want" <<EOF
out|$Af|$Cb|ready|false
in|$Af|$Df|dave before|true
in|$Af|$Ef|erin one|false
out|$Af|$Db|hello dave|false
in|$Af|$Df|reply from dave|false
out|$Af|$Cb|ready|false
in|$Af|$Ef|erin two|true
in|$Af|$Df|dave again|false
EOF
check_log $n

# ---------------------------------------------------------------------
# 4. SIGHUP to a regex rewrite that changes the length (card numbers), both
# directions, in a body that needs escaping on the wire.
n=regex
# The running daemon rereads the file it was started with.
write_config db 'regex_replace=/([0-9]{4})-[0-9]{4}-[0-9]{4}-([0-9]{4})/\1-****-****-\2 (card number removed)/'
kill -HUP "$daemon_pid"
i=0
while ! grep -q "configuration reloaded" "$tmp/daemon.log" && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
grep -q "configuration reloaded" "$tmp/daemon.log"
check ${n}_sighup_reloads $? "$(tail -3 "$tmp/daemon.log")"
lines_before=$(wc -l <"$tmp/events.jsonl")
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
say alice carol ready
say alice bob my card is 1234-5678-9012-3456 ok
say alice bob <card> 1111-2222-3333-4444 & 5555-6666-7777-8888
wait bob 2
wait alice 1
quit alice
quit bob
EOF
cat >"$tmp/$n.far" <<EOF
connect carol
signal carol $tmp/$n.online
wait carol 1
say carol alice yours: 9999-8888-7777-6666, right?
quit carol
EOF
run_session $n
cat >"$tmp/$n.bob.want" <<EOF
$A my card is 1234-****-****-3456 (card number removed) ok
$A <card> 1111-****-****-4444 (card number removed) & 5555-****-****-8888 (card number removed)
EOF
echo "$Cb yours: 9999-****-****-6666 (card number removed), right?" >"$tmp/$n.alice.want"
echo "$A ready" >"$tmp/$n.carol.want"
for u in alice bob carol; do check_received $n $u; done
# Only this scenario's events: the log file is the DB scenario's too.
tail -n +$((lines_before + 1)) "$tmp/events.jsonl" >"$tmp/$n.events"
cat >"$tmp/$n.log.want" <<EOF
out|$Af|$Cb|ready|false
out|$Af|$Bb|my card is 1234-5678-9012-3456 ok|false
out|$Af|$Bb|<card> 1111-2222-3333-4444 & 5555-6666-7777-8888|false
in|$Af|$Cf|yours: 9999-8888-7777-6666, right?|false
in|$Bf|$Af|my card is 1234-****-****-3456 (card number removed) ok|false
in|$Bf|$Af|<card> 1111-****-****-4444 (card number removed) & 5555-****-****-8888 (card number removed)|false
EOF
check_log $n "$tmp/$n.events"
end_scenario db_regex

# ---------------------------------------------------------------------
# 5. block_encrypted=jabber: the server's <proceed/> becomes <failure/>,
# so the client stays in clear text. prosody runs without TLS here, so a
# scripted server offers STARTTLS (prosody is stopped to free the port).
stop_pid "$server_pid"
server_pid=""
n=starttls
write_config $n "block_encrypted=jabber"
start_daemon $n
check ${n}_daemon_starts $?
NS_STREAM="xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'"
NS_TLS="xmlns='urn:ietf:params:xml:ns:xmpp-tls'"
cat >"$tmp/$n.client" <<EOF
nodelay on
send <?xml version='1.0'?><stream:stream to='$domain' $NS_STREAM>
expectline <stream:features><starttls $NS_TLS><required/></starttls></stream:features>
send <starttls $NS_TLS/>
expectline <failure $NS_TLS/>
send </stream:stream>
expectline </stream:stream>
close
EOF
cat >"$tmp/$n.server" <<EOF
nodelay on
expectline <?xml version='1.0'?><stream:stream to='$domain' $NS_STREAM>
send <?xml version='1.0'?><stream:stream from='$domain' id='s1' $NS_STREAM>
send <stream:features><starttls $NS_TLS><required/></starttls></stream:features>
expectline <starttls $NS_TLS/>
send <proceed $NS_TLS/>
expectline </stream:stream>
send </stream:stream>
close
EOF
$S timeout 30 $PY "$PEERS/linepeer.py" server 5222 "$tmp/$n.server" "$tmp/$n.server.got" \
	2>"$tmp/$n.server.err" &
spid=$!
peer_pids=$spid
i=0
until $S ss -Hltn "sport = :5222" | grep -q . || [ $i -gt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
$C timeout 30 $PY "$PEERS/linepeer.py" client 10.77.0.2 5222 "$tmp/$n.client" "$tmp/$n.client.got" \
	2>"$tmp/$n.client.err"
crc=$?
wait $spid
src=$?
peer_pids=""
[ $crc -eq 0 ] && [ $src -eq 0 ]
check ${n}_peers_complete_with_clean_close $? "client rc $crc: $(cat "$tmp/$n.client.err")" \
	"server rc $src: $(cat "$tmp/$n.server.err")"
crlf() { for l in "$@"; do printf '%s\r\n' "$l"; done; }
crlf "<?xml version='1.0'?><stream:stream from='$domain' id='s1' $NS_STREAM>" \
	"<stream:features><starttls $NS_TLS><required/></starttls></stream:features>" \
	"<failure $NS_TLS/>" "</stream:stream>" >"$tmp/$n.client.want"
cmp -s "$tmp/$n.client.want" "$tmp/$n.client.got"
check ${n}_client_got_failure_not_proceed $? "$(cat -A "$tmp/$n.client.got" | head -8)"
crlf "<?xml version='1.0'?><stream:stream to='$domain' $NS_STREAM>" "<starttls $NS_TLS/>" \
	"</stream:stream>" >"$tmp/$n.server.want"
cmp -s "$tmp/$n.server.want" "$tmp/$n.server.got"
check ${n}_server_got_the_client_stream_unchanged $? "$(cat -A "$tmp/$n.server.got" | head -8)"
grep -q '"kind":"encrypted".*"text":"STARTTLS","filtered":true' "$tmp/events.jsonl"
check ${n}_logged_filtered $? "$(grep '"kind":"encrypted"' "$tmp/events.jsonl")"
end_scenario $n

$B "$BIN/imwire" setup --remove >/dev/null
exit 0
