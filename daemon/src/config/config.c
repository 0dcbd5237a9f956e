#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "util/text.h"

enum value_kind {
	VALUE_STRING, /* not empty */
	VALUE_TEXT,   /* may be empty ("response_postfix=") */
	VALUE_BOOL,
	VALUE_UINT,
	VALUE_CHAR,
	VALUE_NETS,
	VALUE_QUEUES, /* N or N-M */
	VALUE_CHOICE, /* one of choices, '|'-separated */
};

struct key_spec {
	const char *key;
	enum value_kind kind;
	const char *warning; /* accepted but meaningless here: say why */
};

/* What imwire does instead of what a key of IMSpector's asked for: it is
 * never a TCP endpoint, so it listens nowhere, loads nothing and holds no
 * certificate (IMSpector 0.9 set these; a config carrying them still
 * starts, with one warning per key). */
#define W_LISTENS_NOWHERE                                                                 \
	"imwire listens on no port or address: it is inline, never a TCP endpoint (no "     \
	"REDIRECT); `imwire setup` steers IM flows on the bridge into imwired's NFQUEUE "    \
	"instead; ignored"
#define W_NO_HTTP_PROXY                                                                   \
	"imwire is no HTTP proxy: it reads IM flows on the wire, by payload whatever the "   \
	"port, but does not yet decode IM tunnelled through a web proxy's CONNECT; ignored"
#define W_NO_PLUGINS                                                                      \
	"imwire loads no plugins: every protocol, filter and log is built in and switched " \
	"by its own key; ignored"
#define W_NO_TLS                                                                          \
	"imwire cannot read TLS: never a TCP endpoint, it presents no certificate (no "      \
	"man-in-the-middle); a TLS session is logged as an encrypted event and "              \
	"block_encrypted= refuses STARTTLS instead; ignored"
#define W_NO_VERIFY                                                                       \
	"imwire never connects to a server itself, so it checks no certificate (the client " \
	"does); TLS sessions are logged as encrypted events; ignored"
#define W_ICQ_SSL                                                                         \
	"imwire cannot read OSCAR over TLS (never a TCP endpoint); cleartext OSCAR is "      \
	"decoded when icq_protocol is on and a TLS session is logged as encrypted; ignored"

#define PROTOCOL_KEY_ROW(ID, num, nm, ims, cfg, ...) \
	{ IMW_PROTO_STR(cfg) "_protocol", VALUE_BOOL, NULL },

/* IMSpector's keys first (same meaning), then imwire's. */
static const struct key_spec known_keys[] = {
	{ "user", VALUE_STRING, NULL },
	{ "group", VALUE_STRING, NULL },
	{ "pidfilename", VALUE_STRING, NULL },
	{ "port", VALUE_UINT, W_LISTENS_NOWHERE },
	{ "plugin_dir", VALUE_STRING, W_NO_PLUGINS },
	/* <cfg>_protocol: one per row of the protocol table */
	IMW_PROTOCOLS(PROTOCOL_KEY_ROW)
	{ "log_typing_events", VALUE_BOOL, NULL },
	{ "file_logging_dir", VALUE_STRING, NULL },
	{ "sqlite_file", VALUE_STRING, NULL },
	{ "mysql_server", VALUE_STRING, NULL },
	{ "mysql_database", VALUE_STRING, NULL },
	{ "mysql_username", VALUE_STRING, NULL },
	{ "mysql_password", VALUE_STRING, NULL },
	{ "pgsql_connect", VALUE_STRING, NULL },
	{ "sensor_name", VALUE_STRING, NULL },  /* imwire: the `sensor` column */
	{ "spool_dir", VALUE_STRING, NULL },    /* imwire: the write-ahead log and cursors */
	{ "spool_max_bytes", VALUE_UINT, NULL },
	{ "fsync", VALUE_STRING, NULL },        /* batch, interval or off (sink_writer.h) */
	{ "fsync_interval_ms", VALUE_UINT, NULL },
	{ "db_timeout", VALUE_UINT, NULL },     /* seconds: connecting, one statement */
	{ "syslog_events", VALUE_BOOL, NULL },
	{ "syslog_socket", VALUE_STRING, NULL },
	/* imwire: the archive (README, "The archive") */
	{ "checkpoint_key", VALUE_STRING, NULL },        /* imwire keygen FILE makes one */
	{ "checkpoint_log", VALUE_STRING, NULL },
	{ "checkpoint_interval", VALUE_UINT, NULL },     /* seconds */
	{ "regex_flag", VALUE_STRING, NULL },            /* /re/category/flags, may repeat */
	{ "badwords_flag", VALUE_STRING, NULL },         /* category: bad words flag, never censor */
	{ "acl_flag", VALUE_STRING, NULL },              /* category: ACL denials flag, never block */
	{ "alert_categories", VALUE_STRING, NULL },      /* categories that alert ("all") */
	{ "alert_syslog_priority", VALUE_STRING, NULL }, /* e.g. warning, alert */
	{ "alerts_file", VALUE_STRING, NULL },           /* JSON lines of alerted events */
	{ "alert_webhook", VALUE_STRING, NULL },         /* http(s) URL: one POST per event */
	{ "retention_days", VALUE_UINT, NULL },
	{ "retention_interval", VALUE_UINT, NULL },      /* seconds between purges (3600) */
	{ "legal_hold", VALUE_STRING, NULL },            /* ids, or a file of ids: kept */
	{ "compress_after_days", VALUE_UINT, NULL },     /* gzip old day files (1; 0: never) */
	{ "pgsql_partition", VALUE_STRING, NULL },       /* none | day | week | month */
	{ "pgsql_partitions_ahead", VALUE_UINT, NULL },  /* partitions made ahead (3) */
	{ "badwords_filename", VALUE_STRING, NULL },
	{ "badwords_replace_character", VALUE_CHAR, NULL },
	{ "badwords_block_count", VALUE_UINT, NULL },
	{ "whitelist_filename", VALUE_STRING, NULL },
	{ "blacklist_filename", VALUE_STRING, NULL },
	{ "block_unlisted", VALUE_BOOL, NULL },
	{ "db_filter_filename", VALUE_STRING, NULL },
	{ "block_files", VALUE_BOOL, NULL },
	{ "block_webcams", VALUE_BOOL, NULL },
	/* IMSpector 0.9 */
	{ "acl_filename", VALUE_STRING, NULL },       /* "allow|deny local|all [remote...]" */
	{ "responder_filename", VALUE_STRING, NULL }, /* SQLite: who was told what, when */
	{ "notice_days", VALUE_UINT, NULL },          /* also imwire's notice_text period */
	{ "notice_response", VALUE_STRING, NULL },
	{ "filtered_mins", VALUE_UINT, NULL },
	{ "filtered_response", VALUE_STRING, NULL },
	{ "response_prefix", VALUE_TEXT, NULL },
	{ "response_postfix", VALUE_TEXT, NULL },
	{ "listenaddr", VALUE_STRING, W_LISTENS_NOWHERE },
	{ "http_port", VALUE_UINT, W_NO_HTTP_PROXY },
	{ "https_protocol", VALUE_BOOL, W_NO_HTTP_PROXY },
	{ "ssl", VALUE_BOOL, W_NO_TLS },
	{ "ssl_key", VALUE_STRING, W_NO_TLS },
	{ "ssl_cert", VALUE_STRING, W_NO_TLS },
	{ "ssl_ca_key", VALUE_STRING, W_NO_TLS },
	{ "ssl_ca_cert", VALUE_STRING, W_NO_TLS },
	{ "ssl_cert_dir", VALUE_STRING, W_NO_TLS },
	{ "ssl_verify", VALUE_STRING, W_NO_VERIFY },
	{ "ssl_verify_dir", VALUE_STRING, W_NO_VERIFY },
	{ "icq_ssl", VALUE_BOOL, W_ICQ_SSL },
	/* imwire */
	{ "local_nets", VALUE_NETS, NULL },
	{ "jsonl_file", VALUE_STRING, NULL },
	{ "regex_replace", VALUE_STRING, NULL },   /* /PATTERN/REPLACEMENT/FLAGS, repeatable */
	{ "block_encrypted", VALUE_STRING, NULL }, /* protocols whose STARTTLS is refused */
	/* allow | strip (the offer of TLS blanked where the server does not
	 * require it) | refuse (block_encrypted for every protocol) */
	{ "encrypted", VALUE_STRING, NULL },
	{ "notice_text", VALUE_STRING, NULL },     /* told once per conversation and period */
	{ "blocked_notice_text", VALUE_STRING, NULL }, /* told when something is blocked */
	{ "blocked_notice_interval", VALUE_UINT, NULL }, /* seconds, per conversation */
	{ "notice_sender", VALUE_STRING, NULL }, /* who notices come from (see README) */
	{ "hold_deadline_ms", VALUE_UINT, NULL },
	{ "hold_hole_ms", VALUE_UINT, NULL },      /* held behind a hole at most (default 3000) */
	{ "mss_headroom", VALUE_UINT, NULL },
	{ "bpf_pin_dir", VALUE_STRING, NULL }, /* the classifier's maps (default: per netns) */
	/* what a successor daemon needs of edited flows (inline/handover.h) */
	{ "handover_file", VALUE_STRING, NULL },   /* default /run/imwire/<pin dir name>/handover */
	{ "handover_file_size", VALUE_UINT, NULL }, /* bytes, when the file is made */
	/* resource limits and statistics */
	{ "max_flows", VALUE_UINT, NULL },          /* tracked flows; eviction by class past it */
	{ "idle_timeout", VALUE_UINT, NULL },       /* seconds before an idle flow expires */
	{ "halfopen_timeout", VALUE_UINT, NULL },   /* the same for a flow that never carried data */
	{ "flow_buffer_bytes", VALUE_UINT, NULL },  /* out-of-order bytes per flow direction */
	{ "max_buffered_bytes", VALUE_UINT, NULL }, /* reassembly + framing bytes, all flows */
	{ "stats_file", VALUE_STRING, NULL },       /* imwired: counters as JSON, every second */
	{ "log_file", VALUE_STRING, NULL },         /* imwired's own messages, beside syslog/stderr */
	{ "sandbox", VALUE_BOOL, NULL },            /* seccomp and Landlock after start-up */
	/* file transfers (files/): follow offers to their data, hash, type, store, scan */
	{ "files", VALUE_BOOL, NULL },                /* follow file offers (default on) */
	{ "files_dir", VALUE_STRING, NULL },          /* store files here by SHA-256 */
	{ "files_max_file_bytes", VALUE_UINT, NULL }, /* larger files are not stored */
	{ "files_max_total_mb", VALUE_UINT, NULL },   /* files_dir stops growing here */
	{ "files_expect_seconds", VALUE_UINT, NULL }, /* an offer waits this long for its data */
	{ "clamd_socket", VALUE_STRING, NULL },       /* scan completed files with clamd */
	{ "scan_timeout_ms", VALUE_UINT, NULL },
	{ "scan_max_bytes", VALUE_UINT, NULL },       /* larger files are not sent to clamd */
	{ "scan_hold", VALUE_BOOL, NULL },            /* inline: hold a transfer's end until judged */
	{ "scan_fail", VALUE_STRING, NULL },          /* open or closed: no verdict in time */
	{ "scan_hold_max_bytes", VALUE_UINT, NULL },  /* held bytes, all transfers of a worker */
	/* routing (route/) */
	{ "local_routing", VALUE_STRING, NULL }, /* protocols routed locally: irc,jabber or all */
	{ "address_map", VALUE_STRING, NULL },   /* file of "alice@msn = 12345@icq" pairs */
	/* operation: imwire setup (the systemd units' ExecStartPre) and imwired */
	{ "bridge", VALUE_STRING, NULL },      /* the bridge whose IM traffic is steered */
	{ "queues", VALUE_QUEUES, NULL },      /* NFQUEUE N or N-M, one worker each */
	/* a packet the kernel cannot queue to a worker that fell behind:
	 * drop (its sender resends it) or pass (unseen, untranslated) */
	{ "queue_overflow", VALUE_CHOICE, NULL },
	{ "queue_maxlen", VALUE_UINT, NULL }, /* packets waiting in a queue (65536) */
	{ "classifier", VALUE_BOOL, NULL },    /* tc BPF classifier on the bridge's ports */
	{ "steer_ports", VALUE_STRING, NULL }, /* ports steered when the classifier is off */
	{ "firewall_backend", VALUE_CHOICE, NULL }, /* auto, iptables, nftables */
	{ "bpf_pin_dir", VALUE_STRING, NULL }, /* the classifier's maps (one per instance) */
	{ "metrics_listen", VALUE_STRING, NULL },   /* ADDRESS:PORT of the Prometheus exposition */
	{ "metrics_textfile", VALUE_STRING, NULL }, /* the same, a file for node_exporter */
	{ "control_socket", VALUE_STRING, NULL },   /* imwire sessions/tail/reload; off: none */
};

/* The values a VALUE_CHOICE key takes, '|'-separated. */
static const struct {
	const char *key;
	const char *choices;
} choice_keys[] = {
	{ "firewall_backend", "auto|iptables|nftables" },
	{ "queue_overflow", "drop|pass" },
};

/* bot_<name>=id@proto,...: a bot and the addresses it answers to. */
static const struct key_spec bot_key = { "bot_", VALUE_STRING, NULL };

/* <cfg>_protocol keys and the protocol they switch. */
#define PROTOCOL_SWITCH_ROW(ID, num, nm, ims, cfg, ...) \
	{ IMW_PROTO_STR(cfg) "_protocol", IMW_PROTO_##ID },

static const struct {
	const char *key;
	enum imw_proto proto;
} protocol_keys[] = { IMW_PROTOCOLS(PROTOCOL_SWITCH_ROW) };

void config_init(struct imw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

void config_free(struct imw_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_entries; i++) {
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->local_nets);
	free(cfg->path);
	config_init(cfg);
}

bool config_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

const char *config_key_name(size_t i)
{
	if (i < sizeof(known_keys) / sizeof(known_keys[0]))
		return known_keys[i].key;
	if (i == sizeof(known_keys) / sizeof(known_keys[0]))
		return "bot_NAME"; /* bot_key: any name after the prefix */
	return NULL;
}

bool config_parse_queues(const char *v, unsigned *first, unsigned *last)
{
	unsigned long a, b;
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	a = strtoul(v, &end, 10);
	b = a;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return false;
		b = strtoul(end + 1, &end, 10);
	}
	if (*end || errno || b < a || b > 65535 || b - a >= CONFIG_MAX_QUEUES)
		return false;
	*first = (unsigned)a;
	*last = (unsigned)b;
	return true;
}

static const char *choices_of(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(choice_keys) / sizeof(choice_keys[0]); i++)
		if (strcmp(choice_keys[i].key, key) == 0)
			return choice_keys[i].choices;
	return "";
}

static bool is_choice(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (p && *p) {
		if (strncmp(p, v, n) == 0 && (p[n] == '|' || p[n] == '\0') && n)
			return true;
		p = strchr(p, '|');
		if (p)
			p++;
	}
	return false;
}

static const struct key_spec *find_key(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (strcmp(known_keys[i].key, key) == 0)
			return &known_keys[i];
	if (strncmp(key, bot_key.key, strlen(bot_key.key)) == 0 && key[strlen(bot_key.key)])
		return &bot_key;
	return NULL;
}

static void report(struct config_report *r, bool error, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void report(struct config_report *r, bool error, const char *fmt, va_list ap)
{
	void (*fn)(void *, const char *) = error ? r->error : r->warning;
	char *msg = NULL;

	if (error)
		r->errors++;
	else
		r->warnings++;
	if (!fn)
		return;
	if (vasprintf(&msg, fmt, ap) < 0) {
		fn(r->arg, "out of memory (while reporting a configuration problem)");
		return;
	}
	fn(r->arg, msg);
	free(msg);
}

void config_report_error(struct config_report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(r, true, fmt, ap);
	va_end(ap);
}

void config_report_warning(struct config_report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(r, false, fmt, ap);
	va_end(ap);
}

static bool parse_nets(struct imw_config *cfg, const char *value)
{
	char *copy = strdup(value), *tok, *save = NULL;
	struct net_prefix p, *grown;
	bool ok = true;

	if (!copy)
		return false;
	for (tok = strtok_r(copy, ", \t", &save); tok && ok; tok = strtok_r(NULL, ", \t", &save)) {
		if (!net_prefix_parse(tok, &p)) {
			ok = false;
			break;
		}
		grown = realloc(cfg->local_nets, (cfg->n_local_nets + 1) * sizeof(*grown));
		if (!grown) {
			ok = false;
			break;
		}
		cfg->local_nets = grown;
		cfg->local_nets[cfg->n_local_nets++] = p;
	}
	free(copy);
	return ok;
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/* An on/off value: the protocol switches and log_typing_events take it. */
static bool interpret_bool(struct imw_config *cfg, const char *name, unsigned line,
			   const char *key, const char *value, struct config_report *r)
{
	bool b;
	size_t i;

	if (!config_parse_bool(value, &b)) {
		config_report_error(r, "%s:%u: %s: expected on or off, got \"%s\"", name, line, key,
				    value);
		return false;
	}
	for (i = 0; i < sizeof(protocol_keys) / sizeof(protocol_keys[0]); i++) {
		if (strcmp(protocol_keys[i].key, key) == 0) {
			cfg->protocol_listed = true;
			cfg->protocol_on[protocol_keys[i].proto] = b;
		}
	}
	if (strcmp(key, "log_typing_events") == 0)
		cfg->log_typing_events = b;
	return true;
}

/* Numbers and characters: a count, one character, a queue range. */
static bool check_scalar(enum value_kind kind, const char *name, unsigned line, const char *key,
			 const char *value, struct config_report *r)
{
	unsigned a, z;
	char *end;

	switch (kind) {
	case VALUE_UINT:
		errno = 0;
		if (!*value || strtoul(value, &end, 10) > 0xFFFFFFFFUL || *end || errno ||
		    value[0] == '-') {
			config_report_error(r, "%s:%u: %s: expected a non-negative number, got \"%s\"",
					    name, line, key, value);
			return false;
		}
		return true;
	case VALUE_CHAR:
		if (strlen(value) != 1) {
			config_report_error(r, "%s:%u: %s: expected a single character, got \"%s\"",
					    name, line, key, value);
			return false;
		}
		return true;
	case VALUE_QUEUES:
		if (!config_parse_queues(value, &a, &z)) {
			config_report_error(r, "%s:%u: %s: expected N or N-M (at most %d queues), got \"%s\"",
					    name, line, key, CONFIG_MAX_QUEUES, value);
			return false;
		}
		return true;
	default:
		return true;
	}
}

/* Words: address lists (kept in cfg), a choice, a non-empty string;
 * free text needs nothing. */
static bool check_words(struct imw_config *cfg, enum value_kind kind, const char *name,
			unsigned line, const char *key, const char *value, struct config_report *r)
{
	switch (kind) {
	case VALUE_NETS:
		if (!parse_nets(cfg, value)) {
			config_report_error(
				r, "%s:%u: %s: expected address/prefix list like 10.0.0.0/8, got \"%s\"",
				name, line, key, value);
			return false;
		}
		return true;
	case VALUE_CHOICE:
		if (!is_choice(choices_of(key), value)) {
			config_report_error(r, "%s:%u: %s: expected one of %s, got \"%s\"", name, line,
					    key, choices_of(key), value);
			return false;
		}
		return true;
	case VALUE_STRING:
		if (!*value) {
			config_report_error(r, "%s:%u: %s: empty value", name, line, key);
			return false;
		}
		if (strcmp(key, "scan_fail") == 0 && strcmp(value, "open") != 0 &&
		    strcmp(value, "closed") != 0) {
			config_report_error(r, "%s:%u: %s: expected open or closed, got \"%s\"", name,
					    line, key, value);
			return false;
		}
		if (strcmp(key, "encrypted") == 0 && strcmp(value, "allow") != 0 &&
		    strcmp(value, "strip") != 0 && strcmp(value, "refuse") != 0) {
			config_report_error(r, "%s:%u: %s: expected allow, strip or refuse, got \"%s\"",
					    name, line, key, value);
			return false;
		}
		return true;
	default:
		return true;
	}
}

/* Checks and interprets one setting; false after reporting why not. */
static bool interpret(struct imw_config *cfg, const char *name, unsigned line, const char *key,
		      const char *value, struct config_report *r)
{
	const struct key_spec *spec = find_key(key);
	bool ok;

	if (!spec) {
		config_report_error(r, "%s:%u: %s: unknown key", name, line, key);
		return false;
	}
	switch (spec->kind) {
	case VALUE_BOOL:
		ok = interpret_bool(cfg, name, line, key, value, r);
		break;
	case VALUE_UINT:
	case VALUE_CHAR:
	case VALUE_QUEUES:
		ok = check_scalar(spec->kind, name, line, key, value, r);
		break;
	default:
		ok = check_words(cfg, spec->kind, name, line, key, value, r);
		break;
	}
	if (!ok)
		return false;
	if (spec->warning)
		config_report_warning(r, "%s:%u: %s: %s", name, line, key, spec->warning);
	return true;
}

static bool add_entry(struct imw_config *cfg, const char *key, const char *value, unsigned line)
{
	struct config_entry *grown = realloc(cfg->entries, (cfg->n_entries + 1) * sizeof(*grown));

	if (!grown)
		return false;
	cfg->entries = grown;
	grown = &cfg->entries[cfg->n_entries];
	grown->key = strdup(key);
	grown->value = strdup(value);
	grown->line = line;
	if (!grown->key || !grown->value) {
		free(grown->key);
		free(grown->value);
		return false;
	}
	cfg->n_entries++;
	return true;
}

int config_parse_report(struct imw_config *cfg, const char *name, const char *text, size_t len,
			struct config_report *r)
{
	char *copy = text_dup(text, len), *p, *nl, *eq, *key, *value;
	unsigned line = 0, errors = r->errors;

	if (!copy) {
		config_report_error(r, "%s: out of memory", name);
		return -1;
	}
	if (strlen(copy) != len) {
		free(copy);
		config_report_error(r, "%s: contains a NUL byte: not a text file", name);
		return -1;
	}
	/* Messages about the settings name the file they came from. */
	if (!cfg->path && !(cfg->path = strdup(name))) {
		free(copy);
		config_report_error(r, "%s: out of memory", name);
		return -1;
	}
	/* A bad line is reported and left out; the next one is read all the
	 * same, so one run names every problem of the file. */
	for (p = copy; p && *p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		line++;
		key = trim(p, p + strlen(p));
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			config_report_error(r, "%s:%u: expected key=value, got \"%s\"", name, line, key);
			continue;
		}
		value = trim(eq + 1, eq + 1 + strlen(eq + 1));
		key = trim(key, eq);
		if (!*key) {
			config_report_error(r, "%s:%u: missing key before '='", name, line);
			continue;
		}
		if (!interpret(cfg, name, line, key, value, r))
			continue;
		if (!add_entry(cfg, key, value, line)) {
			config_report_error(r, "%s: out of memory", name);
			break;
		}
	}
	free(copy);
	return r->errors > errors ? -1 : 0;
}

static void keep_first_error(void *arg, const char *msg)
{
	struct config_first_error *fe = arg;

	if (fe->have)
		return;
	fe->have = true;
	if (fe->err_size)
		snprintf(fe->err, fe->err_size, "%s", msg);
}

static void pass_warning(void *arg, const char *msg)
{
	struct config_first_error *fe = arg;

	if (fe->warn)
		fe->warn(msg);
}

void config_report_first_error(struct config_report *r, struct config_first_error *fe, char *err,
			       size_t err_size, config_warn_fn warn)
{
	fe->err = err;
	fe->err_size = err_size;
	fe->have = false;
	fe->warn = warn;
	r->warning = pass_warning;
	r->error = keep_first_error;
	r->arg = fe;
	r->errors = 0;
	r->warnings = 0;
}

int config_parse(struct imw_config *cfg, const char *name, const char *text, size_t len,
		 char *err, size_t err_size, config_warn_fn warn)
{
	struct config_first_error fe;
	struct config_report r;

	config_report_first_error(&r, &fe, err, err_size, warn);
	return config_parse_report(cfg, name, text, len, &r);
}

int config_load_report(struct imw_config *cfg, const char *path, struct config_report *r)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *g;
	size_t len = 0, cap = 0, n;
	int rc;

	if (!f) {
		config_report_error(r, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len + 4096 > cap) {
			g = realloc(buf, cap ? cap * 2 : 8192);
			if (!g) {
				free(buf);
				fclose(f);
				config_report_error(r, "%s: out of memory", path);
				return -1;
			}
			buf = g;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		config_report_error(r, "%s: read error", path);
		return -1;
	}
	fclose(f);
	rc = config_parse_report(cfg, path, buf ? buf : "", len, r);
	free(buf);
	free(cfg->path);
	cfg->path = strdup(path);
	if (!cfg->path) {
		config_report_error(r, "%s: out of memory", path);
		return -1;
	}
	return rc;
}

int config_load(struct imw_config *cfg, const char *path, char *err, size_t err_size,
		config_warn_fn warn)
{
	struct config_first_error fe;
	struct config_report r;

	config_report_first_error(&r, &fe, err, err_size, warn);
	return config_load_report(cfg, path, &r);
}

const char *config_get(const struct imw_config *cfg, const char *key)
{
	size_t i = cfg->n_entries;

	while (i-- > 0)
		if (strcmp(cfg->entries[i].key, key) == 0)
			return cfg->entries[i].value;
	return NULL;
}

void config_instance(const char *path, char *out, size_t size)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	size_t n;

	base = base ? base + 1 : path;
	if (!base || !*base) {
		snprintf(out, size, "imwire");
		return;
	}
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".conf") == 0)
		n -= 5;
	snprintf(out, size, "%.*s", (int)n, base);
}

unsigned config_line_of(const struct imw_config *cfg, const char *key)
{
	size_t i = cfg->n_entries;

	while (i-- > 0)
		if (strcmp(cfg->entries[i].key, key) == 0)
			return cfg->entries[i].line;
	return 0;
}

int config_parse_protocols(const char *list, bool set[IMW_PROTO_MAX], char *err,
			   size_t err_size)
{
	char *copy = strdup(list), *tok, *save = NULL;
	enum imw_proto p;
	int i, rc = 0;

	if (!copy) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "all") == 0) {
			for (i = 1; i < IMW_PROTO_MAX; i++)
				set[i] = true;
			continue;
		}
		p = event_proto_from_name(tok);
		if (p == IMW_PROTO_NONE) {
			snprintf(err, err_size, "unknown protocol \"%s\" (irc, jabber, msn, ... or all)",
				 tok);
			rc = -1;
			break;
		}
		set[p] = true;
	}
	free(copy);
	return rc;
}
