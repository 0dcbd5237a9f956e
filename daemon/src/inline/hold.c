#include "inline/hold.h"

#include <stdlib.h>
#include <string.h>

struct held_packet *hold_new(uint32_t id, const uint8_t *data, size_t len, bool gso,
			     const struct packet *pkt, uint64_t in_start, uint64_t in_end,
			     double now)
{
	struct held_packet *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->id = id;
	h->data = (uint8_t *)data;
	h->len = len;
	h->gso = gso;
	h->pkt = *pkt;
	h->in_start = in_start;
	h->in_end = in_end;
	h->since = now;
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
	free(h);
}

int hold_own(struct hold_queue *q, struct hold_totals *t)
{
	struct held_packet *h;
	uint8_t *copy;
	int copied = 0;

	for (h = q->head; h; h = h->next) {
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

uint64_t hold_expired_end(const struct hold_queue *q, double now, double deadline)
{
	const struct held_packet *h;
	uint64_t upto = 0;

	for (h = q->head; h; h = h->next)
		if (h->since + deadline <= now)
			upto = h->in_end;
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
