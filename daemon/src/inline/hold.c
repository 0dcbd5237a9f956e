#include "inline/hold.h"

#include <stdlib.h>
#include <string.h>

void hold_in_hand(struct held_packet *h, uint32_t id, const uint8_t *data, size_t len, bool gso,
		  const struct packet *pkt, uint64_t in_start, uint64_t in_end, double now)
{
	memset(h, 0, sizeof(*h));
	h->in_hand = true;
	h->id = id;
	h->data = (uint8_t *)data;
	h->len = len;
	h->gso = gso;
	h->pkt = *pkt;
	h->in_start = in_start;
	h->in_end = in_end;
	h->arrived = now; /* the bound behind a hole counts from here */
	h->since = now;
}

struct held_packet *hold_new(uint32_t id, const uint8_t *data, size_t len, bool gso,
			     const struct packet *pkt, uint64_t in_start, uint64_t in_end,
			     double now)
{
	struct held_packet *h = malloc(sizeof(*h));

	if (!h)
		return NULL;
	/* one way to fill a record, whether in hand or on the heap */
	hold_in_hand(h, id, data, len, gso, pkt, in_start, in_end, now);
	h->in_hand = false;
	return h;
}

void hold_insert(struct hold_queue *q, struct held_packet *h)
{
	struct held_packet **pp = &q->head;

	while (*pp && (*pp)->in_start <= h->in_start)
		pp = &(*pp)->next;
	h->next = *pp;
	*pp = h;
	if (!h->next)
		q->tail = h;
	q->n++;
	q->bytes += h->len;
}

struct held_packet *hold_pop(struct hold_queue *q, struct hold_totals *t, uint64_t upto,
			     uint64_t decoded_end)
{
	struct held_packet *h = q->head;

	if (!h || h->in_end > upto || h->in_end > decoded_end)
		return NULL;
	q->head = h->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	q->bytes -= h->len;
	if (h->owned) {
		t->packets--;
		t->bytes -= h->len;
	}
	h->next = NULL;
	return h;
}

void hold_free(struct held_packet *h)
{
	if (h->owned)
		free(h->data);
	if (!h->in_hand)
		free(h);
}

/* The packet in hand stays held: its record moves to the heap, in its
 * place in the queue. NULL when out of memory. */
static struct held_packet *own_record(struct hold_queue *q, struct held_packet **link)
{
	struct held_packet *h = *link, *copy = malloc(sizeof(*copy));

	if (!copy)
		return NULL;
	*copy = *h;
	copy->in_hand = false;
	*link = copy;
	if (q->tail == h)
		q->tail = copy;
	return copy;
}

int hold_own(struct hold_queue *q, struct hold_totals *t)
{
	struct held_packet *h, **link;
	uint8_t *copy;
	int copied = 0;

	for (link = &q->head; (h = *link); link = &h->next) {
		if (h->in_hand && !(h = own_record(q, link)))
			return -1;
		if (h->owned)
			continue;
		copy = malloc(h->len);
		if (!copy)
			return -1;
		memcpy(copy, h->data, h->len);
		h->pkt.payload = copy + (h->pkt.payload - h->data);
		h->data = copy;
		h->owned = true;
		t->packets++;
		t->bytes += h->len;
		copied++;
	}
	return copied;
}

void hold_mark_behind_hole(struct held_packet *h)
{
	h->behind_hole = true;
}

void hold_prefix_complete(struct hold_queue *q, uint64_t decoded_end, double now)
{
	struct held_packet *h;

	for (h = q->head; h && h->in_start <= decoded_end; h = h->next)
		if (h->behind_hole) {
			h->behind_hole = false;
			h->since = now;
		}
}

uint64_t hold_expired_end(const struct hold_queue *q, double now, double deadline,
			  double hole_bound, bool *past_hole)
{
	const struct held_packet *h;
	uint64_t upto = 0;

	*past_hole = false;
	for (h = q->head; h; h = h->next) {
		if (!h->behind_hole) {
			if (h->since + deadline <= now)
				upto = h->in_end;
		} else if (h->arrived + hole_bound <= now) {
			upto = h->in_end;
			*past_hole = true;
		}
	}
	return upto;
}

bool hold_lowest_id(const struct hold_queue *q, bool have, uint32_t *id)
{
	const struct held_packet *h;

	for (h = q->head; h; h = h->next)
		if (!have || h->id < *id) {
			*id = h->id;
			have = true;
		}
	return have;
}

void hold_drop_all(struct hold_queue *q, struct hold_totals *t)
{
	struct held_packet *h;

	while ((h = q->head)) {
		q->head = h->next;
		if (h->owned) {
			t->packets--;
			t->bytes -= h->len;
		}
		hold_free(h);
	}
	q->tail = NULL;
	q->n = 0;
	q->bytes = 0;
}
