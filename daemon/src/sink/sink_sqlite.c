/* SQLite: IMSpector's table in a local file, the default sink. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "review/review_index.h"
#include "sink/sink_db.h"

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

static const char insert_sql[] =
	"INSERT OR IGNORE INTO messages (timestamp, clientaddress, protocolname, outgoing, type,"
	" localid, remoteid, filtered, eventdata, sensor, eventid, filestate, filebytes,"
	" filesha256, filemime, filescan, filesignature, categories, filegapbytes, filestored,"
	" filedataflow)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

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
	if (exec(db, "PRAGMA journal_mode=WAL") < 0 || exec(db, create_table) < 0 ||
	    has_column(db, "sensor", &found) < 0 ||
	    (!found && exec(db, "ALTER TABLE messages ADD COLUMN sensor text NOT NULL DEFAULT ''") < 0) ||
	    has_column(db, "eventid", &found) < 0 ||
	    (!found && exec(db, "ALTER TABLE messages ADD COLUMN eventid integer") < 0) ||
	    add_file_columns(db) < 0 || exec(db, create_index) < 0 ||
	    review_index_sqlite(c->conn, db->err, sizeof(db->err)) < 0)
		goto failed;
	if (sqlite3_prepare_v2(c->conn, insert_sql, -1, &c->insert, NULL) != SQLITE_OK) {
		fail(db, "prepare");
		goto failed;
	}
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
	    sqlite3_bind_int64(st, 11, (sqlite3_int64)r->eventid) != SQLITE_OK)
		return fail(db, "bind");
	for (i = 0; i < DB_FILE_COLUMNS; i++)
		if (sqlite3_bind_text(st, 12 + (int)i, r->file[i] ? r->file[i] : "", -1,
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
