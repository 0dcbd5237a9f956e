#include "inline/effects.h"

#include <stdlib.h>
#include <string.h>

void effects_init(struct effects *fx)
{
	memset(fx, 0, sizeof(*fx));
}

void effects_clear(struct effects *fx)
{
	size_t i;

	for (i = 0; i < fx->n; i++) {
		free(fx->v[i].bytes);
		free(fx->v[i].fallback.bytes);
		/* a log's strings are in its bytes (event_copy_packed) */
		if (fx->v[i].kind != EFFECT_LOG)
			event_free(&fx->v[i].ev);
	}
	fx->n = 0;
	fx->track = false;
}

void effects_free(struct effects *fx)
{
	effects_clear(fx);
	free(fx->v);
	memset(fx, 0, sizeof(*fx));
}

/* A zeroed effect at position at (later ones move up); NULL when out of memory. */
static struct effect *insert(struct effects *fx, size_t at, enum effect_kind kind)
{
	struct effect *e;

	if (fx->n == fx->cap) {
		size_t cap = fx->cap ? fx->cap * 2 : 8;
		struct effect *g = realloc(fx->v, cap * sizeof(*g));

		if (!g)
			return NULL;
		fx->v = g;
		fx->cap = cap;
	}
	memmove(fx->v + at + 1, fx->v + at, (fx->n - at) * sizeof(*fx->v));
	e = &fx->v[at];
	memset(e, 0, sizeof(*e));
	event_init(&e->ev);
	e->kind = kind;
	fx->n++;
	return e;
}

static void remove_last(struct effects *fx)
{
	fx->n--;
}

/* A copy of bytes into e; false when out of memory. */
static bool own_bytes(struct effect *e, const uint8_t *bytes, size_t len)
{
	e->len = len;
	if (!len)
		return true;
	e->bytes = malloc(len);
	if (!e->bytes)
		return false;
	memcpy(e->bytes, bytes, len);
	return true;
}

bool effects_edit(struct effects *fx, enum im_dir dir, uint64_t start, uint64_t end,
		  const uint8_t *bytes, size_t len, int pdu_delta)
{
	struct effect *e;
	size_t i;

	for (i = 0; i < fx->n; i++)
		if (fx->v[i].kind == EFFECT_EDIT && fx->v[i].dir == dir && fx->v[i].start == start &&
		    fx->v[i].end == end)
			return true;
	e = insert(fx, fx->n, EFFECT_EDIT);
	if (!e)
		return false;
	e->dir = dir;
	e->start = start;
	e->end = end;
	e->pdu_delta = pdu_delta;
	if (!own_bytes(e, bytes, len)) {
		remove_last(fx);
		return false;
	}
	return true;
}

bool effects_fallback(struct effects *fx, size_t at, uint64_t start, uint64_t end,
		      const uint8_t *bytes)
{
	struct effect_fallback *fb;
	size_t n = (size_t)(end - start);

	if (at >= fx->n || fx->v[at].kind != EFFECT_EDIT || fx->v[at].fallback.set)
		return false;
	fb = &fx->v[at].fallback;
	fb->bytes = malloc(n ? n : 1);
	if (!fb->bytes)
		return false;
	memcpy(fb->bytes, bytes, n);
	fb->start = start;
	fb->end = end;
	fb->set = true;
	return true;
}

bool effects_edit_near(const struct effects *fx, enum im_dir dir, uint64_t start, uint64_t end)
{
	size_t i;

	for (i = 0; i < fx->n; i++)
		if (fx->v[i].kind == EFFECT_EDIT && fx->v[i].dir == dir && fx->v[i].end >= start &&
		    fx->v[i].start <= end)
			return true;
	return false;
}

bool effects_deliver(struct effects *fx, unsigned worker, uint64_t flow_id, struct im_event *ev)
{
	struct effect *e = insert(fx, fx->n, EFFECT_DELIVER);

	if (!e)
		return false;
	e->worker = worker;
	e->flow_id = flow_id;
	e->ev = *ev;
	event_init(ev);
	return true;
}

bool effects_reply(struct effects *fx, const uint8_t *bytes, size_t len, int pdus)
{
	struct effect *e = insert(fx, fx->n, EFFECT_REPLY);

	if (!e)
		return false;
	e->pdus = pdus;
	if (!own_bytes(e, bytes, len)) {
		remove_last(fx);
		return false;
	}
	return true;
}

bool effects_log(struct effects *fx, size_t at, const struct im_event *ev)
{
	struct effect *e = insert(fx, at, EFFECT_LOG);

	if (!e)
		return false;
	/* one allocation for every string: there is a log per message */
	if (!event_copy_packed(&e->ev, ev, (void **)&e->bytes)) {
		memmove(fx->v + at, fx->v + at + 1, (fx->n - at - 1) * sizeof(*fx->v));
		fx->n--;
		return false;
	}
	return true;
}
