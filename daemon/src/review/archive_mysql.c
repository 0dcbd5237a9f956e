/* MariaDB/MySQL archive through libmariadb prepared statements. */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "review/archive.h"
#include "review/archive_sql.h"

#define MYSQL_COLS 32
#define FIRST_BUFFER 1024

struct mysql_archive {
	MYSQL *conn;
};

static int fail(struct archive *a, const char *what)
{
	struct mysql_archive *c = a->ctx;

	archive_set_error(a, what, c && c->conn ? mysql_error(c->conn) : "out of memory");
	return -1;
}

/* One result line's columns as strings. */
struct line {
	MYSQL_BIND bind[MYSQL_COLS];
	char *buf[MYSQL_COLS];
	unsigned long len[MYSQL_COLS];
	my_bool is_null[MYSQL_COLS];
	size_t cap[MYSQL_COLS];
	unsigned n;
};

static void line_free(struct line *l)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		free(l->buf[i]);
}

static bool line_bind(struct line *l, unsigned n)
{
	unsigned i;

	memset(l, 0, sizeof(*l));
	l->n = n > MYSQL_COLS ? MYSQL_COLS : n;
	for (i = 0; i < l->n; i++) {
		l->buf[i] = malloc(FIRST_BUFFER);
		if (!l->buf[i])
			return false;
		l->cap[i] = FIRST_BUFFER;
		l->bind[i].buffer_type = MYSQL_TYPE_STRING;
		l->bind[i].buffer = l->buf[i];
		l->bind[i].buffer_length = FIRST_BUFFER - 1;
		l->bind[i].length = &l->len[i];
		l->bind[i].is_null = &l->is_null[i];
	}
	return true;
}

/* After a fetch: columns longer than their buffer fetched again whole. */
static bool line_complete(struct line *l, MYSQL_STMT *s)
{
	unsigned i;

	for (i = 0; i < l->n; i++) {
		if (l->is_null[i])
			continue;
		if (l->len[i] + 1 > l->cap[i]) {
			char *b = realloc(l->buf[i], l->len[i] + 1);

			if (!b)
				return false;
			l->buf[i] = b;
			l->cap[i] = l->len[i] + 1;
			l->bind[i].buffer = b;
			l->bind[i].buffer_length = l->len[i];
			if (mysql_stmt_fetch_column(s, &l->bind[i], i, 0) != 0)
				return false;
		}
		l->buf[i][l->len[i]] = '\0';
	}
	/* Rebind for the next line: the buffers may have moved. */
	return mysql_stmt_bind_result(s, l->bind) == 0;
}

/* Prepare, bind parameters and execute; the statement or NULL. */
static MYSQL_STMT *run(struct archive *a, struct sql_stmt *st, struct line *l)
{
	struct mysql_archive *c = a->ctx;
	MYSQL_BIND b[SQL_MAX_PARAMS];
	unsigned long lens[SQL_MAX_PARAMS];
	long long ints[SQL_MAX_PARAMS];
	MYSQL_STMT *s = mysql_stmt_init(c->conn);
	size_t i;

	if (!s) {
		fail(a, "prepare");
		return NULL;
	}
	memset(b, 0, sizeof(b));
	for (i = 0; i < st->n_params; i++) {
		if (st->params[i].is_int) {
			ints[i] = st->params[i].i;
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &ints[i];
		} else {
			lens[i] = (unsigned long)strlen(st->params[i].s);
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = st->params[i].s;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
		}
	}
	if (mysql_stmt_prepare(s, (const char *)st->sql.data, (unsigned long)st->sql.len) != 0 ||
	    (st->n_params && mysql_stmt_bind_param(s, b) != 0) || mysql_stmt_execute(s) != 0 ||
	    !line_bind(l, mysql_stmt_field_count(s)) || mysql_stmt_bind_result(s, l->bind) != 0) {
		archive_set_error(a, "select", mysql_stmt_error(s));
		line_free(l);
		mysql_stmt_close(s);
		return NULL;
	}
	return s;
}

/* The next line: 1, 0 at the end, -1 on an error. */
static int next(struct archive *a, MYSQL_STMT *s, struct line *l)
{
	int rc = mysql_stmt_fetch(s);

	if (rc == MYSQL_NO_DATA)
		return 0;
	if ((rc != 0 && rc != MYSQL_DATA_TRUNCATED) || !line_complete(l, s)) {
		archive_set_error(a, "fetch", mysql_stmt_error(s));
		return -1;
	}
	return 1;
}

static int mysql_scan(struct archive *a, const struct review_query *q, archive_row_fn fn,
		      void *arg)
{
	struct sql_stmt st;
	struct line l;
	MYSQL_STMT *s;
	const char *vals[MYSQL_COLS];
	size_t lens[MYSQL_COLS];
	unsigned i;
	int rc, cb = 0;

	if (!sql_build_select(&st, SQL_MYSQL, a->cols, q))
		return fail(a, "query");
	s = run(a, &st, &l);
	if (!s) {
		sql_stmt_free(&st);
		return -1;
	}
	while (cb == 0 && (rc = next(a, s, &l)) == 1) {
		struct review_row row;

		for (i = 0; i < l.n; i++) {
			vals[i] = l.is_null[i] ? NULL : l.buf[i];
			lens[i] = l.is_null[i] ? 0 : l.len[i];
		}
		if (!sql_row_decode(&row, st.cols, vals, lens, l.n)) {
			archive_set_error(a, "row", "out of memory");
			cb = -1;
			break;
		}
		cb = fn(&row, arg);
		review_row_free(&row);
	}
	if (cb == 0 && rc < 0)
		cb = -1;
	line_free(&l);
	mysql_stmt_close(s);
	sql_stmt_free(&st);
	return cb < 0 ? -1 : 0;
}

static int mysql_daily(struct archive *a, int64_t since, archive_day_fn fn, void *arg)
{
	struct sql_stmt st;
	struct line l;
	MYSQL_STMT *s;
	int rc, cb = 0;

	if (!sql_build_daily(&st, SQL_MYSQL, since))
		return fail(a, "query");
	s = run(a, &st, &l);
	sql_stmt_free(&st);
	if (!s)
		return -1;
	while (cb == 0 && (rc = next(a, s, &l)) == 1)
		cb = fn(strtoll(l.buf[0], NULL, 10), l.is_null[1] ? "" : l.buf[1],
			strtoll(l.buf[2], NULL, 10), l.is_null[3] ? 0 : strtoll(l.buf[3], NULL, 10), arg);
	if (cb == 0 && rc < 0)
		cb = -1;
	line_free(&l);
	mysql_stmt_close(s);
	return cb < 0 ? -1 : 0;
}

static int mysql_hit_counts(struct archive *a, int64_t since, archive_count_fn fn, void *arg)
{
	struct sql_stmt st;
	struct line l;
	MYSQL_STMT *s;
	int rc, cb = 0;

	if (!sql_build_hit_counts(&st, SQL_MYSQL, a->cols, since))
		return fail(a, "query");
	s = run(a, &st, &l);
	sql_stmt_free(&st);
	if (!s)
		return -1;
	while (cb == 0 && (rc = next(a, s, &l)) == 1)
		cb = fn(l.is_null[0] ? "" : l.buf[0], strtoll(l.buf[1], NULL, 10), arg);
	if (cb == 0 && rc < 0)
		cb = -1;
	line_free(&l);
	mysql_stmt_close(s);
	return cb < 0 ? -1 : 0;
}

static void mysql_archive_close(struct archive *a)
{
	struct mysql_archive *c = a->ctx;

	if (!c)
		return;
	if (c->conn)
		mysql_close(c->conn);
	free(c);
}

static const struct archive_ops mysql_archive_ops = {
	.name = "mysql",
	.scan = mysql_scan,
	.daily = mysql_daily,
	.hit_counts = mysql_hit_counts,
	.close = mysql_archive_close,
};

static int read_columns(struct archive *a)
{
	struct mysql_archive *c = a->ctx;
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool text = false, any = false;

	if (mysql_query(c->conn, "SELECT column_name FROM information_schema.columns"
				 " WHERE table_name = 'messages' AND table_schema = database()") != 0 ||
	    !(res = mysql_store_result(c->conn)))
		return fail(a, "information_schema");
	while ((row = mysql_fetch_row(res))) {
		any = true;
		if (row[0])
			a->cols |= review_column_from_name(row[0]);
		if (row[0] && strcmp(row[0], "eventtext") == 0)
			text = true;
	}
	mysql_free_result(res);
	if (!any) {
		archive_set_error(a, "archive", "no `messages` table");
		return -1;
	}
	if (!text)
		return 0;
	if (mysql_query(c->conn, "SELECT 1 FROM information_schema.statistics"
				 " WHERE table_name = 'messages' AND table_schema = database()"
				 " AND index_name = 'messages_fts'") != 0 ||
	    !(res = mysql_store_result(c->conn)))
		return fail(a, "information_schema");
	if (mysql_fetch_row(res))
		a->cols |= REVIEW_COL_FTS;
	mysql_free_result(res);
	return 0;
}

int archive_mysql_open(struct archive *a, const struct archive_spec *spec)
{
	struct mysql_archive *c = calloc(1, sizeof(*c));
	const char *server = spec->server && *spec->server ? spec->server : "localhost", *colon;
	char host[256] = "";
	unsigned port = 0, timeout = 10;
	bool ok;

	if (!c) {
		archive_set_error(a, "mysql", "out of memory");
		return -1;
	}
	a->ops = &mysql_archive_ops;
	a->ctx = c;
	if (server[0] != '/') {
		colon = strrchr(server, ':');
		if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
			port = (unsigned)strtoul(colon + 1, NULL, 10);
			snprintf(host, sizeof(host), "%.*s", (int)(colon - server), server);
		} else {
			snprintf(host, sizeof(host), "%s", server);
		}
	}
	c->conn = mysql_init(NULL);
	if (!c->conn) {
		fail(a, "connect");
		archive_close(a);
		return -1;
	}
	mysql_options(c->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(c->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	ok = mysql_real_connect(c->conn, server[0] == '/' ? NULL : host, spec->user, spec->password,
				spec->database, port, server[0] == '/' ? server : NULL, 0) != NULL;
	if (!ok)
		fail(a, "connect");
	if (!ok || read_columns(a) < 0) {
		char err[sizeof(a->err)];

		memcpy(err, a->err, sizeof(err));
		archive_close(a);
		memcpy(a->err, err, sizeof(err));
		return -1;
	}
	return 0;
}
