#include "review/archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

bool archive_spec_from_config(struct archive_spec *spec, const struct imw_config *cfg)
{
	const char *v;

	memset(spec, 0, sizeof(*spec));
	if ((v = config_get(cfg, "sqlite_file"))) {
		spec->kind = ARCHIVE_SQLITE;
		spec->path = v;
	} else if ((v = config_get(cfg, "pgsql_connect"))) {
		spec->kind = ARCHIVE_PGSQL;
		spec->conninfo = v;
	} else if ((v = config_get(cfg, "mysql_server")) || config_get(cfg, "mysql_database")) {
		spec->kind = ARCHIVE_MYSQL;
		spec->server = v;
		spec->database = config_get(cfg, "mysql_database");
		spec->user = config_get(cfg, "mysql_username");
		spec->password = config_get(cfg, "mysql_password");
	} else if ((v = config_get(cfg, "jsonl_file"))) {
		spec->kind = ARCHIVE_JSONL;
		spec->path = v;
	}
	return spec->kind != ARCHIVE_NONE;
}

void archive_set_error(struct archive *a, const char *what, const char *detail)
{
	char *nl;

	snprintf(a->err, sizeof(a->err), "%s: %s", what, detail ? detail : "unknown error");
	while ((nl = strchr(a->err, '\n')))
		*nl = nl[1] ? ' ' : '\0';
}

int archive_open(struct archive *a, const struct archive_spec *spec)
{
	memset(a, 0, sizeof(*a));
	switch (spec->kind) {
	case ARCHIVE_SQLITE:
		return archive_sqlite_open(a, spec->path);
	case ARCHIVE_PGSQL:
		return archive_pgsql_open(a, spec->conninfo);
	case ARCHIVE_MYSQL:
		return archive_mysql_open(a, spec);
	case ARCHIVE_JSONL:
		return archive_jsonl_open(a, spec->path);
	default:
		archive_set_error(a, "archive", "none named (--sqlite, --pgsql, --mysql, --jsonl or --config)");
		return -1;
	}
}

void archive_close(struct archive *a)
{
	if (a->ops)
		a->ops->close(a);
	a->ops = NULL;
	a->ctx = NULL;
}

int archive_scan(struct archive *a, const struct review_query *q, archive_row_fn fn, void *arg)
{
	const char *why = review_query_unsupported(q, a->cols);

	if (why) {
		archive_set_error(a, "query", why);
		return -1;
	}
	return a->ops->scan(a, q, fn, arg);
}

struct get_ctx {
	struct review_row *out;
	bool found;
};

static int get_one(const struct review_row *row, void *arg)
{
	struct get_ctx *g = arg;

	if (!review_row_copy(g->out, row))
		return -1;
	g->found = true;
	return 1;
}

int archive_get(struct archive *a, int64_t id, struct review_row *out)
{
	struct review_query q;
	struct get_ctx g = { out, false };

	review_query_init(&q);
	q.after_id = id - 1;
	q.limit = 1;
	memset(out, 0, sizeof(*out));
	if (archive_scan(a, &q, get_one, &g) < 0)
		return -1;
	if (g.found && out->id != id) {
		review_row_free(out);
		g.found = false;
	}
	return g.found ? 0 : 1;
}

static int keep_id(const struct review_row *row, void *arg)
{
	*(int64_t *)arg = row->id;
	return 1;
}

int64_t archive_max_id(struct archive *a)
{
	struct review_query q;
	int64_t id = 0;

	review_query_init(&q);
	q.limit = 1;
	q.newest_first = true;
	if (archive_scan(a, &q, keep_id, &id) < 0)
		return -1;
	return id;
}

int archive_daily(struct archive *a, int64_t since, archive_day_fn fn, void *arg)
{
	return a->ops->daily(a, since, fn, arg);
}

int archive_hit_counts(struct archive *a, int64_t since, archive_count_fn fn, void *arg)
{
	return a->ops->hit_counts(a, since, fn, arg);
}

static int collect_one(const struct review_row *row, void *arg)
{
	struct row_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct review_row *r = realloc(l->rows, cap * sizeof(*r));

		if (!r)
			return -1;
		l->rows = r;
		l->cap = cap;
	}
	if (!review_row_copy(&l->rows[l->n], row))
		return -1;
	l->n++;
	return 0;
}

int archive_collect(struct archive *a, const struct review_query *q, struct row_list *out)
{
	memset(out, 0, sizeof(*out));
	if (archive_scan(a, q, collect_one, out) < 0) {
		if (!a->err[0])
			archive_set_error(a, "collect", "out of memory");
		row_list_free(out);
		return -1;
	}
	return 0;
}

void row_list_free(struct row_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		review_row_free(&l->rows[i]);
	free(l->rows);
	memset(l, 0, sizeof(*l));
}
