#!/bin/sh
# A daemon that drops its privileges, and two instances on one host
# (issue 21, items 3 and 5), with imwired inline on the netns bridge
# between ngircd and python3-irc clients. Two daemons are started as an
# operator starts them (daemonized, log_file=, pid file), in one mount
# namespace whose /var/lib is a fresh tmpfs, so that their default spools
# (/var/lib/imwire/spool/INSTANCE) are real and the host's are untouched:
#  A (a.conf): user=nobody, only notice_text= of the features that send
#    (no routing, no bots), JSON lines and SQLite in directories it makes,
#    stats_file= in a directory that exists and is root's;
#  B (b.conf): root, on queue 1, no spool_dir either.
# Checked:
#  1. the notice reaches the client (the raw socket it goes by used to be
#     opened lazily after the drop and fail: "egress: 0 sent, 6 send
#     errors", with no message); every other byte is exactly what was sent;
#  2. the existing directory of stats_file= stays root's (it used to be
#     chowned to the daemon user: stats_file=/etc/x.json gave /etc away);
#     the statistics that cannot be written there are said once;
#  3. what A made is nobody's: its directories, the JSON lines, and the
#     SQLite file with its -wal and -shm (the file used to stay root's
#     while its journals became nobody's);
#  4. each instance has its own spool (they used to share
#     /var/lib/imwire/spool/sqlite.spool), and both run;
#  5. every message is in A's JSON lines and SQLite exactly once.
# Needs root (network namespaces, mount namespaces, NFQUEUE, user nobody).
set -u
. "$TOP/tests/lib.sh"
begin_test

live_test faults_lifecycle_owner "imwlo$$" ngircd iptables ss timeout unshare sqlite3 "$PY" \
	py:irc.client
$B "$BIN/imwire" setup --bridge br0 --ports 6667 >/dev/null
check owner_setup $?
start_ngircd 300
check owner_ngircd_listens $? "$(tail -5 "$tmp/ngircd.out")"
notice="This conversation is logged by imwire."
nobody=$(id -u nobody)

mkdir "$tmp/etc" # root's, as /etc is
printf '%s\n' "jsonl_file=$tmp/a/log/events.jsonl" "sqlite_file=$tmp/a/db/events.db" \
	"stats_file=$tmp/etc/a.json" "pidfilename=$tmp/a.pid" "log_file=$tmp/a.log" \
	"control_socket=$tmp/a.sock" "user=nobody" "notice_text=$notice" "hold_deadline_ms=50" \
	>"$tmp/a.conf"
printf '%s\n' "jsonl_file=$tmp/b/events.jsonl" "stats_file=$tmp/b/stats.json" \
	"pidfilename=$tmp/b.pid" "log_file=$tmp/b.log" "control_socket=$tmp/b.sock" "queues=1" \
	>"$tmp/b.conf"

# Both daemonized from one mount namespace with a fresh /var/lib; they
# stay in it (their view is /proc/PID/root).
$B unshare -m sh -c 'mount -t tmpfs -o mode=0755 tmpfs /var/lib &&
	"$1" -c "$2" && "$1" -c "$3"' start "$BIN/imwired" "$tmp/a.conf" "$tmp/b.conf" \
	>"$tmp/start.out" 2>&1
rc=$?
# Each writes its pid file once detached.
wait_until 5 "" log_has "$tmp/a.pid" '^[0-9][0-9]*$'
wait_until 5 "" log_has "$tmp/b.pid" '^[0-9][0-9]*$'
pa=$(cat "$tmp/a.pid" 2>/dev/null)
pb=$(cat "$tmp/b.pid" 2>/dev/null)
cleanup_more() {
	local p
	for p in $pa $pb; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in $pa $pb; do kill -KILL "$p" 2>/dev/null; done
}
[ $rc -eq 0 ] && [ -n "$pa" ] && [ -n "$pb" ] && wait_until 5 "$pa" log_has "$tmp/a.log" "queue 0: ready" &&
	wait_until 5 "$pb" log_has "$tmp/b.log" "queue 1: ready"
check owner_both_instances_start $? "exit $rc: $(cat "$tmp/start.out" "$tmp/a.log" "$tmp/b.log" 2>&1 | tail -20)"

# ---- 4. a spool each -------------------------------------------------------
[ -d "/proc/$pa/root/var/lib/imwire/spool/a" ] && [ -d "/proc/$pb/root/var/lib/imwire/spool/b" ] &&
	[ "$(stat -c %u "/proc/$pa/root/var/lib/imwire/spool/a")" = "$nobody" ] &&
	[ "$(stat -c %u "/proc/$pb/root/var/lib/imwire/spool/b")" = 0 ] &&
	[ "$(find "/proc/$pa/root/var/lib/imwire/spool" -maxdepth 1 -mindepth 1 | wc -l)" = 2 ]
check owner_each_instance_has_its_own_spool $? \
	"$(ls -ln "/proc/$pa/root/var/lib/imwire/spool" 2>&1)"

# ---- 1. the notice, and every byte -----------------------------------------
printf '%s\n' "connect carol" "signal carol $tmp/s.online" "wait carol 10" "quit carol" >"$tmp/s.far"
printf '%s\n' "connect alice" >"$tmp/s.near"
: >"$tmp/s.carol.want"
i=0
while [ $i -lt 10 ]; do
	echo "say alice carol owner line $i" >>"$tmp/s.near"
	echo "PRIVMSG alice carol owner line $i" >>"$tmp/s.carol.want"
	i=$((i + 1))
done
echo "quit alice" >>"$tmp/s.near"
# once per conversation, from the server's name (--kinds keeps server notices)
echo "NOTICE irc.imwire.test alice $notice" >"$tmp/s.alice.want"
run_session s 60 "$PY" "$PEERS/irc_client.py" --kinds 10.77.0.2 6667
# The server's own notices (at the connection, at the quit) are not ours to check.
for u in alice carol; do
	grep -v "^NOTICE irc.imwire.test $u \*\*\*\|^NOTICE irc.imwire.test \* \|^NOTICE irc.imwire.test $u Connection statistics: " "$tmp/s.out/$u.got" |
		sort >"$tmp/s.out/$u.mine"
	mv "$tmp/s.out/$u.mine" "$tmp/s.out/$u.got"
done
check_received s connection_up_until_clean_close alice carol

# ---- 2. the existing directory is not handed over --------------------------
[ "$(stat -c %u "$tmp/etc")" = 0 ] && [ ! -e "$tmp/etc/a.json" ]
check owner_existing_stats_directory_stays_roots $? "$(ls -lnd "$tmp/etc" "$tmp/etc"/* 2>&1)"
[ "$(grep -c "$tmp/etc/a.json: cannot write statistics: Permission denied" "$tmp/a.log")" = 1 ]
check owner_unwritable_stats_said_once $? "$(grep -i statistic "$tmp/a.log")"
# B's stats directory did not exist: made, and written (B stays root).
wait_until 5 "$pb" test -s "$tmp/b/stats.json"
check owner_made_stats_directory_written $? "$(ls -ln "$tmp/b" 2>&1)"

# ---- 3. what A made is nobody's, the database and its journals alike -------
wait_until 5 "$pa" test -e "$tmp/a/db/events.db-wal"
check owner_sqlite_journals_exist_while_open $? "$(ls -ln "$tmp/a/db" 2>&1)"
bad=""
for f in "$tmp/a" "$tmp/a/log" "$tmp/a/log/events.jsonl" "$tmp/a/db" "$tmp/a/db/events.db" \
	"$tmp/a/db/events.db-wal" "$tmp/a/db/events.db-shm"; do
	[ "$(stat -c %u "$f" 2>/dev/null)" = "$nobody" ] || bad="$bad $f"
done
[ -z "$bad" ]
check owner_made_paths_and_sqlite_journals_are_the_users $? "not nobody's:$bad" \
	"$(ls -lnR "$tmp/a" 2>&1 | head -20)"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pa/status")" = "$nobody" ]
check owner_a_runs_as_nobody $?

# ---- stop both: the notice was sent, nothing failed ------------------------
stop_by_pidfile() { # NAME PID: SIGTERM, and its log says it stopped
	local i=0
	kill -TERM "$2"
	while [ -s "$tmp/$1.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	grep -q "imwired\[$2\]: stopped$" "$tmp/$1.log"
}
stop_by_pidfile a "$pa"
check owner_a_stops_cleanly $? "$(tail -5 "$tmp/a.log")"
stop_by_pidfile b "$pb"
check owner_b_stops_cleanly $? "$(tail -5 "$tmp/b.log")"
pa=""
pb=""
grep -q "egress: [1-9][0-9]* sent, 0 send errors" "$tmp/a.log" && ! grep -q "cannot send a segment" "$tmp/a.log"
check owner_notice_sent_without_send_errors $? "$(grep -i 'egress\|cannot send' "$tmp/a.log")"

# ---- 5. every message once in each of A's sinks ----------------------------
"$PY" - "$tmp/a/log/events.jsonl" "$tmp/a/db/events.db" >"$tmp/count" 2>&1 <<'EOF'
import json, sqlite3, sys
jl = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
db = [r[0] if isinstance(r[0], str) else r[0].decode() for r in
      sqlite3.connect(sys.argv[2]).execute("SELECT eventdata FROM messages")]
want = sorted("owner line %d" % i for i in range(10))
ok = True
for name, got in (("jsonl", jl), ("sqlite", db)):
    mine = sorted(t for t in got if t and t.startswith("owner line"))
    print(name, len(mine), "messages")
    ok = ok and mine == want
sys.exit(0 if ok else 1)
EOF
check owner_every_message_once_in_jsonl_and_sqlite $? "$(cat "$tmp/count")"
exit 0
