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
PY=/usr/bin/python3
PEERS="$TOP/tests/peers"
tmp=$(mktemp -d)
# ngircd drops to an unprivileged user: let it read its files.
chmod 755 "$tmp"
P="imwrx$$"
B="ip netns exec $P-b"
C="ip netns exec $P-c"
S="ip netns exec $P-s"
daemon_pid=""
capture_pid=""
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
	for p in $peer_pids $capture_pid $server_pid $daemon_pid; do stop_pid "$p"; done
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
		diff "$2" "$3" 2>&1 | head -20 | cut -c1-200 | cat -v | sed 's/^/    /'
	fi
}

# ---- prerequisites: a missing one is a FAIL, never a skip --------------
if [ "$(id -u)" != 0 ]; then
	fail route_xmpp_needs_root
	exit 1
fi
missing=""
for tool in ngircd prosody prosodyctl tcpdump iptables ss timeout $PY; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
$PY -c 'import irc.client' 2>/dev/null || missing="$missing python3-irc"
$PY -c 'import slixmpp' 2>/dev/null || missing="$missing python3-slixmpp"
if [ -n "$missing" ]; then
	fail route_xmpp_prerequisites "missing:$missing (run scripts/install-deps.sh)"
	exit 1
fi
if ! "$TOP/scripts/netns-topology.sh" up "$P" >/dev/null; then
	fail route_xmpp_topology
	exit 1
fi
topology=1
$B "$BIN/imwire" setup --bridge br0 --ports 6667,5222 >/dev/null
check route_xmpp_setup $?

# ---- daemon --------------------------------------------------------------
write_config() { # name, extra lines...: $tmp/NAME.conf logging to $tmp/events.jsonl
	f="$tmp/$1.conf"
	shift
	printf 'jsonl_file=%s\nhold_deadline_ms=200\n' "$tmp/events.jsonl" >"$f"
	for l in "$@"; do printf '%s\n' "$l" >>"$f"; done
}

start_daemon() { # config name [queues N-M, default 0]
	local last=${2:-0}
	last=${last#*-}
	rm -f "$tmp/events.jsonl"
	: >"$tmp/daemon.log"
	$B "$BIN/imwired" -d -c "$tmp/$1.conf" --queue "${2:-0}" >"$tmp/daemon.log" 2>&1 &
	daemon_pid=$!
	i=0
	while ! grep -q "queue $last: ready" "$tmp/daemon.log" 2>/dev/null; do
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

# ---- ngircd --------------------------------------------------------------
mkdir -p "$tmp/ngircd.d"
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
MaxNickLength = 16
[Options]
DNS = no
Ident = no
PAM = no
IncludeDir = $tmp/ngircd.d
EOF
$S timeout 300 ngircd -n -f "$tmp/ngircd.conf" >"$tmp/ngircd.out" 2>&1 &
server_pid=$!
i=0
until $S ss -Hltn "sport = :6667" | grep -q .; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		fail route_xmpp_irc_server_listens "$(tail -5 "$tmp/ngircd.out")"
		exit 1
	fi
	sleep 0.1
done



# ---- prosody ---------------------------------------------------------------
domain=imwire.test
password=pw-imwire
mkdir -p "$tmp/prosody.data"
cat >"$tmp/prosody.cfg.lua" <<CFG
pidfile = "$tmp/prosody.pid"
data_path = "$tmp/prosody.data"
log = { info = "$tmp/prosody.log"; error = "$tmp/prosody.err" }
run_as_root = true
prosody_user = "root"
interfaces = { "10.77.0.2", "fd77::2" }
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
for u in alice bob carol dave; do
	timeout 20 prosodyctl --config "$tmp/prosody.cfg.lua" register "$u" "$domain" "$password" \
		>>"$tmp/prosody.register" 2>&1 || reg=1
done
check route_xmpp_accounts_registered $reg "$(tail -3 "$tmp/prosody.register")"
$S timeout 300 prosody --config "$tmp/prosody.cfg.lua" -F >"$tmp/prosody.out" 2>&1 &
server_pid="$server_pid $!"
i=0
until $S ss -Hltn "sport = :5222" | grep -q .; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		fail route_xmpp_server_listens "$(tail -5 "$tmp/prosody.out" "$tmp/prosody.err" 2>/dev/null)"
		exit 1
	fi
	sleep 0.1
done

# ---- capture on both bridge ports --------------------------------------------
start_capture() { # prefix: PREFIX.vs.pcap (server side), PREFIX.vc.pcap (client side)
	$B tcpdump --immediate-mode -i vs -U -w "$1.vs.pcap" tcp 2>/dev/null &
	capture_pid=$!
	$B tcpdump --immediate-mode -i vc -U -w "$1.vc.pcap" tcp 2>/dev/null &
	capture_pid="$capture_pid $!"
	sleep 1
}
stop_capture() {
	sleep 0.5
	for p in $capture_pid; do stop_pid "$p"; done
	capture_pid=""
}
wire_has() { # pcap, text: true when some segment on the wire carried text
	tcpdump -r "$1" -nn -A 2>/dev/null | grep -qF "$2"
}
check_received() { # NAME USER: $tmp/NAME.USER.want is what USER got (sorted), then a clean close
	local n=$1 u=$2 st
	sort -o "$tmp/$n.out/$u.got" "$tmp/$n.out/$u.got" 2>/dev/null
	same_lines "${n}_${u}_received_exactly" "$tmp/$n.$u.want" "$tmp/$n.out/$u.got"
	st=$(cat "$tmp/$n.out/$u.status" 2>/dev/null)
	[ "$st" = clean ]
	check "${n}_${u}_connection_up_until_clean_close" $? "status: ${st:-none}"
}
wait_file() { # path, pid that must stay alive meanwhile: at most 30 s
	local i=0
	while [ ! -e "$1" ] && kill -0 "$2" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}
log_routes() { # the daemon's message events as "proto|dir|local|remote|text|route|route_to"
	$PY - "$1" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        ev = json.loads(line)
        if ev.get("kind") != "message":
            continue
        print("|".join((ev.get("proto", ""), ev.get("dir", ""), ev.get("local", ""),
                        ev.get("remote", ""), ev.get("text", ""), ev.get("route", ""),
                        ev.get("route_to", ""))))
EOF
}

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
write_config $n "local_routing=jabber" "address_map=$tmp/addressmap" \
	"bot_auditbot=auditbot@$domain@xmpp, auditbot@irc" "notice_text=$notice"
start_daemon $n
check ${n}_daemon_starts $?
start_capture "$tmp/$n"
mkdir -p "$tmp/$n.out"
cat >"$tmp/$n.far" <<EOF
connect dave
signal dave $tmp/$n.far.online
wait dave 1
quit dave
EOF
# alice hears the notice from dave (to whom she wrote through the server),
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
wait_file "$tmp/$n.far.online" $far
check ${n}_far_client_online $? "$(tail -3 "$tmp/$n.far.err")"
$C timeout 90 $PY "$PEERS/xmpp_client.py" 10.77.0.2 5222 "$domain" "$password" \
	"$tmp/$n.near" "$tmp/$n.out" >"$tmp/$n.near.err" 2>&1 &
near=$!
peer_pids="$far $near"
wait_file "$tmp/$n.near.online" $near
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
stop_capture
sort >"$tmp/$n.alice.want" <<EOF
bob@$domain xmpp local two
auditbot@$domain $notice
dave@$domain $notice
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
for u in alice bob carol dave; do check_received $n $u; done
sort -o "$tmp/$n.out/erin.got" "$tmp/$n.out/erin.got" 2>/dev/null
same_lines ${n}_erin_received_exactly "$tmp/$n.erin.want" "$tmp/$n.out/erin.got"
[ "$(cat "$tmp/$n.out/erin.status" 2>/dev/null)" = clean ]
check ${n}_erin_connection_up_until_clean_quit $?
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
log_routes "$tmp/events.jsonl" >"$tmp/$n.log.got"
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
	sed 's/^/    daemon: /' "$tmp/daemon.log"
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
write_config $n "local_routing=jabber"
start_daemon $n 0-1
check ${n}_daemon_starts_two_workers $?
start_capture "$tmp/$n"
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
wait_file "$tmp/$n.v6.online" $v6
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
stop_capture
echo "bob@$domain over to queue zero" >"$tmp/$n.alice.want"
echo "alice@$domain over to queue one" >"$tmp/$n.bob.want"
for u in alice bob; do check_received $n $u; done
for t in "over to queue zero" "over to queue one"; do
	! wire_has "$tmp/$n.vs.pcap" "$t"
	check "${n}_server_port_never_saw_$(echo "$t" | tr -c 'a-z0-9\n' _)" $?
done
stop_daemon
check ${n}_daemon_stops_cleanly $? "exit status $stopped_rc"
# Each worker routed one message and delivered the other's.
for q in 0 1; do
	grep -q "queue $q: routing: 1 routed locally, 0 to bots, 0 forwarded after all (partly sent); 1 delivered" "$tmp/daemon.log"
	check ${n}_queue_${q}_routed_one_and_delivered_one $? "$(grep "queue $q: routing" "$tmp/daemon.log")"
done
log_routes "$tmp/events.jsonl" | sort >"$tmp/$n.log.got"
sort >"$tmp/$n.log.want" <<EOF
xmpp|out|alice@$domain/peer|bob@$domain|over to queue one|local|bob@$domain/peer@xmpp
xmpp|in|bob@$domain/peer|alice@$domain/peer|over to queue one|local|bob@$domain/peer@xmpp
xmpp|out|bob@$domain/peer|alice@$domain|over to queue zero|local|alice@$domain/peer@xmpp
xmpp|in|alice@$domain/peer|bob@$domain/peer|over to queue zero|local|alice@$domain/peer@xmpp
EOF
same_lines ${n}_daemon_logged_each_route "$tmp/$n.log.want" "$tmp/$n.log.got"
if [ $failed_here -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
	sed 's/^/    daemon: /' "$tmp/daemon.log"
	cut -c1-200 "$tmp/$n.log.got" | sed 's/^/    log: /'
fi
[ $all_failed -eq 0 ] && [ $failed_here -eq 0 ]
exit $?
