#!/bin/sh
# Local routing and a bot, live with real IRC peers (issue #10): ngircd in
# the server namespace, python3-irc clients alice and bob through the
# bridge, carol beyond it, imwired inline with local_routing=irc and the
# auditbot. A private message between alice and bob never reaches the
# server: it is taken out of the sender's stream and injected, by segments
# imwired originates, into the recipient's; the capture on the server-side
# bridge port must not contain it, while channel traffic and messages to
# carol still go through the server. alice asks the auditbot "!policy"
# and gets the notice text, from a bot with no server account. Every
# connection must stay up (the shifted sequence numbers are right) until
# a clean QUIT, and the daemon logs each decision ("route").
# Needs root (network namespaces, iptables, NFQUEUE). Env: BIN, TOP.
set -u
. "$TOP/tests/lib.sh"
begin_test

# ---- prerequisites, then the namespaces: a missing one is a FAIL, never a skip
live_test route_local_irc "imwrl$$" ngircd tcpdump iptables ss timeout "$PY" py:irc.client
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check route_irc_setup $?

# ---- ngircd --------------------------------------------------------------
if ! start_ngircd 300; then
	fail route_irc_server_listens "$(tail -5 "$tmp/ngircd.out")"
	exit 1
fi

notice="IM on this network is logged for compliance."
long=$(printf 'x%.0s' $(seq 1 300))
n=local_irc
write_config "$tmp/$n.conf" 200 "local_routing=irc" "bot_auditbot=auditbot@irc" \
	"notice_text=$notice"
start_daemon "$tmp/$n.conf"
check ${n}_daemon_starts $?
# What the server's network saw, on the server-side port, and the client's.
start_bridge_capture "$tmp/$n" tcp port 6667
cat >"$tmp/$n.far" <<EOF
connect carol
join carol #imwire
signal carol $tmp/$n.online
wait carol 3
say carol alice from beyond the bridge
quit carol
EOF
# The policy's notices (notice_text), which imwired sends to an idle
# client at once, come from the server (irc.imwire.test NOTICE, issue #18):
# the clients here do not count server notices; the client-side capture
# shows them (alice's for carol and #imwire, bob's for #imwire and carol).
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
join alice #imwire
join bob #imwire
members alice #imwire alice bob carol
say alice carol ready
say alice bob local secret one
wait bob 1
say bob alice local reply two
wait alice 1
say alice auditbot !policy
wait alice 2
say alice bob $long long local line
wait bob 2
say alice #imwire channel after routing
wait bob 3
say bob carol to the server
wait alice 3
quit alice
quit bob
EOF
# carol, beyond the bridge, signals $tmp/NAME.online once in the channel.
run_session $n 90 "$PY" "$PEERS/irc_client.py" 10.77.0.2 6667
stop_captures
sort >"$tmp/$n.alice.want" <<EOF
bob alice local reply two
auditbot alice $notice
carol alice from beyond the bridge
EOF
sort >"$tmp/$n.bob.want" <<EOF
alice bob local secret one
alice bob $long long local line
alice #imwire channel after routing
EOF
sort >"$tmp/$n.carol.want" <<EOF
alice carol ready
alice #imwire channel after routing
bob carol to the server
EOF
sort_received $n alice bob carol
check_received $n connection_up_until_clean_quit alice bob carol
# What the server side of the bridge carried.
for t in "local secret one" "local reply two" "!policy" "long local line" "compliance"; do
	! wire_has "$tmp/$n.vs.pcap" "$t"
	check "${n}_server_port_never_saw_$(echo "$t" | tr -c 'a-z0-9\n' _)" $?
done
for t in "ready" "channel after routing" "to the server" "from beyond the bridge"; do
	wire_has "$tmp/$n.vs.pcap" "$t"
	check "${n}_server_port_saw_$(echo "$t" | tr -c 'a-z0-9\n' _)" $?
done
# The notices reached each client from the server's name, twice each
# (one per conversation), not from the other party.
for u in alice bob; do
	c=$(tcpdump -r "$tmp/$n.vc.pcap" -nn -A 2>/dev/null |
		grep -cF ":irc.imwire.test NOTICE $u :$notice")
	[ "$c" -eq 2 ]
	check "${n}_${u}_got_notices_from_the_server" $? "$c seen"
done
stop_daemon
check ${n}_daemon_stops_cleanly $? "exit status $stopped_rc"
log_fields "$tmp/events.jsonl" message dir local remote text route route_to >"$tmp/$n.log.got"
cat >"$tmp/$n.log.want" <<EOF
out|alice|carol|ready|forwarded|
out|alice|bob|local secret one|local|bob@irc
in|bob|alice|local secret one|local|bob@irc
out|bob|alice|local reply two|local|alice@irc
in|alice|bob|local reply two|local|alice@irc
out|alice|auditbot|!policy|local|auditbot@irc
in|alice|auditbot|$notice|injected|alice@irc
out|alice|bob|$long long local line|local|bob@irc
in|bob|alice|$long long local line|local|bob@irc
EOF
grep -v "#imwire\|to the server\|from beyond" "$tmp/$n.log.got" >"$tmp/$n.log.got2"
same_lines ${n}_daemon_logged_each_route "$tmp/$n.log.want" "$tmp/$n.log.got2"
grep -q "^out|alice|#imwire|channel after routing|forwarded|" "$tmp/$n.log.got"
check ${n}_channel_message_forwarded $? "$(grep '#imwire' "$tmp/$n.log.got")"
if [ $failed_here -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
	show_daemon
	cut -c1-200 "$tmp/$n.log.got" | sed 's/^/    log: /'
fi
exit $failed_here
