#include "inline/outq.h"

#include <stdlib.h>
#include <string.h>

void engine_outq_init(struct engine_outq *q)
{
	memset(q, 0, sizeof(*q));
	bytebuf_init(&q->bytes);
}

void engine_outq_clear(struct engine_outq *q)
{
	q->n = 0;
	q->n_orig = 0;
	bytebuf_clear(&q->bytes);
}

void engine_outq_free(struct engine_outq *q)
{
	free(q->v);
	free(q->orig);
	bytebuf_free(&q->bytes);
	memset(q, 0, sizeof(*q));
}

static bool grow(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t want;
	void *g;

	if (n < *cap)
		return true;
	want = *cap ? *cap * 2 : first;
	g = realloc(*v, want * size);
	if (!g)
		return false;
	*v = g;
	*cap = want;
	return true;
}

static void count(struct engine_stats *st, enum verdict_kind kind)
{
	switch (kind) {
	case VERDICT_ACCEPT:
		st->accepted++;
		break;
	case VERDICT_ACCEPT_MODIFIED:
		st->modified++;
		break;
	case VERDICT_DROP:
		st->dropped++;
		break;
	}
}

static bool push_verdict(struct engine_outq *q, uint32_t id, enum verdict_kind kind,
			 const uint8_t *data, size_t len)
{
	struct verdict *o;

	if (!grow((void **)&q->v, &q->cap, q->n, sizeof(*q->v), 64))
		return false;
	o = &q->v[q->n];
	o->id = id;
	o->kind = kind;
	o->offset = q->bytes.len;
	o->len = len;
	if (kind == VERDICT_ACCEPT_MODIFIED && !bytebuf_append(&q->bytes, data, len))
		return false;
	q->n++;
	return true;
}

static bool push_origin(struct engine_outq *q, const uint8_t *data, size_t len,
			const struct egress_link *link)
{
	struct engine_origin *o;

	if (!grow((void **)&q->orig, &q->cap_orig, q->n_orig, sizeof(*q->orig), 8))
		return false;
	o = &q->orig[q->n_orig];
	o->offset = q->bytes.len;
	o->len = len;
	o->link = *link;
	if (!bytebuf_append(&q->bytes, data, len))
		return false;
	q->n_orig++;
	return true;
}

bool outq_verdict(struct engine_outq *q, struct engine_stats *st, uint32_t id,
		  enum verdict_kind kind, const uint8_t *data, size_t len)
{
	if (!push_verdict(q, id, kind, data, len)) {
		st->alloc_failures++;
		return false;
	}
	count(st, kind);
	return true;
}

uint8_t *outq_verdict_space(struct engine_outq *q, struct engine_stats *st, uint32_t id,
			    size_t len)
{
	struct verdict *o;
	uint8_t *p;

	if (!grow((void **)&q->v, &q->cap, q->n, sizeof(*q->v), 64) ||
	    !bytebuf_reserve(&q->bytes, len)) {
		st->alloc_failures++;
		return NULL;
	}
	o = &q->v[q->n++];
	o->id = id;
	o->kind = VERDICT_ACCEPT_MODIFIED;
	o->offset = q->bytes.len;
	o->len = len;
	p = q->bytes.data + q->bytes.len;
	q->bytes.len += len;
	count(st, VERDICT_ACCEPT_MODIFIED);
	return p;
}

bool outq_origin(struct engine_outq *q, struct engine_stats *st, const uint8_t *data, size_t len,
		 const struct egress_link *link)
{
	if (!push_origin(q, data, len, link)) {
		st->alloc_failures++;
		return false;
	}
	st->segments_originated++;
	return true;
}

void outq_move(struct engine_outq *dst, struct engine_outq *src, struct engine_stats *st)
{
	size_t i;

	/* Counted once already, when they were decided. */
	for (i = 0; i < src->n; i++) {
		const struct verdict *v = &src->v[i];
		const uint8_t *data =
			v->kind == VERDICT_ACCEPT_MODIFIED ? src->bytes.data + v->offset : NULL;

		if (!push_verdict(dst, v->id, v->kind, data, v->len))
			st->alloc_failures++;
	}
	for (i = 0; i < src->n_orig; i++) {
		const struct engine_origin *o = &src->orig[i];

		if (!push_origin(dst, src->bytes.data + o->offset, o->len, &o->link))
			st->alloc_failures++;
	}
	engine_outq_clear(src);
}
