/* imwire: the command-line tool. `imwire read` decodes captures offline;
 * `imwire check-config` validates a configuration. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/pcap_source.h"
#include "capture/prefetch.h"
#include "cli/ops.h"
#include "classifier/classifier.h"
#include "config/config.h"
#include "config/config_files.h"
#include "config/config_flow.h"
#include "pipeline/pipeline.h"
#include "proto/proto.h"
#include "policy/policy.h"
#include "route/route.h"
#include "route/router.h"
#include "replay/replay.h"
#include "archive/checkpoint.h"
#include "archive/verify.h"
#include "review/review_cli.h"
#include "setup/setup.h"
#include "stats/stats_file.h"
#include "sink/sink_writer.h"
#include "util/version.h"

#define PROGRESS_MIN_FILE_BYTES (4LL * 1024 * 1024)

static void usage(FILE *out);
static void warn_to_stderr(const char *msg)
{
	fprintf(stderr, "imwire: warning: %s\n", msg);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress {
	bool enabled;
	double start;
	double last_draw;
	long long total_bytes; /* of all files */
	long long done_bytes;  /* of finished files */
	bool drawn;
};

static void progress_draw(struct progress *pr, long long pos_in_file, bool force)
{
	double now = now_seconds(), elapsed, rate, eta, frac;
	long long done = pr->done_bytes + (pos_in_file > 0 ? pos_in_file : 0);
	int width = 30, filled, i;

	if (!pr->enabled || (!force && now - pr->last_draw < 0.2) || pr->total_bytes <= 0)
		return;
	pr->last_draw = now;
	elapsed = now - pr->start;
	if (elapsed < 0.3 && !force)
		return;
	frac = (double)done / (double)pr->total_bytes;
	if (frac > 1)
		frac = 1;
	rate = elapsed > 0 ? (double)done / elapsed : 0;
	eta = rate > 0 ? (double)(pr->total_bytes - done) / rate : 0;
	filled = (int)(frac * width);
	fputs("\r[", stderr);
	for (i = 0; i < width; i++)
		fputc(i < filled ? '#' : '.', stderr);
	fprintf(stderr, "] %3.0f%% %7.1f MB/s ETA %4.0fs ", frac * 100, rate / 1e6, eta);
	pr->drawn = true;
}

static void progress_clear(struct progress *pr)
{
	if (pr->drawn)
		fputs("\r\033[K", stderr);
	pr->drawn = false;
}

/* Offline, sinks write when this much is pending: one write() per 64 KiB. */
#define READ_FLUSH_AT 65536
/* IMSpector's layout spreads those bytes over one file per conversation
 * and day: with thousands of conversations, 64 KiB is a line or so a file,
 * an open(), write() and close() a line once the files outnumber the
 * descriptors the sink keeps open. Gathering 16 MiB gives each file many
 * lines a write(). Only when the output is written changes, not what. */
#define READ_FILES_FLUSH_AT (16u << 20)

static int open_sinks(struct pipeline *pl, const char *format, const char *outdir)
{
	struct sink s;
	char *path;
	size_t n;
	int rc;

	if (strcmp(format, "jsonl") == 0) {
		if (!outdir)
			rc = sink_jsonl_open_stream(&s, stdout, READ_FLUSH_AT);
		else {
			if (sink_imspector_open_dir(&s, outdir, READ_FLUSH_AT) == 0)
				sink_close(&s); /* creates the directory */
			n = strlen(outdir) + sizeof("/events.jsonl");
			path = malloc(n);
			if (!path)
				return -1;
			snprintf(path, n, "%s/events.jsonl", outdir);
			rc = sink_jsonl_open_path(&s, path, READ_FLUSH_AT);
			if (rc < 0)
				fprintf(stderr, "imwire: %s: cannot open: %s\n", path, strerror(errno));
			free(path);
			if (rc < 0)
				return -1;
		}
	} else {
		rc = outdir ? sink_imspector_open_dir(&s, outdir, READ_FILES_FLUSH_AT)
			    : sink_imspector_open_stream(&s, stdout);
		if (rc < 0 && outdir)
			fprintf(stderr, "imwire: %s: cannot create log directory: %s\n", outdir,
				strerror(errno));
	}
	if (rc < 0)
		return -1;
	return pipeline_add_sink(pl, &s);
}

static void log_to_stderr(int level, const char *fmt, ...)
{
	va_list ap;

	/* Offline, the writer's routine lines (its summary) are noise. */
	if (level > LOG_WARNING)
		return;
	va_start(ap, fmt);
	fputs("imwire: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The sinks the configuration names, behind one writer (sink/sink_writer.h)
 * that waits for room instead of dropping: offline, nothing is lost to a
 * slow database. A write-ahead log only with spool_dir. files: the store
 * of the configuration's files_dir (not --extract's directory, which is
 * no archive), put under the writer's retention; NULL: none. */
static int open_db_sinks(struct pipeline *pl, const struct imw_config *cfg,
			 struct files_shared *files)
{
	struct sink_writer_config wc;
	struct sink w;
	size_t added = 0;
	char err[512];

	sink_writer_config_from(&wc, cfg, NULL);
	wc.wait_when_full = true;
	wc.coalesce = 1024; /* offline: no verdict waits on a hand-over */
	wc.log = log_to_stderr;
	if (sink_writer_open(&w, &wc, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire: %s\n", err);
		return -1;
	}
	if (sink_writer_add_configured(&w, cfg, &added, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire: %s\n", err);
		sink_close(&w);
		return -1;
	}
	if (!added) {
		sink_close(&w);
		return 0;
	}
	/* before the start: its retention request reaches files_dir too */
	if (files)
		sink_writer_set_retention_hook(&w, files_retain_logged, files);
	if (sink_writer_start(&w) < 0 || pipeline_add_sink(pl, &w) < 0) {
		fprintf(stderr, "imwire: cannot start the database writer\n");
		sink_close(&w);
		return -1;
	}
	return 0;
}

static void print_capture_warnings(const struct pcap_source *src)
{
	const struct pcap_source_stats *st = &src->stats;

	if (st->unsupported_link) {
		if (st->first_unsupported_dlt < 0)
			fprintf(stderr,
				"imwire: %s: %llu packets of interfaces whose description could "
				"not be read, skipped\n",
				src->path, (unsigned long long)st->unsupported_link);
		else
			fprintf(stderr,
				"imwire: %s: %llu packets of unsupported link types skipped (first: "
				"%d, %s)\n",
				src->path, (unsigned long long)st->unsupported_link,
				st->first_unsupported_dlt,
				packet_linktype_name(st->first_unsupported_dlt));
	}
	if (src->pcapng && src->ng.bad_blocks)
		fprintf(stderr, "imwire: %s: %llu damaged pcapng blocks skipped (first: %s at byte %llu)\n",
			src->path, (unsigned long long)src->ng.bad_blocks, src->ng.first_bad_block,
			(unsigned long long)src->ng.first_bad_block_at);

	if (st->malformed)
		fprintf(stderr,
			"imwire: %s: %llu malformed frames skipped (first: packet %llu, %s)\n",
			src->path, (unsigned long long)st->malformed,
			(unsigned long long)st->first_malformed_packet,
			st->first_malformed_reason ? st->first_malformed_reason : "?");
	if (st->fragments)
		fprintf(stderr, "imwire: %s: %llu IP fragments not reassembled\n", src->path,
			(unsigned long long)st->fragments);
}

struct read_opts {
	const char *format;
	const char *outdir;
	const char *config_path;
	const char *stats_path;
	bool quiet;
	bool separate; /* each file its own capture: no flow spans two */
	const char *extract; /* keep transferred files here (files_dir) */
};

/* 0, or the exit status to leave with (0 after --help). */
static int read_args(int argc, char **argv, struct read_opts *o)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stats", required_argument, NULL, 's' },
		{ "separate", no_argument, NULL, 'S' },
		{ "extract", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i, n_stdin = 0;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:c:qs:x:h", opts, NULL)) != -1) {
		switch (c) {
		case 'x':
			o->extract = optarg;
			break;
		case 's':
			o->stats_path = optarg;
			break;
		case 'f':
			o->format = optarg;
			break;
		case 'o':
			o->outdir = optarg;
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'S':
			o->separate = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o->format)
		o->format = o->outdir ? "imspector" : "jsonl";
	if (strcmp(o->format, "jsonl") != 0 && strcmp(o->format, "imspector") != 0 &&
	    strcmp(o->format, "none") != 0) {
		fprintf(stderr, "imwire: read: unknown format \"%s\" (imspector, jsonl or none)\n",
			o->format);
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "imwire: read: no capture file given\n");
		usage(stderr);
		return 2;
	}
	for (i = optind; i < argc; i++)
		n_stdin += strcmp(argv[i], "-") == 0;
	if (n_stdin > 1) {
		fprintf(stderr, "imwire: read: standard input (\"-\") can be read only once\n");
		return 2;
	}
	return 0;
}

/* The configuration, what policy would decide (logged; nothing is
 * edited), the pipeline, its sinks and the file stage. -1 (said why) with
 * nothing left to free. */
static int read_setup(const struct read_opts *o, struct imw_config *cfg, struct route_setup *rs,
		      struct pipeline *pl, struct files_shared **files)
{
	struct flow_config fc;
	struct files_config filc;
	char err[1024];

	config_init(cfg);
	flow_config_defaults(&fc);
	files_config_defaults(&filc);
	memset(rs, 0, sizeof(*rs));
	*files = NULL;
	if (o->config_path) {
		if (config_load(cfg, o->config_path, err, sizeof(err), warn_to_stderr) < 0) {
			fprintf(stderr, "imwire: %s\n", err);
			config_free(cfg);
			return -1;
		}
		config_apply_flow(cfg, &fc);
		config_apply_files(cfg, &filc);
		if (route_setup_load(rs, cfg, POLICY_DRY_RUN, 1, err, sizeof(err)) < 0) {
			fprintf(stderr, "imwire: %s\n", err);
			config_free(cfg);
			return -1;
		}
	}
	if (pipeline_init(pl, &fc) < 0) {
		fprintf(stderr, "imwire: out of memory\n");
		goto fail;
	}
	pl->table = rs->table;
	if (o->extract) {
		filc.dir = o->extract;
		filc.follow = true;
	}
	if (filc.follow && (!(*files = files_shared_new(&filc, err, sizeof(err))) ||
			    pipeline_follow_files(pl, *files, err, sizeof(err)) < 0)) {
		fprintf(stderr, "imwire: %s\n", err);
		pipeline_destroy(pl);
		goto fail;
	}
	if ((strcmp(o->format, "none") != 0 && open_sinks(pl, o->format, o->outdir) < 0) ||
	    open_db_sinks(pl, cfg, o->extract ? NULL : *files) < 0) {
		pipeline_destroy(pl);
		goto fail;
	}
	return 0;
fail:
	files_shared_free(*files);
	*files = NULL;
	route_setup_free(rs);
	config_free(cfg);
	return -1;
}

/* A progress line only on a terminal, and only for captures worth it. */
static void progress_start(struct progress *pr, char **files, int n, bool quiet)
{
	int i;

	memset(pr, 0, sizeof(*pr));
	pr->enabled = isatty(STDERR_FILENO) && !quiet;
	pr->start = now_seconds();
	for (i = 0; i < n; i++) {
		struct stat st;

		/* A pipe's length is unknown: the bar counts what is known. */
		if (strcmp(files[i], "-") != 0 && stat(files[i], &st) == 0 && S_ISREG(st.st_mode))
			pr->total_bytes += (long long)st.st_size;
	}
	if (pr->total_bytes < PROGRESS_MIN_FILE_BYTES)
		pr->enabled = false;
}

/* Whether this process may run on two CPUs or more: only then are the
 * reader and writer threads worth their hand-overs (on one CPU they only
 * add them: 0.81 s against 0.72 s on the message bench's capture). */
static bool several_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return sysconf(_SC_NPROCESSORS_ONLN) > 1;
	return CPU_COUNT(&set) > 1;
}

/* The next packet, from the reader thread when there is one. */
static int next_packet(struct pcap_source *src, struct pcap_prefetch *pf, struct packet *pkt,
		       char *err, size_t err_size)
{
	if (pf)
		return pcap_prefetch_next(pf, pkt, err, err_size);
	return pcap_source_next_tcp(src, pkt, err, err_size);
}

/* Every TCP packet of one capture into the pipeline. 0, or 1 when the
 * file could not be read whole. */
static int read_one(const char *path, struct pipeline *pl, struct progress *pr, bool quiet,
		    bool threads, uint64_t *total_packets)
{
	struct pcap_prefetch_config pfc;
	struct pcap_prefetch *pf;
	struct pcap_source src;
	struct packet pkt;
	uint64_t n_since_draw = 0;
	char err[1024];
	int rc, status = 0;

	if (pcap_source_open(&src, path, err, sizeof(err)) < 0) {
		pipeline_sync(pl); /* the lines of the files before first */
		progress_clear(pr);
		fprintf(stderr, "imwire: %s\n", err);
		return 1;
	}
	/* Records read and parsed on a thread of their own. Without it
	 * (none could be made) they are read here: the same packets. */
	pcap_prefetch_config_defaults(&pfc);
	pf = threads ? pcap_prefetch_start(&src, &pfc) : NULL;
	while ((rc = next_packet(&src, pf, &pkt, err, sizeof(err))) == 1) {
		pipeline_packet(pl, &pkt);
		if (pr->enabled && ++n_since_draw >= 2048) {
			n_since_draw = 0;
			progress_draw(pr, pf ? pcap_prefetch_position(pf) : pcap_source_position(&src),
				      false);
		}
	}
	pcap_prefetch_stop(pf); /* src is this thread's again */
	/* What is said below comes after this file's lines, as it did when
	 * they were written on this thread. */
	pipeline_sync(pl);
	if (rc < 0) {
		progress_clear(pr);
		fprintf(stderr, "imwire: %s\n", err);
		status = 1;
	}
	/* Show where each large file ended, even when it read fast. */
	progress_draw(pr, src.size > 0 ? src.size : 0, true);
	progress_clear(pr);
	if (!quiet)
		print_capture_warnings(&src);
	*total_packets += src.stats.packets;
	if (src.size > 0)
		pr->done_bytes += src.size;
	pcap_source_close(&src);
	return status;
}

/* Statistics file, summary, and whether every event was written. */
static int read_report(const struct read_opts *o, struct pipeline *pl, int n_files,
		       uint64_t total_packets)
{
	int status = 0;

	if (o->stats_path) {
		struct stats_snapshot snap;

		stats_snapshot_of_flows(&snap, "read", &pl->flows);
		if (stats_write_file(o->stats_path, &snap, 1, NULL, (double)time(NULL)) < 0) {
			fprintf(stderr, "imwire: %s: %s\n", o->stats_path, strerror(errno));
			status = 1;
		}
	}
	if (!o->quiet) {
		fprintf(stderr, "imwire: %d file(s), %llu packets\n", n_files,
			(unsigned long long)total_packets);
		pipeline_print_summary(pl, stderr);
	}
	if (pl->sink_failures) {
		fprintf(stderr, "imwire: %llu events could not be written\n",
			(unsigned long long)pl->sink_failures);
		status = 1;
	}
	return status;
}

static int cmd_read(int argc, char **argv)
{
	struct read_opts o;
	struct imw_config cfg;
	struct pipeline pl;
	struct route_setup rs;
	struct progress pr;
	struct files_shared *files;
	uint64_t total_packets = 0;
	bool threads;
	int i, status = read_args(argc, argv, &o);

	if (status)
		return status < 0 ? 0 : status;
	if (read_setup(&o, &cfg, &rs, &pl, &files) < 0)
		return 1;
	/* Decoding on this thread, writing on another. Its failure is left
	 * unsaid: without the thread (none could be made) everything is
	 * written here instead, the same lines, only slower. */
	threads = several_cpus();
	if (threads)
		(void)pipeline_start_writer(&pl);
	progress_start(&pr, argv + optind, argc - optind, o.quiet);
	for (i = optind; i < argc; i++) {
		status |= read_one(argv[i], &pl, &pr, o.quiet, threads, &total_packets);
		if (o.separate)
			pipeline_end_capture(&pl);
	}
	progress_clear(&pr);
	pipeline_finish(&pl);
	status |= read_report(&o, &pl, argc - optind, total_packets);
	pipeline_destroy(&pl);
	files_shared_free(files);
	route_setup_free(&rs);
	config_free(&cfg);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "imwire: writing output: %s\n", strerror(errno));
		status = 1;
	}
	return status;
}

static void report_warning(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "imwire: warning: %s\n", msg);
}

static void report_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "imwire: error: %s\n", msg);
}

/* Every problem of the file and of what it names, not only the first:
 * each line is read, each list and database opened, and each problem
 * said; then the table every event runs through. */
static int cmd_check_config(int argc, char **argv)
{
	struct config_report r = { report_warning, report_error, NULL, 0, 0 };
	struct imw_config cfg;
	struct route_setup rs;
	char *table;

	if (argc == 2 && strcmp(argv[1], "--list-keys") == 0) {
		size_t i;
		const char *k;

		for (i = 0; (k = config_key_name(i)); i++)
			printf("%s\n", k);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: imwire check-config FILE | --list-keys\n");
		return 2;
	}
	config_init(&cfg);
	config_load_report(&cfg, argv[1], &r);
	/* The lists, rules, address map and bots it names must load too (the
	 * databases are only opened, never created or written), whatever the
	 * file's own state. */
	route_setup_load_report(&rs, &cfg, POLICY_DRY_RUN, 1, &r);
	if (r.errors) {
		fprintf(stderr, "imwire: %s: %u error(s), %u warning(s)\n", argv[1], r.errors,
			r.warnings);
	} else {
		printf("%s: OK (%zu settings, %u warning(s))\n", argv[1], cfg.n_entries,
		       r.warnings);
		/* Every event runs through these handlers, in this order. */
		if ((table = route_table_describe(rs.table)))
			printf("%s", table);
		free(table);
	}
	route_setup_free(&rs);
	config_free(&cfg);
	return r.errors ? 1 : 0;
}

static void replay_event(void *arg, const struct im_event *ev)
{
	struct sink *s = arg;

	if (s)
		sink_write(s, ev);
}

static void replay_report(const struct replay_stats *st, const struct engine_stats *es)
{
	fprintf(stderr,
		"imwire: %llu frames in, %llu out: %llu unchanged, %llu modified, %llu dropped, "
		"%llu not for the engine; %llu events; %llu edits (refused: %llu committed, "
		"%llu too big, %llu not encodable); %llu blocked (%llu blanked), %llu notices\n",
		(unsigned long long)st->frames_in, (unsigned long long)st->frames_out,
		(unsigned long long)st->accepted, (unsigned long long)st->modified,
		(unsigned long long)st->dropped, (unsigned long long)st->not_tcp,
		(unsigned long long)st->events, (unsigned long long)es->edits,
		(unsigned long long)es->edits_refused_committed,
		(unsigned long long)es->edits_refused_size,
		(unsigned long long)es->edits_refused_encode, (unsigned long long)es->policy_blocked,
		(unsigned long long)es->policy_blanked, (unsigned long long)es->notices_injected);
}

static int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "events", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *events = NULL;
	struct imw_config cfg;
	struct engine_config ec;
	struct route_setup rs;
	struct replay_stats st;
	struct engine_stats es;
	struct sink s;
	char err[1024];
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:e:", opts, NULL)) != -1) {
		if (c == 'c') {
			config_path = optarg;
		} else if (c == 'e') {
			events = optarg;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!config_path || argc - optind != 2) {
		fprintf(stderr, "usage: imwire replay --config FILE [--events FILE.jsonl] IN.pcap OUT.pcap\n");
		return 2;
	}
	config_init(&cfg);
	if (config_load(&cfg, config_path, err, sizeof(err), warn_to_stderr) < 0 ||
	    route_setup_load(&rs, &cfg, POLICY_DRY_RUN, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	/* The table imwired would run; no live sessions to route to, so the
	 * engine gets no router (nothing is registered or delivered). */
	engine_config_load(&ec, &cfg);
	ec.table = rs.table;
	rc = 0;
	if (events && sink_jsonl_open_path(&s, events, READ_FLUSH_AT) < 0) {
		fprintf(stderr, "imwire: %s: cannot open: %s\n", events, strerror(errno));
		rc = -1;
	} else {
		rc = replay_capture(argv[optind], argv[optind + 1], &ec, replay_event,
				    events ? &s : NULL, &st, &es, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "imwire: %s\n", err);
		else
			replay_report(&st, &es);
		if (events)
			sink_close(&s);
	}
	route_setup_free(&rs);
	config_free(&cfg);
	return rc < 0 ? 1 : 0;
}

static int cmd_keygen(int argc, char **argv)
{
	char err[512];

	if (argc != 2) {
		fprintf(stderr, "usage: imwire keygen FILE\n");
		return 2;
	}
	if (checkpoint_keygen(argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire: %s\n", err);
		return 1;
	}
	printf("secret key %s (checkpoint_key=), public key %s.pub (imwire verify --key)\n",
	       argv[1], argv[1]);
	return 0;
}

static void print_verify(const struct verify_result *r)
{
	printf("rows: %llu (%llu before the chain began), purges: %llu (%llu events kept by them),"
	       " checkpoints: %llu\n",
	       (unsigned long long)r->rows, (unsigned long long)r->unchained,
	       (unsigned long long)r->purges, (unsigned long long)r->kept,
	       (unsigned long long)r->checkpoints);
	if (r->last_checkpoint_id && !r->truncated)
		printf("the chain reaches the last signed checkpoint (event %llu); %llu events after it"
		       " are not signed yet\n",
		       (unsigned long long)r->last_checkpoint_id,
		       (unsigned long long)r->after_checkpoint);
	if (r->problems)
		printf("NOT VERIFIED: %s (%llu problems in all)\n", r->first,
		       (unsigned long long)r->problems);
	else
		printf("verified: last event %llu\n", (unsigned long long)r->last_id);
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jsonl", required_argument, NULL, 'j' },  { "sqlite", required_argument, NULL, 's' },
		{ "pgsql", required_argument, NULL, 'p' },  { "mysql", required_argument, NULL, 'm' },
		{ "sensor", required_argument, NULL, 'S' }, { "key", required_argument, NULL, 'k' },
		{ "checkpoints", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 },
	};
	const char *kind = NULL, *spec = NULL, *keyfile = NULL;
	struct verify_options o = { NULL, NULL, NULL };
	struct checkpoint_key key;
	struct verify_source src;
	struct verify_result r;
	char err[512] = "";
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': kind = "jsonl", spec = optarg; break;
		case 's': kind = "sqlite", spec = optarg; break;
		case 'p': kind = "pgsql", spec = optarg; break;
		case 'm': kind = "mysql", spec = optarg; break;
		case 'S': o.sensor = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'c': o.checkpoint_log = optarg; break;
		default: kind = NULL, spec = NULL, optind = argc + 1; break;
		}
	}
	if (!kind || optind != argc || (o.checkpoint_log && !keyfile)) {
		fprintf(stderr, "usage: imwire verify (--jsonl FILE | --sqlite FILE | --pgsql CONNINFO |"
				" --mysql SPEC) [--sensor NAME] [--key FILE.pub --checkpoints LOG]\n");
		return 2;
	}
	if (keyfile) {
		if (checkpoint_key_load(&key, keyfile, err, sizeof(err)) < 0) {
			fprintf(stderr, "imwire: %s\n", err);
			return 2;
		}
		o.key = &key;
	}
	rc = strcmp(kind, "jsonl") == 0 ? verify_source_jsonl(&src, spec, err, sizeof(err))
					: verify_source_db(&src, kind, spec, o.sensor, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "imwire: %s\n", err);
		return 2;
	}
	rc = verify_store(&src, &o, &r, err, sizeof(err));
	verify_source_close(&src);
	if (rc < 0) {
		fprintf(stderr, "imwire: %s\n", err);
		return 2;
	}
	print_verify(&r);
	return rc;
}

static int cmd_help(int argc, char **argv);

/* Every command is in this table: main dispatches through it, `imwire
 * NAME --help` prints its lines, and `imwire help --list` (read by the
 * manual's coverage test, tests/cases/pkg_manpages.sh) lists it. */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage; /* synopsis lines, then what it does, indented;
			    * NULL: the command prints its own */
} commands[] = {
	{ "read", cmd_read,
	  "read [--format imspector|jsonl|none] [-o DIR] [--config FILE] [--quiet]\n"
	  "     [--stats FILE.json] [--separate] [--extract DIR] FILE...\n"
	  "    decode pcap/pcapng captures and print or write every IM event\n"
	  "    (jsonl to stdout by default; with -o DIR, IMSpector's file layout\n"
	  "    under DIR, or DIR/events.jsonl with --format jsonl; none: only to\n"
	  "    the sinks the --config file names); a FILE may be gzip-compressed,\n"
	  "    \"-\" is standard input, a pcapng file may mix link types\n"
	  "    (mergecap); the files are one capture unless --separate reads each\n"
	  "    as unrelated (no flow spans two); with --extract, transferred\n"
	  "    files are kept in DIR by their SHA-256\n" },
	{ "replay", cmd_replay,
	  "replay --config FILE [--events FILE.jsonl] IN.pcap OUT.pcap\n"
	  "    run the inline engine and its policy on a capture; OUT.pcap gets\n"
	  "    what would have left the bridge (edited, deleted, injected)\n" },
	{ "check-config", cmd_check_config,
	  "check-config FILE\n"
	  "check-config --list-keys\n"
	  "    validate a configuration file without starting anything, or list\n"
	  "    every key a configuration may set\n" },
	{ "keygen", cmd_keygen,
	  "keygen FILE\n"
	  "    make an Ed25519 key pair for signed checkpoints: FILE (secret,\n"
	  "    checkpoint_key=) and FILE.pub (for imwire verify --key)\n" },
	{ "verify", cmd_verify,
	  "verify (--jsonl FILE | --sqlite FILE | --pgsql CONNINFO |\n"
	  "        --mysql [USER[:PASS]@]HOST[:PORT]/DB) [--sensor NAME]\n"
	  "       [--key FILE.pub --checkpoints LOG]\n"
	  "    check an archive's chain and checkpoints; names the first event\n"
	  "    altered, missing, inserted or out of order; exit 0 when it verifies\n" },
	{ "setup", ops_setup,
	  "setup [-c CONFIG] [--bridge BR] [--queue N[-M]]\n"
	  "      [--ports LIST | --by-mark | --classifier]\n"
	  "      [--backend auto|iptables|nftables] [--fix] [--dry-run]\n"
	  "setup --remove [-c CONFIG] [--bridge BR] [--classifier] [--dry-run]\n"
	  "    install (idempotent) or remove the rules steering IM traffic that\n"
	  "    crosses bridge BR into imwired's queue(s) (nftables where the kernel\n"
	  "    has nft queue, else iptables); the bridge must exist and\n"
	  "    bridge-nf-call-iptables be 1 (--fix sets it); --classifier attaches\n"
	  "    the tc BPF classifier to the bridge's ports and steers what it marks\n" },
	{ "attach", ops_attach,
	  "attach [-c CONFIG] IFACE...\n"
	  "    attach the tc BPF classifier at the ingress of each interface; its\n"
	  "    maps are pinned under bpf_pin_dir=, $IMWIRE_PIN_DIR or\n"
	  "    " IMW_PIN_ROOT "/<inode of this network namespace>\n" },
	{ "pin-dir", ops_pin_dir,
	  "pin-dir [-c CONFIG]\n"
	  "    print the classifier's pin directory, and which imwired holds it\n" },
	{ "detach", ops_detach,
	  "detach [-c CONFIG] IFACE...\n"
	  "    remove what attach added: the filter, the clsact qdisc when nothing\n"
	  "    else uses it, the pinned maps once no interface has the classifier\n" },
	{ "proto", ops_proto,
	  "proto [-c CONFIG] enable|disable NAME...\n"
	  "proto [-c CONFIG] list\n"
	  "    switch protocols on and off in the classifier; list them with\n"
	  "    their ports and counters\n" },
	{ "stats", ops_stats,
	  "stats [-c CONFIG | FILE]\n"
	  "    print the counters of the imwired running with CONFIG (the default\n"
	  "    configuration without -c), or of a file read --stats wrote\n" },
	{ "sessions", ops_sessions,
	  "sessions [-c CONFIG] [--json]\n"
	  "    the running imwired's live IM sessions: protocol, local id, remote\n"
	  "    peer, client, since, events (from its control socket; root only)\n" },
	{ "tail", ops_tail,
	  "tail [-c CONFIG] [--proto NAME] [--kind KIND] [--user ID] [-n COUNT]\n"
	  "    follow the running imwired's events as JSON lines, filtered\n" },
	{ "reload", ops_reload,
	  "reload [-c CONFIG]\n"
	  "    have the running imwired re-read its configuration and say how it\n"
	  "    went (status 1 when it was refused)\n" },
	/* the review console's (review/review_cli.h): they answer --help
	 * themselves, with review_cli_usage */
	{ "search", review_cli_main, NULL },
	{ "conversations", review_cli_main, NULL },
	{ "show", review_cli_main, NULL },
	{ "export", review_cli_main, NULL },
	{ "web", review_cli_main, NULL },
	{ "web-user", review_cli_main, NULL },
	{ "help", cmd_help,
	  "help [--list]\n"
	  "    this text; --list: the command names, one a line\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void command_usage(FILE *out, const struct command *c, const char *prefix)
{
	const char *p = c->usage, *nl;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		/* synopsis lines get the prefix, their continuations its width;
		 * description lines (four spaces, then text) are indented */
		if (*p != ' ')
			fprintf(out, "%s%.*s\n", prefix, (int)(nl - p), p);
		else if (strncmp(p, "    ", 4) == 0 && p[4] != ' ')
			fprintf(out, "  %.*s\n", (int)(nl - p), p);
		else
			fprintf(out, "%*s%.*s\n", (int)strlen(prefix), "", (int)(nl - p), p);
		if (!*nl)
			break;
	}
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: imwire <command> [options]    (imwire <command> --help, imwire --version)\n"
		     "\ncommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		if (commands[i].usage)
			command_usage(out, &commands[i], "  ");
	review_cli_usage(out); /* search, conversations, show, export, web, web-user */
}

static int cmd_help(int argc, char **argv)
{
	size_t i;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (i = 0; i < N_COMMANDS; i++)
			printf("%s\n", commands[i].name);
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: imwire help [--list]\n");
		return 2;
	}
	usage(stdout);
	return 0;
}

/* True when the command's arguments ask for help (before any "--"). */
static bool asks_for_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	char err[256];
	size_t i;

	if (proto_registry_check(err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire: %s\n", err);
		return 1;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("imwire %s\n", imw_version());
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (commands[i].usage && asks_for_help(argc - 1, argv + 1)) {
			fprintf(stdout, "usage:\n");
			command_usage(stdout, &commands[i], "  imwire ");
			return 0;
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "imwire: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
