/* The ring of event batches between the decoding and the writing thread
 * (event_ring.h). One mutex and two condition variables; the batch being
 * filled belongs to the producer alone, the ready ones to the consumer. */
#include "pipeline/event_ring.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCHES 8
#define DEFAULT_BATCH_EVENTS 128
#define DEFAULT_BATCH_BYTES (32u * 1024)

struct ring_slot {
	struct im_event ev; /* its strings in the batch's mem, or in own */
	void *own;          /* an event larger than a batch's mem: its block */
};

struct ring_batch {
	struct ring_slot *slots;
	size_t n;
	char *mem;
	size_t used;
};

struct event_ring {
	struct event_ring_config cfg;
	event_ring_consume_fn consume;
	void *arg;
	struct ring_batch *batches;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t consumer_cv, producer_cv;
	/* Under lock. The ready batches are batches[read_idx ..] (ready of
	 * them, the one being consumed included); the one after them is the
	 * producer's (write_idx, which only the producer moves). */
	size_t ready;
	size_t read_idx;
	size_t write_idx;
	bool consumer_idle;    /* waiting for a batch */
	bool producer_waiting; /* for ready to drop to producer_wake */
	size_t producer_wake;
	bool flush;   /* the producer drains: any ready batch wakes the consumer */
	bool closing; /* no more batches: the consumer ends once none is ready */
	uint64_t failures; /* since the last drain */
};

void event_ring_config_defaults(struct event_ring_config *cfg)
{
	cfg->batches = DEFAULT_BATCHES;
	cfg->batch_events = DEFAULT_BATCH_EVENTS;
	cfg->batch_bytes = DEFAULT_BATCH_BYTES;
}

/* Half the ring: a sleeping side is woken when there is this much for it
 * to do, so that each wake-up is worth several batches. */
static size_t half_ring(const struct event_ring *r)
{
	return r->cfg.batches / 2;
}

/* Every event of b to the consume function, then b emptied for the
 * producer. The failures the function counted. */
static uint64_t consume_batch(struct event_ring *r, struct ring_batch *b)
{
	uint64_t failures = 0;
	size_t i;

	for (i = 0; i < b->n; i++)
		failures += r->consume(r->arg, &b->slots[i].ev);
	for (i = 0; i < b->n; i++) {
		free(b->slots[i].own);
		b->slots[i].own = NULL;
	}
	b->n = 0;
	b->used = 0;
	return failures;
}

static void *consumer_main(void *arg)
{
	struct event_ring *r = arg;
	struct ring_batch *b;
	uint64_t failures;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->ready && !r->closing) {
			r->consumer_idle = true;
			pthread_cond_wait(&r->consumer_cv, &r->lock);
		}
		r->consumer_idle = false;
		if (!r->ready)
			break; /* closing, and everything consumed */
		b = &r->batches[r->read_idx];
		pthread_mutex_unlock(&r->lock);
		failures = consume_batch(r, b);
		pthread_mutex_lock(&r->lock);
		r->failures += failures;
		r->read_idx = (r->read_idx + 1) % r->cfg.batches;
		r->ready--;
		if (r->producer_waiting && r->ready <= r->producer_wake)
			pthread_cond_signal(&r->producer_cv);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Under lock: wake a sleeping consumer when there is enough for it. */
static void wake_consumer(struct event_ring *r)
{
	if (r->consumer_idle && r->ready &&
	    (r->ready >= half_ring(r) || r->flush || r->closing)) {
		r->consumer_idle = false;
		pthread_cond_signal(&r->consumer_cv);
	}
}

/* Under lock: sleep until at most `wake` batches are ready. */
static void wait_ready_at_most(struct event_ring *r, size_t wake)
{
	while (r->ready > wake) {
		r->producer_waiting = true;
		r->producer_wake = wake;
		pthread_cond_wait(&r->producer_cv, &r->lock);
	}
	r->producer_waiting = false;
}

/* Hand the producer's batch over; the next one is the producer's once
 * the consumer has given it back. */
static void publish(struct event_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->ready++;
	r->write_idx = (r->write_idx + 1) % r->cfg.batches;
	wake_consumer(r);
	if (r->ready == r->cfg.batches)
		wait_ready_at_most(r, half_ring(r));
	pthread_mutex_unlock(&r->lock);
}

/* The next slot of the producer's batch, with ev packed into the batch's
 * memory; when it does not fit there, the batch is handed over first;
 * when it does not fit in an empty one either, its strings go to a
 * block of its own. false: no memory for that block. */
static bool pack_into_batch(struct event_ring *r, const struct im_event *ev)
{
	struct ring_batch *b = &r->batches[r->write_idx];
	struct ring_slot *slot = &b->slots[b->n];
	size_t used;

	if (!event_pack(&slot->ev, ev, b->mem + b->used, r->cfg.batch_bytes - b->used, &used)) {
		if (b->n) {
			publish(r);
			b = &r->batches[r->write_idx];
			slot = &b->slots[b->n];
		}
		if (!event_pack(&slot->ev, ev, b->mem, r->cfg.batch_bytes, &used)) {
			if (!event_copy_packed(&slot->ev, ev, &slot->own))
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
	if (r->batches[r->write_idx].n == r->cfg.batch_events)
		publish(r);
	return true;
}

uint64_t event_ring_drain(struct event_ring *r)
{
	uint64_t failures;

	pthread_mutex_lock(&r->lock);
	r->flush = true;
	pthread_mutex_unlock(&r->lock);
	if (r->batches[r->write_idx].n)
		publish(r);
	pthread_mutex_lock(&r->lock);
	wake_consumer(r);
	wait_ready_at_most(r, 0);
	r->flush = false;
	failures = r->failures;
	r->failures = 0;
	pthread_mutex_unlock(&r->lock);
	return failures;
}

static void free_batches(struct event_ring *r)
{
	size_t i;

	for (i = 0; r->batches && i < r->cfg.batches; i++) {
		free(r->batches[i].slots);
		free(r->batches[i].mem);
	}
	free(r->batches);
}

static void ring_free(struct event_ring *r)
{
	free_batches(r);
	pthread_cond_destroy(&r->producer_cv);
	pthread_cond_destroy(&r->consumer_cv);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void event_ring_stop(struct event_ring *r, uint64_t *failures)
{
	uint64_t f;

	if (!r)
		return;
	f = event_ring_drain(r);
	if (failures)
		*failures += f;
	pthread_mutex_lock(&r->lock);
	r->closing = true;
	pthread_cond_signal(&r->consumer_cv);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	ring_free(r);
}

static bool alloc_batches(struct event_ring *r)
{
	size_t i;

	r->batches = calloc(r->cfg.batches, sizeof(*r->batches));
	if (!r->batches)
		return false;
	for (i = 0; i < r->cfg.batches; i++) {
		r->batches[i].slots = calloc(r->cfg.batch_events, sizeof(struct ring_slot));
		/* never 0 bytes: put's pointer arithmetic needs a real block */
		r->batches[i].mem = malloc(r->cfg.batch_bytes ? r->cfg.batch_bytes : 1);
		if (!r->batches[i].slots || !r->batches[i].mem)
			return false;
	}
	return true;
}

struct event_ring *event_ring_start(const struct event_ring_config *cfg,
				    event_ring_consume_fn consume, void *arg)
{
	struct event_ring *r;
	int e;

	if (cfg->batches < 2 || cfg->batch_events < 1 || !consume) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cfg = *cfg;
	r->consume = consume;
	r->arg = arg;
	/* The static initializers: nothing to fail, nothing to check. */
	r->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	r->consumer_cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	r->producer_cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	if (!alloc_batches(r)) {
		ring_free(r);
		errno = ENOMEM;
		return NULL;
	}
	e = pthread_create(&r->thread, NULL, consumer_main, r);
	if (e) {
		ring_free(r);
		errno = e;
		return NULL;
	}
	return r;
}
