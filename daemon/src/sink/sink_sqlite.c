/* SQLite: IMSpector's table in a local file, the default sink. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "review/review_index.h"
#include "sink/sink_db.h"
#include "util/bytebuf.h"

struct sqlite_ctx {
	char *path;
	sqlite3 *conn;
	sqlite3_stmt *insert;
	/* The file we opened: one removed or replaced under us would take
	 * rows nobody can read, so each batch checks it is still there. */
	dev_t dev;
	ino_t ino;
};

static const char create_table[] =
	"CREATE TABLE IF NOT EXISTS messages ("
	" id integer PRIMARY KEY AUTOINCREMENT,"
	" timestamp integer NOT NULL,"
	" clientaddress text NOT NULL,"
	" protocolname text NOT NULL,"
	" outgoing integer NOT NULL,"
	" type integer NOT NULL,"
	" localid text NOT NULL,"
	" remoteid text NOT NULL,"
	" filtered integer NOT NULL,"
	" eventdata blob NOT NULL,"
	" sensor text NOT NULL DEFAULT '',"
	" eventid integer)";

static const char create_index[] =
	"CREATE UNIQUE INDEX IF NOT EXISTS messages_sensor_eventid ON messages (sensor, eventid)";

static const char insert_head[] =
	"INSERT OR IGNORE INTO messages (timestamp, clientaddress, protocolname, outgoing, type,"
	" localid, remoteid, filtered, eventdata, sensor, eventid";
static const char insert_values[] = ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
#define BASE_PARAMS 11

/* The archive's columns on an older table (IMSpector's, or imwire's
 * before them), one by one: SQLite has no ADD COLUMN IF NOT EXISTS. */
static int add_archive_columns(struct sink_db *db);
static int prepare_insert(struct sink_db *db);

static int fail(struct sink_db *db, const char *what)
{
	struct sqlite_ctx *c = db->ctx;

	sink_db_set_error(db, what, c->conn ? sqlite3_errmsg(c->conn) : "out of memory");
	return -1;
}

static int exec(struct sink_db *db, const char *sql)
{
	struct sqlite_ctx *c = db->ctx;

	return sqlite3_exec(c->conn, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(db, sql);
}

/* An IMSpector table from before imwire lacks sensor and eventid. */
static int has_column(struct sink_db *db, const char *name, bool *found)
{
	struct sqlite_ctx *c = db->ctx;
	sqlite3_stmt *st;
	int rc;

	*found = false;
	if (sqlite3_prepare_v2(c->conn, "PRAGMA table_info(messages)", -1, &st, NULL) != SQLITE_OK)
		return fail(db, "table_info");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *col = sqlite3_column_text(st, 1);

		if (col && strcmp((const char *)col, name) == 0)
			*found = true;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(db, "table_info");
}

/* imwire's file columns on a table made before them. */
static int add_file_columns(struct sink_db *db)
{
	char sql[128];
	bool found;
	size_t i;

	for (i = 0; i < DB_FILE_COLUMNS; i++) {
		if (has_column(db, db_file_columns[i], &found) < 0)
			return -1;
		snprintf(sql, sizeof(sql), "ALTER TABLE messages ADD COLUMN %s text NOT NULL DEFAULT ''",
			 db_file_columns[i]);
		if (!found && exec(db, sql) < 0)
			return -1;
	}
	return 0;
}

static void sqlite_disconnect(struct sink_db *db)
{
	struct sqlite_ctx *c = db->ctx;

	if (c->insert)
		sqlite3_finalize(c->insert);
	if (c->conn)
		sqlite3_close(c->conn); /* an open transaction is rolled back */
	c->insert = NULL;
	c->conn = NULL;
	db->connected = false;
}

static int sqlite_connect(struct sink_db *db)
{
	struct sqlite_ctx *c = db->ctx;
	bool found;

	if (sqlite3_open_v2(c->path, &c->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		fail(db, c->path);
		sqlite_disconnect(db);
		return -1;
	}
	/* Readers (reports) may hold the file briefly: wait, within bounds. */
	sqlite3_busy_timeout(c->conn, (int)db->timeout_s * 1000);
	/* Temporary tables and statement journals in memory: a large batch
	 * would otherwise open files in /var/tmp or /tmp, outside the paths
	 * the sandbox allows (only the database's directory). */
	if (exec(db, "PRAGMA journal_mode=WAL") < 0 || exec(db, "PRAGMA temp_store=MEMORY") < 0 ||
	    exec(db, create_table) < 0 ||
	    has_column(db, "sensor", &found) < 0 ||
	    (!found && exec(db, "ALTER TABLE messages ADD COLUMN sensor text NOT NULL DEFAULT ''") < 0) ||
	    has_column(db, "eventid", &found) < 0 ||
	    (!found && exec(db, "ALTER TABLE messages ADD COLUMN eventid integer") < 0) ||
	    exec(db, create_index) < 0 || add_archive_columns(db) < 0 || add_file_columns(db) < 0 ||
	    exec(db, "CREATE INDEX IF NOT EXISTS messages_sensor_ts ON messages (sensor, ts_us)") < 0 ||
	    exec(db, "CREATE INDEX IF NOT EXISTS messages_action ON messages (sensor, action, eventid)") < 0 ||
	    review_index_sqlite(c->conn, db->err, sizeof(db->err)) < 0 || prepare_insert(db) < 0)
		goto failed;
	{
		struct stat st;

		if (stat(c->path, &st) < 0) {
			sink_db_set_error(db, c->path, "cannot stat the database file");
			goto failed;
		}
		c->dev = st.st_dev;
		c->ino = st.st_ino;
	}
	db->connected = true;
	return 0;
failed:
	sqlite_disconnect(db);
	return -1;
}

static int add_archive_columns(struct sink_db *db)
{
	char sql[128];
	bool found;
	size_t i;

	if (has_column(db, "ts_us", &found) < 0 ||
	    (!found && exec(db, "ALTER TABLE messages ADD COLUMN ts_us integer") < 0))
		return -1;
	for (i = 0; i < DB_ARCHIVE_TEXT_COLUMNS; i++) {
		if (has_column(db, db_archive_columns[i], &found) < 0)
			return -1;
		snprintf(sql, sizeof(sql), "ALTER TABLE messages ADD COLUMN %s text",
			 db_archive_columns[i]);
		if (!found && exec(db, sql) < 0)
			return -1;
	}
	return 0;
}

static int prepare_insert(struct sink_db *db)
{
	struct sqlite_ctx *c = db->ctx;
	struct bytebuf b;
	int rc;

	bytebuf_init(&b);
	if (!bytebuf_append_str(&b, insert_head) || !db_sql_archive_names(&b, "") ||
	    !db_sql_file_names(&b, "") || !bytebuf_append_str(&b, insert_values) ||
	    !db_sql_archive_params(&b, 0) || !db_sql_file_params(&b, 0) ||
	    !bytebuf_append_str(&b, ")") || !bytebuf_terminate(&b)) {
		bytebuf_free(&b);
		sink_db_set_error(db, "prepare", "out of memory");
		return -1;
	}
	rc = sqlite3_prepare_v2(c->conn, (const char *)b.data, -1, &c->insert, NULL);
	bytebuf_free(&b);
	return rc == SQLITE_OK ? 0 : fail(db, "prepare");
}

static int bind_archive(sqlite3_stmt *st, const struct db_row *r)
{
	int i;

	if (sqlite3_bind_int64(st, BASE_PARAMS + 1, r->ts_us) != SQLITE_OK)
		return -1;
	for (i = 0; i < DB_ARCHIVE_TEXT_COLUMNS; i++) {
		const char *v = db_row_text(r, (enum db_archive_column)i);
		int rc = v ? sqlite3_bind_text(st, BASE_PARAMS + 2 + i, v, -1, SQLITE_STATIC)
			   : sqlite3_bind_null(st, BASE_PARAMS + 2 + i);

		if (rc != SQLITE_OK)
			return -1;
	}
	return 0;
}

#define QUERY_MAX_COLUMNS 32

static int sqlite_query(struct sink_db *db, const char *sql, const char *const *params,
			size_t n_params, db_row_fn fn, void *arg, uint64_t *changed)
{
	struct sqlite_ctx *c = db->ctx;
	const char *cols[QUERY_MAX_COLUMNS];
	sqlite3_stmt *st;
	size_t i;
	int rc, n;

	if (sqlite3_prepare_v2(c->conn, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(db, sql);
	for (i = 0; i < n_params; i++) {
		rc = params[i] ? sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_STATIC)
			       : sqlite3_bind_null(st, (int)i + 1);
		if (rc != SQLITE_OK) {
			sqlite3_finalize(st);
			return fail(db, "bind");
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_count(st);
		if (n > QUERY_MAX_COLUMNS)
			n = QUERY_MAX_COLUMNS;
		for (i = 0; i < (size_t)n; i++)
			cols[i] = (const char *)sqlite3_column_text(st, (int)i);
		if (fn && fn(arg, cols, (size_t)n) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(db, sql);
	if (changed)
		*changed = (uint64_t)sqlite3_changes(c->conn);
	return 0;
}

static int sqlite_begin(struct sink_db *db)
{
	struct sqlite_ctx *c = db->ctx;
	struct stat st;

	if (stat(c->path, &st) < 0 || st.st_dev != c->dev || st.st_ino != c->ino) {
		sink_db_set_error(db, c->path,
				  "the database file was removed or replaced; opening it again");
		return -1;
	}
	return exec(db, "BEGIN IMMEDIATE");
}

static int sqlite_insert(struct sink_db *db, const struct db_row *r)
{
	struct sqlite_ctx *c = db->ctx;
	sqlite3_stmt *st = c->insert;
	size_t i;
	int rc;

	sqlite3_reset(st);
	if (sqlite3_bind_int64(st, 1, r->timestamp) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, r->clientaddress, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, r->protocolname, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 4, r->outgoing) != SQLITE_OK ||
	    sqlite3_bind_int(st, 5, r->type) != SQLITE_OK ||
	    sqlite3_bind_text(st, 6, r->localid, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 7, r->remoteid, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 8, r->filtered) != SQLITE_OK ||
	    /* Text, in the blob column: reports compare it with strings. */
	    sqlite3_bind_text(st, 9, r->eventdata, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 10, db->sensor, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 11, (sqlite3_int64)r->eventid) != SQLITE_OK ||
	    bind_archive(st, r) < 0)
		return fail(db, "bind");
	for (i = 0; i < DB_FILE_COLUMNS; i++)
		if (sqlite3_bind_text(st, BASE_PARAMS + 1 + DB_ARCHIVE_PARAMS + (int)i,
				      r->file[i] ? r->file[i] : "", -1,
				      SQLITE_STATIC) != SQLITE_OK)
			return fail(db, "bind");
	rc = sqlite3_step(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	fail(db, "insert");
	/* Refusals of this row, as opposed to a full disk or a lock. */
	if (rc == SQLITE_CONSTRAINT || rc == SQLITE_MISMATCH || rc == SQLITE_TOOBIG) {
		sqlite3_reset(st);
		return SINK_DB_ROW_REJECTED;
	}
	return -1;
}

static int sqlite_commit(struct sink_db *db)
{
	return exec(db, "COMMIT");
}

static int sqlite_rollback(struct sink_db *db)
{
	return exec(db, "ROLLBACK");
}

static void sqlite_destroy(struct sink_db *db)
{
	struct sqlite_ctx *c = db->ctx;

	free(c->path);
	free(c);
	db->ctx = NULL;
}

static const struct sink_db_ops sqlite_ops = {
	.name = "sqlite",
	.connect = sqlite_connect,
	.begin = sqlite_begin,
	.insert = sqlite_insert,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.query = sqlite_query,
	.disconnect = sqlite_disconnect,
	.destroy = sqlite_destroy,
};

int sink_db_sqlite_init(struct sink_db *db, const char *path, const char *sensor)
{
	struct sqlite_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->path = strdup(path);
	if (!c->path || sink_db_common_init(db, &sqlite_ops, c, sensor) < 0) {
		free(c->path);
		free(c);
		return -1;
	}
	return 0;
}
