/* The queue workers: one thread per NFQUEUE queue, each with its own
 * inline engine, output queue and egress counters. A worker polls its
 * queue and its mailbox, feeds packets to the engine, ticks it, sends the
 * verdicts and the engine's own packets, takes a new route table between
 * two packets after a reload, and publishes its counters about once a
 * second. The caller's thread writes
 * the statistics file and performs reloads. */
#include "runtime/runtime.h"
#include "runtime/runtime_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "classifier/classifier.h"
#include "inline/engine.h"
#include "nfq/nfq.h"
#include "sink/sink_writer.h"
#include "stats/stats_file.h"

#define POLL_INTERVAL_MS 10
#define QUEUE_MAX_LEN 65536 /* packets waiting in a queue (queue_maxlen=) */
#define STATS_EVERY_SECONDS 1.0
#define STATS_EVERY_LOOPS 50   /* of 20 ms */
#define REAP_EVERY_LOOPS 3000  /* of 20 ms: once a minute */
#define DEFAULT_IDLE_SECONDS 3600
#define EGRESS_LOG_SECONDS 10.0 /* between two messages about failed sends */
#define BIND_WAIT_SECONDS 5.0    /* for every queue to be bound before the claim */
#define HAND_OVER_WAIT_SECONDS 3.0 /* for every worker to hand over at a stop */
#define DRAIN_QUIET_MS 30        /* after the claim went: a queue this quiet is drained */
#define DRAIN_MAX_SECONDS 0.25

struct worker {
	pthread_t thread;
	struct files *files; /* this worker's file stage, or NULL */
	uint16_t queue;
	unsigned index;
	struct runtime *rt;
	struct engine engine;
	struct engine_outq out;
	struct nfqueue q;
	struct egress egress;
	/* The burst's events, handed to the writer in one go before the
	 * burst's verdicts (sink/sink_writer.h); NULL: rt->write_event. */
	struct sink_writer_batch *log_batch;
	double now;
	unsigned generation;
	int status;
	/* local_nets= as this worker's flow table uses it: its own copy, so
	 * that a reload may free the configuration it came from. */
	struct net_prefix *local_nets;
	double egress_logged_at;  /* the last message about a failed send */
	uint64_t egress_unlogged; /* failed sends since */
	double enobufs_logged_at; /* the last message about ENOBUFS */
	uint64_t enobufs_said;    /* the count it gave */
	/* Where the worker is in a start and a stop (atomic): its queue is
	 * bound, it handed over, it left its loop. */
	int bound;
	int handed;
	int exited;
	struct stats_snapshot snap; /* published under rt->lock about once a second */
	/* The kernel's counts of our queue, last read (kernel_read: ever) */
	struct nfqueue_kernel_counts kernel;
	bool kernel_read;
};

double runtime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void worker_packet(void *arg, uint32_t id, const uint8_t *ip, size_t len, bool gso,
			  const struct nfqueue_meta *meta)
{
	struct worker *w = arg;
	struct engine_packet_link link;

	memset(&link, 0, sizeof(link));
	link.outdev = meta->outdev;
	link.physoutdev = meta->physoutdev;
	if (meta->hwaddr_len == 6) {
		link.has_mac = true;
		memcpy(link.src_mac, meta->hwaddr, 6);
	}
	engine_packet_with_link(&w->engine, id, ip, len, gso, &link, w->now, &w->out);
}

/* A segment we originate (a notice, a delivery, a bot's answer) did not
 * go: said at once the first time, then at most every 10 s with a count;
 * each is counted in the egress counters too. */
static void worker_send_failed(struct worker *w, int e)
{
	w->egress_unlogged++;
	if (w->egress_logged_at && w->now - w->egress_logged_at < EGRESS_LOG_SECONDS)
		return;
	w->rt->log(LOG_ERR,
		   "queue %u: cannot send a segment imwired originates (notice, delivery or bot): "
		   "%s; %llu such failure(s) since the last message",
		   w->queue, strerror(e), (unsigned long long)w->egress_unlogged);
	w->egress_logged_at = w->now;
	w->egress_unlogged = 0;
}

/* The kernel could not hand us packets (ENOBUFS: our socket's buffer was
 * full, we fell behind): it dropped them and their senders resend them
 * (queue_overflow=drop, the default), or with queue_overflow=pass it let
 * them go on unseen, and a packet of an edited connection that goes on
 * untranslated breaks it. Said at once, then at most every 10 s. */
static void worker_note_enobufs(struct worker *w)
{
	uint64_t n = w->q.stats.enobufs;

	if (n == w->enobufs_said ||
	    (w->enobufs_logged_at && w->now - w->enobufs_logged_at < EGRESS_LOG_SECONDS))
		return;
	w->rt->log(LOG_WARNING,
		   "queue %u: the kernel could not queue packets to us %llu time(s) (ENOBUFS: "
		   "imwired fell behind); %s",
		   w->queue, (unsigned long long)(n - w->enobufs_said),
		   w->q.fail_open ? "queue_overflow=pass let them go on unseen, and one of an "
				    "edited connection goes untranslated"
				  : "they were dropped and their senders resend them");
	w->enobufs_said = n;
	w->enobufs_logged_at = w->now;
}

static void worker_log(void *arg, const struct im_event *ev)
{
	struct worker *w = arg;

	sink_writer_batch_add(w->log_batch, ev); /* a failure is counted by the writer */
}

static void worker_flush(struct worker *w)
{
	uint32_t lowest = 0;
	bool held = engine_lowest_held_id(&w->engine, &lowest);
	size_t i;

	/* The burst's events are in the write-ahead log before any of its
	 * packets goes on: a crash after the verdicts cannot lose them. */
	if (w->log_batch && sink_writer_batch_count(w->log_batch))
		sink_writer_submit(w->log_batch);
	if (w->out.n)
		nfqueue_send_verdicts(&w->q, w->out.v, w->out.n, w->out.bytes.data, held, lowest);
	/* Our own segments after the verdicts: a local delivery follows the
	 * packet that carried the message here. */
	for (i = 0; i < w->out.n_orig; i++) {
		const struct engine_origin *o = &w->out.orig[i];

		if (egress_send(&w->egress, &o->link, w->out.bytes.data + o->offset, o->len) < 0)
			worker_send_failed(w, errno);
	}
	engine_outq_clear(&w->out);
}

/* The engine's settings of the configuration as it is now, with a copy
 * of local_nets the worker owns (NULL with none). Under rt->lock. false
 * when out of memory. */
static bool worker_config(struct worker *w, struct engine_config *ec, struct net_prefix **nets)
{
	const struct imw_config *cfg = &w->rt->cfg;

	engine_config_load(ec, cfg);
	*nets = NULL;
	if (cfg->n_local_nets) {
		*nets = malloc(cfg->n_local_nets * sizeof(**nets));
		if (!*nets)
			return false;
		memcpy(*nets, cfg->local_nets, cfg->n_local_nets * sizeof(**nets));
	}
	ec->flow.local_nets = *nets;
	return true;
}

/* Between two packets, after a reload: every later event sees the new
 * table, every later packet the new settings (protocols, local_nets,
 * limits, hold and MSS). */
static void worker_reload(struct worker *w)
{
	struct route_table *old = NULL;
	struct net_prefix *nets = NULL, *old_nets = NULL;
	struct engine_config ec;
	bool changed = false;

	pthread_mutex_lock(&w->rt->lock);
	if (w->rt->generation != w->generation) {
		old = w->engine.cfg.table;
		engine_set_table(&w->engine, route_table_ref(w->rt->setup.table));
		w->generation = w->rt->generation;
		changed = worker_config(w, &ec, &nets);
		if (!changed)
			w->rt->log(LOG_ERR, "queue %u: out of memory: the old engine settings stay",
				   w->queue);
	}
	pthread_mutex_unlock(&w->rt->lock);
	if (changed) {
		engine_reconfigure(&w->engine, &ec);
		old_nets = w->local_nets;
		w->local_nets = nets;
		free(old_nets);
	}
	route_table_unref(old);
}

/* What the kernel counted of our queue: a queue it no longer lists (a
 * race with unbinding) keeps the last counts. */
static void worker_read_kernel(struct worker *w)
{
	struct nfqueue_kernel_counts k;

	if (w->rt->queue_proc_fd >= 0 && nfqueue_proc_read(w->rt->queue_proc_fd, w->queue, &k) == 1) {
		w->kernel = k;
		w->kernel_read = true;
	}
}

static void worker_publish_stats(struct worker *w)
{
	char name[32];

	snprintf(name, sizeof(name), "queue %u", w->queue);
	worker_read_kernel(w);
	pthread_mutex_lock(&w->rt->lock);
	stats_snapshot_of_engine(&w->snap, name, &w->engine);
	stats_snapshot_add_queue(&w->snap, &w->q.stats, &w->kernel);
	pthread_mutex_unlock(&w->rt->lock);
}

/* The sockets are the daemon's, shared; one a worker opened lazily (the
 * eager open had failed) is its own to close. */
static void worker_egress_close(struct worker *w)
{
	const struct egress *shared = &w->rt->egress;

	if (w->egress.packet_fd >= 0 && w->egress.packet_fd != shared->packet_fd)
		close(w->egress.packet_fd);
	if (w->egress.raw4_fd >= 0 && w->egress.raw4_fd != shared->raw4_fd)
		close(w->egress.raw4_fd);
	if (w->egress.raw6_fd >= 0 && w->egress.raw6_fd != shared->raw6_fd)
		close(w->egress.raw6_fd);
}

/* The flow table had to evict an IM session with a known user (flow.c
 * calls this for the first one, then at most every 10 s). */
static void log_evicted_session(void *arg, const struct flow *f, uint64_t unlogged)
{
	const struct runtime *rt = arg;
	const struct proto_session *s = f->app ? &f->app->session : NULL;

	rt->log(LOG_WARNING,
		"flow table full (max_flows): evicted the %s session of %s from %s (flow %llu); "
		"%llu more since the last such message",
		s && s->module ? event_proto_name(s->module->id) : "IM",
		s && s->local_id ? s->local_id : "?",
		s && s->client ? s->client : "?", (unsigned long long)f->id,
		(unsigned long long)unlogged);
}

/* queue_maxlen=: how many packets may wait in a queue. */
static uint32_t queue_max_len(const struct runtime *rt)
{
	const char *v = config_get(&rt->cfg, "queue_maxlen");
	unsigned long n = v ? strtoul(v, NULL, 10) : 0;

	return n && n <= UINT32_MAX ? (uint32_t)n : QUEUE_MAX_LEN;
}

/* queue_overflow=pass: what the kernel cannot queue goes on unseen (the
 * default drops it: its sender resends it, and no packet of an edited
 * connection ever crosses untranslated). */
static bool queue_fail_open(const struct runtime *rt)
{
	const char *v = config_get(&rt->cfg, "queue_overflow");

	return v && strcmp(v, "pass") == 0;
}

/* The engine on the configuration as it is now; then the queue. */
static int worker_start(struct worker *w)
{
	struct runtime *rt = w->rt;
	struct engine_config ec;
	char err[256];

	pthread_mutex_lock(&rt->lock);
	if (!worker_config(w, &ec, &w->local_nets)) {
		pthread_mutex_unlock(&rt->lock);
		rt->log(LOG_ERR, "queue %u: out of memory", w->queue);
		return -1;
	}
	ec.flow.evicted_session = log_evicted_session;
	ec.flow.evicted_arg = rt;
	ec.publish = &rt->publish;
	ec.handover = &rt->handover;
	ec.table = route_table_ref(rt->setup.table);
	ec.router = rt->setup.router;
	ec.worker = w->index;
	w->egress = rt->egress;
	memset(&w->egress.stats, 0, sizeof(w->egress.stats));
	w->generation = rt->generation;
	pthread_mutex_unlock(&rt->lock);
	engine_outq_init(&w->out);
	w->log_batch = rt->writer ? sink_writer_batch_new(rt->writer) : NULL;
	if (rt->files && (!rt->writer || w->log_batch)) {
		/* Results go to the sinks like every event (the burst's batch);
		 * the engine holds and cuts by what this stage decides. */
		w->files = files_new(rt->files, w->log_batch ? worker_log : rt->write_event,
				     w->log_batch ? (void *)w : rt->write_arg, err, sizeof(err));
		if (!w->files)
			rt->log(LOG_ERR, "queue %u: file transfers not followed: %s", w->queue, err);
		ec.flow.files = w->files;
	}
	if ((rt->writer && !w->log_batch) ||
	    engine_init(&w->engine, &ec, w->log_batch ? worker_log : rt->write_event,
			w->log_batch ? (void *)w : rt->write_arg) < 0) {
		rt->log(LOG_ERR, "queue %u: out of memory", w->queue);
		route_table_unref(ec.table);
		files_free(w->files); /* before the batch its results would go to */
		w->files = NULL;
		sink_writer_batch_free(w->log_batch);
		return -1;
	}
	if (nfqueue_open(&w->q, w->queue, queue_max_len(rt), queue_fail_open(rt), err,
			 sizeof(err)) < 0) {
		rt->log(LOG_ERR, "cannot open NFQUEUE %u: %s", w->queue, err);
		engine_destroy(&w->engine, &w->out);
		route_table_unref(w->engine.cfg.table);
		engine_outq_free(&w->out);
		files_free(w->files);
		w->files = NULL;
		sink_writer_batch_free(w->log_batch);
		*rt->stop = 1;
		return -1;
	}
	/* "ready" once the claim is taken (runtime_run_queues) */
	__atomic_store_n(&w->bound, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Packets, mail from other workers, ticks, verdicts, until stopped. */
static void worker_loop(struct worker *w)
{
	struct pollfd pfd[2];
	nfds_t n_pfd = 1;
	double last_tick = 0, last_stats = 0;
	int rc;

	pfd[0].fd = nfqueue_fd(&w->q);
	pfd[0].events = POLLIN;
	/* Another worker may hand us a message for one of our sessions. */
	pfd[1].fd = router_wake_fd(w->rt->setup.router, w->index);
	pfd[1].events = POLLIN;
	if (pfd[1].fd >= 0)
		n_pfd = 2;
	while (!__atomic_load_n(&w->rt->quit, __ATOMIC_ACQUIRE)) {
		rc = poll(pfd, n_pfd, POLL_INTERVAL_MS);
		w->now = runtime_now();
		if (rc > 0 && (pfd[0].revents & POLLIN) &&
		    nfqueue_receive(&w->q, worker_packet, w) < 0) {
			w->rt->log(LOG_ERR, "queue %u: receive failed: %s", w->queue, strerror(errno));
			break;
		}
		worker_note_enobufs(w);
		if (rc > 0 && n_pfd == 2 && (pfd[1].revents & POLLIN))
			engine_take_mail(&w->engine, w->now, &w->out);
		if (w->now - last_tick >= POLL_INTERVAL_MS / 1000.0) {
			engine_tick(&w->engine, w->now, &w->out);
			last_tick = w->now;
		}
		worker_flush(w);
		service_worker_loop(w->rt->svc, w->index, &w->engine.flows);
		worker_reload(w);
		if (w->now - last_stats >= STATS_EVERY_SECONDS) {
			worker_publish_stats(w);
			last_stats = w->now;
		}
		/* A planned stop: what a successor needs is written and
		 * published before the claim goes; packets go on meanwhile. */
		if (__atomic_load_n(&w->rt->hand_over, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&w->handed, __ATOMIC_RELAXED)) {
			engine_hand_over(&w->engine, w->now);
			worker_flush(w);
			__atomic_store_n(&w->handed, 1, __ATOMIC_RELEASE);
		}
	}
}

/* The claim is gone: the classifier translates edited flows from now on,
 * but what it steered to us before is in the queue, and would be dropped
 * as the queue unbinds. Until the queue is quiet (or a bound), it is
 * ours to translate. */
static void worker_drain(struct worker *w)
{
	struct pollfd pfd = { nfqueue_fd(&w->q), POLLIN, 0 };
	double until = runtime_now() + DRAIN_MAX_SECONDS;

	while (poll(&pfd, 1, DRAIN_QUIET_MS) > 0 && (pfd.revents & POLLIN)) {
		w->now = runtime_now();
		if (nfqueue_receive(&w->q, worker_packet, w) < 0)
			break;
		worker_flush(w);
		if (w->now >= until)
			break;
	}
}

static unsigned long long u(uint64_t v)
{
	return (unsigned long long)v;
}

/* The three lines the README documents. */
static void worker_report(const struct worker *w)
{
	const struct engine_stats *st = &w->engine.stats;
	const struct nfqueue_stats *qs = &w->q.stats;
	runtime_log_fn log = w->rt->log;

	log(LOG_INFO,
	    "queue %u: %llu packets: %llu accepted, %llu modified, %llu dropped; %llu held "
	    "(%llu released at the deadline, %llu at a bound, %llu behind a hole past "
	    "hold_hole_ms); %llu edits, refused: %llu "
	    "committed, %llu too big, %llu not encodable; %llu segments split, %llu cut to the "
	    "path; %llu retransmissions rebuilt, %llu duplicates of held data, %llu out of order held; %llu MSS clamped; %llu not TCP, %llu "
	    "malformed; %llu truncated by the queue; %llu ENOBUFS; %llu verdict send errors; "
	    "the kernel: %s%llu dropped with the queue full, %llu it could not hand us",
	    w->queue, u(st->packets), u(st->accepted), u(st->modified), u(st->dropped),
	    u(st->held), u(st->deadline_releases), u(st->bound_releases),
	    u(st->hole_bound_releases), u(st->edits),
	    u(st->edits_refused_committed), u(st->edits_refused_size), u(st->edits_refused_encode),
	    u(st->segments_split), u(st->segments_capped), u(st->retransmissions_rebuilt), u(st->duplicates_of_held), u(st->out_of_order_held),
	    u(st->mss_clamped), u(st->not_tcp), u(st->malformed), u(qs->truncated),
	    u(qs->enobufs), u(qs->send_errors), w->kernel_read ? "" : "(not read) ",
	    u(w->kernel.queue_dropped), u(w->kernel.user_dropped));
	log(LOG_INFO,
	    "queue %u: policy: %llu PDUs blocked (%llu of them only blanked: partly sent "
	    "already); %llu policy failures: %llu enforced by a same-length fallback, %llu not "
	    "enforced; %llu notices injected, %llu notices without a PDU to follow",
	    w->queue, u(st->policy_blocked), u(st->policy_blanked),
	    u(st->policy_fallbacks + st->policy_unenforced), u(st->policy_fallbacks),
	    u(st->policy_unenforced), u(st->notices_injected),
	    u(st->notices_dropped));
	log(LOG_INFO,
	    "queue %u: routing: %llu routed locally, %llu to bots, %llu forwarded after all "
	    "(partly sent); %llu delivered (%llu waited for a PDU), %llu lost; %llu receipts, "
	    "%llu deletions acknowledged; "
	    "%llu segments originated, %llu retransmitted, %llu given up; egress: %llu sent, "
	    "%llu send errors, %llu without a link",
	    w->queue, u(st->routed_local), u(st->routed_bot), u(st->route_fallbacks),
	    u(st->deliveries), u(st->deliveries_delayed), u(st->deliveries_lost),
	    u(st->receipts_synthesised), u(st->deletions_acked), u(st->segments_originated),
	    u(st->origin_retransmits), u(st->origin_given_up), u(w->egress.stats.sent),
	    u(w->egress.stats.send_errors), u(w->egress.stats.no_link));
}

/* Every held packet goes out before the queue closes. */
static void worker_stop(struct worker *w)
{
	engine_judge_files(&w->engine, runtime_now(), &w->out);
	engine_release_all(&w->engine, &w->out);
	worker_flush(w);
	engine_destroy(&w->engine, &w->out);
	worker_flush(w);
	/* After its flows (their transfers end into the sinks): every scan
	 * still pending is waited for, and its result logged. */
	if (w->files)
		files_drain(w->files);
	worker_flush(w); /* their results too */
	worker_publish_stats(w);
	worker_report(w);
	nfqueue_close(&w->q);
	route_table_unref(w->engine.cfg.table);
	engine_outq_free(&w->out);
	worker_egress_close(w);
	/* Last: the statistics above still read its counters. */
	w->engine.flows.cfg.files = NULL;
	files_free(w->files);
	w->files = NULL;
	if (w->log_batch && sink_writer_batch_count(w->log_batch))
		sink_writer_submit(w->log_batch);
	sink_writer_batch_free(w->log_batch);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (worker_start(w) < 0) {
		w->status = 1;
		free(w->local_nets);
		__atomic_store_n(&w->exited, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	worker_loop(w);
	__atomic_store_n(&w->exited, 1, __ATOMIC_RELEASE);
	worker_drain(w);
	worker_stop(w);
	free(w->local_nets); /* after the engine, which looked at it */
	return NULL;
}

/* The workers' last snapshots, summed, and the writer's counters, to the
 * stats file. */
static void write_stats(struct runtime *rt, struct worker *workers, size_t n)
{
	static bool complained;
	struct stats_snapshot *snaps = calloc(n, sizeof(*snaps));
	struct sink_writer_stats ws;
	char path[4096];
	size_t i;

	if (!snaps)
		return;
	if (rt->writer)
		sink_writer_get_stats(rt->writer, &ws);
	pthread_mutex_lock(&rt->lock);
	for (i = 0; i < n; i++)
		snaps[i] = workers[i].snap;
	stats_path_of(&rt->cfg, path, sizeof(path));
	if (stats_write_file(path, snaps, n, rt->writer ? &ws : NULL, (double)time(NULL)) < 0 &&
	    !complained) {
		rt->log(LOG_ERR, "%s: cannot write statistics: %s", path, strerror(errno));
		complained = true; /* once: the daemon goes on without */
	}
	pthread_mutex_unlock(&rt->lock);
	free(snaps);
}

/* Workers leave signals to the caller's thread. Returns how many started. */
static size_t start_workers(struct runtime *rt, struct worker *workers, unsigned first, size_t n)
{
	sigset_t block, old;
	size_t i;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < n; i++) {
		workers[i].queue = (uint16_t)(first + i);
		workers[i].index = (unsigned)i;
		workers[i].rt = rt;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			rt->log(LOG_ERR, "cannot start worker for queue %zu", first + i);
			*rt->stop = 1;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return i;
}

int runtime_snapshots(void *arg, struct stats_snapshot **out, size_t *n)
{
	struct runtime *rt = arg;
	size_t i;

	pthread_mutex_lock(&rt->lock);
	*n = rt->n_workers;
	*out = calloc(*n ? *n : 1, sizeof(**out));
	for (i = 0; *out && i < *n; i++)
		(*out)[i] = rt->workers[i].snap;
	pthread_mutex_unlock(&rt->lock);
	return *out ? 0 : -1;
}

static void publish_workers(struct runtime *rt, struct worker *workers, size_t n)
{
	pthread_mutex_lock(&rt->lock);
	rt->workers = workers;
	rt->n_workers = n;
	pthread_mutex_unlock(&rt->lock);
}

/* What a dead predecessor left of connections that ended while no daemon
 * ran: idle as long as a flow may be. */
static void reap_published(struct runtime *rt)
{
	const char *idle = config_get(&rt->cfg, "idle_timeout");
	uint64_t secs = idle && strtoull(idle, NULL, 10) ? strtoull(idle, NULL, 10)
							 : DEFAULT_IDLE_SECONDS;

	bpf_publish_reap(&rt->publish, secs * 1000000000ull);
	handover_sweep(&rt->handover, runtime_now());
}

static bool flag(int *f)
{
	return __atomic_load_n(f, __ATOMIC_ACQUIRE) != 0;
}

/* Every queue is bound (or its worker gave up): edited flows may come to
 * us now. Each queue is ready from then on. */
static void claim_when_bound(struct runtime *rt, struct worker *workers, size_t n)
{
	double until = runtime_now() + BIND_WAIT_SECONDS;
	size_t i, waiting;

	do {
		for (i = waiting = 0; i < n; i++)
			if (!flag(&workers[i].bound) && !flag(&workers[i].exited))
				waiting++;
		if (waiting)
			usleep(2000);
	} while (waiting && !*rt->stop && runtime_now() < until);
	if (runtime_claim(rt) < 0)
		*rt->stop = 1;
	for (i = 0; i < n; i++) {
		if (!flag(&workers[i].bound) || flag(&workers[i].exited))
			continue;
		rt->log(LOG_INFO, "queue %u: ready", workers[i].queue);
		service_worker_ready(rt->svc);
	}
}

/* The planned stop (bpf_publish.h): every worker hands over what a
 * successor needs, then the claim goes (the classifier translates from
 * the next packet on), then the workers drain, give their verdicts and
 * exit. */
static void stop_workers(struct runtime *rt, struct worker *workers, size_t n)
{
	double until = runtime_now() + HAND_OVER_WAIT_SECONDS;
	size_t i, waiting;

	if (rt->claim.held) {
		__atomic_store_n(&rt->hand_over, 1, __ATOMIC_RELEASE);
		do {
			for (i = waiting = 0; i < n; i++)
				if (!flag(&workers[i].handed) && !flag(&workers[i].exited))
					waiting++;
			if (waiting)
				usleep(1000);
		} while (waiting && runtime_now() < until);
		if (waiting)
			rt->log(LOG_ERR, "%zu queue workers did not hand over in time", waiting);
		classifier_release(&rt->claim);
		rt->log(LOG_INFO, "released the classifier's pin directory: it translates "
				  "edited flows until a successor takes them over");
	}
	__atomic_store_n(&rt->quit, 1, __ATOMIC_RELEASE);
}

int runtime_run_queues(struct runtime *rt)
{
	size_t n = rt->last - rt->first + 1, started, i;
	struct worker *workers = calloc(n, sizeof(*workers));
	char msg[1024];
	int status = 0;

	if (!workers)
		return 1;
	if (service_serve(rt->svc, &rt->cfg, msg, sizeof(msg)) < 0) {
		rt->log(LOG_ERR, "%s", msg);
		free(workers);
		return 1;
	}
	started = start_workers(rt, workers, rt->first, n);
	if (started < n)
		status = 1;
	publish_workers(rt, workers, started);
	claim_when_bound(rt, workers, started);
	for (i = 0; !*rt->stop; i++) {
		if (i % REAP_EVERY_LOOPS == REAP_EVERY_LOOPS - 1 && rt->publish.xlate_fd >= 0)
			reap_published(rt);
		if (i % STATS_EVERY_LOOPS == STATS_EVERY_LOOPS - 1) {
			write_stats(rt, workers, started);
			service_tick(rt->svc);
		}
		if (*rt->reload) {
			*rt->reload = 0;
			runtime_reload(rt, msg, sizeof(msg));
		}
		if (*rt->reopen) {
			*rt->reopen = 0;
			runtime_reopen(rt);
		}
		usleep(20000);
	}
	stop_workers(rt, workers, started);
	service_stop(rt->svc);
	for (i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		if (workers[i].status)
			status = 1;
	}
	/* Every event handed over is written (or its sink is down and it
	 * waits in the log) before the last statistics. */
	if (rt->writer)
		rt->writer->ops->flush(rt->writer);
	write_stats(rt, workers, started);
	publish_workers(rt, NULL, 0);
	free(workers);
	return status;
}
