/* The shared part of the runtime: configuration and what decides events,
 * loaded at start and replaced whole on a reload, and the set-up that
 * needs root. */
#include "runtime/runtime.h"
#include "runtime/runtime_internal.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "classifier/classifier.h"
#include "config/config_files.h"
#include "stats/stats_file.h"

int runtime_load(struct runtime *rt, const char *path, bool required, unsigned n_workers,
		 runtime_log_fn log, config_warn_fn warn, char *err, size_t err_size)
{
	struct config_first_error fe;
	struct config_report r;

	memset(rt, 0, sizeof(*rt));
	pthread_mutex_init(&rt->lock, NULL);
	rt->heartbeat_fd = -1;
	rt->publish.flows_fd = -1;
	rt->steer.map_fd = -1;
	rt->path = path;
	rt->log = log;
	rt->warn = warn;
	egress_init(&rt->egress);
	config_init(&rt->cfg);
	if (config_load(&rt->cfg, path, err, err_size, warn) < 0) {
		if (required || access(path, F_OK) == 0)
			return -1;
		config_free(&rt->cfg);
		config_init(&rt->cfg); /* no default config file: defaults */
	}
	config_report_first_error(&r, &fe, err, err_size, warn);
	return route_setup_load_report(&rt->setup, &rt->cfg, POLICY_LIVE, n_workers, &r);
}

void runtime_free(struct runtime *rt)
{
	if (rt->heartbeat_fd >= 0) {
		/* a clean stop ends the beats at once: no timeout to wait out */
		classifier_heartbeat_stop(rt->heartbeat_fd);
		close(rt->heartbeat_fd);
	}
	bpf_publish_close(&rt->publish);
	expect_steer_close(&rt->steer);
	files_shared_free(rt->files);
	rt->files = NULL;
	route_setup_free(&rt->setup);
	egress_close(&rt->egress);
	config_free(&rt->cfg);
	pthread_mutex_destroy(&rt->lock);
}

/* The file stage's shared part (files_dir made while root) and, inline,
 * the steering of announced connections. */
static void runtime_prepare_files(struct runtime *rt, bool tap)
{
	struct files_config fc;
	char err[512];

	files_config_defaults(&fc);
	config_apply_files(&rt->cfg, &fc);
	if (!fc.follow)
		return;
	rt->files = files_shared_new(&fc, err, sizeof(err));
	if (!rt->files) {
		rt->log(LOG_ERR, "file transfers are not followed: %s", err);
		return;
	}
	if (!tap && expect_steer_open(&rt->steer, classifier_pin_dir()) == 0) {
		expect_steer_follow(&rt->steer, files_shared_expect(rt->files));
		rt->log(LOG_INFO, "connections file offers announce are steered by the classifier");
	}
}

void runtime_prepare(struct runtime *rt, bool tap)
{
	const char *stats = config_get(&rt->cfg, "stats_file");
	char err[512];

	if (!tap) {
		rt->heartbeat_fd = classifier_heartbeat_open(classifier_pin_dir(), err, sizeof(err));
		if (rt->heartbeat_fd >= 0)
			rt->log(LOG_INFO, "classifier heartbeat in %s", classifier_pin_dir());
		if (bpf_publish_open(&rt->publish, classifier_pin_dir()) == 0)
			rt->log(LOG_INFO, "edited flows' offsets go to the classifier");
		/* made now, while root, and handed to user= if set */
		if (stats_prepare_dir(stats ? stats : STATS_DEFAULT_PATH, config_get(&rt->cfg, "user"),
				      err, sizeof(err)) < 0)
			rt->log(LOG_ERR, "statistics: %s", err);
	}
	runtime_prepare_files(rt, tap);
	/* Local routing and bots send segments of their own: the raw sockets
	 * need CAP_NET_RAW, which a privilege drop gives up. */
	if (!tap && router_active(rt->setup.router) && egress_open(&rt->egress, err, sizeof(err)) < 0)
		rt->log(LOG_ERR, "local routing and bots cannot send: %s", err);
}

/* Configuration, lists and routing settings are replaced together or not
 * at all; workers take the new table between two packets. */
void runtime_reload(struct runtime *rt)
{
	struct imw_config fresh;
	struct policy *policy = NULL, *replaced;
	struct route_table *table = NULL, *old_table;
	struct config_first_error fe;
	struct config_report r;
	char err[512];

	config_init(&fresh);
	config_report_first_error(&r, &fe, err, sizeof(err), rt->warn);
	if (config_load(&fresh, rt->path, err, sizeof(err), NULL) < 0 ||
	    !(policy = policy_new_report(&fresh, POLICY_LIVE, &r)) ||
	    !(table = route_table_build(policy, rt->setup.router)) ||
	    router_reload(rt->setup.router, &fresh, err, sizeof(err)) < 0) {
		if (policy && !table)
			snprintf(err, sizeof(err), "out of memory");
		rt->log(LOG_ERR, "reload failed, keeping the old configuration: %s", err);
		route_table_unref(table);
		policy_unref(policy);
		config_free(&fresh);
		return;
	}
	pthread_mutex_lock(&rt->lock);
	config_free(&rt->cfg);
	rt->cfg = fresh;
	replaced = rt->setup.policy;
	rt->setup.policy = policy;
	old_table = rt->setup.table;
	rt->setup.table = table;
	rt->generation++;
	pthread_mutex_unlock(&rt->lock);
	policy_take_history(policy, replaced);
	route_table_unref(old_table);
	policy_unref(replaced);
	rt->log(LOG_INFO, "configuration reloaded from %s", rt->path);
}
