#include "review/thread.h"

#include <stdlib.h>
#include <string.h>

#include "util/bytebuf.h"

char *thread_normalize_id(const char *proto, const char *id)
{
	bool xmpp = strcmp(proto, "xmpp") == 0,
	     oscar = strcmp(proto, "oscar") == 0 || strcmp(proto, "toc") == 0;
	size_t n = strlen(id), i, k = 0;
	char *out;
	const char *slash;

	if (xmpp && (slash = strchr(id, '/')))
		n = (size_t)(slash - id);
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (oscar && c == ' ')
			continue;
		out[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[k] = '\0';
	return out;
}

char *thread_key(const struct review_row *r)
{
	const char *proto = review_proto_display(r->proto);
	char *local = NULL, *remote = NULL, *key = NULL;
	struct bytebuf b;
	bool group = review_row_is_group(r);

	bytebuf_init(&b);
	remote = thread_normalize_id(proto, r->remote ? r->remote : "");
	if (!group)
		local = thread_normalize_id(proto, r->local ? r->local : "");
	if (remote && (group || local) && bytebuf_append_str(&b, proto) &&
	    bytebuf_append_str(&b, group ? "\x1fgroup\x1f" : "\x1f") &&
	    (group || (bytebuf_append_str(&b, local) && bytebuf_append_byte(&b, 0x1f))) &&
	    bytebuf_append_str(&b, remote) && bytebuf_terminate(&b))
		key = (char *)b.data;
	else
		bytebuf_free(&b);
	free(local);
	free(remote);
	return key;
}

struct keyed {
	char *key;
	int64_t ts;
	int64_t id;
	size_t index;
};

static int keyed_cmp(const void *x, const void *y)
{
	const struct keyed *a = x, *b = y;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int conv_cmp(const void *x, const void *y)
{
	const struct conversation *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static bool add_participant(struct conversation *c, const char *name, size_t n)
{
	char **p;
	size_t i;

	if (n == 0)
		return true;
	for (i = 0; i < c->n_participants; i++)
		if (strlen(c->participants[i]) == n && strncmp(c->participants[i], name, n) == 0)
			return true;
	p = realloc(c->participants, (c->n_participants + 1) * sizeof(*p));
	if (!p)
		return false;
	c->participants = p;
	p[c->n_participants] = strndup(name, n);
	if (!p[c->n_participants])
		return false;
	c->n_participants++;
	return true;
}

/* The bare form of an id for display: without an XMPP resource. */
static size_t bare_len(const char *proto, const char *id)
{
	const char *slash = strcmp(proto, "xmpp") == 0 ? strchr(id, '/') : NULL;

	return slash ? (size_t)(slash - id) : strlen(id);
}

/* The sender named in an incoming group message ("nick: text"). */
static size_t sender_len(const char *text)
{
	const char *colon = strstr(text, ": ");
	size_t n;

	if (!colon)
		return 0;
	n = (size_t)(colon - text);
	if (n == 0 || n > 64 || memchr(text, ' ', n))
		return 0;
	return n;
}

static int conversation_start(struct conversation *c, const struct review_row *r, size_t index)
{
	const char *proto = review_proto_display(r->proto);

	memset(c, 0, sizeof(*c));
	c->id = r->id;
	c->group = review_row_is_group(r);
	c->start = c->end = r->ts;
	c->proto = strdup(proto);
	c->local = c->group ? strdup("") : strndup(r->local, bare_len(proto, r->local));
	c->remote = strndup(r->remote, bare_len(proto, r->remote));
	if (!c->proto || !c->local || !c->remote)
		return -1;
	(void)index;
	return 0;
}

static int conversation_add(struct conversation *c, const struct review_row *r, size_t index)
{
	const char *proto = review_proto_display(r->proto);
	size_t *rows = realloc(c->rows, (c->n_rows + 1) * sizeof(*rows));

	if (!rows)
		return -1;
	c->rows = rows;
	rows[c->n_rows++] = index;
	if (r->ts > c->end)
		c->end = r->ts;
	if (review_row_is_hit(r))
		c->n_hits++;
	if (!add_participant(c, r->local, bare_len(proto, r->local)))
		return -1;
	if (!c->group && !add_participant(c, r->remote, bare_len(proto, r->remote)))
		return -1;
	if (c->group && !r->outgoing && !add_participant(c, r->text, sender_len(r->text)))
		return -1;
	return 0;
}

void conversation_free(struct conversation *c)
{
	size_t i;

	free(c->proto);
	free(c->local);
	free(c->remote);
	for (i = 0; i < c->n_participants; i++)
		free(c->participants[i]);
	free(c->participants);
	free(c->rows);
	memset(c, 0, sizeof(*c));
}

void conversation_set_free(struct conversation_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		conversation_free(&set->conv[i]);
	free(set->conv);
	memset(set, 0, sizeof(*set));
}

int thread_build(const struct row_list *rows, int64_t gap, struct conversation_set *out)
{
	struct keyed *k = calloc(rows->n ? rows->n : 1, sizeof(*k));
	size_t i, cap = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!k)
		return -1;
	for (i = 0; i < rows->n; i++) {
		k[i].key = thread_key(&rows->rows[i]);
		if (!k[i].key)
			goto done;
		k[i].ts = rows->rows[i].ts;
		k[i].id = rows->rows[i].id;
		k[i].index = i;
	}
	qsort(k, rows->n, sizeof(*k), keyed_cmp);
	for (i = 0; i < rows->n; i++) {
		const struct review_row *r = &rows->rows[k[i].index];
		struct conversation *c = out->n ? &out->conv[out->n - 1] : NULL;
		bool same = i > 0 && strcmp(k[i].key, k[i - 1].key) == 0 && r->ts - c->end <= gap;

		if (!same) {
			if (out->n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct conversation *p = realloc(out->conv, nc * sizeof(*p));

				if (!p)
					goto done;
				out->conv = p;
				cap = nc;
			}
			c = &out->conv[out->n++];
			if (conversation_start(c, r, k[i].index) < 0)
				goto done;
		}
		if (conversation_add(c, r, k[i].index) < 0)
			goto done;
	}
	if (out->n)
		qsort(out->conv, out->n, sizeof(*out->conv), conv_cmp);
	rc = 0;
done:
	for (i = 0; i < rows->n; i++)
		free(k[i].key);
	free(k);
	if (rc < 0)
		conversation_set_free(out);
	return rc;
}

struct load_ctx {
	const char *key;
	int64_t anchor_id, anchor_ts, last_ts, gap;
	struct row_list *rows;
	int failed;
};

static int load_row(const struct review_row *r, void *arg)
{
	struct load_ctx *l = arg;
	char *key;
	bool same;

	if (r->ts > l->last_ts + l->gap)
		return 1; /* time order: nothing later can belong */
	if (r->ts == l->anchor_ts && r->id < l->anchor_id)
		return 0;
	key = thread_key(r);
	if (!key) {
		l->failed = 1;
		return -1;
	}
	same = strcmp(key, l->key) == 0;
	free(key);
	if (!same)
		return 0;
	if (l->rows->n == l->rows->cap) {
		size_t nc = l->rows->cap ? l->rows->cap * 2 : 64;
		struct review_row *p = realloc(l->rows->rows, nc * sizeof(*p));

		if (!p)
			return -1;
		l->rows->rows = p;
		l->rows->cap = nc;
	}
	if (!review_row_copy(&l->rows->rows[l->rows->n], r))
		return -1;
	l->rows->n++;
	l->last_ts = r->ts;
	return 0;
}

int thread_load(struct archive *a, int64_t id, int64_t gap, struct row_list *rows,
		struct conversation *out)
{
	struct review_row anchor;
	struct review_query q;
	struct load_ctx l;
	struct conversation_set set;
	int rc;

	memset(rows, 0, sizeof(*rows));
	memset(out, 0, sizeof(*out));
	rc = archive_get(a, id, &anchor);
	if (rc != 0)
		return rc;
	if (anchor.type != 1 && anchor.type != 2 && anchor.type != 4) {
		review_row_free(&anchor);
		return 1;
	}
	memset(&l, 0, sizeof(l));
	l.key = thread_key(&anchor);
	l.anchor_id = anchor.id;
	l.anchor_ts = l.last_ts = anchor.ts;
	l.gap = gap;
	l.rows = rows;
	review_query_init(&q);
	q.proto = anchor.proto;
	q.since = anchor.ts ? anchor.ts : 0;
	q.threads_only = true;
	q.by_time = true;
	rc = l.key ? archive_scan(a, &q, load_row, &l) : -1;
	free((char *)l.key);
	review_row_free(&anchor);
	if (rc < 0 || thread_build(rows, gap, &set) < 0 || set.n == 0) {
		if (rc >= 0 && !a->err[0])
			archive_set_error(a, "thread", "out of memory");
		row_list_free(rows);
		return -1;
	}
	/* One key, one run without a long pause: exactly one conversation. */
	*out = set.conv[0];
	set.conv[0] = (struct conversation){ 0 };
	conversation_set_free(&set);
	return 0;
}
