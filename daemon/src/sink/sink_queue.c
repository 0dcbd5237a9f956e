/* The writer's in-memory queue: the frames handed over, in order, until
 * every sink has written them or memory needs their room (sink_writer.h);
 * and the back-pressure it measures. Under the writer's lock. */
#include <stdlib.h>
#include <string.h>

#include "sink/sink_writer_internal.h"

size_t queue_frame_cost(const struct frame *f)
{
	return sizeof(*f) + f->buf.cap + f->cap_rec * sizeof(uint32_t);
}

void queue_frame_free(struct frame *f)
{
	if (!f)
		return;
	bytebuf_free(&f->buf);
	free(f->rec);
	free(f);
}

/* An empty frame for a producer: a spare one, or a new one. Under lock
 * when taking a spare. */
struct frame *queue_frame_new(void)
{
	struct frame *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	bytebuf_init(&f->buf);
	return f;
}

bool queue_frame_begin(struct frame *f)
{
	static const uint8_t zero[WAL_FRAME_HEADER];

	bytebuf_clear(&f->buf);
	f->n_rec = 0;
	return bytebuf_append(&f->buf, zero, sizeof(zero));
}

void queue_recycle(struct writer *w, struct frame *f)
{
	/* Keep a few for producers; large ones go (a burst's worth of memory
	 * should not stay). */
	if (w->n_spare < SPARE_FRAMES && f->buf.cap <= 4u * 1024 * 1024) {
		f->next = w->spare;
		f->tombstone = false;
		f->durable = false;
		f->in_use = 0;
		w->spare = f;
		w->n_spare++;
		return;
	}
	queue_frame_free(f);
}

/* The frame (or tombstone) holding seq, or NULL. */
struct frame *queue_at(struct writer *w, uint64_t seq)
{
	struct frame *f;

	for (f = w->head; f; f = f->next) {
		if (seq < f->first_seq)
			return NULL;
		if (seq < frame_end(f))
			return f;
	}
	return NULL;
}

/* The first frame starting at or after seq. */
struct frame *queue_from(struct writer *w, uint64_t seq)
{
	struct frame *f;

	for (f = w->head; f; f = f->next)
		if (f->first_seq >= seq)
			return f;
	return NULL;
}

/* Frames every sink has written go, from the head. */
void queue_free_consumed(struct writer *w)
{
	while (w->head && !w->head->in_use) {
		struct frame *f = w->head;
		size_t i;

		for (i = 0; i < w->n_lanes; i++)
			if (w->lanes[i].seq_next < frame_end(f))
				return;
		w->head = f->next;
		if (!w->head)
			w->tail = NULL;
		w->mem_bytes -= queue_frame_cost(f);
		if (f->tombstone)
			queue_frame_free(f);
		else
			queue_recycle(w, f);
	}
}

/* Over the memory bound: frames the log holds go (the sinks read them
 * back from disk); a frame it does not hold becomes a tombstone, and the
 * sinks that had not written it count its events lost. */
void queue_evict(struct writer *w)
{
	struct frame *f, *prev = NULL;

	for (f = w->head; f && w->mem_bytes > w->cfg.memory_max;) {
		struct frame *next = f->next;
		uint64_t n = 0;
		size_t i;

		if (f->in_use || f->tombstone) {
			prev = f;
			f = next;
			continue;
		}
		/* Each sink that had not written it: spooled, or lost now (so the
		 * counters say it at once; the tombstone only moves it on). */
		for (i = 0; i < w->n_lanes; i++) {
			struct lane *l = &w->lanes[i];

			if (l->seq_next >= frame_end(f))
				continue;
			n = frame_end(f) - (l->seq_next > f->first_seq ? l->seq_next : f->first_seq);
			if (f->durable) {
				l->st.spooled += n;
			} else {
				l->st.lost[f->lost_cause] += n;
				l->pending -= n < l->pending ? n : l->pending;
			}
		}
		w->mem_bytes -= queue_frame_cost(f);
		if (f->durable) {
			if (prev)
				prev->next = next;
			else
				w->head = next;
			if (w->tail == f)
				w->tail = prev;
			queue_recycle(w, f);
			f = next;
			continue;
		}
		/* Not in the log: keep its numbers, drop its bytes. A tombstone
		 * right before it with the same cause takes it over. */
		bytebuf_free(&f->buf);
		free(f->rec);
		f->rec = NULL;
		f->cap_rec = 0;
		f->tombstone = true;
		if (prev && prev->tombstone && !prev->in_use && frame_end(prev) == f->first_seq &&
		    prev->lost_cause == f->lost_cause) {
			prev->n_rec += f->n_rec;
			prev->next = next;
			if (w->tail == f)
				w->tail = prev;
			free(f);
			f = next;
			continue;
		}
		w->mem_bytes += queue_frame_cost(f);
		prev = f;
		f = next;
	}
}

/* ---- back-pressure ---- */

void writer_update_pressure(struct writer *w)
{
	uint64_t backlog = 0, high, low;
	bool on = atomic_load_explicit(&w->pressure, memory_order_relaxed);
	size_t i;

	if (w->has_wal) {
		uint64_t per_event = w->st.events ? w->st.bytes / w->st.events : 0, max = 0;

		/* Only sinks that are writing count: slowing the traffic does not
		 * bring back a database that is down. */
		for (i = 0; i < w->n_lanes; i++)
			if (!w->lanes[i].down && w->lanes[i].pending > max)
				max = w->lanes[i].pending;
		backlog = max * (per_event ? per_event : 1);
		high = w->cfg.spool_max_bytes / 4 * 3;
		low = w->cfg.spool_max_bytes / 2;
	} else {
		backlog = w->mem_bytes;
		high = w->cfg.memory_max / 4 * 3;
		low = w->cfg.memory_max / 2;
	}
	on = on ? backlog > low : backlog >= high;
	atomic_store_explicit(&w->pressure, on, memory_order_relaxed);
}

