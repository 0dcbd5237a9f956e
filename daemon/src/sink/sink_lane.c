/* A sink's thread: it takes the events after its position in the log,
 * from memory or from disk, writes them as one batch, and moves its
 * position (sink_writer.h). One per sink, so each sink is written and
 * replayed on its own; the writer's lock is taken only to plan a batch
 * and to account for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink/sink_record.h"
#include "sink/sink_writer_internal.h"

enum plan_kind { PLAN_IDLE, PLAN_MEMORY, PLAN_DISK, PLAN_AGAIN };

struct plan {
	enum plan_kind kind;
	struct wal_read_limit lim;
	struct wal_pos pos;
	uint64_t seq;
	/* A disk read stops before this: events from here on are in memory
	 * only (the log refused them), and must not be jumped over. */
	uint64_t disk_end;
};

/* Under the lock: where the sink's next events are. Tombstones on the
 * way are passed (their events were counted lost when they were made). */
static enum plan_kind lane_plan(struct lane *l, struct plan *p)
{
	struct writer *w = l->w;
	struct frame *f;
	size_t events = 0;

	p->seq = l->seq_next;
	if (!l->pending || l->seq_next >= end_seq(w))
		return p->kind = PLAN_IDLE;
	f = queue_at(w, l->seq_next);
	if (f && f->tombstone) {
		/* Its events were counted lost when it was made. */
		l->seq_next = frame_end(f);
		return p->kind = PLAN_AGAIN;
	}
	if (f) {
		l->n_taken = 0;
		for (; f && !f->tombstone && events < w->cfg.batch_max; f = f->next) {
			if (l->n_taken && frame_end(l->taken[l->n_taken - 1]) != f->first_seq)
				break;
			f->in_use++;
			l->taken[l->n_taken++] = f;
			events += frame_end(f) - (l->seq_next > f->first_seq ? l->seq_next : f->first_seq);
			if (l->n_taken == w->cfg.batch_max)
				break;
		}
		return p->kind = PLAN_MEMORY;
	}
	if (w->has_wal) {
		wal_read_limit_of(&w->wal, l->pos.seg, &p->lim);
		p->pos = l->pos;
		p->disk_end = UINT64_MAX;
		for (f = w->head; f; f = f->next) {
			if (!f->durable && f->first_seq >= l->seq_next) {
				p->disk_end = f->first_seq;
				break;
			}
		}
		return p->kind = PLAN_DISK;
	}
	/* Memory only and not in memory: a gap (the numbers of events that
	 * went were counted at their tombstone). */
	f = queue_from(w, l->seq_next);
	l->seq_next = f ? f->first_seq : end_seq(w);
	return p->kind = PLAN_AGAIN;
}

/* Decode the sink's events from memory frames into l->evs; count. */
static size_t collect_memory(struct lane *l, uint64_t seq)
{
	size_t n = 0, t;

	for (t = 0; t < l->n_taken && n < l->w->cfg.batch_max; t++) {
		struct frame *f = l->taken[t];
		size_t i = seq > f->first_seq ? (size_t)(seq - f->first_seq) : 0, used;

		for (; i < f->n_rec && n < l->w->cfg.batch_max; i++) {
			if (!sink_record_decode_ours(f->buf.data + f->rec[i],
						     f->buf.len - f->rec[i], &l->views[n], &used))
				continue; /* cannot happen: we encoded it */
			l->evs[n] = &l->views[n];
			l->ids[n] = f->first_seq + i;
			n++;
		}
	}
	return n;
}

/* Decode the records of the frames read from disk, from seq on, below
 * stop. A record that will not decode although its frame's checksum held
 * (one of a later version?) ends the batch: *bad is how many events of
 * its frame from there on cannot be read, *bad_end the number after them. */
static size_t collect_disk(struct lane *l, uint64_t seq, uint64_t stop, uint64_t *bad,
			   uint64_t *bad_end)
{
	struct wal_reader *r = &l->reader;
	size_t n = 0, k;

	*bad = 0;
	for (k = 0; k < r->n_frames && n < l->w->cfg.batch_max; k++) {
		const struct wal_frame *fr = &r->frames[k];
		const uint8_t *p = r->buf.data + fr->body, *end = p + fr->body_len;
		uint32_t i;
		size_t used;

		for (i = 0; i < fr->count && n < l->w->cfg.batch_max; i++) {
			if (!sink_record_decode(p, (size_t)(end - p), &l->views[n], &used)) {
				uint64_t from = fr->first_seq + i > seq ? fr->first_seq + i : seq;

				*bad_end = fr->first_seq + fr->count;
				*bad = *bad_end > from ? *bad_end - from : 0;
				return n;
			}
			p += used;
			if (fr->first_seq + i < seq)
				continue;
			if (fr->first_seq + i >= stop)
				return n;
			l->evs[n] = &l->views[n];
			l->ids[n] = fr->first_seq + i;
			n++;
		}
	}
	return n;
}

static bool undo_equal(const struct sink_undo *a, const struct sink_undo *b)
{
	return a->n == b->n && a->buf.len == b->buf.len &&
	       (a->buf.len == 0 || memcmp(a->buf.data, b->buf.data, a->buf.len) == 0);
}

/* A retention request this sink has nothing to store for: passed, its
 * position moved past it. */
static size_t lane_pass(struct lane *l, bool sync_now, bool *failed)
{
	struct sink *s = &l->sink;

	if (l->has_cursor &&
	    sink_cursor_store(&l->cursor, l->ids[0] + 1, s->ops->undo ? &l->committed : NULL,
			      sync_now) < 0) {
		sink_fail(s, errno, "cursor %s", l->cursor.path);
		return 0;
	}
	*failed = false;
	return 1;
}

/* Write evs[0..n) as one batch; how many were committed. *failed when the
 * sink failed (its err says why). */
static size_t lane_write(struct lane *l, size_t n, bool *failed)
{
	struct writer *w = l->w;
	struct sink *s = &l->sink;
	bool sync_now = w->cfg.fsync == SINK_FSYNC_BATCH;
	size_t i, k;

	*failed = true;
	if (w->cfg.fsync == SINK_FSYNC_INTERVAL &&
	    writer_monotonic() - l->last_sync >= w->cfg.fsync_interval_ms / 1000.0)
		sync_now = true;
	if (l->needs_restore) {
		if (s->ops->restore && s->ops->restore(s, &l->undo) < 0)
			return 0;
		l->needs_restore = false;
	}
	/* A retention request is a batch of its own: the purge's record, or
	 * nothing for this sink. */
	n = lane_request_cut(l, n);
	if (lane_is_request(l->evs[0])) {
		int rc = lane_purge_prepare(l);

		if (rc < 0)
			return 0;
		if (rc == 0)
			return lane_pass(l, sync_now, failed);
	}
	k = n;
	if (s->ops->undo) {
		sink_undo_clear(&l->undo);
		k = s->ops->undo(s, l->evs, n, &l->undo);
		if (!k)
			return 0;
		/* Before the files grow: where to cut them back to. */
		if (l->has_cursor && !undo_equal(&l->undo, &l->committed) &&
		    sink_cursor_store(&l->cursor, l->ids[0], &l->undo, sync_now) < 0) {
			sink_fail(s, errno, "cursor %s", l->cursor.path);
			return 0;
		}
	}
	if (lane_chain_batch(l, k) < 0)
		return 0;
	for (i = 0; i < k; i++)
		if (s->ops->write(s, l->evs[i], l->ids[i]) < 0)
			break;
	if (s->ops->flush(s) < 0 || i == 0)
		goto undo;
	if (sync_now && s->ops->sync && s->ops->sync(s) < 0)
		goto undo;
	if (s->ops->undo) {
		sink_undo_clear(&l->committed);
		s->ops->undo(s, NULL, 0, &l->committed);
	}
	if (l->has_cursor &&
	    sink_cursor_store(&l->cursor, l->ids[i - 1] + 1, s->ops->undo ? &l->committed : NULL,
			      sync_now) < 0) {
		sink_fail(s, errno, "cursor %s", l->cursor.path);
		goto undo;
	}
	if (sync_now)
		l->last_sync = writer_monotonic();
	*failed = i < k;
	return i;
undo:
	/* Nothing of the batch counts: cut the files back now, and again
	 * before the next attempt if that fails. */
	if (s->ops->restore && s->ops->restore(s, &l->undo) < 0)
		l->needs_restore = true;
	return 0;
}

static void lane_log_down(struct lane *l)
{
	struct writer *w = l->w;
	/* A file sink's reason names it already; a database's does not. */
	bool named = strncmp(l->sink.err, l->st.name, strlen(l->st.name)) == 0;

	if (w->has_wal)
		LOG(w, LOG_ERR, "%s%s%s; its events wait in the write-ahead log %s/wal (retrying every %u ms)",
		    named ? "" : l->st.name, named ? "" : ": ", l->sink.err, w->spool_dir,
		    w->cfg.retry_ms);
	else
		LOG(w, LOG_ERR, "%s%s%s; retrying every %u ms (no spool_dir: what memory cannot hold is lost)",
		    named ? "" : l->st.name, named ? "" : ": ", l->sink.err, w->cfg.retry_ms);
}

/* The sink's position in the log after writing up to seq (exclusive). */
static void lane_pos_after_memory(struct lane *l, uint64_t seq)
{
	size_t t;

	for (t = 0; t < l->n_taken; t++) {
		struct frame *f = l->taken[t];

		if (!f->durable)
			continue;
		if (seq < frame_end(f)) {
			l->pos = f->pos;
			return;
		}
		l->pos.seg = f->pos.seg;
		l->pos.off = f->pos.off + f->buf.len;
	}
}

static void lane_pos_after_disk(struct lane *l, uint64_t seq, const struct wal_pos *read_end)
{
	size_t k;

	for (k = 0; k < l->reader.n_frames; k++) {
		const struct wal_frame *fr = &l->reader.frames[k];

		if (seq < fr->first_seq + fr->count) {
			l->pos = fr->pos;
			l->disk_time_us = fr->time_us;
			return;
		}
	}
	l->pos = *read_end;
}

static bool lane_should_end(struct lane *l)
{
	struct writer *w = l->w;
	struct frame *f;

	/* Retired by a reload: what was handed over before it is written
	 * (a sink that is down leaves it in the log). */
	if (l->retired && (l->seq_next >= l->retire_seq || !l->pending || l->down))
		return true;
	if (!w->stopping)
		return false;
	if (!l->pending || l->seq_next >= end_seq(w))
		return true;
	if (l->down && l->stop_tried)
		return true;
	if (writer_monotonic() < w->stop_deadline)
		return false;
	/* Past the drain time: go when all that is left is in the log. */
	for (f = w->head; f; f = f->next)
		if (!f->durable && !f->tombstone && frame_end(f) > l->seq_next)
			return false;
	return true;
}

/* A batch in the making: where its events came from and what came of it. */
struct batch {
	struct plan p;
	size_t n;    /* events collected */
	size_t done; /* events committed */
	uint64_t bad; /* records of the log that would not decode */
	uint64_t bad_end; /* the number after them */
	bool failed;
	bool from_disk;
	struct wal_pos read_end; /* where a disk read stopped */
};

/* Outside the lock: the batch's events, from memory or from the log. */
static void lane_collect(struct lane *l, struct batch *b)
{
	struct writer *w = l->w;

	if (b->p.kind == PLAN_MEMORY) {
		b->n = collect_memory(l, b->p.seq);
		return;
	}
	b->read_end = b->p.pos;
	if (wal_read(&l->reader, &w->wal, &b->p.lim, &b->read_end, b->p.seq, w->cfg.batch_max) < 0) {
		sink_fail(&l->sink, errno, "reading the write-ahead log %s/wal at %016llx+%llu",
			  w->spool_dir, (unsigned long long)b->p.pos.seg, (unsigned long long)b->p.pos.off);
		b->failed = true;
		return;
	}
	b->n = collect_disk(l, b->p.seq, b->p.disk_end, &b->bad, &b->bad_end);
	b->from_disk = true;
}

/* No id (no place in the log across restarts) and no sync (nothing it
 * writes is made durable): the event tap, counters and `imwire tail`. */
static bool lane_keeps_nothing(const struct lane *l)
{
	return !l->sink.id && !l->sink.ops->sync;
}

/* fsync=batch: the log's frames on disk before any sink has their events. */
static void lane_sync_log(struct lane *l, const struct batch *b)
{
	struct writer *w = l->w;
	struct wal_sync_work work;
	uint64_t target = 0;

	if (!b->n || !w->has_wal || w->cfg.fsync != SINK_FSYNC_BATCH)
		return;
	/* A sink that keeps nothing beyond the run (no id: no place in the
	 * log; no sync: nothing it writes is made durable), such as the
	 * event tap, cannot hold an event the log lost: fast, it would sync
	 * the log after every hand-over, well ahead of the stores. */
	if (lane_keeps_nothing(l))
		return;
	pthread_mutex_lock(&w->lock);
	if (l->ids[b->n - 1] >= w->synced_seq) {
		target = w->wal.next_seq;
		if (wal_sync_begin(&w->wal, &work) < 0)
			target = 0;
	}
	pthread_mutex_unlock(&w->lock);
	if (target && wal_sync_run(&work) == 0) {
		pthread_mutex_lock(&w->lock);
		if (target > w->synced_seq)
			w->synced_seq = target;
		w->st.fsyncs++;
		pthread_mutex_unlock(&w->lock);
	}
}

/* Under the lock: the position after a batch. */
static void lane_advance(struct lane *l, struct batch *b)
{
	struct writer *w = l->w;
	size_t t;

	if (b->p.kind == PLAN_MEMORY) {
		if (b->done)
			lane_pos_after_memory(l, l->ids[b->done - 1] + 1);
		for (t = 0; t < l->n_taken; t++)
			l->taken[t]->in_use--;
		l->n_taken = 0;
	}
	if (b->done) {
		uint64_t next = l->ids[b->done - 1] + 1;

		if (b->from_disk)
			lane_pos_after_disk(l, next, &b->read_end);
		if (next > l->seq_next)
			l->seq_next = next;
		l->pending -= b->done < l->pending ? b->done : l->pending;
		if (b->from_disk)
			l->st.replayed += b->done;
		else
			l->st.written += b->done;
	} else if (b->from_disk && !b->n && !b->failed) {
		/* Nothing on disk below disk_end from here: move on, to the next
		 * segment, or past a gap to what memory holds. */
		if (l->reader.n_frames && b->p.disk_end != UINT64_MAX) {
			/* The log goes on above events only memory holds: those
			 * first (pos stays: the frame after them). */
			l->seq_next = b->p.disk_end;
		} else if (b->read_end.seg != b->p.pos.seg || b->read_end.off != b->p.pos.off) {
			l->pos = b->read_end;
		} else {
			struct frame *f = queue_from(w, l->seq_next);

			l->seq_next = f ? f->first_seq : end_seq(w);
		}
	}
}

/* Under the lock: the batch's losses, and the sink's health. */
static void lane_account(struct lane *l, const struct batch *b)
{
	struct writer *w = l->w;
	uint64_t rejected = l->sink.rejected - l->rejected_seen;
	bool was_down = l->down;

	/* Unreadable records are passed once what came before them is
	 * written (so they are counted once). */
	if (b->bad && !b->failed && b->done == b->n && b->bad_end > l->seq_next) {
		l->st.lost[SINK_LOSS_EIO] += b->bad;
		l->pending -= b->bad < l->pending ? b->bad : l->pending;
		l->seq_next = b->bad_end;
		LOG(w, LOG_ERR, "%s: %llu events of the write-ahead log could not be read back",
		    l->st.name, (unsigned long long)b->bad);
	}
	if (rejected) {
		uint64_t *counted = b->from_disk ? &l->st.replayed : &l->st.written;

		*counted -= rejected < *counted ? rejected : *counted;
		l->rejected_seen = l->sink.rejected;
		l->st.lost[SINK_LOSS_REJECTED] += rejected;
		LOG(w, LOG_ERR, "%s: %s (%llu rows refused and left out)", l->st.name, l->sink.err,
		    (unsigned long long)rejected);
	}
	if (b->n || b->failed)
		l->attempts++;
	if (b->failed) {
		l->st.failed++;
		l->down = true;
		l->retry_at = writer_monotonic() + w->cfg.retry_ms / 1000.0;
		if (!was_down)
			lane_log_down(l);
	} else if (b->done && was_down) {
		l->down = false;
		LOG(w, LOG_NOTICE, "%s: writing again; %llu events to catch up", l->st.name,
		    (unsigned long long)l->pending);
	}
	l->st.down = l->down;
}

/* Under the lock: true when the thread should plan now, false after it
 * waited (for events, or for its next attempt). */
static bool lane_ready(struct lane *l, struct plan *p)
{
	struct writer *w = l->w;
	double now = writer_monotonic();

	if (l->down && now < l->retry_at && !(w->stopping && !l->stop_tried)) {
		writer_timed_wait(&w->work, &w->lock, l->retry_at - now);
		return false;
	}
	lane_plan(l, p);
	if (p->kind == PLAN_AGAIN)
		return false;
	if (p->kind == PLAN_IDLE) {
		pthread_cond_broadcast(&w->room);
		writer_timed_wait(&w->work, &w->lock, IDLE_WAIT_MS / 1000.0);
		return false;
	}
	return true;
}

/* Under the lock: a reload gave the sink a fresh copy of itself (a file
 * reopened by its name, a database with its new settings); the old one
 * is synced and closed outside the lock. Its place in the log stays. */
static void lane_take_next(struct lane *l)
{
	struct writer *w = l->w;
	struct sink old = l->sink;

	l->sink = l->next;
	l->has_next = false;
	l->rejected_seen = l->sink.rejected;
	l->retry_at = 0;
	pthread_mutex_unlock(&w->lock);
	if (old.ops && old.ops->sync && w->cfg.fsync != SINK_FSYNC_OFF)
		old.ops->sync(&old);
	sink_close(&old);
	pthread_mutex_lock(&w->lock);
}

void *sink_lane_main(void *arg)
{
	struct lane *l = arg;
	struct writer *w = l->w;

	pthread_mutex_lock(&w->lock);
	while (!lane_should_end(l)) {
		struct batch b;

		if (l->has_next) {
			lane_take_next(l);
			continue;
		}
		memset(&b, 0, sizeof(b));
		if (!lane_ready(l, &b.p))
			continue;
		if (w->stopping && l->down)
			l->stop_tried = true;
		l->busy = true;
		pthread_mutex_unlock(&w->lock);

		lane_collect(l, &b);
		lane_sync_log(l, &b);
		b.done = b.n ? lane_write(l, b.n, &b.failed) : 0;
		lane_chain_done(l, b.done, b.failed || (b.n && !b.done));
		lane_checkpoint(l, false);

		pthread_mutex_lock(&w->lock);
		l->busy = false;
		lane_advance(l, &b);
		lane_account(l, &b);
		queue_free_consumed(w);
		writer_update_pressure(w);
		pthread_cond_broadcast(&w->room);
		pthread_cond_signal(&w->maint);
		/* Caught up, a sink that keeps nothing waits a moment for events
		 * to gather: woken by every hand-over, it cost a wake-up (on
		 * both sides) per NFQUEUE burst to count a few events. */
		if (lane_keeps_nothing(l) && b.n < w->cfg.batch_max && !b.failed && !w->stopping) {
			struct timespec gather = { 0, GATHER_MS * 1000000L };

			pthread_mutex_unlock(&w->lock);
			nanosleep(&gather, NULL);
			pthread_mutex_lock(&w->lock);
		}
	}
	l->done = true;
	l->gone = l->retired;
	pthread_cond_broadcast(&w->room);
	pthread_cond_signal(&w->maint);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}
