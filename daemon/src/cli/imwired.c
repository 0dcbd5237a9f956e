/* imwired: the inline daemon. One worker thread per NFQUEUE queue; each
 * owns its engine and so the flows of its queue. With --tap it decodes a
 * mirror port passively instead. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "classifier/classifier.h"
#include "config/config.h"
#include "config/config_flow.h"
#include "inline/engine.h"
#include "nfq/nfq.h"
#include "pipeline/pipeline.h"
#include "proto/proto.h"
#include "util/privileges.h"
#include "policy/policy.h"
#include "route/route.h"
#include "egress/egress.h"
#include "sink/sink_writer.h"
#include "stats/stats_file.h"

#define DEFAULT_CONFIG "/etc/imwire/imwire.conf"
#define DEFAULT_DATA_DIR "/var/lib/imwire"
#define DEFAULT_SQLITE_FILE DEFAULT_DATA_DIR "/imwire.db"
#define DEFAULT_SPOOL_DIR DEFAULT_DATA_DIR "/spool"
#define POLL_INTERVAL_MS 10
#define QUEUE_MAX_LEN 65536

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static bool log_to_stderr = true;

static void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_to_stderr) {
		fputs("imwired: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(level, fmt, ap);
	}
	va_end(ap);
}

/* A key of IMSpector's that means nothing inline, a responder table left
 * alone: the daemon starts, and says what it does instead. */
static void log_config_warning(const char *msg)
{
	log_msg(LOG_WARNING, "warning: %s", msg);
}

struct first_error {
	char *err;
	size_t size;
	bool have;
};

static void policy_warning(void *arg, const char *msg)
{
	(void)arg;
	log_config_warning(msg);
}

static void policy_error(void *arg, const char *msg)
{
	struct first_error *fe = arg;

	if (!fe->have)
		snprintf(fe->err, fe->size, "%s", msg);
	fe->have = true;
}

/* policy_new, with its warnings logged. */
static struct policy *load_policy(const struct imw_config *cfg, char *err, size_t err_size)
{
	struct first_error fe = { err, err_size, false };
	struct config_report r = { policy_warning, policy_error, &fe, 0, 0 };

	return policy_new_report(cfg, POLICY_LIVE, &r);
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sinks are shared by the workers: one lock around a write. */
struct shared_sinks {
	pthread_mutex_t lock;
	struct sink sinks[PIPELINE_MAX_SINKS];
	size_t n;
	uint64_t written;
	uint64_t failed;
};

static void shared_sinks_write(void *arg, const struct im_event *ev)
{
	struct shared_sinks *ss = arg;
	size_t i;

	pthread_mutex_lock(&ss->lock);
	for (i = 0; i < ss->n; i++) {
		if (sink_write(&ss->sinks[i], ev) < 0)
			ss->failed++;
		else
			ss->written++;
	}
	pthread_mutex_unlock(&ss->lock);
}

/* Every sink sits behind one writer thread (sink/sink_writer.h): a worker
 * only queues the event, it never waits on a database or a disk. */
static int open_sinks(struct shared_sinks *ss, const struct imw_config *cfg, bool foreground)
{
	const char *dir = config_get(cfg, "file_logging_dir"), *jsonl = config_get(cfg, "jsonl_file");
	struct sink_writer_config wc;
	struct sink_db db;
	struct sink s, *w = &ss->sinks[0];
	size_t configured = 0;
	char err[512];

	sink_writer_config_from(&wc, cfg, DEFAULT_SPOOL_DIR);
	wc.log = log_msg;
	if (sink_writer_open(w, &wc) < 0) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	ss->n = 1;
	if (dir) {
		if (sink_imspector_open_dir(&s, dir) < 0) {
			log_msg(LOG_ERR, "%s: cannot use as log directory: %s", dir, strerror(errno));
			goto failed;
		}
		sink_writer_add_sink(w, &s);
	}
	if (jsonl) {
		if (sink_jsonl_open_path(&s, jsonl, true) < 0) {
			log_msg(LOG_ERR, "%s: cannot open: %s", jsonl, strerror(errno));
			goto failed;
		}
		sink_writer_add_sink(w, &s);
	}
	if (sink_writer_add_configured(w, cfg, &configured, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		goto failed;
	}
	if (dir || jsonl || configured)
		return 0;
	/* A new install logs to SQLite with no set-up. */
	if (foreground) {
		if (sink_jsonl_open_stream(&s, stdout, true) < 0)
			goto failed;
		sink_writer_add_sink(w, &s);
	}
	if (mkdir(DEFAULT_DATA_DIR, 0750) < 0 && errno != EEXIST) {
		log_msg(LOG_ERR, "%s: cannot create: %s", DEFAULT_DATA_DIR, strerror(errno));
		goto failed;
	}
	if (sink_db_sqlite_init(&db, DEFAULT_SQLITE_FILE, config_get(cfg, "sensor_name")) < 0 ||
	    sink_writer_add_db(w, &db, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s: %s", DEFAULT_SQLITE_FILE, err);
		goto failed;
	}
	log_msg(LOG_INFO, "no sink configured: logging to %s", DEFAULT_SQLITE_FILE);
	return 0;
failed:
	sink_close(w);
	ss->n = 0;
	return -1;
}

/* The writer's thread starts after daemonize(): threads do not survive
 * a fork. */
static int shared_sinks_start(struct shared_sinks *ss)
{
	if (ss->n && sink_writer_start(&ss->sinks[0]) < 0) {
		log_msg(LOG_ERR, "cannot start the writer thread");
		return -1;
	}
	return 0;
}

/* The daemon's configuration as the workers see it; replaced on SIGHUP. */
struct daemon_config {
	pthread_mutex_t lock;
	unsigned generation;
	struct imw_config cfg;
	struct policy *policy; /* built from cfg; workers hold their own references */
	const char *path;
	int heartbeat_fd; /* the classifier's pinned heartbeat map, or -1 */
	/* The classifier's flow map, where collapsed seq offsets go so edited
	 * flows survive us (publishing is a no-op without a classifier). */
	struct bpf_publish publish;
	/* Local routing, the address map and bots; settings replaced on SIGHUP. */
	struct router *router;
	/* Sockets for segments we originate, opened while still root; each
	 * worker sends through them with its own counters. */
	struct egress egress;
};

#define HEARTBEAT_EVERY_LOOPS 10 /* of 20 ms */
#define STATS_EVERY_SECONDS 1.0
#define STATS_EVERY_LOOPS 50 /* of 20 ms */

static void engine_config_from(const struct imw_config *cfg, struct engine_config *ec)
{
	const char *v;

	engine_config_defaults(ec);
	config_apply_flow(cfg, &ec->flow);
	if ((v = config_get(cfg, "hold_deadline_ms")))
		ec->hold_deadline = strtoul(v, NULL, 10) / 1000.0;
	if ((v = config_get(cfg, "mss_headroom")))
		ec->mss_headroom = (uint16_t)strtoul(v, NULL, 10);
}

struct worker {
	pthread_t thread;
	uint16_t queue;
	struct daemon_config *dc;
	struct shared_sinks *sinks;
	struct engine engine;
	struct engine_outq out;
	struct nfqueue q;
	unsigned index;
	struct egress egress;
	double now;
	int status;
	struct stats_snapshot snap; /* published under dc->lock about once a second */
};

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

static void worker_flush(struct worker *w)
{
	uint32_t lowest = 0;
	bool held = engine_lowest_held_id(&w->engine, &lowest);

	size_t i;

	if (w->out.n)
		nfqueue_send_verdicts(&w->q, &w->out, held, lowest);
	/* Our own segments after the verdicts: a local delivery follows the
	 * packet that carried the message here. */
	for (i = 0; i < w->out.n_orig; i++) {
		const struct engine_origin *o = &w->out.orig[i];

		egress_send(&w->egress, &o->link, w->out.bytes.data + o->offset, o->len);
	}
	engine_outq_clear(&w->out);
}

static void worker_reload(struct worker *w, unsigned *generation)
{
	struct policy *old = NULL;

	pthread_mutex_lock(&w->dc->lock);
	if (w->dc->generation != *generation) {
		/* Between two packets: every later event sees the new policy. */
		old = w->engine.cfg.policy;
		w->engine.cfg.policy = policy_ref(w->dc->policy);
		engine_routing_changed(&w->engine);
		*generation = w->dc->generation;
	}
	pthread_mutex_unlock(&w->dc->lock);
	policy_unref(old);
}

static void worker_publish_stats(struct worker *w)
{
	char name[32];

	snprintf(name, sizeof(name), "queue %u", w->queue);
	pthread_mutex_lock(&w->dc->lock);
	stats_snapshot_of_engine(&w->snap, name, &w->engine);
	pthread_mutex_unlock(&w->dc->lock);
}

/* The sockets are the daemon's, shared; one a worker opened lazily (the
 * eager open had failed) is its own to close. */
static void worker_egress_close(struct worker *w)
{
	const struct egress *shared = &w->dc->egress;

	if (w->egress.packet_fd >= 0 && w->egress.packet_fd != shared->packet_fd)
		close(w->egress.packet_fd);
	if (w->egress.raw4_fd >= 0 && w->egress.raw4_fd != shared->raw4_fd)
		close(w->egress.raw4_fd);
	if (w->egress.raw6_fd >= 0 && w->egress.raw6_fd != shared->raw6_fd)
		close(w->egress.raw6_fd);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct engine_config ec;
	struct pollfd pfd[2];
	nfds_t n_pfd = 1;
	char err[256];
	unsigned generation;
	double last_tick = 0, last_stats = 0;
	const struct engine_stats *st;
	const struct nfqueue_stats *qs;

	pthread_mutex_lock(&w->dc->lock);
	engine_config_from(&w->dc->cfg, &ec);
	ec.publish = &w->dc->publish;
	ec.policy = policy_ref(w->dc->policy);
	ec.router = w->dc->router;
	ec.worker = w->index;
	w->egress = w->dc->egress;
	memset(&w->egress.stats, 0, sizeof(w->egress.stats));
	generation = w->dc->generation;
	pthread_mutex_unlock(&w->dc->lock);
	engine_outq_init(&w->out);
	if (engine_init(&w->engine, &ec, shared_sinks_write, w->sinks) < 0) {
		log_msg(LOG_ERR, "queue %u: out of memory", w->queue);
		policy_unref(ec.policy);
		w->status = 1;
		return NULL;
	}
	if (nfqueue_open(&w->q, w->queue, QUEUE_MAX_LEN, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "cannot open NFQUEUE %u: %s", w->queue, err);
		engine_destroy(&w->engine, &w->out);
		policy_unref(w->engine.cfg.policy);
		engine_outq_free(&w->out);
		w->status = 1;
		stop_requested = 1;
		return NULL;
	}
	log_msg(LOG_INFO, "queue %u: ready", w->queue);
	pfd[0].fd = nfqueue_fd(&w->q);
	pfd[0].events = POLLIN;
	/* Another worker may hand us a message for one of our sessions. */
	pfd[1].fd = router_wake_fd(w->dc->router, w->index);
	pfd[1].events = POLLIN;
	if (pfd[1].fd >= 0)
		n_pfd = 2;
	while (!stop_requested) {
		int rc = poll(pfd, n_pfd, POLL_INTERVAL_MS);

		w->now = now_seconds();
		if (rc > 0 && (pfd[0].revents & POLLIN) &&
		    nfqueue_receive(&w->q, worker_packet, w) < 0) {
			log_msg(LOG_ERR, "queue %u: receive failed: %s", w->queue, strerror(errno));
			break;
		}
		if (rc > 0 && n_pfd == 2 && (pfd[1].revents & POLLIN))
			engine_take_mail(&w->engine, w->now, &w->out);
		if (w->now - last_tick >= POLL_INTERVAL_MS / 1000.0) {
			engine_tick(&w->engine, w->now, &w->out);
			last_tick = w->now;
		}
		worker_flush(w);
		worker_reload(w, &generation);
		if (w->now - last_stats >= STATS_EVERY_SECONDS) {
			worker_publish_stats(w);
			last_stats = w->now;
		}
	}
	/* Every held packet goes out before the queue closes. */
	engine_release_all(&w->engine, &w->out);
	worker_flush(w);
	engine_destroy(&w->engine, &w->out);
	worker_flush(w);
	worker_publish_stats(w);
	st = &w->engine.stats;
	qs = &w->q.stats;
	log_msg(LOG_INFO,
		"queue %u: %llu packets: %llu accepted, %llu modified, %llu dropped; %llu held "
		"(%llu released at the deadline, %llu at a bound); %llu edits, refused: %llu "
		"committed, %llu too big, %llu not encodable; %llu retransmissions rebuilt, %llu "
		"duplicates of held data, %llu out of order held; %llu MSS clamped; %llu not TCP, %llu "
		"malformed; %llu truncated by the queue; %llu ENOBUFS; %llu verdict send errors",
		w->queue, (unsigned long long)st->packets, (unsigned long long)st->accepted,
		(unsigned long long)st->modified, (unsigned long long)st->dropped,
		(unsigned long long)st->held, (unsigned long long)st->deadline_releases,
		(unsigned long long)st->bound_releases, (unsigned long long)st->edits,
		(unsigned long long)st->edits_refused_committed,
		(unsigned long long)st->edits_refused_size,
		(unsigned long long)st->edits_refused_encode,
		(unsigned long long)st->retransmissions_rebuilt,
		(unsigned long long)st->duplicates_of_held,
		(unsigned long long)st->out_of_order_held, (unsigned long long)st->mss_clamped,
		(unsigned long long)st->not_tcp, (unsigned long long)st->malformed,
		(unsigned long long)qs->truncated, (unsigned long long)qs->enobufs,
		(unsigned long long)qs->send_errors);
	log_msg(LOG_INFO,
		"queue %u: policy: %llu PDUs blocked (%llu of them only blanked: partly sent "
		"already), %llu notices injected, %llu notices without a PDU to follow",
		w->queue, (unsigned long long)st->policy_blocked,
		(unsigned long long)st->policy_blanked, (unsigned long long)st->notices_injected,
		(unsigned long long)st->notices_dropped);
	log_msg(LOG_INFO,
		"queue %u: routing: %llu routed locally, %llu to bots, %llu forwarded after all "
		"(partly sent); %llu delivered (%llu waited for a PDU), %llu lost; %llu receipts, "
		"%llu deletions acknowledged; "
		"%llu segments originated, %llu retransmitted, %llu given up; egress: %llu sent, "
		"%llu send errors, %llu without a link",
		w->queue, (unsigned long long)st->routed_local, (unsigned long long)st->routed_bot,
		(unsigned long long)st->route_fallbacks, (unsigned long long)st->deliveries,
		(unsigned long long)st->deliveries_delayed, (unsigned long long)st->deliveries_lost,
		(unsigned long long)st->receipts_synthesised, (unsigned long long)st->deletions_acked,
		(unsigned long long)st->segments_originated, (unsigned long long)st->origin_retransmits,
		(unsigned long long)st->origin_given_up, (unsigned long long)w->egress.stats.sent,
		(unsigned long long)w->egress.stats.send_errors,
		(unsigned long long)w->egress.stats.no_link);
	nfqueue_close(&w->q);
	policy_unref(w->engine.cfg.policy);
	engine_outq_free(&w->out);
	worker_egress_close(w);
	return NULL;
}

/* The workers' last snapshots, summed, to the stats file. */
static void write_stats(struct daemon_config *dc, struct worker *workers, size_t n)
{
	static bool complained;
	struct stats_snapshot *snaps = calloc(n, sizeof(*snaps));
	const char *path;
	size_t i;

	if (!snaps)
		return;
	pthread_mutex_lock(&dc->lock);
	for (i = 0; i < n; i++)
		snaps[i] = workers[i].snap;
	path = config_get(&dc->cfg, "stats_file");
	path = path ? path : STATS_DEFAULT_PATH;
	if (stats_write_file(path, snaps, n, (double)time(NULL)) < 0 && !complained) {
		log_msg(LOG_ERR, "%s: cannot write statistics: %s", path, strerror(errno));
		complained = true; /* once: the daemon goes on without */
	}
	pthread_mutex_unlock(&dc->lock);
	free(snaps);
}

static int run_queues(struct daemon_config *dc, struct shared_sinks *sinks, unsigned first,
		      unsigned last)
{
	size_t n = last - first + 1, i;
	struct worker *workers = calloc(n, sizeof(*workers));
	int status = 0;
	sigset_t block, old;

	if (!workers)
		return 1;
	/* Workers leave signals to the main thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < n; i++) {
		workers[i].queue = (uint16_t)(first + i);
		workers[i].index = (unsigned)i;
		workers[i].dc = dc;
		workers[i].sinks = sinks;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			log_msg(LOG_ERR, "cannot start worker for queue %zu", first + i);
			stop_requested = 1;
			n = i;
			status = 1;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; !stop_requested; i++) {
		/* the classifier fixes up released flows itself once beats stop */
		if (dc->heartbeat_fd >= 0 && i % HEARTBEAT_EVERY_LOOPS == 0)
			classifier_heartbeat_beat(dc->heartbeat_fd, 0);
		if (i % STATS_EVERY_LOOPS == STATS_EVERY_LOOPS - 1)
			write_stats(dc, workers, n);
		if (reload_requested) {
			struct imw_config fresh;
			struct policy *policy = NULL, *replaced;
			char err[512];

			reload_requested = 0;
			config_init(&fresh);
			/* Configuration and lists are replaced together or not at all. */
			if (config_load(&fresh, dc->path, err, sizeof(err), NULL) < 0 ||
			    !(policy = load_policy(&fresh, err, sizeof(err))) ||
			    router_reload(dc->router, &fresh, err, sizeof(err)) < 0) {
				log_msg(LOG_ERR, "reload failed, keeping the old configuration: %s", err);
				policy_unref(policy);
				config_free(&fresh);
			} else {
				pthread_mutex_lock(&dc->lock);
				config_free(&dc->cfg);
				dc->cfg = fresh;
				replaced = dc->policy;
				dc->policy = policy;
				dc->generation++;
				pthread_mutex_unlock(&dc->lock);
				policy_take_history(policy, replaced);
				policy_unref(replaced);
				log_msg(LOG_INFO, "configuration reloaded from %s", dc->path);
			}
		}
		usleep(20000);
	}
	for (i = 0; i < n; i++) {
		pthread_join(workers[i].thread, NULL);
		if (workers[i].status)
			status = 1;
	}
	write_stats(dc, workers, n);
	free(workers);
	return status;
}

struct tap_ctx {
	struct pipeline pl;
	int dlt;
};

static void tap_packet_dlt(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct tap_ctx *t = (struct tap_ctx *)(void *)arg;
	struct packet pkt;
	const char *why;

	memset(&pkt, 0, sizeof(pkt));
	pkt.ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
	if (packet_parse(t->dlt, bytes, h->caplen, h->len, &pkt, &why) == PACKET_OK)
		pipeline_packet(&t->pl, &pkt);
}

static int run_tap(const char *iface, const struct imw_config *cfg, struct shared_sinks *ss)
{
	struct pollfd pfd;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct tap_ctx t;
	struct flow_config fc;
	pcap_t *p;
	size_t i;

	flow_config_defaults(&fc);
	config_apply_flow(cfg, &fc);
	p = pcap_create(iface, errbuf);
	if (!p) {
		log_msg(LOG_ERR, "%s: %s", iface, errbuf);
		return 1;
	}
	pcap_set_snaplen(p, 65535);
	pcap_set_promisc(p, 1);
	pcap_set_immediate_mode(p, 1);
	pcap_set_timeout(p, 100);
	pcap_set_buffer_size(p, 16 * 1024 * 1024);
	if (pcap_activate(p) < 0) {
		log_msg(LOG_ERR, "%s: %s", iface, pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	t.dlt = pcap_datalink(p);
	if (!packet_linktype_supported(t.dlt)) {
		log_msg(LOG_ERR, "%s: unsupported link type %d", iface, t.dlt);
		pcap_close(p);
		return 1;
	}
	if (pipeline_init(&t.pl, &fc) < 0) {
		pcap_close(p);
		return 1;
	}
	/* The pipeline writes to the daemon's sinks (moved in, closed with it). */
	for (i = 0; i < ss->n; i++)
		pipeline_add_sink(&t.pl, &ss->sinks[i]);
	ss->n = 0;
	log_msg(LOG_INFO, "tap on %s: passive, no verdicts", iface);
	/* Immediate mode may ignore the read timeout: wait in poll so a stop
	 * request is seen on a quiet link too. */
	if (pcap_setnonblock(p, 1, errbuf) < 0)
		log_msg(LOG_WARNING, "%s: %s", iface, errbuf);
	pfd.fd = pcap_get_selectable_fd(p);
	pfd.events = POLLIN;
	while (!stop_requested) {
		if (pfd.fd >= 0 && poll(&pfd, 1, 100) == 0)
			continue;
		if (pcap_dispatch(p, -1, tap_packet_dlt, (u_char *)(void *)&t) < 0) {
			log_msg(LOG_ERR, "%s: %s", iface, pcap_geterr(p));
			break;
		}
	}
	pipeline_finish(&t.pl);
	pipeline_destroy(&t.pl);
	pcap_close(p);
	return 0;
}

static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return -1;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: imwired [-c CONFIG] [--queue N | --queue N-M] [--tap IFACE] [-d]\n"
		     "               [--pidfile FILE] [--attach IFACE]...\n"
		     "  -c CONFIG      configuration (default " DEFAULT_CONFIG ")\n"
		     "  --queue N[-M]  NFQUEUE number or range, one worker each (default 0)\n"
		     "  --tap IFACE    passive: decode a mirror port, no verdicts\n"
		     "  -d             stay in the foreground, log to stderr\n"
		     "  --pidfile FILE write the daemon's pid (default: pidfilename= of the config)\n"
		     "  --attach IFACE attach the tc BPF classifier at IFACE's ingress first\n"
		     "                 (repeatable); with the classifier's maps pinned, the\n"
		     "                 daemon beats its heartbeat while it runs\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "queue", required_argument, NULL, 'q' },
		{ "tap", required_argument, NULL, 't' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "attach", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	char *attach[64];
	size_t n_attach = 0;
	const char *config_path = DEFAULT_CONFIG, *tap = NULL, *pidfile = NULL;
	char *pidfile_owned;
	unsigned first = 0, last = 0;
	bool foreground = false, config_given = false;
	struct daemon_config dc;
	struct shared_sinks ss;
	struct sigaction sa;
	char err[512], *end;
	int c, status;
	size_t i;

	if (proto_registry_check(err, sizeof(err)) < 0) {
		fprintf(stderr, "imwired: %s\n", err);
		return 1;
	}
	while ((c = getopt_long(argc, argv, "c:q:t:p:dha:", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (n_attach == sizeof(attach) / sizeof(attach[0])) {
				fprintf(stderr, "imwired: --attach: at most 64 interfaces\n");
				return 2;
			}
			attach[n_attach++] = optarg;
			break;
		case 'c':
			config_path = optarg;
			config_given = true;
			break;
		case 'q':
			first = (unsigned)strtoul(optarg, &end, 10);
			last = first;
			if (*end == '-')
				last = (unsigned)strtoul(end + 1, &end, 10);
			if (*end || last < first || last > 65535 || last - first > 63) {
				fprintf(stderr, "imwired: --queue: expected N or N-M (at most 64 queues)\n");
				return 2;
			}
			break;
		case 't':
			tap = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'd':
			foreground = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&dc, 0, sizeof(dc));
	dc.heartbeat_fd = -1;
	dc.publish.flows_fd = -1;
	pthread_mutex_init(&dc.lock, NULL);
	config_init(&dc.cfg);
	dc.path = config_path;
	if (config_load(&dc.cfg, config_path, err, sizeof(err), log_config_warning) < 0) {
		if (config_given || access(config_path, F_OK) == 0) {
			fprintf(stderr, "imwired: %s\n", err);
			return 1;
		}
		config_free(&dc.cfg);
		config_init(&dc.cfg); /* no default config file: defaults */
	}
	dc.policy = load_policy(&dc.cfg, err, sizeof(err));
	if (!dc.policy) {
		fprintf(stderr, "imwired: %s\n", err);
		return 1;
	}
	dc.router = router_new(&dc.cfg, tap ? 1 : last - first + 1, err, sizeof(err));
	if (!dc.router) {
		fprintf(stderr, "imwired: %s\n", err);
		return 1;
	}
	egress_init(&dc.egress);
	/* A copy: a reload replaces the configuration the value lives in. */
	if (!pidfile)
		pidfile = config_get(&dc.cfg, "pidfilename");
	pidfile_owned = pidfile ? strdup(pidfile) : NULL;
	if (pidfile && !pidfile_owned)
		return 1;
	pidfile = pidfile_owned;
	memset(&ss, 0, sizeof(ss));
	pthread_mutex_init(&ss.lock, NULL);
	if (open_sinks(&ss, &dc.cfg, foreground) < 0)
		return 1;
	if (!foreground) {
		log_to_stderr = false;
		openlog("imwired", LOG_PID, LOG_DAEMON);
		if (daemonize() < 0) {
			log_msg(LOG_ERR, "cannot daemonize: %s", strerror(errno));
			return 1;
		}
	}
	if (shared_sinks_start(&ss) < 0)
		return 1;
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			log_msg(LOG_ERR, "%s: cannot write pid file", pidfile);
			return 1;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (n_attach && classifier_attach(classifier_pin_dir(), attach, n_attach, err,
					  sizeof(err)) < 0) {
		log_msg(LOG_ERR, "--attach: %s", err);
		return 1;
	}
	if (!tap) {
		dc.heartbeat_fd = classifier_heartbeat_open(classifier_pin_dir(), err, sizeof(err));
		if (dc.heartbeat_fd >= 0)
			log_msg(LOG_INFO, "classifier heartbeat in %s", classifier_pin_dir());
		if (bpf_publish_open(&dc.publish, classifier_pin_dir()) == 0)
			log_msg(LOG_INFO, "edited flows' offsets go to the classifier");
	}
	if (!tap) {
		const char *stats = config_get(&dc.cfg, "stats_file");

		/* made now, while root, and handed to user= if set */
		if (stats_prepare_dir(stats ? stats : STATS_DEFAULT_PATH, config_get(&dc.cfg, "user"),
				      err, sizeof(err)) < 0)
			log_msg(LOG_ERR, "statistics: %s", err);
	}
	/* Local routing and bots send segments of their own: the raw sockets
	 * need CAP_NET_RAW, which a privilege drop gives up. */
	if (!tap && router_active(dc.router) && egress_open(&dc.egress, err, sizeof(err)) < 0)
		log_msg(LOG_ERR, "local routing and bots cannot send: %s", err);
	/* Set-up that needs root is done: become the configured user (as
	 * IMSpector's user=/group=), keeping only what the queue or the tap
	 * still needs. Workers start after this and inherit it. */
	if (config_get(&dc.cfg, "user")) {
		if (privileges_drop(config_get(&dc.cfg, "user"), config_get(&dc.cfg, "group"), !tap,
				    tap != NULL, err, sizeof(err)) < 0) {
			log_msg(LOG_ERR, "%s", err);
			return 1;
		}
		log_msg(LOG_INFO, "running as user %s with %s only", config_get(&dc.cfg, "user"),
			tap ? "CAP_NET_RAW" : "CAP_NET_ADMIN");
	}
	if (tap)
		status = run_tap(tap, &dc.cfg, &ss);
	else
		status = run_queues(&dc, &ss, first, last);

	if (dc.heartbeat_fd >= 0) {
		/* a clean stop ends the beats at once: no timeout to wait out */
		classifier_heartbeat_stop(dc.heartbeat_fd);
		close(dc.heartbeat_fd);
	}
	bpf_publish_close(&dc.publish);
	for (i = 0; i < ss.n; i++)
		sink_close(&ss.sinks[i]);
	if (ss.failed)
		log_msg(LOG_ERR, "%llu event writes failed", (unsigned long long)ss.failed);
	if (pidfile)
		unlink(pidfile);
	free(pidfile_owned);
	policy_unref(dc.policy);
	router_free(dc.router);
	egress_close(&dc.egress);
	config_free(&dc.cfg);
	log_msg(LOG_INFO, "stopped");
	return status;
}
