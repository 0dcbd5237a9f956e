#!/bin/sh
# imwired inline on a Linux bridge between two network namespaces, with
# real kernel TCP stacks on both ends (tests/peers/linepeer.py). Each
# scenario asserts, byte for byte, what each receiver got.
# Needs root (network namespaces, iptables, NFQUEUE).
set -u
. "$TOP/tests/lib.sh"
begin_test

require_root inline_bridge "needs root for network namespaces and NFQUEUE" || exit 0
topology_up "imwib$$" || { fail inline_bridge "cannot create the netns topology"; exit 0; }
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null

# ---------------------------------------------------------------------
# 1. A flow no rule touches leaves the bridge exactly as it entered (with
# MSS clamping off: clamping lowers the MSS option of SYNs, nothing else).
write_config "$tmp/plain.conf" 50 "mss_headroom=0"
start_daemon "$tmp/plain.conf" || fail daemon_start
start_bridge_capture "$tmp/untouched" tcp port 6667
cat >"$tmp/untouched.client" <<EOF
nodelay on
send NICK alice
send USER a 0 * :A
send PRIVMSG bob :hello
sendmany 50 PRIVMSG bob :msg
expectline :srv PRIVMSG alice :pong
close
EOF
cat >"$tmp/untouched.server" <<EOF
expectline PRIVMSG bob :msg 49
send :srv PRIVMSG alice :pong
close
EOF
run_peers untouched || fail untouched_peers "$(peer_errors untouched)"
# The peers are gone once each saw the other's FIN; the ACKs of the FINs may
# still be in the daemon's queue (an ASan daemon on a loaded machine can take
# longer than stop_captures' 0.5 s). Each port is to carry what the other
# carried: wait until each direction has as many packets on both.
port_count() { # PORT SRC: packets from SRC in that port's capture so far
	tcpdump -r "$tmp/untouched.$1.pcap" -nn src "$2" 2>/dev/null | wc -l
}
ports_agree() {
	[ "$(port_count vc 10.77.0.1)" = "$(port_count vs 10.77.0.1)" ] &&
		[ "$(port_count vc 10.77.0.2)" = "$(port_count vs 10.77.0.2)" ]
}
wait_until "$READY_SECONDS" "" ports_agree
stop_captures
{
	crlf "NICK alice" "USER a 0 * :A" "PRIVMSG bob :hello"
	i=0
	while [ $i -lt 50 ]; do printf 'PRIVMSG bob :msg %d\r\n' $i; i=$((i + 1)); done
} >"$tmp/untouched.server.want"
same_bytes untouched_server_received "$tmp/untouched.server.want" "$tmp/untouched.server.got"
# Per direction: the two directions may interleave differently on the ports.
same_capture=0
for src in 10.77.0.1 10.77.0.2; do
	tcpdump -r "$tmp/untouched.vc.pcap" -nn -t -x -S src "$src" 2>/dev/null >"$tmp/vc.txt"
	tcpdump -r "$tmp/untouched.vs.pcap" -nn -t -x -S src "$src" 2>/dev/null >"$tmp/vs.txt"
	if ! [ -s "$tmp/vc.txt" ] || ! cmp -s "$tmp/vc.txt" "$tmp/vs.txt"; then
		same_capture=1
		diff "$tmp/vc.txt" "$tmp/vs.txt" | head -6 | sed 's/^/    /'
	fi
done
if [ $same_capture -eq 0 ]; then
	pass untouched_identical_on_both_bridge_ports
else
	fail untouched_identical_on_both_bridge_ports
fi
logged_soon "$tmp/events.jsonl" '"kind":"message"' 51
if [ "$(grep -c '"kind":"message"' "$tmp/events.jsonl" 2>/dev/null)" = 51 ]; then
	pass untouched_logged
else
	fail untouched_logged "$(grep -c '"kind":"message"' "$tmp/events.jsonl" 2>/dev/null) message events"
fi
stop_daemon

# ---------------------------------------------------------------------
# 2. Rewrites in both directions, then many more messages and a 10 MB
# transfer on the same connection.
rewrite_case() { # name from to
	n=$1
	write_config "$tmp/$n.conf" 50 "regex_replace=/$2/$3/"
	start_daemon "$tmp/$n.conf" || fail "${n}_daemon_start"
	cat >"$tmp/$n.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :the $2 is out
send PRIVMSG bob :$2 $2 twice
expectline :bob!b@h PRIVMSG alice :bye
sendmany 200 PRIVMSG bob :more
expectline :srv NOTICE alice :done
close
EOF
	cat >"$tmp/$n.server" <<EOF
expectline PRIVMSG bob :$3 $3 twice
send :bob!b@h PRIVMSG alice :my $2 reply
send :bob!b@h PRIVMSG alice :bye
expectline PRIVMSG bob :more 199
bulk 10000000
send :srv NOTICE alice :done
close
EOF
	run_peers "$n" || fail "${n}_peers" "$(peer_errors "$n")"
	{
		crlf "NICK alice" "PRIVMSG bob :the $3 is out" "PRIVMSG bob :$3 $3 twice"
		i=0
		while [ $i -lt 200 ]; do printf 'PRIVMSG bob :more %d\r\n' $i; i=$((i + 1)); done
	} >"$tmp/$n.server.want"
	{
		crlf ":bob!b@h PRIVMSG alice :my $3 reply" ":bob!b@h PRIVMSG alice :bye"
		$PY -c 'import sys; l=b":srv NOTICE bulk :"+b"x"*980+b"\r\n"; sys.stdout.buffer.write(l*(10000000//len(l)))'
		crlf ":srv NOTICE alice :done"
	} >"$tmp/$n.client.want"
	same_bytes "${n}_server_received" "$tmp/$n.server.want" "$tmp/$n.server.got"
	same_bytes "${n}_client_received" "$tmp/$n.client.want" "$tmp/$n.client.got"
	# The log keeps the original words, as IMSpector does.
	logged_soon "$tmp/events.jsonl" '"kind":"message"' 204
	if grep -q "\"text\":\"the $2 is out\"" "$tmp/events.jsonl" 2>/dev/null &&
		[ "$(grep -c '"kind":"message"' "$tmp/events.jsonl")" = 204 ]; then
		pass "${n}_logged_original"
	else
		fail "${n}_logged_original" "$(grep -c '"kind":"message"' "$tmp/events.jsonl" 2>/dev/null) message events"
	fi
	stop_daemon
}
rewrite_case rewrite_longer secret "[censored words]"
rewrite_case rewrite_shorter swordfish x
rewrite_case rewrite_same_length cat dog

# ---------------------------------------------------------------------
# 3. Removal and insertion, both directions. No configuration inserts a
# message after its trigger in the trigger's own direction: the daemon
# here is imwired linked with the test-only handler that does
# (tests/support/daemon/imwired_inject.c); the removal is a regex rule.
write_config "$tmp/edit.conf" 50 "regex_replace=/forbidden//b"
IMWIRED=$BIN/tests/imwired-inject
IMWIRE_TEST_INJECT=ping-me:INJECTED
export IMWIRE_TEST_INJECT
start_daemon "$tmp/edit.conf" || fail edit_daemon_start
unset IMWIRED IMWIRE_TEST_INJECT
cat >"$tmp/edit.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :one
send PRIVMSG bob :forbidden two
send PRIVMSG bob :three ping-me
send PRIVMSG bob :four
expectline :bob!b@h PRIVMSG alice :last
sendmany 100 PRIVMSG bob :after
close
EOF
cat >"$tmp/edit.server" <<EOF
expectline PRIVMSG bob :four
send :bob!b@h PRIVMSG alice :forbidden reply
send :bob!b@h PRIVMSG alice :ping-me back
send :bob!b@h PRIVMSG alice :last
expectline PRIVMSG bob :after 99
close
EOF
run_peers edit || fail edit_peers "$(peer_errors edit)"
{
	crlf "NICK alice" "PRIVMSG bob :one" "PRIVMSG bob :three ping-me" "PRIVMSG bob :INJECTED" "PRIVMSG bob :four"
	i=0
	while [ $i -lt 100 ]; do printf 'PRIVMSG bob :after %d\r\n' $i; i=$((i + 1)); done
} >"$tmp/edit.server.want"
crlf ":bob!b@h PRIVMSG alice :ping-me back" ":bob!bob@imwire PRIVMSG alice :INJECTED" \
	":bob!b@h PRIVMSG alice :last" >"$tmp/edit.client.want"
same_bytes removal_insertion_server_received "$tmp/edit.server.want" "$tmp/edit.server.got"
same_bytes removal_insertion_client_received "$tmp/edit.client.want" "$tmp/edit.client.got"
logged_soon "$tmp/events.jsonl" '"text":"forbidden two","filtered":true'
if grep -q '"text":"forbidden two","filtered":true' "$tmp/events.jsonl" 2>/dev/null; then
	pass removal_logged_as_filtered
else
	fail removal_logged_as_filtered
fi
stop_daemon

# ---------------------------------------------------------------------
# 4. Loss after the bridge (both ways), a PDU split over three segments,
# bursts of edited messages.
write_config "$tmp/hard.conf" 400 "regex_replace=/secret/[a much longer replacement]/"
start_daemon "$tmp/hard.conf" || fail hard_daemon_start
$S iptables -A INPUT -p tcp --dport 6667 -m statistic --mode nth --every 4 --packet 1 -j DROP
$C iptables -A INPUT -p tcp --sport 6667 -m statistic --mode nth --every 5 --packet 2 -j DROP
cat >"$tmp/hard.client" <<EOF
nodelay on
send NICK alice
sendsplit 3 PRIVMSG bob :a secret told in three parts
sendmany 300 PRIVMSG bob :secret
expectline :bob!b@h PRIVMSG alice :end
close
EOF
cat >"$tmp/hard.server" <<EOF
expectline PRIVMSG bob :[a much longer replacement] 299
sendmany 300 :bob!b@h PRIVMSG alice :secret
send :bob!b@h PRIVMSG alice :end
close
EOF
run_peers hard || fail hard_peers "$(peer_errors hard)"
$S iptables -D INPUT -p tcp --dport 6667 -m statistic --mode nth --every 4 --packet 1 -j DROP
$C iptables -D INPUT -p tcp --sport 6667 -m statistic --mode nth --every 5 --packet 2 -j DROP
{
	crlf "NICK alice" "PRIVMSG bob :a [a much longer replacement] told in three parts"
	i=0
	while [ $i -lt 300 ]; do printf 'PRIVMSG bob :[a much longer replacement] %d\r\n' $i; i=$((i + 1)); done
} >"$tmp/hard.server.want"
{
	i=0
	while [ $i -lt 300 ]; do printf ':bob!b@h PRIVMSG alice :[a much longer replacement] %d\r\n' $i; i=$((i + 1)); done
	crlf ":bob!b@h PRIVMSG alice :end"
} >"$tmp/hard.client.want"
same_bytes loss_split_server_received "$tmp/hard.server.want" "$tmp/hard.server.got"
same_bytes loss_split_client_received "$tmp/hard.client.want" "$tmp/hard.client.got"
stop_daemon

# A Nagle sender waits for the ack of what we hold before it sends the
# rest of a line: it must not stall. Past the deadline only same-length
# edits of what is not yet sent remain possible (DESIGN, Holding), so the
# checks are that nothing stalls, the stream arrives whole and in order,
# and the same-length rewrite shows wherever the bytes had not gone yet.
write_config "$tmp/nagle.conf" 50 "regex_replace=/secret/SECRET/"
start_daemon "$tmp/nagle.conf" || fail nagle_daemon_start
cat >"$tmp/nagle.client" <<EOF
nodelay off
send NICK alice
send PRIVMSG bob :nagle secret 1
sleep 0.03
send PRIVMSG bob :nagle secret 2
send PRIVMSG bob :nagle secret 3
sendmany 200 PRIVMSG bob :secret
expectline :srv PRIVMSG alice :ok
close
EOF
cat >"$tmp/nagle.server" <<EOF
expectline PRIVMSG bob :SECRET 199
send :srv PRIVMSG alice :ok
close
EOF
started=$(date +%s)
run_peers nagle || fail nagle_peers "$(peer_errors nagle)"
took=$(($(date +%s) - started))
{
	crlf "NICK alice" "PRIVMSG bob :nagle secret 1" "PRIVMSG bob :nagle secret 2" "PRIVMSG bob :nagle secret 3"
	i=0
	while [ $i -lt 200 ]; do printf 'PRIVMSG bob :secret %d\r\n' $i; i=$((i + 1)); done
} >"$tmp/nagle.server.want"
sed 's/SECRET/secret/g' "$tmp/nagle.server.got" >"$tmp/nagle.server.folded"
same_bytes nagle_stream_whole_and_in_order "$tmp/nagle.server.want" "$tmp/nagle.server.folded"
n_rewritten=$(grep -c 'SECRET' "$tmp/nagle.server.got")
if [ "$n_rewritten" -ge 150 ] && [ "$took" -le 8 ]; then
	pass nagle_rewritten_without_stall
else
	fail nagle_rewritten_without_stall "$n_rewritten of 203 lines rewritten, took ${took}s"
fi
stop_daemon

# ---------------------------------------------------------------------
# 5. The daemon dies mid-flow: untouched flows go on (--queue-bypass).
write_config "$tmp/plain2.conf" 50
start_daemon "$tmp/plain2.conf" || fail bypass_daemon_start
cat >"$tmp/bypass.client" <<EOF
nodelay on
send NICK alice
send PRIVMSG bob :before
sleep 1.5
send PRIVMSG bob :after the daemon died
expectline :srv PRIVMSG alice :still here
close
EOF
cat >"$tmp/bypass.server" <<EOF
expectline PRIVMSG bob :after the daemon died
send :srv PRIVMSG alice :still here
close
EOF
(sleep 0.8; kill -KILL "$daemon_pid" 2>/dev/null) &
killer=$!
run_peers bypass || fail bypass_peers "$(peer_errors bypass)"
wait $killer
wait "$daemon_pid" 2>/dev/null
daemon_pid=""
crlf "NICK alice" "PRIVMSG bob :before" "PRIVMSG bob :after the daemon died" >"$tmp/bypass.server.want"
same_bytes bypass_after_kill_server_received "$tmp/bypass.server.want" "$tmp/bypass.server.got"

exit 0
