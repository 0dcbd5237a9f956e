/* imwired's runtime: the configuration the workers share, one worker
 * thread per NFQUEUE queue (each owns an inline engine and so the flows of
 * its queue), reloads on SIGHUP, the classifier's heartbeat, statistics
 * published about once a second; or, with --tap, one passive decoder of a
 * mirror port. cli/imwired.c parses the arguments, opens the sinks and
 * starts this.
 *
 * Threads: the caller's thread runs runtime_run_queues (heartbeat,
 * statistics file, reloads); each worker reads the shared part under
 * runtime.lock only between two packets. */
#ifndef IMW_RUNTIME_H
#define IMW_RUNTIME_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "classifier/expect_steer.h"
#include "config/config.h"
#include "egress/egress.h"
#include "files/files.h"
#include "inline/bpf_publish.h"
#include "route/router.h"
#include "sink/sink.h"

typedef void (*runtime_log_fn)(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct runtime {
	pthread_mutex_t lock;
	unsigned generation;     /* bumped by every reload that took */
	struct imw_config cfg;
	struct route_setup setup; /* policy, router, table: what decides events */
	const char *path;        /* the configuration file, for reloads */
	int heartbeat_fd;        /* the classifier's pinned heartbeat map, or -1 */
	/* The classifier's flow map, where collapsed seq offsets go so edited
	 * flows survive us (publishing is a no-op without a classifier). */
	struct bpf_publish publish;
	/* Sockets for segments we originate, opened while still root; each
	 * worker sends through them with its own counters. */
	struct egress egress;
	/* File transfers (#20): what the workers share (expectations, the
	 * store, the scanner), NULL with files=off; and the steering of the
	 * connections offers announce into the kernel classifier. Fixed at
	 * start: a reload does not change them. */
	struct files_shared *files;
	struct expect_steer steer;
	runtime_log_fn log;
	/* What the configuration and the lists it names warn of (keys that do
	 * nothing inline, a table left alone), at start and on reloads. */
	config_warn_fn warn;
	/* Where every event goes (the sinks); thread-safe. */
	proto_emit_fn write_event;
	void *write_arg;
	/* Set by the signal handlers of the caller. */
	volatile sig_atomic_t *stop;
	volatile sig_atomic_t *reload;
};

/* Loads path (a missing file is the defaults unless required) and builds
 * what decides events for n_workers; warnings go to warn. -1 with the
 * first problem in err. */
int runtime_load(struct runtime *rt, const char *path, bool required, unsigned n_workers,
		 runtime_log_fn log, config_warn_fn warn, char *err, size_t err_size);
void runtime_free(struct runtime *rt);

/* The set-up that needs root, before privileges are dropped: the
 * classifier's heartbeat and flow map (queues only), the statistics
 * directory, and the sockets local routing and bots send through. */
void runtime_prepare(struct runtime *rt, bool tap);

/* One worker per queue first..last until *stop. 0, or 1 when a worker
 * failed. */
int runtime_run_queues(struct runtime *rt, unsigned first, unsigned last);

/* Decode a mirror port passively until *stop: no verdicts. The sinks are
 * moved in (*n_sinks becomes 0) and closed at the end. */
int runtime_run_tap(struct runtime *rt, const char *iface, struct sink *sinks, size_t *n_sinks);

#endif
