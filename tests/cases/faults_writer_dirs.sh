#!/bin/sh
# IMSpector's file log where it cannot be written (issue 21), with real
# IRC traffic through imwired on the netns bridge (ngircd, python3-irc
# clients alice and bob through the bridge, carol beyond it):
#  1. file_logging_dir owned by root and imwired running as user=nobody:
#     every write fails (EACCES);
#  2. a file where the protocol's directory should be (ENOTDIR): the
#     second event of a conversation used to crash imwired
#     (sink_imspector.c:125, a NULL FILE).
# Each time: the daemon runs on and stops cleanly, every connection ends
# cleanly with exactly what was sent, the failure is logged once with its
# path and errno name and counted (stats file: the sink down, failed
# attempts, events queued), the events wait; once the directory is fixed,
# every message is in the files exactly once (and in JSON lines once).
# Needs root (namespaces, NFQUEUE, user nobody).
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test faults_writer_dirs "imwfl$$" ngircd iptables ss timeout "$PY" py:irc.client
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check dirs_setup $?
start_ngircd 300
check dirs_ngircd_listens $? "$(tail -5 "$tmp/ngircd.out")"

plans() { # name
	local i
	{
		echo "connect carol"
		echo "join carol #dirs"
		echo "signal carol $tmp/$1.online"
		echo "members carol #dirs alice bob"
		i=0
		while [ $i -lt 10 ]; do
			echo "say carol alice carol $1 $i"
			i=$((i + 1))
		done
		echo "wait carol 10"
		echo "quit carol"
	} >"$tmp/$1.far"
	{
		echo "connect alice"
		echo "connect bob"
		echo "join alice #dirs"
		echo "join bob #dirs"
		i=0
		while [ $i -lt 10 ]; do
			echo "say alice carol alice $1 $i"
			echo "say bob alice bob $1 $i"
			i=$((i + 1))
		done
		echo "wait alice 20"
		echo "quit alice"
		echo "quit bob"
	} >"$tmp/$1.near"
	: >"$tmp/$1.alice.want"
	: >"$tmp/$1.bob.want"
	: >"$tmp/$1.carol.want"
	i=0
	while [ $i -lt 10 ]; do
		echo "carol alice carol $1 $i" >>"$tmp/$1.alice.want"
		echo "bob alice bob $1 $i" >>"$tmp/$1.alice.want"
		echo "alice carol alice $1 $i" >>"$tmp/$1.carol.want"
		i=$((i + 1))
	done
	for u in alice bob carol; do sort -o "$tmp/$1.$u.want" "$tmp/$1.$u.want"; done
}

session() { # name
	plans "$1"
	run_session "$1" 90 "$PY" "$PEERS/irc_client.py" 10.77.0.2 6667
	sort_received "$1" alice bob carol
	check_received "$1" connection_up_until_clean_close alice bob carol
}

# sink_stat FIELD: of the IMSpector sink in the stats file
sink_stat() {
	"$PY" -c 'import json, sys
w = json.load(open(sys.argv[1]))["writer"]
s = [s for s in w["sinks"] if s["name"].startswith("imspector")][0]
print(s[sys.argv[2]])' "$tmp/stats/stats.json" "$1" 2>/dev/null || echo -1
}

# files_hold NAME...: each named session's 40 message events (alice's and
# bob's, each direction through the bridge) are lines of the IMSpector
# files under $logs, each (file, text) exactly once.
files_hold() {
	"$PY" - "$logs" "$@" <<'EOF'
import os, sys, collections
root, names = sys.argv[1], sys.argv[2:]
seen = collections.Counter()
for d, _, files in os.walk(root):
    for f in files:
        for line in open(os.path.join(d, f), encoding="utf-8"):
            text = line.rstrip("\n").split(",", 5)[5]
            if any((" %s " % n) in text for n in names):
                seen[(os.path.relpath(d, root), text)] += 1
bad = [k for k, c in seen.items() if c != 1]
print(len(seen), "lines;", "repeated:", bad[:3])
sys.exit(1 if bad or len(seen) != 40 * len(names) else 0)
EOF
}

# ---------------------------------------------------------------------
# 1. A log directory of root's; the daemon runs as nobody.
logs=$tmp/logs
mkdir "$logs"
printf '%s\n' "file_logging_dir=$logs" "jsonl_file=$tmp/owner.jsonl" "user=nobody" \
	"stats_file=$tmp/stats/stats.json" "spool_dir=$tmp/owner.spool" "hold_deadline_ms=50" >"$tmp/owner.conf"
: >"$tmp/owner.jsonl"
chown nobody "$tmp/owner.jsonl"
start_daemon "$tmp/owner.conf"
check owner_daemon_starts $?
session owner
wait_until 10 "$daemon_pid" log_has "$daemon_log" "Permission denied (EACCES)"
check owner_failure_logged_with_eacces $? "$(tail -5 "$daemon_log")"
grep "Permission denied (EACCES)" "$daemon_log" | grep -q "$logs/IRC"
check owner_failure_names_the_path $? "$(grep EACCES "$daemon_log")"
[ "$(grep -c 'Permission denied (EACCES)' "$daemon_log")" = 1 ]
check owner_failure_logged_once $? "$(grep -c EACCES "$daemon_log") lines"
sleep 1.5 # a stats file from after the failure
[ "$(sink_stat down)" = 1 ] && [ "$(sink_stat failed)" -ge 1 ] && [ "$(sink_stat queued)" -gt 0 ]
check owner_stats_show_the_sink_down $? "down $(sink_stat down) failed $(sink_stat failed) queued $(sink_stat queued)"
kill -0 "$daemon_pid" 2>/dev/null
check owner_daemon_runs $?
# A second daemon on the same configuration would share its spool:
# refused, naming the first (by its pid file's lock, which comes first, or
# by the spool's).
$B timeout 10 "$BIN/imwired" -d -c "$tmp/owner.conf" >"$tmp/second.log" 2>&1
rc=$?
[ $rc = 1 ] && grep -Eq "another imwired runs with this configuration \(pid $daemon_pid,|$tmp/owner.spool is in use by another process \(pid $daemon_pid\)" "$tmp/second.log"
check owner_second_instance_on_the_spool_refused $? "exit status $rc: $(cat "$tmp/second.log")"
chown nobody "$logs"
wait_until 10 "$daemon_pid" log_has "$daemon_log" "imspector .*: writing again"
check owner_written_once_fixed $? "$(tail -3 "$daemon_log")"
session owner2
stop_daemon 180
check owner_daemon_stops_cleanly $? "exit status $stopped_rc" "$(grep 'writer' "$daemon_log")"
files_hold owner owner2 >"$tmp/owner.files"
check owner_every_message_in_the_files_once $? "$(cat "$tmp/owner.files")"
[ "$("$PY" "$PEERS/jsonl_messages.py" "$tmp/owner.jsonl" | sort | uniq -d | wc -l)" = 0 ] &&
	[ "$("$PY" "$PEERS/jsonl_messages.py" "$tmp/owner.jsonl" | wc -l)" -ge 80 ]
check owner_every_message_in_jsonl_once $?

# ---------------------------------------------------------------------
# 2. A file where the IRC directory should be.
logs=$tmp/logs-b
mkdir "$logs"
: >"$logs/IRC"
printf '%s\n' "file_logging_dir=$logs" "jsonl_file=$tmp/way.jsonl" \
	"stats_file=$tmp/stats/stats.json" "spool_dir=$tmp/way.spool" "hold_deadline_ms=50" >"$tmp/way.conf"
start_daemon "$tmp/way.conf"
check way_daemon_starts $?
session way
wait_until 10 "$daemon_pid" log_has "$daemon_log" "Not a directory (ENOTDIR)"
check way_failure_logged_with_enotdir $? "$(tail -5 "$daemon_log")"
grep "Not a directory (ENOTDIR)" "$daemon_log" | grep -q "$logs/IRC"
check way_failure_names_the_path $?
kill -0 "$daemon_pid" 2>/dev/null
check way_daemon_survives_the_second_event_of_a_conversation $?
rm "$logs/IRC"
wait_until 10 "$daemon_pid" log_has "$daemon_log" "imspector .*: writing again"
check way_written_once_fixed $? "$(tail -3 "$daemon_log")"
stop_daemon 180
check way_daemon_stops_cleanly $? "exit status $stopped_rc" "$(tail -5 "$daemon_log")"
files_hold way >"$tmp/way.files"
check way_every_message_in_the_files_once $? "$(cat "$tmp/way.files")"
exit 0
