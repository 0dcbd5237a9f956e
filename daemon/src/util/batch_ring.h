/* A bounded ring of batches between two threads: one producer fills a
 * batch of records at a time and hands it over whole, one consumer takes
 * the batches in the order they were handed over and gives each back
 * once done with it. The offline reader's two hand-overs use it: packets
 * from the capture's reader thread (capture/prefetch.h) and events to
 * the writer thread (pipeline/event_ring.h).
 *
 * Why batches: a lock per record, and a wake-up per record, cost more
 * than the record's own work on these paths. Here the lock is taken once
 * per batch, and a sleeping side is woken only when half the ring is
 * ready for it (each wake-up then is worth several batches), or when the
 * other side drains, closes or aborts.
 *
 * Bounded: at most `batches` batches exist, each of at most
 * `batch_records` records and `batch_bytes` bytes of arena for their
 * variable-length parts (a part larger than what is left goes in a block
 * of its own, own[i], which the ring frees). The producer that hands over
 * the last free batch waits until the consumer has given back half the
 * ring (or aborted).
 *
 * The ring starts no thread and knows nothing of what a record is: its
 * users own their threads and their record type (record_size bytes each,
 * batch->records cast to it). Roles: exactly one producer thread calls
 * the producer functions, exactly one consumer thread the consumer ones.
 *
 * Ordering: whatever the producer wrote into a batch before handing it
 * over is visible to the consumer that takes it; whatever the consumer
 * wrote before giving a batch back is visible to the producer once
 * batch_ring_drain returns (both go through the ring's lock). */
#ifndef IMW_UTIL_BATCH_RING_H
#define IMW_UTIL_BATCH_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct batch_ring_config {
	size_t batches;       /* at least 2 */
	size_t batch_records; /* at least 1 */
	size_t batch_bytes;   /* of arena a batch holds (0: none) */
};

/* One batch. The producer owns the batch it fills, the consumer the one
 * it took: each reads and writes these fields freely then. */
struct batch {
	void *records;       /* batch_records records of record_size bytes */
	void **own;          /* own[i]: record i's block outside mem, or NULL */
	size_t n;            /* records filled */
	unsigned char *mem;  /* the arena, batch_bytes long (never NULL) */
	size_t used;         /* of mem */
	size_t index;        /* its place in the ring, for the users' own
			      * per-batch data */
};

/* In the header to be embedded in its users' structs; the fields are the
 * ring's own, read them only through the functions below. */
struct batch_ring {
	struct batch_ring_config cfg;
	struct batch *batches;
	pthread_mutex_t lock;
	pthread_cond_t producer_cv, consumer_cv;
	/* Under lock. The ready batches are batches[read_idx ..], `ready` of
	 * them (the one the consumer holds included); batches[write_idx] is
	 * the producer's (only the producer moves write_idx). */
	size_t ready;
	size_t read_idx;
	size_t write_idx;
	bool consumer_waiting; /* in batch_ring_take, for a ready batch */
	bool producer_waiting; /* for ready to drop to producer_wake */
	size_t producer_wake;
	bool flush;   /* the producer drains: any ready batch wakes the consumer */
	bool closed;  /* the producer hands over no more batches */
	bool aborted; /* the consumer takes no more batches */
};

/* Every batch allocated (empty, own[] all NULL). 0, or -1 with errno:
 * EINVAL for a config below the minimums or record_size 0, ENOMEM; then
 * nothing is left to free. */
int batch_ring_init(struct batch_ring *r, const struct batch_ring_config *cfg,
		    size_t record_size);

/* Free every batch, the own blocks of records still in them included.
 * No thread may be in the ring any more. */
void batch_ring_destroy(struct batch_ring *r);

/* The three below run once or twice per record: inline, so that the
 * hand-over costs what the two rings' own code cost before them. */

/* Producer: the batch to fill (empty when it is first handed out). */
static inline struct batch *batch_ring_filling(struct batch_ring *r)
{
	return &r->batches[r->write_idx]; /* only the producer moves write_idx */
}

/* Producer: is the batch at its record limit? */
static inline bool batch_ring_batch_full(const struct batch_ring *r, const struct batch *b)
{
	return b->n == r->cfg.batch_records;
}

/* Producer: arena bytes left in b. */
static inline size_t batch_ring_room(const struct batch_ring *r, const struct batch *b)
{
	return r->cfg.batch_bytes - b->used;
}

/* Producer: hand the filling batch over. When it was the last free one,
 * wait until the consumer has given back half the ring (or aborted).
 * false: the consumer aborted; the producer should end (what it handed
 * over may never be taken). */
bool batch_ring_publish(struct batch_ring *r);

/* Producer: hand the filling batch over as the last one, never waiting,
 * and close the ring (batch_ring_close). */
void batch_ring_publish_last(struct batch_ring *r);

/* Producer: no more batches (the filling one is not handed over). The
 * consumer, woken if it waits, takes what is ready and then NULL. */
void batch_ring_close(struct batch_ring *r);

/* Producer: wake the consumer for whatever is ready, however little, and
 * wait until it has given back every batch handed over (or aborted).
 * The filling batch is not handed over: publish it first to include it. */
void batch_ring_drain(struct batch_ring *r);

/* Consumer: the next batch handed over, waiting for it; NULL once the
 * ring is closed and every batch handed over has been taken, or after
 * batch_ring_abort. */
struct batch *batch_ring_take(struct batch_ring *r);

/* Consumer: give b (the one taken) back: its own blocks freed, emptied,
 * and the producer woken if it waits and half the ring is free. */
void batch_ring_release(struct batch_ring *r, struct batch *b);

/* Consumer (or a third thread): take no more batches. A producer waiting
 * in publish or drain returns at once, and every later publish says
 * false; a consumer waiting in take gets NULL. */
void batch_ring_abort(struct batch_ring *r);

#endif
