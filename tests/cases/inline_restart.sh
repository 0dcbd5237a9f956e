#!/bin/sh
# kill -9 of imwired in the middle of a conversation whose messages were
# length-rewritten: the tc classifier applies the flow's published seq/ack
# offsets by itself, so the connection keeps working; a restarted daemon
# takes the flow over again (same offsets), logs it and rewrites again.
# Needs root, BPF and bpffs.
set -u
PY=/usr/bin/python3
PEER="$TOP/tests/peers/linepeer.py"
tmp=$(mktemp -d)
P="imwrs$$"
PIN="/sys/fs/bpf/imwire-$P"
export IMWIRE_PIN_DIR="$PIN"
daemon_pid=""
spid=""
cpid=""

cleanup() {
	[ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	"$TOP/scripts/netns-topology.sh" down "$P" >/dev/null 2>&1
	rm -rf "$PIN" "$tmp"
}
trap cleanup EXIT INT TERM

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1"
	shift
	[ $# -gt 0 ] && printf '  %s\n' "$@"
}

if [ "$(id -u)" != 0 ]; then
	fail inline_restart "needs root for network namespaces, tc and BPF"
	exit 0
fi
if ! "$TOP/scripts/netns-topology.sh" up "$P" >/dev/null; then
	fail inline_restart "cannot create the netns topology"
	exit 0
fi
B="ip netns exec $P-b"
C="ip netns exec $P-c"
S="ip netns exec $P-s"
BPF_B="nsenter --net=/run/netns/$P-b"
if ! $BPF_B "$BIN/imwire" attach vc vs >"$tmp/attach.log" 2>&1; then
	fail inline_restart "cannot attach the classifier: $(tail -3 "$tmp/attach.log")"
	exit 0
fi
$B "$BIN/imwire" setup --bridge br0 --by-mark >/dev/null
printf 'jsonl_file=%s\nrewrite_test=secret:[a longer word]\n' "$tmp/events.jsonl" >"$tmp/d.conf"

start_daemon() {
	$BPF_B "$BIN/imwired" -d -c "$tmp/d.conf" >>"$tmp/daemon.log" 2>&1 &
	daemon_pid=$!
	i=0
	while [ "$(grep -c "queue 0: ready" "$tmp/daemon.log" 2>/dev/null)" -lt "$1" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.05
	done
}

# A conversation with pauses: the daemon is killed during the first pause
# and started again during the second. The peers never reconnect.
printf '%s\n' "nodelay on" "send NICK alice" "send PRIVMSG bob :first secret" \
	"expectline :bob!b@h PRIVMSG alice :got first" "sleep 4" \
	"send PRIVMSG bob :while the daemon is dead" \
	"expectline :bob!b@h PRIVMSG alice :got second" "sleep 3" \
	"send PRIVMSG bob :third secret after the restart" \
	"expectline :bob!b@h PRIVMSG alice :got third" "close" >"$tmp/c.script"
printf '%s\n' "expectline PRIVMSG bob :first [a longer word]" "send :bob!b@h PRIVMSG alice :got first" \
	"expectline PRIVMSG bob :while the daemon is dead" "send :bob!b@h PRIVMSG alice :got second" \
	"expectline PRIVMSG bob :third [a longer word] after the restart" \
	"send :bob!b@h PRIVMSG alice :got third" "close" >"$tmp/s.script"

start_daemon 1 || { fail daemon_start "$(cat "$tmp/daemon.log")"; exit 0; }
$S $PY "$PEER" server 6667 "$tmp/s.script" "$tmp/s.got" 2>"$tmp/s.err" &
spid=$!
sleep 0.2
$C $PY "$PEER" client 10.77.0.2 6667 "$tmp/c.script" "$tmp/c.got" 2>"$tmp/c.err" &
cpid=$!
# first message rewritten and acknowledged, then kill -9
sleep 1
kill -KILL "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=""
published=$("$BIN/imwire" proto list | awk 'NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
	$1 == "irc" { print $(idx["fixed_up"]) }')
# second message crosses with the classifier's fix-up alone (after its
# heartbeat timeout); then the daemon comes back
sleep 5.5
start_daemon 2 || fail daemon_restart "$(cat "$tmp/daemon.log")"
wait $cpid
crc=$?
cpid=""
wait $spid
src=$?
spid=""
fixed=$("$BIN/imwire" proto list | awk 'NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
	$1 == "irc" { print $(idx["fixed_up"]) }')
printf 'NICK alice\r\nPRIVMSG bob :first [a longer word]\r\nPRIVMSG bob :while the daemon is dead\r\nPRIVMSG bob :third [a longer word] after the restart\r\n' >"$tmp/s.want"
if [ $crc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$tmp/s.want" "$tmp/s.got"; then
	pass connection_survives_kill_9_and_restart
else
	fail connection_survives_kill_9_and_restart "client $crc server $src" \
		"$(cat "$tmp/c.err" "$tmp/s.err" | tail -3)" "$(cmp "$tmp/s.want" "$tmp/s.got" 2>&1)"
fi
if [ "${fixed:-0}" -gt "${published:-0}" ]; then
	pass classifier_fixed_up_while_daemon_dead
else
	fail classifier_fixed_up_while_daemon_dead "fixed_up $published -> $fixed"
fi
kill -TERM "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
daemon_pid=""
# The restarted daemon could only rewrite the third message (and the
# connection live through it) with the offsets it took over.
if grep -q '"text":"third secret after the restart"' "$tmp/events.jsonl"; then
	pass restarted_daemon_adopts_and_logs
else
	fail restarted_daemon_adopts_and_logs "$(grep -c . "$tmp/events.jsonl") events" \
		"$(grep 'queue 0: [0-9]' "$tmp/daemon.log" | tail -1 | cut -c1-200)"
fi
$B "$BIN/imwire" setup --remove >/dev/null
$BPF_B "$BIN/imwire" detach vc vs >/dev/null 2>&1
exit 0
