#!/bin/sh
# STARTTLS stripped instead of refused (issue 18, item 4), live with real
# XMPP peers: prosody with a throw-away certificate made here by openssl,
# slixmpp clients that use STARTTLS whenever the server offers it
# (tests/peers/xmpp_client.py connect-tls), imwired inline.
# 1. prosody offers TLS without requiring it, encrypted=strip: the offer is
#    blanked in the server's features, the bridged clients stay in clear
#    text, their messages cross and are logged, no encrypted event.
# 2. the same server, encrypted=refuse (today's block_encrypted): the
#    client's STARTTLS is answered with <failure/>, the login fails, the
#    encrypted event is logged filtered.
# 3. prosody requires TLS, encrypted=strip: the offer cannot be stripped,
#    the client goes to TLS, and the encrypted event says why nothing
#    after it could be logged.
# 4. IRC: InspIRCd (Debian's; ngircd cannot offer STARTTLS: its CAP knows
#    multi-prefix only) with its starttls module offers "tls" in CAP LS;
#    tests/peers/irc_tls_client.py (written here: python3-irc has no
#    STARTTLS) takes it when offered. strip: the capability is blanked,
#    the clients stay in clear text and are logged; refuse: the 670 becomes
#    691, the server (expecting a handshake) ends the session, the
#    encrypted event is logged filtered.
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test starttls_strip "imwts$$" prosody prosodyctl inspircd openssl iptables ss timeout \
	"$PY" py:slixmpp
$B "$BIN/imwire" setup --bridge br0 --ports 5222,6667 >/dev/null
check starttls_strip_setup $?
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$domain" \
	-keyout "$tmp/tls.key" -out "$tmp/tls.crt" >"$tmp/openssl.out" 2>&1
check starttls_strip_certificate_made $? "$(tail -3 "$tmp/openssl.out")"

# prosody_tls REQUIRE: $tmp/prosody.cfg.lua offering STARTTLS (required when
# REQUIRE is true), PLAIN allowed in clear text, accounts alice bob carol.
prosody_tls() {
	local u
	rm -rf "$tmp/prosody.data"
	mkdir -p "$tmp/prosody.data"
	cat >"$tmp/prosody.cfg.lua" <<EOF
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
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "posix" }
modules_disabled = { "s2s", "offline" }
ssl = { key = "$tmp/tls.key"; certificate = "$tmp/tls.crt" }
c2s_require_encryption = $1
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "$domain"
EOF
	for u in alice bob carol; do
		timeout 20 prosodyctl --config "$tmp/prosody.cfg.lua" register "$u" "$domain" \
			"$password" >>"$tmp/prosody.register" 2>&1 || return 1
	done
}

prosody_tls false
check starttls_strip_accounts $? "$(tail -3 "$tmp/prosody.register")"
if ! start_prosody "$S" 5222 300; then
	fail starttls_strip_server_listens "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err")"
	exit 1
fi

# ---- 1. offered, stripped
n=strip
write_config "$tmp/$n.conf" 200 "encrypted=strip"
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
printf '%s\n' "connect-tls alice" "connect-tls bob" "say alice carol ready" \
	"say alice bob hello in clear" "say alice bob second one" "wait bob 2" "wait alice 1" \
	"quit alice" "quit bob" >"$tmp/$n.near"
printf '%s\n' "connect-tls carol" "signal carol $tmp/$n.online" "wait carol 1" \
	"say carol alice from carol" "quit carol" >"$tmp/$n.far"
run_session $n 60 "$PY" "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password"
printf '%s\n' "alice@$domain hello in clear" "alice@$domain second one" >"$tmp/$n.bob.want"
echo "carol@$domain from carol" >"$tmp/$n.alice.want"
check_received $n connection_up_until_clean_quit alice bob
[ "$(cat "$tmp/$n.out/alice.tls" "$tmp/$n.out/bob.tls")" = "$(printf 'clear\nclear')" ]
check ${n}_bridged_clients_stayed_in_clear_text $? \
	"alice: $(cat "$tmp/$n.out/alice.tls"), bob: $(cat "$tmp/$n.out/bob.tls")"
# carol, beyond the bridge, saw the offer and took it: the server does TLS.
[ "$(cat "$tmp/$n.out/carol.tls")" = tls ]
check ${n}_server_offers_tls_beyond_the_bridge $? "carol: $(cat "$tmp/$n.out/carol.tls")"
log_fields "$tmp/events.jsonl" message dir local remote text filtered | by_local \
	>"$tmp/$n.log.got"
cat >"$tmp/$n.log.want" <<EOF
out|alice@$domain/peer|carol@$domain|ready|false
out|alice@$domain/peer|bob@$domain|hello in clear|false
out|alice@$domain/peer|bob@$domain|second one|false
in|alice@$domain/peer|carol@$domain/peer|from carol|false
in|bob@$domain/peer|alice@$domain/peer|hello in clear|false
in|bob@$domain/peer|alice@$domain/peer|second one|false
EOF
same_lines ${n}_messages_logged "$tmp/$n.log.want" "$tmp/$n.log.got"
[ "$(grep -c '"kind":"encrypted"' "$tmp/events.jsonl")" -eq 0 ]
check ${n}_no_encrypted_event $? "$(grep '"kind":"encrypted"' "$tmp/events.jsonl")"
end_scenario $n

# ---- 2. offered, refused: today's behaviour
n=refuse
write_config "$tmp/$n.conf" 200 "encrypted=refuse"
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
mkdir -p "$tmp/$n.out"
printf '%s\n' "connect-tls alice" "quit alice" >"$tmp/$n.near"
$C timeout 40 "$PY" "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
	"$tmp/$n.near" "$tmp/$n.out" >"$tmp/$n.near.err" 2>&1
[ $? -ne 0 ]
check ${n}_login_fails $? "$(tail -3 "$tmp/$n.near.err")"
log_fields "$tmp/events.jsonl" encrypted dir local text filtered >"$tmp/$n.enc"
[ "$(cat "$tmp/$n.enc")" = "in||STARTTLS|true" ]
check ${n}_encrypted_event_filtered $? "$(cat "$tmp/$n.enc")"
end_scenario $n

# ---- 3. required: cannot be stripped, the event says so
stop_servers
prosody_tls true
check required_accounts $? "$(tail -3 "$tmp/prosody.register")"
if ! start_prosody "$S" 5222 300; then
	fail required_server_listens "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err")"
	exit 1
fi
n=required
write_config "$tmp/$n.conf" 200 "encrypted=strip"
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
printf '%s\n' "connect-tls alice" "connect-tls bob" "say alice bob secret" "wait bob 1" \
	"quit alice" "quit bob" >"$tmp/$n.near"
printf '%s\n' "connect-tls carol" "signal carol $tmp/$n.online" "quit carol" >"$tmp/$n.far"
run_session $n 60 "$PY" "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password"
echo "alice@$domain secret" >"$tmp/$n.bob.want"
check_received $n connection_up_until_clean_quit bob
[ "$(cat "$tmp/$n.out/alice.tls")" = tls ]
check ${n}_client_went_to_tls $? "alice: $(cat "$tmp/$n.out/alice.tls")"
log_fields "$tmp/events.jsonl" encrypted dir text filtered | sort -u >"$tmp/$n.enc"
echo "in|STARTTLS (required by the server: the offer could not be stripped, nothing after it can be logged)|false" >"$tmp/$n.enc.want"
same_lines ${n}_event_says_why "$tmp/$n.enc.want" "$tmp/$n.enc"
[ "$(log_fields "$tmp/events.jsonl" message text | wc -l)" -eq 0 ]
check ${n}_no_message_could_be_logged $?
end_scenario $n

# ---- 4. IRC with InspIRCd offering tls
cat >"$tmp/inspircd.conf" <<EOF
<server name="irc.imwire.test" description="imwire test" network="imwiretest">
<admin name="imwire" nick="imwire" email="nobody@imwire.test">
<bind address="10.77.0.2" port="6667" type="clients">
<connect allow="*" timeout="60" pingfreq="600" sendq="262144" recvq="8192" localmax="100"
	globalmax="100" useident="no">
<options allowhalfop="yes">
<performance softlimit="100" somaxconn="128">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$tmp/inspircd.log">
<dns timeout="1" server="127.0.0.1">
<module name="ssl_gnutls">
<module name="starttls">
<module name="cap">
<sslprofile name="Clients" provider="gnutls" certfile="$tmp/tls.crt" keyfile="$tmp/tls.key"
	requestclientcert="no">
<starttls provider="Clients">
EOF
# A test process of its own; root is what the test runs as. InspIRCd 3.15
# may crash on its way out when stopped: no core file, and none in the
# tree (it runs in $tmp).
(cd "$tmp" && ulimit -c 0 &&
	exec $S timeout 300 inspircd --nofork --nopid --runasroot --config "$tmp/inspircd.conf" \
		>"$tmp/inspircd.out" 2>&1) &
server_pids="$server_pids $!"
wait_until 20 "$!" port_listens "$S" 6667
check irc_server_listens $? "$(tail -5 "$tmp/inspircd.out")"

# irc_pair NAME: bob (waits for a message) and alice (sends one), both
# through the bridge; received texts and TLS state in $tmp/NAME.out.
irc_pair() {
	local bob
	mkdir -p "$tmp/$1.out"
	$C timeout 40 "$PY" "$PEERS/irc_tls_client.py" 10.77.0.2 6667 bob "$tmp/$1.out" wait:1 \
		>"$tmp/$1.bob.err" 2>&1 &
	bob=$!
	peer_pids=$bob
	wait_until 10 "$bob" log_has "$tmp/events.jsonl" '"local":"bob"'
	$C timeout 40 "$PY" "$PEERS/irc_tls_client.py" 10.77.0.2 6667 alice "$tmp/$1.out" \
		"say:bob:hello in clear" >"$tmp/$1.alice.err" 2>&1
	alice_rc=$?
	wait $bob
	bob_rc=$?
	peer_pids=""
}

n=irc_strip
write_config "$tmp/$n.conf" 200 "encrypted=strip"
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
irc_pair $n
[ $alice_rc -eq 0 ] && [ $bob_rc -eq 0 ]
check ${n}_clients_complete $? "$(cat "$tmp/$n.alice.err" "$tmp/$n.bob.err")"
echo "alice bob hello in clear" >"$tmp/$n.bob.want"
same_lines ${n}_bob_received "$tmp/$n.bob.want" "$tmp/$n.out/bob.got"
[ "$(cat "$tmp/$n.out/alice.tls" "$tmp/$n.out/bob.tls")" = "$(printf 'clear\nclear')" ]
check ${n}_clients_stayed_in_clear_text $? \
	"alice: $(cat "$tmp/$n.out/alice.tls"), bob: $(cat "$tmp/$n.out/bob.tls")"
log_fields "$tmp/events.jsonl" message dir local remote text | sort >"$tmp/$n.log.got"
printf '%s\n' "in|bob|alice|hello in clear" "out|alice|bob|hello in clear" >"$tmp/$n.log.want"
same_lines ${n}_messages_logged "$tmp/$n.log.want" "$tmp/$n.log.got"
[ "$(grep -c '"kind":"encrypted"' "$tmp/events.jsonl")" -eq 0 ]
check ${n}_no_encrypted_event $?
end_scenario $n

n=irc_refuse
write_config "$tmp/$n.conf" 200 "encrypted=refuse"
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
mkdir -p "$tmp/$n.out"
$C timeout 40 "$PY" "$PEERS/irc_tls_client.py" 10.77.0.2 6667 alice "$tmp/$n.out" \
	"say:bob:never sent" >"$tmp/$n.alice.err" 2>&1
[ $? -ne 0 ] && [ "$(cat "$tmp/$n.out/alice.tls")" = clear ]
check ${n}_session_ends_in_clear $? "$(cat "$tmp/$n.alice.err" "$tmp/$n.out/alice.tls")"
log_fields "$tmp/events.jsonl" encrypted dir local text filtered >"$tmp/$n.enc"
# Before registration: no nick yet.
[ "$(cat "$tmp/$n.enc")" = "in||STARTTLS|true" ]
check ${n}_encrypted_event_filtered $? "$(cat "$tmp/$n.enc")"
[ "$(log_fields "$tmp/events.jsonl" message text | wc -l)" -eq 0 ]
check ${n}_nothing_sent $?
end_scenario $n
exit 0
