#include "service/service.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "control/control.h"
#include "control/session_board.h"
#include "control/tap.h"
#include "metrics/metrics.h"
#include "sink/sink_writer.h"
#include "util/version.h"

#define SESSIONS_TIMEOUT_MS 2000

struct service {
	unsigned n_workers;
	struct event_tap *tap;
	struct session_board *board;
	struct control *control;
	struct metrics_server *metrics;
	char *textfile;
	struct service_sources src;
	service_log_fn log;
	double start_time;
	atomic_uint ready;
	_Atomic double *alive; /* per worker: CLOCK_MONOTONIC of its last loop */
	bool notified_ready;
	uint64_t watchdog_usec;
	bool textfile_complained;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct service *service_new(unsigned n_workers)
{
	struct service *s = calloc(1, sizeof(*s));
	unsigned i;

	if (!s)
		return NULL;
	s->n_workers = n_workers ? n_workers : 1;
	s->alive = calloc(s->n_workers, sizeof(*s->alive));
	s->board = session_board_new(s->n_workers);
	s->tap = event_tap_new();
	if (!s->alive || !s->board || !s->tap) {
		event_tap_unref(s->tap);
		session_board_free(s->board);
		free(s->alive);
		free(s);
		return NULL;
	}
	for (i = 0; i < s->n_workers; i++)
		atomic_init(&s->alive[i], mono());
	atomic_init(&s->ready, 0);
	s->start_time = (double)time(NULL);
	return s;
}

int service_tap_sink(struct service *s, struct sink *out)
{
	event_tap_sink(s->tap, out);
	return 0;
}

/* ---- what the control socket and the metrics ask for ---- */

static int control_sessions(void *arg, struct control_session_list *out)
{
	struct service *s = arg;

	return session_board_collect(s->board, out, SESSIONS_TIMEOUT_MS);
}

static int control_reload(void *arg, char *msg, size_t size)
{
	struct service *s = arg;

	if (s->src.reload)
		return s->src.reload(s->src.arg, msg, size);
	/* the daemon reloads on SIGHUP; its log says how it went */
	if (kill(getpid(), SIGHUP) < 0) {
		snprintf(msg, size, "%s", strerror(errno));
		return -1;
	}
	snprintf(msg, size, "SIGHUP sent: the log says whether the configuration was taken");
	return 0;
}

static int control_stats(void *arg, FILE *out)
{
	struct service *s = arg;
	struct stats_snapshot *snaps = NULL;
	size_t n = 0;
	int rc;
	struct sink_writer_stats ws;

	if (!s->src.snapshots || s->src.snapshots(s->src.arg, &snaps, &n) < 0)
		return -1;
	if (s->src.writer)
		sink_writer_get_stats(s->src.writer, &ws);
	rc = stats_write_json(out, snaps, n, s->src.writer ? &ws : NULL, (double)time(NULL));
	free(snaps);
	return rc;
}

/* The view's storage, owned by one exposition. */
#define SINK_VALUES (6 + SINK_LOSS_COUNT)
struct view_store {
	struct stats_snapshot *snaps;
	struct metrics_value writer[16];
	struct metrics_sink sinks[SINK_WRITER_MAX_SINKS];
	struct metrics_value sink_values[SINK_WRITER_MAX_SINKS][SINK_VALUES];
	char sink_names[SINK_WRITER_MAX_SINKS][96];
	char loss_names[SINK_LOSS_COUNT][32];
	uint64_t events[IMW_PROTO_MAX][IM_KIND_COUNT][2];
};

/* One sink's counters (sink_writer.h), lost ones by cause. */
static void sink_values(struct view_store *st, size_t i, const struct sink_writer_sink_stats *k)
{
	struct metrics_value *v = st->sink_values[i];
	size_t n = 0, c;

#define V(name, value, is_gauge) v[n++] = (struct metrics_value){ name, value, is_gauge }
	V("queued", k->queued, true);
	V("written", k->written, false);
	V("replayed", k->replayed, false);
	V("spooled", k->spooled, false);
	V("failed", k->failed, false);
	V("down", k->down, true);
	for (c = 0; c < SINK_LOSS_COUNT; c++) {
		snprintf(st->loss_names[c], sizeof(st->loss_names[c]), "lost_%s",
			 sink_loss_name((enum sink_loss)c));
		V(st->loss_names[c], k->lost[c], false);
	}
#undef V
	snprintf(st->sink_names[i], sizeof(st->sink_names[i]), "%s", k->name);
	st->sinks[i] = (struct metrics_sink){ st->sink_names[i], v, n, k->lag };
}

static void writer_values(struct service *s, struct view_store *st, struct metrics_view *v)
{
	struct sink_writer_stats ws;
	size_t n = 0, i;

	if (!s->src.writer)
		return;
	sink_writer_get_stats(s->src.writer, &ws);
#define W(name, value, is_gauge) st->writer[n++] = (struct metrics_value){ name, value, is_gauge }
	W("events", ws.events, false);
	W("submits", ws.submits, false);
	W("bytes", ws.bytes, false);
	W("append_ns", ws.append_ns, false);
	W("not_durable", ws.not_durable, false);
	W("slow_downs", ws.slow_downs, false);
	W("pressure", ws.pressure, true);
	W("memory_bytes", ws.memory_bytes, true);
	W("log_bytes", ws.log_bytes, true);
	W("log_segments", ws.log_segments, true);
#undef W
	v->writer = st->writer;
	v->n_writer = n;
	for (i = 0; i < ws.n_sinks; i++)
		sink_values(st, i, &ws.sinks[i]);
	v->sinks = st->sinks;
	v->n_sinks = ws.n_sinks;
}

static int metrics_collect(void *arg, struct metrics_view *v)
{
	struct service *s = arg;
	struct view_store *st = calloc(1, sizeof(*st));
	size_t n = 0;

	memset(v, 0, sizeof(*v));
	if (!st)
		return -1;
	if (s->src.snapshots && s->src.snapshots(s->src.arg, &st->snaps, &n) < 0)
		n = 0;
	v->version = imw_version();
	v->start_time = s->start_time;
	v->workers = st->snaps;
	v->n_workers = n;
	writer_values(s, st, v);
	event_tap_counts(s->tap, st->events);
	v->events = (const uint64_t(*)[IM_KIND_COUNT][2])st->events;
	v->owner = st;
	return 0;
}

static void metrics_release(void *arg, struct metrics_view *v)
{
	struct view_store *st = v->owner;

	(void)arg;
	if (st)
		free(st->snaps);
	free(st);
}

int service_start(struct service *s, const struct imw_config *cfg,
		  const struct service_sources *src, service_log_fn log, char *err,
		  size_t err_size)
{
	struct control_ops ops = { control_sessions, control_reload, control_stats, s };
	const char *listen = config_get(cfg, "metrics_listen");
	const char *textfile = config_get(cfg, "metrics_textfile");
	char path[4096];

	s->src = *src;
	s->log = log;
	if (sd_watchdog_enabled(0, &s->watchdog_usec) <= 0)
		s->watchdog_usec = 0;
	control_path_of(cfg, path, sizeof(path));
	if (path[0]) {
		/* an aid, not the job: a daemon that cannot have it goes on */
		s->control = control_start(path, &ops, s->tap, log, err, err_size);
		if (s->control)
			log(LOG_INFO, "control socket %s", path);
		else
			log(LOG_WARNING, "no control socket: %s", err);
	}
	if (listen) {
		s->metrics = metrics_server_start(listen, metrics_collect, metrics_release, s, err,
						  err_size);
		if (!s->metrics)
			return -1;
		log(LOG_INFO, "metrics on http://%s/metrics", listen);
	}
	if (textfile && !(s->textfile = strdup(textfile))) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	return 0;
}

void service_worker_loop(struct service *s, unsigned worker, const struct flow_table *t)
{
	if (!s || worker >= s->n_workers)
		return;
	atomic_store_explicit(&s->alive[worker], mono(), memory_order_relaxed);
	session_board_serve(s->board, worker, t);
}

void service_worker_ready(struct service *s)
{
	if (s)
		atomic_fetch_add(&s->ready, 1);
}

/* "queue 0-1: 1234 packets, 3 modified, 12 flows now, 45 events" */
static void notify_status(struct service *s, const char *prefix)
{
	struct stats_snapshot *snaps = NULL, total;
	uint64_t ev[IMW_PROTO_MAX][IM_KIND_COUNT][2], events = 0;
	size_t n = 0, i, k;
	char status[256];

	if (!s->src.snapshots || s->src.snapshots(s->src.arg, &snaps, &n) < 0)
		return;
	stats_sum(&total, snaps, n);
	free(snaps);
	event_tap_counts(s->tap, ev);
	for (i = 0; i < IMW_PROTO_MAX; i++)
		for (k = 0; k < IM_KIND_COUNT; k++)
			events += ev[i][k][0] + ev[i][k][1];
	snprintf(status, sizeof(status),
		 "%sSTATUS=%llu packets (%llu modified, %llu dropped), %zu flows now, %llu events",
		 prefix, (unsigned long long)total.flow.packets,
		 (unsigned long long)total.engine.modified, (unsigned long long)total.engine.dropped,
		 total.flows_now, (unsigned long long)events);
	sd_notify(0, status);
}

void service_tick(struct service *s)
{
	struct metrics_view v;
	double now = mono(), oldest = now;
	unsigned i;

	if (!s)
		return;
	if (!s->notified_ready && atomic_load(&s->ready) >= s->n_workers) {
		notify_status(s, "READY=1\n");
		s->notified_ready = true;
		if (s->log)
			s->log(LOG_INFO, "ready: %u worker(s) bound", s->n_workers);
	} else if (s->notified_ready) {
		notify_status(s, "");
	}
	for (i = 0; i < s->n_workers; i++) {
		double t = atomic_load_explicit(&s->alive[i], memory_order_relaxed);

		if (t < oldest)
			oldest = t;
	}
	/* a worker stuck (in a sink, a lock, a loop) stops the pings: the
	 * service manager restarts the daemon after WatchdogSec */
	if (s->watchdog_usec && s->notified_ready && now - oldest < s->watchdog_usec / 2e6)
		sd_notify(0, "WATCHDOG=1");
	if (s->textfile && metrics_collect(s, &v) == 0) {
		if (metrics_write_textfile(s->textfile, &v) < 0 && !s->textfile_complained && s->log) {
			s->log(LOG_ERR, "metrics_textfile %s: %s", s->textfile, strerror(errno));
			s->textfile_complained = true;
		}
		metrics_release(s, &v);
	}
}

void service_reloaded(struct service *s, bool ok)
{
	if (s)
		sd_notifyf(0, "STATUS=configuration %s", ok ? "reloaded" : "refused, old one kept");
}

void service_stop(struct service *s)
{
	if (!s)
		return;
	sd_notify(0, "STOPPING=1");
	control_stop(s->control);
	s->control = NULL;
	metrics_server_stop(s->metrics);
	s->metrics = NULL;
}

void service_free(struct service *s)
{
	if (!s)
		return;
	service_stop(s);
	event_tap_unref(s->tap);
	session_board_free(s->board);
	free(s->textfile);
	free(s->alive);
	free(s);
}
