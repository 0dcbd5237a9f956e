/* Helpers shared by the sink tests (test_sink_*.c): events with a number
 * in their text, writers over a temporary spool, and counting what each
 * sink holds: JSON lines, IMSpector files and SQLite, by that number, so
 * "every event exactly once" is checked event by event. */
#ifndef IMW_TEST_SINKTEST_H
#define IMW_TEST_SINKTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event/event.h"
#include "sink/sink.h"
#include "sink/sink_db.h"
#include "sink/sink_writer.h"

static char tmpdir[64] __attribute__((unused));
/* The writer logs from its threads: under log_lock. */
static pthread_mutex_t log_lock __attribute__((unused)) = PTHREAD_MUTEX_INITIALIZER;
static char last_log[1024] __attribute__((unused));
static unsigned log_lines __attribute__((unused));

static inline void path_in_tmp(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static inline void make_event(struct im_event *ev, unsigned i, enum im_kind kind)
{
	char text[64];

	event_init(ev);
	ev->ts = 1700000000.5 + i;
	ev->proto = IMW_PROTO_IRC;
	ev->dir = i % 2 ? IM_DIR_IN : IM_DIR_OUT;
	ev->kind = kind;
	snprintf(text, sizeof(text), "message %u with 'quotes' and \"more\"", i);
	event_set_str(&ev->local, "alice");
	event_set_str(&ev->remote, i % 3 ? "#chan" : "bob");
	event_set_str(&ev->client, "10.0.0.1:40000");
	event_set_str(&ev->text, text);
}

/* Records the last line (and counts them), says nothing. */
static inline void capture_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void capture_log(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	pthread_mutex_lock(&log_lock);
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_lines++;
	if (getenv("SINKTEST_VERBOSE"))
		fprintf(stderr, "  log: %s\n", last_log);
	pthread_mutex_unlock(&log_lock);
}

/* Whether the last line logged holds s. */
static inline bool last_log_has(const char *s)
{
	bool has;

	pthread_mutex_lock(&log_lock);
	has = strstr(last_log, s) != NULL;
	pthread_mutex_unlock(&log_lock);
	return has;
}

static inline unsigned log_count(void)
{
	unsigned n;

	pthread_mutex_lock(&log_lock);
	n = log_lines;
	pthread_mutex_unlock(&log_lock);
	return n;
}

static inline void log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	log_lines = 0;
	last_log[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static inline void writer_config(struct sink_writer_config *wc, const char *spool)
{
	sink_writer_config_defaults(wc);
	wc->spool_dir = spool;
	wc->batch_max = 64;
	wc->retry_ms = 30;
	wc->log = capture_log;
}

static inline void hand_over(struct sink *w, unsigned from, unsigned n)
{
	struct sink_writer_batch *b = sink_writer_batch_new(w);
	struct im_event ev;
	unsigned i;

	for (i = from; i < from + n; i++) {
		make_event(&ev, i, IM_KIND_MESSAGE);
		sink_writer_batch_add(b, &ev);
		event_free(&ev);
		if (i % 17 == 16)
			sink_writer_submit(b);
	}
	sink_writer_submit(b);
	sink_writer_batch_free(b);
}

/* counts[i]: how often "message i " is in the file (i < max). */
static inline void count_in_file(const char *path, unsigned *counts, unsigned max)
{
	FILE *f = fopen(path, "r");
	char line[4096];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *m = strstr(line, "message ");
		unsigned v;

		if (m && sscanf(m, "message %u ", &v) == 1 && v < max)
			counts[v]++;
	}
	fclose(f);
}

static inline void count_in_tree(const char *dir, unsigned *counts, unsigned max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	struct stat st;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (strlen(dir) + strlen(de->d_name) + 2 > sizeof(path))
			continue;
		strcpy(path, dir);
		strcat(path, "/");
		strcat(path, de->d_name);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			count_in_tree(path, counts, max);
		else
			count_in_file(path, counts, max);
	}
	closedir(d);
}

static inline void count_in_sqlite(const char *db_path, unsigned *counts, unsigned max)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	if (sqlite3_prepare_v2(db, "SELECT eventdata FROM messages", -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(st, 0);
			unsigned v;

			if (t && sscanf(t, "message %u ", &v) == 1 && v < max)
				counts[v]++;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static inline long long query_int(const char *db_path, const char *sql)
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

/* How many of counts[from..to) are exactly 1; prints the first few that are not. */
static inline unsigned exactly_once(const char *what, const unsigned *counts, unsigned from, unsigned to)
{
	unsigned i, ok = 0, shown = 0;

	for (i = from; i < to; i++) {
		if (counts[i] == 1) {
			ok++;
		} else if (shown++ < 5) {
			fprintf(stderr, "  %s: message %u present %u times\n", what, i, counts[i]);
		}
	}
	return ok;
}

static inline int add_jsonl(struct sink *w, const char *path)
{
	struct sink s;
	char err[256];

	if (sink_jsonl_open_path(&s, path, 0) < 0)
		return -1;
	if (sink_writer_add_sink(w, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "  %s\n", err);
		sink_close(&s);
		return -1;
	}
	return 0;
}

static inline int add_imspector(struct sink *w, const char *dir)
{
	struct sink s;
	char err[256];

	if (sink_imspector_open_dir(&s, dir, 0) < 0)
		return -1;
	if (sink_writer_add_sink(w, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "  %s\n", err);
		sink_close(&s);
		return -1;
	}
	return 0;
}

static inline int add_sqlite(struct sink *w, const char *path, const char *sensor)
{
	struct sink_db db;
	struct sink s;
	char err[256], id[300];

	snprintf(id, sizeof(id), "sqlite %s", path);
	if (sink_db_sqlite_init(&db, path, sensor) < 0)
		return -1;
	db.timeout_s = 1; /* a locked database fails fast */
	if (sink_db_open(&s, &db, id) < 0) {
		sink_db_free(&db);
		return -1;
	}
	if (sink_writer_add_sink(w, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "  %s\n", err);
		sink_close(&s);
		return -1;
	}
	return 0;
}

static inline int make_tmpdir(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/imwire-%s-XXXXXX", name);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static inline void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

#endif
