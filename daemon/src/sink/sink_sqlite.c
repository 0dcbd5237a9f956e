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
	/* A batch's rows in one INSERT ... SELECT from the connection's own
	 * table of them (sqlite_insert_rows): `rows` while it runs. */
	sqlite3_stmt *insert_rows;
	const struct db_row *rows;
	size_t n_rows;
	const char *sensor;
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
#define ROW_PARAMS (BASE_PARAMS + DB_ARCHIVE_PARAMS + DB_FILE_COLUMNS)

/* The batch's rows as a table of this connection only (an eponymous
 * virtual table: nothing of it is in the file). */
#define ROWS_TABLE "imwire_sink_rows"

/* The archive's columns on an older table (IMSpector's, or imwire's
 * before them), one by one: SQLite has no ADD COLUMN IF NOT EXISTS. */
static int add_archive_columns(struct sink_db *db);
static int prepare_insert(struct sink_db *db);
static int rows_module(struct sink_db *db);

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
	if (c->insert_rows)
		sqlite3_finalize(c->insert_rows);
	if (c->conn)
		sqlite3_close(c->conn); /* an open transaction is rolled back */
	c->insert = NULL;
	c->insert_rows = NULL;
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
	    rows_module(db) < 0 || prepare_insert(db) < 0)
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

/* The one-row INSERT (placeholders) and the batch's (from ROWS_TABLE),
 * the same columns in the same order. */
static int prepare_insert(struct sink_db *db)
{
	struct sqlite_ctx *c = db->ctx;
	struct bytebuf b, many;
	int rc;

	bytebuf_init(&b);
	bytebuf_init(&many);
	if (!bytebuf_append_str(&b, insert_head) || !db_sql_archive_names(&b, "") ||
	    !db_sql_file_names(&b, "") || !bytebuf_append(&many, b.data, b.len) ||
	    !bytebuf_append_str(&many, ") SELECT * FROM " ROWS_TABLE) || !bytebuf_terminate(&many) ||
	    !bytebuf_append_str(&b, insert_values) || !db_sql_archive_params(&b, 0) ||
	    !db_sql_file_params(&b, 0) || !bytebuf_append_str(&b, ")") || !bytebuf_terminate(&b)) {
		bytebuf_free(&b);
		bytebuf_free(&many);
		sink_db_set_error(db, "prepare", "out of memory");
		return -1;
	}
	rc = sqlite3_prepare_v2(c->conn, (const char *)b.data, -1, &c->insert, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->conn, (const char *)many.data, -1, &c->insert_rows, NULL);
	bytebuf_free(&b);
	bytebuf_free(&many);
	return rc == SQLITE_OK ? 0 : fail(db, "prepare");
}

/* Column j (0 .. ROW_PARAMS - 1, the INSERT's order) of row r: an
 * integer, a text, or NULL. One place for both ways rows go in. */
struct row_value {
	enum { VALUE_INT, VALUE_TEXT, VALUE_NULL } kind;
	sqlite3_int64 i;
	const char *s;
};

static struct row_value row_value(const struct db_row *r, const char *sensor, int j)
{
	struct row_value v = { VALUE_TEXT, 0, NULL };
	const char *const text[BASE_PARAMS] = {
		[1] = r->clientaddress, [2] = r->protocolname, [5] = r->localid,
		[6] = r->remoteid,
		/* Text, in the blob column: reports compare it with strings. */
		[8] = r->eventdata, [9] = sensor,
	};

	switch (j) {
	case 0: v.kind = VALUE_INT; v.i = r->timestamp; return v;
	case 3: v.kind = VALUE_INT; v.i = r->outgoing; return v;
	case 4: v.kind = VALUE_INT; v.i = r->type; return v;
	case 7: v.kind = VALUE_INT; v.i = r->filtered; return v;
	case 10: v.kind = VALUE_INT; v.i = (sqlite3_int64)r->eventid; return v;
	case BASE_PARAMS: v.kind = VALUE_INT; v.i = r->ts_us; return v;
	default: break;
	}
	if (j < BASE_PARAMS) {
		v.s = text[j];
	} else if (j < BASE_PARAMS + DB_ARCHIVE_PARAMS) {
		v.s = db_row_text(r, (enum db_archive_column)(j - BASE_PARAMS - 1));
		if (!v.s)
			v.kind = VALUE_NULL;
	} else {
		v.s = r->file[j - BASE_PARAMS - DB_ARCHIVE_PARAMS];
		if (!v.s)
			v.s = "";
	}
	return v;
}

/* Row r's values into the one-row INSERT's placeholders. */
static int bind_row(sqlite3_stmt *st, const char *sensor, const struct db_row *r)
{
	int j, rc;

	for (j = 0; j < ROW_PARAMS; j++) {
		struct row_value v = row_value(r, sensor, j);

		if (v.kind == VALUE_INT)
			rc = sqlite3_bind_int64(st, j + 1, v.i);
		else if (v.kind == VALUE_TEXT)
			rc = sqlite3_bind_text(st, j + 1, v.s, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(st, j + 1);
		if (rc != SQLITE_OK)
			return -1;
	}
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
	if (bind_row(st, db->sensor, r) < 0)
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

/* Why a batch in one statement: the table's trigger feeds the FTS5
 * index, which makes each INSERT a statement transaction, and FTS5
 * writes its pending terms out as a new segment at every statement
 * savepoint (SQLite 3.40's fts5SavepointMethod). One row a statement was
 * one segment a row, written and merged again: some 40% of the sink
 * thread's time (issue 23).
 * The rows come from ROWS_TABLE in order, so their ids, their values
 * (the same calls as the binds, row_value) and what the index answers
 * are the same; only how its segments are cut differs. A refused row
 * undoes the statement (its statement transaction), nothing else. */
static int sqlite_insert_rows(struct sink_db *db, const struct db_row *rows, size_t n,
			      size_t *stored)
{
	struct sqlite_ctx *c = db->ctx;
	sqlite3_stmt *st = c->insert_rows;
	int rc;

	*stored = 0;
	sqlite3_reset(st);
	c->rows = rows;
	c->n_rows = n;
	c->sensor = db->sensor;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		fail(db, "insert"); /* the message, before reset */
	sqlite3_reset(st);
	c->rows = NULL;
	c->n_rows = 0;
	if (rc == SQLITE_DONE) {
		*stored = n;
		return 0;
	}
	return row_refused(rc) ? SINK_DB_ROW_REJECTED : -1;
}

/* ---- ROWS_TABLE: the batch's rows, one column per INSERT column ---- */

struct rows_cursor {
	sqlite3_vtab_cursor base;
	const struct sqlite_ctx *c;
	size_t i;
};

struct rows_vtab {
	sqlite3_vtab base;
	const struct sqlite_ctx *c;
};

static int rows_connect(sqlite3 *conn, void *aux, int argc, const char *const *argv,
			sqlite3_vtab **out, char **err)
{
	struct rows_vtab *t;
	char sql[16 + ROW_PARAMS * 6];
	size_t len = 0;
	int j, rc;

	(void)argc;
	(void)argv;
	(void)err;
	memcpy(sql, "CREATE TABLE x(", 15);
	len = 15;
	for (j = 0; j < ROW_PARAMS; j++) {
		/* c0, c1 ...: the SELECT takes them by position. */
		sql[len++] = j ? ',' : ' ';
		sql[len++] = 'c';
		if (j >= 10)
			sql[len++] = (char)('0' + j / 10);
		sql[len++] = (char)('0' + j % 10);
	}
	sql[len++] = ')';
	sql[len] = '\0';
	rc = sqlite3_declare_vtab(conn, sql);
	if (rc != SQLITE_OK)
		return rc;
	t = sqlite3_malloc(sizeof(*t));
	if (!t)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof(*t));
	t->c = aux;
	*out = &t->base;
	return SQLITE_OK;
}

static int rows_disconnect(sqlite3_vtab *vt)
{
	sqlite3_free(vt);
	return SQLITE_OK;
}

static int rows_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	(void)vt;
	info->estimatedCost = 1000;
	info->estimatedRows = 1000;
	return SQLITE_OK;
}

static int rows_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct rows_cursor *cur = sqlite3_malloc(sizeof(*cur));

	if (!cur)
		return SQLITE_NOMEM;
	memset(cur, 0, sizeof(*cur));
	cur->c = ((struct rows_vtab *)vt)->c;
	*out = &cur->base;
	return SQLITE_OK;
}

static int rows_close(sqlite3_vtab_cursor *cur)
{
	sqlite3_free(cur);
	return SQLITE_OK;
}

static int rows_filter(sqlite3_vtab_cursor *cur, int idx, const char *idx_str, int argc,
		       sqlite3_value **argv)
{
	(void)idx;
	(void)idx_str;
	(void)argc;
	(void)argv;
	((struct rows_cursor *)cur)->i = 0;
	return SQLITE_OK;
}

static int rows_next(sqlite3_vtab_cursor *cur)
{
	((struct rows_cursor *)cur)->i++;
	return SQLITE_OK;
}

static int rows_eof(sqlite3_vtab_cursor *vc)
{
	const struct rows_cursor *cur = (const struct rows_cursor *)vc;

	return cur->i >= cur->c->n_rows;
}

static int rows_column(sqlite3_vtab_cursor *vc, sqlite3_context *ctx, int j)
{
	const struct rows_cursor *cur = (const struct rows_cursor *)vc;
	struct row_value v = row_value(&cur->c->rows[cur->i], cur->c->sensor, j);

	if (v.kind == VALUE_INT)
		sqlite3_result_int64(ctx, v.i);
	else if (v.kind == VALUE_TEXT)
		sqlite3_result_text(ctx, v.s, -1, SQLITE_STATIC);
	else
		sqlite3_result_null(ctx);
	return SQLITE_OK;
}

static int rows_rowid(sqlite3_vtab_cursor *vc, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((const struct rows_cursor *)vc)->i;
	return SQLITE_OK;
}

/* Eponymous only (no xCreate): no CREATE VIRTUAL TABLE, nothing stored. */
static const sqlite3_module rows_methods = {
	.xConnect = rows_connect,
	.xBestIndex = rows_best_index,
	.xDisconnect = rows_disconnect,
	.xOpen = rows_open,
	.xClose = rows_close,
	.xFilter = rows_filter,
	.xNext = rows_next,
	.xEof = rows_eof,
	.xColumn = rows_column,
	.xRowid = rows_rowid,
};

static int rows_module(struct sink_db *db)
{
	struct sqlite_ctx *c = db->ctx;

	return sqlite3_create_module_v2(c->conn, ROWS_TABLE, &rows_methods, c, NULL) == SQLITE_OK
		       ? 0
		       : fail(db, "module");
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
