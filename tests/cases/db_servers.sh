#!/bin/sh
# Database sinks against real servers from Debian's packages, started in
# this run (tests/dbservers.sh: temporary directories, Unix sockets, no
# system service, stopped by PID):
#  - a capture read into SQLite, PostgreSQL and MariaDB: every row equal
#    to the JSON line of the same event;
#  - imwired on a live IRC burst, both servers stopped in the middle of it
#    and started again: every event stored exactly once, in order;
#  - imwired stopped while the servers are down, its write-ahead log
#    resumed by the next start;
#  - two imwired instances with distinct sensor names into one PostgreSQL.
# Needs root (network namespaces for the live traffic, server users).
set -u
. "$TOP/tests/lib.sh"
begin_test
DBTMP=$tmp/db
mkdir "$DBTMP"
NSA="imwdb$$a"
NSB="imwdb$$b"
pid_a=""
pid_b=""

. "$TOP/tests/dbservers.sh"

# A tap daemon notices a stop when its next packet arrives: send one.
wake() { # namespace
	ip netns exec "$1" "$PY" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9))' 2>/dev/null
}

stop_tap() { # pid, namespace: at most 30 s, waking it once a second
	stop_pid "$1" 30 wake "$2"
}

cleanup_more() {
	stop_tap "$pid_a" "$NSA"
	stop_tap "$pid_b" "$NSB"
	db_cleanup
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}

require_root db_servers "needs root (network namespaces, server users)" || exit 0
if ! pg_init; then
	fail db_servers "cannot start PostgreSQL" "$(tail -n 5 "$DBTMP/pg-init.log" "$DBTMP/pg.log" 2>&1)"
	exit 0
fi
if ! my_init; then
	fail db_servers "cannot start MariaDB" "$(tail -n 5 "$DBTMP/my-init.log" "$DBTMP/mysock/my.log" 2>&1)"
	exit 0
fi

# ---- a capture into the three databases ----

cat >"$tmp/cap.conf" <<EOF
sqlite_file=$tmp/cap.db
pgsql_connect=$(pg_conninfo)
mysql_server=$(my_socket)
mysql_database=imwire
mysql_username=root
sensor_name=capture
EOF
"$BIN/imwire" read --config "$tmp/cap.conf" --quiet "$TOP"/../shared/pcaps/*/*.pcap* \
	>"$tmp/cap.jsonl" 2>"$tmp/cap.err"
rc=$?
# What each row must be: outgoing, type, local, remote, hex of the data.
$PY - "$tmp/cap.jsonl" >"$tmp/cap.want" <<'EOF'
import json, sys
types = {"message": 1, "file": 2, "typing": 3, "webcam": 4}
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    t = types.get(e["kind"], 0)
    data = "" if t in (3, 4) else e["text"]
    print("%d\t%d\t%s\t%s\t%s" % (e["dir"] == "out", t, e["local"], e["remote"],
                                  data.encode("utf-8").hex()))
EOF
n_cap=$(wc -l <"$tmp/cap.jsonl")
cols="outgoing, type, localid, remoteid"
pg_sql "SELECT $cols, encode(convert_to(eventdata, 'UTF8'), 'hex') FROM messages ORDER BY id" \
	>"$tmp/cap.pg" 2>&1
my_sql "SELECT $cols, lower(hex(eventdata)) FROM messages ORDER BY id" >"$tmp/cap.my" 2>&1
sqlite3 -separator '	' "$tmp/cap.db" \
	"SELECT $cols, lower(hex(eventdata)) FROM messages ORDER BY id" >"$tmp/cap.sq" 2>&1
for db in pg my sq; do
	name=capture_$db
	if [ $rc -ne 0 ] || [ "$n_cap" -lt 50 ]; then
		fail $name "imwire read: status $rc, $n_cap events" "$(head -5 "$tmp/cap.err")"
	elif cmp -s "$tmp/cap.want" "$tmp/cap.$db"; then
		pass $name
	else
		fail $name "rows differ from the JSON lines ($n_cap events)" \
			"$(diff "$tmp/cap.want" "$tmp/cap.$db" | head -6)"
	fi
done
# Reports see IMSpector's columns plus client address and sensor.
got=$(pg_sql "SELECT count(*) FROM messages WHERE sensor = 'capture' AND protocolname = 'IRC'
	AND clientaddress LIKE '%:%' AND \"timestamp\" > '2000-01-01'")
want=$(grep -c '"proto":"irc"' "$tmp/cap.jsonl")
if [ "$got" = "$want" ] && [ "$want" -gt 0 ]; then
	pass capture_pg_columns
else
	fail capture_pg_columns "IRC rows with client and timestamp: $got, want $want"
fi

# ---- live bursts through imwired ----

ip netns add "$NSA" && ip netns exec "$NSA" ip link set lo up
ip netns add "$NSB" && ip netns exec "$NSB" ip link set lo up

write_conf() { # file, sensor, spool dir, jsonl, with_mysql
	{
		echo "pgsql_connect=$(pg_conninfo)"
		if [ "$5" = yes ]; then
			echo "mysql_server=$(my_socket)"
			echo "mysql_database=imwire"
			echo "mysql_username=root"
		fi
		echo "sensor_name=$2"
		echo "spool_dir=$3"
		echo "jsonl_file=$4"
		echo "db_timeout=2"
	} >"$1"
}

# start_tap NAMESPACE CONFIG LOG [N]: imwired --tap lo, appending to LOG (the sanitizer check
# at the end reads every run's), ready once LOG has N (1) "tap on lo" lines; pid in $started
start_tap() {
	ip netns exec "$1" "$BIN/imwired" -d --tap lo -c "$2" >>"$3" 2>&1 &
	started=$!
	wait_until 5 "$started" log_has "$3" 'tap on lo' "${4:-1}"
}

# burst NAMESPACE PREFIX CHUNKS PER_CHUNK PAUSE: an IRC client sends
# CHUNKS x PER_CHUNK messages "PREFIX-k i" to a server on loopback.
burst() {
	{
		echo "send NICK alice"
		echo "send USER alice 0 * :Alice"
		k=0
		while [ $k -lt "$3" ]; do
			echo "sendmany $4 PRIVMSG #audit :$2-$k"
			echo "sleep $5"
			k=$((k + 1))
		done
		echo close
	} >"$tmp/$2.client"
	: >"$tmp/$2.server"
	ip netns exec "$1" "$PY" "$PEERS/linepeer.py" server 6667 "$tmp/$2.server" "$tmp/$2.server.got" \
		2>"$tmp/$2.server.err" &
	spid=$!
	sleep 0.3
	ip netns exec "$1" "$PY" "$PEERS/linepeer.py" client 127.0.0.1 6667 "$tmp/$2.client" \
		"$tmp/$2.client.got" 2>"$tmp/$2.client.err"
	wait $spid
}

count_pg() { # sensor, prefix
	pg_sql "SELECT count(*) || ' ' || count(DISTINCT eventdata) || ' ' || count(DISTINCT eventid)
		FROM messages WHERE sensor = '$1' AND eventdata LIKE '$2-%'"
}

count_my() {
	my_sql "SELECT concat(count(*), ' ', count(DISTINCT eventdata), ' ', count(DISTINCT eventid))
		FROM messages WHERE sensor = '$1' AND eventdata LIKE '$2-%'"
}

# Rows in event order: ids ascending means eventids ascending.
order_pg() { # sensor
	pg_sql "SELECT count(*) FROM (SELECT eventid, lag(eventid) OVER (ORDER BY id) AS prev
		FROM messages WHERE sensor = '$1') t WHERE prev > eventid"
}

order_my() {
	my_sql "SELECT count(*) FROM (SELECT eventid, lag(eventid) OVER (ORDER BY id) AS prev
		FROM messages WHERE sensor = '$1') t WHERE prev > eventid"
}

# 1. Both servers stop in the middle of a burst and come back.
write_conf "$tmp/a.conf" bridge-a "$tmp/spool-a" "$tmp/a.jsonl" yes
if ! start_tap "$NSA" "$tmp/a.conf" "$tmp/a.log"; then
	fail db_burst "imwired did not start" "$(tail -5 "$tmp/a.log")"
	exit 0
fi
pid_a=$started
burst "$NSA" burst 40 50 0.05 &
bpid=$!
sleep 0.8
pg_stop
sleep 0.2
my_stop
sleep 0.6
pg_start
my_start
wait $bpid
stop_tap "$pid_a" "$NSA"
pid_a=""
n=2000
decoded=$(grep -c '"text":"burst-' "$tmp/a.jsonl")
for db in pg my; do
	[ $db = pg ] && sink=pgsql || sink=mysql
	got=$(count_$db bridge-a burst)
	order=$(order_$db bridge-a)
	# The log proves the outage fell inside the burst: the sink was down
	# with events waiting in the write-ahead log, and wrote again.
	if [ "$decoded" = $n ] && [ "$got" = "$n $n $n" ] && [ "$order" = 0 ] &&
		grep -q "^imwired: $sink .*its events wait in the write-ahead log" "$tmp/a.log" &&
		grep -q "^imwired: $sink .*: writing again" "$tmp/a.log"; then
		pass db_burst_$db
	else
		fail db_burst_$db "decoded $decoded of $n; rows, distinct texts, distinct ids: $got;" \
			"out of order: $order" "$(grep -v 'tap on' "$tmp/a.log" | tail -8)"
	fi
done

# 2. The daemon stops while the servers are down; the next start resumes.
pg_stop
my_stop
start_tap "$NSA" "$tmp/a.conf" "$tmp/a.log" 2 && pid_a=$started
burst "$NSA" spooled 5 100 0.05
stop_tap "$pid_a" "$NSA"
pid_a=""
spool_size=$(cat "$tmp"/spool-a/wal/*.wal | wc -c)
pg_start
my_start
start_tap "$NSA" "$tmp/a.conf" "$tmp/a.log" 3 && pid_a=$started
i=0
while [ $i -lt 150 ]; do
	[ "$(count_pg bridge-a spooled)" = "500 500 500" ] && [ "$(count_my bridge-a spooled)" = "500 500 500" ] && break
	i=$((i + 1))
	sleep 0.1
done
stop_tap "$pid_a" "$NSA"
pid_a=""
for db in pg my; do
	[ $db = pg ] && sink=pgsql || sink=mysql
	got=$(count_$db bridge-a spooled)
	all=$(count_$db bridge-a burst)
	if [ "$got" = "500 500 500" ] && [ "$all" = "2000 2000 2000" ] && [ "$spool_size" -gt 20000 ] &&
		grep -q "^imwired: $sink .*: resuming 500 events from the write-ahead log" "$tmp/a.log"; then
		pass db_restart_resumes_spool_$db
	else
		fail db_restart_resumes_spool_$db "rows: $got (earlier burst: $all), spool was $spool_size bytes" \
			"$(grep -v 'tap on' "$tmp/a.log" | tail -6)"
	fi
done
# At that stop nothing was left for either database.
for s in pgsql mysql; do
	if ! grep "^imwired: writer: $s " "$tmp/a.log" | tail -n 1 | grep -q " 0 left in the log, lost: none"; then
		fail db_log_emptied_$s "$(grep "writer: $s" "$tmp/a.log" | tail -2)"
	fi
done

# 3. A server that stops answering (every PostgreSQL process stopped, by
# PID) is a slow database: statements time out, events wait in the log, and
# replayed once it answers again.
write_conf "$tmp/slow.conf" bridge-slow "$tmp/spool-slow" "$tmp/slow.jsonl" no
echo "db_timeout=1" >>"$tmp/slow.conf"
start_tap "$NSA" "$tmp/slow.conf" "$tmp/slow.log" && pid_a=$started
burst "$NSA" slow 30 40 0.05 &
bpid=$!
sleep 0.6
frozen="$PG_PID $(ps --ppid "$PG_PID" -o pid= | tr '\n' ' ')"
kill -STOP $frozen
sleep 2.5
kill -CONT $frozen
wait $bpid
stop_tap "$pid_a" "$NSA"
pid_a=""
got=$(count_pg bridge-slow slow)
if [ "$got" = "1200 1200 1200" ] && grep -q 'no answer from the server in time' "$tmp/slow.log" &&
	grep -q '^imwired: pgsql .*: writing again' "$tmp/slow.log"; then
	pass db_slow_server_spooled_and_replayed
else
	fail db_slow_server_spooled_and_replayed "rows: $got" "$(grep -v 'tap on' "$tmp/slow.log" | tail -5)"
fi

# 4. Two bridges, one archive.
write_conf "$tmp/b.conf" bridge-b "$tmp/spool-b" "$tmp/b.jsonl" no
start_tap "$NSA" "$tmp/a.conf" "$tmp/a.log" 4 && pid_a=$started
start_tap "$NSB" "$tmp/b.conf" "$tmp/b.log" && pid_b=$started
burst "$NSA" twoA 6 50 0.05 &
b1=$!
burst "$NSB" twoB 6 50 0.05
wait $b1
stop_tap "$pid_a" "$NSA"
stop_tap "$pid_b" "$NSB"
pid_a=""
pid_b=""
a=$(count_pg bridge-a twoA)
b=$(count_pg bridge-b twoB)
cross=$(pg_sql "SELECT count(*) FROM messages WHERE (sensor = 'bridge-a' AND eventdata LIKE 'twoB-%')
	OR (sensor = 'bridge-b' AND eventdata LIKE 'twoA-%')")
if [ "$a" = "300 300 300" ] && [ "$b" = "300 300 300" ] && [ "$cross" = 0 ]; then
	pass db_two_sensors_one_pgsql
else
	fail db_two_sensors_one_pgsql "bridge-a: $a, bridge-b: $b, crossed: $cross" \
		"$(tail -4 "$tmp/b.log")"
fi
# The daemons and imwire read ran under the sanitizers in `make test`.
if grep -lE 'Sanitizer|runtime error' "$tmp"/*.log "$tmp/cap.err" >/dev/null 2>&1; then
	fail db_sanitizers "$(grep -hE -A3 'Sanitizer|runtime error' "$tmp"/*.log "$tmp/cap.err" | head -8)"
else
	pass db_sanitizers
fi
exit 0
