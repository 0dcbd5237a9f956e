#!/bin/sh
# imwired's statistics file: in a network namespace of its own (prefix
# imwst<pid>, always removed), loopback IRC on port 6667 goes through
# NFQUEUE 0 to imwired; the stats file it writes every second must show
# the flow, the IRC session and the engine's packets, `imwire stats`
# must print it, and the file written at exit must hold the final counts.
set -u
BIN=${BIN:?} TOP=${TOP:?}
. "$TOP/tests/lib.sh"
begin_test
NS=imwst$$
cleanup_more() {
	ip netns del "$NS" 2>/dev/null
}

if [ "$(id -u)" != 0 ] || ! ip netns add "$NS" 2>"$tmp/err"; then
	fail stats_namespace "$(cat "$tmp/err" 2>/dev/null; echo "needs root")"
	exit 0
fi
ip -n "$NS" link set lo up
for dir in --dport --sport; do
	ip netns exec "$NS" iptables -A OUTPUT -o lo -p tcp "$dir" 6667 \
		-j NFQUEUE --queue-num 0 --queue-bypass || { fail stats_rules; exit 0; }
done

printf 'stats_file=%s\njsonl_file=%s\n' "$tmp/run/stats.json" "$tmp/events.jsonl" >"$tmp/statsd.conf"
daemon_in="ip netns exec $NS"
start_daemon "$tmp/statsd.conf" --queue 0

# counter SECTION.NAME from the total, or -1 when the file is not there yet
counter() {
	stats_counter "$tmp/run/stats.json" "$1"
}

wait_counter() { # name, minimum, tenths of a second
	i=0
	while [ "$(counter "$1")" -lt "$2" ] && [ $i -lt "$3" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(counter "$1")" -ge "$2" ]
}

if wait_counter engine.packets 0 50; then
	pass stats_file_written_by_imwired
else
	fail stats_file_written_by_imwired "$(tail -3 "$tmp/daemon.log")"
	exit 0
fi

printf 'expectline NICK alice\nsend :irc.example 001 alice :Welcome\nexpectline PRIVMSG bob :counted\nclose\n' >"$tmp/server.script"
printf 'send NICK alice\nexpectline :irc.example 001 alice :Welcome\nsend PRIVMSG bob :counted\nsleep 0.3\nclose\n' >"$tmp/client.script"
ip netns exec "$NS" "$PY" "$PEERS/linepeer.py" server 6667 "$tmp/server.script" "$tmp/server.out" &
peer_pids=$!
wait_until 5 "$peer_pids" port_listens "ip netns exec $NS" 6667
ip netns exec "$NS" "$PY" "$PEERS/linepeer.py" client 127.0.0.1 6667 "$tmp/client.script" "$tmp/client.out"
client_rc=$?
wait "$peer_pids"
server_rc=$?
peer_pids=""
[ $client_rc -eq 0 ] && [ $server_rc -eq 0 ] && pass stats_irc_through_the_queue ||
	fail stats_irc_through_the_queue "client $client_rc server $server_rc"

if wait_counter sessions.irc 1 30 && wait_counter engine.packets 6 30 &&
	wait_counter flow.flows_created 1 30; then
	pass stats_file_counts_flow_session_and_packets
else
	fail stats_file_counts_flow_session_and_packets "$(cat "$tmp/run/stats.json" 2>/dev/null | head -40)"
fi

if "$BIN/imwire" stats "$tmp/run/stats.json" >"$tmp/stats.txt" &&
	grep -q '^    name: queue 0$' "$tmp/stats.txt" && grep -q '^total:$' "$tmp/stats.txt" &&
	grep -q 'irc: 1$' "$tmp/stats.txt"; then
	pass stats_imwire_stats_prints_the_daemon_file
else
	fail stats_imwire_stats_prints_the_daemon_file "$(head -20 "$tmp/stats.txt")"
fi

packets_before=$(counter engine.packets)
# removed, then killed right away: the file after exit is the exit write
# (or a periodic one in the same tenth of a second: the same counts)
rm -f "$tmp/run/stats.json"
stop_pid "$daemon_pid"
rc=$stopped_rc
daemon_pid=""
after=$(counter engine.packets)
[ $rc -eq 0 ] && [ "$after" -ge "$packets_before" ] && [ "$after" -gt 0 ] &&
	pass stats_final_file_at_exit || fail stats_final_file_at_exit "rc $rc, packets $packets_before -> $after"
