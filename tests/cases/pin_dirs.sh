#!/bin/sh
# One pin directory per instance: two bridges in two network namespaces
# (two topologies), the classifier attached on each and an imwired on each,
# no IMWIRE_PIN_DIR and no bpf_pin_dir=: each namespace gets its own
# directory (/sys/fs/bpf/imwire/<netns inode>), `imwire pin-dir` run in a
# namespace names its own and the daemon holding it, each daemon holds
# only its own, a second daemon in a namespace is refused, and one
# daemon's clean exit frees its directory only: the other bridge's edited
# conversation goes on being rewritten by its own daemon.
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test pin_dirs "imwpa$$" iptables
unset IMWIRE_PIN_DIR
A=$P
BA="nsenter --net=/run/netns/$A-b"
CA=$C
SA=$S
topology_B=""
pin_A=""
pin_B=""
pid_A=""
pid_B=""
cleanup_more() {
	local p
	for p in $pid_A $pid_B; do stop_pid "$p"; done
	for p in "$pin_A" "$pin_B"; do [ -z "$p" ] || rm -rf "$p"; done
	rmdir /sys/fs/bpf/imwire 2>/dev/null # the shared parent, when no one else uses it
	if [ -n "$topology_B" ]; then
		ip netns exec "$topology_B-b" "$BIN/imwire" setup --remove >/dev/null 2>&1
		"$TOP/scripts/netns-topology.sh" down "$topology_B" >/dev/null 2>&1
	fi
}
"$TOP/scripts/netns-topology.sh" up "imwpb$$" >/dev/null || { fail pin_dirs_second_topology; exit 1; }
topology_B="imwpb$$"
BB="nsenter --net=/run/netns/$topology_B-b"
CB="ip netns exec $topology_B-c"
SB="ip netns exec $topology_B-s"

# pin-dir of each bridge namespace, as its own `imwire` sees it
pin_A=$($BA "$BIN/imwire" pin-dir | head -1)
pin_B=$($BB "$BIN/imwire" pin-dir | head -1)
ino_A=$(stat -L -c %i "/run/netns/$A-b")
ino_B=$(stat -L -c %i "/run/netns/$topology_B-b")
if [ "$pin_A" = "/sys/fs/bpf/imwire/$ino_A" ] && [ "$pin_B" = "/sys/fs/bpf/imwire/$ino_B" ] &&
	[ "$pin_A" != "$pin_B" ]; then
	pass pin_dir_per_network_namespace
else
	fail pin_dir_per_network_namespace "A: $pin_A (netns inode $ino_A), B: $pin_B (netns inode $ino_B)"
	exit 1
fi
for x in A B; do
	eval "run=\$B$x; pin=\$pin_$x"
	if $run "$BIN/imwire" attach vc vs >"$tmp/attach.$x" 2>&1 && [ -e "$pin/xlate" ] &&
		[ -e "$pin/liveness" ]; then
		pass "attach_$x"
	else
		fail "attach_$x" "$(tail -3 "$tmp/attach.$x")"
		exit 1
	fi
done
ip netns exec "$A-b" "$BIN/imwire" setup --bridge br0 --by-mark >/dev/null
ip netns exec "$topology_B-b" "$BIN/imwire" setup --bridge br0 --by-mark >/dev/null
printf 'jsonl_file=%s\nregex_replace=/secret/[a longer word]/\nstats_file=%s\nspool_dir=%s\n' \
	"$tmp/A.jsonl" "$tmp/A.stats" "$tmp/A.spool" >"$tmp/A.conf"
printf 'jsonl_file=%s\nregex_replace=/secret/[a longer word]/\nstats_file=%s\nspool_dir=%s\n' \
	"$tmp/B.jsonl" "$tmp/B.stats" "$tmp/B.spool" >"$tmp/B.conf"
# start X: imwired in X's bridge namespace; its pid in pid_X
start() {
	local run
	eval "run=\$B$1"
	$run "$BIN/imwired" -d -c "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 &
	eval "pid_$1=$!"
	wait_until 5 "$!" log_has "$tmp/$1.log" "queue 0: ready"
}
start A || fail daemon_A_starts "$(cat "$tmp/A.log")"
start B || fail daemon_B_starts "$(cat "$tmp/B.log")"
holder() { # X: what `imwire pin-dir` in X's namespace says of the holder
	local run
	eval "run=\$B$1"
	$run "$BIN/imwire" pin-dir | sed -n 2p
}
if [ "$(holder A)" = "held by imwired pid $pid_A" ] && [ "$(holder B)" = "held by imwired pid $pid_B" ]; then
	pass each_daemon_holds_its_own
else
	fail each_daemon_holds_its_own "A ($pid_A): $(holder A); B ($pid_B): $(holder B)"
fi
# a second daemon in A's namespace: refused, naming A's daemon
$BA timeout 10 "$BIN/imwired" -d -c "$tmp/A.conf" --queue 7 >"$tmp/A2.log" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "$pin_A is held by a live imwired (pid $pid_A)" "$tmp/A2.log"; then
	pass second_daemon_in_a_namespace_refused
else
	fail second_daemon_in_a_namespace_refused "exit $rc: $(head -3 "$tmp/A2.log")"
fi

# A conversation across bridge B, with a pause in which A's daemon stops
# cleanly: B's lines before and after are rewritten by B's daemon.
printf '%s\n' "nodelay on" "send NICK bob" "send PRIVMSG carol :a secret before" \
	"expectline :carol!c@h PRIVMSG bob :one" "waitfile $tmp/go" \
	"send PRIVMSG carol :a secret after" "expectline :carol!c@h PRIVMSG bob :two" "close" >"$tmp/c.script"
printf '%s\n' "expectline PRIVMSG carol :a [a longer word] before" "send :carol!c@h PRIVMSG bob :one" \
	"expectline PRIVMSG carol :a [a longer word] after" "send :carol!c@h PRIVMSG bob :two" \
	"close" >"$tmp/s.script"
$SB "$PY" "$PEERS/linepeer.py" server 6667 "$tmp/s.script" "$tmp/s.got" 2>"$tmp/s.err" &
spid=$!
peer_pids=$spid
wait_until 5 $spid port_listens "$SB" 6667
$CB "$PY" "$PEERS/linepeer.py" client 10.77.0.2 6667 "$tmp/c.script" "$tmp/c.got" 2>"$tmp/c.err" &
cpid=$!
peer_pids="$spid $cpid"
sleep 1.5 # the first exchange is over
stop_pid "$pid_A"
rc_A=$stopped_rc
pid_A=""
touch "$tmp/go"
wait $cpid
crc=$?
wait $spid
src=$?
peer_pids=""
if [ $rc_A -eq 0 ] && [ "$(holder A)" = "not held by any imwired" ] &&
	[ "$(holder B)" = "held by imwired pid $pid_B" ]; then
	pass clean_exit_frees_only_its_own
else
	fail clean_exit_frees_only_its_own "A exit $rc_A: $(holder A); B: $(holder B)"
fi
if [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$(grep -c '"text":"a secret' "$tmp/B.jsonl")" -ge 2 ] &&
	[ ! -s "$tmp/A.jsonl" ]; then
	pass other_bridge_goes_on_rewriting
else
	fail other_bridge_goes_on_rewriting "client $crc server $src: $(cat "$tmp/c.err" "$tmp/s.err" | tail -2)" \
		"B logged $(grep -c . "$tmp/B.jsonl" 2>/dev/null), A logged $(grep -c . "$tmp/A.jsonl" 2>/dev/null)"
fi
stop_pid "$pid_B"
pid_B=""
$BA "$BIN/imwire" detach vc vs >/dev/null 2>&1
$BB "$BIN/imwire" detach vc vs >/dev/null 2>&1
exit 0
