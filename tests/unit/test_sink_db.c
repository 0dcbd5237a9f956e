/* The database sinks' machinery without a server, through the writer
 * with SQLite (columns, an IMSpector table from before imwire, a database
 * that is away and returns, a restart with events still in the
 * write-ahead log, repeats ignored, refused rows) and the syslog sink.
 * PostgreSQL and MariaDB are tested with real servers in
 * tests/cases/db_servers.sh; the log itself in test_sink_wal.c. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sink/sink_writer.h"
#include "testlib.h"

static char tmpdir[64];

static void path_in_tmp(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void make_event(struct im_event *ev, unsigned i, enum im_kind kind)
{
	char text[64];

	event_init(ev);
	ev->ts = 1700000000.5 + i;
	ev->proto = IMW_PROTO_IRC;
	ev->dir = i % 2 ? IM_DIR_IN : IM_DIR_OUT;
	ev->kind = kind;
	snprintf(text, sizeof(text), "message %u with 'quotes' and \"more\"", i);
	event_set_str(&ev->local, "alice");
	event_set_str(&ev->remote, "#chan");
	event_set_str(&ev->client, "10.0.0.1:40000");
	event_set_str(&ev->text, text);
}

static void make_row(struct db_row *r, uint64_t id, char *buf, size_t n)
{
	snprintf(buf, n, "row %llu", (unsigned long long)id);
	memset(r, 0, sizeof(*r));
	r->eventid = id;
	r->timestamp = 1700000000 + (int64_t)id;
	r->clientaddress = "[fd00::1]:5222";
	r->protocolname = "Jabber";
	r->outgoing = 1;
	r->type = 1;
	r->localid = "alice@example.org";
	r->remoteid = "bob@example.org";
	r->eventdata = buf;
}

static void quiet_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static long long query_int(const char *db_path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

static int open_writer(struct sink *w, const char *db_path, const char *spool_dir,
		       const char *sensor)
{
	struct sink_writer_config wc;
	struct sink_db db;
	char err[256];

	struct sink s;
	char id[200];

	sink_writer_config_defaults(&wc);
	wc.spool_dir = spool_dir;
	wc.wait_when_full = true;
	wc.batch_max = 64;
	wc.retry_ms = 50;
	wc.log = quiet_log;
	if (sink_writer_open(w, &wc, err, sizeof(err)) < 0) {
		fprintf(stderr, "  %s\n", err);
		return -1;
	}
	snprintf(id, sizeof(id), "sqlite %s", db_path);
	if (sink_db_sqlite_init(&db, db_path, sensor) < 0 || sink_db_open(&s, &db, id) < 0 ||
	    sink_writer_add_sink(w, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "  %s\n", err);
		sink_close(w);
		return -1;
	}
	return sink_writer_start(w);
}

static void write_events(struct sink *w, unsigned from, unsigned n, enum im_kind kind)
{
	struct im_event ev;
	unsigned i;

	for (i = from; i < from + n; i++) {
		make_event(&ev, i, kind);
		CHECK(sink_write(w, &ev) == 0);
		event_free(&ev);
	}
}

static void test_sqlite_columns(void)
{
	struct sink w;
	char db_path[128];
	sqlite3 *db;
	sqlite3_stmt *st;

	path_in_tmp(db_path, sizeof(db_path), "cols.db");
	CHECK(open_writer(&w, db_path, NULL, "bridge-1") == 0);
	write_events(&w, 0, 300, IM_KIND_MESSAGE);
	write_events(&w, 300, 1, IM_KIND_TYPING);
	CHECK(w.ops->flush(&w) == 0);
	sink_close(&w);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages"), 301);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(DISTINCT eventid) FROM messages"), 301);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages WHERE sensor = 'bridge-1'"),
		     301);
	/* Insertion order is event order. */
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages a JOIN messages b"
					" ON a.id < b.id WHERE a.eventid > b.eventid"),
		     0);
	CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db,
				 "SELECT timestamp, clientaddress, protocolname, outgoing, type,"
				 " localid, remoteid, filtered, eventdata FROM messages ORDER BY id",
				 -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_INT_EQ(sqlite3_column_int64(st, 0), 1700000000);
	CHECK_STR_EQ((const char *)sqlite3_column_text(st, 1), "10.0.0.1:40000");
	CHECK_STR_EQ((const char *)sqlite3_column_text(st, 2), "IRC");
	CHECK_INT_EQ(sqlite3_column_int(st, 3), 1);
	CHECK_INT_EQ(sqlite3_column_int(st, 4), 1);
	CHECK_STR_EQ((const char *)sqlite3_column_text(st, 5), "alice");
	CHECK_STR_EQ((const char *)sqlite3_column_text(st, 6), "#chan");
	CHECK_INT_EQ(sqlite3_column_int(st, 7), 0);
	CHECK_STR_EQ((const char *)sqlite3_column_text(st, 8),
		     "message 0 with 'quotes' and \"more\"");
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* IMSpector leaves typing events without data. */
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages WHERE type = 3"
					" AND length(eventdata) = 0"),
		     1);
}

static const char *query_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	return out;
}

/* #20: a file transfer's result in imwire's file columns; IMSpector's
 * columns as for any file event; '' in them for every other event. */
static void test_sqlite_file_columns(void)
{
	struct sink w;
	struct im_event ev;
	char db_path[128], v[128];
	sqlite3 *db;

	path_in_tmp(db_path, sizeof(db_path), "files.db");
	CHECK(open_writer(&w, db_path, NULL, "") == 0);
	make_event(&ev, 0, IM_KIND_FILE);
	event_set_str(&ev.text, "eicar.com (68 bytes)");
	CHECK(sink_write(&w, &ev) == 0); /* the offer */
	ev.file.state = IM_FILE_CUT;
	ev.file.bytes = 68;
	ev.file.has_sha256 = true;
	memcpy(ev.file.sha256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", 65);
	event_set_str(&ev.file.mime, "text/plain");
	ev.file.scan = IM_SCAN_INFECTED;
	event_set_str(&ev.file.signature, "Eicar-Test-Signature");
	event_set_str(&ev.categories, "malware"); /* the archive's column, as files.c sets it */
	event_set_str(&ev.file.stored, "/var/lib/imwire/files/27/275a");
	ev.file.data_flow = 42;
	CHECK(sink_write(&w, &ev) == 0); /* what came of it */
	ev.file.state = IM_FILE_INCOMPLETE;
	ev.file.bytes = 60;
	ev.file.gap_bytes = 8;
	ev.file.has_sha256 = false;
	event_take(&ev.categories, NULL);
	CHECK(sink_write(&w, &ev) == 0); /* one with a hole */
	event_free(&ev);
	CHECK(w.ops->flush(&w) == 0);
	sink_close(&w);
	CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
	CHECK_STR_EQ(query_text(db, "SELECT filestate || '|' || filebytes || '|' || filesha256 ||"
				    " '|' || filemime || '|' || filescan || '|' || filesignature ||"
				    " '|' || categories FROM messages ORDER BY id LIMIT 1 OFFSET 1",
				v, sizeof(v)),
		     "cut|68|275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f|"
		     "text/plain|infected|Eicar-Test-Signature|malware");
	CHECK_STR_EQ(query_text(db, "SELECT filegapbytes || '|' || filestored || '|' || filedataflow"
				    " FROM messages ORDER BY id LIMIT 1 OFFSET 1",
				v, sizeof(v)),
		     "0|/var/lib/imwire/files/27/275a|42");
	CHECK_STR_EQ(query_text(db, "SELECT filestate || '|' || filebytes || '|' || filegapbytes ||"
				    " '|' || filesha256 FROM messages ORDER BY id LIMIT 1 OFFSET 2",
				v, sizeof(v)),
		     "incomplete|60|8|");
	CHECK_STR_EQ(query_text(db, "SELECT type || '|' || eventdata FROM messages ORDER BY id"
				    " LIMIT 1 OFFSET 1",
				v, sizeof(v)),
		     "2|eicar.com (68 bytes)");
	CHECK_STR_EQ(query_text(db, "SELECT '[' || filestate || filebytes || filesha256 || filescan"
				    " || ifnull(categories, '') || filegapbytes || filestored || filedataflow"
				    " || ']'"
				    " FROM messages ORDER BY id LIMIT 1",
				v, sizeof(v)),
		     "[]");
	sqlite3_close(db);
}

static void test_sqlite_imspector_table(void)
{
	struct sink w;
	char db_path[128];
	sqlite3 *db;

	/* The table exactly as IMSpector's README creates it, with a row. */
	path_in_tmp(db_path, sizeof(db_path), "old.db");
	CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "CREATE TABLE messages (id integer PRIMARY KEY AUTOINCREMENT,"
			   " timestamp integer NOT NULL, clientaddress text NOT NULL,"
			   " protocolname text NOT NULL, outgoing integer NOT NULL,"
			   " type integer NOT NULL, localid text NOT NULL, remoteid text NOT NULL,"
			   " filtered integer NOT NULL, eventdata blob NOT NULL);"
			   "INSERT INTO messages VALUES (NULL, 1, '1.2.3.4:5', 'MSN', 1, 1, 'a',"
			   " 'b', 0, 'old');",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(open_writer(&w, db_path, NULL, "") == 0);
	write_events(&w, 0, 5, IM_KIND_MESSAGE);
	sink_close(&w);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages"), 6);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages WHERE eventid IS NULL"
					" AND eventdata = 'old'"),
		     1);
	/* imwire's file columns were added, empty for what was there, and
	 * the archive's (categories: NULL for none) */
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages WHERE filesha256 = ''"
					" AND categories IS NULL"),
		     6);
}

/* The database is away (its directory is missing): its events wait in
 * the write-ahead log; the daemon stops; the database comes back; the
 * next writer replays them, then the new ones. */
static void test_sqlite_outage_and_restart(void)
{
	struct sink w;
	struct sink_writer_stats st;
	char db_dir[128], db_path[160], spool_dir[128];

	path_in_tmp(db_dir, sizeof(db_dir), "away");
	snprintf(db_path, sizeof(db_path), "%s/imwire.db", db_dir);
	path_in_tmp(spool_dir, sizeof(spool_dir), "spool-outage");
	CHECK(open_writer(&w, db_path, spool_dir, "s") == 0);
	write_events(&w, 0, 1000, IM_KIND_MESSAGE);
	CHECK(w.ops->flush(&w) == -1); /* a sink is down with events to write */
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.sinks[0].queued, 1000);
	CHECK_INT_EQ(st.sinks[0].written, 0);
	CHECK(st.sinks[0].down);
	CHECK(st.sinks[0].failed >= 1);
	sink_close(&w);

	CHECK(mkdir(db_dir, 0700) == 0);
	CHECK(open_writer(&w, db_path, spool_dir, "s") == 0);
	write_events(&w, 1000, 500, IM_KIND_MESSAGE);
	CHECK(w.ops->flush(&w) == 0);
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.sinks[0].queued, 0);
	CHECK_INT_EQ(st.sinks[0].replayed + st.sinks[0].written, 1500);
	CHECK(st.sinks[0].replayed >= 1000);
	sink_close(&w);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages"), 1500);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(DISTINCT eventdata) FROM messages"), 1500);
	/* In order: the spooled run first, then the new one. */
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages a JOIN messages b"
					" ON a.id < b.id WHERE a.eventid > b.eventid"),
		     0);
	CHECK_INT_EQ(query_int(db_path, "SELECT eventdata = 'message 1499 with ''quotes'' and"
					" \"more\"' FROM messages ORDER BY id DESC LIMIT 1"),
		     1);
}

/* A replay of rows already committed (the commit's answer was lost)
 * stores nothing twice. */
static void test_replay_is_idempotent(void)
{
	struct sink_db db;
	struct db_row rows[20];
	char bufs[20][32], db_path[128];
	size_t i, rejected;

	path_in_tmp(db_path, sizeof(db_path), "idem.db");
	for (i = 0; i < 20; i++)
		make_row(&rows[i], 5000 + i, bufs[i], sizeof(bufs[i]));
	CHECK(sink_db_sqlite_init(&db, db_path, "s") == 0);
	CHECK(sink_db_insert_batch(&db, rows, 15, &rejected) == 0);
	CHECK(sink_db_insert_batch(&db, rows, 20, &rejected) == 0);
	CHECK_INT_EQ(rejected, 0);
	sink_db_free(&db);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages"), 20);
	/* Another sensor's ids do not collide. */
	CHECK(sink_db_sqlite_init(&db, db_path, "t") == 0);
	CHECK(sink_db_insert_batch(&db, rows, 20, &rejected) == 0);
	sink_db_free(&db);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages"), 40);
}

/* A row the database refuses is left out; the rest of its batch is kept. */
static void test_refused_row(void)
{
	struct sink_db db;
	struct db_row rows[10];
	char bufs[10][32], db_path[128];
	size_t i, rejected = 0;
	sqlite3 *h;

	path_in_tmp(db_path, sizeof(db_path), "refuse.db");
	CHECK(sink_db_sqlite_init(&db, db_path, "s") == 0);
	CHECK(sink_db_insert_batch(&db, rows, 0, &rejected) == 0); /* creates the table */
	CHECK(sqlite3_open(db_path, &h) == SQLITE_OK);
	CHECK(sqlite3_exec(h,
			   "CREATE TRIGGER poison BEFORE INSERT ON messages"
			   " WHEN NEW.eventdata = 'row 3' BEGIN SELECT RAISE(ABORT, 'no'); END",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	for (i = 0; i < 10; i++)
		make_row(&rows[i], i + 1, bufs[i], sizeof(bufs[i]));
	CHECK(sink_db_insert_batch(&db, rows, 10, &rejected) == 0);
	CHECK_INT_EQ(rejected, 1);
	sink_db_free(&db);
	CHECK_INT_EQ(query_int(db_path, "SELECT count(*) FROM messages"), 9);
}

static void test_syslog_socket(void)
{
	struct sockaddr_un addr;
	struct sink s;
	struct im_event ev;
	char path[128], buf[2048];
	ssize_t n;
	int fd;

	path_in_tmp(path, sizeof(path), "log.sock");
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(fd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	CHECK(strlen(path) < sizeof(addr.sun_path));
	memcpy(addr.sun_path, path, strlen(path) + 1);
	CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	CHECK(sink_syslog_open(&s, path, NULL) == 0);
	make_event(&ev, 7, IM_KIND_MESSAGE);
	CHECK(sink_write(&s, &ev) == 0);
	event_free(&ev);
	sink_close(&s);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strncmp(buf, "<30>imwire[", 11) == 0);
	CHECK(strstr(buf, "]: event {\"ts\":1700000007.500000,\"proto\":\"irc\"") != NULL);
	CHECK(strstr(buf, "\"text\":\"message 7 with 'quotes' and \\\"more\\\"\"") != NULL);
	close(fd);
}

int main(void)
{
	char cmd[128];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/imwire-sinkdb-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	RUN_TEST(test_sqlite_columns);
	RUN_TEST(test_sqlite_file_columns);
	RUN_TEST(test_sqlite_imspector_table);
	RUN_TEST(test_sqlite_outage_and_restart);
	RUN_TEST(test_replay_is_idempotent);
	RUN_TEST(test_refused_row);
	RUN_TEST(test_syslog_socket);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	TEST_MAIN_END();
}
