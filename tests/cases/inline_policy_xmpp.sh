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
. "$TOP/tests/lib.sh"
begin_test

# ---- prerequisites, then the namespaces: a missing one is a FAIL, never a skip
live_test inline_policy_xmpp "imwpx$$" prosody prosodyctl sqlite3 iptables ss timeout "$PY" \
	py:slixmpp
$B "$BIN/imwire" setup --bridge br0 --ports 5222 >/dev/null
check xmpp_policy_setup $?

# ---- prosody -------------------------------------------------------------
register_xmpp '"10.77.0.2"' 5222 alice bob carol dave erin
check xmpp_policy_accounts_registered $? "$(tail -3 "$tmp/prosody.register")"
if ! start_prosody "$S" 5222 300; then
	fail xmpp_policy_server_listens "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
	exit 1
fi

# ---- one conversation: the far side first, the bridged side once it is on
# session NAME: plans $tmp/NAME.far (carol, dave, erin: beyond the bridge;
# connected, it does "signal carol $tmp/NAME.online" and speaks to alice
# only once she has written to carol, so everyone is online) and
# $tmp/NAME.near (alice, bob: through the bridge); received texts in
# $tmp/NAME.out/USER.got; each USER's stream must stay up until our close
# was answered by the server's.
session() {
	run_session "$1" 60 "$PY" "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password"
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
write_config "$tmp/$n.conf" 200 "badwords_filename=$tmp/badwords.txt" \
	"badwords_replace_character=#" "badwords_block_count=2"
start_daemon "$tmp/$n.conf"
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
session $n
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
check_received $n stream_up_until_clean_close alice bob carol
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
check_policy_log $n
end_scenario $n

# ---------------------------------------------------------------------
# 2. ACL: alice's whitelist names bob and carol (carol passes though
# blacklisted: the whitelist goes first), dave is blacklisted, erin
# unlisted (block_unlisted=on; alice's whitelist line also means "none
# else"). bob's line lets alice's messages into his flow.
n=acl
printf '%s: %s %s\n%s: %s\n' "$A" "$Bb" "$Cb" "$Bb" "$A" >"$tmp/white.txt"
printf '%s: %s %s\n' "$A" "$Cb" "$Db" >"$tmp/black.txt"
write_config "$tmp/$n.conf" 200 "whitelist_filename=$tmp/white.txt" \
	"blacklist_filename=$tmp/black.txt" "block_unlisted=on"
start_daemon "$tmp/$n.conf"
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
session $n
echo "$A to bob" >"$tmp/$n.bob.want"
printf '%s from carol\n%s end\n' "$Cb" "$Cb" >"$tmp/$n.alice.want"
printf '%s to carol\n%s your turn\n' "$A" "$Eb" >"$tmp/$n.carol.want"
: >"$tmp/$n.dave.want"
echo "$Db your turn" >"$tmp/$n.erin.want"
check_received $n stream_up_until_clean_close alice bob carol dave erin
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
check_policy_log $n
end_scenario $n

# ---------------------------------------------------------------------
# 3. The DB filter: an AWL rule for everyone, dave blocked for alice.
# dave's first message is blocked; alice writes to him, which adds an AUTO
# ACCEPT row, and his reply passes. Then, the daemon still running, a
# BLOCK row for erin: her next message is blocked.
n=db
db="$tmp/filter.db"
write_config "$tmp/$n.conf" 200 "db_filter_filename=$db"
start_daemon "$tmp/$n.conf"
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
session $n
printf '%s erin one\n%s reply from dave\n' "$Eb" "$Db" >"$tmp/$n.alice.want"
echo "$A ready" >"$tmp/$n.carol.want"
echo "$A hello dave" >"$tmp/$n.dave.want"
echo "$Db your turn" >"$tmp/$n.erin.want"
check_received $n stream_up_until_clean_close alice carol dave erin
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
session $n
echo "$Db dave again" >"$tmp/$n.alice.want"
echo "$A ready" >"$tmp/$n.carol.want"
echo "$Eb your turn" >"$tmp/$n.dave.want"
check_received $n stream_up_until_clean_close alice carol dave erin
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
check_policy_log $n

# ---------------------------------------------------------------------
# 4. SIGHUP to a regex rewrite that changes the length (card numbers), both
# directions, in a body that needs escaping on the wire.
n=regex
# The running daemon rereads the file it was started with.
write_config "$tmp/db.conf" 200 \
	'regex_replace=/([0-9]{4})-[0-9]{4}-[0-9]{4}-([0-9]{4})/\1-****-****-\2 (card number removed)/'
reload_daemon "configuration reloaded"
check ${n}_sighup_reloads $? "$(tail -3 "$daemon_log")"
log_settles "$tmp/events.jsonl" # the previous scenario's events all in
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
session $n
cat >"$tmp/$n.bob.want" <<EOF
$A my card is 1234-****-****-3456 (card number removed) ok
$A <card> 1111-****-****-4444 (card number removed) & 5555-****-****-8888 (card number removed)
EOF
echo "$Cb yours: 9999-****-****-6666 (card number removed), right?" >"$tmp/$n.alice.want"
echo "$A ready" >"$tmp/$n.carol.want"
check_received $n stream_up_until_clean_close alice bob carol
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
check_policy_log $n "$tmp/$n.events"
end_scenario db_regex

# ---------------------------------------------------------------------
# 5. block_encrypted=jabber: the server's <proceed/> becomes <failure/>,
# so the client stays in clear text. prosody runs without TLS here, so a
# scripted server offers STARTTLS (prosody is stopped to free the port).
stop_servers
n=starttls
write_config "$tmp/$n.conf" 200 "block_encrypted=jabber"
start_daemon "$tmp/$n.conf"
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
run_peers $n 10.77.0.2 5222
check ${n}_peers_complete_with_clean_close $? "client rc $client_rc: $(cat "$tmp/$n.client.err")" \
	"server rc $server_rc: $(cat "$tmp/$n.server.err")"
crlf "<?xml version='1.0'?><stream:stream from='$domain' id='s1' $NS_STREAM>" \
	"<stream:features><starttls $NS_TLS><required/></starttls></stream:features>" \
	"<failure $NS_TLS/>" "</stream:stream>" >"$tmp/$n.client.want"
cmp -s "$tmp/$n.client.want" "$tmp/$n.client.got"
check ${n}_client_got_failure_not_proceed $? "$(cat -A "$tmp/$n.client.got" | head -8)"
crlf "<?xml version='1.0'?><stream:stream to='$domain' $NS_STREAM>" "<starttls $NS_TLS/>" \
	"</stream:stream>" >"$tmp/$n.server.want"
cmp -s "$tmp/$n.server.want" "$tmp/$n.server.got"
check ${n}_server_got_the_client_stream_unchanged $? "$(cat -A "$tmp/$n.server.got" | head -8)"
logged_soon "$tmp/events.jsonl" '"kind":"encrypted".*"text":"STARTTLS","filtered":true'
check ${n}_logged_filtered $? "$(grep '"kind":"encrypted"' "$tmp/events.jsonl")"
end_scenario $n

exit 0
