#!/bin/sh
# kill -9 of imwired in the middle of a conversation whose messages were
# length-rewritten: the tc classifier knows the daemon is gone from the
# very first packet after its death (its socket left the liveness map as
# the kernel closed it) and applies the flow's published offsets itself,
# so a message sent 100 ms after the kill crosses at once, intact, never
# retransmitted; a restarted daemon takes the flow over again (same
# offsets), logs it and rewrites again. Needs root, BPF and bpffs.
set -u
. "$TOP/tests/lib.sh"
begin_test

require_root inline_restart "needs root for network namespaces, tc and BPF" || exit 0
topology_up "imwrs$$" || { fail inline_restart "cannot create the netns topology"; exit 0; }
bpf_pins
daemon_in=$BPF_B
if ! $BPF_B "$BIN/imwire" attach vc vs >"$tmp/attach.log" 2>&1; then
	fail inline_restart "cannot attach the classifier: $(tail -3 "$tmp/attach.log")"
	exit 0
fi
$B "$BIN/imwire" setup --bridge br0 --by-mark >/dev/null
printf 'jsonl_file=%s\nregex_replace=/secret/[a longer word]/\n' "$tmp/events.jsonl" >"$tmp/irestart.conf"

# A conversation with pauses: the daemon is killed during the first pause
# (the client sends its second line on the cue $tmp/go, 100 ms after the
# kill) and started again during the second. The peers never reconnect.
printf '%s\n' "nodelay on" "send NICK alice" "send PRIVMSG bob :first secret" \
	"expectline :bob!b@h PRIVMSG alice :got first" "waitfile $tmp/go" \
	"send PRIVMSG bob :while the daemon is dead" \
	"expectline :bob!b@h PRIVMSG alice :got second" "sleep 3" \
	"send PRIVMSG bob :third secret after the restart" \
	"expectline :bob!b@h PRIVMSG alice :got third" "close" >"$tmp/c.script"
printf '%s\n' "expectline PRIVMSG bob :first [a longer word]" "send :bob!b@h PRIVMSG alice :got first" \
	"expectline PRIVMSG bob :while the daemon is dead" "send :bob!b@h PRIVMSG alice :got second" \
	"expectline PRIVMSG bob :third [a longer word] after the restart" \
	"send :bob!b@h PRIVMSG alice :got third" "close" >"$tmp/s.script"

start_daemon "$tmp/irestart.conf" || { fail daemon_start; exit 0; }
if "$BIN/imwire" pin-dir | grep -q "held by imwired pid $daemon_pid"; then
	pass daemon_holds_its_pin_dir
else
	fail daemon_holds_its_pin_dir "$("$BIN/imwire" pin-dir 2>&1)"
fi
start_bridge_capture "$tmp/wire" tcp port 6667 || fail bridge_capture
$S "$PY" "$PEERS/linepeer.py" server 6667 "$tmp/s.script" "$tmp/s.got" 2>"$tmp/s.err" &
spid=$!
peer_pids=$spid
wait_until 5 $spid port_listens "$S" 6667
$C "$PY" "$PEERS/linepeer.py" client 10.77.0.2 6667 "$tmp/c.script" "$tmp/c.got" 2>"$tmp/c.err" &
cpid=$!
peer_pids="$spid $cpid"
# first message rewritten and acknowledged, then kill -9 and, 100 ms
# later, the second message
sleep 1
kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=""
published=$(proto_counter irc fixed_up)
held=$("$BIN/imwire" pin-dir | sed -n 2p)
sleep 0.1
touch "$tmp/go"
# then the daemon comes back
sleep 1.5
start_daemon "$tmp/irestart.conf" || fail daemon_restart
wait $cpid
crc=$?
wait $spid
src=$?
peer_pids=""
stop_captures
fixed=$(proto_counter irc fixed_up)
printf 'NICK alice\r\nPRIVMSG bob :first [a longer word]\r\nPRIVMSG bob :while the daemon is dead\r\nPRIVMSG bob :third [a longer word] after the restart\r\n' >"$tmp/s.want"
if [ $crc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$tmp/s.want" "$tmp/s.got"; then
	pass connection_survives_kill_9_and_restart
else
	fail connection_survives_kill_9_and_restart "client $crc server $src" \
		"$(cat "$tmp/c.err" "$tmp/s.err" | tail -3)" "$(cmp "$tmp/s.want" "$tmp/s.got" 2>&1)"
fi
if [ "$held" = "not held by any imwired" ]; then
	pass kill_9_frees_the_pin_dir_at_once
else
	fail kill_9_frees_the_pin_dir_at_once "right after kill -9: $held"
fi
if [ "${fixed:-0}" -gt "${published:-0}" ]; then
	pass classifier_fixed_up_while_daemon_dead
else
	fail classifier_fixed_up_while_daemon_dead "fixed_up $published -> $fixed"
fi
# The line sent 100 ms after the kill crossed once (never retransmitted),
# the server's side of the bridge saw it within 50 ms of the client's
# side, 9 bytes further on (the first line's edit: "secret" became
# "[a longer word]"): the classifier translated its very first packet.
sent_at() { # PCAP TEXT: capture time and seq of each segment carrying TEXT
	tcpdump -r "$1" -nn -tt -S -A 2>/dev/null | awk -v t="$2" '
		/^[0-9]+\.[0-9]+ IP/ { ts = $1; seq = $0; sub(/.* seq /, "", seq); sub(/:.*/, "", seq) }
		index($0, t) { print ts, seq }'
}
tc=$(sent_at "$tmp/wire.vc.pcap" "while the daemon is dead")
ts=$(sent_at "$tmp/wire.vs.pcap" "while the daemon is dead")
if [ "$(echo "$tc" | grep -c .)" = 1 ] && [ "$(echo "$ts" | grep -c .)" = 1 ] &&
	awk -v a="$tc" -v b="$ts" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
		if (d < 0) d += 4294967296
		exit !(y[1] - x[1] >= 0 && y[1] - x[1] < 0.05 && d == 9) }'; then
	pass first_packet_after_kill_translated
else
	fail first_packet_after_kill_translated "client side (time seq): $(echo $tc)," \
		"server side: $(echo $ts)"
fi
stop_daemon
# The restarted daemon could only rewrite the third message (and the
# connection live through it) with the offsets it took over.
if grep -q '"text":"third secret after the restart"' "$tmp/events.jsonl"; then
	pass restarted_daemon_adopts_and_logs
else
	fail restarted_daemon_adopts_and_logs "$(grep -c . "$tmp/events.jsonl") events" \
		"$(grep 'queue 0: [0-9]' "$daemon_log" | tail -1 | cut -c1-200)"
fi
$BPF_B "$BIN/imwire" detach vc vs >/dev/null 2>&1
exit 0
