/* PostgreSQL archive through libpq; every value a bound parameter. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "review/archive.h"
#include "review/archive_sql.h"

struct pgsql_archive {
	PGconn *conn;
};

static int fail(struct archive *a, const char *what, PGresult *res)
{
	struct pgsql_archive *c = a->ctx;

	archive_set_error(a, what,
			  res ? PQresultErrorMessage(res)
			      : (c && c->conn ? PQerrorMessage(c->conn) : "out of memory"));
	return -1;
}

/* Run a built statement; the result, or NULL with a->err set. */
static PGresult *run(struct archive *a, struct sql_stmt *st)
{
	struct pgsql_archive *c = a->ctx;
	const char *values[SQL_MAX_PARAMS];
	char ints[SQL_MAX_PARAMS][24];
	PGresult *res;
	size_t i;

	for (i = 0; i < st->n_params; i++) {
		if (st->params[i].is_int) {
			snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)st->params[i].i);
			values[i] = ints[i];
		} else {
			values[i] = st->params[i].s;
		}
	}
	res = PQexecParams(c->conn, (const char *)st->sql.data, (int)st->n_params, NULL, values, NULL,
			   NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		fail(a, "select", res);
		PQclear(res);
		return NULL;
	}
	return res;
}

static int pgsql_scan(struct archive *a, const struct review_query *q, archive_row_fn fn,
		      void *arg)
{
	struct sql_stmt st;
	PGresult *res;
	const char *vals[32];
	size_t lens[32];
	int i, j, n, cb = 0;

	if (!sql_build_select(&st, SQL_PGSQL, a->cols, q))
		return fail(a, "query", NULL);
	res = run(a, &st);
	if (!res) {
		sql_stmt_free(&st);
		return -1;
	}
	n = PQnfields(res);
	if (n > 32)
		n = 32;
	for (i = 0; i < PQntuples(res) && cb == 0; i++) {
		struct review_row row;

		for (j = 0; j < n; j++) {
			vals[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
			lens[j] = (size_t)PQgetlength(res, i, j);
		}
		if (!sql_row_decode(&row, st.cols, vals, lens, (size_t)n)) {
			archive_set_error(a, "row", "out of memory");
			cb = -1;
			break;
		}
		cb = fn(&row, arg);
		review_row_free(&row);
	}
	PQclear(res);
	sql_stmt_free(&st);
	return cb < 0 ? -1 : 0;
}

static int pgsql_daily(struct archive *a, int64_t since, archive_day_fn fn, void *arg)
{
	struct sql_stmt st;
	PGresult *res;
	int i, cb = 0;

	if (!sql_build_daily(&st, SQL_PGSQL, since))
		return fail(a, "query", NULL);
	res = run(a, &st);
	sql_stmt_free(&st);
	if (!res)
		return -1;
	for (i = 0; i < PQntuples(res) && cb == 0; i++)
		cb = fn(strtoll(PQgetvalue(res, i, 0), NULL, 10), PQgetvalue(res, i, 1),
			strtoll(PQgetvalue(res, i, 2), NULL, 10), strtoll(PQgetvalue(res, i, 3), NULL, 10),
			arg);
	PQclear(res);
	return cb < 0 ? -1 : 0;
}

static int pgsql_hit_counts(struct archive *a, int64_t since, archive_count_fn fn, void *arg)
{
	struct sql_stmt st;
	PGresult *res;
	int i, cb = 0;

	if (!sql_build_hit_counts(&st, SQL_PGSQL, a->cols, since))
		return fail(a, "query", NULL);
	res = run(a, &st);
	sql_stmt_free(&st);
	if (!res)
		return -1;
	for (i = 0; i < PQntuples(res) && cb == 0; i++)
		cb = fn(PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10), arg);
	PQclear(res);
	return cb < 0 ? -1 : 0;
}

static void pgsql_close(struct archive *a)
{
	struct pgsql_archive *c = a->ctx;

	if (!c)
		return;
	if (c->conn)
		PQfinish(c->conn);
	free(c);
}

static const struct archive_ops pgsql_archive_ops = {
	.name = "pgsql",
	.scan = pgsql_scan,
	.daily = pgsql_daily,
	.hit_counts = pgsql_hit_counts,
	.close = pgsql_close,
};

static int read_columns(struct archive *a)
{
	struct pgsql_archive *c = a->ctx;
	PGresult *res;
	int i;

	res = PQexec(c->conn, "SELECT column_name FROM information_schema.columns"
			      " WHERE table_name = 'messages' AND table_schema = current_schema()");
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
		fail(a, "information_schema", res);
		PQclear(res);
		return -1;
	}
	for (i = 0; i < PQntuples(res); i++)
		a->cols |= review_column_from_name(PQgetvalue(res, i, 0));
	if (PQntuples(res) == 0) {
		PQclear(res);
		archive_set_error(a, "archive", "no `messages` table");
		return -1;
	}
	PQclear(res);
	/* The tsvector query needs no index to be right, only to be fast. */
	a->cols |= REVIEW_COL_FTS;
	return 0;
}

int archive_pgsql_open(struct archive *a, const char *conninfo)
{
	struct pgsql_archive *c = calloc(1, sizeof(*c));
	const char *keys[] = { "connect_timeout", "dbname", NULL };
	const char *values[] = { "10", conninfo, NULL };

	if (!c) {
		archive_set_error(a, "pgsql", "out of memory");
		return -1;
	}
	a->ops = &pgsql_archive_ops;
	a->ctx = c;
	c->conn = PQconnectdbParams(keys, values, 1);
	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK || read_columns(a) < 0) {
		char err[sizeof(a->err)];

		if (!a->err[0])
			fail(a, "connect", NULL);
		memcpy(err, a->err, sizeof(err));
		archive_close(a);
		memcpy(a->err, err, sizeof(err));
		return -1;
	}
	return 0;
}
