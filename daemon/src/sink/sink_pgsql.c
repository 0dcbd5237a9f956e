/* PostgreSQL through libpq. Statements go out asynchronously and are
 * waited for with a bound, so a server that stops answering becomes a
 * failure the writer can spool around instead of a hung thread. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "review/review_index.h"
#include "sink/sink_db.h"
#include "sink/sink_pgsql_internal.h"
#include "util/bytebuf.h"

/* Serialises table creation between imwired instances sharing a server. */
#define SETUP_LOCK_KEY 0x696d77697265LL /* "imwire" */


static const char create_table[] =
	"CREATE TABLE IF NOT EXISTS messages ("
	" id serial primary key,"
	" \"timestamp\" timestamp with time zone default now(),"
	" clientaddress varchar,"
	" protocolname varchar,"
	" outgoing int default 0,"
	" type int default 0,"
	" localid varchar,"
	" remoteid varchar,"
	" filtered int default 0,"
	" eventdata text,"
	" sensor varchar(64) NOT NULL DEFAULT '',"
	" eventid bigint)";

/* An IMSpector table from before imwire lacks sensor and eventid. */
static const char upgrade_table[] =
	"ALTER TABLE messages ADD COLUMN IF NOT EXISTS sensor varchar(64) NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS eventid bigint";

/* imwire's file columns (sink_db.h), added the same way (a file result's
 * categories are the archive's column). */
static const char file_columns[] =
	"ALTER TABLE messages ADD COLUMN IF NOT EXISTS filestate varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filebytes varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filesha256 varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filemime varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filescan varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filesignature varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filegapbytes varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filestored varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filedataflow varchar NOT NULL DEFAULT ''";

static const char create_index[] =
	"CREATE UNIQUE INDEX IF NOT EXISTS messages_sensor_eventid ON messages (sensor, eventid)";

/* The purge's queries (sink_db_purge.c): expired rows by time, the last
 * purge record. */
static const char archive_index_sensor_ts[] =
	"CREATE INDEX IF NOT EXISTS messages_sensor_ts ON messages (sensor, ts_us)";
static const char archive_index_action[] =
	"CREATE INDEX IF NOT EXISTS messages_action ON messages (sensor, action, eventid)";

static const char insert_head[] =
	"INSERT INTO messages (\"timestamp\", clientaddress, protocolname, outgoing, type,"
	" localid, remoteid, filtered, eventdata, sensor, eventid";
static const char insert_values[] =
	") VALUES (to_timestamp($1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11";
/* Any unique index: (sensor, eventid), or (sensor, eventid, "timestamp")
 * on a partitioned table (sink_pgsql_part.c). */
static const char insert_tail[] = ") ON CONFLICT DO NOTHING";
#define BASE_PARAMS 11
#define FILE_PARAM0 (BASE_PARAMS + DB_ARCHIVE_PARAMS)
#define ALL_PARAMS (FILE_PARAM0 + DB_FILE_COLUMNS)

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pgsql_fail(struct sink_db *db, const char *what)
{
	struct pgsql_ctx *c = db->ctx;

	sink_db_set_error(db, what, c->conn ? PQerrorMessage(c->conn) : "out of memory");
	return -1;
}

/* Wait, bounded, until the result of what was sent is in. */
static int wait_result(struct sink_db *db, const char *what)
{
	struct pgsql_ctx *c = db->ctx;
	double deadline = monotonic() + db->timeout_s;
	struct pollfd pfd;

	pfd.fd = PQsocket(c->conn);
	pfd.events = POLLIN;
	while (PQisBusy(c->conn)) {
		double left = deadline - monotonic();
		int rc;

		if (left <= 0) {
			sink_db_set_error(db, what, "no answer from the server in time");
			return -1;
		}
		rc = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (rc < 0 && errno != EINTR)
			return pgsql_fail(db, what);
		if (rc > 0 && !PQconsumeInput(c->conn))
			return pgsql_fail(db, what);
	}
	return 0;
}

/* Collect every result of one command; 0, -1 (connection) or
 * SINK_DB_ROW_REJECTED (the server refused it, connection fine). */
static int finish(struct sink_db *db, const char *what)
{
	struct pgsql_ctx *c = db->ctx;
	PGresult *res;
	int rc = 0;

	for (;;) {
		if (wait_result(db, what) < 0)
			return -1;
		res = PQgetResult(c->conn);
		if (!res)
			break;
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
		    rc == 0) {
			sink_db_set_error(db, what, PQresultErrorMessage(res));
			rc = PQstatus(c->conn) == CONNECTION_OK ? SINK_DB_ROW_REJECTED : -1;
		}
		PQclear(res);
	}
	if (PQstatus(c->conn) != CONNECTION_OK)
		return rc ? rc : pgsql_fail(db, what);
	return rc;
}

int pgsql_exec(struct sink_db *db, const char *sql)
{
	struct pgsql_ctx *c = db->ctx;

	if (!PQsendQuery(c->conn, sql))
		return pgsql_fail(db, sql);
	return finish(db, sql) == 0 ? 0 : -1;
}

#define exec pgsql_exec

static void pgsql_disconnect(struct sink_db *db)
{
	struct pgsql_ctx *c = db->ctx;

	if (c->conn)
		PQfinish(c->conn); /* the server rolls back what was open */
	c->conn = NULL;
	db->connected = false;
}

static int add_archive_columns(struct sink_db *db)
{
	struct bytebuf b;
	int rc = -1;

	bytebuf_init(&b);
	if (db_sql_archive_add(&b, "", "text"))
		rc = exec(db, (const char *)b.data);
	else
		sink_db_set_error(db, "alter table", "out of memory");
	bytebuf_free(&b);
	return rc;
}

static int prepare_insert(struct sink_db *db)
{
	struct pgsql_ctx *c = db->ctx;
	struct bytebuf b;
	int rc = -1;

	bytebuf_init(&b);
	if (!bytebuf_append_str(&b, insert_head) || !db_sql_archive_names(&b, "") ||
	    !db_sql_file_names(&b, "") || !bytebuf_append_str(&b, insert_values) ||
	    !db_sql_archive_params(&b, BASE_PARAMS + 1) ||
	    !db_sql_file_params(&b, FILE_PARAM0 + 1) ||
	    !bytebuf_append_str(&b, insert_tail) || !bytebuf_terminate(&b))
		sink_db_set_error(db, "prepare", "out of memory");
	else if (!PQsendPrepare(c->conn, "imwire_insert", (const char *)b.data, ALL_PARAMS, NULL))
		pgsql_fail(db, "prepare");
	else
		rc = finish(db, "prepare") == 0 ? 0 : -1;
	bytebuf_free(&b);
	return rc;
}

static int setup_table(struct sink_db *db)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", SETUP_LOCK_KEY);
	if (exec(db, sql) < 0)
		return -1;
	/* A partitioned table first when asked for one (pgsql_partition=);
	 * then the rest finds it there and adds nothing. */
	if (pgsql_part_create(db) < 0 || exec(db, create_table) < 0 || exec(db, upgrade_table) < 0 ||
	    exec(db, file_columns) < 0 || exec(db, create_index) < 0 || add_archive_columns(db) < 0 ||
	    review_index_pgsql(((struct pgsql_ctx *)db->ctx)->conn, db->err, sizeof(db->err)) < 0 ||
	    exec(db, archive_index_sensor_ts) < 0 || exec(db, archive_index_action) < 0 ||
	    pgsql_part_setup(db) < 0)
		return -1; /* the lock goes with the connection */
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", SETUP_LOCK_KEY);
	return exec(db, sql);
}

static int pgsql_connect(struct sink_db *db)
{
	struct pgsql_ctx *c = db->ctx;
	char timeout[16];
	/* Ours first: what the user's conninfo says wins. */
	const char *keys[] = { "connect_timeout", "dbname", NULL };
	const char *values[] = { timeout, c->conninfo, NULL };

	snprintf(timeout, sizeof(timeout), "%u", db->timeout_s);
	c->conn = PQconnectdbParams(keys, values, 1);
	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
		pgsql_fail(db, "connect");
		pgsql_disconnect(db);
		return -1;
	}
	if (exec(db, "SET client_min_messages = warning") < 0 || setup_table(db) < 0)
		goto failed;
	if (prepare_insert(db) < 0)
		goto failed;
	db->connected = true;
	return 0;
failed:
	pgsql_disconnect(db);
	return -1;
}

#define QUERY_MAX_COLUMNS 32

/* "?" to "$1", "$2"... (our statements have no "?" in literals). */
static bool number_placeholders(struct bytebuf *b, const char *sql)
{
	int n = 0;

	for (; *sql; sql++) {
		if (*sql != '?' ? !bytebuf_append_byte(b, (uint8_t)*sql)
				: !bytebuf_printf(b, "$%d", ++n))
			return false;
	}
	return bytebuf_terminate(b);
}

static int query_rows(struct sink_db *db, const char *what, db_row_fn fn, void *arg,
		      uint64_t *changed)
{
	struct pgsql_ctx *c = db->ctx;
	const char *cols[QUERY_MAX_COLUMNS];
	PGresult *res;
	int rc = 0, i, n;
	bool stop = false;

	for (;;) {
		if (wait_result(db, what) < 0)
			return -1;
		res = PQgetResult(c->conn);
		if (!res)
			break;
		switch (PQresultStatus(res)) {
		case PGRES_SINGLE_TUPLE:
			n = PQnfields(res) < QUERY_MAX_COLUMNS ? PQnfields(res) : QUERY_MAX_COLUMNS;
			for (i = 0; i < n; i++)
				cols[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
			if (!stop && fn && fn(arg, cols, (size_t)n) != 0)
				stop = true; /* the rest is read and dropped */
			break;
		case PGRES_TUPLES_OK:
			break;
		case PGRES_COMMAND_OK:
			if (changed)
				*changed = strtoull(PQcmdTuples(res), NULL, 10);
			break;
		default:
			if (rc == 0) {
				sink_db_set_error(db, what, PQresultErrorMessage(res));
				rc = -1;
			}
		}
		PQclear(res);
	}
	return rc;
}

static int pgsql_query(struct sink_db *db, const char *sql, const char *const *params,
		       size_t n_params, db_row_fn fn, void *arg, uint64_t *changed)
{
	struct pgsql_ctx *c = db->ctx;
	struct bytebuf b;
	int rc;

	bytebuf_init(&b);
	if (!number_placeholders(&b, sql)) {
		bytebuf_free(&b);
		sink_db_set_error(db, "query", "out of memory");
		return -1;
	}
	rc = PQsendQueryParams(c->conn, (const char *)b.data, (int)n_params, NULL, params, NULL,
			       NULL, 0) &&
			     PQsetSingleRowMode(c->conn)
		     ? query_rows(db, sql, fn, arg, changed)
		     : pgsql_fail(db, sql);
	bytebuf_free(&b);
	return rc;
}

static int pgsql_begin(struct sink_db *db)
{
	/* Partitions for the time to come, outside the batch's transaction. */
	if (pgsql_part_ensure(db, (int64_t)time(NULL)) < 0)
		return -1;
	return exec(db, "BEGIN");
}

static int pgsql_insert(struct sink_db *db, const struct db_row *r)
{
	struct pgsql_ctx *c = db->ctx;
	char ts[24], outgoing[8], type[8], filtered[8], eventid[24], ts_us[24];
	const char *values[ALL_PARAMS] = { ts, r->clientaddress, r->protocolname, outgoing, type,
					   r->localid, r->remoteid, filtered, r->eventdata,
					   db->sensor, eventid, ts_us };
	int i;

	for (i = 0; i < DB_ARCHIVE_TEXT_COLUMNS; i++)
		values[BASE_PARAMS + 1 + i] = db_row_text(r, (enum db_archive_column)i);
	for (i = 0; i < DB_FILE_COLUMNS; i++)
		values[FILE_PARAM0 + i] = r->file[i] ? r->file[i] : "";
	snprintf(ts_us, sizeof(ts_us), "%lld", (long long)r->ts_us);

	snprintf(ts, sizeof(ts), "%lld", (long long)r->timestamp);
	snprintf(outgoing, sizeof(outgoing), "%d", r->outgoing);
	snprintf(type, sizeof(type), "%d", r->type);
	snprintf(filtered, sizeof(filtered), "%d", r->filtered);
	/* bigint is signed: ids are below 2^63 (sink_writer.c). */
	snprintf(eventid, sizeof(eventid), "%lld", (long long)r->eventid);
	if (!PQsendQueryPrepared(c->conn, "imwire_insert", ALL_PARAMS, values, NULL, NULL, 0))
		return pgsql_fail(db, "insert");
	return finish(db, "insert");
}

static int pgsql_commit(struct sink_db *db)
{
	return exec(db, "COMMIT");
}

static int pgsql_rollback(struct sink_db *db)
{
	return exec(db, "ROLLBACK");
}

static void pgsql_destroy(struct sink_db *db)
{
	struct pgsql_ctx *c = db->ctx;

	free(c->conninfo);
	free(c);
	db->ctx = NULL;
}

static const struct sink_db_ops pgsql_ops = {
	.name = "pgsql",
	.connect = pgsql_connect,
	.begin = pgsql_begin,
	.insert = pgsql_insert,
	.commit = pgsql_commit,
	.rollback = pgsql_rollback,
	.query = pgsql_query,
	.disconnect = pgsql_disconnect,
	.destroy = pgsql_destroy,
	.purge_parts = pgsql_part_expired,
	.drop_parts = pgsql_part_drop,
};

int sink_db_pgsql_init(struct sink_db *db, const char *conninfo, const char *sensor)
{
	struct pgsql_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->conninfo = strdup(conninfo);
	if (!c->conninfo || sink_db_common_init(db, &pgsql_ops, c, sensor) < 0) {
		free(c->conninfo);
		free(c);
		return -1;
	}
	return 0;
}
