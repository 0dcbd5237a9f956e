/* A JSON-lines file (imwire read, jsonl_file=) as an archive: each scan
 * reads the file from the start, so lines appended by a running writer
 * are seen; the row id is the line number. Lines that are not JSON
 * objects are counted and skipped, never fatal. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "review/archive.h"
#include "util/bytebuf.h"
#include "util/text.h"

struct jsonl_archive {
	char *path;
	uint64_t bad_lines;
};

static char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_is_string(v) ? json_string_value(v) : "";

	return text_utf8_or_latin1((const uint8_t *)s, json_is_string(v) ? json_string_length(v) : 0);
}

/* An optional field: NULL when the archive has no such column. */
static bool opt_str(json_t *o, const char *key, unsigned cols, unsigned bit, char **out)
{
	json_t *v = json_object_get(o, key);
	struct bytebuf b;
	size_t i;

	*out = NULL;
	if (!(cols & bit))
		return true;
	if (json_is_array(v)) {
		bytebuf_init(&b);
		for (i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);

			if (!json_is_string(e))
				continue;
			if ((b.len && !bytebuf_append_byte(&b, ',')) ||
			    !bytebuf_append_str(&b, json_string_value(e))) {
				bytebuf_free(&b);
				return false;
			}
		}
		if (!bytebuf_terminate(&b)) {
			bytebuf_free(&b);
			return false;
		}
		*out = b.data ? (char *)b.data : strdup("");
		return *out != NULL;
	}
	*out = str_of(o, key);
	return *out != NULL;
}

static bool row_from_json(struct review_row *r, json_t *o, int64_t line, unsigned cols)
{
	json_t *ts = json_object_get(o, "ts"), *dir = json_object_get(o, "dir");
	const char *kind;

	memset(r, 0, sizeof(*r));
	r->id = line;
	r->ts = json_is_number(ts) ? (int64_t)json_number_value(ts) : 0;
	r->outgoing = json_is_string(dir) && strcmp(json_string_value(dir), "out") == 0;
	r->filtered = json_is_true(json_object_get(o, "filtered"));
	r->group = json_is_true(json_object_get(o, "group"));
	if (!(r->proto = str_of(o, "proto")) || !(r->client = str_of(o, "client")) ||
	    !(r->local = str_of(o, "local")) || !(r->remote = str_of(o, "remote")) ||
	    !(r->text = str_of(o, "text")) || !(r->kind = str_of(o, "kind")) ||
	    !opt_str(o, "sensor", cols, REVIEW_COL_SENSOR, &r->sensor) ||
	    !opt_str(o, "action", cols, REVIEW_COL_ACTION, &r->action) ||
	    !opt_str(o, "rule", cols, REVIEW_COL_RULE, &r->rule) ||
	    !opt_str(o, "categories", cols, REVIEW_COL_CATEGORIES, &r->categories) ||
	    !opt_str(o, "delivered_text", cols, REVIEW_COL_DELIVERED, &r->delivered_text) ||
	    !opt_str(o, "session", cols, REVIEW_COL_SESSION, &r->session)) {
		review_row_free(r);
		return false;
	}
	kind = r->kind;
	r->type = review_kind_type(kind);
	if (r->type < 0)
		r->type = 0;
	/* As the SQL sinks store them: no data for typing and webcam. */
	if (r->type == 3 || r->type == 4)
		r->text[0] = '\0';
	return true;
}

struct ring {
	struct review_row *rows;
	size_t n, cap, next;
};

/* Where a scan's matching rows go: straight to fn, into the ring (the
 * newest N), or all of them kept (sorted by time, or newest first
 * without a limit). */
struct scan {
	const struct review_query *q;
	archive_row_fn fn;
	void *arg;
	struct ring ring;
	struct row_list all;
	bool keep_all;
	size_t emitted;
};

/* Line number no as a row: 1, 0 when the line is no JSON object (counted
 * and skipped), -1 out of memory. */
static int row_of_line(struct jsonl_archive *c, const char *line, size_t n, int64_t no,
		       unsigned cols, struct review_row *row)
{
	json_t *o = json_loadb(line, n, 0, NULL);
	bool ok;

	if (!json_is_object(o)) {
		json_decref(o);
		c->bad_lines++;
		return 0;
	}
	ok = row_from_json(row, o, no, cols);
	json_decref(o);
	return ok ? 1 : -1;
}

/* The ring keeps the newest cap rows, the oldest overwritten. */
static void ring_put(struct ring *ring, struct review_row *row)
{
	review_row_free(&ring->rows[ring->next]);
	ring->rows[ring->next] = *row;
	ring->next = (ring->next + 1) % ring->cap;
	if (ring->n < ring->cap)
		ring->n++;
}

static bool all_put(struct row_list *all, struct review_row *row)
{
	if (all->n == all->cap) {
		size_t nc = all->cap ? all->cap * 2 : 256;
		struct review_row *r = realloc(all->rows, nc * sizeof(*r));

		if (!r) {
			review_row_free(row);
			return false;
		}
		all->rows = r;
		all->cap = nc;
	}
	all->rows[all->n++] = *row;
	return true;
}

/* A matching row, taken over: fn's answer, 1 once the limit is reached
 * (the rest need not be read), -1 out of memory. */
static int scan_take(struct scan *sc, struct review_row *row)
{
	int cb;

	if (sc->ring.rows) {
		ring_put(&sc->ring, row);
		return 0;
	}
	if (sc->keep_all)
		return all_put(&sc->all, row) ? 0 : -1;
	cb = sc->fn(row, sc->arg);
	review_row_free(row);
	if (cb == 0 && sc->q->limit && ++sc->emitted >= sc->q->limit)
		cb = 1;
	return cb;
}

/* What the ring or the list kept, to fn (unless cb already stopped the
 * scan), then freed. */
static int scan_finish(struct scan *sc, int cb)
{
	const struct review_query *q = sc->q;
	struct ring *ring = &sc->ring;
	size_t i;

	for (i = 0; cb == 0 && i < ring->n; i++) {
		size_t k = (ring->next + ring->cap - 1 - i) % ring->cap;

		cb = sc->fn(&ring->rows[k], sc->arg);
	}
	for (i = 0; i < ring->cap; i++)
		review_row_free(&ring->rows[i]);
	free(ring->rows);
	if (sc->keep_all && cb == 0) {
		/* Lines are in write order, which is time order: ts ties keep it. */
		for (i = 0; cb == 0 && i < sc->all.n && (!q->limit || i < q->limit); i++)
			cb = sc->fn(&sc->all.rows[q->newest_first ? sc->all.n - 1 - i : i], sc->arg);
	}
	row_list_free(&sc->all);
	return cb;
}

/* Every line through fn (id ascending); newest_first with a limit keeps
 * the last N in a ring and hands them out newest first. */
static int jsonl_scan(struct archive *a, const struct review_query *q, archive_row_fn fn,
		      void *arg)
{
	struct jsonl_archive *c = a->ctx;
	struct scan sc = { q, fn, arg, { 0 }, { 0 }, q->by_time || (q->newest_first && !q->limit), 0 };
	struct review_row row;
	FILE *f = fopen(c->path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t no = 0;
	int cb = 0, got;

	if (!f) {
		archive_set_error(a, c->path, strerror(errno));
		return -1;
	}
	if (q->newest_first && q->limit && !q->by_time) {
		sc.ring.cap = q->limit;
		sc.ring.rows = calloc(sc.ring.cap, sizeof(*sc.ring.rows));
		if (!sc.ring.rows) {
			fclose(f);
			archive_set_error(a, "scan", "out of memory");
			return -1;
		}
	}
	while (cb == 0 && (n = getline(&line, &cap, f)) > 0) {
		got = row_of_line(c, line, (size_t)n, ++no, a->cols, &row);
		if (got < 0)
			cb = -1;
		else if (got && !review_row_matches(&row, q))
			review_row_free(&row);
		else if (got)
			cb = scan_take(&sc, &row);
	}
	free(line);
	fclose(f);
	cb = scan_finish(&sc, cb);
	if (cb < 0 && !a->err[0])
		archive_set_error(a, "scan", "out of memory");
	return cb < 0 ? -1 : 0;
}

struct day_cell {
	int64_t day;
	char proto[16];
	int64_t events, hits;
};

struct daily_acc {
	struct day_cell *cells;
	size_t n, cap;
	int64_t since;
};

static int daily_add(const struct review_row *r, void *arg)
{
	struct daily_acc *d = arg;
	int64_t day = r->ts / 86400;
	size_t i;

	if (d->since && r->ts < d->since)
		return 0;
	for (i = 0; i < d->n; i++)
		if (d->cells[i].day == day && strncmp(d->cells[i].proto, r->proto, 15) == 0)
			break;
	if (i == d->n) {
		if (d->n == d->cap) {
			size_t nc = d->cap ? d->cap * 2 : 64;
			void *p = realloc(d->cells, nc * sizeof(*d->cells));

			if (!p)
				return -1;
			d->cells = p;
			d->cap = nc;
		}
		memset(&d->cells[i], 0, sizeof(d->cells[i]));
		d->cells[i].day = day;
		snprintf(d->cells[i].proto, sizeof(d->cells[i].proto), "%s", r->proto);
		d->n++;
	}
	d->cells[i].events++;
	if (review_row_is_hit(r))
		d->cells[i].hits++;
	return 0;
}

static int cell_cmp(const void *x, const void *y)
{
	const struct day_cell *a = x, *b = y;

	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return strcmp(a->proto, b->proto);
}

static int jsonl_daily(struct archive *a, int64_t since, archive_day_fn fn, void *arg)
{
	struct review_query q;
	struct daily_acc d = { 0 };
	size_t i;
	int cb = 0;

	review_query_init(&q);
	q.since = since;
	d.since = since;
	if (jsonl_scan(a, &q, daily_add, &d) < 0) {
		free(d.cells);
		return -1;
	}
	if (d.n)
		qsort(d.cells, d.n, sizeof(*d.cells), cell_cmp);
	for (i = 0; cb == 0 && i < d.n; i++)
		cb = fn(d.cells[i].day, d.cells[i].proto, d.cells[i].events, d.cells[i].hits, arg);
	free(d.cells);
	return cb < 0 ? -1 : 0;
}

/* Hits by protocol (the rule and action fields come with issue #22's
 * records; by then they are counted by rule). */
static int hit_add(const struct review_row *r, void *arg)
{
	struct daily_acc *d = arg;
	struct review_row k = *r;

	if (!review_row_is_hit(r))
		return 0;
	k.ts = 0;
	if (r->rule && *r->rule)
		k.proto = r->rule;
	else if (r->action && *r->action)
		k.proto = r->action;
	return daily_add(&k, d);
}

static int jsonl_hit_counts(struct archive *a, int64_t since, archive_count_fn fn, void *arg)
{
	struct review_query q;
	struct daily_acc d = { 0 };
	size_t i;
	int cb = 0;

	review_query_init(&q);
	q.since = since;
	if (jsonl_scan(a, &q, hit_add, &d) < 0) {
		free(d.cells);
		return -1;
	}
	for (i = 0; cb == 0 && i < d.n && i < 20; i++)
		cb = fn(d.cells[i].proto, d.cells[i].events, arg);
	free(d.cells);
	return cb < 0 ? -1 : 0;
}

static void jsonl_close(struct archive *a)
{
	struct jsonl_archive *c = a->ctx;

	if (!c)
		return;
	free(c->path);
	free(c);
}

static const struct archive_ops jsonl_archive_ops = {
	.name = "jsonl",
	.scan = jsonl_scan,
	.daily = jsonl_daily,
	.hit_counts = jsonl_hit_counts,
	.close = jsonl_close,
};

/* The optional fields: those the first object of the file has. */
static int read_columns(struct archive *a)
{
	struct jsonl_archive *c = a->ctx;
	FILE *f = fopen(c->path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	const char *key;
	json_t *o = NULL, *v;

	if (!f) {
		archive_set_error(a, c->path, strerror(errno));
		return -1;
	}
	while (!o && (n = getline(&line, &cap, f)) > 0) {
		o = json_loadb(line, (size_t)n, 0, NULL);
		if (!json_is_object(o)) {
			json_decref(o);
			o = NULL;
		}
	}
	free(line);
	fclose(f);
	a->cols = REVIEW_COL_KIND | REVIEW_COL_GROUP;
	if (o) {
		json_object_foreach(o, key, v)
			a->cols |= review_column_from_name(key);
		json_decref(o);
	}
	/* The JSON-lines `group` and `kind` fields are always written. */
	a->cols |= REVIEW_COL_KIND | REVIEW_COL_GROUP;
	return 0;
}

int archive_jsonl_open(struct archive *a, const char *path)
{
	struct jsonl_archive *c = calloc(1, sizeof(*c));

	if (!c || !(c->path = strdup(path))) {
		free(c);
		archive_set_error(a, "jsonl", "out of memory");
		return -1;
	}
	a->ops = &jsonl_archive_ops;
	a->ctx = c;
	if (read_columns(a) < 0) {
		char err[sizeof(a->err)];

		memcpy(err, a->err, sizeof(err));
		archive_close(a);
		memcpy(a->err, err, sizeof(err));
		return -1;
	}
	return 0;
}
