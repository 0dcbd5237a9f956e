/* The writer (sink_writer.h): the hand-over of producers' batches to the
 * write-ahead log and the in-memory queue, the maintenance of the log
 * (trimming, its bound, interval syncs), and the writer as a sink (write,
 * flush, close) that owns the sinks' threads (sink_lane.c). */
#include "sink/sink_writer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink/sink_record.h"
#include "sink/sink_writer_internal.h"

double writer_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t writer_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t writer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void writer_timed_wait(pthread_cond_t *c, pthread_mutex_t *m, double seconds)
{
	struct timespec until;
	long ns;

	clock_gettime(CLOCK_MONOTONIC, &until);
	ns = until.tv_nsec + (long)(seconds * 1e9);
	until.tv_sec += ns / 1000000000L;
	until.tv_nsec = ns % 1000000000L;
	pthread_cond_timedwait(c, m, &until);
}

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
	queue_frame_free(b->f);
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
		f = queue_frame_new();
		if (!f || !queue_frame_begin(f)) {
			queue_frame_free(f);
			goto lost;
		}
		b->f = f;
	} else if (!f->n_rec && !f->buf.len && !queue_frame_begin(f)) {
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
		if (!b->w->lanes[i].gone)
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
	if (fresh && !queue_frame_begin(fresh)) {
		queue_frame_free(fresh);
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
		if (!w->lanes[i].gone && w->lanes[i].down && w->lanes[i].pending)
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
	f->time_us = writer_now_us();
	f->durable = false;
	f->tombstone = false;
	f->in_use = 0;
	f->next = NULL;
	if (w->has_wal) {
		t0 = writer_now_ns();
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
		dt = writer_now_ns() - t0;
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
	w->mem_bytes += queue_frame_cost(f);
	for (i = 0; i < w->n_lanes; i++)
		if (!w->lanes[i].gone)
			w->lanes[i].pending += n;
	queue_free_consumed(w);
	if (w->mem_bytes > w->cfg.memory_max && !may_wait(w))
		queue_evict(w);
	writer_update_pressure(w);
	pthread_cond_broadcast(&w->work);
	if (atomic_load_explicit(&w->pressure, memory_order_relaxed)) {
		w->st.slow_downs++;
		return SINK_WRITER_SLOW_DOWN;
	}
	return SINK_WRITER_OK;
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
			if (!l->gone && l->seq_next < end && (!l->down || l->busy))
				return;
		}
		for (i = 0; i < w->n_lanes; i++)
			lost[i] = !w->lanes[i].gone && w->lanes[i].seq_next < end
					  ? wal_count_events(&w->wal, seg, w->lanes[i].seq_next)
					  : 0;
		if (!wal_drop_oldest(&w->wal, &seg, &end))
			return;
		for (i = 0; i < w->n_lanes; i++) {
			struct lane *l = &w->lanes[i];

			if (l->gone || l->seq_next >= end)
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
		queue_free_consumed(w);
	}
}

static void *maint_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->maint_stop) {
		uint64_t min = end_seq(w);
		size_t i;

		writer_timed_wait(&w->maint, &w->lock, IDLE_WAIT_MS / 1000.0);
		for (i = 0; i < w->n_lanes; i++)
			if (!w->lanes[i].gone && w->lanes[i].seq_next < min)
				min = w->lanes[i].seq_next;
		wal_trim(&w->wal, min);
		enforce_bound(w);
		writer_update_pressure(w);
		if (writer_retention_due(w) && !w->stopping) {
			pthread_mutex_unlock(&w->lock);
			writer_retention_tick(w, false);
			pthread_mutex_lock(&w->lock);
		}
		if (w->cfg.fsync == SINK_FSYNC_INTERVAL &&
		    writer_monotonic() - w->last_wal_sync >= w->cfg.fsync_interval_ms / 1000.0) {
			struct wal_sync_work work;
			uint64_t target = w->wal.next_seq;

			w->last_wal_sync = writer_monotonic();
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
		writer_timed_wait(&w->room, &w->lock, IDLE_WAIT_MS / 1000.0);
	}
	f = losses_locked(w);
	rc = f != w->failures_seen ? -1 : 0;
	w->failures_seen = f;
	for (i = 0; i < w->n_lanes; i++)
		if (!w->lanes[i].gone && w->lanes[i].down && w->lanes[i].pending)
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

/* A stopped sink's last accounting, its summary, and its end. */
void writer_lane_close(struct writer *w, struct lane *l)
{
	struct frame *f;

	/* What only memory held (the log refused it) and the sink did not
	 * write is lost now; tombstones were counted when they were made. */
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
	log_summary(w, l);
	lane_checkpoint(l, true);
	if (l->sink.ops && l->sink.ops->sync && w->cfg.fsync != SINK_FSYNC_OFF)
		l->sink.ops->sync(&l->sink);
	sink_close(&l->sink);
	if (l->has_cursor)
		sink_cursor_close(&l->cursor);
	sink_undo_free(&l->undo);
	sink_undo_free(&l->committed);
	wal_reader_free(&l->reader);
	bytebuf_free(&l->purge_text);
	chain_hasher_free(&l->hasher);
	free(l->evs);
	free(l->views);
	free(l->ids);
	free(l->taken);
	if (l->has_next)
		sink_close(&l->next);
	l->has_next = false;
	l->closed = true;
}

static void writer_free(struct writer *w)
{
	struct frame *f;

	while ((f = w->head)) {
		w->head = f->next;
		queue_frame_free(f);
	}
	while ((f = w->spare)) {
		w->spare = f->next;
		queue_frame_free(f);
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
	writer_archive_free(w);
	free(w);
}

static void writer_close(struct sink *s)
{
	struct writer *w = s->ctx;
	size_t i;

	submit_own(w);
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	w->stop_deadline = writer_monotonic() + STOP_DRAIN_S;
	pthread_cond_broadcast(&w->work);
	pthread_cond_broadcast(&w->room);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->n_lanes; i++) {
		if (w->lanes[i].closed)
			continue;
		if (w->lanes[i].thread_started) {
			pthread_join(w->lanes[i].thread, NULL);
		} else if (!w->started) {
			/* Never started: write here what was handed over. */
			w->lanes[i].done = false;
			sink_lane_main(&w->lanes[i]);
		}
	}
	pthread_mutex_lock(&w->lock);
	w->maint_stop = true;
	pthread_cond_signal(&w->maint);
	pthread_mutex_unlock(&w->lock);
	if (w->maint_started)
		pthread_join(w->maint_thread, NULL);
	for (i = 0; i < w->n_lanes; i++)
		if (!w->lanes[i].closed)
			writer_lane_close(w, &w->lanes[i]);
	if (w->st.not_durable)
		LOG(w, LOG_ERR, "writer: %llu events could not be put in the write-ahead log (kept in memory)",
		    (unsigned long long)w->st.not_durable);
	writer_free(w);
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
	if (writer_archive_open(w, err, err_size) < 0) {
		writer_archive_free(w);
		free(w);
		return -1;
	}
	w->spool_dir = cfg->spool_dir ? strdup(cfg->spool_dir) : NULL;
	w->cfg.spool_dir = w->spool_dir;
	if (cfg->spool_dir && !w->spool_dir) {
		writer_archive_free(w);
		free(w);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if (w->spool_dir) {
		struct wal_owner owner = { w->cfg.owner_uid, w->cfg.owner_gid };

		if (wal_open(&w->wal, w->spool_dir, sink_cursor_max_seq(w->spool_dir),
			     w->cfg.segment_bytes, &owner, err, err_size) < 0) {
			free(w->spool_dir);
			writer_archive_free(w);
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
		w->next_seq = writer_now_us();
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

/* A sink with a cursor in the log: cut back what a crash left of an
 * unfinished batch, and start where it stopped (or, new, at the end). */
static int lane_resume(struct writer *w, struct lane *l, struct sink *inner, char *err,
		       size_t err_size)
{
	bool found;
	uint64_t seq;

	if (sink_cursor_open(&l->cursor, w->spool_dir, inner->id, &found, &seq, &l->undo, err,
			     err_size) < 0)
		return -1;
	l->has_cursor = true;
	wal_own(&w->wal, l->cursor.path);
	if (!found) {
		if (sink_cursor_store(&l->cursor, l->seq_next, NULL, true) < 0) {
			snprintf(err, err_size, "%s: %s", l->cursor.path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (l->undo.n && inner->ops->restore && inner->ops->restore(inner, &l->undo) < 0) {
		LOG(w, LOG_ERR, "%s: %s; tried again before its next batch", l->st.name, inner->err);
		l->needs_restore = true;
	}
	if (!l->needs_restore)
		sink_undo_clear(&l->undo);
	if (seq < wal_first_seq(&w->wal))
		seq = wal_first_seq(&w->wal);
	if (seq >= l->seq_next)
		return 0;
	l->seq_next = seq;
	if (wal_locate(&w->wal, seq, &l->pos) < 0) {
		snprintf(err, err_size, "%s/wal: %s", w->spool_dir, strerror(errno));
		return -1;
	}
	l->pending = count_from(w, &l->pos, seq, &l->disk_time_us);
	l->st.spooled = l->pending;
	if (l->pending)
		LOG(w, LOG_NOTICE, "%s: resuming %llu events from the write-ahead log %s/wal", l->st.name,
		    (unsigned long long)l->pending, w->spool_dir);
	return 0;
}

static void lane_free_arrays(struct lane *l)
{
	if (l->has_cursor)
		sink_cursor_close(&l->cursor);
	sink_undo_free(&l->undo);
	sink_undo_free(&l->committed);
	bytebuf_free(&l->purge_text);
	chain_hasher_free(&l->hasher);
	free(l->evs);
	free(l->views);
	free(l->ids);
	free(l->taken);
	memset(l, 0, sizeof(*l));
}

int writer_lane_add(struct writer *w, struct lane *l, struct sink *inner, char *err,
		    size_t err_size)
{
	size_t b;

	memset(l, 0, sizeof(*l));
	l->w = w;
	sink_undo_init(&l->undo);
	sink_undo_init(&l->committed);
	bytebuf_init(&l->purge_text);
	chain_hasher_init(&l->hasher);
	wal_reader_init(&l->reader);
	b = w->cfg.batch_max;
	l->evs = calloc(b, sizeof(*l->evs));
	l->views = calloc(b, sizeof(*l->views));
	l->ids = calloc(b, sizeof(*l->ids));
	l->taken = calloc(b, sizeof(*l->taken));
	if (!l->evs || !l->views || !l->ids || !l->taken) {
		snprintf(err, err_size, "out of memory");
		lane_free_arrays(l);
		return -1;
	}
	snprintf(l->st.name, sizeof(l->st.name), "%s", inner->id ? inner->id : inner->ops->name);
	l->seq_next = end_seq(w);
	if (w->has_wal) {
		l->pos.seg = w->wal.n_segs ? w->wal.segs[w->wal.n_segs - 1].first_seq : 0;
		l->pos.off = w->wal.n_segs ? w->wal.segs[w->wal.n_segs - 1].bytes : WAL_SEGMENT_HEADER;
	}
	if (w->has_wal && inner->id && lane_resume(w, l, inner, err, err_size) < 0) {
		lane_free_arrays(l);
		return -1;
	}
	l->sink = *inner;
	l->rejected_seen = inner->rejected;
	memset(inner, 0, sizeof(*inner));
	/* A writer already running (a reload): the sink's thread now. */
	if (w->started) {
		l->last_sync = writer_monotonic();
		if (pthread_create(&l->thread, NULL, sink_lane_main, l) != 0) {
			snprintf(err, err_size, "%s: cannot start its thread", l->st.name);
			*inner = l->sink;
			lane_free_arrays(l);
			return -1;
		}
		l->thread_started = true;
	}
	return 0;
}

int sink_writer_add_sink(struct sink *ws, struct sink *inner, char *err, size_t err_size)
{
	struct writer *w = ws->ctx;

	if (w->started || w->n_lanes >= SINK_WRITER_MAX_SINKS) {
		snprintf(err, err_size, "too many sinks");
		return -1;
	}
	if (writer_lane_add(w, &w->lanes[w->n_lanes], inner, err, err_size) < 0)
		return -1;
	w->n_lanes++;
	return 0;
}

int sink_writer_start(struct sink *ws)
{
	struct writer *w = ws->ctx;
	sigset_t all, old;
	size_t i;
	int rc = 0;
	bool first;

	/* Signals stay with the program's own threads: one delivered here
	 * would not interrupt the call they wait in. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&w->lock);
	/* After a fork (imwired detaching): the pid a refused second
	 * instance names is ours now. */
	if (w->has_wal)
		wal_note_pid(&w->wal);
	first = !w->started;
	if (!w->started) {
		for (i = 0; i < w->n_lanes && rc == 0; i++) {
			w->lanes[i].last_sync = writer_monotonic();
			rc = pthread_create(&w->lanes[i].thread, NULL, sink_lane_main, &w->lanes[i]);
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
	/* Retention is applied at every start, before the events of this run. */
	if (first && rc == 0)
		writer_retention_tick(w, true);
	return rc == 0 ? 0 : -1;
}

void sink_writer_get_stats(struct sink *ws, struct sink_writer_stats *st)
{
	struct writer *w = ws->ctx;
	uint64_t now = writer_now_us();
	size_t i;

	pthread_mutex_lock(&w->lock);
	*st = w->st;
	st->pressure = atomic_load_explicit(&w->pressure, memory_order_relaxed);
	st->memory_bytes = w->mem_bytes;
	st->log_bytes = w->has_wal ? w->wal.total_bytes : 0;
	st->log_segments = w->has_wal ? w->wal.n_segs : 0;
	st->n_sinks = 0;
	for (i = 0; i < w->n_lanes; i++) {
		struct lane *l = &w->lanes[i];
		struct sink_writer_sink_stats *k = &st->sinks[st->n_sinks];
		struct frame *f;
		uint64_t t = 0;

		if (l->gone)
			continue;
		st->n_sinks++;
		*k = l->st;
		k->queued = l->pending;
		k->down = l->down;
		if (l->pending) {
			/* The hand-over time of the oldest event it has not written:
			 * its frame in memory, or the one last read from disk. */
			f = queue_at(w, l->seq_next);
			if (f)
				t = f->time_us;
			else if (l->disk_time_us)
				t = l->disk_time_us;
			else if ((f = queue_from(w, l->seq_next)))
				t = f->time_us;
		}
		k->lag = t && now > t ? (double)(now - t) / 1e6 : 0;
	}
	pthread_mutex_unlock(&w->lock);
}
