#!/bin/sh
# IM through an HTTP proxy (issue 18, item 5): a real Squid (Debian's,
# run here as a test process with its own configuration) in the server
# namespace, the bridged clients told to use it (python3-irc with a
# connect factory that asks for a CONNECT tunnel, slixmpp handed the
# tunnelled socket: tests/peers/*_client.py --proxy), ngircd and prosody
# behind it, imwired inline with a bad-words list, steering the proxy's
# port as well as the IM ports. The same plans run once straight to the
# servers and once through the proxy: what each client received and the
# daemon's message log (dir, local, remote, text, filtered) must be the
# same both times, censored.
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test http_proxy "imwhp$$" squid ngircd prosody prosodyctl iptables ss timeout "$PY" \
	py:irc.client py:slixmpp
$B "$BIN/imwire" setup --bridge br0 --ports 6667,5222,3128 >/dev/null
check http_proxy_setup $?
if ! start_ngircd 300; then
	fail http_proxy_irc_server_listens "$(tail -5 "$tmp/ngircd.out")"
	exit 1
fi
register_xmpp '"10.77.0.2"' 5222 alice bob carol
check http_proxy_xmpp_accounts $? "$(tail -3 "$tmp/prosody.register")"
if ! start_prosody "$S" 5222 300; then
	fail http_proxy_xmpp_server_listens "$(tail -5 "$tmp/prosody.out")"
	exit 1
fi

# ---- Squid: CONNECT allowed from the test net to the IM ports only
mkdir -p "$tmp/squid"
chmod 777 "$tmp/squid"
cat >"$tmp/squid.conf" <<EOF
http_port 10.77.0.2:3128
acl test_nets src 10.77.0.0/24
acl SSL_ports port 6667 5222
acl CONNECT method CONNECT
http_access deny CONNECT !SSL_ports
http_access allow test_nets
http_access deny all
cache deny all
cache_mem 8 MB
pid_filename $tmp/squid/squid.pid
cache_log $tmp/squid/cache.log
access_log $tmp/squid/access.log
coredump_dir $tmp/squid
dns_nameservers 127.0.0.1
shutdown_lifetime 1 seconds
EOF
$S timeout 300 squid -N -f "$tmp/squid.conf" >"$tmp/squid.out" 2>&1 &
server_pids="$server_pids $!"
wait_until 20 "$!" port_listens "$S" 3128
check http_proxy_squid_listens $? "$(tail -5 "$tmp/squid.out" "$tmp/squid/cache.log" 2>/dev/null)"

printf 'frak\nsmeg\n' >"$tmp/badwords.txt"
write_config "$tmp/hp.conf" 200 "badwords_filename=$tmp/badwords.txt"

irc_plans() {
	printf '%s\n' "connect alice" "connect bob" "join alice #imwire" "join bob #imwire" \
		"say alice carol ready" "say alice bob what the frak" "say alice #imwire smeg it" \
		"wait bob 3" "wait alice 2" "quit alice" "quit bob" >"$tmp/$1.near"
	printf '%s\n' "connect carol" "join carol #imwire" "signal carol $tmp/$1.online" \
		"wait carol 1" "say carol alice smeg off" "say carol #imwire frak in channel" \
		"quit carol" >"$tmp/$1.far"
}

xmpp_plans() {
	printf '%s\n' "connect alice" "connect bob" "say alice carol ready" \
		"say alice bob what the frak" "say alice bob it's <smeg> & co" "wait bob 2" \
		"wait alice 1" "quit alice" "quit bob" >"$tmp/$1.near"
	printf '%s\n' "connect carol" "signal carol $tmp/$1.online" "wait carol 1" \
		"say carol alice smeg off" "quit carol" >"$tmp/$1.far"
}

# run_both NAME: NAME's IRC and XMPP conversations, the bridged clients
# through the proxy when PROXY is set; the message log in $tmp/NAME.log.
run_both() {
	local n="$1" far
	start_daemon "$tmp/hp.conf"
	check ${n}_daemon_starts $?
	irc_plans $n.irc
	mkdir -p "$tmp/$n.irc.out"
	$S timeout 60 "$PY" "$PEERS/irc_client.py" 10.77.0.2 6667 "$tmp/$n.irc.far" \
		"$tmp/$n.irc.out" >"$tmp/$n.irc.far.err" 2>&1 &
	far=$!
	peer_pids=$far
	wait_until 30 "$far" test -e "$tmp/$n.irc.online"
	$C timeout 60 "$PY" "$PEERS/irc_client.py" ${PROXY:+--proxy "$PROXY"} 10.77.0.2 6667 \
		"$tmp/$n.irc.near" "$tmp/$n.irc.out" >"$tmp/$n.irc.near.err" 2>&1
	check ${n}_irc_near_plan_done $? "$(tail -3 "$tmp/$n.irc.near.err")"
	wait $far
	check ${n}_irc_far_plan_done $? "$(tail -3 "$tmp/$n.irc.far.err")"
	xmpp_plans $n.xmpp
	mkdir -p "$tmp/$n.xmpp.out"
	$S timeout 60 "$PY" "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
		"$tmp/$n.xmpp.far" "$tmp/$n.xmpp.out" >"$tmp/$n.xmpp.far.err" 2>&1 &
	far=$!
	peer_pids=$far
	wait_until 30 "$far" test -e "$tmp/$n.xmpp.online"
	$C timeout 60 "$PY" "$PEERS/xmpp_client.py" ${PROXY:+--proxy "$PROXY"} 10.77.0.2 5222 \
		"$domain" "$password" "$tmp/$n.xmpp.near" "$tmp/$n.xmpp.out" \
		>"$tmp/$n.xmpp.near.err" 2>&1
	check ${n}_xmpp_near_plan_done $? "$(tail -3 "$tmp/$n.xmpp.near.err")"
	wait $far
	check ${n}_xmpp_far_plan_done $? "$(tail -3 "$tmp/$n.xmpp.far.err")"
	peer_pids=""
	log_fields "$tmp/events.jsonl" message proto dir local remote text filtered | sort \
		>"$tmp/$n.log"
	cp "$tmp/events.jsonl" "$tmp/$n.events.jsonl"
	end_scenario $n
}

PROXY="" run_both direct
PROXY=10.77.0.2:3128 run_both proxied

for u in irc.out/alice irc.out/bob xmpp.out/alice xmpp.out/bob; do
	sort -o "$tmp/direct.$u.got" "$tmp/direct.$u.got"
	sort -o "$tmp/proxied.$u.got" "$tmp/proxied.$u.got"
	same_lines "received_through_proxy_as_direct_${u%%.*}_${u##*/}" \
		"$tmp/direct.$u.got" "$tmp/proxied.$u.got"
done
grep -q '\*\*\*\*' "$tmp/proxied.irc.out/bob.got" && grep -q '\*\*\*\*' "$tmp/proxied.xmpp.out/bob.got"
check proxied_messages_censored $? "$(cat "$tmp/proxied.irc.out/bob.got" "$tmp/proxied.xmpp.out/bob.got")"
[ "$(wc -l <"$tmp/direct.log")" -ge 12 ]
check direct_log_has_the_messages $? "$(cat "$tmp/direct.log")"
same_lines logged_through_proxy_as_direct "$tmp/direct.log" "$tmp/proxied.log"
# The bridged clients' flows went to the proxy's port, not the servers'.
[ "$(grep -c 'TCP_TUNNEL/200 .* CONNECT 10.77.0.2:' "$tmp/squid/access.log")" -eq 4 ]
check squid_carried_four_tunnels $? "$(cat "$tmp/squid/access.log" 2>/dev/null | tail -4)"
exit 0
