#!/bin/sh
# The PostgreSQL archive's sizing note (issue 22, README "The archive"),
# measured: a message-heavy capture (bench/gen_messages.c: BENCH_FLOWS
# flows of IRC, XMPP and MSN, BENCH_MESSAGES messages) read with
# `imwire read --config` into a PostgreSQL started here from Debian's
# package (tests/dbservers.sh: temporary directory, Unix socket, stopped by
# PID, always removed), in one run:
#   imspector   IMSpector's own table (its 10 columns, its CREATE TABLE),
#               filled from the archive's rows: the baseline
#   archive     the writer's table, day partitions (pgsql_partition=day),
#               the archive's columns (event id, sensor, server, session,
#               Community ID, action, rule, chain hashes) and the indexes
#               of retention and of the review console
# For each: bytes per event (heap + TOAST + indexes, pg_total_relation_size
# over the partitions), and the ratio to the baseline; for the archive the
# writer's rate (events/s, wall clock of the read, chained and indexed).
# The note: per 1 000 users at BENCH_EVENTS_PER_USER events a user and day
# (default 200: a busy office user's messages, typing off), events and
# bytes a day and a year, and how many such users one writer keeps up with.
# Needs root (the server's user).
#
# Usage: bench/archive_sizing.sh [BINDIR [BENCHDIR]]
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$TOP/build/bin}
BENCH=${2:-$TOP/build/bench}
FLOWS=${BENCH_FLOWS:-300}
MSGS=${BENCH_MESSAGES:-100000}
PER_USER=${BENCH_EVENTS_PER_USER:-200}
tmp=$(mktemp -d)
chmod 755 "$tmp"
DBTMP=$tmp/db
mkdir "$DBTMP"
. "$TOP/tests/dbservers.sh"
trap 'db_cleanup; rm -rf "$tmp"' EXIT INT TERM

[ -x "$BENCH/gen_messages" ] || {
	echo "archive_sizing.sh: build $BENCH/gen_messages first (make bench-sizing)" >&2
	exit 1
}
"$BENCH/gen_messages" "$tmp/m.pcap" "$FLOWS" "$MSGS" >/dev/null || exit 1
pg_init || { echo "archive_sizing.sh: cannot start PostgreSQL" >&2; exit 1; }

cat >"$tmp/a.conf" <<EOF
pgsql_connect=$(pg_conninfo)
pgsql_partition=day
sensor_name=bench
EOF
t0=$(date +%s.%N)
"$BIN/imwire" read --config "$tmp/a.conf" --format none --quiet "$tmp/m.pcap" \
	>/dev/null 2>"$tmp/read.err" || { cat "$tmp/read.err" >&2; exit 1; }
t1=$(date +%s.%N)

# IMSpector's table (its README's CREATE TABLE), the same rows.
pg_sql 'CREATE TABLE imspector (
	id serial PRIMARY KEY, "timestamp" timestamp NOT NULL,
	clientaddress text NOT NULL, protocolname text NOT NULL,
	outgoing integer NOT NULL, type integer NOT NULL, localid text NOT NULL,
	remoteid text NOT NULL, filtered integer NOT NULL, eventdata text NOT NULL)' >/dev/null
pg_sql 'INSERT INTO imspector ("timestamp", clientaddress, protocolname, outgoing, type,
	localid, remoteid, filtered, eventdata)
	SELECT "timestamp", clientaddress, protocolname, outgoing, type, localid, remoteid,
	filtered, eventdata FROM messages' >/dev/null
pg_sql 'VACUUM ANALYZE' >/dev/null

events=$(pg_sql "SELECT count(*) FROM messages")
# every relation of the partition tree, with its TOAST and indexes
archive_bytes=$(pg_sql "SELECT sum(pg_total_relation_size(relid))
	FROM pg_partition_tree('messages')")
base_bytes=$(pg_sql "SELECT pg_total_relation_size('imspector')")
parts=$(pg_sql "SELECT count(*) FROM pg_partition_tree('messages') WHERE isleaf")

awk -v n="$events" -v a="$archive_bytes" -v b="$base_bytes" -v t0="$t0" -v t1="$t1" \
	-v pu="$PER_USER" -v parts="$parts" -v flows="$FLOWS" -v msgs="$MSGS" 'BEGIN {
	if (n <= 0) { print "archive_sizing.sh: no events stored" > "/dev/stderr"; exit 1 }
	s = t1 - t0
	printf "capture: %d flows, %d messages; %d events stored in %d leaf partitions\n",
		flows, msgs, n, parts
	printf "%-10s %14s %14s %8s\n", "table", "bytes/event", "total MiB", "ratio"
	printf "%-10s %14.0f %14.1f %8.2f\n", "imspector", b / n, b / 1048576, 1
	printf "%-10s %14.0f %14.1f %8.2f\n", "archive", a / n, a / 1048576, a / b
	printf "writer: %.1f s, %.0f events/s (read, decode, chain, insert, index)\n", s, n / s
	day = 1000 * pu
	printf "sizing, per 1 000 users at %d events a user and day:\n", pu
	printf "  %d events/day, %.1f MiB/day, %.1f GiB/year on PostgreSQL\n",
		day, day * a / n / 1048576, 365 * day * a / n / 1073741824
	printf "  one writer keeps up with %.0f such users spread evenly over the day,\n",
		(n / s) * 86400 / pu
	printf "  %.0f with a peak hour at ten times the mean (%.0f events/s)\n",
		(n / s) * 86400 / pu / 10, n / s
}'
