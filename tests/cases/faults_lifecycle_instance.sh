#!/bin/sh
# One imwired per configuration, and a daemon that always says where it
# logs (issue 21, item 5), each with imwired inline on the netns bridge
# between ngircd and python3-irc clients:
#  1. A second `imwired -c SAME.conf` (in the foreground and as a daemon)
#     is refused with a message naming the first one's pid (it used to
#     exit 0, run beside the first and overwrite its pid file); the first
#     keeps its pid file and logs every message of a session once.
#  2. With no default configuration file, `imwired` refuses to start
#     (it used to run on the built-in defaults without a word); with
#     --defaults it runs.
#  3. On a host without syslog (no /dev/log), a daemonized imwired without
#     log_file= refuses to start, saying so (it used to log nowhere); with
#     log_file= its messages are there, from the start to the stop; with -d
#     they go to stderr as well.
# Needs root (network namespaces, mount namespaces, iptables, NFQUEUE).
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test faults_lifecycle_instance "imwli$$" ngircd iptables ss timeout unshare "$PY" py:irc.client
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check instance_setup $?
start_ngircd 300
check instance_ngircd_listens $? "$(tail -5 "$tmp/ngircd.out")"

# conf NAME [LINE...]: $tmp/NAME.conf with everything it writes in $tmp/NAME.*
conf() {
	local n="$1" l
	shift
	printf '%s\n' "jsonl_file=$tmp/$n.jsonl" "spool_dir=$tmp/$n.spool" "stats_file=$tmp/$n.stats" \
		"control_socket=$tmp/$n.sock" "hold_deadline_ms=50" >"$tmp/$n.conf"
	for l in "$@"; do printf '%s\n' "$l" >>"$tmp/$n.conf"; done
}

# session NAME N: alice (through the bridge) says N lines to carol (beyond it); checked.
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

# logged_once JSONL NAME N: every "NAME line i" message (i < N) exactly once, nothing else of NAME.
logged_once() {
	local got
	log_settles "$1"
	got=$(grep -o "\"text\":\"$2 line [0-9]*\"" "$1" | sort | uniq -c | awk '$1 == 1' | wc -l)
	[ "$got" -eq "$3" ] && [ "$(grep -c "\"text\":\"$2 line " "$1")" -eq "$3" ]
}

# ---- 1. a second daemon on the same configuration -----------------------
conf one "pidfilename=$tmp/one.pid"
daemon_log=$tmp/one.log
start_daemon "$tmp/one.conf"
check instance_first_daemon_starts $?
first=$daemon_pid
$B timeout 10 "$BIN/imwired" -d -c "$tmp/one.conf" >"$tmp/second.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "another imwired runs with this configuration (pid $first, pid file $tmp/one.pid locked)" \
	"$tmp/second.out"
check instance_second_in_foreground_refused_naming_the_first $? "exit $rc: $(cat "$tmp/second.out")"
$B timeout 10 "$BIN/imwired" -c "$tmp/one.conf" >"$tmp/second_d.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "another imwired runs with this configuration (pid $first," "$tmp/second_d.out"
check instance_second_daemon_refused_before_forking $? "exit $rc: $(cat "$tmp/second_d.out")"
[ "$(cat "$tmp/one.pid")" = "$first" ] && kill -0 "$first"
check instance_first_keeps_its_pid_file_and_runs $? "pid file: $(cat "$tmp/one.pid"), first $first"
session one 20
logged_once "$tmp/one.jsonl" one 20
check instance_first_logs_every_message_once $? "$(grep -c '"text":"one line' "$tmp/one.jsonl")"
stop_daemon
check instance_first_stops_cleanly $? "exit $stopped_rc"
[ ! -e "$tmp/one.pid" ]
check instance_pid_file_removed_at_stop $?
# Its lock went with it: the same configuration starts again.
start_daemon "$tmp/one.conf"
check instance_restarts_once_the_first_stopped $?
stop_daemon

# ---- 2. no default configuration file -----------------------------------
# A mount namespace of its own: /etc/imwire (when there is one) empty, and
# /run and /var/lib fresh, so that --defaults touches nothing of the host.
# $hide: a script for `unshare -m sh -c "$hide" hidden CMD...`: CMD with
# those hidden, exec'd (so that $! of a background start is the daemon).
hide='[ -d /etc/imwire ] && mount -t tmpfs tmpfs /etc/imwire
mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/lib && exec "$@"'
$B unshare -m sh -c "$hide" hidden timeout 10 "$BIN/imwired" -d >"$tmp/nodefault.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "imwired: /etc/imwire/imwire.conf: no such configuration file: give one with -c FILE, or start with --defaults" \
	"$tmp/nodefault.out"
check instance_missing_default_configuration_refused $? "exit $rc: $(cat "$tmp/nodefault.out")"
daemon_log=$tmp/defaults.log
$B unshare -m sh -c "$hide" hidden "$BIN/imwired" -d --defaults >"$daemon_log" 2>&1 &
daemon_pid=$!
wait_until 10 "$daemon_pid" log_has "$daemon_log" "queue 0: ready" &&
	grep -q "starting (configuration none: defaults)" "$daemon_log" &&
	grep -q "no sink configured: logging to /var/lib/imwire/imwire.db" "$daemon_log"
check instance_defaults_run_when_asked $? "$(cat "$daemon_log")"
stop_daemon
check instance_defaults_stop_cleanly $? "exit $stopped_rc"

# ---- 3. no syslog: log_file=, or a refusal ------------------------------
# nolog CMD...: CMD in a mount namespace where /dev/log is no socket.
nolog() {
	: >"$tmp/no-log"
	$B unshare -m sh -c '
		f=$1
		shift
		if [ -e /dev/log ]; then mount --bind "$f" /dev/log || exit 99; fi
		exec "$@"' nolog "$tmp/no-log" "$@"
}
conf quiet "pidfilename=$tmp/quiet.pid"
nolog timeout 10 "$BIN/imwired" -c "$tmp/quiet.conf" >"$tmp/quiet.start" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "no syslog here (/dev/log is absent): set log_file= in $tmp/quiet.conf, or run in the foreground with -d" \
	"$tmp/quiet.start" && [ ! -s "$tmp/quiet.pid" ]
check instance_daemon_without_syslog_or_log_file_refused $? "exit $rc: $(cat "$tmp/quiet.start")"

conf logged "pidfilename=$tmp/logged.pid" "log_file=$tmp/logs/imwired.log"
nolog timeout 10 "$BIN/imwired" -c "$tmp/logged.conf" >"$tmp/logged.start" 2>&1
rc=$?
daemon_pid=""
[ $rc -eq 0 ] && wait_until "$READY_SECONDS" "" log_has "$tmp/logged.pid" '^[0-9][0-9]*$' &&
	daemon_pid=$(cat "$tmp/logged.pid") && wait_until "$READY_SECONDS" "$daemon_pid" log_has "$tmp/logs/imwired.log" "queue 0: ready"
check instance_daemonized_logs_to_log_file $? "exit $rc: $(cat "$tmp/logged.start" "$tmp/logs/imwired.log" 2>&1)"
grep -q "^[0-9-]*T[0-9:]*[-+][0-9]* imwired\[$daemon_pid\]: imwired .* starting (configuration $tmp/logged.conf)$" \
	"$tmp/logs/imwired.log"
check instance_log_file_lines_carry_time_and_pid $? "$(head -2 "$tmp/logs/imwired.log")"
session logged 5
logged_once "$tmp/logged.jsonl" logged 5
check instance_daemonized_logs_events $?
# Detached: nobody's child; stopped by its pid file's pid.
kill -TERM "$daemon_pid"
i=0
while [ -s "$tmp/logged.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "imwired\[$daemon_pid\]: stopped$" "$tmp/logs/imwired.log" &&
	grep -q "imwired\[$daemon_pid\]: queue 0: .* packets" "$tmp/logs/imwired.log"
check instance_log_file_has_the_stop $? "$(tail -3 "$tmp/logs/imwired.log")"
daemon_pid=""

# -d keeps stderr: both get the lines.
conf both "pidfilename=$tmp/both.pid" "log_file=$tmp/both.log"
daemon_log=$tmp/both.stderr
start_daemon "$tmp/both.conf"
check instance_foreground_with_log_file_starts $?
grep -q "imwired: queue 0: ready" "$tmp/both.stderr" && grep -q "imwired\[$daemon_pid\]: queue 0: ready" "$tmp/both.log"
check instance_foreground_logs_to_stderr_and_log_file $? "$(cat "$tmp/both.stderr" "$tmp/both.log")"
stop_daemon
exit 0
