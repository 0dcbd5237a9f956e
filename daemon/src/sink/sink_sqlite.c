/* SQLite: IMSpector's table in a local file, the default sink. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "review/review_index.h"
#include "sink/sink_db.h"
#include "util/bytebuf.h"

/* Rows per multi-row INSERT: 1, 2, 4 ... ROWS_MAX, each size prepared
 * when first used. One statement is one FTS5 segment (its savepoint
 * flushes the index: see sqlite_insert_rows), so the more rows each the
 * fewer segments to write and merge; 256 rows are 8448 parameters, well
 * within SQLite's 32766. */
#define ROWS_LOG2_MAX 8
#define ROWS_MAX ((size_t)1 << ROWS_LOG2_MAX)

struct sqlite_ctx {
	char *path;
	sqlite3 *conn;
	sqlite3_stmt *insert;
	sqlite3_stmt *insert_rows[ROWS_LOG2_MAX + 1]; /* [k]: 2^k rows; [0] unused */
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
static const char insert_values[] = ") VALUES ";
static const char row_values[] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
#define BASE_PARAMS 11
#define ROW_PARAMS (BASE_PARAMS + DB_ARCHIVE_PARAMS + DB_FILE_COLUMNS)

/* The archive's columns on an older table (IMSpector's, or imwire's
 * before them), one by one: SQLite has no ADD COLUMN IF NOT EXISTS. */
static int add_archive_columns(struct sink_db *db);
static int prepare_insert(struct sink_db *db, size_t rows, sqlite3_stmt **st);

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
	size_t k;

	if (c->insert)
		sqlite3_finalize(c->insert);
	for (k = 0; k <= ROWS_LOG2_MAX; k++) {
		if (c->insert_rows[k])
			sqlite3_finalize(c->insert_rows[k]);
		c->insert_rows[k] = NULL;
	}
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
	    review_index_sqlite(c->conn, db->err, sizeof(db->err)) < 0 ||
	    prepare_insert(db, 1, &c->insert) < 0)
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

/* The INSERT of `rows` rows, ROW_PARAMS placeholders each, in order. */
static int prepare_insert(struct sink_db *db, size_t rows, sqlite3_stmt **st)
{
	struct sqlite_ctx *c = db->ctx;
	struct bytebuf b;
	bool ok;
	size_t i;
	int rc;

	bytebuf_init(&b);
	ok = bytebuf_append_str(&b, insert_head) && db_sql_archive_names(&b, "") &&
	     db_sql_file_names(&b, "") && bytebuf_append_str(&b, insert_values);
	for (i = 0; ok && i < rows; i++)
		ok = (i == 0 || bytebuf_append_str(&b, ", ")) && bytebuf_append_str(&b, row_values) &&
		     db_sql_archive_params(&b, 0) && db_sql_file_params(&b, 0) &&
		     bytebuf_append_str(&b, ")");
	if (!ok || !bytebuf_terminate(&b)) {
		bytebuf_free(&b);
		sink_db_set_error(db, "prepare", "out of memory");
		return -1;
	}
	rc = sqlite3_prepare_v2(c->conn, (const char *)b.data, -1, st, NULL);
	bytebuf_free(&b);
	return rc == SQLITE_OK ? 0 : fail(db, "prepare");
}

static int bind_archive(sqlite3_stmt *st, int base, const struct db_row *r)
{
	int i;

	if (sqlite3_bind_int64(st, base + BASE_PARAMS + 1, r->ts_us) != SQLITE_OK)
		return -1;
	for (i = 0; i < DB_ARCHIVE_TEXT_COLUMNS; i++) {
		const char *v = db_row_text(r, (enum db_archive_column)i);
		int rc = v ? sqlite3_bind_text(st, base + BASE_PARAMS + 2 + i, v, -1, SQLITE_STATIC)
			   : sqlite3_bind_null(st, base + BASE_PARAMS + 2 + i);

		if (rc != SQLITE_OK)
			return -1;
	}
	return 0;
}

/* Row r's values into placeholders base + 1 ... base + ROW_PARAMS. */
static int bind_row(sqlite3_stmt *st, int base, const char *sensor, const struct db_row *r)
{
	size_t i;

	if (sqlite3_bind_int64(st, base + 1, r->timestamp) != SQLITE_OK ||
	    sqlite3_bind_text(st, base + 2, r->clientaddress, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, base + 3, r->protocolname, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, base + 4, r->outgoing) != SQLITE_OK ||
	    sqlite3_bind_int(st, base + 5, r->type) != SQLITE_OK ||
	    sqlite3_bind_text(st, base + 6, r->localid, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, base + 7, r->remoteid, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, base + 8, r->filtered) != SQLITE_OK ||
	    /* Text, in the blob column: reports compare it with strings. */
	    sqlite3_bind_text(st, base + 9, r->eventdata, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, base + 10, sensor, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, base + 11, (sqlite3_int64)r->eventid) != SQLITE_OK ||
	    bind_archive(st, base, r) < 0)
		return -1;
	for (i = 0; i < DB_FILE_COLUMNS; i++)
		if (sqlite3_bind_text(st, base + BASE_PARAMS + 1 + DB_ARCHIVE_PARAMS + (int)i,
				      r->file[i] ? r->file[i] : "", -1,
				      SQLITE_STATIC) != SQLITE_OK)
			return -1;
	return 0;
}

/* A refusal of the statement's rows, as opposed to a full disk or a lock. */
static bool row_refused(int rc)
{
	return rc == SQLITE_CONSTRAINT || rc == SQLITE_MISMATCH || rc == SQLITE_TOOBIG;
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
	int rc;

	sqlite3_reset(st);
	if (bind_row(st, 0, db->sensor, r) < 0)
		return fail(db, "bind");
	rc = sqlite3_step(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	fail(db, "insert");
	if (row_refused(rc)) {
		sqlite3_reset(st);
		return SINK_DB_ROW_REJECTED;
	}
	return -1;
}

/* Why several rows a statement: the table's trigger feeds the FTS5 index,
 * which makes the INSERT a statement transaction, and FTS5 writes its
 * pending terms out as a new segment at every statement savepoint
 * (SQLite 3.40's fts5SavepointMethod). One row a statement was one
 * segment a row, written and merged again: most of the time of a batch.
 * The rows, their ids (given in order) and what the index answers are
 * the same; only how its segments are cut differs. A refused row undoes
 * its whole statement (the statement transaction), nothing else. */
static int sqlite_insert_rows(struct sink_db *db, const struct db_row *rows, size_t n,
			      size_t *stored)
{
	struct sqlite_ctx *c = db->ctx;
	size_t k, m, j;
	int rc;

	*stored = 0;
	while (*stored < n) {
		sqlite3_stmt *st;

		for (k = ROWS_LOG2_MAX; k > 0 && ((size_t)1 << k) > n - *stored; k--)
			;
		if (k == 0) {
			rc = sqlite_insert(db, &rows[*stored]);
			if (rc == 0)
				++*stored;
			return rc;
		}
		m = (size_t)1 << k;
		if (!c->insert_rows[k] && prepare_insert(db, m, &c->insert_rows[k]) < 0)
			return -1;
		st = c->insert_rows[k];
		sqlite3_reset(st);
		for (j = 0; j < m; j++)
			if (bind_row(st, (int)(j * ROW_PARAMS), db->sensor, &rows[*stored + j]) < 0)
				return fail(db, "bind");
		rc = sqlite3_step(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE) {
			fail(db, "insert");
			sqlite3_reset(st);
			return row_refused(rc) ? SINK_DB_ROW_REJECTED : -1;
		}
		*stored += m;
	}
	return 0;
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
	.insert_rows = sqlite_insert_rows,
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
