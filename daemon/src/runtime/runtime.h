/* imwired's runtime: the configuration the workers share, one worker
 * thread per NFQUEUE queue (each owns an inline engine and so the flows of
 * its queue), reloads (SIGHUP, `imwire reload`), the claim on the
 * classifier's pin directory, statistics published about once a second,
 * the service beside the workers (sd_notify, metrics, the control socket:
 * service/service.h); or, with --tap, one passive decoder of a mirror
 * port. cli/imwired.c parses the arguments, opens the sinks, daemonizes and
 * starts this, in the order:
 *
 *	runtime_load, runtime_hold_pins, (daemonize), runtime_prepare,
 *	runtime_confine, (start the writer), runtime_run_queues or
 *	runtime_run_tap, runtime_stop, (close the sinks), runtime_free
 *
 * Threads: the caller's thread runs runtime_run_queues (statistics,
 * reloads, the service's tick); each worker reads the shared part under
 * runtime.lock only between two packets. */
#ifndef IMW_RUNTIME_H
#define IMW_RUNTIME_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "classifier/classifier.h"
#include "classifier/expect_steer.h"
#include "config/config.h"
#include "egress/egress.h"
#include "files/files.h"
#include "inline/bpf_publish.h"
#include "inline/handover.h"
#include "route/router.h"
#include "runtime/paths.h"
#include "runtime/pidfile.h"
#include "service/service.h"
#include "sink/sink.h"
#include "util/fs_owned.h"

typedef void (*runtime_log_fn)(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct runtime_options {
	const char *config_path;
	bool config_required;  /* -c given: a missing file is an error */
	bool defaults_ok;      /* --defaults: no default file is the built-in defaults */
	const char *pidfile;   /* --pidfile, or NULL: pidfile_path_of's */
	const char *tap;       /* --tap IFACE, or NULL: queues */
	bool queues_given;     /* --queue given: queues= of the configuration is not asked */
	unsigned first, last;
	runtime_log_fn log;
	/* What the configuration and the lists it names warn of (keys that do
	 * nothing inline, a table left alone), at start and on reloads. */
	config_warn_fn warn;
};

struct worker;

struct runtime {
	pthread_mutex_t lock;
	unsigned generation;      /* bumped by every reload that took */
	struct imw_config cfg;
	struct route_setup setup; /* policy, router, table: what decides events */
	const char *path;         /* the configuration file, for reloads */
	/* This instance's pid file, locked while we run: one daemon per
	 * configuration. */
	struct pidfile pidfile;
	/* Who gets what the daemon makes while root (user=, group=), and
	 * every path it writes or reads again: made before the drop, and all
	 * the sandbox lets it touch after. */
	struct fs_owner owner;
	struct runtime_paths paths;
	const char *tap;
	unsigned first, last;     /* the queues (first == last with --tap) */
	/* The classifier's pin directory (NULL with --tap, or when this
	 * network namespace cannot be told), and our claim on it: while we
	 * hold it the classifier steers edited flows to us; once we exit or
	 * die it translates them itself, from the very next packet. */
	const char *pin_dir;
	char pin_buf[512];
	struct classifier_claim claim;
	/* The classifier's xlate map, where edited flows' offsets go so they
	 * survive us (publishing is a no-op without a classifier). */
	struct bpf_publish publish;
	/* --tap: the capture, opened while still root (pcap_t). */
	struct pcap *capture;
	int capture_dlt;
	/* The state file (handover_file=): the bytes of edited flows' live
	 * edits and their sessions, for a successor; what a predecessor left
	 * is taken over flow by flow (inline/handover.h). Only with a
	 * classifier. */
	struct handover handover;
	/* The order of a start and a planned stop (workers.c): the queues are
	 * bound before the claim is taken; at a stop the workers hand over
	 * (hand_over), the claim is released, then they drain, give the
	 * verdicts still due and exit (quit). Atomic. */
	int hand_over;
	int quit;
	/* Sockets for segments we originate, opened while still root; each
	 * worker sends through them with its own counters. */
	struct egress egress;
	/* The kernel's counts of our queues (nfq/nfq_proc.h), opened while
	 * root and before the sandbox; -1 when it cannot be read. */
	int queue_proc_fd;
	/* File transfers (#20): what the workers share (expectations, the
	 * store, the scanner), NULL with files=off; and the steering of the
	 * connections offers announce into the kernel classifier. Fixed at
	 * start: a reload does not change them. */
	struct files_shared *files;
	struct expect_steer steer;
	struct service *svc;
	struct worker *workers;   /* while runtime_run_queues runs, for snapshots */
	size_t n_workers;
	pthread_mutex_t reload_lock; /* SIGHUP and `imwire reload` one at a time */
	runtime_log_fn log;
	config_warn_fn warn;
	/* Where every event goes (the sinks); thread-safe. */
	proto_emit_fn write_event;
	void *write_arg;
	/* The writer (sink/sink_writer.h), when the sinks are behind one: a
	 * worker then hands each burst's events over at once, before the
	 * burst's verdicts. Set by runtime_prepare. */
	struct sink *writer;
	/* Set by the signal handlers of the caller. */
	volatile sig_atomic_t *stop;
	volatile sig_atomic_t *reload;
	volatile sig_atomic_t *reopen; /* SIGUSR1: log files again, by name */
};

/* Loads the configuration (a missing default file is an error unless
 * defaults_ok), takes the queues from queues= unless given, locks this
 * instance's pid file (a second daemon on the same configuration stops
 * here, told the first one's pid), makes the directories and files the
 * daemon user will write (paths.h), builds what decides events and the
 * service. -1 with the first problem in err. */
/* On failure rt still holds what was loaded: runtime_free it. */
int runtime_load(struct runtime *rt, const struct runtime_options *o, char *err,
		 size_t err_size);

/* After daemonizing: the pid file names the daemon's final pid. */
int runtime_daemonized(struct runtime *rt);

/* SIGUSR1 (and every reload): the daemon's log file by its name again,
 * so that logrotate's mv + signal works. */
void runtime_reopen(struct runtime *rt);

/* The pin directory of this instance; -1 (logged) when a live imwired
 * holds it. Before daemonizing, where the terminal still sees it. */
int runtime_hold_pins(struct runtime *rt);

/* The set-up that needs root, after daemonizing and before privileges are
 * dropped: the claim on the pin directory prepared, the xlate map and the
 * state file opened (queues only; the claim is taken once the queues are
 * bound, in runtime_run_queues),
 * the statistics directory, the sockets local routing and bots send
 * through, the service (writer: the writer sink, for its counters). -1
 * (logged) when the daemon must not go on. */
int runtime_prepare(struct runtime *rt, struct sink *writer);

/* Set-up that needs root is done: become user= (keeping only what the
 * queue or the tap still needs), then enter the sandbox (sandbox.h)
 * unless sandbox=off, on this thread before any other starts: every
 * thread is in it. -1 (logged) when the daemon must not go on. */
int runtime_confine(struct runtime *rt);

/* One worker per queue until *stop, then the planned stop: every worker
 * hands over what a successor needs, the claim goes, the workers drain
 * their queues and give every verdict still due. 0, or 1 when a worker
 * failed. */
int runtime_run_queues(struct runtime *rt);

/* Decode a mirror port passively until *stop: no verdicts. The sinks are
 * moved in (*n_sinks becomes 0) and closed at the end. */
int runtime_run_tap(struct runtime *rt, struct sink *sinks, size_t *n_sinks);

/* The classifier takes edited flows over from the next packet on. */
void runtime_stop(struct runtime *rt);
/* Everything else, once the sinks are closed (the service's tap is one). */
void runtime_free(struct runtime *rt);

#endif
