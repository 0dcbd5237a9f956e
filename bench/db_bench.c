/* Events per second into a database sink (the writer thread, its queue,
 * batched transactions with prepared statements) against the raw insert
 * rate of the same database in the same run: the client library alone,
 * the same prepared INSERT, the same rows, the same transaction size,
 * into a copy of the table.
 *
 *   db_bench sqlite FILE N
 *   db_bench pgsql CONNINFO N
 *   db_bench mysql SOCKET DATABASE USER N
 *
 * Prints one line: the two rates and their ratio. */
#include <libpq-fe.h>
#include <mysql.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink/sink_writer.h"

#define BATCH SINK_WRITER_DEFAULT_BATCH

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_event(struct im_event *ev, unsigned long i)
{
	char text[96];

	event_init(ev);
	ev->ts = 1700000000.0 + (double)i / 1000;
	ev->proto = IMW_PROTO_MSN;
	ev->dir = i % 2 ? IM_DIR_IN : IM_DIR_OUT;
	ev->kind = IM_KIND_MESSAGE;
	snprintf(text, sizeof(text), "benchmark message number %lu, about as long as a chat line", i);
	if (!event_set_str(&ev->local, "alice@example.com") ||
	    !event_set_str(&ev->remote, "bob@example.com") ||
	    !event_set_str(&ev->client, "192.168.10.20:51234") || !event_set_str(&ev->text, text)) {
		fprintf(stderr, "db_bench: out of memory\n");
		exit(1);
	}
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "db_bench: %s: %s\n", what, detail ? detail : "?");
	exit(1);
}

/* ---- raw: the client libraries alone ---- */

static double raw_sqlite(const char *path, unsigned long n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct im_event ev;
	struct db_row r;
	unsigned long i;
	double t0;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; DROP TABLE IF EXISTS raw_messages;"
			 "CREATE TABLE raw_messages (id integer PRIMARY KEY AUTOINCREMENT,"
			 " timestamp integer NOT NULL, clientaddress text NOT NULL,"
			 " protocolname text NOT NULL, outgoing integer NOT NULL,"
			 " type integer NOT NULL, localid text NOT NULL, remoteid text NOT NULL,"
			 " filtered integer NOT NULL, eventdata blob NOT NULL, sensor text NOT NULL,"
			 " eventid integer, UNIQUE (sensor, eventid))",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT OR IGNORE INTO raw_messages (timestamp, clientaddress,"
			       " protocolname, outgoing, type, localid, remoteid, filtered, eventdata,"
			       " sensor, eventid) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		die("sqlite raw", sqlite3_errmsg(db));
	t0 = now();
	for (i = 0; i < n; i++) {
		make_event(&ev, i);
		db_row_from_event(&r, &ev, i);
		if (i % BATCH == 0)
			sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, r.timestamp);
		sqlite3_bind_text(st, 2, r.clientaddress, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r.protocolname, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, r.outgoing);
		sqlite3_bind_int(st, 5, r.type);
		sqlite3_bind_text(st, 6, r.localid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, r.remoteid, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 8, r.filtered);
		sqlite3_bind_text(st, 9, r.eventdata, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, "raw", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, (sqlite3_int64)r.eventid);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("sqlite raw insert", sqlite3_errmsg(db));
		event_free(&ev);
		if (i % BATCH == BATCH - 1 || i + 1 == n)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	t0 = now() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (double)n / t0;
}

static void pg_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		die(sql, PQerrorMessage(c));
	PQclear(r);
}

static double raw_pgsql(const char *conninfo, unsigned long n)
{
	PGconn *c = PQconnectdb(conninfo);
	struct im_event ev;
	struct db_row r;
	unsigned long i;
	char ts[24], out[8], type[8], filt[8], id[24];
	double t0;

	if (PQstatus(c) != CONNECTION_OK)
		die("pgsql raw", PQerrorMessage(c));
	pg_exec(c, "SET client_min_messages = warning");
	pg_exec(c, "DROP TABLE IF EXISTS raw_messages");
	pg_exec(c, "CREATE TABLE raw_messages (LIKE messages INCLUDING DEFAULTS)");
	pg_exec(c, "ALTER TABLE raw_messages ADD id2 serial, ADD UNIQUE (sensor, eventid)");
	PQclear(PQprepare(c, "raw",
			  "INSERT INTO raw_messages (\"timestamp\", clientaddress, protocolname,"
			  " outgoing, type, localid, remoteid, filtered, eventdata, sensor, eventid)"
			  " VALUES (to_timestamp($1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
			  " ON CONFLICT (sensor, eventid) DO NOTHING",
			  11, NULL));
	t0 = now();
	for (i = 0; i < n; i++) {
		const char *v[11] = { ts, NULL, NULL, out, type, NULL, NULL, filt, NULL, "raw", id };
		PGresult *res;

		make_event(&ev, i);
		db_row_from_event(&r, &ev, i);
		snprintf(ts, sizeof(ts), "%lld", (long long)r.timestamp);
		snprintf(out, sizeof(out), "%d", r.outgoing);
		snprintf(type, sizeof(type), "%d", r.type);
		snprintf(filt, sizeof(filt), "%d", r.filtered);
		snprintf(id, sizeof(id), "%lu", i);
		v[1] = r.clientaddress;
		v[2] = r.protocolname;
		v[5] = r.localid;
		v[6] = r.remoteid;
		v[8] = r.eventdata;
		if (i % BATCH == 0)
			pg_exec(c, "BEGIN");
		res = PQexecPrepared(c, "raw", 11, v, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die("pgsql raw insert", PQerrorMessage(c));
		PQclear(res);
		event_free(&ev);
		if (i % BATCH == BATCH - 1 || i + 1 == n)
			pg_exec(c, "COMMIT");
	}
	t0 = now() - t0;
	PQfinish(c);
	return (double)n / t0;
}

static double raw_mysql(const char *sock, const char *database, const char *user, unsigned long n)
{
	MYSQL *c = mysql_init(NULL);
	MYSQL_STMT *st;
	MYSQL_BIND b[11];
	unsigned long lens[11], i;
	long long ints[11];
	struct im_event ev;
	struct db_row r;
	const char *sql = "INSERT IGNORE INTO raw_messages (`timestamp`, clientaddress, protocolname,"
			  " outgoing, type, localid, remoteid, filtered, eventdata, sensor, eventid)"
			  " VALUES (?,?,?,?,?,?,?,?,?,?,?)";
	double t0;
	int k;

	if (!c || !mysql_real_connect(c, NULL, user, NULL, database, 0, sock, 0))
		die("mysql raw", c ? mysql_error(c) : "out of memory");
	if (mysql_query(c, "DROP TABLE IF EXISTS raw_messages") ||
	    mysql_query(c, "CREATE TABLE raw_messages LIKE messages"))
		die("mysql raw", mysql_error(c));
	st = mysql_stmt_init(c);
	if (!st || mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)))
		die("mysql raw prepare", mysql_error(c));
	t0 = now();
	for (i = 0; i < n; i++) {
		const char *s[11];

		make_event(&ev, i);
		db_row_from_event(&r, &ev, i);
		memset(b, 0, sizeof(b));
		memset(s, 0, sizeof(s));
		ints[0] = r.timestamp;
		ints[3] = r.outgoing;
		ints[4] = r.type;
		ints[7] = r.filtered;
		ints[10] = (long long)i;
		s[1] = r.clientaddress;
		s[2] = r.protocolname;
		s[5] = r.localid;
		s[6] = r.remoteid;
		s[8] = r.eventdata;
		s[9] = "raw";
		for (k = 0; k < 11; k++) {
			if (s[k]) {
				lens[k] = (unsigned long)strlen(s[k]);
				b[k].buffer_type = k == 8 ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
				b[k].buffer = (void *)(uintptr_t)s[k];
				b[k].buffer_length = lens[k];
				b[k].length = &lens[k];
			} else {
				b[k].buffer_type = MYSQL_TYPE_LONGLONG;
				b[k].buffer = &ints[k];
			}
		}
		if (i % BATCH == 0 && mysql_query(c, "START TRANSACTION"))
			die("mysql raw", mysql_error(c));
		if (mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st))
			die("mysql raw insert", mysql_stmt_error(st));
		event_free(&ev);
		if ((i % BATCH == BATCH - 1 || i + 1 == n) && mysql_commit(c))
			die("mysql raw commit", mysql_error(c));
	}
	t0 = now() - t0;
	mysql_stmt_close(st);
	mysql_close(c);
	return (double)n / t0;
}

/* ---- through the sink ---- */

static void quiet(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static double through_sink(struct sink_db *db, unsigned long n)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w, s;
	struct im_event ev;
	unsigned long i;
	char err[256] = "out of memory";
	double t0;

	/* Memory only, as `imwire read` without spool_dir: the database's
	 * own cost, not the write-ahead log's (bench/writer_bench.sh). */
	sink_writer_config_defaults(&wc);
	wc.wait_when_full = true;
	wc.batch_max = 500;
	wc.log = quiet;
	if (sink_writer_open(&w, &wc, err, sizeof(err)) < 0 || sink_db_open(&s, db, "bench") < 0 ||
	    sink_writer_add_sink(&w, &s, err, sizeof(err)) < 0 || sink_writer_start(&w) < 0)
		die("sink", err);
	/* Connect and create the table before the clock starts. */
	if (w.ops->flush(&w) < 0)
		die("sink", "flush");
	t0 = now();
	for (i = 0; i < n; i++) {
		make_event(&ev, i);
		if (sink_write(&w, &ev) < 0)
			die("sink", "write");
		event_free(&ev);
	}
	if (w.ops->flush(&w) < 0)
		die("sink", "events lost");
	t0 = now() - t0;
	sink_writer_get_stats(&w, &st);
	if (st.sinks[0].written + st.sinks[0].replayed != n)
		die("sink", "not every event was written");
	sink_close(&w);
	return (double)n / t0;
}

static void open_db(struct sink_db *db, int argc, char **argv, const char *sensor)
{
	int rc = -1;

	if (strcmp(argv[1], "sqlite") == 0)
		rc = sink_db_sqlite_init(db, argv[2], sensor);
	else if (strcmp(argv[1], "pgsql") == 0)
		rc = sink_db_pgsql_init(db, argv[2], sensor);
	else if (strcmp(argv[1], "mysql") == 0 && argc == 6)
		rc = sink_db_mysql_init(db, argv[2], argv[3], argv[4], NULL, sensor);
	else
		die("usage", "db_bench sqlite FILE N | pgsql CONNINFO N | mysql SOCKET DB USER N");
	if (rc < 0)
		die(argv[1], "cannot set up the sink");
}

int main(int argc, char **argv)
{
	struct sink_db db;
	char sensor[32];
	unsigned long n;
	double raw, sink;

	if (argc < 4)
		die("usage", "db_bench sqlite FILE N | pgsql CONNINFO N | mysql SOCKET DB USER N");
	n = strtoul(argv[argc - 1], NULL, 10);
	/* The sink creates `messages` first; raw copies its layout. */
	open_db(&db, argc, argv, "warmup");
	through_sink(&db, 1);
	if (strcmp(argv[1], "sqlite") == 0)
		raw = raw_sqlite(argv[2], n);
	else if (strcmp(argv[1], "pgsql") == 0)
		raw = raw_pgsql(argv[2], n);
	else
		raw = raw_mysql(argv[2], argv[3], argv[4], n);
	snprintf(sensor, sizeof(sensor), "bench-%ld", (long)time(NULL));
	open_db(&db, argc, argv, sensor);
	sink = through_sink(&db, n);
	printf("%-6s raw %8.0f ev/s   sink %8.0f ev/s   sink/raw %.2f\n", argv[1], raw, sink,
	       sink / raw);
	return 0;
}
