/* SQLite archive, opened read-only. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "review/archive.h"
#include "review/archive_sql.h"

struct sqlite_archive {
	sqlite3 *db;
};

static int fail(struct archive *a, const char *what)
{
	struct sqlite_archive *c = a->ctx;

	archive_set_error(a, what, c && c->db ? sqlite3_errmsg(c->db) : "out of memory");
	return -1;
}

static int prepare(struct archive *a, struct sql_stmt *st, sqlite3_stmt **out)
{
	struct sqlite_archive *c = a->ctx;
	size_t i;
	int rc = SQLITE_OK;

	if (sqlite3_prepare_v2(c->db, (const char *)st->sql.data, -1, out, NULL) != SQLITE_OK)
		return fail(a, "prepare");
	for (i = 0; i < st->n_params && rc == SQLITE_OK; i++)
		rc = st->params[i].is_int
			     ? sqlite3_bind_int64(*out, (int)i + 1, st->params[i].i)
			     : sqlite3_bind_text(*out, (int)i + 1, st->params[i].s, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*out);
		return fail(a, "bind");
	}
	return 0;
}

static int sqlite_scan(struct archive *a, const struct review_query *q, archive_row_fn fn,
		       void *arg)
{
	struct sql_stmt st;
	sqlite3_stmt *s;
	const char *vals[32];
	size_t lens[32];
	int rc, n, i, cb = 0;

	if (!sql_build_select(&st, SQL_SQLITE, a->cols, q))
		return fail(a, "query");
	if (prepare(a, &st, &s) < 0) {
		sql_stmt_free(&st);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct review_row row;

		n = sqlite3_column_count(s);
		if (n > 32)
			n = 32;
		for (i = 0; i < n; i++) {
			vals[i] = (const char *)sqlite3_column_text(s, i);
			lens[i] = (size_t)sqlite3_column_bytes(s, i);
		}
		if (!sql_row_decode(&row, st.cols, vals, lens, (size_t)n)) {
			cb = -1;
			archive_set_error(a, "row", "out of memory");
			break;
		}
		cb = fn(&row, arg);
		review_row_free(&row);
		if (cb != 0)
			break;
	}
	if (cb == 0 && rc != SQLITE_DONE)
		cb = fail(a, "select");
	sqlite3_finalize(s);
	sql_stmt_free(&st);
	return cb < 0 ? -1 : 0;
}

static int sqlite_daily(struct archive *a, int64_t since, archive_day_fn fn, void *arg)
{
	struct sql_stmt st;
	sqlite3_stmt *s;
	int rc, cb = 0;

	if (!sql_build_daily(&st, SQL_SQLITE, since))
		return fail(a, "query");
	if (prepare(a, &st, &s) < 0) {
		sql_stmt_free(&st);
		return -1;
	}
	while (cb == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 1);

		cb = fn(sqlite3_column_int64(s, 0), p ? p : "", sqlite3_column_int64(s, 2),
			sqlite3_column_int64(s, 3), arg);
	}
	if (cb == 0 && rc != SQLITE_DONE)
		cb = fail(a, "select");
	sqlite3_finalize(s);
	sql_stmt_free(&st);
	return cb < 0 ? -1 : 0;
}

static int sqlite_hit_counts(struct archive *a, int64_t since, archive_count_fn fn, void *arg)
{
	struct sql_stmt st;
	sqlite3_stmt *s;
	int rc, cb = 0;

	if (!sql_build_hit_counts(&st, SQL_SQLITE, a->cols, since))
		return fail(a, "query");
	if (prepare(a, &st, &s) < 0) {
		sql_stmt_free(&st);
		return -1;
	}
	while (cb == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 0);

		cb = fn(p ? p : "", sqlite3_column_int64(s, 1), arg);
	}
	if (cb == 0 && rc != SQLITE_DONE)
		cb = fail(a, "select");
	sqlite3_finalize(s);
	sql_stmt_free(&st);
	return cb < 0 ? -1 : 0;
}

static void sqlite_close(struct archive *a)
{
	struct sqlite_archive *c = a->ctx;

	if (!c)
		return;
	sqlite3_close(c->db);
	free(c);
}

static const struct archive_ops sqlite_archive_ops = {
	.name = "sqlite",
	.scan = sqlite_scan,
	.daily = sqlite_daily,
	.hit_counts = sqlite_hit_counts,
	.close = sqlite_close,
};

static int read_columns(struct archive *a)
{
	struct sqlite_archive *c = a->ctx;
	sqlite3_stmt *s;
	int rc, seen = 0;

	if (sqlite3_prepare_v2(c->db, "PRAGMA table_info(messages)", -1, &s, NULL) != SQLITE_OK)
		return fail(a, "table_info");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 1);

		seen++;
		if (name)
			a->cols |= review_column_from_name(name);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return fail(a, "table_info");
	if (!seen) {
		archive_set_error(a, "archive", "no `messages` table");
		return -1;
	}
	if (sqlite3_prepare_v2(c->db,
			       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'",
			       -1, &s, NULL) != SQLITE_OK)
		return fail(a, "sqlite_master");
	if (sqlite3_step(s) == SQLITE_ROW)
		a->cols |= REVIEW_COL_FTS;
	sqlite3_finalize(s);
	return 0;
}

int archive_sqlite_open(struct archive *a, const char *path)
{
	struct sqlite_archive *c = calloc(1, sizeof(*c));

	if (!c) {
		archive_set_error(a, path, "out of memory");
		return -1;
	}
	a->ops = &sqlite_archive_ops;
	a->ctx = c;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fail(a, path);
		archive_close(a);
		return -1;
	}
	/* The writer holds the file briefly for each batch. */
	sqlite3_busy_timeout(c->db, 5000);
	if (read_columns(a) < 0) {
		char err[sizeof(a->err)];

		memcpy(err, a->err, sizeof(err));
		archive_close(a);
		memcpy(a->err, err, sizeof(err));
		return -1;
	}
	return 0;
}
