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

/* Serialises table creation between imwired instances sharing a server. */
#define SETUP_LOCK_KEY 0x696d77697265LL /* "imwire" */

struct pgsql_ctx {
	char *conninfo;
	PGconn *conn;
};

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

/* imwire's file columns (sink_db.h), added the same way. */
static const char file_columns[] =
	"ALTER TABLE messages ADD COLUMN IF NOT EXISTS filestate varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filebytes varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filesha256 varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filemime varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filescan varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filesignature varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS categories varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filegapbytes varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filestored varchar NOT NULL DEFAULT '',"
	" ADD COLUMN IF NOT EXISTS filedataflow varchar NOT NULL DEFAULT ''";

static const char create_index[] =
	"CREATE UNIQUE INDEX IF NOT EXISTS messages_sensor_eventid ON messages (sensor, eventid)";

static const char insert_sql[] =
	"INSERT INTO messages (\"timestamp\", clientaddress, protocolname, outgoing, type,"
	" localid, remoteid, filtered, eventdata, sensor, eventid, filestate, filebytes,"
	" filesha256, filemime, filescan, filesignature, categories, filegapbytes, filestored,"
	" filedataflow)"
	" VALUES (to_timestamp($1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
	" $15, $16, $17, $18, $19, $20, $21)"
	" ON CONFLICT (sensor, eventid) DO NOTHING";

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(struct sink_db *db, const char *what)
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
			return fail(db, what);
		if (rc > 0 && !PQconsumeInput(c->conn))
			return fail(db, what);
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
		return rc ? rc : fail(db, what);
	return rc;
}

static int exec(struct sink_db *db, const char *sql)
{
	struct pgsql_ctx *c = db->ctx;

	if (!PQsendQuery(c->conn, sql))
		return fail(db, sql);
	return finish(db, sql) == 0 ? 0 : -1;
}

static void pgsql_disconnect(struct sink_db *db)
{
	struct pgsql_ctx *c = db->ctx;

	if (c->conn)
		PQfinish(c->conn); /* the server rolls back what was open */
	c->conn = NULL;
	db->connected = false;
}

static int setup_table(struct sink_db *db)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", SETUP_LOCK_KEY);
	if (exec(db, sql) < 0)
		return -1;
	if (exec(db, create_table) < 0 || exec(db, upgrade_table) < 0 || exec(db, file_columns) < 0 ||
	    exec(db, create_index) < 0 ||
	    review_index_pgsql(((struct pgsql_ctx *)db->ctx)->conn, db->err, sizeof(db->err)) < 0)
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
		fail(db, "connect");
		pgsql_disconnect(db);
		return -1;
	}
	if (exec(db, "SET client_min_messages = warning") < 0 || setup_table(db) < 0)
		goto failed;
	if (!PQsendPrepare(c->conn, "imwire_insert", insert_sql, 11 + DB_FILE_COLUMNS, NULL) ||
	    finish(db, "prepare") != 0)
		goto failed;
	db->connected = true;
	return 0;
failed:
	pgsql_disconnect(db);
	return -1;
}

static int pgsql_begin(struct sink_db *db)
{
	return exec(db, "BEGIN");
}

static int pgsql_insert(struct sink_db *db, const struct db_row *r)
{
	struct pgsql_ctx *c = db->ctx;
	char ts[24], outgoing[8], type[8], filtered[8], eventid[24];
	const char *values[11 + DB_FILE_COLUMNS] = { ts, r->clientaddress, r->protocolname,
						     outgoing, type, r->localid, r->remoteid,
						     filtered, r->eventdata, db->sensor, eventid };
	size_t i;

	for (i = 0; i < DB_FILE_COLUMNS; i++)
		values[11 + i] = r->file[i] ? r->file[i] : "";

	snprintf(ts, sizeof(ts), "%lld", (long long)r->timestamp);
	snprintf(outgoing, sizeof(outgoing), "%d", r->outgoing);
	snprintf(type, sizeof(type), "%d", r->type);
	snprintf(filtered, sizeof(filtered), "%d", r->filtered);
	/* bigint is signed: ids are below 2^63 (sink_writer.c). */
	snprintf(eventid, sizeof(eventid), "%lld", (long long)r->eventid);
	if (!PQsendQueryPrepared(c->conn, "imwire_insert", 11 + DB_FILE_COLUMNS, values, NULL, NULL,
				 0))
		return fail(db, "insert");
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
	.disconnect = pgsql_disconnect,
	.destroy = pgsql_destroy,
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
