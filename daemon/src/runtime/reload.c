/* SIGHUP and `imwire reload`: the whole configuration again, and every key
 * that can change at run time applied (policy and lists, routing, sinks,
 * protocols, local_nets, limits, hold and MSS settings); keys read only at
 * start are named in the log, not silently kept. SIGUSR1: the log files
 * again by their names. */
#include "runtime/runtime.h"
#include "runtime/runtime_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "archive/purge.h"
#include "sandbox/sandbox.h"
#include "sink/sink_writer.h"
#include "util/daemon_log.h"

/* Read once, at start: a change waits for a restart. */
static const char *const restart_keys[] = {
	"user", "group", "pidfilename", "queues", "queue_overflow", "queue_maxlen",
	"bpf_pin_dir", "spool_dir", "spool_max_bytes", "fsync", "fsync_interval_ms",
	"control_socket", "metrics_listen", "metrics_textfile", "log_file", "sandbox",
	/* the archive's: the writer's chain and its retention schedule */
	"sensor_name", "checkpoint_key", "checkpoint_log", "checkpoint_interval",
	"retention_days", "retention_interval", "compress_after_days",
};

/* Read by `imwire setup`, never by imwired. */
static const char *const setup_keys[] = {
	"bridge", "classifier", "steer_ports", "firewall_backend",
};

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* "queues, user" of the keys whose value changed; "" when none. */
static void changed_keys(const struct imw_config *old, const struct imw_config *fresh,
			 const char *const *keys, size_t n, char *out, size_t size)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (same(config_get(old, keys[i]), config_get(fresh, keys[i])))
			continue;
		len += (size_t)snprintf(out + len, len < size ? size - len : 0, "%s%s", len ? ", " : "",
					keys[i]);
		if (len >= size)
			len = size - 1;
	}
}

/* A path the fresh configuration names that the sandbox refused (the
 * file's owner and mode would allow it): said, and counted, once. */
static void blame_sandbox(const struct imw_config *fresh, char *err, size_t err_size)
{
	struct runtime_paths ps;
	size_t i, len = strlen(err);

	if (!sandbox_active() || !strstr(err, strerror(EACCES)))
		return;
	runtime_paths_init(&ps);
	if (runtime_paths_of(&ps, fresh, NULL)) {
		for (i = 0; i < ps.n; i++) {
			int amode = ps.p[i].use == PATH_READ ? R_OK : W_OK;

			if (sandbox_refused(ps.p[i].path, EACCES, amode)) {
				snprintf(err + len, err_size - len, "; %s=%s%s", ps.p[i].key, ps.p[i].path,
					 SANDBOX_HINT);
				break;
			}
		}
	}
	runtime_paths_free(&ps);
}

/* Whether the start's paths hold p, for the same use. */
static bool named_at_start(const struct runtime_paths *start, const struct runtime_path *p)
{
	size_t i;

	for (i = 0; i < start->n; i++)
		if (start->p[i].use == p->use && strcmp(start->p[i].path, p->path) == 0)
			return true;
	return false;
}

/* Under the sandbox every path of the fresh configuration must be one the
 * configuration named at start, for the same use: Landlock's rules were
 * made from those. Anything else is refused here, before a sink opens it
 * (a database beside a file that was only appended to would open, then
 * fail later without saying why), said and counted. */
static int check_sandbox_paths(const struct runtime *rt, const struct imw_config *fresh,
			       char *err, size_t err_size)
{
	struct runtime_paths ps;
	size_t i;
	int rc = 0;

	if (!sandbox_active())
		return 0;
	runtime_paths_init(&ps);
	if (!runtime_paths_of(&ps, fresh, NULL)) {
		snprintf(err, err_size, "out of memory");
		rc = -1;
	}
	for (i = 0; rc == 0 && i < ps.n; i++) {
		if (named_at_start(&rt->paths, &ps.p[i]))
			continue;
		snprintf(err, err_size, "%s=%s%s", ps.p[i].key, ps.p[i].path, SANDBOX_HINT);
		sandbox_count_refusal();
		rc = -1;
	}
	runtime_paths_free(&ps);
	return rc;
}

/* What the reload builds before anything changes; taken or thrown away
 * whole. */
struct fresh {
	struct imw_config cfg;
	struct policy *policy;
	struct route_table *table;
	struct sink_set sinks;
	bool sinks_open;
	char *hold; /* legal_hold, read again (its file may have changed) */
};

static void fresh_free(struct fresh *f)
{
	free(f->hold);
	route_table_unref(f->table);
	policy_unref(f->policy);
	if (f->sinks_open)
		sink_set_close(&f->sinks);
	config_free(&f->cfg);
}

/* The sinks the fresh configuration names, unless the daemon runs on the
 * default ones (none named at start) or the fresh one names none: which
 * default to use is decided at start. *restart says so. */
static int open_sinks(struct runtime *rt, struct fresh *f, bool *restart, char *err,
		      size_t err_size)
{
	size_t configured = rt->writer ? sink_writer_configured(rt->writer) : 0;

	*restart = false;
	if (!rt->writer)
		return 0;
	if (sink_configured_open(&f->cfg, &f->sinks, err, err_size) < 0)
		return -1;
	f->sinks_open = true;
	if (!configured || !f->sinks.n) {
		*restart = configured != f->sinks.n;
		sink_set_close(&f->sinks);
		f->sinks_open = false;
	}
	return 0;
}

static int build(struct runtime *rt, struct fresh *f, bool *sinks_restart, char *err,
		 size_t err_size)
{
	struct config_first_error fe;
	struct config_report r;

	config_report_first_error(&r, &fe, err, err_size, rt->warn);
	if (config_load(&f->cfg, rt->path, err, err_size, NULL) < 0 ||
	    check_sandbox_paths(rt, &f->cfg, err, err_size) < 0 ||
	    !(f->policy = policy_new_report(&f->cfg, POLICY_LIVE, &r)))
		return -1;
	if (!(f->table = route_table_build(f->policy, rt->setup.router))) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	/* A hold that cannot be read refuses the reload: purging by the old
	 * one would not be what the operator asked. */
	if (purge_hold_load(config_get(&f->cfg, "legal_hold"), &f->hold, err, err_size) < 0 ||
	    open_sinks(rt, f, sinks_restart, err, err_size) < 0)
		return -1;
	/* Last: it changes the live router, and cannot be taken back. */
	return router_reload(rt->setup.router, &f->cfg, err, err_size);
}

/* The built configuration in place; workers take it between packets. */
static void commit(struct runtime *rt, struct fresh *f)
{
	struct policy *replaced;
	struct route_table *old_table;

	pthread_mutex_lock(&rt->lock);
	config_free(&rt->cfg);
	rt->cfg = f->cfg;
	config_init(&f->cfg);
	replaced = rt->setup.policy;
	rt->setup.policy = f->policy;
	old_table = rt->setup.table;
	rt->setup.table = f->table;
	rt->generation++;
	pthread_mutex_unlock(&rt->lock);
	policy_take_history(f->policy, replaced);
	route_table_unref(old_table);
	policy_unref(replaced);
	f->policy = NULL;
	f->table = NULL;
}

/* The sinks: kept ones reopened, new ones added, dropped ones retired. */
static void apply_sinks(struct runtime *rt, struct fresh *f)
{
	struct sink_writer_changes ch;
	char err[256];

	if (!f->sinks_open)
		return;
	if (sink_writer_reconfigure(rt->writer, &f->sinks, false, &ch, err, sizeof(err)) < 0) {
		rt->log(LOG_ERR, "reload: the sinks stay as they were: %s", err);
		return;
	}
	f->sinks_open = false;
	rt->log(LOG_INFO, "reload: sinks: %u reopened, %u added, %u retired%s", ch.kept, ch.added,
		ch.retired, ch.failed ? " (some failed: see above)" : "");
}

static void reopen_log(struct runtime *rt)
{
	char err[512];

	if (daemon_log_reopen(err, sizeof(err)) < 0)
		rt->log(LOG_ERR, "%s: keeping the old file%s", err,
			sandbox_refused(daemon_log_file(), EACCES, W_OK) ? SANDBOX_HINT : "");
}

int runtime_reload(struct runtime *rt, char *msg, size_t msg_size)
{
	struct fresh f;
	char err[1024], restart[256], setup[128];
	bool sinks_restart = false;
	int rc = -1;

	pthread_mutex_lock(&rt->reload_lock);
	memset(&f, 0, sizeof(f));
	config_init(&f.cfg);
	if (build(rt, &f, &sinks_restart, err, sizeof(err)) < 0) {
		blame_sandbox(&f.cfg, err, sizeof(err));
		rt->log(LOG_ERR, "reload failed, keeping the old configuration: %s", err);
		snprintf(msg, msg_size, "refused, the old configuration keeps running: %s", err);
	} else {
		changed_keys(&rt->cfg, &f.cfg, restart_keys,
			     sizeof(restart_keys) / sizeof(restart_keys[0]), restart, sizeof(restart));
		changed_keys(&rt->cfg, &f.cfg, setup_keys, sizeof(setup_keys) / sizeof(setup_keys[0]),
			     setup, sizeof(setup));
		commit(rt, &f);
		apply_sinks(rt, &f); /* which reopens the files of the sinks kept */
		if (rt->writer) {
			sink_writer_take_legal_hold(rt->writer, f.hold);
			f.hold = NULL;
		}
		reopen_log(rt);
		if (sinks_restart)
			snprintf(restart + strlen(restart), sizeof(restart) - strlen(restart),
				 "%sthe sinks (the defaults, used when none is named, are chosen at start)",
				 restart[0] ? ", " : "");
		if (restart[0])
			rt->log(LOG_WARNING, "reload: ignored until restart: %s", restart);
		if (setup[0])
			rt->log(LOG_WARNING, "reload: read by `imwire setup`, not by imwired: %s", setup);
		rt->log(LOG_INFO, "configuration reloaded from %s", rt->path);
		snprintf(msg, msg_size, "configuration reloaded from %s%s%s", rt->path,
			 restart[0] ? "; ignored until restart: " : "", restart);
		rc = 0;
	}
	fresh_free(&f);
	pthread_mutex_unlock(&rt->reload_lock);
	service_reloaded(rt->svc, rc == 0);
	return rc;
}

void runtime_reopen(struct runtime *rt)
{
	struct sink_writer_changes ch;
	struct sink_set set;
	char err[512];

	pthread_mutex_lock(&rt->reload_lock);
	reopen_log(rt);
	if (rt->writer && sink_writer_configured(rt->writer)) {
		if (sink_configured_open(&rt->cfg, &set, err, sizeof(err)) < 0)
			rt->log(LOG_ERR, "reopening the sinks' files: %s; they stay as they were", err);
		else if (sink_writer_reconfigure(rt->writer, &set, true, &ch, err, sizeof(err)) < 0)
			sink_set_close(&set);
		else
			rt->log(LOG_INFO, "log files reopened (%u sink(s) writing files)", ch.kept);
	}
	pthread_mutex_unlock(&rt->reload_lock);
}
