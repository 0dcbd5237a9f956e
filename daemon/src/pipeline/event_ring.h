/* Events handed from the thread that decodes to one that writes them, in
 * batches: the offline reader's two stages (pipeline.h) on two cores.
 *
 * The producer copies each event into the batch it fills (the strings
 * packed into the batch's own memory, event_pack: the decoder frees its
 * event as soon as the emit callback returns); a batch is handed over
 * whole when it is full or the next event's strings no longer fit. The consumer thread gives every event of a batch to the
 * consume function, in the order they were put, and then gives the
 * batch back for filling. There is no lock or wake-up per event: the
 * lock is taken once per batch, and a sleeping side is woken only when
 * half the ring is ready for it (or when the producer drains or stops).
 *
 * Bounded: at most `batches` batches exist, each of at most
 * `batch_events` events and `batch_bytes` bytes of strings (an event
 * whose strings alone are larger travels in a block of its own); when
 * every batch is full or being written, the producer waits.
 *
 * Nothing is lost: event_ring_drain and event_ring_stop return only once
 * every event put has been consumed. The consume function's failures (a
 * sink that could not take an event) are counted, not acted on: the
 * producer reads the count after a drain. */
#ifndef IMW_PIPELINE_EVENT_RING_H
#define IMW_PIPELINE_EVENT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

struct event_ring_config {
	size_t batches;      /* at least 2 */
	size_t batch_events; /* at least 1 */
	size_t batch_bytes;  /* of packed strings a batch holds */
};

/* The defaults of the offline reader: 8 batches of 128 events and 32 KiB
 * of strings (about 0.9 MiB with the events themselves). */
void event_ring_config_defaults(struct event_ring_config *cfg);

/* Runs on the consumer thread, once per event, in order; returns how many
 * of its writes failed (0 when all went well). ev and its strings are
 * valid only during the call. */
typedef unsigned (*event_ring_consume_fn)(void *arg, const struct im_event *ev);

struct event_ring;

/* Every batch allocated and the consumer thread started. NULL with errno
 * (ENOMEM, or pthread_create's error; EINVAL for a bad config): nothing
 * is left to free, and the caller writes its events itself. */
struct event_ring *event_ring_start(const struct event_ring_config *cfg,
				    event_ring_consume_fn consume, void *arg);

/* Copy ev into the batch being filled, handing the batch over when it is
 * full (waiting for a free one when the ring is full). false: ev could not
 * be copied (no memory for an event larger than a batch) and was not
 * taken; every event put before it is still consumed in order, so the
 * caller may drain and then write ev itself. */
bool event_ring_put(struct event_ring *r, const struct im_event *ev);

/* Hand over the batch being filled and wait until every event put so far
 * has been consumed; returns the failures counted since the last drain.
 * The consumer thread stays, idle, for more. */
uint64_t event_ring_drain(struct event_ring *r);

/* Drain (its failures added to *failures when not NULL), end the
 * consumer thread and free everything. NULL is a no-op. */
void event_ring_stop(struct event_ring *r, uint64_t *failures);

#endif
