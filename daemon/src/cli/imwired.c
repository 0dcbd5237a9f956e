/* imwired: the inline daemon. This file parses the arguments, opens the
 * sinks, daemonizes, drops privileges and starts the runtime
 * (runtime/runtime.h): one worker thread per NFQUEUE queue, each owning
 * its engine and so the flows of its queue, or with --tap a passive
 * decoder of a mirror port. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "classifier/classifier.h"
#include "config/config.h"
#include "pipeline/pipeline.h"
#include "proto/proto.h"
#include "runtime/runtime.h"
#include "sink/sink_writer.h"
#include "util/daemon_log.h"
#include "util/fs_owned.h"
#include "util/version.h"

#define DEFAULT_DATA_DIR "/var/lib/imwire"
#define DEFAULT_SQLITE_FILE DEFAULT_DATA_DIR "/imwire.db"
#define DEFAULT_SPOOL_DIR DEFAULT_DATA_DIR "/spool"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static volatile sig_atomic_t reopen_requested;

#define log_msg daemon_log

/* A key of IMSpector's that means nothing inline, a responder table left
 * alone: the daemon starts, and says what it does instead. */
static void log_config_warning(const char *msg)
{
	log_msg(LOG_WARNING, "warning: %s", msg);
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == SIGUSR1)
		reopen_requested = 1;
	else
		stop_requested = 1;
}

/* The writer every worker hands its events to (sinks[0]). */
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

/* Every sink sits behind the writer (sink/sink_writer.h): a worker hands
 * its events over once per burst (one write-ahead append), it never waits
 * on a database or a sink's disk. The write-ahead log and the sinks'
 * cursors live in this instance's own spool directory. */
static int open_sinks(struct shared_sinks *ss, struct runtime *rt, bool foreground)
{
	const struct imw_config *cfg = &rt->cfg;
	struct sink_writer_config wc;
	struct sink_db db;
	struct sink s, *w = &ss->sinks[0];
	size_t configured = 0;
	char err[512], spool[4096];

	if (sink_writer_instance_dir(spool, sizeof(spool), DEFAULT_SPOOL_DIR, rt->path) < 0) {
		log_msg(LOG_ERR, "%s: path too long for a spool directory", rt->path);
		return -1;
	}
	sink_writer_config_from(&wc, cfg, spool);
	wc.log = log_msg;
	/* the sandbox lets the writer at its spool, and nothing else of it */
	if (!runtime_paths_add(&rt->paths, "spool_dir", wc.spool_dir, PATH_TREE)) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	if (sink_writer_open(w, &wc, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "spool: %s", err);
		return -1;
	}
	ss->n = 1;
	if (sink_writer_add_configured(w, cfg, &configured, err, sizeof(err)) < 0)
		goto failed_err;
	if (configured)
		return 0;
	/* A new install logs to SQLite with no set-up. */
	if (foreground) {
		if (sink_jsonl_open_stream(&s, stdout, 0) < 0)
			goto failed;
		if (sink_writer_add_sink(w, &s, err, sizeof(err)) < 0)
			goto failed_err;
	}
	/* made now, for user= when made here, as the configured paths are */
	if (!runtime_paths_add(&rt->paths, "sqlite (default)", DEFAULT_SQLITE_FILE, PATH_DATABASE)) {
		snprintf(err, sizeof(err), "out of memory");
		goto failed_err;
	}
	if (fs_make_dirs(DEFAULT_DATA_DIR, 0750, &rt->owner, NULL, err, sizeof(err)) < 0 ||
	    fs_make_file(DEFAULT_SQLITE_FILE, 0640, &rt->owner, err, sizeof(err)) < 0)
		goto failed_err;
	if (sink_db_sqlite_init(&db, DEFAULT_SQLITE_FILE, config_get(cfg, "sensor_name")) < 0 ||
	    sink_db_open(&s, &db, "sqlite " DEFAULT_SQLITE_FILE) < 0) {
		log_msg(LOG_ERR, "%s: out of memory", DEFAULT_SQLITE_FILE);
		goto failed;
	}
	if (sink_writer_add_sink(w, &s, err, sizeof(err)) < 0)
		goto failed_err;
	log_msg(LOG_INFO, "no sink configured: logging to %s", DEFAULT_SQLITE_FILE);
	return 0;
failed_err:
	log_msg(LOG_ERR, "%s", err);
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

/* The process the operator started returns only once the daemon has
 * written its pid file (ready_fd: the daemon writes a byte to it then),
 * so whoever reads the pid file after imwired returns (an init script,
 * systemd's Type=forking, a test) finds the daemon's pid, not the
 * starter's; it returns 1 when the daemon died before. */
static int daemonize(int *ready_fd)
{
	int p[2], fd;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		ssize_t n;

		close(p[1]);
		c = 0;
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == 'R' ? 0 : 1);
	}
	close(p[0]);
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
	*ready_fd = p[1];
	return 0;
}

/* The pid file holds the daemon's pid: the starter may return. */
static void tell_starter(int ready_fd)
{
	ssize_t n;

	do
		n = write(ready_fd, "R", 1);
	while (n < 0 && errno == EINTR);
	close(ready_fd);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: imwired [-c CONFIG | --defaults] [--queue N | --queue N-M] [--tap IFACE]\n"
		     "               [-d] [--pidfile FILE] [--attach IFACE]... | --version\n"
		     "  -c CONFIG      configuration (default %s; without it, an error)\n"
		     "  --defaults     no default configuration file: run on the built-in defaults\n"
		     "  --queue N[-M]  NFQUEUE number or range, one worker each (default 0)\n"
		     "  --tap IFACE    passive: decode a mirror port, no verdicts\n"
		     "  -d             stay in the foreground, log to stderr (and log_file=)\n"
		     "  --pidfile FILE the pid file, locked while the daemon runs (default:\n"
		     "                 pidfilename=, else /run/imwire/imwired.pid or NAME.pid)\n"
		     "  --attach IFACE attach the tc BPF classifier at IFACE's ingress first\n"
		     "                 (repeatable); with the classifier's maps pinned, the\n"
		     "                 daemon holds their directory while it runs\n"
		     "  --version      print the version and exit\n",
		imw_default_config());
}

struct options {
	struct runtime_options rt;
	bool foreground;
	char *attach[64];
	size_t n_attach;
};

/* 0, or the exit status to leave with (0 after --help or --version). */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "queue", required_argument, NULL, 'q' },
		{ "tap", required_argument, NULL, 't' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "attach", required_argument, NULL, 'a' },
		{ "version", no_argument, NULL, 'V' },
		{ "defaults", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->rt.config_path = imw_default_config();
	o->rt.log = log_msg;
	o->rt.warn = log_config_warning;
	while ((c = getopt_long(argc, argv, "c:q:t:p:dha:V", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (o->n_attach == sizeof(o->attach) / sizeof(o->attach[0])) {
				fprintf(stderr, "imwired: --attach: at most 64 interfaces\n");
				return 2;
			}
			o->attach[o->n_attach++] = optarg;
			break;
		case 'c':
			o->rt.config_path = optarg;
			o->rt.config_required = true;
			break;
		case 'q':
			if (!config_parse_queues(optarg, &o->rt.first, &o->rt.last)) {
				fprintf(stderr, "imwired: --queue: expected N or N-M (at most %d queues)\n",
					CONFIG_MAX_QUEUES);
				return 2;
			}
			o->rt.queues_given = true;
			break;
		case 't':
			o->rt.tap = optarg;
			break;
		case 'p':
			o->rt.pidfile = optarg;
			break;
		case 'D':
			o->rt.defaults_ok = true;
			break;
		case 'd':
			o->foreground = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case 'V':
			printf("imwired %s\n", imw_version());
			return -1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The sinks, with the service's event tap (imwire tail, per-protocol
 * counts) as one more behind the writer. */
static int open_all_sinks(struct shared_sinks *ss, struct runtime *rt, bool foreground)
{
	struct sink tap_sink;
	char err[512];

	if (open_sinks(ss, rt, foreground) < 0)
		return -1;
	service_tap_sink(rt->svc, &tap_sink);
	if (sink_writer_add_sink(&ss->sinks[0], &tap_sink, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "event tap: %s", err);
		sink_close(&tap_sink);
	}
	return 0;
}

/* Where the daemon's own messages go: stderr with -d, and log_file= when
 * set; a daemon without log_file= needs syslog. -1 (said on stderr) when
 * a daemon would log nowhere. */
static int open_log(const struct options *o, const struct runtime *rt)
{
	const char *file = config_get(&rt->cfg, "log_file");
	char err[512];

	if (file && daemon_log_open_file(file, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	if (o->foreground || file)
		return 0;
	if (!daemon_log_to_syslog(true)) {
		log_msg(LOG_ERR, "no syslog here (/dev/log is absent): set log_file= in %s, or run "
				 "in the foreground with -d",
			rt->cfg.path ? rt->cfg.path : "the configuration");
		return -1;
	}
	return 0;
}

/* From the loaded configuration to running workers: sinks, pin
 * directory, daemon, pid, signals, classifier, privileges. The exit
 * status. */
static int start(const struct options *o, struct runtime *rt, struct shared_sinks *ss)
{
	char err[512];

	/* The pin directory before the sinks: a second daemon on it is told
	 * who holds it (its spool, the same instance's, would refuse it next). */
	if (open_log(o, rt) < 0 || runtime_hold_pins(rt) < 0 ||
	    open_all_sinks(ss, rt, o->foreground) < 0)
		return 1;
	if (!o->foreground) {
		int ready_fd = -1;

		if (daemonize(&ready_fd) < 0) {
			log_msg(LOG_ERR, "cannot daemonize: %s", strerror(errno));
			return 1;
		}
		daemon_log_to_stderr(false); /* /dev/null now */
		if (runtime_daemonized(rt) < 0) {
			close(ready_fd); /* the starter returns 1 */
			return 1;
		}
		tell_starter(ready_fd);
	}
	log_msg(LOG_INFO, "imwired %s starting (configuration %s)", imw_version(),
		rt->cfg.path ? rt->cfg.path : "none: defaults");
	catch_signals();
	if (o->n_attach && (!rt->pin_dir || classifier_attach(rt->pin_dir, (char *const *)o->attach,
							      o->n_attach, err, sizeof(err)) < 0)) {
		log_msg(LOG_ERR, "--attach: %s", rt->pin_dir ? err : "no pin directory");
		return 1;
	}
	/* Threads start once the sandbox is on: they are all in it. */
	if (runtime_prepare(rt, &ss->sinks[0]) < 0 || runtime_confine(rt) < 0 ||
	    shared_sinks_start(ss) < 0)
		return 1;
	rt->write_event = shared_sinks_write;
	rt->write_arg = ss;
	rt->stop = &stop_requested;
	rt->reload = &reload_requested;
	rt->reopen = &reopen_requested;
	if (rt->tap)
		return runtime_run_tap(rt, ss->sinks, &ss->n);
	return runtime_run_queues(rt);
}

int main(int argc, char **argv)
{
	struct options o;
	struct runtime rt;
	struct shared_sinks ss;
	char err[512];
	int status;
	size_t i;

	daemon_log_init("imwired");
	if (proto_registry_check(err, sizeof(err)) < 0) {
		fprintf(stderr, "imwired: %s\n", err);
		return 1;
	}
	status = parse_args(argc, argv, &o);
	if (status)
		return status < 0 ? 0 : status;
	if (runtime_load(&rt, &o.rt, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwired: %s\n", err);
		runtime_free(&rt); /* what it loaded before it failed */
		return 1;
	}
	memset(&ss, 0, sizeof(ss));
	pthread_mutex_init(&ss.lock, NULL);
	status = start(&o, &rt, &ss);
	runtime_stop(&rt);
	for (i = 0; i < ss.n; i++)
		sink_close(&ss.sinks[i]);
	if (ss.failed)
		log_msg(LOG_ERR, "%llu event writes failed", (unsigned long long)ss.failed);
	log_msg(LOG_INFO, "stopped");
	runtime_free(&rt);
	daemon_log_close();
	return status;
}
