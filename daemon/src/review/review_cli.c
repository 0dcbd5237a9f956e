/* The review commands of `imwire`: search, conversations, show, export,
 * web and web-user. imwire.c hands them over with review_cli_main. */
#include "review/review_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "review/archive.h"
#include "review/integrity.h"
#include "review/export.h"
#include "review/thread.h"
#include "review/users.h"
#include "review/web.h"
#include "util/bytebuf.h"

static const char *const commands[] = { "search", "conversations", "show", "export", "web",
					"web-user" };

bool review_cli_handles(const char *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i]) == 0)
			return true;
	return false;
}

void review_cli_usage(FILE *out)
{
	fprintf(out,
		"  search [ARCHIVE] [FILTERS] [--json] [WORD...]\n"
		"      events matching the filters and every WORD (full text), newest first\n"
		"  conversations [ARCHIVE] [FILTERS] [--gap SECONDS]\n"
		"      threads: one local and one remote id (or one room) without a pause\n"
		"      longer than the gap (default 1800 s); each named by its first event's id\n"
		"  show [ARCHIVE] [--gap SECONDS] CONVERSATION\n"
		"      a conversation as a reader sees it, policy hits marked\n"
		"  export [ARCHIVE] [FILTERS] --format csv|jsonl|eml|mbox|html -o DIR [WORD...]\n"
		"      [--conversation ID]...: files and DIR/manifest.json (sizes, SHA-256)\n"
		"  web [ARCHIVE] --users FILE --audit-log FILE [--listen ADDR:PORT]\n"
		"      [--tls-cert PEM --tls-key PEM] [--control SOCKET]\n"
		"      the read-only review console in a browser\n"
		"  web-user add NAME [--role reviewer|admin] | del NAME | list  --users FILE\n"
		"      manage the console's users (password read from standard input)\n"
		"    ARCHIVE: --config FILE (its sqlite_file, pgsql_connect, mysql_* or\n"
		"      jsonl_file) or --sqlite PATH, --pgsql CONNINFO, --jsonl PATH,\n"
		"      --mysql SERVER --mysql-database DB [--mysql-user U] [--mysql-password P]\n"
		"    FILTERS: --local ID --remote ID --proto P --kind K --dir in|out\n"
		"      --since T --until T (Unix seconds or YYYY-MM-DD[THH:MM[:SS]], UTC)\n"
		"      --action A --rule R --category C --hits --limit N\n");
}

enum {
	OPT_CONFIG = 256,
	OPT_SQLITE,
	OPT_PGSQL,
	OPT_MYSQL,
	OPT_MYSQL_DB,
	OPT_MYSQL_USER,
	OPT_MYSQL_PW,
	OPT_JSONL,
	OPT_LOCAL,
	OPT_REMOTE,
	OPT_PROTO,
	OPT_KIND,
	OPT_DIR,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_ACTION,
	OPT_RULE,
	OPT_CATEGORY,
	OPT_HITS,
	OPT_LIMIT,
	OPT_GAP,
	OPT_JSON,
	OPT_FORMAT,
	OPT_OUT,
	OPT_CONV,
	OPT_USERS,
	OPT_AUDIT,
	OPT_LISTEN,
	OPT_CERT,
	OPT_KEY,
	OPT_CONTROL,
	OPT_ROLE,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "sqlite", required_argument, NULL, OPT_SQLITE },
	{ "pgsql", required_argument, NULL, OPT_PGSQL },
	{ "mysql", required_argument, NULL, OPT_MYSQL },
	{ "mysql-database", required_argument, NULL, OPT_MYSQL_DB },
	{ "mysql-user", required_argument, NULL, OPT_MYSQL_USER },
	{ "mysql-password", required_argument, NULL, OPT_MYSQL_PW },
	{ "jsonl", required_argument, NULL, OPT_JSONL },
	{ "local", required_argument, NULL, OPT_LOCAL },
	{ "remote", required_argument, NULL, OPT_REMOTE },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "action", required_argument, NULL, OPT_ACTION },
	{ "rule", required_argument, NULL, OPT_RULE },
	{ "category", required_argument, NULL, OPT_CATEGORY },
	{ "hits", no_argument, NULL, OPT_HITS },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "gap", required_argument, NULL, OPT_GAP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "output", required_argument, NULL, OPT_OUT },
	{ "conversation", required_argument, NULL, OPT_CONV },
	{ "users", required_argument, NULL, OPT_USERS },
	{ "audit-log", required_argument, NULL, OPT_AUDIT },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "tls-cert", required_argument, NULL, OPT_CERT },
	{ "tls-key", required_argument, NULL, OPT_KEY },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

#define MAX_CONVS 256

struct cli {
	const char *cmd;
	struct imw_config cfg;
	bool have_cfg;
	struct archive_spec spec;
	struct review_query q;
	struct bytebuf words;
	int64_t gap;
	bool json;
	const char *format, *out;
	int64_t convs[MAX_CONVS];
	size_t n_convs;
	struct web_options web;
	const char *role;
	char **args;
	int n_args;
};

static int bad(const struct cli *c, const char *what, const char *value)
{
	fprintf(stderr, "imwire %s: %s%s%s\n", c->cmd, what, value ? ": " : "", value ? value : "");
	return 2;
}

/* Each option group's parser answers NOT_MINE for an option of another
 * group, else 0 or the exit status of a bad value. */
#define NOT_MINE (-1)

/* Where the archive is: --config, or one backend's options. */
static int parse_archive(struct cli *c, int o, char *arg)
{
	char err[512];

	switch (o) {
	case OPT_CONFIG:
		if (c->have_cfg)
			return bad(c, "--config given twice", NULL);
		if (config_load(&c->cfg, arg, err, sizeof(err), NULL) < 0)
			return bad(c, err, NULL);
		c->have_cfg = true;
		if (!archive_spec_from_config(&c->spec, &c->cfg))
			return bad(c, "the configuration names no archive "
				      "(sqlite_file, pgsql_connect, mysql_server, jsonl_file)",
				   arg);
		return 0;
	case OPT_SQLITE:
		c->spec.kind = ARCHIVE_SQLITE;
		c->spec.path = arg;
		return 0;
	case OPT_PGSQL:
		c->spec.kind = ARCHIVE_PGSQL;
		c->spec.conninfo = arg;
		return 0;
	case OPT_MYSQL:
		c->spec.kind = ARCHIVE_MYSQL;
		c->spec.server = arg;
		return 0;
	case OPT_MYSQL_DB:
		c->spec.database = arg;
		return 0;
	case OPT_MYSQL_USER:
		c->spec.user = arg;
		return 0;
	case OPT_MYSQL_PW:
		c->spec.password = arg;
		return 0;
	case OPT_JSONL:
		c->spec.kind = ARCHIVE_JSONL;
		c->spec.path = arg;
		return 0;
	default:
		return NOT_MINE;
	}
}

/* The FILTERS of a query (review_cli_usage). */
static int parse_filter(struct cli *c, int o, char *arg)
{
	switch (o) {
	case OPT_LOCAL:
		c->q.local = arg;
		return 0;
	case OPT_REMOTE:
		c->q.remote = arg;
		return 0;
	case OPT_PROTO:
		c->q.proto = arg;
		return 0;
	case OPT_KIND:
		c->q.kind = arg;
		return 0;
	case OPT_DIR:
		if (strcmp(arg, "in") != 0 && strcmp(arg, "out") != 0)
			return bad(c, "--dir is in or out", arg);
		c->q.dir = strcmp(arg, "out") == 0;
		return 0;
	case OPT_SINCE:
	case OPT_UNTIL:
		if (!review_parse_time(arg, o == OPT_SINCE ? &c->q.since : &c->q.until))
			return bad(c, "not a time (Unix seconds or YYYY-MM-DD[THH:MM[:SS]])", arg);
		return 0;
	case OPT_ACTION:
		c->q.action = arg;
		return 0;
	case OPT_RULE:
		c->q.rule = arg;
		return 0;
	case OPT_CATEGORY:
		c->q.category = arg;
		return 0;
	case OPT_HITS:
		c->q.hits_only = true;
		return 0;
	default:
		return NOT_MINE;
	}
}

/* --limit, --gap and --conversation: positive numbers (a conversation
 * may be written as its name, "c" and its number). */
static int parse_number(struct cli *c, int o, char *arg)
{
	char *end;
	long long v;

	if (o != OPT_LIMIT && o != OPT_GAP && o != OPT_CONV)
		return NOT_MINE;
	v = strtoll(arg, &end, 10);
	if (*arg == 'c' && o == OPT_CONV)
		v = strtoll(arg + 1, &end, 10);
	if (*end || v <= 0)
		return bad(c, "not a positive number", arg);
	if (o == OPT_LIMIT)
		c->q.limit = (size_t)v;
	else if (o == OPT_GAP)
		c->gap = v;
	else if (c->n_convs == MAX_CONVS)
		return bad(c, "too many --conversation", NULL);
	else
		c->convs[c->n_convs++] = v;
	return 0;
}

/* What a command produces: search's --json, export's format and
 * directory, the web console's and web-user's settings. */
static int parse_output(struct cli *c, int o, char *arg)
{
	switch (o) {
	case OPT_JSON:
		c->json = true;
		return 0;
	case OPT_FORMAT:
		c->format = arg;
		return 0;
	case 'o':
	case OPT_OUT:
		c->out = arg;
		return 0;
	case OPT_USERS:
		c->web.users_file = arg;
		return 0;
	case OPT_AUDIT:
		c->web.audit_log = arg;
		return 0;
	case OPT_LISTEN:
		c->web.listen = arg;
		return 0;
	case OPT_CERT:
		c->web.tls_cert = arg;
		return 0;
	case OPT_KEY:
		c->web.tls_key = arg;
		return 0;
	case OPT_CONTROL:
		c->web.control_socket = arg;
		return 0;
	case OPT_ROLE:
		c->role = arg;
		return 0;
	default:
		return NOT_MINE;
	}
}

/* 0 and the words in c->args, 1 after --help, 2 on a bad option. */
static int parse(struct cli *c, int argc, char **argv)
{
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "o:h", long_opts, NULL)) != -1) {
		rc = parse_archive(c, o, optarg);
		if (rc == NOT_MINE)
			rc = parse_filter(c, o, optarg);
		if (rc == NOT_MINE)
			rc = parse_number(c, o, optarg);
		if (rc == NOT_MINE)
			rc = parse_output(c, o, optarg);
		if (rc == NOT_MINE && (o == 'h' || o == OPT_HELP)) {
			review_cli_usage(stdout);
			return 1;
		}
		if (rc == NOT_MINE) {
			review_cli_usage(stderr);
			return 2;
		}
		if (rc)
			return rc;
	}
	c->args = argv + optind;
	c->n_args = argc - optind;
	return 0;
}

/* What a terminal shows of archive text: controls escaped, so message
 * text cannot move the cursor or retitle the window. */
static void put_text(FILE *out, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\r')
			fputs("\\r", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) /* C1 controls */
			fprintf(out, "\\u%04x", p[1]), p++;
		else
			fputc(*p, out);
	}
}

static void put_marks(FILE *out, const struct review_row *r)
{
	if (r->filtered)
		fputs(" [BLOCKED]", out);
	if (r->action && *r->action && strcmp(r->action, "forwarded") != 0)
		fputs(" [", out), put_text(out, r->action), fputs("]", out);
	if (r->rule && *r->rule)
		fputs(" [rule ", out), put_text(out, r->rule), fputs("]", out);
	if (r->categories && *r->categories)
		fputs(" [categories ", out), put_text(out, r->categories), fputs("]", out);
}

static int print_row(const struct review_row *r, void *arg)
{
	const struct cli *c = arg;
	struct bytebuf b;
	char t[32];

	if (c->json) {
		bytebuf_init(&b);
		if (!export_json_row(&b, r)) {
			bytebuf_free(&b);
			return -1;
		}
		fwrite(b.data, 1, b.len, stdout);
		bytebuf_free(&b);
		return 0;
	}
	review_format_time(r->ts, t, sizeof(t));
	printf("%lld  %s  %s  %s  %s  ", (long long)r->id, t, review_proto_display(r->proto),
	       r->outgoing ? "out" : "in ", review_row_kind(r));
	put_text(stdout, r->local);
	fputs(r->outgoing ? " -> " : " <- ", stdout);
	put_text(stdout, r->remote);
	put_marks(stdout, r);
	fputs("  ", stdout);
	put_text(stdout, r->text);
	fputc('\n', stdout);
	return 0;
}

static void join_words(struct cli *c)
{
	int i;

	for (i = 0; i < c->n_args; i++) {
		if (i)
			bytebuf_append_byte(&c->words, ' ');
		bytebuf_append_str(&c->words, c->args[i]);
	}
	if (c->n_args && bytebuf_terminate(&c->words))
		c->q.text = (const char *)c->words.data;
}

static int open_archive(struct cli *c, struct archive *a)
{
	if (archive_open(a, &c->spec) < 0) {
		fprintf(stderr, "imwire %s: %s\n", c->cmd, a->err);
		return -1;
	}
	return 0;
}

static int cmd_search(struct cli *c)
{
	struct archive a;
	int rc;

	join_words(c);
	if (!c->q.limit)
		c->q.limit = 100;
	c->q.newest_first = true;
	if (open_archive(c, &a) < 0)
		return 1;
	rc = archive_scan(&a, &c->q, print_row, c);
	if (rc < 0)
		fprintf(stderr, "imwire search: %s\n", a.err);
	archive_close(&a);
	return rc < 0 ? 1 : 0;
}

static void print_conversation(const struct conversation *cv)
{
	char t1[32], t2[32];
	size_t i;

	review_format_time(cv->start, t1, sizeof(t1));
	review_format_time(cv->end, t2, sizeof(t2));
	printf("%lld  %s  %s  %s  ", (long long)cv->id, t1, t2, cv->proto);
	if (cv->group) {
		fputs("room ", stdout);
		put_text(stdout, cv->remote);
	} else {
		put_text(stdout, *cv->local ? cv->local : "(unknown)");
		fputs(" <-> ", stdout);
		put_text(stdout, cv->remote);
	}
	printf("  %zu events", cv->n_rows);
	if (cv->n_hits)
		printf(", %zu policy hits", cv->n_hits);
	fputs("  [", stdout);
	for (i = 0; i < cv->n_participants; i++) {
		if (i)
			fputs(", ", stdout);
		put_text(stdout, cv->participants[i]);
	}
	fputs("]\n", stdout);
}

/* Conversations of the selection; with words, those having a matching
 * event (the whole conversation, as a reviewer needs it). */
static int load_conversations(struct cli *c, struct archive *a, struct row_list *rows,
			      struct conversation_set *set)
{
	struct review_query q = c->q;
	struct row_list one;
	struct conversation cv;
	size_t i, k, keep;

	if (c->n_convs) {
		memset(rows, 0, sizeof(*rows));
		memset(set, 0, sizeof(*set));
		set->conv = calloc(c->n_convs, sizeof(*set->conv));
		if (!set->conv)
			return -1;
		for (i = 0; i < c->n_convs; i++) {
			int rc = thread_load(a, c->convs[i], c->gap, &one, &cv);

			if (rc != 0) {
				fprintf(stderr, "imwire %s: conversation %lld: %s\n", c->cmd,
					(long long)c->convs[i], rc > 0 ? "no such conversation" : a->err);
				return -1;
			}
			/* Move the rows over, renumbering the indices. */
			for (k = 0; k < one.n; k++) {
				if (rows->n == rows->cap) {
					size_t nc = rows->cap ? rows->cap * 2 : 256;
					struct review_row *p = realloc(rows->rows, nc * sizeof(*p));

					if (!p)
						return -1;
					rows->rows = p;
					rows->cap = nc;
				}
				rows->rows[rows->n++] = one.rows[k];
			}
			for (k = 0; k < cv.n_rows; k++)
				cv.rows[k] += rows->n - one.n;
			free(one.rows);
			set->conv[set->n++] = cv;
		}
		return 0;
	}
	q.text = NULL;
	q.threads_only = true;
	q.by_time = true;
	q.limit = 0;
	q.newest_first = false;
	if (archive_collect(a, &q, rows) < 0) {
		fprintf(stderr, "imwire %s: %s\n", c->cmd, a->err);
		return -1;
	}
	if (thread_build(rows, c->gap, set) < 0)
		return -1;
	if (!c->q.text)
		return 0;
	for (i = 0, keep = 0; i < set->n; i++) {
		bool hit = false;

		for (k = 0; !hit && k < set->conv[i].n_rows; k++)
			hit = review_text_matches(rows->rows[set->conv[i].rows[k]].text, c->q.text);
		if (hit)
			set->conv[keep++] = set->conv[i];
		else
			conversation_free(&set->conv[i]);
	}
	set->n = keep;
	return 0;
}

static int cmd_conversations(struct cli *c)
{
	struct archive a;
	struct row_list rows = { 0 };
	struct conversation_set set = { 0 };
	size_t i, from = 0;
	int rc = 0;

	join_words(c);
	if (open_archive(c, &a) < 0)
		return 1;
	if (load_conversations(c, &a, &rows, &set) < 0)
		rc = 1;
	if (rc == 0 && c->q.limit && set.n > c->q.limit)
		from = set.n - c->q.limit; /* the most recent */
	for (i = from; rc == 0 && i < set.n; i++)
		print_conversation(&set.conv[i]);
	conversation_set_free(&set);
	row_list_free(&rows);
	archive_close(&a);
	return rc;
}

static int cmd_show(struct cli *c)
{
	struct archive a;
	struct row_list rows;
	struct conversation cv;
	char *end;
	const char *arg;
	int64_t id;
	size_t i;
	int rc;

	if (c->n_args != 1)
		return bad(c, "usage: imwire show [ARCHIVE] [--gap SECONDS] CONVERSATION", NULL);
	arg = c->args[0][0] == 'c' ? c->args[0] + 1 : c->args[0];
	id = strtoll(arg, &end, 10);
	if (*end || id <= 0)
		return bad(c, "not a conversation id", c->args[0]);
	if (open_archive(c, &a) < 0)
		return 1;
	rc = thread_load(&a, id, c->gap, &rows, &cv);
	if (rc != 0) {
		fprintf(stderr, "imwire show: %lld: %s\n", (long long)id,
			rc > 0 ? "no conversation starts with this event" : a.err);
		archive_close(&a);
		return 1;
	}
	print_conversation(&cv);
	for (i = 0; i < cv.n_rows; i++) {
		const struct review_row *r = &rows.rows[cv.rows[i]];
		char t[32];

		review_format_time(r->ts, t, sizeof(t));
		printf("%s %s ", review_row_is_hit(r) ? "!!" : "  ", t);
		put_text(stdout, r->outgoing ? r->local : r->remote);
		if (!cv.group) {
			fputs(" -> ", stdout);
			put_text(stdout, r->outgoing ? r->remote : r->local);
		}
		if (strcmp(review_row_kind(r), "message") != 0)
			printf(" (%s)", review_row_kind(r));
		put_marks(stdout, r);
		fputs(": ", stdout);
		put_text(stdout, r->text);
		fputc('\n', stdout);
		if (r->delivered_text && *r->delivered_text && strcmp(r->delivered_text, r->text)) {
			fputs("     delivered as: ", stdout);
			put_text(stdout, r->delivered_text);
			fputc('\n', stdout);
		}
	}
	conversation_free(&cv);
	row_list_free(&rows);
	archive_close(&a);
	return 0;
}

static void describe_archive(const struct archive_spec *s, char *buf, size_t size)
{
	switch (s->kind) {
	case ARCHIVE_SQLITE:
		snprintf(buf, size, "sqlite:%s", s->path);
		break;
	case ARCHIVE_PGSQL:
		snprintf(buf, size, "pgsql:%s", s->conninfo);
		break;
	case ARCHIVE_MYSQL:
		snprintf(buf, size, "mysql:%s/%s", s->server ? s->server : "",
			 s->database ? s->database : "");
		break;
	case ARCHIVE_JSONL:
		snprintf(buf, size, "jsonl:%s", s->path);
		break;
	default:
		snprintf(buf, size, "none");
	}
}

static int cmd_export(struct cli *c, int argc, char **argv)
{
	struct export_job job;
	struct export_result res;
	struct archive a;
	struct row_list rows = { 0 };
	struct conversation_set set = { 0 };
	struct bytebuf sel;
	char desc[512], err[512], chain_err[512] = "";
	struct verify_result chain;
	enum export_format f;
	int i, rc = 1;

	if (!c->format || !export_format_parse(c->format, &f))
		return bad(c, "--format csv, jsonl, eml, mbox or html is needed", c->format);
	if (!c->out)
		return bad(c, "-o DIR is needed", NULL);
	join_words(c);
	if (open_archive(c, &a) < 0)
		return 1;
	bytebuf_init(&sel);
	for (i = 1; i < argc; i++)
		if (bytebuf_append_str(&sel, i > 1 ? " " : "") && bytebuf_append_str(&sel, argv[i]))
			continue;
	if (!bytebuf_terminate(&sel))
		goto out;
	describe_archive(&c->spec, desc, sizeof(desc));
	if (export_by_conversation(f) || c->n_convs) {
		if (load_conversations(c, &a, &rows, &set) < 0)
			goto out;
	} else {
		c->q.by_time = true;
		if (archive_collect(&a, &c->q, &rows) < 0) {
			fprintf(stderr, "imwire export: %s\n", a.err);
			goto out;
		}
	}
	memset(&job, 0, sizeof(job));
	job.chain_rc = review_integrity(&c->spec, &chain, chain_err, sizeof(chain_err));
	job.chain = &chain;
	job.chain_err = chain_err;
	if (job.chain_rc != 0)
		fprintf(stderr, "imwire export: warning: the archive's chain %s: %s\n",
			job.chain_rc < 0 ? "could not be verified" : "does not verify",
			job.chain_rc < 0 ? chain_err : chain.first);
	job.format = f;
	job.dir = c->out;
	job.archive = desc;
	job.selection = (const char *)sel.data;
	job.rows = &rows;
	job.convs = &set;
	job.progress = isatty(STDERR_FILENO) && rows.n >= 10000;
	if (export_write(&job, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire export: %s\n", err);
		goto out;
	}
	fprintf(stderr, "imwire export: %zu events, %zu conversations, %zu files in %s "
			"(manifest.json sha256 %s)\n",
		res.events, res.conversations, res.files, c->out, res.manifest_sha256);
	rc = 0;
out:
	bytebuf_free(&sel);
	conversation_set_free(&set);
	row_list_free(&rows);
	archive_close(&a);
	return rc;
}

static int cmd_web_user(struct cli *c)
{
	char err[512];

	if (!c->web.users_file)
		return bad(c, "--users FILE is needed", NULL);
	if (c->n_args == 1 && strcmp(c->args[0], "list") == 0)
		return users_cmd_list(c->web.users_file, stdout, err, sizeof(err)) < 0
			       ? (fprintf(stderr, "imwire web-user: %s\n", err), 1)
			       : 0;
	if (c->n_args == 2 && strcmp(c->args[0], "add") == 0) {
		if (users_cmd_add(c->web.users_file, c->args[1], c->role ? c->role : "reviewer", stdin,
				  err, sizeof(err)) < 0) {
			fprintf(stderr, "imwire web-user: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (c->n_args == 2 && strcmp(c->args[0], "del") == 0) {
		if (users_cmd_del(c->web.users_file, c->args[1], err, sizeof(err)) < 0) {
			fprintf(stderr, "imwire web-user: %s\n", err);
			return 1;
		}
		return 0;
	}
	return bad(c, "usage: imwire web-user add NAME [--role reviewer|admin] | del NAME | list"
		      " --users FILE",
		   NULL);
}

int review_cli_main(int argc, char **argv)
{
	struct cli c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cmd = argv[0];
	config_init(&c.cfg);
	review_query_init(&c.q);
	bytebuf_init(&c.words);
	c.gap = THREAD_DEFAULT_GAP;
	rc = parse(&c, argc, argv);
	if (rc == 1)
		rc = 0;
	else if (rc == 0 && strcmp(c.cmd, "web-user") == 0)
		rc = cmd_web_user(&c);
	else if (rc == 0 && c.spec.kind == ARCHIVE_NONE)
		rc = bad(&c, "which archive? --config FILE, --sqlite, --pgsql, --mysql or --jsonl",
			 NULL);
	else if (rc == 0 && strcmp(c.cmd, "search") == 0)
		rc = cmd_search(&c);
	else if (rc == 0 && strcmp(c.cmd, "conversations") == 0)
		rc = cmd_conversations(&c);
	else if (rc == 0 && strcmp(c.cmd, "show") == 0)
		rc = cmd_show(&c);
	else if (rc == 0 && strcmp(c.cmd, "export") == 0)
		rc = cmd_export(&c, argc, argv);
	else if (rc == 0) {
		c.web.archive = &c.spec;
		c.web.gap = c.gap;
		rc = web_run(&c.web);
	}
	bytebuf_free(&c.words);
	config_free(&c.cfg);
	return rc;
}
