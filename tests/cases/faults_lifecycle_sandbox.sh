#!/bin/sh
# The sandbox imwired enters after its set-up (issue 21, item 3), with
# imwired inline on the netns bridge between ngircd and python3-irc
# clients (tests/unit/test_sandbox.c shows the system calls it refuses
# with EPERM, the process going on):
#  1. by default the daemon runs under seccomp (filter mode) and Landlock,
#     and says so;
#  2. a reload that names a file outside the paths of the configuration
#     at start (jsonl_file= in another directory, whose mode would allow
#     it) is refused by the sandbox: the old configuration keeps running,
#     the log names the key, the path and the sandbox, the stats file
#     counts it (sandbox.refused), and traffic goes on, logged where it
#     was, every byte delivered;
#  3. with sandbox=off there is no filter, and the same reload works;
#  4. the alert webhook is posted from the sandboxed daemon (libcurl on
#     the writer's thread), each flagged event once.
# Needs root (network namespaces, iptables, NFQUEUE).
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test faults_lifecycle_sandbox "imwls$$" ngircd iptables ss timeout "$PY" py:irc.client
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check sandbox_setup $?
start_ngircd 300
check sandbox_ngircd_listens $? "$(tail -5 "$tmp/ngircd.out")"

# conf JSONL [LINE...]: $tmp/s.conf
conf() {
	local j="$1"
	shift
	printf '%s\n' "jsonl_file=$j" "spool_dir=$tmp/s.spool" "stats_file=$tmp/s.stats" \
		"control_socket=$tmp/s.sock" "hold_deadline_ms=50" "$@" >"$tmp/s.conf"
}

# session NAME N: alice (through the bridge) says N lines "NAME line i" to carol; checked.
session() {
	local i=0
	printf '%s\n' "connect carol" "signal carol $tmp/$1.online" "wait carol $2" "quit carol" \
		>"$tmp/$1.far"
	printf '%s\n' "connect alice" >"$tmp/$1.near"
	: >"$tmp/$1.carol.want"
	while [ $i -lt "$2" ]; do
		echo "say alice carol $1 line $i" >>"$tmp/$1.near"
		echo "alice carol $1 line $i" >>"$tmp/$1.carol.want"
		i=$((i + 1))
	done
	echo "quit alice" >>"$tmp/$1.near"
	run_session "$1" 60 "$PY" "$PEERS/irc_client.py" 10.77.0.2 6667
	check_received "$1" connection_up_until_clean_close carol
}

# logged_once FILE NAME N: every "NAME line i" (i < N) exactly once in FILE
logged_once() {
	log_settles "$1"
	[ "$(grep -o "\"text\":\"$2 line [0-9]*\"" "$1" 2>/dev/null | sort -u | wc -l)" = "$3" ] &&
		[ "$(grep -c "\"text\":\"$2 line " "$1" 2>/dev/null)" = "$3" ]
}

refused() { # the stats file's sandbox.refused
	"$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["sandbox"]["refused"])' \
		"$tmp/s.stats" 2>/dev/null || echo -1
}
refused_is() { [ "$(refused)" = "$1" ]; }

# Root's, 0755, beside $tmp (Landlock allows what is beneath a
# configured file's directory, and every path of the configuration is in
# $tmp): root may write there, the sandbox may not.
elsewhere=$(mktemp -d /tmp/imwire-elsewhere.XXXXXX) || exit 1
chmod 755 "$elsewhere"
cleanup_more() {
	rm -rf "$elsewhere"
}

# ---- 1. on by default ---------------------------------------------------------
conf "$tmp/s.jsonl"
start_daemon "$tmp/s.conf"
check sandbox_daemon_starts $?
[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$daemon_pid/status")" = 2 ] &&
	grep -q "sandbox: seccomp on ([0-9]* system calls allowed, EPERM for the rest), Landlock ABI [1-9][0-9]* on" "$daemon_log"
check sandbox_on_by_default_seccomp_and_landlock $? "$(grep -i 'seccomp' "/proc/$daemon_pid/status" "$daemon_log")"
wait_until 5 "$daemon_pid" refused_is 0
check sandbox_stats_count_nothing_refused_yet $? "refused: $(refused)"
session one 5
logged_once "$tmp/s.jsonl" one 5
check sandbox_logs_every_message_once $?

# ---- 2. a path outside: refused by the sandbox, said, counted; traffic on ----
conf "$elsewhere/new.jsonl"
reload_daemon "reload failed, keeping the old configuration"
check sandbox_reload_to_a_path_outside_refused $? "$(tail -3 "$daemon_log")"
grep "reload failed, keeping the old configuration" "$daemon_log" | grep "$elsewhere/new.jsonl" |
	grep -q "jsonl_file=$elsewhere/new.jsonl (refused by the sandbox: it allows only the paths the configuration named at start; restart imwired to use a new one, or set sandbox=off)"
check sandbox_refusal_names_key_path_and_sandbox $? "$(grep 'reload failed' "$daemon_log")"
wait_until 5 "$daemon_pid" refused_is 1
check sandbox_refusal_counted_in_stats $? "refused: $(refused)"
[ ! -e "$elsewhere/new.jsonl" ]
check sandbox_nothing_made_outside $?
# A database beside the JSON lines: inside a directory Landlock lets the
# daemon append in, but not a path the start named (SQLite would open,
# then fail on its journals): refused the same way, before anything opens.
conf "$tmp/s.jsonl" "sqlite_file=$tmp/s.db"
kill -HUP "$daemon_pid"
wait_until 5 "$daemon_pid" log_has "$daemon_log" "reload failed, keeping the old configuration" 2 &&
	grep "reload failed" "$daemon_log" | grep -q "sqlite_file=$tmp/s.db (refused by the sandbox: "
check sandbox_reload_adding_a_database_refused $? "$(grep 'reload' "$daemon_log")"
wait_until 5 "$daemon_pid" refused_is 2
check sandbox_second_refusal_counted $? "refused: $(refused)"
[ ! -e "$tmp/s.db" ]
check sandbox_no_database_made $?
conf "$tmp/s.jsonl"
session two 5
logged_once "$tmp/s.jsonl" two 5
check sandbox_traffic_goes_on_logged_where_it_was $?
kill -0 "$daemon_pid"
check sandbox_daemon_runs_on $?
stop_daemon
check sandbox_daemon_stops_cleanly $? "exit status $stopped_rc"

# ---- 3. sandbox=off -------------------------------------------------------------
conf "$tmp/s.jsonl" "sandbox=off"
start_daemon "$tmp/s.conf"
check sandbox_off_daemon_starts $?
[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$daemon_pid/status")" = 0 ] &&
	grep -q "sandbox=off: no seccomp filter, no Landlock" "$daemon_log"
check sandbox_off_no_filter $? "$(grep -i 'seccomp' "/proc/$daemon_pid/status" "$daemon_log")"
conf "$elsewhere/new.jsonl" "sandbox=off"
reload_daemon "configuration reloaded"
check sandbox_off_reload_to_a_new_path_works $? "$(tail -3 "$daemon_log")"
session three 5
logged_once "$elsewhere/new.jsonl" three 5
check sandbox_off_logs_to_the_new_path $?
stop_daemon
check sandbox_off_daemon_stops_cleanly $? "exit status $stopped_rc"
# ---- 4. alerts from a sandboxed daemon: the webhook is posted ------------------
# The alert webhook (libcurl, on the writer's thread) under seccomp and
# Landlock: a receiver on the daemon's own loopback (in the bridge's
# namespace) gets the one flagged message exactly once, with its event id.
rm -f "$tmp/port" "$tmp/received"
$B "$PY" "$PEERS/webhook_receiver.py" "$tmp/port" "$tmp/received" 0 0 2>"$tmp/recv.err" &
recv_pid=$!
wait_until 10 "$recv_pid" test -s "$tmp/port"
check sandbox_webhook_receiver_started $? "$(cat "$tmp/recv.err")"
conf "$tmp/w.jsonl" "regex_flag=/four line 1\$/watch/" "alert_categories=watch" \
	"alert_webhook=http://127.0.0.1:$(cat "$tmp/port")/hook" "sensor_name=gw1"
start_daemon "$tmp/s.conf"
check sandbox_webhook_daemon_starts $?
[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$daemon_pid/status")" = 2 ]
check sandbox_webhook_daemon_sandboxed $?
session four 3
logged_once "$tmp/w.jsonl" four 3
check sandbox_webhook_logs_every_message_once $?
received_one() { [ "$(wc -l <"$tmp/received" 2>/dev/null)" = 1 ]; }
wait_until 10 "$daemon_pid" received_one
eid=$(grep '"text":"four line 1"' "$tmp/w.jsonl" | sed -n 's/.*"eventid":\([0-9]*\).*/\1/p')
[ -n "$eid" ] && [ "$(cat "$tmp/received")" = "$(printf 'gw1/%s\t%s\t%s' "$eid" "$eid" "four line 1")" ]
check sandbox_webhook_flagged_event_posted_once $? "received: $(cat "$tmp/received" 2>/dev/null)" \
	"event $eid; $(grep -i 'webhook\|alert' "$daemon_log" | tail -3)"
stop_daemon
check sandbox_webhook_daemon_stops_cleanly $? "exit status $stopped_rc"
[ "$(wc -l <"$tmp/received")" = 1 ]
check sandbox_webhook_nothing_posted_twice $?
kill "$recv_pid" 2>/dev/null
wait "$recv_pid" 2>/dev/null
exit 0
