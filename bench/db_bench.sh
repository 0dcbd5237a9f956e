#!/bin/sh
# Database sinks against the raw insert rate of the same database, in one
# run: SQLite (a file), and PostgreSQL and MariaDB servers started here
# from Debian's packages (tests/dbservers.sh: temporary directory, Unix
# sockets, stopped by PID, always removed). Needs root (server users).
# Usage: bench/db_bench.sh [BENCHDIR]   (BENCHDIR holds db_bench)
# Environment: BENCH_DB_EVENTS (50000) events per measurement.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${1:-$TOP/build/bench}
N=${BENCH_DB_EVENTS:-50000}
tmp=$(mktemp -d)
chmod 755 "$tmp"
DBTMP=$tmp/db
mkdir "$DBTMP"
. "$TOP/tests/dbservers.sh"
trap 'db_cleanup; rm -rf "$tmp"' EXIT INT TERM

[ -x "$BENCH/db_bench" ] || { echo "db_bench.sh: build $BENCH/db_bench first (make bench-db)" >&2; exit 1; }
echo "events per second, $N events each, transactions of 500 rows;"
echo "raw: the client library's prepared INSERT alone; sink: imwire's writer (queue, thread, batches)"
"$BENCH/db_bench" sqlite "$tmp/bench.db" "$N" || exit 1
pg_init || { echo "db_bench.sh: cannot start PostgreSQL" >&2; exit 1; }
"$BENCH/db_bench" pgsql "$(pg_conninfo)" "$N" || exit 1
pg_stop
my_init || { echo "db_bench.sh: cannot start MariaDB" >&2; exit 1; }
"$BENCH/db_bench" mysql "$(my_socket)" imwire root "$N" || exit 1
my_stop
