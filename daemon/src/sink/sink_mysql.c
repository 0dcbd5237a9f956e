/* MariaDB/MySQL through libmariadb, with a prepared insert. Reads and
 * writes on the connection have time limits, so a server that stops
 * answering becomes a failure the writer can spool around. */
#include <mysql.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "review/review_index.h"
#include "sink/sink_db.h"
#include "util/bytebuf.h"

/* Client-side errors (CR_*) are 2000..2999: the connection, not the row. */
#define CLIENT_ERROR_FIRST 2000
#define CLIENT_ERROR_LAST 2999

struct mysql_ctx {
	char *host; /* NULL with a socket path */
	char *socket;
	unsigned port;
	char *database;
	char *user;
	char *password;
	MYSQL *conn;
	MYSQL_STMT *insert;
};

static const char create_table[] =
	"CREATE TABLE IF NOT EXISTS `messages` ("
	" `id` int(11) NOT NULL auto_increment,"
	" `timestamp` int(11) NOT NULL default '0',"
	" `clientaddress` text NOT NULL,"
	" `protocolname` text NOT NULL,"
	" `outgoing` int(11) NOT NULL default '0',"
	" `type` int(11) NOT NULL default '0',"
	" `localid` text NOT NULL,"
	" `remoteid` text NOT NULL,"
	" `filtered` int(11) NOT NULL default '0',"
	" `eventdata` blob NOT NULL,"
	" `sensor` varchar(64) NOT NULL default '',"
	" `eventid` bigint,"
	" PRIMARY KEY (`id`),"
	" UNIQUE KEY `messages_sensor_eventid` (`sensor`, `eventid`)"
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

/* An IMSpector table from before imwire lacks sensor and eventid (MariaDB
 * syntax; IMSpector's MyISAM table keeps working, without atomic batches). */
static const char upgrade_table[] =
	"ALTER TABLE `messages` ADD COLUMN IF NOT EXISTS `sensor` varchar(64) NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `eventid` bigint,"
	/* imwire's file columns (sink_db.h; a file result's categories are
	 * the archive's column) */
	" ADD COLUMN IF NOT EXISTS `filestate` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filebytes` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filesha256` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filemime` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filescan` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filesignature` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filegapbytes` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filestored` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filedataflow` text NOT NULL default ''";

static const char create_index[] = "CREATE UNIQUE INDEX IF NOT EXISTS `messages_sensor_eventid`"
				   " ON `messages` (`sensor`, `eventid`)";

static const char insert_head[] =
	"INSERT IGNORE INTO `messages` (`timestamp`, `clientaddress`, `protocolname`, `outgoing`,"
	" `type`, `localid`, `remoteid`, `filtered`, `eventdata`, `sensor`, `eventid`";
static const char insert_values[] = ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
#define BASE_PARAMS 11
#define FILE_PARAM0 (BASE_PARAMS + DB_ARCHIVE_PARAMS)
#define ALL_PARAMS (FILE_PARAM0 + DB_FILE_COLUMNS)

static int add_archive_columns(struct sink_db *db);
static int prepare_insert(struct sink_db *db);

static bool is_connection_error(unsigned err)
{
	/* Server shutdown, killed connection or query, lock waits: transient. */
	return (err >= CLIENT_ERROR_FIRST && err <= CLIENT_ERROR_LAST) || err == 1053 ||
	       err == 1927 || err == 1317 || err == 1205 || err == 1213 || err == 0;
}

static int fail(struct sink_db *db, const char *what)
{
	struct mysql_ctx *c = db->ctx;

	sink_db_set_error(db, what, c->conn ? mysql_error(c->conn) : "out of memory");
	return -1;
}

static int exec(struct sink_db *db, const char *sql)
{
	struct mysql_ctx *c = db->ctx;
	MYSQL_RES *res;

	if (mysql_query(c->conn, sql) != 0)
		return fail(db, sql);
	res = mysql_store_result(c->conn);
	if (res)
		mysql_free_result(res);
	else if (mysql_field_count(c->conn) != 0)
		return fail(db, sql);
	return 0;
}

static void mysink_disconnect(struct sink_db *db)
{
	struct mysql_ctx *c = db->ctx;

	if (c->insert)
		mysql_stmt_close(c->insert);
	if (c->conn)
		mysql_close(c->conn); /* the server rolls back what was open */
	c->insert = NULL;
	c->conn = NULL;
	db->connected = false;
}

static int mysink_connect(struct sink_db *db)
{
	struct mysql_ctx *c = db->ctx;
	unsigned timeout = db->timeout_s;

	c->conn = mysql_init(NULL);
	if (!c->conn) {
		sink_db_set_error(db, "connect", "out of memory");
		return -1;
	}
	mysql_options(c->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(c->conn, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(c->conn, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_options(c->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(c->conn, c->host, c->user, c->password, c->database, c->port,
				c->socket, 0)) {
		fail(db, "connect");
		goto failed;
	}
	if (exec(db, "SELECT GET_LOCK('imwire_setup', 10)") < 0 || exec(db, create_table) < 0 ||
	    exec(db, upgrade_table) < 0 || exec(db, create_index) < 0 ||
	    add_archive_columns(db) < 0 ||
	    /* retention's queries (sink_db_purge.c) */
	    exec(db, "CREATE INDEX IF NOT EXISTS `messages_sensor_ts` ON `messages` (`sensor`, `ts_us`)") < 0 ||
	    exec(db, "CREATE INDEX IF NOT EXISTS `messages_action` ON `messages`"
		     " (`sensor`, `action`(16), `eventid`)") < 0 ||
	    review_index_mysql(c->conn, db->err, sizeof(db->err)) < 0 ||
	    exec(db, "SELECT RELEASE_LOCK('imwire_setup')") < 0 || prepare_insert(db) < 0)
		goto failed;
	db->connected = true;
	return 0;
failed:
	mysink_disconnect(db);
	return -1;
}

static int add_archive_columns(struct sink_db *db)
{
	struct bytebuf b;
	int rc = -1;

	bytebuf_init(&b);
	if (db_sql_archive_add(&b, "`", "text"))
		rc = exec(db, (const char *)b.data);
	else
		sink_db_set_error(db, "alter table", "out of memory");
	bytebuf_free(&b);
	return rc;
}

static int prepare_insert(struct sink_db *db)
{
	struct mysql_ctx *c = db->ctx;
	struct bytebuf b;
	int rc = -1;

	bytebuf_init(&b);
	c->insert = mysql_stmt_init(c->conn);
	if (!c->insert)
		fail(db, "prepare");
	else if (!bytebuf_append_str(&b, insert_head) || !db_sql_archive_names(&b, "`") ||
		 !db_sql_file_names(&b, "`") || !bytebuf_append_str(&b, insert_values) ||
		 !db_sql_archive_params(&b, 0) || !db_sql_file_params(&b, 0) ||
		 !bytebuf_append_str(&b, ")") || !bytebuf_terminate(&b))
		sink_db_set_error(db, "prepare", "out of memory");
	else if (mysql_stmt_prepare(c->insert, (const char *)b.data, (unsigned long)b.len) != 0)
		sink_db_set_error(db, "prepare", mysql_stmt_error(c->insert));
	else
		rc = 0;
	bytebuf_free(&b);
	return rc;
}

#define QUERY_MAX_COLUMNS 32

/* The statement with each "?" replaced by its parameter as a quoted,
 * escaped literal (or NULL). */
static bool inline_params(struct mysql_ctx *c, struct bytebuf *b, const char *sql,
			  const char *const *params, size_t n_params)
{
	size_t k = 0, len;

	for (; *sql; sql++) {
		if (*sql != '?' || k >= n_params) {
			if (!bytebuf_append_byte(b, (uint8_t)*sql))
				return false;
			continue;
		}
		if (!params[k]) {
			if (!bytebuf_append_str(b, "NULL"))
				return false;
			k++;
			continue;
		}
		len = strlen(params[k]);
		if (len > (SIZE_MAX - 3) / 2 || !bytebuf_reserve(b, 2 * len + 3))
			return false;
		b->data[b->len++] = '\'';
		b->len += mysql_real_escape_string(c->conn, (char *)b->data + b->len, params[k],
						   (unsigned long)len);
		b->data[b->len++] = '\'';
		k++;
	}
	return bytebuf_terminate(b);
}

static int mysink_query(struct sink_db *db, const char *sql, const char *const *params,
			size_t n_params, db_row_fn fn, void *arg, uint64_t *changed)
{
	struct mysql_ctx *c = db->ctx;
	const char *cols[QUERY_MAX_COLUMNS];
	MYSQL_RES *res;
	MYSQL_ROW row;
	struct bytebuf b;
	unsigned i, n;
	bool stop = false;

	bytebuf_init(&b);
	if (!inline_params(c, &b, sql, params, n_params)) {
		bytebuf_free(&b);
		sink_db_set_error(db, "query", "out of memory");
		return -1;
	}
	if (mysql_real_query(c->conn, (const char *)b.data, (unsigned long)b.len) != 0) {
		bytebuf_free(&b);
		return fail(db, sql);
	}
	bytebuf_free(&b);
	res = mysql_use_result(c->conn);
	if (!res) {
		if (mysql_field_count(c->conn) != 0)
			return fail(db, sql);
		if (changed)
			*changed = (uint64_t)mysql_affected_rows(c->conn);
		return 0;
	}
	n = mysql_num_fields(res) < QUERY_MAX_COLUMNS ? mysql_num_fields(res) : QUERY_MAX_COLUMNS;
	while ((row = mysql_fetch_row(res))) {
		for (i = 0; i < n; i++)
			cols[i] = row[i];
		if (!stop && fn && fn(arg, cols, n) != 0)
			stop = true; /* the rest is fetched and dropped */
	}
	i = mysql_errno(c->conn);
	mysql_free_result(res);
	return i ? fail(db, sql) : 0;
}

static int mysink_begin(struct sink_db *db)
{
	return exec(db, "START TRANSACTION");
}

static void bind_text(MYSQL_BIND *b, const char *s, unsigned long *len)
{
	*len = (unsigned long)strlen(s);
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)(uintptr_t)s; /* read only: the API is not const */
	b->buffer_length = *len;
	b->length = len;
}

static void bind_int(MYSQL_BIND *b, long long *v)
{
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
}

static int mysink_insert(struct sink_db *db, const struct db_row *r)
{
	struct mysql_ctx *c = db->ctx;
	MYSQL_BIND b[ALL_PARAMS];
	unsigned long lens[ALL_PARAMS];
	long long ts = r->timestamp, outgoing = r->outgoing, type = r->type,
		  filtered = r->filtered, eventid = (long long)r->eventid, ts_us = r->ts_us;
	my_bool null = 1;
	int i;

	memset(b, 0, sizeof(b));
	bind_int(&b[0], &ts);
	bind_text(&b[1], r->clientaddress, &lens[1]);
	bind_text(&b[2], r->protocolname, &lens[2]);
	bind_int(&b[3], &outgoing);
	bind_int(&b[4], &type);
	bind_text(&b[5], r->localid, &lens[5]);
	bind_text(&b[6], r->remoteid, &lens[6]);
	bind_int(&b[7], &filtered);
	bind_text(&b[8], r->eventdata, &lens[8]);
	b[8].buffer_type = MYSQL_TYPE_BLOB;
	bind_text(&b[9], db->sensor, &lens[9]);
	bind_int(&b[10], &eventid);
	bind_int(&b[BASE_PARAMS], &ts_us);
	for (i = 0; i < DB_ARCHIVE_TEXT_COLUMNS; i++) {
		const char *v = db_row_text(r, (enum db_archive_column)i);
		MYSQL_BIND *bi = &b[BASE_PARAMS + 1 + i];

		if (v) {
			bind_text(bi, v, &lens[BASE_PARAMS + 1 + i]);
		} else {
			bi->buffer_type = MYSQL_TYPE_NULL;
			bi->is_null = &null;
		}
	}
	for (i = 0; i < DB_FILE_COLUMNS; i++)
		bind_text(&b[FILE_PARAM0 + i], r->file[i] ? r->file[i] : "", &lens[FILE_PARAM0 + i]);
	if (mysql_stmt_bind_param(c->insert, b) == 0 && mysql_stmt_execute(c->insert) == 0)
		return 0;
	sink_db_set_error(db, "insert", mysql_stmt_error(c->insert));
	return is_connection_error(mysql_stmt_errno(c->insert)) ? -1 : SINK_DB_ROW_REJECTED;
}

static int mysink_commit(struct sink_db *db)
{
	struct mysql_ctx *c = db->ctx;

	return mysql_commit(c->conn) == 0 ? 0 : fail(db, "commit");
}

static int mysink_rollback_tx(struct sink_db *db)
{
	struct mysql_ctx *c = db->ctx;

	return mysql_rollback(c->conn) == 0 ? 0 : fail(db, "rollback");
}

static void mysink_destroy(struct sink_db *db)
{
	struct mysql_ctx *c = db->ctx;

	free(c->host);
	free(c->socket);
	free(c->database);
	free(c->user);
	free(c->password);
	free(c);
	db->ctx = NULL;
}

static const struct sink_db_ops mysql_ops = {
	.name = "mysql",
	.connect = mysink_connect,
	.begin = mysink_begin,
	.insert = mysink_insert,
	.commit = mysink_commit,
	.rollback = mysink_rollback_tx,
	.query = mysink_query,
	.disconnect = mysink_disconnect,
	.destroy = mysink_destroy,
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int sink_db_mysql_init(struct sink_db *db, const char *server, const char *database,
		       const char *user, const char *password, const char *sensor)
{
	struct mysql_ctx *c = calloc(1, sizeof(*c));
	const char *colon;
	char *end;

	if (!c)
		return -1;
	if (!server || !*server)
		server = "localhost";
	if (server[0] == '/') {
		c->socket = strdup(server);
	} else if ((colon = strrchr(server, ':')) && colon[1]) {
		c->port = (unsigned)strtoul(colon + 1, &end, 10);
		c->host = *end ? strdup(server) : strndup(server, (size_t)(colon - server));
		if (*end)
			c->port = 0;
	} else {
		c->host = strdup(server);
	}
	c->database = dup_or_null(database);
	c->user = dup_or_null(user);
	c->password = dup_or_null(password);
	if ((!c->host && !c->socket) || (database && !c->database) || (user && !c->user) ||
	    (password && !c->password) || sink_db_common_init(db, &mysql_ops, c, sensor) < 0) {
		mysink_destroy(&(struct sink_db){ .ctx = c });
		return -1;
	}
	return 0;
}
