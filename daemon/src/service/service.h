/* What imwired runs beside its workers for the service manager and the
 * operator: sd_notify (READY once every queue is bound, STATUS= with the
 * counters, WATCHDOG=1 while every worker goes round its loop, STOPPING),
 * the Prometheus exposition (metrics_listen=, metrics_textfile=), the
 * control socket (control_socket=) and its event tap. The daemon wires it
 * with a few calls; all it needs from the daemon comes through
 * service_sources. */
#ifndef IMW_SERVICE_H
#define IMW_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "flow/flow.h"
#include "sink/sink.h"
#include "stats/stats_file.h"

typedef void (*service_log_fn)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct service_sources {
	/* A copy of the workers' last snapshots (malloc'd array, *n of them),
	 * taken under the daemon's lock. 0, or -1. */
	int (*snapshots)(void *arg, struct stats_snapshot **snaps, size_t *n);
	/* Re-read the configuration now: 0 when taken, -1 when refused; msg
	 * says which and why. May be NULL (then reload is a SIGHUP to self). */
	int (*reload)(void *arg, char *msg, size_t msg_size);
	void *arg;
	/* The writer sink, for its counters (may be NULL). */
	struct sink *writer;
	unsigned n_workers;
};

struct service;

/* The service and its event tap; NULL on allocation failure. */
struct service *service_new(unsigned n_workers);
/* The tap as a sink to add to the writer (before the writer starts). */
int service_tap_sink(struct service *s, struct sink *out);
/* The control socket and the metrics server as the configuration says,
 * after daemonizing (threads do not survive a fork) and before dropping
 * root (the socket directory, a low port). A control socket that cannot
 * be had (another daemon answers there) is logged and done without; a
 * metrics address that cannot be had is -1 with a reason in err. */
int service_start(struct service *s, const struct imw_config *cfg,
		  const struct service_sources *src, service_log_fn log, char *err,
		  size_t err_size);

/* A worker, between two packets, on its own thread: it is alive, and it
 * answers a pending `imwire sessions` with the IM sessions of its table. */
void service_worker_loop(struct service *s, unsigned worker, const struct flow_table *t);
/* A worker has bound its queue (or the tap is open). */
void service_worker_ready(struct service *s);

/* About once a second, from the main loop: READY=1 once every worker is
 * ready, STATUS=, WATCHDOG=1 while every worker went round its loop
 * within half the watchdog's interval, the metrics textfile. */
void service_tick(struct service *s);
/* SIGHUP handled: RELOADING/READY and the result for the status line. */
void service_reloaded(struct service *s, bool ok);
/* STOPPING=1, then stop serving; safe on NULL. */
void service_stop(struct service *s);
void service_free(struct service *s);

#endif
