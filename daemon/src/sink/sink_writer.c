#include "sink/sink_writer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "sink/sink_cursor.h"
#include "sink/sink_record.h"
#include "sink/sink_wal.h"

#define FRAME_SOFT_MAX (16u * 1024 * 1024) /* a producer's batch is handed over past this */
#define IDLE_WAIT_MS 100
#define SPARE_FRAMES 8
/* At a stop a sink that still makes progress goes on; after this long
 * only events the log does not hold keep it going (the rest wait in the
 * log for the next start: nothing is lost either way). */
#define STOP_DRAIN_S 60

/* One hand-over in memory: the very bytes appended to the log, or, once
 * the memory bound made a frame the log did not take go, a tombstone
 * that tells each sink how many events it lost and why. */
struct frame {
	struct frame *next;
	struct bytebuf buf; /* [40-byte frame header][records]; empty in a tombstone */
	uint32_t *rec;      /* offset of each record in buf */
	size_t n_rec, cap_rec;
	uint64_t first_seq;
	uint64_t time_us;
	bool durable; /* in the log */
	bool tombstone;
	enum sink_loss lost_cause; /* a tombstone's */
	struct wal_pos pos;        /* in the log, when durable */
	unsigned in_use;           /* sinks writing from it now */
};

struct sink_writer_batch {
	struct writer *w;
	struct frame *f;
	int rc; /* of a hand-over made inside add() */
};

struct writer;

struct lane {
	struct writer *w;
	struct sink sink;
	pthread_t thread;
	bool thread_started;
	bool has_cursor;
	struct sink_cursor cursor;
	/* Under the writer's lock. */
	uint64_t seq_next; /* the first event it has not written */
	uint64_t pending;  /* events it has yet to write */
	struct wal_pos pos; /* the log frame holding seq_next, or the first after it */
	uint64_t disk_time_us; /* hand-over time of seq_next's frame, when read from disk */
	bool down;
	bool needs_restore; /* a batch failed after its files were grown */
	double retry_at;
	uint64_t attempts;
	bool stop_tried;
	bool done; /* the thread has ended */
	bool busy; /* writing a batch, outside the lock */
	uint64_t rejected_seen;
	struct sink_writer_sink_stats st;
	/* The thread's own. */
	struct sink_undo undo;      /* of the batch being written */
	struct sink_undo committed; /* stored with the cursor at the last commit */
	const struct im_event **evs;
	struct im_event *views;
	uint64_t *ids;
	struct frame **taken;
	size_t n_taken;
	struct wal_reader reader;
	double last_sync;
};

struct writer {
	struct sink_writer_config cfg;
	char *spool_dir;
	pthread_mutex_t lock;
	pthread_cond_t work;  /* sinks wait for events */
	pthread_cond_t room;  /* producers and flush wait for the sinks */
	pthread_cond_t maint; /* the maintenance thread waits */
	bool has_wal;
	struct wal wal;
	uint64_t next_seq; /* without a log */
	struct frame *head, *tail;
	size_t mem_bytes;
	struct frame *spare;
	size_t n_spare;
	struct lane lanes[SINK_WRITER_MAX_SINKS];
	size_t n_lanes;
	bool started, stopping, maint_stop;
	double stop_deadline;
	pthread_t maint_thread;
	bool maint_started;
	atomic_bool pressure;
	uint64_t synced_seq; /* events below it are fdatasync'd in the log */
	int wal_errno;       /* of the failing appends, 0 while they work */
	double last_wal_sync;
	struct sink_writer_stats st; /* the hand-over part, under lock */
	uint64_t failures_seen;      /* losses, by the last flush */
	pthread_mutex_t own_lock;    /* writer_write's batch */
	struct sink_writer_batch *own;
};

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define LOG(w, level, ...)                                \
	do {                                              \
		if ((w)->cfg.log)                         \
			(w)->cfg.log(level, __VA_ARGS__); \
	} while (0)

const char *sink_loss_name(enum sink_loss cause)
{
	static const char *const names[SINK_LOSS_COUNT] = {
		[SINK_LOSS_ENOSPC] = "enospc", [SINK_LOSS_EROFS] = "erofs",
		[SINK_LOSS_EIO] = "eio",       [SINK_LOSS_LIMIT] = "limit",
		[SINK_LOSS_REJECTED] = "rejected", [SINK_LOSS_NO_SPOOL] = "no_spool",
	};

	return cause < SINK_LOSS_COUNT ? names[cause] : "?";
}

static enum sink_loss loss_of_errno(int e)
{
	if (e == ENOSPC || e == EDQUOT)
		return SINK_LOSS_ENOSPC;
	if (e == EROFS)
		return SINK_LOSS_EROFS;
	return SINK_LOSS_EIO;
}

void sink_writer_config_defaults(struct sink_writer_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_max = SINK_WRITER_DEFAULT_MEMORY;
	cfg->batch_max = SINK_WRITER_DEFAULT_BATCH;
	cfg->spool_max_bytes = SINK_WRITER_DEFAULT_SPOOL_MAX;
	cfg->retry_ms = SINK_WRITER_DEFAULT_RETRY_MS;
	cfg->fsync = SINK_FSYNC_BATCH;
	cfg->fsync_interval_ms = SINK_WRITER_DEFAULT_FSYNC_INTERVAL_MS;
	cfg->owner_uid = -1;
	cfg->owner_gid = -1;
}

/* ---- frames ---- */

static uint64_t frame_end(const struct frame *f)
{
	return f->first_seq + f->n_rec;
}

static size_t frame_cost(const struct frame *f)
{
	return sizeof(*f) + f->buf.cap + f->cap_rec * sizeof(uint32_t);
}

static void frame_free(struct frame *f)
{
	if (!f)
		return;
	bytebuf_free(&f->buf);
	free(f->rec);
	free(f);
}

/* An empty frame for a producer: a spare one, or a new one. Under lock
 * when taking a spare. */
static struct frame *frame_new(void)
{
	struct frame *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	bytebuf_init(&f->buf);
	return f;
}

static bool frame_begin(struct frame *f)
{
	static const uint8_t zero[WAL_FRAME_HEADER];

	bytebuf_clear(&f->buf);
	f->n_rec = 0;
	return bytebuf_append(&f->buf, zero, sizeof(zero));
}

static void frame_recycle(struct writer *w, struct frame *f)
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
	frame_free(f);
}

static uint64_t end_seq(const struct writer *w)
{
	return w->has_wal ? w->wal.next_seq : w->next_seq;
}

/* The frame (or tombstone) holding seq, or NULL. */
static struct frame *frame_at(struct writer *w, uint64_t seq)
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
static struct frame *frame_from(struct writer *w, uint64_t seq)
{
	struct frame *f;

	for (f = w->head; f; f = f->next)
		if (f->first_seq >= seq)
			return f;
	return NULL;
}

/* Frames every sink has written go, from the head. */
static void free_consumed(struct writer *w)
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
		w->mem_bytes -= frame_cost(f);
		if (f->tombstone)
			frame_free(f);
		else
			frame_recycle(w, f);
	}
}

/* Over the memory bound: frames the log holds go (the sinks read them
 * back from disk); a frame it does not hold becomes a tombstone, and the
 * sinks that had not written it count its events lost. */
static void evict(struct writer *w)
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
		w->mem_bytes -= frame_cost(f);
		if (f->durable) {
			if (prev)
				prev->next = next;
			else
				w->head = next;
			if (w->tail == f)
				w->tail = prev;
			frame_recycle(w, f);
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
		w->mem_bytes += frame_cost(f);
		prev = f;
		f = next;
	}
}

/* ---- back-pressure ---- */

static void update_pressure(struct writer *w)
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

bool sink_writer_pressure(const struct sink *s)
{
	const struct writer *w = s->ctx;

	return atomic_load_explicit(&w->pressure, memory_order_relaxed);
}

/* ---- the hand-over ---- */

struct sink_writer_batch *sink_writer_batch_new(struct sink *s)
{
	struct sink_writer_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->w = s->ctx;
	return b;
}

void sink_writer_batch_free(struct sink_writer_batch *b)
{
	if (!b)
		return;
	frame_free(b->f);
	free(b);
}

size_t sink_writer_batch_count(const struct sink_writer_batch *b)
{
	return b->f ? b->f->n_rec : 0;
}

static int submit_locked(struct writer *w, struct frame *f);

bool sink_writer_batch_add(struct sink_writer_batch *b, const struct im_event *ev)
{
	struct frame *f = b->f;
	size_t before;

	if (!f) {
		f = frame_new();
		if (!f || !frame_begin(f)) {
			frame_free(f);
			goto lost;
		}
		b->f = f;
	} else if (!f->n_rec && !f->buf.len && !frame_begin(f)) {
		goto lost;
	}
	if (f->n_rec == f->cap_rec) {
		size_t cap = f->cap_rec ? f->cap_rec * 2 : 64;
		uint32_t *r = realloc(f->rec, cap * sizeof(*r));

		if (!r)
			goto lost;
		f->rec = r;
		f->cap_rec = cap;
	}
	before = f->buf.len;
	if (!sink_record_encode(&f->buf, ev))
		goto lost;
	f->rec[f->n_rec++] = (uint32_t)before;
	if (f->buf.len > FRAME_SOFT_MAX) {
		int rc = sink_writer_submit(b);

		if (rc != SINK_WRITER_OK)
			b->rc = rc;
	}
	return true;
lost:
	/* Nothing can hold it: counted against every sink. */
	pthread_mutex_lock(&b->w->lock);
	b->w->st.events++;
	for (size_t i = 0; i < b->w->n_lanes; i++)
		b->w->lanes[i].st.lost[SINK_LOSS_NO_SPOOL]++;
	pthread_mutex_unlock(&b->w->lock);
	return false;
}

int sink_writer_submit(struct sink_writer_batch *b)
{
	struct writer *w = b->w;
	struct frame *f = b->f, *fresh;
	int rc, earlier = b->rc;

	b->rc = SINK_WRITER_OK;
	if (!f || !f->n_rec)
		return earlier != SINK_WRITER_OK ? earlier
						   : (atomic_load_explicit(&w->pressure, memory_order_relaxed)
							      ? SINK_WRITER_SLOW_DOWN
							      : SINK_WRITER_OK);
	/* The body's checksum outside the lock. */
	wal_frame_seal(f->buf.data, f->buf.len, (uint32_t)f->n_rec);
	pthread_mutex_lock(&w->lock);
	rc = submit_locked(w, f);
	fresh = w->spare;
	if (fresh) {
		w->spare = fresh->next;
		w->n_spare--;
		fresh->next = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	b->f = fresh; /* NULL: made at the next add */
	if (fresh && !frame_begin(fresh)) {
		frame_free(fresh);
		b->f = NULL;
	}
	if (rc == SINK_WRITER_OK && earlier != SINK_WRITER_OK)
		rc = earlier;
	return rc;
}

static void report_wal_error(struct writer *w, int e)
{
	char why[96];

	if (e == w->wal_errno)
		return;
	w->wal_errno = e;
	if (e)
		LOG(w, LOG_CRIT,
		    "ALARM: write-ahead log %s/wal: cannot append: %s; events are kept in memory "
		    "only (at most %zu bytes) until it can",
		    w->spool_dir, sink_errno_text(e, why, sizeof(why)), w->cfg.memory_max);
	else
		LOG(w, LOG_NOTICE, "write-ahead log %s/wal: appending again", w->spool_dir);
}

/* Memory only with wait_when_full, while every sink with events to write
 * is writing: producers wait for room instead of losing events. */
static bool may_wait(const struct writer *w)
{
	size_t i;

	if (w->has_wal || !w->cfg.wait_when_full || !w->started || w->stopping)
		return false;
	for (i = 0; i < w->n_lanes; i++)
		if (w->lanes[i].down && w->lanes[i].pending)
			return false;
	return true;
}

/* Queue f (taken over) under the lock; the sinks are woken once. */
static int submit_locked(struct writer *w, struct frame *f)
{
	uint64_t t0, dt;
	size_t i, n = f->n_rec;

	/* Memory only, offline: wait for the sinks rather than lose. */
	while (may_wait(w) && w->mem_bytes >= w->cfg.memory_max) {
		w->st.waits++;
		pthread_cond_wait(&w->room, &w->lock);
	}
	f->time_us = now_us();
	f->durable = false;
	f->tombstone = false;
	f->in_use = 0;
	f->next = NULL;
	if (w->has_wal) {
		t0 = now_ns();
		if (wal_append(&w->wal, f->buf.data, f->buf.len, (uint32_t)n, f->time_us, &f->first_seq,
			       &f->pos) == 0) {
			f->durable = true;
			if (w->wal_errno)
				report_wal_error(w, 0);
		} else {
			int e = errno;

			f->lost_cause = loss_of_errno(e);
			w->st.not_durable += n;
			report_wal_error(w, e);
		}
		dt = now_ns() - t0;
		w->st.append_ns += dt;
		if (dt > w->st.append_max_ns)
			w->st.append_max_ns = dt;
		if (f->durable)
			w->st.bytes += f->buf.len;
	} else {
		f->first_seq = w->next_seq;
		w->next_seq += n;
		f->lost_cause = SINK_LOSS_NO_SPOOL;
		w->st.bytes += f->buf.len;
	}
	w->st.submits++;
	w->st.events += n;
	if (w->tail)
		w->tail->next = f;
	else
		w->head = f;
	w->tail = f;
	w->mem_bytes += frame_cost(f);
	for (i = 0; i < w->n_lanes; i++)
		w->lanes[i].pending += n;
	free_consumed(w);
	if (w->mem_bytes > w->cfg.memory_max && !may_wait(w))
		evict(w);
	update_pressure(w);
	pthread_cond_broadcast(&w->work);
	if (atomic_load_explicit(&w->pressure, memory_order_relaxed)) {
		w->st.slow_downs++;
		return SINK_WRITER_SLOW_DOWN;
	}
	return SINK_WRITER_OK;
}

/* ---- a sink's thread ---- */

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
	f = frame_at(w, l->seq_next);
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
	f = frame_from(w, l->seq_next);
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
			if (!sink_record_decode(f->buf.data + f->rec[i], f->buf.len - f->rec[i],
						&l->views[n], &used))
				continue; /* cannot happen: we encoded it */
			l->evs[n] = &l->views[n];
			l->ids[n] = f->first_seq + i;
			n++;
		}
	}
	return n;
}

/* Decode the records of the frames read from disk, from seq on, below stop. */
static size_t collect_disk(struct lane *l, uint64_t seq, uint64_t stop, uint64_t *bad)
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
				/* The crc held, yet the record does not decode: a
				 * record of a later version? Counted, skipped. */
				*bad += fr->count - i;
				break;
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

/* Write evs[0..n) as one batch; how many were committed. *failed when the
 * sink failed (its err says why). */
static size_t lane_write(struct lane *l, size_t n, bool *failed)
{
	struct writer *w = l->w;
	struct sink *s = &l->sink;
	bool sync_now = w->cfg.fsync == SINK_FSYNC_BATCH;
	size_t i, k = n;

	*failed = true;
	if (w->cfg.fsync == SINK_FSYNC_INTERVAL &&
	    monotonic() - l->last_sync >= w->cfg.fsync_interval_ms / 1000.0)
		sync_now = true;
	if (l->needs_restore) {
		if (s->ops->restore && s->ops->restore(s, &l->undo) < 0)
			return 0;
		l->needs_restore = false;
	}
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
		l->last_sync = monotonic();
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

	if (!w->stopping)
		return false;
	if (!l->pending || l->seq_next >= end_seq(w))
		return true;
	if (l->down && l->stop_tried)
		return true;
	if (monotonic() < w->stop_deadline)
		return false;
	/* Past the drain time: go when all that is left is in the log. */
	for (f = w->head; f; f = f->next)
		if (!f->durable && !f->tombstone && frame_end(f) > l->seq_next)
			return false;
	return true;
}

static void timed_wait(pthread_cond_t *c, pthread_mutex_t *m, double seconds)
{
	struct timespec until;
	long ns;

	clock_gettime(CLOCK_MONOTONIC, &until);
	ns = until.tv_nsec + (long)(seconds * 1e9);
	until.tv_sec += ns / 1000000000L;
	until.tv_nsec = ns % 1000000000L;
	pthread_cond_timedwait(c, m, &until);
}

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	struct writer *w = l->w;
	struct plan p;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		size_t n = 0, done, t;
		uint64_t bad = 0, lost_rejected;
		bool failed = false, from_disk = false, was_down;
		struct wal_pos read_end;
		double now;

		if (lane_should_end(l))
			break;
		now = monotonic();
		if (l->down && now < l->retry_at && !(w->stopping && !l->stop_tried)) {
			timed_wait(&w->work, &w->lock, l->retry_at - now);
			continue;
		}
		lane_plan(l, &p);
		if (p.kind == PLAN_AGAIN)
			continue;
		if (p.kind == PLAN_IDLE) {
			pthread_cond_broadcast(&w->room);
			timed_wait(&w->work, &w->lock, IDLE_WAIT_MS / 1000.0);
			continue;
		}
		if (w->stopping && l->down)
			l->stop_tried = true;
		l->busy = true;
		pthread_mutex_unlock(&w->lock);

		if (p.kind == PLAN_MEMORY) {
			n = collect_memory(l, p.seq);
		} else {
			read_end = p.pos;
			if (wal_read(&l->reader, &w->wal, &p.lim, &read_end, p.seq, w->cfg.batch_max) < 0) {
				sink_fail(&l->sink, errno, "reading the write-ahead log %s/wal at %016llx+%llu",
					  w->spool_dir, (unsigned long long)p.pos.seg,
					  (unsigned long long)p.pos.off);
				failed = true;
			} else {
				n = collect_disk(l, p.seq, p.disk_end, &bad);
				from_disk = true;
			}
		}
		/* The log on disk before any sink has these events (fsync=batch). */
		if (n && w->has_wal && w->cfg.fsync == SINK_FSYNC_BATCH) {
			struct wal_sync_work work;
			uint64_t target = 0;

			pthread_mutex_lock(&w->lock);
			if (l->ids[n - 1] >= w->synced_seq) {
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
		done = n ? lane_write(l, n, &failed) : 0;

		pthread_mutex_lock(&w->lock);
		l->busy = false;
		was_down = l->down;
		if (p.kind == PLAN_MEMORY) {
			if (done)
				lane_pos_after_memory(l, l->ids[done - 1] + 1);
			for (t = 0; t < l->n_taken; t++)
				l->taken[t]->in_use--;
			l->n_taken = 0;
		}
		if (done) {
			uint64_t next = l->ids[done - 1] + 1;

			if (from_disk)
				lane_pos_after_disk(l, next, &read_end);
			if (next > l->seq_next)
				l->seq_next = next;
			l->pending -= done < l->pending ? done : l->pending;
			if (from_disk)
				l->st.replayed += done;
			else
				l->st.written += done;
		} else if (from_disk && !n && !failed) {
			/* Nothing on disk below disk_end from here: move on, to the
			 * next segment, or past a gap to what memory holds. */
			if (l->reader.n_frames && p.disk_end != UINT64_MAX) {
				/* The log goes on above events only memory holds:
				 * those first (pos stays: the frame after them). */
				l->seq_next = p.disk_end;
			} else if (read_end.seg != p.pos.seg || read_end.off != p.pos.off) {
				l->pos = read_end;
			} else {
				struct frame *f = frame_from(w, l->seq_next);

				l->seq_next = f ? f->first_seq : end_seq(w);
			}
		}
		if (bad) {
			l->st.lost[SINK_LOSS_EIO] += bad;
			l->pending -= bad < l->pending ? bad : l->pending;
			LOG(w, LOG_ERR, "%s: %llu events of the write-ahead log could not be read back",
			    l->st.name, (unsigned long long)bad);
		}
		lost_rejected = l->sink.rejected - l->rejected_seen;
		if (lost_rejected) {
			uint64_t *counted = from_disk ? &l->st.replayed : &l->st.written;

			*counted -= lost_rejected < *counted ? lost_rejected : *counted;
			l->rejected_seen = l->sink.rejected;
			l->st.lost[SINK_LOSS_REJECTED] += lost_rejected;
			LOG(w, LOG_ERR, "%s: %s (%llu rows refused and left out)", l->st.name,
			    l->sink.err, (unsigned long long)lost_rejected);
		}
		if (n || failed)
			l->attempts++;
		if (failed) {
			l->st.failed++;
			l->down = true;
			l->retry_at = monotonic() + w->cfg.retry_ms / 1000.0;
			if (!was_down)
				lane_log_down(l);
		} else if (done && was_down) {
			l->down = false;
			LOG(w, LOG_NOTICE, "%s: writing again; %llu events to catch up", l->st.name,
			    (unsigned long long)l->pending);
		}
		l->st.down = l->down;
		free_consumed(w);
		update_pressure(w);
		pthread_cond_broadcast(&w->room);
		pthread_cond_signal(&w->maint);
	}
	l->done = true;
	pthread_cond_broadcast(&w->room);
	pthread_cond_signal(&w->maint);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- maintenance: trimming the log, its bound, interval syncs ---- */

static void enforce_bound(struct writer *w)
{
	while (w->wal.total_bytes > w->cfg.spool_max_bytes && w->wal.n_segs > 1) {
		uint64_t seg = w->wal.segs[0].first_seq, end = w->wal.segs[1].first_seq, lost[SINK_WRITER_MAX_SINKS];
		size_t i;

		for (i = 0; i < w->n_lanes; i++) {
			const struct lane *l = &w->lanes[i];

			/* A sink that is writing: back-pressure's job. One trying
			 * now: next time. */
			if (l->seq_next < end && (!l->down || l->busy))
				return;
		}
		for (i = 0; i < w->n_lanes; i++)
			lost[i] = w->lanes[i].seq_next < end
					  ? wal_count_events(&w->wal, seg, w->lanes[i].seq_next)
					  : 0;
		if (!wal_drop_oldest(&w->wal, &seg, &end))
			return;
		for (i = 0; i < w->n_lanes; i++) {
			struct lane *l = &w->lanes[i];

			if (l->seq_next >= end)
				continue;
			l->st.lost[SINK_LOSS_LIMIT] += lost[i];
			l->pending -= lost[i] < l->pending ? lost[i] : l->pending;
			l->seq_next = end;
			l->pos.seg = end;
			l->pos.off = WAL_SEGMENT_HEADER;
			l->disk_time_us = 0;
			LOG(w, LOG_CRIT,
			    "ALARM: %s: down while the write-ahead log passed spool_max_bytes (%llu): "
			    "%llu of its oldest events are lost",
			    l->st.name, (unsigned long long)w->cfg.spool_max_bytes,
			    (unsigned long long)lost[i]);
		}
		free_consumed(w);
	}
}

static void *maint_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->maint_stop) {
		uint64_t min = end_seq(w);
		size_t i;

		timed_wait(&w->maint, &w->lock, IDLE_WAIT_MS / 1000.0);
		for (i = 0; i < w->n_lanes; i++)
			if (w->lanes[i].seq_next < min)
				min = w->lanes[i].seq_next;
		wal_trim(&w->wal, min);
		enforce_bound(w);
		update_pressure(w);
		if (w->cfg.fsync == SINK_FSYNC_INTERVAL &&
		    monotonic() - w->last_wal_sync >= w->cfg.fsync_interval_ms / 1000.0) {
			struct wal_sync_work work;
			uint64_t target = w->wal.next_seq;

			w->last_wal_sync = monotonic();
			if (wal_sync_begin(&w->wal, &work) == 0) {
				pthread_mutex_unlock(&w->lock);
				wal_sync_run(&work);
				pthread_mutex_lock(&w->lock);
				w->st.fsyncs++;
				if (target > w->synced_seq)
					w->synced_seq = target;
			}
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- the writer as a sink ---- */

static int writer_write(struct sink *s, const struct im_event *ev, uint64_t eventid)
{
	struct writer *w = s->ctx;
	int rc;

	(void)eventid;
	pthread_mutex_lock(&w->own_lock);
	if (!w->own)
		w->own = sink_writer_batch_new(s);
	if (!w->own || !sink_writer_batch_add(w->own, ev)) {
		pthread_mutex_unlock(&w->own_lock);
		return -1;
	}
	rc = 0;
	if (sink_writer_batch_count(w->own) >= w->cfg.coalesce)
		rc = sink_writer_submit(w->own);
	pthread_mutex_unlock(&w->own_lock);
	return rc < 0 ? -1 : 0;
}

/* What writer_write kept back (coalesce) is handed over. */
static void submit_own(struct writer *w)
{
	pthread_mutex_lock(&w->own_lock);
	if (w->own && sink_writer_batch_count(w->own))
		sink_writer_submit(w->own);
	pthread_mutex_unlock(&w->own_lock);
}

static uint64_t losses_locked(const struct writer *w)
{
	uint64_t f = 0;
	size_t i, c;

	for (i = 0; i < w->n_lanes; i++)
		for (c = 0; c < SINK_LOSS_COUNT; c++)
			f += w->lanes[i].st.lost[c];
	return f;
}

/* Waits until every sink has written what was handed over so far, or
 * has tried once and failed. -1 when events were lost since the last
 * flush, or a sink is down with events still to write. */
static int writer_flush(struct sink *s)
{
	struct writer *w = s->ctx;
	uint64_t target, attempts[SINK_WRITER_MAX_SINKS], f;
	size_t i;
	int rc;

	submit_own(w);
	pthread_mutex_lock(&w->lock);
	target = end_seq(w);
	for (i = 0; i < w->n_lanes; i++) {
		attempts[i] = w->lanes[i].attempts;
		w->lanes[i].retry_at = 0; /* try now */
	}
	pthread_cond_broadcast(&w->work);
	while (w->started) {
		bool all = true;

		for (i = 0; i < w->n_lanes; i++) {
			const struct lane *l = &w->lanes[i];

			if (l->done || !l->pending || l->seq_next >= target)
				continue;
			if (l->down && l->attempts > attempts[i])
				continue;
			all = false;
		}
		if (all)
			break;
		timed_wait(&w->room, &w->lock, IDLE_WAIT_MS / 1000.0);
	}
	f = losses_locked(w);
	rc = f != w->failures_seen ? -1 : 0;
	w->failures_seen = f;
	for (i = 0; i < w->n_lanes; i++)
		if (w->lanes[i].down && w->lanes[i].pending)
			rc = -1;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static void log_summary(struct writer *w, struct lane *l)
{
	char lost[256];
	size_t c, n = 0;

	lost[0] = '\0';
	for (c = 0; c < SINK_LOSS_COUNT; c++)
		if (l->st.lost[c])
			n += (size_t)snprintf(lost + n, n < sizeof(lost) ? sizeof(lost) - n : 0, " %s=%llu",
					      sink_loss_name((enum sink_loss)c),
					      (unsigned long long)l->st.lost[c]);
	LOG(w, (n || l->pending) ? LOG_WARNING : LOG_INFO,
	    "writer: %s: %llu written, %llu replayed, %llu failed attempts, %llu left in the log, "
	    "lost:%s",
	    l->st.name, (unsigned long long)l->st.written, (unsigned long long)l->st.replayed,
	    (unsigned long long)l->st.failed, (unsigned long long)l->pending, n ? lost : " none");
}

static void writer_close(struct sink *s)
{
	struct writer *w = s->ctx;
	struct frame *f;
	size_t i;

	submit_own(w);
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	w->stop_deadline = monotonic() + STOP_DRAIN_S;
	pthread_cond_broadcast(&w->work);
	pthread_cond_broadcast(&w->room);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->n_lanes; i++) {
		if (w->lanes[i].thread_started) {
			pthread_join(w->lanes[i].thread, NULL);
		} else if (!w->started) {
			/* Never started: write here what was handed over. */
			w->lanes[i].done = false;
			lane_main(&w->lanes[i]);
		}
	}
	pthread_mutex_lock(&w->lock);
	w->maint_stop = true;
	pthread_cond_signal(&w->maint);
	pthread_mutex_unlock(&w->lock);
	if (w->maint_started)
		pthread_join(w->maint_thread, NULL);
	/* What only memory held and a sink did not write is lost now. */
	for (i = 0; i < w->n_lanes; i++) {
		struct lane *l = &w->lanes[i];

		for (f = w->head; f; f = f->next) {
			uint64_t n;

			if (f->durable || f->tombstone || frame_end(f) <= l->seq_next)
				continue;
			n = frame_end(f) - (l->seq_next > f->first_seq ? l->seq_next : f->first_seq);
			l->st.lost[f->lost_cause] += n;
			l->pending -= n < l->pending ? n : l->pending;
		}
		if (w->has_wal && l->pending)
			LOG(w, LOG_WARNING, "%s: %llu events stay in the write-ahead log %s/wal until the next start",
			    l->st.name, (unsigned long long)l->pending, w->spool_dir);
		/* (events only memory held were counted lost just above) */
		log_summary(w, l);
		if (l->sink.ops && l->sink.ops->sync && w->cfg.fsync != SINK_FSYNC_OFF)
			l->sink.ops->sync(&l->sink);
		sink_close(&l->sink);
		if (l->has_cursor)
			sink_cursor_close(&l->cursor);
		sink_undo_free(&l->undo);
		sink_undo_free(&l->committed);
		wal_reader_free(&l->reader);
		free(l->evs);
		free(l->views);
		free(l->ids);
		free(l->taken);
	}
	if (w->st.not_durable)
		LOG(w, LOG_ERR, "writer: %llu events could not be put in the write-ahead log (kept in memory)",
		    (unsigned long long)w->st.not_durable);
	while ((f = w->head)) {
		w->head = f->next;
		frame_free(f);
	}
	while ((f = w->spare)) {
		w->spare = f->next;
		frame_free(f);
	}
	if (w->has_wal)
		wal_close(&w->wal);
	sink_writer_batch_free(w->own);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->own_lock);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->maint);
	free(w->spool_dir);
	free(w);
}

static const struct sink_ops writer_ops = {
	.name = "writer",
	.write = writer_write,
	.flush = writer_flush,
	.close = writer_close,
};

int sink_writer_open(struct sink *s, const struct sink_writer_config *cfg, char *err,
		     size_t err_size)
{
	struct writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (!w) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	w->cfg = *cfg;
	if (!w->cfg.memory_max)
		w->cfg.memory_max = SINK_WRITER_DEFAULT_MEMORY;
	if (!w->cfg.batch_max)
		w->cfg.batch_max = SINK_WRITER_DEFAULT_BATCH;
	if (!w->cfg.spool_max_bytes)
		w->cfg.spool_max_bytes = SINK_WRITER_DEFAULT_SPOOL_MAX;
	if (!w->cfg.fsync_interval_ms)
		w->cfg.fsync_interval_ms = SINK_WRITER_DEFAULT_FSYNC_INTERVAL_MS;
	if (!w->cfg.segment_bytes)
		w->cfg.segment_bytes = WAL_DEFAULT_SEGMENT_BYTES;
	/* Several segments within the bound, so trimming frees space early. */
	if (w->cfg.segment_bytes > w->cfg.spool_max_bytes / 4)
		w->cfg.segment_bytes = w->cfg.spool_max_bytes / 4 > 4096 ? w->cfg.spool_max_bytes / 4 : 4096;
	w->spool_dir = cfg->spool_dir ? strdup(cfg->spool_dir) : NULL;
	w->cfg.spool_dir = w->spool_dir;
	if (cfg->spool_dir && !w->spool_dir) {
		free(w);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if (w->spool_dir) {
		struct wal_owner owner = { w->cfg.owner_uid, w->cfg.owner_gid };

		if (wal_open(&w->wal, w->spool_dir, sink_cursor_max_seq(w->spool_dir),
			     w->cfg.segment_bytes, &owner, err, err_size) < 0) {
			free(w->spool_dir);
			free(w);
			return -1;
		}
		w->has_wal = true;
		w->synced_seq = w->wal.next_seq; /* what is there was synced at open */
		if (w->wal.torn_bytes)
			LOG(w, LOG_WARNING, "write-ahead log %s/wal: %llu bytes of a torn last frame cut off",
			    w->spool_dir, (unsigned long long)w->wal.torn_bytes);
		if (w->wal.damaged_frames)
			LOG(w, LOG_ERR, "write-ahead log %s/wal: %llu damaged frames cut off",
			    w->spool_dir, (unsigned long long)w->wal.damaged_frames);
	} else {
		w->next_seq = now_us();
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->own_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work, &ca);
	pthread_cond_init(&w->room, &ca);
	pthread_cond_init(&w->maint, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&w->pressure, false);
	memset(s, 0, sizeof(*s));
	s->ops = &writer_ops;
	s->ctx = w;
	return 0;
}

/* Events of the log from seq on, counted from frame headers. */
static uint64_t count_from(struct writer *w, const struct wal_pos *pos, uint64_t seq,
			   uint64_t *first_time_us)
{
	struct wal_reader r;
	struct wal_read_limit lim;
	struct wal_pos p = *pos;
	uint64_t n = 0;
	int guard;

	wal_reader_init(&r);
	for (guard = 0; guard < 1000000; guard++) {
		size_t k;
		struct wal_pos before = p;

		wal_read_limit_of(&w->wal, p.seg, &lim);
		if (wal_read(&r, &w->wal, &lim, &p, seq, 4096) < 0)
			break;
		for (k = 0; k < r.n_frames; k++) {
			const struct wal_frame *fr = &r.frames[k];

			if (!n)
				*first_time_us = fr->time_us;
			n += fr->first_seq >= seq ? fr->count : fr->first_seq + fr->count - seq;
		}
		if (!r.n_frames && p.seg == before.seg && p.off == before.off)
			break;
	}
	wal_reader_free(&r);
	return n;
}

int sink_writer_add_sink(struct sink *ws, struct sink *inner, char *err, size_t err_size)
{
	struct writer *w = ws->ctx;
	struct lane *l;
	size_t b;

	if (w->started || w->n_lanes >= SINK_WRITER_MAX_SINKS) {
		snprintf(err, err_size, "too many sinks");
		return -1;
	}
	l = &w->lanes[w->n_lanes];
	memset(l, 0, sizeof(*l));
	l->w = w;
	sink_undo_init(&l->undo);
	sink_undo_init(&l->committed);
	wal_reader_init(&l->reader);
	b = w->cfg.batch_max;
	l->evs = calloc(b, sizeof(*l->evs));
	l->views = calloc(b, sizeof(*l->views));
	l->ids = calloc(b, sizeof(*l->ids));
	l->taken = calloc(b, sizeof(*l->taken));
	if (!l->evs || !l->views || !l->ids || !l->taken) {
		snprintf(err, err_size, "out of memory");
		goto failed;
	}
	snprintf(l->st.name, sizeof(l->st.name), "%s", inner->id ? inner->id : inner->ops->name);
	l->seq_next = end_seq(w);
	if (w->has_wal) {
		l->pos.seg = w->wal.n_segs ? w->wal.segs[w->wal.n_segs - 1].first_seq : 0;
		l->pos.off = w->wal.n_segs ? w->wal.segs[w->wal.n_segs - 1].bytes : WAL_SEGMENT_HEADER;
	}
	if (w->has_wal && inner->id) {
		bool found;
		uint64_t seq;

		if (sink_cursor_open(&l->cursor, w->spool_dir, inner->id, &found, &seq, &l->undo, err,
				     err_size) < 0)
			goto failed;
		l->has_cursor = true;
		wal_own(&w->wal, l->cursor.path);
		if (found) {
			/* What a crash left of an unfinished batch goes first. */
			if (l->undo.n && inner->ops->restore && inner->ops->restore(inner, &l->undo) < 0) {
				LOG(w, LOG_ERR, "%s: %s; tried again before its next batch", l->st.name,
				    inner->err);
				l->needs_restore = true;
			}
			sink_undo_clear(&l->committed);
			if (!l->needs_restore)
				sink_undo_clear(&l->undo);
			if (seq < wal_first_seq(&w->wal))
				seq = wal_first_seq(&w->wal);
			if (seq < l->seq_next) {
				l->seq_next = seq;
				if (wal_locate(&w->wal, seq, &l->pos) < 0) {
					snprintf(err, err_size, "%s/wal: %s", w->spool_dir, strerror(errno));
					goto failed;
				}
				l->pending = count_from(w, &l->pos, seq, &l->disk_time_us);
				l->st.spooled = l->pending;
				if (l->pending)
					LOG(w, LOG_NOTICE, "%s: resuming %llu events from the write-ahead log %s/wal",
					    l->st.name, (unsigned long long)l->pending, w->spool_dir);
			}
		} else if (sink_cursor_store(&l->cursor, l->seq_next, NULL, true) < 0) {
			snprintf(err, err_size, "%s: %s", l->cursor.path, strerror(errno));
			goto failed;
		}
	}
	l->sink = *inner;
	l->rejected_seen = inner->rejected;
	memset(inner, 0, sizeof(*inner));
	w->n_lanes++;
	return 0;
failed:
	if (l->has_cursor)
		sink_cursor_close(&l->cursor);
	sink_undo_free(&l->undo);
	sink_undo_free(&l->committed);
	free(l->evs);
	free(l->views);
	free(l->ids);
	free(l->taken);
	memset(l, 0, sizeof(*l));
	return -1;
}

int sink_writer_start(struct sink *ws)
{
	struct writer *w = ws->ctx;
	sigset_t all, old;
	size_t i;
	int rc = 0;

	/* Signals stay with the program's own threads: one delivered here
	 * would not interrupt the call they wait in. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&w->lock);
	if (!w->started) {
		for (i = 0; i < w->n_lanes && rc == 0; i++) {
			w->lanes[i].last_sync = monotonic();
			rc = pthread_create(&w->lanes[i].thread, NULL, lane_main, &w->lanes[i]);
			if (rc == 0)
				w->lanes[i].thread_started = true;
		}
		if (rc == 0 && w->has_wal) {
			rc = pthread_create(&w->maint_thread, NULL, maint_main, w);
			if (rc == 0)
				w->maint_started = true;
		}
		w->started = true;
	}
	pthread_mutex_unlock(&w->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

void sink_writer_get_stats(struct sink *ws, struct sink_writer_stats *st)
{
	struct writer *w = ws->ctx;
	uint64_t now = now_us();
	size_t i;

	pthread_mutex_lock(&w->lock);
	*st = w->st;
	st->pressure = atomic_load_explicit(&w->pressure, memory_order_relaxed);
	st->memory_bytes = w->mem_bytes;
	st->log_bytes = w->has_wal ? w->wal.total_bytes : 0;
	st->log_segments = w->has_wal ? w->wal.n_segs : 0;
	st->n_sinks = w->n_lanes;
	for (i = 0; i < w->n_lanes; i++) {
		struct lane *l = &w->lanes[i];
		struct frame *f;
		uint64_t t = 0;

		st->sinks[i] = l->st;
		st->sinks[i].queued = l->pending;
		st->sinks[i].down = l->down;
		if (l->pending) {
			/* The hand-over time of the oldest event it has not written:
			 * its frame in memory, or the one last read from disk. */
			f = frame_at(w, l->seq_next);
			if (f)
				t = f->time_us;
			else if (l->disk_time_us)
				t = l->disk_time_us;
			else if ((f = frame_from(w, l->seq_next)))
				t = f->time_us;
		}
		st->sinks[i].lag = t && now > t ? (double)(now - t) / 1e6 : 0;
	}
	pthread_mutex_unlock(&w->lock);
}
