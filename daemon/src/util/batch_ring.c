/* The bounded ring of batches (batch_ring.h). One mutex and two condition
 * variables; the batch being filled belongs to the producer alone, the
 * ready ones to the consumer, so records are read and written without
 * the lock: it guards only the counters and the flags. */
#include "util/batch_ring.h"

#include <errno.h>
#include <stdlib.h>

/* Half the ring: a sleeping side is woken when there is this much for it
 * to do, so that each wake-up is worth several batches. */
static size_t half_ring(const struct batch_ring *r)
{
	return r->cfg.batches / 2;
}

static void batch_free_own(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->own[i]);
		b->own[i] = NULL;
	}
}

static void free_batches(struct batch_ring *r)
{
	size_t i;

	for (i = 0; r->batches && i < r->cfg.batches; i++) {
		struct batch *b = &r->batches[i];

		if (b->own)
			batch_free_own(b);
		free(b->own);
		free(b->records);
		free(b->mem);
	}
	free(r->batches);
	r->batches = NULL;
}

static bool alloc_batches(struct batch_ring *r, size_t record_size)
{
	size_t i;

	r->batches = calloc(r->cfg.batches, sizeof(*r->batches));
	if (!r->batches)
		return false;
	for (i = 0; i < r->cfg.batches; i++) {
		struct batch *b = &r->batches[i];

		b->index = i;
		b->records = calloc(r->cfg.batch_records, record_size);
		b->own = calloc(r->cfg.batch_records, sizeof(*b->own));
		/* never 0 bytes: the users' pointer arithmetic needs a real block */
		b->mem = malloc(r->cfg.batch_bytes ? r->cfg.batch_bytes : 1);
		if (!b->records || !b->own || !b->mem)
			return false;
	}
	return true;
}

int batch_ring_init(struct batch_ring *r, const struct batch_ring_config *cfg,
		    size_t record_size)
{
	*r = (struct batch_ring){ .cfg = *cfg };
	if (cfg->batches < 2 || cfg->batch_records < 1 || record_size < 1) {
		errno = EINVAL;
		return -1;
	}
	/* The static initializers: nothing to fail, nothing to check. */
	r->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	r->producer_cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	r->consumer_cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	if (!alloc_batches(r, record_size)) {
		free_batches(r);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void batch_ring_destroy(struct batch_ring *r)
{
	free_batches(r);
	pthread_cond_destroy(&r->consumer_cv);
	pthread_cond_destroy(&r->producer_cv);
	pthread_mutex_destroy(&r->lock);
}

/* Under lock: wake a waiting consumer when there is enough for it: half
 * the ring, or anything at all while the producer drains, or the end. */
static void wake_consumer(struct batch_ring *r)
{
	if (r->consumer_waiting &&
	    (r->closed || (r->ready && (r->ready >= half_ring(r) || r->flush)))) {
		r->consumer_waiting = false;
		pthread_cond_signal(&r->consumer_cv);
	}
}

/* Under lock: sleep until at most `wake` batches are ready, or the
 * consumer aborted. */
static void wait_ready_at_most(struct batch_ring *r, size_t wake)
{
	while (r->ready > wake && !r->aborted) {
		r->producer_waiting = true;
		r->producer_wake = wake;
		pthread_cond_wait(&r->producer_cv, &r->lock);
	}
	r->producer_waiting = false;
}

/* Under lock: the filling batch becomes the newest ready one. */
static void hand_over(struct batch_ring *r)
{
	r->ready++;
	r->write_idx = (r->write_idx + 1) % r->cfg.batches;
}

bool batch_ring_publish(struct batch_ring *r)
{
	bool go_on;

	pthread_mutex_lock(&r->lock);
	hand_over(r);
	wake_consumer(r);
	/* Full: wait for half the ring, not one batch, so that the two sides
	 * do not wake each other once per batch. */
	if (r->ready == r->cfg.batches)
		wait_ready_at_most(r, half_ring(r));
	go_on = !r->aborted;
	pthread_mutex_unlock(&r->lock);
	return go_on;
}

void batch_ring_publish_last(struct batch_ring *r)
{
	pthread_mutex_lock(&r->lock);
	hand_over(r);
	r->closed = true;
	wake_consumer(r);
	pthread_mutex_unlock(&r->lock);
}

void batch_ring_close(struct batch_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->closed = true;
	wake_consumer(r);
	pthread_mutex_unlock(&r->lock);
}

void batch_ring_drain(struct batch_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->flush = true;
	wake_consumer(r);
	wait_ready_at_most(r, 0);
	r->flush = false;
	pthread_mutex_unlock(&r->lock);
}

struct batch *batch_ring_take(struct batch_ring *r)
{
	struct batch *b = NULL;

	pthread_mutex_lock(&r->lock);
	while (!r->ready && !r->closed && !r->aborted) {
		r->consumer_waiting = true;
		pthread_cond_wait(&r->consumer_cv, &r->lock);
	}
	r->consumer_waiting = false;
	if (r->ready && !r->aborted)
		b = &r->batches[r->read_idx];
	pthread_mutex_unlock(&r->lock);
	return b;
}

void batch_ring_release(struct batch_ring *r, struct batch *b)
{
	/* the batch is still the consumer's: emptied without the lock */
	batch_free_own(b);
	b->n = 0;
	b->used = 0;
	pthread_mutex_lock(&r->lock);
	r->read_idx = (r->read_idx + 1) % r->cfg.batches;
	r->ready--;
	if (r->producer_waiting && r->ready <= r->producer_wake)
		pthread_cond_signal(&r->producer_cv);
	pthread_mutex_unlock(&r->lock);
}

void batch_ring_abort(struct batch_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->aborted = true;
	pthread_cond_signal(&r->producer_cv);
	pthread_cond_signal(&r->consumer_cv);
	pthread_mutex_unlock(&r->lock);
}
