#include "sink/sink_writer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "sink/sink_spool.h"

#define WRITER_MAX_SINKS 8
#define WRITER_MAX_DBS 4
#define IDLE_WAIT_MS 100

struct queued {
	struct im_event ev;
	uint64_t id;
};

struct writer_db {
	struct sink_db db;
	struct spool spool;
	bool has_spool;
	bool down;        /* an outage was reported */
	bool full_alarm;  /* the spool-full alarm was raised */
	bool spool_broken;
	double next_retry;
	struct spool_batch replay;
};

struct writer {
	struct sink_writer_config cfg;
	char *spool_dir;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the thread waits for work */
	pthread_cond_t room; /* producers and flush wait for the thread */
	struct queued *ring;
	size_t head, n;
	uint64_t next_id;
	bool started, stopping;
	uint64_t flush_req, flush_done;
	uint64_t drops_unreported;
	pthread_t thread;
	/* Owned by the thread once it runs. */
	struct sink sinks[WRITER_MAX_SINKS];
	size_t n_sinks;
	struct writer_db dbs[WRITER_MAX_DBS];
	size_t n_dbs;
	struct queued *batch;
	struct db_row *rows;
	struct sink_writer_stats st; /* under lock */
	uint64_t sink_failures;      /* of the plain sinks, under lock */
	uint64_t failures_seen;      /* by the last flush */
};

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define LOG(w, level, ...)                                  \
	do {                                                \
		if ((w)->cfg.log)                           \
			(w)->cfg.log(level, __VA_ARGS__);   \
	} while (0)

static void add_stat(struct writer *w, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&w->lock);
	*field += n;
	pthread_mutex_unlock(&w->lock);
}

void sink_writer_config_defaults(struct sink_writer_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->queue_max = SINK_WRITER_DEFAULT_QUEUE;
	cfg->batch_max = SINK_WRITER_DEFAULT_BATCH;
	cfg->spool_max_bytes = SINK_WRITER_DEFAULT_SPOOL_MAX;
	cfg->retry_ms = SINK_WRITER_DEFAULT_RETRY_MS;
}

/* ---- spooling and replay, per database ---- */

static void to_spool(struct writer *w, struct writer_db *d, const struct db_row *rows, size_t n)
{
	size_t kept;

	if (!d->has_spool) {
		add_stat(w, &w->st.db_lost, n);
		return;
	}
	kept = spool_append(&d->spool, rows, n);
	add_stat(w, &w->st.db_spooled, kept);
	if (kept < n) {
		add_stat(w, &w->st.db_lost, n - kept);
		if (!d->full_alarm)
			LOG(w, LOG_CRIT,
			    "ALARM: %s: spool %s %s (%llu bytes, limit %llu): events are being lost",
			    d->db.ops->name, d->spool.path,
			    errno == ENOSPC ? "is full" : "cannot be written",
			    (unsigned long long)d->spool.tail,
			    (unsigned long long)d->spool.max_bytes);
		d->full_alarm = true;
	}
}

static void note_failure(struct writer *w, struct writer_db *d)
{
	d->next_retry = monotonic() + w->cfg.retry_ms / 1000.0;
	if (d->down)
		return;
	d->down = true;
	if (d->has_spool)
		LOG(w, LOG_ERR, "%s; spooling events to %s", d->db.err, d->spool.path);
	else
		LOG(w, LOG_ERR, "%s; events are lost until it returns (no spool_dir)", d->db.err);
}

static void note_connected(struct writer *w, struct writer_db *d)
{
	if (d->down)
		LOG(w, LOG_NOTICE, "%s: connected again; %llu spooled events to replay",
		    d->db.ops->name, (unsigned long long)d->spool.pending);
	d->down = false;
}

static int insert_rows(struct writer *w, struct writer_db *d, const struct db_row *rows, size_t n)
{
	size_t rejected = 0;
	bool was_connected = d->db.connected;

	if (sink_db_insert_batch(&d->db, rows, n, &rejected) < 0) {
		note_failure(w, d);
		return -1;
	}
	if (!was_connected)
		note_connected(w, d);
	if (rejected) {
		add_stat(w, &w->st.db_rejected, rejected);
		LOG(w, LOG_ERR, "%s (%zu rows refused and left out)", d->db.err, rejected);
	}
	return (int)rejected;
}

static void deliver_db(struct writer *w, struct writer_db *d, const struct db_row *rows, size_t n,
		       bool backlog)
{
	int rejected;

	/* Behind the spool, or a database down or too slow: keep the order by
	 * appending; the replay brings it over. */
	if (d->has_spool && (!spool_empty(&d->spool) || !d->db.connected || backlog)) {
		to_spool(w, d, rows, n);
		return;
	}
	if (!d->db.connected && monotonic() < d->next_retry) {
		to_spool(w, d, rows, n);
		return;
	}
	rejected = insert_rows(w, d, rows, n);
	if (rejected < 0)
		to_spool(w, d, rows, n);
	else
		add_stat(w, &w->st.db_written, n - (size_t)rejected);
}

/* One chunk of the spool into the database; true if progress was made. */
static bool replay_chunk(struct writer *w, struct writer_db *d)
{
	int rejected;

	if (spool_peek(&d->spool, &d->replay, w->cfg.batch_max) < 0) {
		LOG(w, LOG_CRIT, "ALARM: %s: spool %s is damaged at offset %llu; replay stopped",
		    d->db.ops->name, d->spool.path, (unsigned long long)d->spool.head);
		d->spool_broken = true;
		return false;
	}
	rejected = insert_rows(w, d, d->replay.rows, d->replay.n);
	if (rejected < 0)
		return false;
	if (spool_consume(&d->spool, &d->replay) < 0) {
		/* Committed but not marked: a later replay repeats these rows,
		 * which the unique index ignores. */
		LOG(w, LOG_ERR, "%s: spool %s: cannot move its head: %s", d->db.ops->name,
		    d->spool.path, strerror(errno));
		d->spool_broken = true;
		return false;
	}
	add_stat(w, &w->st.db_replayed, d->replay.n - (size_t)rejected);
	if (spool_empty(&d->spool)) {
		LOG(w, LOG_NOTICE, "%s: spool replayed; writing directly again", d->db.ops->name);
		d->full_alarm = false;
	}
	return true;
}

static bool maintenance_due(const struct writer *w, double now)
{
	size_t i;

	for (i = 0; i < w->n_dbs; i++) {
		const struct writer_db *d = &w->dbs[i];

		if (!d->db.connected && now >= d->next_retry)
			return true;
		if (d->db.connected && !spool_empty(&d->spool) && !d->spool_broken)
			return true;
	}
	return false;
}

static void maintain(struct writer *w, bool backlog)
{
	double now = monotonic();
	size_t i;

	for (i = 0; i < w->n_dbs; i++) {
		struct writer_db *d = &w->dbs[i];

		if (!d->db.connected && now >= d->next_retry) {
			if (d->db.ops->connect(&d->db) < 0)
				note_failure(w, d);
			else
				note_connected(w, d);
		}
		if (d->db.connected && !spool_empty(&d->spool) && !d->spool_broken && !backlog)
			replay_chunk(w, d);
	}
}

/* Replay what the spools hold while the databases take it, at most
 * until the monotonic time until. */
static void drain_spools(struct writer *w, double until)
{
	size_t i;

	for (i = 0; i < w->n_dbs; i++) {
		struct writer_db *d = &w->dbs[i];

		/* One attempt now, whatever the retry schedule: the caller waits
		 * for this (a flush, or the last chance before a stop). */
		if (!d->db.connected && !spool_empty(&d->spool) && !d->spool_broken) {
			if (d->db.ops->connect(&d->db) < 0)
				note_failure(w, d);
			else
				note_connected(w, d);
		}
		while (d->db.connected && !spool_empty(&d->spool) && !d->spool_broken &&
		       monotonic() < until)
			if (!replay_chunk(w, d))
				break;
	}
}

/* ---- the thread ---- */

static void deliver(struct writer *w, size_t n, bool backlog)
{
	size_t i, j;
	uint64_t failed = 0;

	for (j = 0; j < w->n_sinks; j++) {
		for (i = 0; i < n; i++)
			if (sink_write(&w->sinks[j], &w->batch[i].ev) < 0)
				failed++;
		if (w->sinks[j].ops->flush(&w->sinks[j]) < 0)
			failed++;
	}
	if (failed)
		add_stat(w, &w->sink_failures, failed);
	if (!w->n_dbs)
		return;
	for (i = 0; i < n; i++)
		db_row_from_event(&w->rows[i], &w->batch[i].ev, w->batch[i].id);
	for (j = 0; j < w->n_dbs; j++)
		deliver_db(w, &w->dbs[j], w->rows, n, backlog);
}

static uint64_t spooled(const struct writer *w)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < w->n_dbs; i++)
		n += w->dbs[i].spool.pending;
	return n;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	bool stopping, backlog, flush_pending;
	uint64_t flush_target, drops;
	size_t n, i;
	struct timespec until;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (!w->n && !w->stopping && w->flush_req == w->flush_done &&
		       !maintenance_due(w, monotonic())) {
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += IDLE_WAIT_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->wake, &w->lock, &until);
		}
		backlog = w->n > w->cfg.queue_max / 2;
		n = w->n < w->cfg.batch_max ? w->n : w->cfg.batch_max;
		for (i = 0; i < n; i++) {
			w->batch[i] = w->ring[w->head];
			w->head = (w->head + 1) % w->cfg.queue_max;
		}
		w->n -= n;
		stopping = w->stopping;
		flush_target = w->flush_req;
		flush_pending = w->flush_req != w->flush_done;
		drops = w->drops_unreported;
		w->drops_unreported = 0;
		pthread_cond_broadcast(&w->room);
		pthread_mutex_unlock(&w->lock);

		if (drops)
			LOG(w, LOG_CRIT, "ALARM: event queue full: %llu events dropped",
			    (unsigned long long)drops);
		if (n)
			deliver(w, n, backlog);
		for (i = 0; i < n; i++)
			event_free(&w->batch[i].ev);
		maintain(w, backlog);

		pthread_mutex_lock(&w->lock);
		w->st.spool_pending = spooled(w);
		if (w->n || !(flush_pending || stopping)) {
			pthread_mutex_unlock(&w->lock);
			continue;
		}
		pthread_mutex_unlock(&w->lock);
		drain_spools(w, monotonic() + (stopping ? SINK_WRITER_DRAIN_S : 3600));
		pthread_mutex_lock(&w->lock);
		w->st.spool_pending = spooled(w);
		w->flush_done = flush_target;
		pthread_cond_broadcast(&w->room);
		if (stopping && !w->n) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

/* ---- the sink ---- */

static int writer_write(struct sink *s, const struct im_event *ev)
{
	struct writer *w = s->ctx;
	struct im_event copy;

	if (!event_copy(&copy, ev))
		return -1;
	pthread_mutex_lock(&w->lock);
	while (w->n == w->cfg.queue_max && w->cfg.wait_when_full && w->started && !w->stopping)
		pthread_cond_wait(&w->room, &w->lock);
	if (w->n == w->cfg.queue_max) {
		w->st.dropped++;
		w->drops_unreported++;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		event_free(&copy);
		return -1;
	}
	w->ring[(w->head + w->n) % w->cfg.queue_max] = (struct queued){ .ev = copy, .id = w->next_id++ };
	w->n++;
	w->st.queued++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

static uint64_t failures_locked(const struct writer *w)
{
	return w->st.dropped + w->st.db_lost + w->st.db_rejected + w->sink_failures;
}

/* Waits until everything queued so far is written (or spooled, with the
 * spools replayed as far as the databases take them). -1 when an event
 * was lost since the last flush. */
static int writer_flush(struct sink *s)
{
	struct writer *w = s->ctx;
	uint64_t target, f;
	int rc;

	pthread_mutex_lock(&w->lock);
	if (w->started) {
		target = ++w->flush_req;
		pthread_cond_signal(&w->wake);
		while (w->flush_done < target)
			pthread_cond_wait(&w->room, &w->lock);
	}
	f = failures_locked(w);
	rc = f != w->failures_seen ? -1 : 0;
	w->failures_seen = f;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static void writer_close(struct sink *s)
{
	struct writer *w = s->ctx;
	size_t i;

	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_cond_broadcast(&w->room);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	else
		writer_main(w); /* never started: deliver here what was queued */
	for (i = 0; i < w->n_sinks; i++)
		sink_close(&w->sinks[i]);
	for (i = 0; i < w->n_dbs; i++) {
		struct writer_db *d = &w->dbs[i];

		if (d->has_spool && !spool_empty(&d->spool))
			LOG(w, LOG_WARNING, "%s: %llu events stay in %s until the next start",
			    d->db.ops->name, (unsigned long long)d->spool.pending, d->spool.path);
		sink_db_free(&d->db);
		spool_batch_free(&d->replay);
		if (d->has_spool)
			spool_close(&d->spool);
	}
	if (w->st.dropped || w->st.db_lost || w->st.db_rejected)
		LOG(w, LOG_ERR, "writer: %llu events dropped (queue full), %llu lost, %llu refused",
		    (unsigned long long)w->st.dropped, (unsigned long long)w->st.db_lost,
		    (unsigned long long)w->st.db_rejected);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->room);
	free(w->ring);
	free(w->batch);
	free(w->rows);
	free(w->spool_dir);
	free(w);
}

static const struct sink_ops writer_ops = {
	.name = "writer",
	.write = writer_write,
	.flush = writer_flush,
	.close = writer_close,
};

int sink_writer_open(struct sink *s, const struct sink_writer_config *cfg)
{
	struct writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	struct timespec now;

	if (!w)
		return -1;
	w->cfg = *cfg;
	if (!w->cfg.queue_max)
		w->cfg.queue_max = SINK_WRITER_DEFAULT_QUEUE;
	if (!w->cfg.batch_max)
		w->cfg.batch_max = SINK_WRITER_DEFAULT_BATCH;
	if (w->cfg.batch_max > w->cfg.queue_max)
		w->cfg.batch_max = w->cfg.queue_max;
	if (!w->cfg.spool_max_bytes)
		w->cfg.spool_max_bytes = SINK_WRITER_DEFAULT_SPOOL_MAX;
	w->spool_dir = cfg->spool_dir ? strdup(cfg->spool_dir) : NULL;
	w->cfg.spool_dir = w->spool_dir;
	w->ring = calloc(w->cfg.queue_max, sizeof(*w->ring));
	w->batch = calloc(w->cfg.batch_max, sizeof(*w->batch));
	w->rows = calloc(w->cfg.batch_max, sizeof(*w->rows));
	if (!w->ring || !w->batch || !w->rows || (cfg->spool_dir && !w->spool_dir)) {
		free(w->ring);
		free(w->batch);
		free(w->rows);
		free(w->spool_dir);
		free(w);
		return -1;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&w->room, NULL);
	/* Event ids: microseconds at start, then one by one, so a restarted
	 * writer continues above the ids of its earlier runs (the spool's
	 * highest id is checked too, in add_db). */
	clock_gettime(CLOCK_REALTIME, &now);
	w->next_id = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
	memset(s, 0, sizeof(*s));
	s->ops = &writer_ops;
	s->ctx = w;
	return 0;
}

int sink_writer_add_sink(struct sink *ws, struct sink *inner)
{
	struct writer *w = ws->ctx;

	if (w->started || w->n_sinks >= WRITER_MAX_SINKS)
		return -1;
	w->sinks[w->n_sinks++] = *inner;
	memset(inner, 0, sizeof(*inner));
	return 0;
}

int sink_writer_add_db(struct sink *ws, struct sink_db *db, char *err, size_t err_size)
{
	struct writer *w = ws->ctx;
	struct writer_db *d;

	if (w->started || w->n_dbs >= WRITER_MAX_DBS) {
		snprintf(err, err_size, "too many databases");
		return -1;
	}
	d = &w->dbs[w->n_dbs];
	memset(d, 0, sizeof(*d));
	spool_batch_init(&d->replay);
	if (w->spool_dir) {
		if (spool_open(&d->spool, w->spool_dir, db->ops->name, w->cfg.spool_max_bytes, err,
			       err_size) < 0)
			return -1;
		d->has_spool = true;
		if (d->spool.max_eventid >= w->next_id)
			w->next_id = d->spool.max_eventid + 1;
		if (d->spool.torn_bytes)
			LOG(w, LOG_WARNING, "%s: %llu bytes of a torn last record cut off",
			    d->spool.path, (unsigned long long)d->spool.torn_bytes);
		if (!spool_empty(&d->spool))
			LOG(w, LOG_NOTICE, "%s: resuming %llu spooled events from %s", db->ops->name,
			    (unsigned long long)d->spool.pending, d->spool.path);
	} else {
		d->spool.fd = -1;
	}
	d->db = *db;
	memset(db, 0, sizeof(*db));
	w->n_dbs++;
	return 0;
}

int sink_writer_start(struct sink *ws)
{
	struct writer *w = ws->ctx;
	sigset_t all, old;
	int rc;

	/* Signals stay with the program's own threads: one delivered here
	 * would not interrupt the call they wait in. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&w->lock);
	rc = w->started ? 0 : pthread_create(&w->thread, NULL, writer_main, w);
	if (rc == 0)
		w->started = true;
	pthread_mutex_unlock(&w->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

void sink_writer_get_stats(struct sink *ws, struct sink_writer_stats *st)
{
	struct writer *w = ws->ctx;

	pthread_mutex_lock(&w->lock);
	*st = w->st;
	pthread_mutex_unlock(&w->lock);
}
