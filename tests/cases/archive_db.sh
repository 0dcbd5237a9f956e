#!/bin/sh
# The archive on real servers (Debian's PostgreSQL and MariaDB, started
# by this test as tests/dbservers.sh does; run under the team lock) and
# on SQLite:
#  - migration: IMSpector's own CREATE TABLE of each database (its README:
#    MyISAM and latin1 on MySQL), with rows IMSpector wrote, is upgraded
#    in place by the sinks: the archive's columns added, the old rows and
#    IMSpector's report queries as they were, the new events after them;
#  - imwire verify on each: a clean archive verifies (the old rows, of no
#    sensor, are not the sensor's chain); one row altered, one deleted, two swapped, the
#    tail cut off, each named by its event;
#  - retention with a legal hold: the expired events (and the expired old
#    IMSpector rows) go, the held users' stay, each store verifies.
# Needs root (the servers run as their own users).
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

require_root archive_db "needs root (server users)" || exit 0
if ! pg_init; then
	fail archive_db "cannot start PostgreSQL" "$(tail -n 5 "$DBTMP/pg-init.log" "$DBTMP/pg.log" 2>&1)"
	exit 0
fi
if ! my_init; then
	fail archive_db "cannot start MariaDB" "$(tail -n 5 "$DBTMP/my-init.log" "$DBTMP/mysock/my.log" 2>&1)"
	exit 0
fi
sq() { sqlite3 -separator '	' "$tmp/a.db" "$1"; }

# ---- IMSpector's tables, as its README gives them, with its rows ----
pg_sql 'CREATE TABLE messages (
        id serial primary key,
        "timestamp" timestamp with time zone default now(),
	clientaddress varchar,
        protocolname varchar,
        outgoing int default 0,
        type int default 0,
        localid varchar,
        remoteid varchar,
        filtered int default 0,
        eventdata text )'
my_sql 'CREATE TABLE `messages` (
        `id` int(11) NOT NULL auto_increment,
        `timestamp` int(11) NOT NULL default '"'0'"',
	`clientaddress` text NOT NULL,
        `protocolname` text NOT NULL,
        `outgoing` int(11) NOT NULL default '"'0'"',
        `type` int(11) NOT NULL default '"'0'"',
        `localid` text NOT NULL,
        `remoteid` text NOT NULL,
        `filtered` int(11) NOT NULL default '"'0'"',
        `eventdata` blob NOT NULL,
        PRIMARY KEY  (`id`)
) ENGINE=MyISAM DEFAULT CHARSET=latin1'
sq 'CREATE TABLE messages (
        id integer PRIMARY KEY AUTOINCREMENT,
        timestamp integer NOT NULL,
	clientaddress text NOT NULL,
        protocolname text NOT NULL,
        outgoing integer NOT NULL,
        type integer NOT NULL,
        localid text NOT NULL,
        remoteid text NOT NULL,
        filtered integer NOT NULL,
        eventdata blob NOT NULL
)'
# IMSpector's plugins insert (timestamp, clientaddress, ..., eventdata):
# 2001 for olduser (to expire), the same for a held user.
for u in olduser vmlemon; do
	pg_sql "INSERT INTO messages (\"timestamp\", clientaddress, protocolname, outgoing, type,
		localid, remoteid, filtered, eventdata) VALUES (to_timestamp(978307200),
		'10.0.0.9:1234', 'IRC', 1, 1, '$u', '#old', 0, 'before imwire')"
	for db in my sq; do
		q="INSERT INTO messages (timestamp, clientaddress, protocolname, outgoing, type,
			localid, remoteid, filtered, eventdata) VALUES (978307200, '10.0.0.9:1234',
			'IRC', 1, 1, '$u', '#old', 0, 'before imwire')"
		if [ $db = my ]; then my_sql "$q"; else sq "$q"; fi
	done
done

cat >"$tmp/load.conf" <<EOC
sensor_name=gw1
sqlite_file=$tmp/a.db
pgsql_connect=$(pg_conninfo)
mysql_server=$(my_socket)
mysql_database=imwire
mysql_username=root
checkpoint_key=$tmp/key
checkpoint_log=$tmp/cp.log
EOC
"$I" keygen "$tmp/key" >/dev/null
: >"$tmp/read.err"
for c in irc/sniffglue_SkypeIRC.pcap irc/suricata-verify_irc_input.pcap \
	msnp/markofu-pcaps_PPA_msnms.pcap oscar/gwAdvNet20_evidence01.pcap \
	irc/zeek_irc-dcc-send.pcapng; do
	"$I" read --config "$tmp/load.conf" --format none "$P/$c" >/dev/null 2>>"$tmp/read.err" ||
		echo "read $c: status $?" >>"$tmp/read.err"
done
grep -q 'status' "$tmp/read.err"
[ $? -ne 0 ]
check read_into_three_databases $? "$(cat "$tmp/read.err")"

# ---- migration ----
cols="kind,server,session,community_id,action,rule,categories,delivered_text,prev_hash,hash,ts_us,sensor,eventid"
want_cols=$(echo "$cols" | tr , '\n' | sort | tr '\n' ' ')
got=$(pg_sql "SELECT column_name FROM information_schema.columns WHERE table_name='messages'
	AND column_name IN ('$(echo "$cols" | sed "s/,/','/g")')" | sort | tr '\n' ' ')
[ "$got" = "$want_cols" ]
check pg_imspector_table_upgraded $? "got: $got"
got=$(my_sql "SELECT column_name FROM information_schema.columns WHERE table_schema='imwire'
	AND table_name='messages' AND column_name IN ('$(echo "$cols" | sed "s/,/','/g")')" |
	sort | tr '\n' ' ')
[ "$got" = "$want_cols" ]
check my_imspector_table_upgraded $? "got: $got"
got=$(sq "SELECT name FROM pragma_table_info('messages') WHERE name IN
	('$(echo "$cols" | sed "s/,/','/g")')" | sort | tr '\n' ' ')
[ "$got" = "$want_cols" ]
check sqlite_imspector_table_upgraded $? "got: $got"

# IMSpector's report queries: its columns, its rows first and unchanged.
report="SELECT protocolname, localid, remoteid, outgoing, type, filtered FROM messages"
old_pg=$(pg_sql "$report WHERE localid IN ('olduser','vmlemon') AND eventdata='before imwire' ORDER BY id")
old_my=$(my_sql "$report WHERE localid IN ('olduser','vmlemon') AND eventdata='before imwire' ORDER BY id")
old_sq=$(sq "$report WHERE localid IN ('olduser','vmlemon') AND eventdata='before imwire' ORDER BY id")
want_old="IRC	olduser	#old	1	1	0
IRC	vmlemon	#old	1	1	0"
[ "$old_pg" = "$want_old" ] && [ "$old_my" = "$want_old" ] && [ "$old_sq" = "$want_old" ]
check imspector_rows_as_they_were $? "pg: $old_pg" "my: $old_my" "sq: $old_sq"
n_pg=$(pg_sql "SELECT count(*) FROM messages WHERE protocolname='IRC' AND \"timestamp\" > '2000-01-01'")
n_my=$(my_sql "SELECT count(*) FROM messages WHERE protocolname='IRC' AND timestamp > 946684800")
n_sq=$(sq "SELECT count(*) FROM messages WHERE protocolname='IRC' AND timestamp > 946684800")
# 2 old rows + 44 + 14 + 11 IRC events + the DCC SEND's file result
[ "$n_pg" -eq 72 ] && [ "$n_my" -eq 72 ] && [ "$n_sq" -eq 72 ]
check imspector_report_query_counts $? "pg $n_pg, my $n_my, sq $n_sq"

# ---- verify ----
MYSPEC="root@$(my_socket)/imwire"
vkind() { # kind spec: imwire verify's output in $tmp/v.out, its status in $vrc
	"$I" verify "--$1" "$2" --key "$tmp/key.pub" --checkpoints "$tmp/cp.log" >"$tmp/v.out" 2>&1
	vrc=$?
}
spec_of() {
	case $1 in
	pgsql) pg_conninfo ;;
	mysql) echo "$MYSPEC" ;;
	sqlite) echo "$tmp/a.db" ;;
	esac
}
for k in pgsql mysql sqlite; do
	vkind $k "$(spec_of $k)"
	[ $vrc -eq 0 ] && grep -q '^verified' "$tmp/v.out" &&
		grep -q 'rows: 85 (0 before the chain began)' "$tmp/v.out" &&
		grep -q 'reaches the last signed checkpoint' "$tmp/v.out"
	check ${k}_clean_verifies $? "$(cat "$tmp/v.out")"
done

# Each change on the live table, then put back from a copy.
db_sql() { # kind sql
	case $1 in
	pgsql) pg_sql "$2" ;;
	mysql) my_sql "$2" ;;
	esac
}
plain_cols() { # kind: the columns a copy restores (not MariaDB's generated one)
	case $1 in
	pgsql) pg_sql "SELECT string_agg(column_name, ',') FROM information_schema.columns
		WHERE table_name='messages' AND is_generated='NEVER'" ;;
	mysql) my_sql "SELECT group_concat(column_name) FROM information_schema.columns
		WHERE table_schema='imwire' AND table_name='messages' AND extra NOT LIKE '%GENERATED%'" ;;
	esac
}
expect_problem() { # name kind pattern
	vkind "$2" "$(spec_of "$2")"
	[ $vrc -eq 1 ] && grep -q "NOT VERIFIED: $3" "$tmp/v.out"
	check "$1" $? "want: $3" "$(cat "$tmp/v.out")"
	db_sql "$2" "DELETE FROM messages"
	db_sql "$2" "INSERT INTO messages ($C) SELECT $C FROM bak"
}
for k in pgsql mysql; do
	C=$(plain_cols $k)
	db_sql $k "CREATE TABLE bak AS SELECT * FROM messages"
	id_at() { db_sql $k "SELECT eventid FROM messages WHERE eventid IS NOT NULL ORDER BY eventid LIMIT 1 OFFSET $(($1 - 1))"; }
	e=$(id_at 5)
	db_sql $k "UPDATE messages SET eventdata='nothing to see' WHERE eventid=$e"
	expect_problem ${k}_altered_row_named $k "event $e was altered"
	before=$(id_at 6)
	e=$(id_at 7)
	after=$(id_at 8)
	db_sql $k "DELETE FROM messages WHERE eventid=$e"
	expect_problem ${k}_deleted_row_named $k "events missing between $before and $after"
	a=$(id_at 10)
	b=$(id_at 11)
	db_sql $k "UPDATE messages SET eventid=-1 WHERE eventid=$a"
	db_sql $k "UPDATE messages SET eventid=$a WHERE eventid=$b"
	db_sql $k "UPDATE messages SET eventid=$b WHERE eventid=-1"
	expect_problem ${k}_swapped_rows_named $k "event $a was altered"
	last=$(db_sql $k "SELECT max(eventid) FROM messages")
	cut=$(id_at 81)
	db_sql $k "DELETE FROM messages WHERE eventid >= $cut"
	expect_problem ${k}_truncation_named $k "truncated: the chain ends at event $(id_at 80), before the last signed checkpoint (event $last)"
	vkind $k "$(spec_of $k)"
	check ${k}_verifies_when_put_back $vrc "$(cat "$tmp/v.out")"
	db_sql $k "DROP TABLE bak"
done

# ---- retention with a legal hold ----
cp "$tmp/load.conf" "$tmp/keep.conf"
printf 'retention_days=600\nlegal_hold=vmlemon,damn-0262937047\n' >>"$tmp/keep.conf"
"$I" read --config "$tmp/keep.conf" --format none "$P/gadu/john-samples_ekg_login.pcap" \
	>/dev/null 2>"$tmp/purge.err"
check purge_run $? "$(cat "$tmp/purge.err")"
by_local="SELECT localid, count(*) FROM messages WHERE kind IS NULL OR kind <> 'audit'
	GROUP BY localid ORDER BY localid"
# vmlemon 44 + its old row, damn 14, tim2 11 + the DCC SEND's file
# result, the new gg login; olduser, tesla_brian and the OSCAR session (no
# local id, its file result too) gone
want="48141423	1
damn-0262937047	14
tim2	12
vmlemon	45"
got_pg=$(pg_sql "$by_local")
got_my=$(my_sql "$by_local")
got_sq=$(sq "$by_local")
[ "$got_pg" = "$want" ]
check pg_held_kept_expired_gone $? "$got_pg"
[ "$got_my" = "$want" ]
check my_held_kept_expired_gone $? "$got_my"
[ "$got_sq" = "$want" ]
check sqlite_held_kept_expired_gone $? "$got_sq"
for k in pgsql mysql sqlite; do
	vkind $k "$(spec_of $k)"
	[ $vrc -eq 0 ] && grep -q 'purges: 1 (58 events kept by them)' "$tmp/v.out"
	check ${k}_verifies_after_purge $? "$(cat "$tmp/v.out")"
done
