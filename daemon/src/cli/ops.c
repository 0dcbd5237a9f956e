/* The operator's commands (cli/ops.h): setup, attach, detach, proto,
 * stats. Each reads the instance's configuration with -c CONFIG (the
 * default configuration otherwise, when it exists) for what it needs:
 * the bridge, queues, classifier and backend of `setup`, the pin
 * directory, the stats file. Options given on the command line win. */
#include "cli/ops.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classifier/classifier.h"
#include "config/config.h"
#include "control/control.h"
#include "setup/setup.h"
#include "stats/stats_file.h"
#include "util/version.h"

static void warn_quietly(const char *msg)
{
	(void)msg; /* check-config is where warnings belong */
}

/* Load path (or, when NULL, the default configuration if there is one).
 * 0; -1 after saying why. */
static int load_config(struct imw_config *cfg, const char *path, const char *cmd)
{
	char err[1024];

	config_init(cfg);
	if (!path) {
		if (access(imw_default_config(), F_OK) != 0)
			return 0;
		path = imw_default_config();
	}
	if (config_load(cfg, path, err, sizeof(err), warn_quietly) < 0) {
		fprintf(stderr, "imwire: %s: %s\n", cmd, err);
		config_free(cfg);
		return -1;
	}
	return 0;
}

/* The classifier's pin directory: bpf_pin_dir= of the configuration,
 * else $IMWIRE_PIN_DIR, else the one of this network namespace (in buf);
 * NULL, said on stderr, when the namespace cannot be told. */
static const char *pin_dir_of(const struct imw_config *cfg, char *buf, size_t size)
{
	const char *dir = classifier_pin_dir(config_get(cfg, "bpf_pin_dir"), buf, size);

	if (!dir)
		fprintf(stderr, "imwire: cannot tell this network namespace (is /proc mounted?); "
				"set bpf_pin_dir= or IMWIRE_PIN_DIR\n");
	return dir;
}

static bool config_bool(const struct imw_config *cfg, const char *key)
{
	const char *v = config_get(cfg, key);
	bool b = false;

	return v && config_parse_bool(v, &b) && b;
}

/* The classifier on the bridge's ports: attach before the rules that
 * steer what it marks. */
static int setup_classifier(const struct setup_options *o, const char *pin_dir)
{
	char **ports = NULL, err[512];
	size_t n = 0, i;
	int rc;

	if (setup_bridge_ports(o->bridge, &ports, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire: setup: %s\n", err);
		return -1;
	}
	if (!n) {
		fprintf(stderr, "imwire: setup: bridge %s has no ports to attach the classifier to\n",
			o->bridge);
		setup_free_names(ports, n);
		return -1;
	}
	printf("imwire attach");
	for (i = 0; i < n; i++)
		printf(" %s", ports[i]);
	printf("\n");
	rc = o->dry_run ? 0 : classifier_attach(pin_dir, ports, n, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "imwire: setup: classifier: %s\n", err);
	setup_free_names(ports, n);
	return rc;
}

/* Undo setup_classifier, unless edited connections still need the
 * classifier's sequence fix-ups (their daemon is gone): then it stays,
 * and so do they. */
static int remove_classifier(const char *bridge, const char *pin_dir, bool dry_run)
{
	char **ports = NULL, err[512];
	size_t n = 0, i;
	long edited = classifier_edited_flows(pin_dir);
	int rc;

	if (setup_bridge_ports(bridge, &ports, &n, err, sizeof(err)) < 0) {
		/* the bridge is gone, and its ports' filters with it */
		fprintf(stderr, "imwire: setup: classifier: %s: nothing to detach\n", err);
		return 0;
	}
	if (edited > 0) {
		fprintf(stderr,
			"imwire: setup: classifier kept on %s's ports: %ld edited connection(s) depend "
			"on its sequence fix-ups (imwire detach once they have ended)\n",
			bridge, edited);
		setup_free_names(ports, n);
		return 0;
	}
	printf("imwire detach");
	for (i = 0; i < n; i++)
		printf(" %s", ports[i]);
	printf("\n");
	rc = dry_run ? 0 : classifier_detach(pin_dir, ports, n, stderr, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "imwire: setup: classifier: %s\n", err);
	setup_free_names(ports, n);
	return rc;
}

static void setup_usage(FILE *out)
{
	fprintf(out,
		"usage: imwire setup [-c CONFIG] [--bridge BR] [--queue N[-M]]\n"
		"                    [--ports LIST | --by-mark | --classifier]\n"
		"                    [--backend auto|iptables|nftables] [--fix] [--dry-run]\n"
		"       imwire setup --remove [-c CONFIG] [--bridge BR] [--classifier] [--dry-run]\n");
}

/* What the command line said; NULL where it said nothing. */
struct setup_args {
	const char *config, *bridge, *queue, *ports, *backend;
	bool remove, classifier, by_mark, dry_run, fix;
};

/* 0, 1 for --help (done), or 2 for a usage error (said). */
static int setup_parse_args(int argc, char **argv, struct setup_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "bridge", required_argument, NULL, 'b' },
		{ "queue", required_argument, NULL, 'q' },
		{ "ports", required_argument, NULL, 'p' },
		{ "remove", no_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "by-mark", no_argument, NULL, 'm' },
		{ "classifier", no_argument, NULL, 'C' },
		{ "backend", required_argument, NULL, 'B' },
		{ "fix", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:b:q:p:rnmCB:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'b':
			a->bridge = optarg;
			break;
		case 'q':
			a->queue = optarg;
			break;
		case 'p':
			a->ports = optarg;
			break;
		case 'r':
			a->remove = true;
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'm':
			a->by_mark = true;
			break;
		case 'C':
			a->classifier = true;
			break;
		case 'B':
			a->backend = optarg;
			break;
		case 'f':
			a->fix = true;
			break;
		case 'h':
			setup_usage(stdout);
			return 1;
		default:
			setup_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		setup_usage(stderr);
		return 2;
	}
	return 0;
}

/* The options from the arguments, else the configuration's keys. 0, or 2
 * after saying what is wrong. */
static int setup_options_of(const struct setup_args *a, const struct imw_config *cfg,
			    struct setup_options *o)
{
	const char *queue = a->queue ? a->queue : config_get(cfg, "queues");
	const char *ports = a->ports ? a->ports : config_get(cfg, "steer_ports");
	const char *backend = a->backend ? a->backend : config_get(cfg, "firewall_backend");
	char err[512];

	if (queue && !config_parse_queues(queue, &o->queue_first, &o->queue_last)) {
		fprintf(stderr, "imwire: setup: queue: expected N or N-M (at most %d queues)\n",
			CONFIG_MAX_QUEUES);
		return 2;
	}
	setup_default_ports(o);
	if (ports && !setup_parse_ports(o, ports, err, sizeof(err))) {
		fprintf(stderr, "imwire: setup: %s\n", err);
		return 2;
	}
	if (backend && !setup_parse_backend(backend, &o->backend)) {
		fprintf(stderr, "imwire: setup: backend: auto, iptables or nftables, not \"%s\"\n",
			backend);
		return 2;
	}
	return 0;
}

/* Check the bridge, attach the classifier when asked, install the rules. */
static int setup_run_install(const struct setup_options *o, bool classifier, const char *pin_dir)
{
	char err[512];

	/* the bridge first: attaching to the ports of no bridge says nothing useful */
	if (setup_check_bridge(o->bridge, o->fix, o->dry_run, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire: setup: %s\n", err);
		return 1;
	}
	if (classifier && setup_classifier(o, pin_dir) < 0)
		return 1;
	if (setup_install(o, stdout, stderr, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire: setup: %s\n", err);
		return 1;
	}
	return 0;
}

int ops_setup(int argc, char **argv)
{
	struct setup_args a;
	struct imw_config cfg;
	struct setup_options o;
	const char *pin_dir;
	char pin_buf[512];
	bool classifier;
	int rc = setup_parse_args(argc, argv, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	/* the configuration only when named: setup without -c is the manual form */
	if (a.config && load_config(&cfg, a.config, "setup") < 0)
		return 1;
	if (!a.config)
		config_init(&cfg);
	memset(&o, 0, sizeof(o));
	o.dry_run = a.dry_run;
	o.fix = a.fix;
	o.bridge = a.bridge ? a.bridge : config_get(&cfg, "bridge");
	classifier = a.classifier || config_bool(&cfg, "classifier");
	pin_dir = classifier ? pin_dir_of(&cfg, pin_buf, sizeof(pin_buf)) : NULL;
	if (classifier && !pin_dir) {
		config_free(&cfg);
		return 1;
	}
	o.by_mark = a.by_mark || classifier;
	if (a.remove) {
		rc = setup_remove(o.bridge, o.dry_run, stdout) < 0 ? 1 : 0;
		if (classifier && o.bridge && remove_classifier(o.bridge, pin_dir, o.dry_run) < 0)
			rc = 1;
	} else if (!o.bridge) {
		fprintf(stderr, "imwire: setup: no bridge: --bridge BR, or bridge= in the "
				"configuration (-c CONFIG)\n");
		rc = 2;
	} else if (!(rc = setup_options_of(&a, &cfg, &o))) {
		rc = setup_run_install(&o, classifier, pin_dir);
	}
	config_free(&cfg);
	return rc;
}

/* "-c CONFIG" before the arguments of attach, detach and proto. */
static int leading_config(int argc, char **argv, const char **config_path, bool *help)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*help = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config_path = optarg;
			break;
		case 'h':
			*help = true;
			break;
		default:
			return -1;
		}
	}
	return optind;
}

static int attach_detach(int argc, char **argv, bool attach)
{
	const char *config_path = NULL, *dir;
	struct imw_config cfg;
	char err[512], pin_buf[512];
	bool help;
	int first = leading_config(argc, argv, &config_path, &help), rc;

	if (help || first < 0 || first >= argc) {
		fprintf(help ? stdout : stderr, "usage: imwire %s [-c CONFIG] IFACE...\n", argv[0]);
		return help ? 0 : 2;
	}
	if (load_config(&cfg, config_path, argv[0]) < 0)
		return 1;
	dir = pin_dir_of(&cfg, pin_buf, sizeof(pin_buf));
	if (!dir)
		rc = -1;
	else if (attach)
		rc = classifier_attach(dir, argv + first, (size_t)(argc - first), err, sizeof(err));
	else
		rc = classifier_detach(dir, argv + first, (size_t)(argc - first), stderr, err,
				       sizeof(err));
	if (rc < 0 && dir)
		fprintf(stderr, "imwire: %s: %s\n", argv[0], err);
	config_free(&cfg);
	return rc < 0 ? 1 : 0;
}

int ops_pin_dir(int argc, char **argv)
{
	const char *config_path = NULL, *dir;
	struct imw_config cfg;
	char err[512], pin_buf[512];
	unsigned pid;
	bool help;
	int held, first = leading_config(argc, argv, &config_path, &help);

	if (help || first != argc) {
		fprintf(help ? stdout : stderr, "usage: imwire pin-dir [-c CONFIG]\n");
		return help ? 0 : 2;
	}
	if (load_config(&cfg, config_path, "pin-dir") < 0)
		return 1;
	dir = pin_dir_of(&cfg, pin_buf, sizeof(pin_buf));
	if (dir) {
		printf("%s\n", dir);
		held = classifier_holder(dir, &pid, err, sizeof(err));
		if (held == 1)
			printf("held by imwired pid %u\n", pid);
		else if (held == 0)
			printf("not held by any imwired\n");
		else
			printf("no classifier loaded there\n");
	}
	config_free(&cfg);
	return dir ? 0 : 1;
}

int ops_attach(int argc, char **argv)
{
	return attach_detach(argc, argv, true);
}

int ops_detach(int argc, char **argv)
{
	return attach_detach(argc, argv, false);
}

int ops_proto(int argc, char **argv)
{
	static const char usage[] =
		"usage: imwire proto [-c CONFIG] enable|disable NAME... | imwire proto [-c CONFIG] list\n";
	const char *config_path = NULL, *dir, *verb;
	struct imw_config cfg;
	char err[512], pin_buf[512];
	bool enable, help;
	int i, rc = 0, first = leading_config(argc, argv, &config_path, &help);

	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	if (first < 0 || first >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	verb = argv[first];
	if (!(strcmp(verb, "list") == 0 && argc - first == 1) &&
	    !((strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0) && argc - first >= 2)) {
		fputs(usage, stderr);
		return 2;
	}
	if (load_config(&cfg, config_path, "proto") < 0)
		return 1;
	dir = pin_dir_of(&cfg, pin_buf, sizeof(pin_buf));
	if (!dir) {
		config_free(&cfg);
		return 1;
	}
	if (strcmp(verb, "list") == 0) {
		if (classifier_proto_list(dir, stdout, err, sizeof(err)) < 0) {
			fprintf(stderr, "imwire: proto: %s\n", err);
			rc = 1;
		}
		config_free(&cfg);
		return rc;
	}
	enable = strcmp(verb, "enable") == 0;
	for (i = first + 1; i < argc && rc == 0; i++) {
		if (classifier_proto_set(dir, argv[i], enable, err, sizeof(err)) < 0) {
			fprintf(stderr, "imwire: proto: %s\n", err);
			rc = 1;
		}
	}
	config_free(&cfg);
	return rc;
}

/* Print the stats document at path. 0, or 1 after saying why. */
static int print_stats_file(const char *path, bool instance)
{
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int rc = 1;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "imwire: stats: %s: %s%s\n", path, strerror(errno),
			errno == ENOENT && instance
				? " (is imwired running with this configuration? -c CONFIG "
				  "names another instance)"
				: "");
		return 1;
	}
	for (;;) {
		if (len == cap) {
			char *g = cap < (64u << 20) ? realloc(text, cap ? cap * 2 : 65536) : NULL;

			if (!g) {
				fprintf(stderr, "imwire: stats: %s: too large\n", path);
				goto out;
			}
			text = g;
			cap = cap ? cap * 2 : 65536;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		fprintf(stderr, "imwire: stats: %s: read error\n", path);
	else if (stats_pretty_print(text, len, stdout) < 0)
		fprintf(stderr, "imwire: stats: %s: not a stats file\n", path);
	else
		rc = 0;
out:
	fclose(f);
	free(text);
	return rc;
}

int ops_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] = "usage: imwire stats [-c CONFIG | FILE]\n";
	const char *config_path = NULL;
	struct imw_config cfg;
	char path[4096];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (argc - optind > 1 || (config_path && optind < argc)) {
		fputs(usage, stderr);
		return 2;
	}
	if (optind < argc)
		return print_stats_file(argv[optind], false);
	/* the instance's own file: -c CONFIG's, else the default configuration's */
	if (load_config(&cfg, config_path, "stats") < 0)
		return 1;
	stats_path_of(&cfg, path, sizeof(path));
	config_free(&cfg);
	return print_stats_file(path, true);
}

/* Connect to the control socket of -c CONFIG (or of the default
 * configuration). -1 after saying why. */
static int control_of(const char *config_path, const char *cmd)
{
	struct imw_config cfg;
	char path[4096], err[512];
	int fd;

	if (load_config(&cfg, config_path, cmd) < 0)
		return -1;
	control_path_of(&cfg, path, sizeof(path));
	config_free(&cfg);
	if (!path[0]) {
		fprintf(stderr, "imwire: %s: the configuration has control_socket=off\n", cmd);
		return -1;
	}
	fd = control_connect(path, err, sizeof(err));
	if (fd < 0)
		fprintf(stderr, "imwire: %s: %s (is imwired running with this configuration? root "
				"only)\n", cmd, err);
	return fd;
}

/* Send request, copy the answer; the status is 1 when the daemon answered
 * "error ...". */
static int ask(int fd, const char *request, unsigned long max_lines, const char *cmd,
	       bool check_error)
{
	char *answer = NULL, err[256];
	size_t len = 0;
	FILE *out = check_error ? open_memstream(&answer, &len) : stdout;
	int rc;

	if (!out) {
		close(fd);
		return 1;
	}
	rc = control_request(fd, request, out, max_lines, err, sizeof(err));
	close(fd);
	if (check_error) {
		fclose(out);
		if (answer)
			fputs(answer, stdout);
		if (rc == 0 && (!answer || strncmp(answer, "ok", 2) != 0))
			rc = -1;
		free(answer);
		return rc < 0 ? 1 : 0;
	}
	if (rc < 0)
		fprintf(stderr, "imwire: %s: %s\n", cmd, err);
	return rc < 0 ? 1 : 0;
}

int ops_sessions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	bool json = false;
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:j", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			fprintf(stderr, "usage: imwire sessions [-c CONFIG] [--json]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: imwire sessions [-c CONFIG] [--json]\n");
		return 2;
	}
	fd = control_of(config_path, "sessions");
	return fd < 0 ? 1 : ask(fd, json ? "sessions json" : "sessions", 0, "sessions", false);
}

int ops_tail(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "proto", required_argument, NULL, 'p' },
		{ "kind", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
		"usage: imwire tail [-c CONFIG] [--proto NAME] [--kind KIND] [--user ID] [-n COUNT]\n";
	const char *config_path = NULL;
	char request[512] = "tail", *end;
	unsigned long count = 0;
	size_t len = 4;
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			count = strtoul(optarg, &end, 10);
			if (*end || !count) {
				fputs(usage, stderr);
				return 2;
			}
			break;
		case 'p':
		case 'k':
		case 'u':
			if (strpbrk(optarg, " \t\n") ||
			    len + strlen(optarg) + 8 >= sizeof(request)) {
				fprintf(stderr, "imwire: tail: bad filter \"%s\"\n", optarg);
				return 2;
			}
			len += (size_t)snprintf(request + len, sizeof(request) - len, " %s=%s",
						c == 'p' ? "proto" : c == 'k' ? "kind" : "user", optarg);
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	fd = control_of(config_path, "tail");
	return fd < 0 ? 1 : ask(fd, request, count, "tail", false);
}

int ops_reload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c != 'c') {
			fprintf(stderr, "usage: imwire reload [-c CONFIG]\n");
			return 2;
		}
		config_path = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: imwire reload [-c CONFIG]\n");
		return 2;
	}
	fd = control_of(config_path, "reload");
	return fd < 0 ? 1 : ask(fd, "reload", 0, "reload", true);
}
