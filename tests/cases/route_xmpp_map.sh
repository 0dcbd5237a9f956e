#!/bin/sh
# Local routing on XMPP, a bot on XMPP, and the address map across
# protocols, live (issue #10): prosody and ngircd in the server namespace;
# slixmpp clients alice, bob and carol and a python3-irc client erin
# through the bridge, dave beyond it; imwired inline with
# local_routing=jabber, an address_map file pairing erin and carol on IRC
# and XMPP, and the auditbot. Messages between alice and bob, alice's
# "!policy" to the bot, and erin's and carol's messages to each other
# across protocols never reach a server: the capture on the server-side
# bridge port must not contain them, the client-side one must. A message
# to dave still goes through prosody. Every stream stays up until a clean
# close, and the daemon logs each decision with where it went.
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

# ---- prerequisites, then the namespaces: a missing one is a FAIL, never a skip
live_test route_xmpp "imwrx$$" ngircd prosody prosodyctl tcpdump iptables ss timeout "$PY" \
	py:irc.client py:slixmpp
$B "$BIN/imwire" setup --bridge br0 --ports 6667,5222 >/dev/null
check route_xmpp_setup $?

# ---- ngircd and prosody ----------------------------------------------------
if ! start_ngircd 300; then
	fail route_xmpp_irc_server_listens "$(tail -5 "$tmp/ngircd.out")"
	exit 1
fi
register_xmpp '"10.77.0.2", "fd77::2"' 5222 alice bob carol dave
check route_xmpp_accounts_registered $? "$(tail -3 "$tmp/prosody.register")"
if ! start_prosody "$S" 5222 300; then
	fail route_xmpp_server_listens "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
	exit 1
fi
# ---------------------------------------------------------------------------
# XMPP local routing (alice and bob through the bridge, dave beyond it),
# the auditbot on XMPP, and the address map between an IRC user (erin,
# through the bridge) and an XMPP user (carol, through the bridge). IRC
# itself is not routed locally here: only the map takes erin's message.
n=route_xmpp
notice="IM on this network is logged for compliance."
cat >"$tmp/addressmap" <<EOF
# one person, two services
carol@irc = carol@$domain@xmpp
erin@$domain@xmpp = erin@irc
EOF
write_config "$tmp/$n.conf" 200 "local_routing=jabber" "address_map=$tmp/addressmap" \
	"bot_auditbot=auditbot@$domain@xmpp, auditbot@irc" "notice_text=$notice"
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
start_bridge_capture "$tmp/$n" tcp
mkdir -p "$tmp/$n.out"
cat >"$tmp/$n.far" <<EOF
connect dave
signal dave $tmp/$n.far.online
wait dave 1
quit dave
EOF
# alice hears the notice (a headline from the server's domain, not from
# dave, to whom she wrote through the server),
# bob's reply, the bot; carol hears erin across the address map.
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
connect carol
signal carol $tmp/$n.near.online
say alice bob xmpp local one
wait bob 1
say bob alice xmpp local two
wait alice 1
say alice auditbot !policy
wait alice 2
say alice dave to the server
wait alice 3
wait carol 1
say carol erin answer across protocols
wait carol 1
quit alice
quit bob
quit carol
EOF
cat >"$tmp/$n.irc" <<EOF
connect erin
say erin carol across protocols
wait erin 1
quit erin
EOF
$S timeout 90 $PY "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
	"$tmp/$n.far" "$tmp/$n.out" >"$tmp/$n.far.err" 2>&1 &
far=$!
peer_pids="$far"
wait_until 30 $far test -e "$tmp/$n.far.online"
check ${n}_far_client_online $? "$(tail -3 "$tmp/$n.far.err")"
$C timeout 90 $PY "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
	"$tmp/$n.near" "$tmp/$n.out" >"$tmp/$n.near.err" 2>&1 &
near=$!
peer_pids="$far $near"
wait_until 30 $near test -e "$tmp/$n.near.online"
check ${n}_near_clients_online $? "$(tail -3 "$tmp/$n.near.err")"
$C timeout 90 $PY "$PEERS/irc_client.py" 10.77.0.2 6667 "$tmp/$n.irc" "$tmp/$n.out" \
	>"$tmp/$n.irc.err" 2>&1
rc_irc=$?
wait $near
rc_near=$?
wait $far
rc_far=$?
peer_pids=""
[ $rc_irc -eq 0 ] && [ $rc_near -eq 0 ] && [ $rc_far -eq 0 ]
check ${n}_clients_complete_their_plans $? "irc rc $rc_irc: $(tail -3 "$tmp/$n.irc.err")" \
	"near rc $rc_near: $(tail -3 "$tmp/$n.near.err")" "far rc $rc_far: $(tail -3 "$tmp/$n.far.err")"
stop_captures
sort >"$tmp/$n.alice.want" <<EOF
bob@$domain xmpp local two
auditbot@$domain $notice
$domain $notice
EOF
sort >"$tmp/$n.bob.want" <<EOF
alice@$domain xmpp local one
EOF
sort >"$tmp/$n.carol.want" <<EOF
erin@$domain across protocols
EOF
sort >"$tmp/$n.dave.want" <<EOF
alice@$domain to the server
EOF
sort >"$tmp/$n.erin.want" <<EOF
carol erin answer across protocols
EOF
sort_received $n alice bob carol dave erin
check_received $n connection_up_until_clean_close alice bob carol dave
check_received $n connection_up_until_clean_quit erin
for t in "xmpp local one" "xmpp local two" "!policy" "across protocols" "compliance"; do
	! wire_has "$tmp/$n.vs.pcap" "$t"
	check "${n}_server_port_never_saw_$(echo "$t" | tr -c 'a-z0-9\n' _)" $?
	wire_has "$tmp/$n.vc.pcap" "$t"
	check "${n}_client_port_saw_$(echo "$t" | tr -c 'a-z0-9\n' _)" $?
done
wire_has "$tmp/$n.vs.pcap" "to the server"
check ${n}_server_port_saw_the_forwarded_message $?
stop_daemon
check ${n}_daemon_stops_cleanly $? "exit status $stopped_rc"
log_fields "$tmp/events.jsonl" message proto dir local remote text route route_to \
	>"$tmp/$n.log.got"
cat >"$tmp/$n.log.want" <<EOF
xmpp|out|alice@$domain/peer|bob@$domain|xmpp local one|local|bob@$domain/peer@xmpp
xmpp|in|bob@$domain/peer|alice@$domain/peer|xmpp local one|local|bob@$domain/peer@xmpp
xmpp|out|bob@$domain/peer|alice@$domain|xmpp local two|local|alice@$domain/peer@xmpp
xmpp|in|alice@$domain/peer|bob@$domain/peer|xmpp local two|local|alice@$domain/peer@xmpp
xmpp|out|alice@$domain/peer|auditbot@$domain|!policy|local|auditbot@$domain@xmpp
xmpp|in|alice@$domain/peer|auditbot@$domain|$notice|injected|alice@$domain/peer@xmpp
xmpp|out|alice@$domain/peer|dave@$domain|to the server|forwarded|
irc|out|erin|carol|across protocols|local|carol@$domain/peer@xmpp
xmpp|in|carol@$domain/peer|erin@$domain|across protocols|local|carol@$domain/peer@xmpp
xmpp|out|carol@$domain/peer|erin@$domain|answer across protocols|local|erin@irc
irc|in|erin|carol|answer across protocols|local|erin@irc
EOF
same_lines ${n}_daemon_logged_each_route "$tmp/$n.log.want" "$tmp/$n.log.got"
if [ $failed_here -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
	show_daemon
	cut -c1-200 "$tmp/$n.log.got" | sed 's/^/    log: /'
fi
all_failed=$failed_here
failed_here=0

# ---------------------------------------------------------------------------
# Across workers: IPv4 flows go to queue 0 and IPv6 flows to queue 1, so
# alice (connected over IPv4) and bob (over IPv6) belong to two workers of
# one imwired; a message between them crosses from one worker's flow to
# the other's through the router's mailbox.
n=route_workers
$B "$BIN/imwire" setup --remove >/dev/null 2>&1
$B "$BIN/imwire" setup --bridge br0 --queue 0 --ports 5222 --dry-run >"$tmp/$n.rules"
sed -i '/^ip6tables.*NFQUEUE/s/--queue-num 0/--queue-num 1/' "$tmp/$n.rules"
rules_rc=0
while read -r cmd; do
	$B $cmd || rules_rc=1
done <"$tmp/$n.rules"
[ $rules_rc -eq 0 ] && grep -q "ip6tables.*--queue-num 1" "$tmp/$n.rules"
check ${n}_rules_split_by_family $? "$(cat "$tmp/$n.rules")"
write_config "$tmp/$n.conf" 200 "local_routing=jabber"
start_daemon "$tmp/$n.conf" --queue 0-1
check ${n}_daemon_starts_two_workers $?
start_bridge_capture "$tmp/$n" tcp
mkdir -p "$tmp/$n.out"
cat >"$tmp/$n.v6" <<EOF
connect bob
signal bob $tmp/$n.v6.online
wait bob 1
say bob alice over to queue zero
wait bob 1
quit bob
EOF
cat >"$tmp/$n.v4" <<EOF
connect alice
say alice bob over to queue one
wait alice 1
quit alice
EOF
$C timeout 90 $PY "$PEERS/xmpp_client.py" fd77::2 5222 "$domain" "$password" \
	"$tmp/$n.v6" "$tmp/$n.out" >"$tmp/$n.v6.err" 2>&1 &
v6=$!
peer_pids="$v6"
wait_until 30 $v6 test -e "$tmp/$n.v6.online"
check ${n}_ipv6_client_online $? "$(tail -3 "$tmp/$n.v6.err")"
$C timeout 90 $PY "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
	"$tmp/$n.v4" "$tmp/$n.out" >"$tmp/$n.v4.err" 2>&1
rc_v4=$?
wait $v6
rc_v6=$?
peer_pids=""
[ $rc_v4 -eq 0 ] && [ $rc_v6 -eq 0 ]
check ${n}_clients_complete_their_plans $? "v4 rc $rc_v4: $(tail -3 "$tmp/$n.v4.err")" \
	"v6 rc $rc_v6: $(tail -3 "$tmp/$n.v6.err")"
stop_captures
echo "bob@$domain over to queue zero" >"$tmp/$n.alice.want"
echo "alice@$domain over to queue one" >"$tmp/$n.bob.want"
sort_received $n alice bob
check_received $n connection_up_until_clean_close alice bob
for t in "over to queue zero" "over to queue one"; do
	! wire_has "$tmp/$n.vs.pcap" "$t"
	check "${n}_server_port_never_saw_$(echo "$t" | tr -c 'a-z0-9\n' _)" $?
done
stop_daemon
check ${n}_daemon_stops_cleanly $? "exit status $stopped_rc"
# Each worker routed one message and delivered the other's.
for q in 0 1; do
	grep -q "queue $q: routing: 1 routed locally, 0 to bots, 0 forwarded after all (partly sent); 1 delivered" "$daemon_log"
	check ${n}_queue_${q}_routed_one_and_delivered_one $? "$(grep "queue $q: routing" "$daemon_log")"
done
log_fields "$tmp/events.jsonl" message proto dir local remote text route route_to |
	sort >"$tmp/$n.log.got"
sort >"$tmp/$n.log.want" <<EOF
xmpp|out|alice@$domain/peer|bob@$domain|over to queue one|local|bob@$domain/peer@xmpp
xmpp|in|bob@$domain/peer|alice@$domain/peer|over to queue one|local|bob@$domain/peer@xmpp
xmpp|out|bob@$domain/peer|alice@$domain|over to queue zero|local|alice@$domain/peer@xmpp
xmpp|in|alice@$domain/peer|bob@$domain/peer|over to queue zero|local|alice@$domain/peer@xmpp
EOF
same_lines ${n}_daemon_logged_each_route "$tmp/$n.log.want" "$tmp/$n.log.got"
if [ $failed_here -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
	show_daemon
	cut -c1-200 "$tmp/$n.log.got" | sed 's/^/    log: /'
fi
[ $all_failed -eq 0 ] && [ $failed_here -eq 0 ]
exit $?
