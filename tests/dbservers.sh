# Throw-away PostgreSQL and MariaDB servers from Debian's packages, for
# tests and benchmarks: data and Unix sockets in $DBTMP, no TCP listener,
# no system service. Each server is started and stopped by its PID.
# Sourced (sh); the caller sets DBTMP to an empty directory and calls
# db_cleanup from its exit trap. Every wait is bounded.

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_PID=""
MY_PID=""

db_wait() { # tries command...: retry every 0.1 s, at most tries times
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		n=$((n - 1))
		sleep 0.1
	done
	return 1
}

db_gone() { # pid, tries: wait until the process has exited
	p=$1
	n=$2
	while [ "$n" -gt 0 ] && kill -0 "$p" 2>/dev/null; do
		n=$((n - 1))
		sleep 0.1
	done
	! kill -0 "$p" 2>/dev/null
}

pg_init() {
	[ -x "$PG_BIN/initdb" ] || return 1
	chmod 755 "$DBTMP"
	mkdir -p "$DBTMP/pg" "$DBTMP/pgsock"
	chown postgres:postgres "$DBTMP/pg" "$DBTMP/pgsock"
	setpriv --reuid=postgres --regid=postgres --clear-groups \
		"$PG_BIN/initdb" -D "$DBTMP/pg" -U imwire --auth=trust -E UTF8 --no-sync \
		>"$DBTMP/pg-init.log" 2>&1 || return 1
	pg_start || return 1
	pg_sql_db postgres "CREATE DATABASE imwire" >/dev/null
}

pg_start() {
	setpriv --reuid=postgres --regid=postgres --clear-groups \
		"$PG_BIN/postgres" -D "$DBTMP/pg" -k "$DBTMP/pgsock" -c listen_addresses= \
		>>"$DBTMP/pg.log" 2>&1 &
	PG_PID=$!
	db_wait 100 "$PG_BIN/pg_isready" -q -h "$DBTMP/pgsock" -U imwire -d postgres
}

# Fast shutdown: clients are disconnected, open transactions rolled back.
pg_stop() {
	[ -n "$PG_PID" ] || return 0
	kill -INT "$PG_PID" 2>/dev/null
	db_gone "$PG_PID" 150
	rc=$?
	PG_PID=""
	return $rc
}

pg_sql_db() { # database, sql
	psql -X -q -h "$DBTMP/pgsock" -U imwire -d "$1" -At -F '	' -c "$2"
}

pg_sql() {
	pg_sql_db imwire "$1"
}

pg_conninfo() {
	echo "host=$DBTMP/pgsock dbname=imwire user=imwire"
}

my_init() {
	command -v mariadbd >/dev/null || return 1
	chmod 755 "$DBTMP"
	mkdir -p "$DBTMP/my" "$DBTMP/mysock"
	chown mysql:mysql "$DBTMP/my" "$DBTMP/mysock"
	mariadb-install-db --no-defaults --datadir="$DBTMP/my" --user=mysql \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$DBTMP/my-init.log" 2>&1 || return 1
	my_start || return 1
	my_sql_db "" "CREATE DATABASE imwire"
}

my_start() {
	setpriv --reuid=mysql --regid=mysql --clear-groups \
		mariadbd --no-defaults --datadir="$DBTMP/my" --socket="$DBTMP/mysock/my.sock" \
		--skip-networking --pid-file="$DBTMP/mysock/my.pid" --log-error="$DBTMP/mysock/my.log" \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
		>>"$DBTMP/my.out" 2>&1 &
	MY_PID=$!
	db_wait 150 mariadb --no-defaults -S "$DBTMP/mysock/my.sock" -u root -e "SELECT 1"
}

my_stop() {
	[ -n "$MY_PID" ] || return 0
	kill -TERM "$MY_PID" 2>/dev/null
	db_gone "$MY_PID" 200
	rc=$?
	MY_PID=""
	return $rc
}

my_sql_db() { # database ("" for none), sql
	mariadb --no-defaults -S "$DBTMP/mysock/my.sock" -u root -N -B ${1:+"$1"} -e "$2"
}

my_socket() {
	echo "$DBTMP/mysock/my.sock"
}

my_sql() {
	my_sql_db imwire "$1"
}

db_cleanup() {
	if [ -n "$PG_PID" ]; then
		kill -QUIT "$PG_PID" 2>/dev/null
		db_gone "$PG_PID" 50 || kill -KILL "$PG_PID" 2>/dev/null
	fi
	if [ -n "$MY_PID" ]; then
		kill -KILL "$MY_PID" 2>/dev/null
		db_gone "$MY_PID" 50
	fi
	PG_PID=""
	MY_PID=""
}
