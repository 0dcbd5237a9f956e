/* The ring of event batches between the decoding and the writing thread
 * (event_ring.h): the caller is util/batch_ring.h's producer, the writer
 * thread its consumer. What is an event's alone is here: packing its
 * strings into the batch's arena, and counting the consume function's
 * failures. */
#include "pipeline/event_ring.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/batch_ring.h"

#define DEFAULT_BATCHES 8
#define DEFAULT_BATCH_EVENTS 128
#define DEFAULT_BATCH_BYTES (32u * 1024)

struct event_ring {
	struct batch_ring ring; /* records: struct im_event, strings in the
				 * arena or in the record's own block */
	event_ring_consume_fn consume;
	void *arg;
	pthread_t thread;
	/* Since the last drain. Written by the consumer thread before it
	 * gives a batch back, read and reset by the producer after a drain:
	 * the ring's lock orders the two, and the consumer touches it again
	 * only for a batch handed over after the reset. */
	uint64_t failures;
};

void event_ring_config_defaults(struct event_ring_config *cfg)
{
	cfg->batches = DEFAULT_BATCHES;
	cfg->batch_events = DEFAULT_BATCH_EVENTS;
	cfg->batch_bytes = DEFAULT_BATCH_BYTES;
}

static void *consumer_main(void *arg)
{
	struct event_ring *r = arg;
	const struct im_event *evs;
	struct batch *b;
	uint64_t failures;
	size_t i;

	while ((b = batch_ring_take(&r->ring)) != NULL) {
		evs = b->records;
		failures = 0;
		for (i = 0; i < b->n; i++)
			failures += r->consume(r->arg, &evs[i]);
		r->failures += failures;
		batch_ring_release(&r->ring, b);
	}
	return NULL; /* closed, and everything consumed */
}

/* The next record of the producer's batch, with ev packed into the
 * batch's arena; when it does not fit there, the batch is handed over
 * first; when it does not fit in an empty one either, its strings go to
 * a block of its own. false: no memory for that block. */
static bool pack_into_batch(struct event_ring *r, const struct im_event *ev)
{
	struct batch *b = batch_ring_filling(&r->ring);
	struct im_event *slot = (struct im_event *)b->records + b->n;
	size_t used;

	if (!event_pack(slot, ev, (char *)b->mem + b->used, batch_ring_room(&r->ring, b), &used)) {
		if (b->n) {
			batch_ring_publish(&r->ring);
			b = batch_ring_filling(&r->ring);
			slot = (struct im_event *)b->records + b->n;
		}
		if (!event_pack(slot, ev, (char *)b->mem, r->ring.cfg.batch_bytes, &used)) {
			if (!event_copy_packed(slot, ev, &b->own[b->n]))
				return false;
			used = 0;
		}
	}
	b->used += used;
	b->n++;
	return true;
}

bool event_ring_put(struct event_ring *r, const struct im_event *ev)
{
	if (!pack_into_batch(r, ev))
		return false;
	if (batch_ring_batch_full(&r->ring, batch_ring_filling(&r->ring)))
		batch_ring_publish(&r->ring);
	return true;
}

uint64_t event_ring_drain(struct event_ring *r)
{
	uint64_t failures;

	if (batch_ring_filling(&r->ring)->n)
		batch_ring_publish(&r->ring);
	batch_ring_drain(&r->ring);
	failures = r->failures;
	r->failures = 0;
	return failures;
}

void event_ring_stop(struct event_ring *r, uint64_t *failures)
{
	uint64_t f;

	if (!r)
		return;
	f = event_ring_drain(r);
	if (failures)
		*failures += f;
	batch_ring_close(&r->ring);
	pthread_join(r->thread, NULL);
	batch_ring_destroy(&r->ring);
	free(r);
}

struct event_ring *event_ring_start(const struct event_ring_config *cfg,
				    event_ring_consume_fn consume, void *arg)
{
	struct batch_ring_config rc = { .batches = cfg->batches,
					.batch_records = cfg->batch_events,
					.batch_bytes = cfg->batch_bytes };
	struct event_ring *r;
	int e;

	if (!consume) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (batch_ring_init(&r->ring, &rc, sizeof(struct im_event)) < 0) {
		e = errno; /* EINVAL or ENOMEM */
		free(r);
		errno = e;
		return NULL;
	}
	r->consume = consume;
	r->arg = arg;
	e = pthread_create(&r->thread, NULL, consumer_main, r);
	if (e) {
		batch_ring_destroy(&r->ring);
		free(r);
		errno = e;
		return NULL;
	}
	return r;
}
