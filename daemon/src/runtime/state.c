/* The shared part of the runtime: configuration and what decides events,
 * loaded at start and replaced whole on a reload; the claim on the
 * classifier's pin directory; the set-up that needs root. */
#include "runtime/runtime.h"
#include "runtime/runtime_internal.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config/config_files.h"
#include "files/files.h"
#include "nfq/nfq_proc.h"
#include "sink/sink_writer.h"
#include "stats/stats_file.h"

/* The configuration file, or the built-in defaults where allowed. */
static int load_config(struct runtime *rt, const struct runtime_options *o, char *err,
		       size_t err_size)
{
	if (config_load(&rt->cfg, rt->path, err, err_size, rt->warn) == 0)
		return 0;
	if (o->config_required || access(rt->path, F_OK) == 0)
		return -1;
	if (!o->defaults_ok) {
		snprintf(err, err_size,
			 "%s: no such configuration file: give one with -c FILE, or start with "
			 "--defaults to run on the built-in defaults",
			 rt->path);
		return -1;
	}
	config_free(&rt->cfg);
	config_init(&rt->cfg); /* --defaults: no file */
	return 0;
}

/* This instance's lock, then what the daemon user will write, made while
 * we are root; nothing is touched before the lock is ours. */
static int take_instance(struct runtime *rt, const struct runtime_options *o,
			 struct config_report *r, char *err, size_t err_size)
{
	char pidfile[4096];

	if (fs_owner_of(&rt->owner, config_get(&rt->cfg, "user"), config_get(&rt->cfg, "group"), err,
			err_size) < 0)
		return -1;
	pidfile_path_of(&rt->cfg, o->pidfile, pidfile, sizeof(pidfile));
	if (pidfile_lock(&rt->pidfile, pidfile, &rt->owner, err, err_size) < 0)
		return -1;
	if (!runtime_paths_of(&rt->paths, &rt->cfg, pidfile)) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	runtime_paths_prepare(&rt->paths, &rt->owner, r);
	return 0;
}

int runtime_load(struct runtime *rt, const struct runtime_options *o, char *err,
		 size_t err_size)
{
	struct config_first_error fe;
	struct config_report r;

	memset(rt, 0, sizeof(*rt));
	pthread_mutex_init(&rt->lock, NULL);
	pthread_mutex_init(&rt->reload_lock, NULL);
	rt->claim.sock_fd = rt->claim.map_fd = rt->claim.owner_fd = -1;
	rt->publish.xlate_fd = -1;
	rt->pidfile.fd = -1;
	rt->steer.map_fd = -1;
	rt->path = o->config_path;
	rt->tap = o->tap;
	rt->first = o->first;
	rt->last = o->last;
	rt->log = o->log;
	rt->warn = o->warn;
	egress_init(&rt->egress);
	rt->queue_proc_fd = -1;
	runtime_paths_init(&rt->paths);
	config_init(&rt->cfg);
	if (load_config(rt, o, err, err_size) < 0)
		return -1;
	/* queues= of the configuration, unless told otherwise */
	if (!o->queues_given && config_get(&rt->cfg, "queues"))
		config_parse_queues(config_get(&rt->cfg, "queues"), &rt->first, &rt->last);
	if (rt->tap)
		rt->last = rt->first;
	config_report_first_error(&r, &fe, err, err_size, rt->warn);
	if (take_instance(rt, o, &r, err, err_size) < 0)
		return -1;
	if (route_setup_load_report(&rt->setup, &rt->cfg, POLICY_LIVE, rt->last - rt->first + 1,
				    &r) < 0)
		return -1;
	rt->svc = service_new(rt->last - rt->first + 1);
	if (!rt->svc) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	return 0;
}

int runtime_daemonized(struct runtime *rt)
{
	if (pidfile_write(&rt->pidfile, getpid()) < 0) {
		rt->log(LOG_ERR, "%s: cannot write the pid file: %s", rt->pidfile.path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* One pin directory per instance: refused here, where the terminal still
 * sees it, when a live daemon holds it (the claim in runtime_prepare,
 * after daemonizing, settles a race between two starting at once). */
int runtime_hold_pins(struct runtime *rt)
{
	unsigned holder;
	char err[512];

	if (rt->tap)
		return 0;
	rt->pin_dir = classifier_pin_dir(config_get(&rt->cfg, "bpf_pin_dir"), rt->pin_buf,
					 sizeof(rt->pin_buf));
	if (!rt->pin_dir)
		rt->log(LOG_ERR, "cannot tell this network namespace (no /proc?): no classifier; "
				 "set bpf_pin_dir=");
	if (rt->pin_dir && classifier_holder(rt->pin_dir, &holder, err, sizeof(err)) == 1) {
		rt->log(LOG_ERR,
			"%s is held by a live imwired (pid %u): stop it, or give this instance a "
			"directory of its own (bpf_pin_dir= or IMWIRE_PIN_DIR)",
			rt->pin_dir, holder);
		return -1;
	}
	return 0;
}

#define DEFAULT_MAX_AGE_SECONDS 3600

/* The state file of this instance: handover_file=, else beside the
 * statistics in the runtime directory, one per pin directory:
 * /run/imwire/<the pin directory's last name>/handover. */
static const char *handover_path(struct runtime *rt, char *buf, size_t size)
{
	const char *v = config_get(&rt->cfg, "handover_file"), *base;

	if (v && v[0])
		return v;
	base = strrchr(rt->pin_dir, '/');
	base = base && base[1] ? base + 1 : rt->pin_dir;
	snprintf(buf, size, "/run/imwire/%s/handover", base);
	return buf;
}

/* Opened while root and before any sandbox: workers only write into the
 * mapping. Without it edited flows still survive us (the classifier has
 * their offsets); what is lost is the bytes of edits not acknowledged at
 * a crash, and the sessions' identities. */
static void open_handover(struct runtime *rt)
{
	const char *v = config_get(&rt->cfg, "handover_file_size"), *idle;
	size_t size = v ? (size_t)strtoull(v, NULL, 10) : STATE_FILE_DEFAULT_SIZE;
	double max_age = DEFAULT_MAX_AGE_SECONDS;
	char path[4096], err[512];
	struct handover_stats hs;
	struct state_file_stats fs;

	if ((idle = config_get(&rt->cfg, "idle_timeout")) && strtod(idle, NULL) > 0)
		max_age = strtod(idle, NULL);
	if (handover_open(&rt->handover, handover_path(rt, path, sizeof(path)), size, max_age, err,
			  sizeof(err)) < 0) {
		rt->log(LOG_ERR, "%s: a successor will lack the bytes of live edits", err);
		return;
	}
	handover_get_stats(&rt->handover, &hs, &fs);
	rt->log(LOG_INFO,
		"state file %s: %llu flows left by a predecessor to take over (%llu torn or "
		"malformed records ignored, %llu expired)",
		path, (unsigned long long)hs.inherited,
		(unsigned long long)(fs.torn + hs.malformed), (unsigned long long)hs.expired);
}

/* The claim is prepared now and taken once the queues are bound
 * (runtime_claim), its socket then moved above their descriptors: a
 * dying process lets go of its highest descriptor first (util/fd_order.h),
 * so the classifier takes over before the queues unbind. */
static int claim_pins(struct runtime *rt)
{
	char err[512];

	if (!rt->pin_dir)
		return 0;
	if (classifier_claim_prepare(rt->pin_dir, &rt->claim, err, sizeof(err)) < 0) {
		if (errno != EEXIST)
			return 0; /* no classifier loaded there */
		rt->log(LOG_ERR, "%s", err);
		return -1;
	}
	if (bpf_publish_open(&rt->publish, rt->pin_dir) == 0) {
		rt->log(LOG_INFO, "edited flows' translation goes to the classifier");
		open_handover(rt);
	}
	return 0;
}

int runtime_claim(struct runtime *rt)
{
	char err[512];

	if (rt->claim.sock_fd < 0)
		return 0;
	if (classifier_claim_take(&rt->claim, err, sizeof(err)) < 0) {
		rt->log(LOG_ERR, "%s", err);
		classifier_release(&rt->claim);
		return -1;
	}
	rt->log(LOG_INFO, "holding the classifier's pin directory %s", rt->pin_dir);
	return 0;
}

/* The file stage's shared part (files_dir made while root) and, inline,
 * the steering of the connections file offers announce. */
/* The path the sandbox allows for key (runtime_paths_add), or NULL. */
static const char *allowed_path(const struct runtime_paths *ps, const char *key)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].key, key) == 0)
			return ps->p[i].path;
	return NULL;
}

static void prepare_files(struct runtime *rt)
{
	struct files_config fc;
	char err[512];

	files_config_defaults(&fc);
	config_apply_files(&rt->cfg, &fc);
	if (!fc.follow)
		return;
	/* A file waiting for clamd is spooled where the sandbox lets the
	 * daemon write: files_dir when set, else the instance's spool (not
	 * $TMPDIR or /tmp, which the sandbox refuses). */
	if (!fc.spool_dir && !(fc.dir && fc.dir[0]))
		fc.spool_dir = allowed_path(&rt->paths, "spool_dir");
	rt->files = files_shared_new(&fc, err, sizeof(err));
	if (!rt->files) {
		rt->log(LOG_ERR, "file transfers are not followed: %s", err);
		return;
	}
	/* files_dir under the archive's retention. The writer owns when
	 * (its requests: at the start, every retention_interval, with the
	 * legal hold it holds), the file store owns its directory and the
	 * size it counts: so the writer hands each request to the store, on
	 * the writer's thread, and no worker stops for a pass nor calls up
	 * to the writer. */
	if (rt->writer && fc.dir && fc.dir[0])
		sink_writer_set_retention_hook(rt->writer, files_retain_logged, rt->files);
	if (!rt->tap && rt->pin_dir && expect_steer_open(&rt->steer, rt->pin_dir) == 0) {
		expect_steer_follow(&rt->steer, files_shared_expect(rt->files));
		rt->log(LOG_INFO, "connections file offers announce are steered by the classifier");
	}
}

static int service_reload(void *arg, char *msg, size_t msg_size)
{
	return runtime_reload(arg, msg, msg_size);
}

int runtime_prepare(struct runtime *rt, struct sink *writer)
{
	struct service_sources src = { runtime_snapshots, service_reload, rt, writer,
				       rt->last - rt->first + 1 };
	char err[512];

	rt->writer = writer;
	if (claim_pins(rt) < 0 || (rt->tap && runtime_tap_open(rt) < 0))
		return -1;
	prepare_files(rt);
	/* Notices, local deliveries and bots send segments of their own: the
	 * raw sockets need CAP_NET_RAW, which the drop of privileges gives up,
	 * and a reload may switch any of them on later. So, inline, always. */
	if (!rt->tap && egress_open(&rt->egress, err, sizeof(err)) < 0)
		rt->log(LOG_ERR, "notices, local routing and bots cannot send: %s", err);
	if (!rt->tap && (rt->queue_proc_fd = nfqueue_proc_open()) < 0)
		rt->log(LOG_WARNING, "%s: %s: the kernel's drops of queued packets are not counted",
			NFQUEUE_PROC_PATH, strerror(errno));
	/* The control socket and the metrics: after any fork, while still root. */
	if (service_start(rt->svc, &rt->cfg, &src, rt->log, err, sizeof(err)) < 0) {
		rt->log(LOG_ERR, "%s", err);
		return -1;
	}
	return 0;
}

void runtime_stop(struct runtime *rt)
{
	struct bpf_publish *p = &rt->publish;
	struct handover_stats hs;
	struct state_file_stats fs;

	classifier_release(&rt->claim);
	/* the writer outlives rt->files here and there: no pass after this */
	if (rt->writer && rt->files)
		sink_writer_set_retention_hook(rt->writer, NULL, NULL);
	if (rt->handover.open) {
		handover_get_stats(&rt->handover, &hs, &fs);
		rt->log(LOG_INFO,
			"state file: %llu records written, %llu without room, %llu in use; %llu of %llu "
			"inherited flows taken over, %llu stale, %llu expired, %llu malformed",
			(unsigned long long)hs.written, (unsigned long long)hs.full,
			(unsigned long long)(fs.written + fs.loaded - fs.freed),
			(unsigned long long)hs.taken, (unsigned long long)hs.inherited,
			(unsigned long long)hs.stale, (unsigned long long)hs.expired,
			(unsigned long long)hs.malformed);
		handover_close(&rt->handover);
	}
	if (p->xlate_fd >= 0)
		rt->log(LOG_INFO,
			"classifier: %llu flow directions published, %llu refused (xlate map full), "
			"%llu with more live edits than it holds, %llu errors, %llu idle reaped",
			(unsigned long long)p->published, (unsigned long long)p->full,
			(unsigned long long)p->overflowed, (unsigned long long)p->errors,
			(unsigned long long)p->reaped);
	bpf_publish_close(p);
}

void runtime_free(struct runtime *rt)
{
	if (rt->capture)
		pcap_close(rt->capture);
	expect_steer_close(&rt->steer);
	files_shared_free(rt->files);
	rt->files = NULL;
	route_setup_free(&rt->setup);
	egress_close(&rt->egress);
	if (rt->queue_proc_fd >= 0)
		close(rt->queue_proc_fd);
	rt->queue_proc_fd = -1;
	service_free(rt->svc);
	config_free(&rt->cfg);
	runtime_paths_free(&rt->paths);
	pidfile_release(&rt->pidfile);
	pthread_mutex_destroy(&rt->reload_lock);
	pthread_mutex_destroy(&rt->lock);
}
