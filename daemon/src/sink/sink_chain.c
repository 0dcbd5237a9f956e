/* The archive's part of a sink's thread (README, "The archive"): a
 * chained sink's events get their id, the sensor and their link in the
 * sink's chain (archive/chain.h) just before they are written, and the
 * chain is signed now and then (archive/checkpoint.h).
 *
 * The chain is the sink's own: its tail is what the sink stores, asked of
 * it (sink ops chain_tail) whenever the thread does not know it for sure
 * (at the start, after a failed batch: a commit may have happened without
 * an answer). An event written again after a crash gets the same hashes,
 * since they depend only on the events before it in the sink. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sink/sink_writer_internal.h"

static const char *proto_sql_name(const struct im_event *ev)
{
	return ev->proto == IMW_PROTO_NONE ? "" : event_proto_imspector_name(ev->proto);
}

static void chain_fields_of(struct chain_fields *f, const struct im_event *ev)
{
	f->eventid = ev->eventid;
	f->ts_us = chain_ts_us(ev->ts);
	f->outgoing = ev->dir == IM_DIR_OUT;
	f->filtered = ev->filtered;
	f->sensor = ev->sensor;
	f->protocol = proto_sql_name(ev);
	f->kind = event_kind_name(ev->kind);
	f->local = ev->local;
	f->remote = ev->remote;
	f->client = ev->client;
	f->server = ev->server;
	f->session = ev->session;
	f->community_id = ev->community_id;
	f->action = ev->action;
	f->rule = ev->rule;
	f->categories = ev->categories;
	/* IMSpector's SQL plugins store no data for typing and webcam events,
	 * and neither do ours: the chain covers what is stored. */
	f->text = (ev->kind == IM_KIND_TYPING || ev->kind == IM_KIND_WEBCAM) ? "" : ev->text;
	f->delivered_text = ev->delivered_text;
	f->route_to = ev->route_to;
	f->content_type = ev->content_type;
}

int lane_chain_batch(struct lane *l, size_t k)
{
	struct sink *s = &l->sink;
	struct chain_fields f;
	uint8_t prev[CHAIN_HASH_LEN];
	bool found = false;
	size_t i;

	if (!s->chained)
		return 0;
	if (!l->chain_known) {
		memset(l->chain_tail, 0, sizeof(l->chain_tail));
		if (s->ops->chain_tail && s->ops->chain_tail(s, l->ids[0], l->chain_tail, &found) < 0)
			return -1;
		if (!found)
			memset(l->chain_tail, 0, sizeof(l->chain_tail));
		l->chain_known = true;
	}
	memcpy(prev, l->chain_tail, sizeof(prev));
	for (i = 0; i < k; i++) {
		struct im_event *ev = &l->views[i];

		ev->eventid = l->ids[i];
		ev->sensor = l->w->sensor ? l->w->sensor : "";
		if (!ev->action)
			ev->action = EVENT_ACTION_FORWARDED;
		chain_fields_of(&f, ev);
		memcpy(ev->prev_hash, prev, sizeof(prev));
		chain_hash_with(&l->hasher, prev, &f, ev->hash);
		ev->chained = true;
		memcpy(prev, ev->hash, sizeof(prev));
	}
	return 0;
}

void lane_chain_done(struct lane *l, size_t done, bool failed)
{
	if (!l->sink.chained)
		return;
	/* A retention request passed by (nothing stored) is no link. */
	if (done && l->views[done - 1].chained) {
		memcpy(l->chain_tail, l->views[done - 1].hash, sizeof(l->chain_tail));
		l->chain_last_id = l->ids[done - 1];
		l->chain_unsigned = true;
	}
	/* A stream has no tail to ask: it goes on from what it wrote. */
	if (failed && l->sink.ops->chain_tail)
		l->chain_known = false;
}

bool lane_is_request(const struct im_event *ev)
{
	return ev->kind == IM_KIND_AUDIT && ev->action &&
	       strcmp(ev->action, EVENT_ACTION_RETENTION) == 0;
}

size_t lane_request_cut(const struct lane *l, size_t n)
{
	size_t i;

	if (n && lane_is_request(l->evs[0]))
		return 1;
	for (i = 1; i < n; i++)
		if (lane_is_request(l->evs[i]))
			return i;
	return n;
}

int lane_purge_prepare(struct lane *l)
{
	struct sink *s = &l->sink;
	struct im_event *ev = &l->views[0];
	struct purge_request req;
	struct chain_purge rec;
	int rc;

	if (!s->ops->purge)
		return 0;
	if (!purge_request_parse(ev->text, &req)) {
		if (!l->bad_request_logged)
			LOG(l->w, LOG_ERR, "%s: event %llu is a retention request that does not parse;"
					   " passed",
			    l->st.name, (unsigned long long)l->ids[0]);
		l->bad_request_logged = true;
		return 0;
	}
	memset(&rec, 0, sizeof(rec));
	rc = s->ops->purge(s, &req, l->ids[0], &rec);
	if (rc <= 0)
		return rc;
	rec.hold = req.hold;
	bytebuf_clear(&l->purge_text);
	if (!chain_purge_format(&l->purge_text, &rec) || !bytebuf_terminate(&l->purge_text))
		return sink_fail(s, ENOMEM, "%s: a purge record", l->st.name);
	/* The view's strings point into the log's record; its text now into
	 * the lane's buffer, until the batch is written. */
	ev->text = (char *)l->purge_text.data;
	ev->action = EVENT_ACTION_PURGE;
	LOG(l->w, LOG_NOTICE, "%s: retention: %llu events up to %llu removed, %llu kept (hold: %s)",
	    l->st.name, (unsigned long long)rec.removed, (unsigned long long)rec.to,
	    (unsigned long long)rec.kept, *req.hold ? req.hold : "none");
	return 1;
}

static double now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "sqlite /var/lib/x.db sensor=gw1" -> "sqlite" */
static void sink_kind(const struct lane *l, char *out, size_t size)
{
	const char *id = l->sink.id ? l->sink.id : l->sink.ops->name;
	size_t n = strcspn(id, " ");

	if (n >= size)
		n = size - 1;
	memcpy(out, id, n);
	out[n] = '\0';
}

static void checkpoint_append(struct writer *w, const struct bytebuf *line)
{
	int fd;
	ssize_t n;

	if (!w->checkpoint_log)
		return;
	fd = open(w->checkpoint_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		LOG(w, LOG_ERR, "checkpoint log %s: %s", w->checkpoint_log, strerror(errno));
		return;
	}
	/* One write of the whole line: lines of several sinks never mix. */
	n = write(fd, line->data, line->len);
	if (n != (ssize_t)line->len || fdatasync(fd) < 0)
		LOG(w, LOG_ERR, "checkpoint log %s: %s", w->checkpoint_log,
		    n < 0 ? strerror(errno) : "short write");
	close(fd);
}

void lane_checkpoint(struct lane *l, bool force)
{
	struct writer *w = l->w;
	struct checkpoint c;
	struct bytebuf line;
	double now = now_monotonic();

	if (!w->has_key || !l->sink.chained || !l->chain_unsigned || !l->chain_last_id)
		return;
	if (!force && now - l->last_checkpoint < w->cfg.checkpoint_interval_s)
		return;
	memset(&c, 0, sizeof(c));
	snprintf(c.sensor, sizeof(c.sensor), "%s", w->sensor && *w->sensor ? w->sensor : "-");
	sink_kind(l, c.sink, sizeof(c.sink));
	c.time = (int64_t)time(NULL);
	c.eventid = l->chain_last_id;
	memcpy(c.hash, l->chain_tail, sizeof(c.hash));
	bytebuf_init(&line);
	if (!checkpoint_format(&line, &c, &w->key) || !bytebuf_append_byte(&line, '\n')) {
		LOG(w, LOG_ERR, "%s: a checkpoint could not be made (sensor_name with a space?)",
		    l->st.name);
		bytebuf_free(&line);
		return;
	}
	checkpoint_append(w, &line);
	line.len--; /* syslog without the newline */
	if (bytebuf_terminate(&line))
		LOG(w, LOG_NOTICE, "%s", (const char *)line.data);
	bytebuf_free(&line);
	l->chain_unsigned = false;
	l->last_checkpoint = now;
}

int writer_archive_open(struct writer *w, char *err, size_t err_size)
{
	const struct sink_writer_config *cfg = &w->cfg;

	if (pthread_mutex_init(&w->hook_lock, NULL) != 0) {
		snprintf(err, err_size, "cannot make a lock");
		return -1;
	}
	w->hook_lock_ready = true;
	if (cfg->sensor && !(w->sensor = strdup(cfg->sensor)))
		goto oom;
	if (cfg->checkpoint_log && !(w->checkpoint_log = strdup(cfg->checkpoint_log)))
		goto oom;
	if (cfg->checkpoint_key) {
		if (checkpoint_key_load(&w->key, cfg->checkpoint_key, err, err_size) < 0)
			return -1;
		if (!w->key.has_secret) {
			snprintf(err, err_size, "checkpoint_key %s: a public key cannot sign",
				 cfg->checkpoint_key);
			return -1;
		}
		w->has_key = true;
	}
	if (!w->cfg.checkpoint_interval_s)
		w->cfg.checkpoint_interval_s = 300;
	if (cfg->retention_days) {
		if (purge_hold_load(cfg->legal_hold, &w->hold, err, err_size) < 0)
			return -1;
		if (!w->cfg.retention_interval_s)
			w->cfg.retention_interval_s = 3600;
	}
	return 0;
oom:
	snprintf(err, err_size, "out of memory");
	return -1;
}

void writer_archive_free(struct writer *w)
{
	checkpoint_key_wipe(&w->key);
	free(w->sensor);
	free(w->checkpoint_log);
	free(w->hold);
	if (w->hook_lock_ready)
		pthread_mutex_destroy(&w->hook_lock);
	w->hook_lock_ready = false;
}

bool writer_retention_due(const struct writer *w)
{
	return w->cfg.retention_days && now_monotonic() >= w->next_retention;
}

/* The store outside the sinks meets the same request, on this thread:
 * the request's hold is the writer's, as the sinks see it. */
static void writer_retention_hook_run(struct writer *w, const struct purge_request *req)
{
	char msg[512];

	pthread_mutex_lock(&w->hook_lock);
	if (w->hook) {
		msg[0] = '\0';
		w->hook(w->hook_arg, req, msg, sizeof(msg));
		if (msg[0])
			LOG(w, LOG_NOTICE, "%s", msg);
	}
	pthread_mutex_unlock(&w->hook_lock);
}

/* The request of the moment now (seconds since the epoch), with a copy
 * of the hold in force (a reload may replace it meanwhile): the caller
 * frees *hold. False when out of memory. */
static bool writer_retention_request(struct writer *w, double now, struct purge_request *req,
				     char **hold)
{
	req->before_us = (int64_t)((now - w->cfg.retention_days * 86400.0) * 1e6);
	req->compress_us = w->cfg.compress_after_days
				   ? (int64_t)((now - w->cfg.compress_after_days * 86400.0) * 1e6)
				   : 0;
	pthread_mutex_lock(&w->hook_lock);
	*hold = strdup(w->hold ? w->hold : "");
	pthread_mutex_unlock(&w->hook_lock);
	req->hold = *hold;
	return *hold != NULL;
}

void sink_writer_take_legal_hold(struct sink *ws, char *hold)
{
	struct writer *w = ws->ctx;
	char *old;

	pthread_mutex_lock(&w->hook_lock);
	old = w->hold;
	w->hold = hold;
	pthread_mutex_unlock(&w->hook_lock);
	free(old);
}

void writer_retention_tick(struct writer *w, bool force)
{
	struct sink_writer_batch b = { w, NULL, SINK_WRITER_OK };
	struct purge_request req;
	struct im_event ev;
	struct bytebuf text;
	double now = (double)writer_now_us() / 1e6;
	char *hold = NULL;

	if (!w->cfg.retention_days || (!force && !writer_retention_due(w)))
		return;
	w->next_retention = now_monotonic() + w->cfg.retention_interval_s;
	event_init(&ev);
	bytebuf_init(&text);
	ev.ts = now;
	ev.kind = IM_KIND_AUDIT;
	ev.action = EVENT_ACTION_RETENTION;
	ev.content_type = NULL;
	if (!writer_retention_request(w, now, &req, &hold) || !purge_request_format(&text, &req)) {
		LOG(w, LOG_ERR, "retention: out of memory for a request");
		bytebuf_free(&text);
		free(hold);
		return;
	}
	ev.text = (char *)text.data;
	/* A loss here is counted against every sink by the hand-over. */
	if (sink_writer_batch_add(&b, &ev))
		sink_writer_submit(&b);
	queue_frame_free(b.f);
	bytebuf_free(&text);
	writer_retention_hook_run(w, &req);
	free(hold);
}

void sink_writer_set_retention_hook(struct sink *ws, sink_writer_retention_fn fn, void *arg)
{
	struct writer *w = ws->ctx;
	struct purge_request req;
	char *hold = NULL;
	bool started;

	pthread_mutex_lock(&w->hook_lock);
	w->hook = fn;
	w->hook_arg = arg;
	pthread_mutex_unlock(&w->hook_lock);
	pthread_mutex_lock(&w->lock);
	started = w->started;
	pthread_mutex_unlock(&w->lock);
	/* Not started yet: the start's own request reaches the hook. */
	if (!fn || !w->cfg.retention_days || !started)
		return;
	if (writer_retention_request(w, (double)writer_now_us() / 1e6, &req, &hold))
		writer_retention_hook_run(w, &req);
	else
		LOG(w, LOG_ERR, "retention: out of memory for a request");
	free(hold);
}
