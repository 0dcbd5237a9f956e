#!/bin/sh
# PostgreSQL's archive partitioned by time (pgsql_partition=day), on a
# real server started here (tests/dbservers.sh; run under the team lock):
# imwire read writes two sensors' events of ten past days into one
# archive, each run at its day's time (faketime, Debian's libfaketime,
# with the capture's packets moved to that day), so each sensor's writer
# made its day partitions ahead as a daemon would have. Then retention at
# today's time: the sensor's oldest day partitions are dropped whole, up
# to the first one holding a held user's rows, whose expired rows are
# deleted instead; the other sensor's partitions are not touched; both
# chains verify; the unique index (sensor, eventid, "timestamp") still
# keeps an event from being stored twice. A plain table (IMSpector's or an
# older imwire's) asked to partition keeps working as it is.
set -u
. "$TOP/tests/lib.sh"
begin_test
DBTMP=$tmp/db
mkdir "$DBTMP"
. "$TOP/tests/dbservers.sh"
P=$TOP/../shared/pcaps
I=$BIN/imwire

cleanup_more() {
	db_cleanup
}

require_root archive_partitions "needs root (server users)" || exit 0
require archive_partitions faketime || exit 0
if ! pg_init; then
	fail archive_partitions "cannot start PostgreSQL" "$(tail -n 5 "$DBTMP/pg-init.log" "$DBTMP/pg.log" 2>&1)"
	exit 0
fi

# shift IN OUT EPOCH: the capture with its first packet at EPOCH.
shift_pcap() {
	$PY - "$1" "$2" "$3" <<'EOP'
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", data[:4])[0]
end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
out, off, first = bytearray(data[:24]), 24, None
while off + 16 <= len(data):
    sec, frac, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
    if first is None:
        first = sec
    out += struct.pack(end + "IIII", sec - first + int(sys.argv[3]), frac, incl, orig)
    out += data[off + 16:off + 16 + incl]
    off += 16 + incl
open(sys.argv[2], "wb").write(out)
EOP
}

conf() { # sensor [extra lines]
	printf 'pgsql_connect=%s\nsensor_name=%s\npgsql_partition=day\npgsql_partitions_ahead=2\n' \
		"$(pg_conninfo)" "$1"
	printf 'checkpoint_key=%s\ncheckpoint_log=%s\n' "$tmp/key" "$tmp/cp.log"
	shift
	for l in "$@"; do echo "$l"; done
}
"$I" keygen "$tmp/key" >/dev/null
conf gw1 >"$tmp/gw1.conf"
conf gw2 >"$tmp/gw2.conf"
now=$(date +%s)
: >"$tmp/read.err"
# at DAYS_AGO: an hour before this time of day that many days ago (so the
# cutoff of retention_days=5 falls between days 5 and 4 whatever the hour)
at() {
	echo $((now - $1 * 86400 - 3600))
}
# read_at DAYS_AGO SENSOR CAPTURE [SECONDS]: then (SECONDS later), the capture moved there.
# Event ids come from the clock (no spool_dir: no write-ahead log to go on
# from), and faketime starts each process at the same instant: a second
# run of the same day must start later than the first one's last event,
# or their ids interleave and the chain, read in id order, is broken there.
read_at() {
	t=$(($(at "$1") + ${4:-0}))
	shift_pcap "$P/$3" "$tmp/shifted.pcap" "$t"
	# libfaketime is preloaded before an ASan build's runtime: allowed.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 faketime "@$t" "$I" read --config "$tmp/$2.conf" \
		--format none "$tmp/shifted.pcap" >/dev/null 2>>"$tmp/read.err" ||
		echo "read $1 $2 $3: status $?" >>"$tmp/read.err"
}
d=10
while [ $d -ge 1 ]; do
	read_at $d gw1 irc/sniffglue_SkypeIRC.pcap # vmlemon, 44 events
	[ $d -eq 7 ] && read_at $d gw1 irc/suricata-verify_irc_input.pcap 60 # damn-0262937047, 14
	[ $((d % 3)) -eq 0 ] && read_at $d gw2 irc/sniffglue_SkypeIRC.pcap
	d=$((d - 1))
done
grep -q status "$tmp/read.err"
[ $? -ne 0 ] && [ "$(pg_sql "SELECT count(*) FROM messages WHERE sensor='gw1'")" -eq 454 ] &&
	[ "$(pg_sql "SELECT count(*) FROM messages WHERE sensor='gw2'")" -eq 132 ]
check ten_days_of_two_sensors $? "$(cat "$tmp/read.err")" \
	"$(pg_sql "SELECT sensor, count(*) FROM messages GROUP BY 1")"

[ "$(pg_sql "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('messages')")" = p ]
check messages_is_partitioned $?
parts() { # sensor: its range partitions' names, oldest first
	pg_sql "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname LIKE 'messages\\_$1\\_%' AND c.relkind IN ('r', 'p')" |
		grep -v _default | LC_ALL=C sort
}
parts gw1 >"$tmp/gw1.parts"
parts gw2 >"$tmp/gw2.parts"
# day 10's run made days 10..9, day 9's 9..8 ... day 1's 1..0 (today): 11
[ "$(wc -l <"$tmp/gw1.parts")" -eq 11 ] && [ "$(wc -l <"$tmp/gw2.parts")" -ge 5 ]
check day_partitions_made_ahead $? "$(cat "$tmp/gw1.parts")" "$(cat "$tmp/gw2.parts")"
# every row in its day's partition, none in the default
[ "$(pg_sql "SELECT count(*) FROM messages m JOIN pg_class c ON c.oid = m.tableoid
	WHERE c.relname LIKE '%default'")" -eq 0 ]
check rows_in_their_day $? "$(pg_sql "SELECT c.relname, count(*) FROM messages m JOIN pg_class c ON c.oid = m.tableoid GROUP BY 1")"

verify() { # sensor
	"$I" verify --pgsql "$(pg_conninfo)" --sensor "$1" --key "$tmp/key.pub" \
		--checkpoints "$tmp/cp.log" >"$tmp/v.out" 2>&1
}
verify gw1
check gw1_verifies $? "$(cat "$tmp/v.out")"
verify gw2
check gw2_verifies $? "$(cat "$tmp/v.out")"

# Retention, 5 days, damn-0262937047 held: days 10, 9, 8 dropped whole;
# day 7 holds held rows (its vmlemon rows deleted), days 6 and 5 after it
# too (their partitions are not wholly expired, or come after day 7).
conf gw1 retention_days=5 legal_hold=damn-0262937047 >"$tmp/keep.conf"
pg_sql "CREATE TABLE bak AS SELECT * FROM messages"
"$I" read --config "$tmp/keep.conf" --format none "$P/gadu/john-samples_ekg_login.pcap" \
	>/dev/null 2>"$tmp/purge.err"
check purge_run $? "$(cat "$tmp/purge.err")"
parts gw1 >"$tmp/gw1.after"
gone=$(LC_ALL=C comm -23 "$tmp/gw1.parts" "$tmp/gw1.after" | tr '\n' ' ')
want=""
for d in 10 9 8; do
	want="$want$(date -u -d "@$(at $d)" +%Y%m%d) "
done
[ "$(echo "$gone" | sed 's/messages_gw1_[0-9a-f]*_\([0-9]*\)_[0-9]* /\1 /g')" = "$want" ]
check oldest_day_partitions_dropped $? "gone: $gone" "want days: $want"
[ "$(pg_sql "SELECT count(*) FROM messages WHERE sensor='gw1' AND localid='damn-0262937047'")" -eq 14 ] &&
	[ "$(pg_sql "SELECT count(*) FROM messages WHERE sensor='gw1' AND localid='vmlemon'
		AND ts_us < ($now - 5 * 86400)::bigint * 1000000")" -eq 0 ] &&
	[ "$(pg_sql "SELECT count(*) FROM messages WHERE sensor='gw1' AND localid='vmlemon'")" -eq 176 ]
check held_kept_expired_gone $? "$(pg_sql "SELECT localid, count(*) FROM messages WHERE sensor='gw1' GROUP BY 1")"
[ "$(pg_sql "SELECT count(*) FROM messages WHERE sensor='gw2'")" -eq 132 ] && cmp -s "$tmp/gw2.parts" "$(parts gw2 >"$tmp/gw2.after"; echo "$tmp/gw2.after")"
check other_sensor_untouched $? "$(pg_sql "SELECT count(*) FROM messages WHERE sensor='gw2'")"
pg_sql "SELECT eventdata FROM messages WHERE sensor='gw1' AND action='purge'" >"$tmp/rec"
grep -q '^purge from=0 to=[0-9]* before=[0-9]* removed=264 kept=14 .*hold=damn-0262937047$' "$tmp/rec"
check one_purge_record $? "$(cat "$tmp/rec")"
verify gw1
check gw1_verifies_after_drops $? "$(cat "$tmp/v.out")"
verify gw2
check gw2_verifies_after $? "$(cat "$tmp/v.out")"

# A row stored again (as a replay after a crash would) is ignored.
n=$(pg_sql "SELECT count(*) FROM messages")
pg_sql "INSERT INTO messages SELECT * FROM messages WHERE sensor='gw1' AND localid='vmlemon'
	ORDER BY eventid DESC LIMIT 1 ON CONFLICT DO NOTHING" >/dev/null 2>&1
[ "$(pg_sql "SELECT count(*) FROM messages")" -eq "$n" ]
check repeat_ignored_by_unique_index $?

# ---- a plain table stays plain ----
pg_sql_db postgres "CREATE DATABASE plain" >/dev/null
psql -X -q -h "$DBTMP/pgsock" -U imwire -d plain -c 'CREATE TABLE messages (
        id serial primary key, "timestamp" timestamp with time zone default now(),
	clientaddress varchar, protocolname varchar, outgoing int default 0,
        type int default 0, localid varchar, remoteid varchar, filtered int default 0,
        eventdata text )' >/dev/null
sed "s|dbname=imwire|dbname=plain|" "$tmp/gw1.conf" >"$tmp/plain.conf"
"$I" read --config "$tmp/plain.conf" --format none "$P/irc/sniffglue_SkypeIRC.pcap" \
	>/dev/null 2>"$tmp/plain.err"
rc=$?
kind=$(psql -X -q -h "$DBTMP/pgsock" -U imwire -d plain -At -c \
	"SELECT relkind FROM pg_class WHERE oid = to_regclass('messages')")
rows=$(psql -X -q -h "$DBTMP/pgsock" -U imwire -d plain -At -c "SELECT count(*) FROM messages")
[ $rc -eq 0 ] && [ "$kind" = r ] && [ "$rows" -eq 44 ]
check plain_table_kept_plain $? "status $rc, relkind $kind, rows $rows" "$(cat "$tmp/plain.err")"
