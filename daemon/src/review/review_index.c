#include "review/review_index.h"

#include <libpq-fe.h>
#include <mysql.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static void set_err(char *err, size_t size, const char *sql, const char *detail)
{
	char *nl;

	snprintf(err, size, "review index: %.60s: %s", sql, detail ? detail : "unknown error");
	while ((nl = strchr(err, '\n')))
		*nl = nl[1] ? ' ' : '\0';
}

static const char *const sqlite_sql[] = {
	"CREATE INDEX IF NOT EXISTS messages_timestamp ON messages (timestamp)",
	"CREATE INDEX IF NOT EXISTS messages_localid ON messages (localid, timestamp)",
	"CREATE INDEX IF NOT EXISTS messages_remoteid ON messages (remoteid, timestamp)",
	("CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(eventdata,"
	 " content='messages', content_rowid='id')"),
	("CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN"
	 " INSERT INTO messages_fts (rowid, eventdata) VALUES (new.id, new.eventdata); END"),
	("CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN"
	 " INSERT INTO messages_fts (messages_fts, rowid, eventdata)"
	 " VALUES ('delete', old.id, old.eventdata); END"),
	("CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE ON messages BEGIN"
	 " INSERT INTO messages_fts (messages_fts, rowid, eventdata)"
	 " VALUES ('delete', old.id, old.eventdata);"
	 " INSERT INTO messages_fts (rowid, eventdata) VALUES (new.id, new.eventdata); END"),
};

static int sqlite_has_fts(sqlite3 *db, int *has)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	*has = rc == SQLITE_ROW;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int review_index_sqlite(sqlite3 *db, char *err, size_t err_size)
{
	size_t i;
	int had;

	if (sqlite_has_fts(db, &had) < 0) {
		set_err(err, err_size, "sqlite_master", sqlite3_errmsg(db));
		return -1;
	}
	for (i = 0; i < sizeof(sqlite_sql) / sizeof(sqlite_sql[0]); i++)
		if (sqlite3_exec(db, sqlite_sql[i], NULL, NULL, NULL) != SQLITE_OK) {
			set_err(err, err_size, sqlite_sql[i], sqlite3_errmsg(db));
			return -1;
		}
	/* A table written before the index existed (IMSpector's, an older
	 * imwire's): index what is there once. */
	if (!had && sqlite3_exec(db, "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')", NULL,
				 NULL, NULL) != SQLITE_OK) {
		set_err(err, err_size, "fts rebuild", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static const char *const pgsql_sql[] = {
	"CREATE INDEX IF NOT EXISTS messages_timestamp ON messages (\"timestamp\")",
	"CREATE INDEX IF NOT EXISTS messages_localid ON messages (localid, \"timestamp\")",
	"CREATE INDEX IF NOT EXISTS messages_remoteid ON messages (remoteid, \"timestamp\")",
	/* The same expression as the reader's (review/archive_sql.c). */
	("CREATE INDEX IF NOT EXISTS messages_fts ON messages"
	 " USING GIN (to_tsvector('simple', coalesce(eventdata, '')))"),
};

int review_index_pgsql(PGconn *conn, char *err, size_t err_size)
{
	size_t i;

	for (i = 0; i < sizeof(pgsql_sql) / sizeof(pgsql_sql[0]); i++) {
		PGresult *res = PQexec(conn, pgsql_sql[i]);
		int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;

		if (!ok)
			set_err(err, err_size, pgsql_sql[i],
				res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		PQclear(res);
		if (!ok)
			return -1;
	}
	return 0;
}

static const char *const mysql_sql[] = {
	"CREATE INDEX IF NOT EXISTS `messages_timestamp` ON `messages` (`timestamp`)",
	"CREATE INDEX IF NOT EXISTS `messages_localid` ON `messages` (`localid`(64), `timestamp`)",
	"CREATE INDEX IF NOT EXISTS `messages_remoteid` ON `messages` (`remoteid`(64), `timestamp`)",
	("ALTER TABLE `messages` ADD COLUMN IF NOT EXISTS `eventtext` mediumtext"
	 " AS (CONVERT(`eventdata` USING utf8mb4)) STORED"),
	"CREATE FULLTEXT INDEX IF NOT EXISTS `messages_fts` ON `messages` (`eventtext`)",
};

int review_index_mysql(MYSQL *conn, char *err, size_t err_size)
{
	size_t i;

	for (i = 0; i < sizeof(mysql_sql) / sizeof(mysql_sql[0]); i++) {
		MYSQL_RES *res;

		if (mysql_query(conn, mysql_sql[i]) != 0) {
			set_err(err, err_size, mysql_sql[i], mysql_error(conn));
			return -1;
		}
		res = mysql_store_result(conn);
		if (res)
			mysql_free_result(res);
	}
	return 0;
}
