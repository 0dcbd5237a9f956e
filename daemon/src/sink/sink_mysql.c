/* MariaDB/MySQL through libmariadb, with a prepared insert. Reads and
 * writes on the connection have time limits, so a server that stops
 * answering becomes a failure the writer can spool around. */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "review/review_index.h"
#include "sink/sink_db.h"

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
	/* imwire's file columns (sink_db.h) */
	" ADD COLUMN IF NOT EXISTS `filestate` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filebytes` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filesha256` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filemime` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filescan` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filesignature` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `categories` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filegapbytes` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filestored` text NOT NULL default '',"
	" ADD COLUMN IF NOT EXISTS `filedataflow` text NOT NULL default ''";

static const char create_index[] = "CREATE UNIQUE INDEX IF NOT EXISTS `messages_sensor_eventid`"
				   " ON `messages` (`sensor`, `eventid`)";

static const char insert_sql[] =
	"INSERT IGNORE INTO `messages` (`timestamp`, `clientaddress`, `protocolname`, `outgoing`,"
	" `type`, `localid`, `remoteid`, `filtered`, `eventdata`, `sensor`, `eventid`, `filestate`,"
	" `filebytes`, `filesha256`, `filemime`, `filescan`, `filesignature`, `categories`,"
	" `filegapbytes`, `filestored`, `filedataflow`)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

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
	    review_index_mysql(c->conn, db->err, sizeof(db->err)) < 0 ||
	    exec(db, "SELECT RELEASE_LOCK('imwire_setup')") < 0)
		goto failed;
	c->insert = mysql_stmt_init(c->conn);
	if (!c->insert) {
		fail(db, "prepare");
		goto failed;
	}
	if (mysql_stmt_prepare(c->insert, insert_sql, (unsigned long)strlen(insert_sql)) != 0) {
		sink_db_set_error(db, "prepare", mysql_stmt_error(c->insert));
		goto failed;
	}
	db->connected = true;
	return 0;
failed:
	mysink_disconnect(db);
	return -1;
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
	MYSQL_BIND b[11 + DB_FILE_COLUMNS];
	unsigned long lens[11 + DB_FILE_COLUMNS];
	long long ts = r->timestamp, outgoing = r->outgoing, type = r->type,
		  filtered = r->filtered, eventid = (long long)r->eventid;
	size_t i;

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
	for (i = 0; i < DB_FILE_COLUMNS; i++)
		bind_text(&b[11 + i], r->file[i] ? r->file[i] : "", &lens[11 + i]);
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
