#!/bin/sh
# A worker that falls behind: the kernel cannot queue a packet to it.
#
# An IRC connection (tests/peers/linepeer.py, real kernel TCP stacks) is
# edited on its first message (regex_replace doubles "secret": the stream
# grows, so every later packet must be translated); then imwired is
# stopped (SIGSTOP) while the client sends a line in 20 writes and 20 more
# lines (each rewritten), with queue_maxlen=4: the queue fills and the kernel cannot queue
# what follows. After 1.5 s the daemon goes on (SIGCONT).
#  - queue_overflow=drop (the default): the kernel drops those packets
#    (it counts them: queue_dropped in /proc/net/netfilter/nfnetlink_queue),
#    their sender resends them, and the server receives every line,
#    rewritten, byte for byte: the connection survives and no message
#    crosses unseen;
#    imwired reads the kernel's count: its counters at exit and its stats
#    file (queue.kernel_queue_dropped) give the same number;
#  - queue_overflow=pass (the queue fail-open, as imwired was before): they
#    go on unseen and untranslated, and the server's stream is not the
#    rewritten one (what `drop` prevents).
# Needs root (network namespaces, iptables, NFQUEUE).
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test faults_queue_overflow "imwqo$$" "$PY" iptables
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check overflow_setup $?

# Twenty writes 50 ms apart, each its own segment (TCP_NODELAY): more
# than the queue holds. The line has no "secret": a PDU that dribbles in
# over more than hold_deadline_ms goes out piece by piece, and an edit in
# it would be refused (README, known limits), which is not this test's.
LONG="PRIVMSG bob :a second line, written in twenty pieces fifty ms apart"
# scenario NAME OVERFLOW: the run; $tmp/NAME.server.got is what the server got.
scenario() {
	local n="$1"
	# hold_hole_ms: what the kernel dropped comes back at its sender's
	# retransmission timeout, doubled while the daemon stood still (0.2,
	# 0.4, 0.8, 1.6 s...): the lines behind the hole wait for it (past the
	# bound they would go on and their edits be refused: policy failures)
	write_config "$tmp/$n.conf" 50 "regex_replace=/secret/secret-secret/" "queue_maxlen=4" \
		"queue_overflow=$2" "hold_hole_ms=10000" "stats_file=$tmp/$n.stats.json"
	start_daemon "$tmp/$n.conf"
	check "${n}_daemon_starts" $?
	rm -f "$tmp/$n.cue"
	cat >"$tmp/$n.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :secret first
waitfile $tmp/$n.cue
sendsplit 20 $LONG
sendmany 20 PRIVMSG bob :secret
expectline :srv PRIVMSG alice :done
close
EOF
	cat >"$tmp/$n.server" <<EOF
expectline PRIVMSG bob :secret-secret 19
send :srv PRIVMSG alice :done
close
EOF
	(
		run_peers "$n"
		echo $? >"$tmp/$n.rc"
	) &
	peers=$!
	# The first line was edited (the flow is translated from now on).
	logged_soon "$tmp/events.jsonl" '"delivered_text":"secret-secret first"'
	check "${n}_first_line_edited" $?
	kill -STOP "$daemon_pid"
	touch "$tmp/$n.cue"
	sleep 1.5
	kill -CONT "$daemon_pid"
	wait "$peers"
	# the kernel's count for queue 0 (while the daemon still holds it)
	$B awk '$1 == 0 { print $6 }' /proc/net/netfilter/nfnetlink_queue >"$tmp/$n.dropped"
	stop_daemon
	check "${n}_daemon_stops_cleanly" $? "exit status $stopped_rc"
	# what imwired read of it: its counters at exit, its stats file
	sed -n 's/.*queue 0: .* the kernel: \([0-9]*\) dropped with the queue full.*/\1/p' \
		"$daemon_log" >"$tmp/$n.said"
	stats_counter "$tmp/$n.stats.json" queue.kernel_queue_dropped >"$tmp/$n.stats"
	{
		crlf "NICK alice" "PRIVMSG bob :secret-secret first" \
			"$LONG"
		i=0
		while [ $i -lt 20 ]; do
			printf 'PRIVMSG bob :secret-secret %d\r\n' $i
			i=$((i + 1))
		done
	} >"$tmp/$n.want"
}

scenario drop drop
same_bytes drop_server_received_every_line_rewritten "$tmp/drop.want" "$tmp/drop.server.got"
[ "$(cat "$tmp/drop.rc")" = 0 ]
check drop_connection_up_until_clean_close $? "$(peer_errors drop)"
[ "$(cat "$tmp/drop.dropped")" -gt 0 ] 2>/dev/null
check drop_kernel_dropped_what_it_could_not_queue $? "queue_dropped: $(cat "$tmp/drop.dropped")"
[ "$(cat "$tmp/drop.said")" = "$(cat "$tmp/drop.dropped")" ]
check drop_daemon_counters_give_the_kernels_count $? \
	"said $(cat "$tmp/drop.said"), the kernel $(cat "$tmp/drop.dropped")"
[ "$(cat "$tmp/drop.stats")" = "$(cat "$tmp/drop.dropped")" ]
check drop_stats_file_gives_the_kernels_count $? \
	"stats file $(cat "$tmp/drop.stats"), the kernel $(cat "$tmp/drop.dropped")"

scenario pass pass
! cmp -s "$tmp/pass.want" "$tmp/pass.server.got"
check pass_untranslated_packets_reached_the_server $? \
	"the server got the rewritten stream: nothing overflowed, the scenario shows nothing"
[ "$(cat "$tmp/pass.dropped")" = 0 ]
check pass_kernel_dropped_nothing $? "queue_dropped: $(cat "$tmp/pass.dropped")"
[ "$(cat "$tmp/pass.said")" = 0 ] && [ "$(cat "$tmp/pass.stats")" = 0 ]
check pass_daemon_counted_no_drop $? "said $(cat "$tmp/pass.said"), stats file $(cat "$tmp/pass.stats")"
exit 0
