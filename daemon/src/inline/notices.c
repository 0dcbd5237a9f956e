#include "inline/notices.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEFERRED_NOTICES 256

static void drop_at(struct notice_queue *q, size_t i)
{
	free(q->v[i].bytes);
	memmove(q->v + i, q->v + i + 1, (q->n - i - 1) * sizeof(*q->v));
	q->n--;
}

void notices_defer(struct notice_queue *q, uint64_t flow_id, const uint8_t *bytes, size_t len,
		   int pdus, struct engine_stats *st)
{
	struct deferred_notice *dn;

	if (q->n == MAX_DEFERRED_NOTICES) {
		drop_at(q, 0);
		st->notices_dropped++;
	}
	if (!q->v) {
		q->v = calloc(MAX_DEFERRED_NOTICES, sizeof(*q->v));
		if (!q->v) {
			st->alloc_failures++;
			return;
		}
	}
	dn = &q->v[q->n];
	dn->bytes = malloc(len ? len : 1);
	if (!dn->bytes) {
		st->alloc_failures++;
		return;
	}
	memcpy(dn->bytes, bytes, len);
	dn->len = len;
	dn->flow_id = flow_id;
	dn->pdus = pdus;
	q->n++;
}

const struct deferred_notice *notices_first(const struct notice_queue *q, uint64_t flow_id)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (q->v[i].flow_id == flow_id)
			return &q->v[i];
	return NULL;
}

void notices_remove(struct notice_queue *q, const struct deferred_notice *dn)
{
	drop_at(q, (size_t)(dn - q->v));
}

void notices_forget(struct notice_queue *q, uint64_t flow_id, struct engine_stats *st)
{
	size_t i;

	for (i = q->n; i-- > 0;) {
		if (q->v[i].flow_id == flow_id) {
			drop_at(q, i);
			st->notices_dropped++;
		}
	}
}

void notices_free(struct notice_queue *q)
{
	while (q->n)
		drop_at(q, q->n - 1);
	free(q->v);
	q->v = NULL;
}
