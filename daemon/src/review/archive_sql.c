#include "review/archive_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

/* InnoDB's FULLTEXT skips words shorter than innodb_ft_min_token_size (3)
 * and its default stopwords: those are matched with LIKE instead. */
static const char *const innodb_stopwords[] = {
	"about", "are", "com", "for", "from", "how", "that", "the", "this", "was", "what",
	"when", "where", "who", "will", "with", "und", "www",
};

void sql_stmt_free(struct sql_stmt *st)
{
	size_t i;

	bytebuf_free(&st->sql);
	for (i = 0; i < st->n_params; i++)
		free(st->params[i].s);
	memset(st, 0, sizeof(*st));
}

struct gen {
	struct sql_stmt *st;
	enum sql_dialect d;
	bool ok;
	bool first_cond;
};

static void put(struct gen *g, const char *s)
{
	if (g->ok)
		g->ok = bytebuf_append_str(&g->st->sql, s);
}

static void col(struct gen *g, const char *name)
{
	const char *q = g->d == SQL_MYSQL ? "`" : "\"";

	put(g, q);
	put(g, name);
	put(g, q);
}

static void placeholder(struct gen *g)
{
	char n[16];

	if (g->d != SQL_PGSQL) {
		put(g, "?");
		return;
	}
	snprintf(n, sizeof(n), "$%zu", g->st->n_params);
	put(g, n);
}

static void param_int(struct gen *g, int64_t v)
{
	struct sql_stmt *st = g->st;

	if (st->n_params == SQL_MAX_PARAMS) {
		g->ok = false;
		return;
	}
	st->params[st->n_params].is_int = true;
	st->params[st->n_params++].i = v;
	placeholder(g);
}

/* The text s, or prefix + s escaped for LIKE + suffix. */
static void param_str(struct gen *g, const char *prefix, const char *s, size_t n, bool like,
		      const char *suffix)
{
	struct sql_stmt *st = g->st;
	struct bytebuf b;
	size_t i;

	if (st->n_params == SQL_MAX_PARAMS) {
		g->ok = false;
		return;
	}
	bytebuf_init(&b);
	g->ok = g->ok && bytebuf_append_str(&b, prefix);
	for (i = 0; g->ok && i < n; i++) {
		if (like && (s[i] == '%' || s[i] == '_' || s[i] == '\\'))
			g->ok = bytebuf_append_byte(&b, '\\');
		g->ok = g->ok && bytebuf_append_byte(&b, (uint8_t)s[i]);
	}
	g->ok = g->ok && bytebuf_append_str(&b, suffix) && bytebuf_terminate(&b);
	if (!g->ok) {
		bytebuf_free(&b);
		return;
	}
	st->params[st->n_params].is_int = false;
	st->params[st->n_params++].s = (char *)b.data;
	placeholder(g);
}

static void like_escape(struct gen *g)
{
	put(g, g->d == SQL_MYSQL ? " ESCAPE '\\\\'" : " ESCAPE '\\'");
}

static void cond(struct gen *g)
{
	put(g, g->first_cond ? " WHERE " : " AND ");
	g->first_cond = false;
}

static void ts_col(struct gen *g)
{
	col(g, "timestamp");
}

static void ts_bound(struct gen *g, const char *op, int64_t v)
{
	cond(g);
	ts_col(g);
	put(g, op);
	if (g->d == SQL_PGSQL)
		put(g, "to_timestamp(");
	param_int(g, v);
	if (g->d == SQL_PGSQL)
		put(g, ")");
}

/* column = id, or column LIKE 'id/%' (an XMPP resource). */
static void id_cond(struct gen *g, const char *column, const char *id)
{
	cond(g);
	put(g, "(");
	col(g, column);
	put(g, " = ");
	param_str(g, "", id, strlen(id), false, "");
	put(g, " OR ");
	col(g, column);
	if (g->d == SQL_SQLITE) {
		/* A range, which the index serves ('0' follows '/'): SQLite's
		 * LIKE is case-insensitive and would scan the table. */
		put(g, " >= ");
		param_str(g, "", id, strlen(id), false, "/");
		put(g, " AND ");
		col(g, column);
		put(g, " < ");
		param_str(g, "", id, strlen(id), false, "0");
		put(g, ")");
		return;
	}
	put(g, " LIKE ");
	param_str(g, "", id, strlen(id), true, "/%");
	like_escape(g);
	put(g, ")");
}

static void like_text(struct gen *g, const char *w, size_t n)
{
	cond(g);
	if (g->d == SQL_MYSQL)
		put(g, "CONVERT(`eventdata` USING utf8mb4)");
	else
		col(g, "eventdata");
	put(g, g->d == SQL_PGSQL ? " ILIKE " : " LIKE ");
	param_str(g, "%", w, n, true, "%");
	like_escape(g);
}

static bool innodb_indexes(const char *w, size_t n)
{
	size_t i;

	if (n < 3)
		return false;
	for (i = 0; i < sizeof(innodb_stopwords) / sizeof(innodb_stopwords[0]); i++)
		if (strlen(innodb_stopwords[i]) == n && strncasecmp(innodb_stopwords[i], w, n) == 0)
			return false;
	return true;
}

static void text_cond(struct gen *g, unsigned cols, const char *text)
{
	const char *p = text, *w;
	struct bytebuf terms;
	size_t n;

	bytebuf_init(&terms);
	if (g->d == SQL_PGSQL) {
		/* The expression of the GIN index (review_index.c), word for word. */
		cond(g);
		put(g, "to_tsvector('simple', coalesce(\"eventdata\", '')) @@ plainto_tsquery('simple', ");
		param_str(g, "", text, strlen(text), false, "");
		put(g, ")");
		return;
	}
	while ((w = review_next_word(&p, &n))) {
		if (g->d == SQL_SQLITE && (cols & REVIEW_COL_FTS)) {
			/* An FTS5 string per word: implicit AND, no operators. */
			g->ok = g->ok && bytebuf_append_str(&terms, terms.len ? " \"" : "\"") &&
				bytebuf_append(&terms, w, n) && bytebuf_append_byte(&terms, '"');
		} else if (g->d == SQL_MYSQL && (cols & REVIEW_COL_FTS) && innodb_indexes(w, n)) {
			g->ok = g->ok && bytebuf_append_str(&terms, terms.len ? " +\"" : "+\"") &&
				bytebuf_append(&terms, w, n) && bytebuf_append_byte(&terms, '"');
		} else {
			like_text(g, w, n);
		}
	}
	if (terms.len && g->d == SQL_SQLITE) {
		cond(g);
		put(g, "\"id\" IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ");
		param_str(g, "", (const char *)terms.data, terms.len, false, "");
		put(g, ")");
	} else if (terms.len) {
		cond(g);
		put(g, "MATCH(`eventtext`) AGAINST (");
		param_str(g, "", (const char *)terms.data, terms.len, false, "");
		put(g, " IN BOOLEAN MODE)");
	}
	bytebuf_free(&terms);
}

/* The optional columns a SELECT reads, in bit order. */
static const unsigned optional_cols[] = {
	REVIEW_COL_SENSOR, REVIEW_COL_KIND,	  REVIEW_COL_GROUP,	      REVIEW_COL_ACTION,
	REVIEW_COL_RULE,   REVIEW_COL_CATEGORIES, REVIEW_COL_DELIVERED, REVIEW_COL_SESSION,
};

static void hits_cond(struct gen *g, unsigned cols)
{
	cond(g);
	put(g, "(");
	col(g, "filtered");
	put(g, " <> 0");
	if (cols & REVIEW_COL_ACTION) {
		put(g, " OR (");
		col(g, "action");
		put(g, " IS NOT NULL AND ");
		col(g, "action");
		put(g, " NOT IN ('', 'forwarded'))");
	}
	if (cols & REVIEW_COL_CATEGORIES) {
		put(g, " OR (");
		col(g, "categories");
		put(g, " IS NOT NULL AND ");
		col(g, "categories");
		put(g, " <> '')");
	}
	put(g, ")");
}

static void contains_cond(struct gen *g, const char *column, const char *s)
{
	cond(g);
	col(g, column);
	put(g, " LIKE ");
	param_str(g, "%", s, strlen(s), true, "%");
	like_escape(g);
}

/* column = 'value', a parameter */
static void eq_str(struct gen *g, const char *column, const char *value)
{
	cond(g);
	col(g, column);
	put(g, " = ");
	param_str(g, "", value, strlen(value), false, "");
}

/* column = n, a parameter */
static void eq_int(struct gen *g, const char *column, int64_t n)
{
	cond(g);
	col(g, column);
	put(g, " = ");
	param_int(g, n);
}

/* IMSpector's ten columns, then the optional ones the table has. */
static void select_columns(struct gen *g, unsigned cols)
{
	static const char *const tail[] = { "clientaddress", "protocolname", "outgoing", "type",
					    "localid",       "remoteid",     "filtered", "eventdata" };
	size_t i;

	put(g, "SELECT ");
	col(g, "id");
	put(g, ", ");
	if (g->d == SQL_PGSQL)
		put(g, "CAST(EXTRACT(EPOCH FROM \"timestamp\") AS bigint)");
	else
		ts_col(g);
	for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
		put(g, ", ");
		col(g, tail[i]);
	}
	for (i = 0; i < sizeof(optional_cols) / sizeof(optional_cols[0]); i++) {
		if (!(cols & optional_cols[i]))
			continue;
		put(g, ", ");
		col(g, review_column_name((enum review_column)optional_cols[i]));
		g->st->cols |= optional_cols[i];
	}
}

/* Who, which protocol, what kind, which direction. */
static void where_parties(struct gen *g, unsigned cols, const struct review_query *q)
{
	const char *imw, *imsp;
	int t;

	if (q->after_id) {
		cond(g);
		col(g, "id");
		put(g, " > ");
		param_int(g, q->after_id);
	}
	if (q->local)
		id_cond(g, "localid", q->local);
	if (q->remote)
		id_cond(g, "remoteid", q->remote);
	if (q->proto && review_proto_names(q->proto, &imw, &imsp))
		eq_str(g, "protocolname", imsp);
	if (q->kind && (cols & REVIEW_COL_KIND))
		eq_str(g, "kind", q->kind);
	else if (q->kind && (t = review_kind_type(q->kind)) >= 0)
		eq_int(g, "type", t);
	if (q->threads_only) {
		cond(g);
		col(g, "type");
		put(g, " IN (1, 2, 4)");
	}
	if (q->dir != REVIEW_DIR_ANY)
		eq_int(g, "outgoing", q->dir);
}

/* When, what policy did, what the text holds. */
static void where_content(struct gen *g, unsigned cols, const struct review_query *q)
{
	if (q->since)
		ts_bound(g, " >= ", q->since);
	if (q->until)
		ts_bound(g, " < ", q->until);
	if (q->action)
		eq_str(g, "action", q->action);
	if (q->rule)
		contains_cond(g, "rule", q->rule);
	if (q->category)
		contains_cond(g, "categories", q->category);
	if (q->hits_only)
		hits_cond(g, cols);
	if (q->text)
		text_cond(g, cols, q->text);
}

static void order_and_limit(struct gen *g, const struct review_query *q)
{
	char lim[32];

	put(g, " ORDER BY ");
	if (q->by_time) {
		ts_col(g);
		put(g, ", ");
	}
	col(g, "id");
	if (q->newest_first)
		put(g, " DESC");
	if (q->limit) {
		snprintf(lim, sizeof(lim), " LIMIT %zu", q->limit);
		put(g, lim);
	}
}

bool sql_build_select(struct sql_stmt *st, enum sql_dialect d, unsigned cols,
		      const struct review_query *q)
{
	struct gen g = { st, d, true, true };

	memset(st, 0, sizeof(*st));
	bytebuf_init(&st->sql);
	st->cols = 0;
	select_columns(&g, cols);
	put(&g, " FROM ");
	col(&g, "messages");
	where_parties(&g, cols, q);
	where_content(&g, cols, q);
	order_and_limit(&g, q);
	if (!g.ok || !bytebuf_terminate(&st->sql)) {
		sql_stmt_free(st);
		return false;
	}
	return true;
}

bool sql_build_daily(struct sql_stmt *st, enum sql_dialect d, int64_t since)
{
	struct gen g = { st, d, true, true };

	memset(st, 0, sizeof(*st));
	bytebuf_init(&st->sql);
	if (d == SQL_PGSQL)
		put(&g, "SELECT CAST(floor(EXTRACT(EPOCH FROM \"timestamp\") / 86400) AS bigint), "
			"\"protocolname\", count(*), sum(CASE WHEN \"filtered\" <> 0 THEN 1 ELSE 0 END)"
			" FROM \"messages\"");
	else if (d == SQL_MYSQL)
		put(&g, "SELECT `timestamp` DIV 86400, `protocolname`, count(*),"
			" sum(`filtered` <> 0) FROM `messages`");
	else
		put(&g, "SELECT \"timestamp\" / 86400, \"protocolname\", count(*),"
			" sum(\"filtered\" <> 0) FROM \"messages\"");
	if (since)
		ts_bound(&g, " >= ", since);
	put(&g, " GROUP BY 1, 2 ORDER BY 1, 2");
	if (!g.ok || !bytebuf_terminate(&st->sql)) {
		sql_stmt_free(st);
		return false;
	}
	return true;
}

bool sql_build_hit_counts(struct sql_stmt *st, enum sql_dialect d, unsigned cols, int64_t since)
{
	struct gen g = { st, d, true, true };
	const char *label = (cols & REVIEW_COL_RULE)     ? "rule"
			    : (cols & REVIEW_COL_ACTION) ? "action"
							 : "protocolname";

	memset(st, 0, sizeof(*st));
	bytebuf_init(&st->sql);
	put(&g, "SELECT ");
	col(&g, label);
	put(&g, ", count(*) FROM ");
	col(&g, "messages");
	hits_cond(&g, cols);
	if (strcmp(label, "protocolname") != 0) {
		cond(&g);
		col(&g, label);
		put(&g, " IS NOT NULL");
	}
	if (since)
		ts_bound(&g, " >= ", since);
	put(&g, " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20");
	if (!g.ok || !bytebuf_terminate(&st->sql)) {
		sql_stmt_free(st);
		return false;
	}
	return true;
}

static bool take(char **field, const char *v, size_t n)
{
	*field = text_utf8_or_latin1((const uint8_t *)(v ? v : ""), v ? n : 0);
	return *field != NULL;
}

static bool take_optional(char **field, const char *v, size_t n)
{
	if (!v) {
		*field = strdup("");
		return *field != NULL;
	}
	return take(field, v, n);
}

bool sql_row_decode(struct review_row *r, unsigned cols, const char *const *v, const size_t *len,
		    size_t n)
{
	size_t i, k = 10;

	memset(r, 0, sizeof(*r));
	r->group = -1;
	if (n < 10)
		return false;
	r->id = v[0] ? strtoll(v[0], NULL, 10) : 0;
	r->ts = v[1] ? strtoll(v[1], NULL, 10) : 0;
	r->outgoing = v[4] ? atoi(v[4]) : 0;
	r->type = v[5] ? atoi(v[5]) : 0;
	r->filtered = v[8] ? atoi(v[8]) != 0 : 0;
	if (!take(&r->client, v[2], len[2]) || !take(&r->proto, v[3], len[3]) ||
	    !take(&r->local, v[6], len[6]) || !take(&r->remote, v[7], len[7]) ||
	    !take(&r->text, v[9], len[9]))
		goto fail;
	for (i = 0; i < sizeof(optional_cols) / sizeof(optional_cols[0]); i++) {
		char **field = NULL;

		if (!(cols & optional_cols[i]))
			continue;
		if (k >= n)
			goto fail;
		switch (optional_cols[i]) {
		case REVIEW_COL_GROUP:
			r->group = v[k] && (v[k][0] == '1' || v[k][0] == 't' || v[k][0] == 'T');
			k++;
			continue;
		case REVIEW_COL_SENSOR:
			field = &r->sensor;
			break;
		case REVIEW_COL_KIND:
			field = &r->kind;
			break;
		case REVIEW_COL_ACTION:
			field = &r->action;
			break;
		case REVIEW_COL_RULE:
			field = &r->rule;
			break;
		case REVIEW_COL_CATEGORIES:
			field = &r->categories;
			break;
		case REVIEW_COL_DELIVERED:
			field = &r->delivered_text;
			break;
		default:
			field = &r->session;
			break;
		}
		if (!take_optional(field, v[k], len[k]))
			goto fail;
		k++;
	}
	return true;
fail:
	review_row_free(r);
	return false;
}
