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
PY=/usr/bin/python3
PEERS="$TOP/tests/peers"
tmp=$(mktemp -d)
# ngircd drops to an unprivileged user: let it read its files.
chmod 755 "$tmp"
P="imwrl$$"
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
	fail route_local_irc_needs_root
	exit 1
fi
missing=""
for tool in ngircd tcpdump iptables ss timeout $PY; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
$PY -c 'import irc.client' 2>/dev/null || missing="$missing python3-irc"
if [ -n "$missing" ]; then
	fail route_local_irc_prerequisites "missing:$missing (run scripts/install-deps.sh)"
	exit 1
fi
if ! "$TOP/scripts/netns-topology.sh" up "$P" >/dev/null; then
	fail route_local_irc_topology
	exit 1
fi
topology=1
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check route_irc_setup $?

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
		fail route_irc_server_listens "$(tail -5 "$tmp/ngircd.out")"
		exit 1
	fi
	sleep 0.1
done


# ---- capture on the server-side port: what the server's network saw ----
start_capture() { # prefix: PREFIX.vs.pcap (server side), PREFIX.vc.pcap (client side)
	$B tcpdump --immediate-mode -i vs -U -w "$1.vs.pcap" tcp port 6667 2>/dev/null &
	capture_pid=$!
	$B tcpdump --immediate-mode -i vc -U -w "$1.vc.pcap" tcp port 6667 2>/dev/null &
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

# run_plans NAME: $tmp/NAME.far (carol, beyond the bridge; it signals
# $tmp/NAME.online once in the channel) then $tmp/NAME.near (through it).
run_plans() {
	local n=$1 far i rc_near rc_far
	mkdir -p "$tmp/$n.out"
	$S timeout 90 $PY "$PEERS/irc_client.py" 10.77.0.2 6667 "$tmp/$n.far" "$tmp/$n.out" \
		>"$tmp/$n.far.err" 2>&1 &
	far=$!
	peer_pids="$far"
	i=0
	while [ ! -e "$tmp/$n.online" ] && kill -0 $far 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	$C timeout 90 $PY "$PEERS/irc_client.py" 10.77.0.2 6667 "$tmp/$n.near" "$tmp/$n.out" \
		>"$tmp/$n.near.err" 2>&1
	rc_near=$?
	wait $far
	rc_far=$?
	peer_pids=""
	[ $rc_near -eq 0 ] && [ $rc_far -eq 0 ]
	check "${n}_clients_complete_their_plans" $? \
		"near rc $rc_near: $(tail -3 "$tmp/$n.near.err")" \
		"far rc $rc_far: $(tail -3 "$tmp/$n.far.err" 2>/dev/null)"
}

check_received() { # NAME NICK: $tmp/NAME.NICK.want is exactly what NICK got, then a clean QUIT
	local n=$1 u=$2 st
	same_lines "${n}_${u}_received_exactly" "$tmp/$n.$u.want" "$tmp/$n.out/$u.got"
	st=$(cat "$tmp/$n.out/$u.status" 2>/dev/null)
	[ "$st" = clean ]
	check "${n}_${u}_connection_up_until_clean_quit" $? "status: ${st:-none}"
}

# The daemon's message events as "dir|local|remote|text|route|route_to",
# in log order.
log_routes() {
	$PY - "$1" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        ev = json.loads(line)
        if ev.get("kind") != "message":
            continue
        print("|".join((ev.get("dir", ""), ev.get("local", ""), ev.get("remote", ""),
                        ev.get("text", ""), ev.get("route", ""), ev.get("route_to", ""))))
EOF
}

notice="IM on this network is logged for compliance."
long=$(printf 'x%.0s' $(seq 1 300))
n=local_irc
write_config $n "local_routing=irc" "bot_auditbot=auditbot@irc" "notice_text=$notice" \
	"hold_deadline_ms=200"
start_daemon $n
check ${n}_daemon_starts $?
start_capture "$tmp/$n"
cat >"$tmp/$n.far" <<EOF
connect carol
join carol #imwire
signal carol $tmp/$n.online
wait carol 3
say carol alice from beyond the bridge
quit carol
EOF
# Counts in "wait" include the policy's notices (notice_text), which
# imwired sends to an idle client at once: alice hears one from carol and
# one from #imwire, bob from #imwire and from carol.
cat >"$tmp/$n.near" <<EOF
connect alice
connect bob
join alice #imwire
join bob #imwire
members alice #imwire alice bob carol
say alice carol ready
wait alice 1
say alice bob local secret one
wait bob 1
say bob alice local reply two
wait alice 2
say alice auditbot !policy
wait alice 3
say alice bob $long long local line
wait bob 2
say alice #imwire channel after routing
wait alice 4
wait bob 4
say bob carol to the server
wait bob 5
wait alice 5
quit alice
quit bob
EOF
run_plans $n
stop_capture
sort >"$tmp/$n.alice.want" <<EOF
bob alice local reply two
auditbot alice $notice
carol alice $notice
imwire #imwire $notice
carol alice from beyond the bridge
EOF
sort >"$tmp/$n.bob.want" <<EOF
alice bob local secret one
alice bob $long long local line
alice #imwire channel after routing
imwire #imwire $notice
carol bob $notice
EOF
sort >"$tmp/$n.carol.want" <<EOF
alice carol ready
alice #imwire channel after routing
bob carol to the server
EOF
for u in alice bob carol; do sort -o "$tmp/$n.out/$u.got" "$tmp/$n.out/$u.got"; done
for u in alice bob carol; do check_received $n $u; done
# What the server side of the bridge carried.
for t in "local secret one" "local reply two" "!policy" "long local line" "compliance"; do
	! wire_has "$tmp/$n.vs.pcap" "$t"
	check "${n}_server_port_never_saw_$(echo "$t" | tr -c 'a-z0-9\n' _)" $?
done
for t in "ready" "channel after routing" "to the server" "from beyond the bridge"; do
	wire_has "$tmp/$n.vs.pcap" "$t"
	check "${n}_server_port_saw_$(echo "$t" | tr -c 'a-z0-9\n' _)" $?
done
stop_daemon
check ${n}_daemon_stops_cleanly $? "exit status $stopped_rc"
log_routes "$tmp/events.jsonl" >"$tmp/$n.log.got"
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
	sed 's/^/    daemon: /' "$tmp/daemon.log"
	cat "$tmp/$n.log.got" | cut -c1-200 | sed 's/^/    log: /'
fi
exit $failed_here
