/* IMSpector 0.9's configuration as it is: the ACL rule file
 * (acl_filename), the responder (responder_filename and its keys), the
 * keys imwire cannot honour, check-config's every problem, and notices
 * that come from the system, not from a party (the IRC and XMPP encoders
 * of a system notice). Facts from IMSpector's documentation of 0.9:
 * "allow|deny localid|all [groupchat|remoteid1 ... remoteidN]", lines
 * "processed in file order", no remote ids match every remote, "all"
 * every local id, "groupchat" every group chat; the responder informs
 * "the users (both local and remote)" once per notice_days and "the
 * sender" of what was blocked once per filtered_mins, remembering in its
 * SQLite file. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/filters.h"
#include "policy/policy.h"
#include "proto/proto.h"
#include "test_table.h"
#include "testlib.h"

static char tmpdir[] = "/tmp/imw-imspector09-XXXXXX";

static const char *path_of(const char *name)
{
	static char buf[8][256];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Every problem reported, in order, one line each. */
struct problems {
	char text[4096];
	unsigned errors;
	unsigned warnings;
};

static void add_line(struct problems *pr, const char *kind, const char *msg)
{
	size_t n = strlen(pr->text);

	snprintf(pr->text + n, sizeof(pr->text) - n, "%s: %s\n", kind, msg);
}

static void on_warning(void *arg, const char *msg)
{
	struct problems *pr = arg;

	pr->warnings++;
	add_line(pr, "warning", msg);
}

static void on_error(void *arg, const char *msg)
{
	struct problems *pr = arg;

	pr->errors++;
	add_line(pr, "error", msg);
}

static struct policy *load_mode(const char *conf, enum policy_mode mode, struct problems *pr)
{
	struct config_report r = { on_warning, on_error, pr, 0, 0 };
	struct imw_config cfg;
	struct policy *p;

	memset(pr, 0, sizeof(*pr));
	config_init(&cfg);
	config_parse_report(&cfg, "test.conf", conf, strlen(conf), &r);
	p = policy_new_report(&cfg, mode, &r);
	config_free(&cfg);
	return p;
}

static struct policy *load(const char *conf, struct problems *pr)
{
	return load_mode(conf, POLICY_LIVE, pr);
}


static struct im_event ev_of(enum imw_proto proto, enum im_dir dir, const char *local,
			     const char *remote, const char *text)
{
	struct im_event ev;

	event_init(&ev);
	ev.proto = proto;
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = dir;
	ev.ts = 1000000;
	ev.local = (char *)local;
	ev.remote = (char *)remote;
	ev.text = (char *)text;
	return ev;
}

static bool passes(struct policy *p, enum imw_proto proto, const char *local, const char *remote,
		   bool group)
{
	struct im_event ev = ev_of(proto, IM_DIR_OUT, local, remote, "hi");
	struct policy_decision d;
	bool pass;

	ev.group = group;
	d = test_decide(p, &ev);
	pass = d.action == POLICY_PASS;
	CHECK(pass || (d.filtered && strcmp(d.why, "acl") == 0));
	policy_decision_free(&d);
	return pass;
}

/* ---- the ACL rule file -------------------------------------------------- */

/* The documentation's example: lines in file order, the first match
 * decides; "allow all REMOTE" lets everyone talk to REMOTE; "deny all"
 * last blocks what no earlier line allowed. */
static void test_acl_first_match_wins(void)
{
	char conf[512];
	struct problems pr;
	struct policy *p;

	write_file("acl.txt", "# IMSpector 0.9 ACL\n"
			      "allow alice@company.com bob@example.com carol@example.com\n"
			      "deny alice@company.com\n"
			      "allow dave@company.com\n"
			      "allow all helpdesk@company.com\n"
			      "deny all\n");
	snprintf(conf, sizeof(conf), "acl_filename=%s\n", path_of("acl.txt"));
	p = load(conf, &pr);
	CHECK(p);
	CHECK_INT_EQ(pr.errors, 0);
	if (!p)
		return;
	CHECK(passes(p, IMW_PROTO_MSN, "alice@company.com", "bob@example.com", false));
	CHECK(passes(p, IMW_PROTO_MSN, "Alice@Company.com", "CAROL@example.com", false));
	CHECK(!passes(p, IMW_PROTO_MSN, "alice@company.com", "eve@example.com", false));
	/* Line 2 denies alice before line 4 could allow her the helpdesk. */
	CHECK(!passes(p, IMW_PROTO_MSN, "alice@company.com", "helpdesk@company.com", false));
	CHECK(passes(p, IMW_PROTO_MSN, "dave@company.com", "anyone@anywhere.org", false));
	CHECK(passes(p, IMW_PROTO_MSN, "erin@company.com", "helpdesk@company.com", false));
	CHECK(!passes(p, IMW_PROTO_MSN, "erin@company.com", "bob@example.com", false));
	policy_unref(p);

	/* No line matches: the event passes (no "deny all" at the end). */
	write_file("acl2.txt", "deny alice bob\n");
	snprintf(conf, sizeof(conf), "acl_filename=%s\n", path_of("acl2.txt"));
	p = load(conf, &pr);
	CHECK(p);
	if (!p)
		return;
	CHECK(!passes(p, IMW_PROTO_IRC, "alice", "bob", false));
	CHECK(passes(p, IMW_PROTO_IRC, "alice", "carol", false));
	CHECK(passes(p, IMW_PROTO_IRC, "bob", "alice", false));
	policy_unref(p);
}

/* "groupchat" matches every group conversation; a domain matches everyone
 * at it; a bare JID every resource; pfSense's "allow all all". */
static void test_acl_groupchat_domains_jids(void)
{
	char conf[512];
	struct problems pr;
	struct policy *p;

	write_file("acl3.txt", "deny all groupchat\n"
			       "allow alice example.com @partner.org bob@imwire.test\n"
			       "deny alice\n"
			       "allow all all\n");
	snprintf(conf, sizeof(conf), "acl_filename=%s\n", path_of("acl3.txt"));
	p = load(conf, &pr);
	CHECK(p);
	if (!p)
		return;
	CHECK(!passes(p, IMW_PROTO_IRC, "alice", "#imwire", true));
	CHECK(!passes(p, IMW_PROTO_IRC, "zoe", "#other", true));
	CHECK(passes(p, IMW_PROTO_IRC, "zoe", "alice", false));
	CHECK(passes(p, IMW_PROTO_MSN, "alice", "anyone@example.com", false));
	CHECK(passes(p, IMW_PROTO_MSN, "alice", "x@Partner.ORG", false));
	CHECK(!passes(p, IMW_PROTO_MSN, "alice", "x@sub.partner.org.evil", false));
	CHECK(!passes(p, IMW_PROTO_MSN, "alice", "example.com@evil.org", false));
	/* An XMPP full JID matches its listed bare JID. */
	CHECK(passes(p, IMW_PROTO_XMPP, "alice", "bob@imwire.test/laptop", false));
	CHECK(!passes(p, IMW_PROTO_XMPP, "alice", "carol@imwire.test/laptop", false));
	policy_unref(p);

	/* 0.5's lists and 0.9's rules together: an event must pass both. */
	write_file("white.txt", "alice: bob carol\n");
	write_file("acl4.txt", "deny alice carol\n");
	snprintf(conf, sizeof(conf), "whitelist_filename=%s\nacl_filename=%s\n",
		 path_of("white.txt"), path_of("acl4.txt"));
	p = load(conf, &pr);
	CHECK(p);
	if (!p)
		return;
	CHECK(passes(p, IMW_PROTO_IRC, "alice", "bob", false));
	CHECK(!passes(p, IMW_PROTO_IRC, "alice", "carol", false)); /* the rules */
	CHECK(!passes(p, IMW_PROTO_IRC, "alice", "dave", false));  /* the whitelist */
	policy_unref(p);

	/* block_unlisted belongs to the 0.5 lists: with rules alone it blocks
	 * nothing the rules allow. */
	snprintf(conf, sizeof(conf), "acl_filename=%s\nblock_unlisted=on\n", path_of("acl4.txt"));
	p = load(conf, &pr);
	CHECK(p);
	if (!p)
		return;
	CHECK(passes(p, IMW_PROTO_IRC, "alice", "bob", false));
	policy_unref(p);
}

/* Every bad line of the rule file is named, not just the first. */
static void test_acl_every_bad_line(void)
{
	char conf[512];
	struct problems pr;
	struct policy *p;

	write_file("bad_acl.txt", "allow alice bob\n"
				  "permit alice bob\n"
				  "deny\n"
				  "allow all\n"
				  "Allow bob\n");
	snprintf(conf, sizeof(conf), "acl_filename=%s\n", path_of("bad_acl.txt"));
	p = load(conf, &pr);
	CHECK(!p);
	CHECK_INT_EQ(pr.errors, 3);
	CHECK(strstr(pr.text, "bad_acl.txt:2: expected \"allow\" or \"deny\" first, got \"permit\"") !=
	      NULL);
	CHECK(strstr(pr.text, "bad_acl.txt:3: deny: missing the local id") != NULL);
	CHECK(strstr(pr.text, "bad_acl.txt:5: expected \"allow\" or \"deny\" first") != NULL);
	policy_unref(p);
}

/* ---- the responder ------------------------------------------------------ */

#define PREFIX "Message from imwire: -="
#define POSTFIX "=-"

static const char *responder_conf(const char *db)
{
	static char conf[512];

	snprintf(conf, sizeof(conf),
		 "responder_filename=%s\nnotice_days=7\nfiltered_mins=15\n"
		 "notice_response=Your activities are being logged\n"
		 "filtered_response=Blocked\nregex_replace=/forbidden//b\n",
		 path_of(db));
	return conf;
}

static long long db_count(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_open(path_of(db), &h) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* alice writes first: she and bob are told, bob in her name, right after
 * her message; nobody again within notice_days. */
static void test_responder_both_parties_once(void)
{
	struct problems pr;
	struct policy *p = load(responder_conf("r1.db"), &pr);
	struct im_event ev;
	struct policy_decision d;

	CHECK(p);
	CHECK_INT_EQ(pr.errors, 0);
	if (!p)
		return;
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_OUT, "alice", "bob", "hi bob");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_PASS);
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_STR_EQ(d.notices[0], PREFIX "Your activities are being logged" POSTFIX);
	CHECK_INT_EQ(d.n_remote_notices, 1);
	CHECK_STR_EQ(d.remote_notices[0], PREFIX "Your activities are being logged" POSTFIX);
	CHECK(d.notice_from == NULL); /* the protocol's own system sender */
	policy_decision_free(&d);
	/* bob answers, alice writes again: nobody is told twice. */
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_IN, "alice", "bob", "hi alice");
	ev.ts += 60;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices + d.n_remote_notices, 0);
	policy_decision_free(&d);
	/* bob is local too (his own flow): he was told already. */
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_IN, "bob", "alice", "hi bob");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices + d.n_remote_notices, 0);
	policy_decision_free(&d);
	/* alice to carol: only carol is new. */
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_OUT, "alice", "carol", "hi carol");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 0);
	CHECK_INT_EQ(d.n_remote_notices, 1);
	policy_decision_free(&d);
	/* A channel is no party: only the local user is told there. */
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_OUT, "dave", "#imwire", "hi all");
	ev.group = true;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_INT_EQ(d.n_remote_notices, 0);
	policy_decision_free(&d);
	/* Seven days later: again. */
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_OUT, "alice", "bob", "a week on");
	ev.ts += 7 * 86400;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_INT_EQ(d.n_remote_notices, 1);
	policy_decision_free(&d);
	policy_unref(p);
	/* The file: one row per user and type, IMSpector's protocol name. */
	CHECK_INT_EQ(db_count("r1.db", "SELECT COUNT(*) FROM responder WHERE type = 1"), 4);
	CHECK_INT_EQ(db_count("r1.db", "SELECT COUNT(*) FROM responder WHERE protocolname = 'IRC' "
				       "AND userid = 'alice' AND timestamp = 1604800"),
		     1);
}

/* bob writes first: alice is told at once, bob with alice's next
 * message of the conversation (only her stream reaches him). */
static void test_responder_remote_waits_for_outgoing(void)
{
	struct problems pr;
	struct policy *p = load(responder_conf("r2.db"), &pr);
	struct im_event ev;
	struct policy_decision d;

	CHECK(p);
	if (!p)
		return;
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_IN, "alice", "bob", "hello alice");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_INT_EQ(d.n_remote_notices, 0); /* owed */
	policy_decision_free(&d);
	CHECK_INT_EQ(db_count("r2.db", "SELECT COUNT(*) FROM responder WHERE userid = 'bob'"), 0);
	ev.ts += 5;
	d = test_decide(p, &ev); /* still owed once, not twice */
	CHECK_INT_EQ(d.n_notices + d.n_remote_notices, 0);
	policy_decision_free(&d);
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_OUT, "alice", "carol", "not bob's conversation");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_remote_notices, 1); /* carol's own notice */
	policy_decision_free(&d);
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_OUT, "alice", "bob", "hello bob");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 0);
	CHECK_INT_EQ(d.n_remote_notices, 1);
	CHECK_STR_EQ(d.remote_notices[0], PREFIX "Your activities are being logged" POSTFIX);
	policy_decision_free(&d);
	CHECK_INT_EQ(db_count("r2.db", "SELECT COUNT(*) FROM responder WHERE userid = 'bob'"), 1);
	ev.ts += 5;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices + d.n_remote_notices, 0);
	policy_decision_free(&d);
	policy_unref(p);
}

/* A restart (a new policy on the same file) tells nobody again; a dry run
 * reads the file and writes nothing. */
static void test_responder_state_survives_restart(void)
{
	struct problems pr;
	struct policy *p = load(responder_conf("r3.db"), &pr);
	struct im_event ev = ev_of(IMW_PROTO_XMPP, IM_DIR_OUT, "alice@imwire.test/home",
				   "bob@imwire.test/work", "hi");
	struct policy_decision d;

	CHECK(p);
	if (!p)
		return;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices + d.n_remote_notices, 2);
	policy_decision_free(&d);
	policy_unref(p);
	/* Users are remembered by their bare JIDs: a resource changes with
	 * every login. */
	CHECK_INT_EQ(db_count("r3.db", "SELECT COUNT(*) FROM responder WHERE protocolname = "
				       "'Jabber' AND userid IN ('alice@imwire.test', 'bob@imwire.test')"),
		     2);
	p = load(responder_conf("r3.db"), &pr);
	CHECK(p);
	if (!p)
		return;
	ev.local = "ALICE@imwire.test/phone";
	ev.ts += 3600;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices + d.n_remote_notices, 0);
	policy_decision_free(&d);
	policy_unref(p);

	p = load_mode(responder_conf("r3.db"), POLICY_DRY_RUN, &pr);
	CHECK(p);
	if (!p)
		return;
	ev.remote = "carol@imwire.test";
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 0);
	CHECK_INT_EQ(d.n_remote_notices, 1);
	policy_decision_free(&d);
	d = test_decide(p, &ev); /* remembered in memory */
	CHECK_INT_EQ(d.n_remote_notices, 0);
	policy_decision_free(&d);
	policy_unref(p);
	CHECK_INT_EQ(db_count("r3.db", "SELECT COUNT(*) FROM responder"), 2);
	/* A dry run on a file that does not exist creates none. */
	p = load_mode(responder_conf("none.db"), POLICY_DRY_RUN, &pr);
	CHECK(p);
	policy_unref(p);
	CHECK(access(path_of("none.db"), F_OK) != 0);
}

/* The sender of what was blocked hears it with what it was, once per
 * filtered_mins: alice at once, bob with alice's next message. */
static void test_responder_filtered_to_sender(void)
{
	struct problems pr;
	struct policy *p = load(responder_conf("r4.db"), &pr);
	struct im_event ev;
	struct policy_decision d;

	CHECK(p);
	if (!p)
		return;
	ev = ev_of(IMW_PROTO_MSN, IM_DIR_OUT, "alice@company.com", "bob@example.com",
		   "forbidden words");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_BLOCK);
	CHECK_INT_EQ(d.n_notices, 2);
	CHECK_STR_EQ(d.notices[1], PREFIX "Blocked: forbidden words" POSTFIX);
	CHECK_INT_EQ(d.n_remote_notices, 0); /* bob heard of no conversation */
	policy_decision_free(&d);
	ev.ts += 60;
	d = test_decide(p, &ev); /* within filtered_mins */
	CHECK_INT_EQ(d.n_notices + d.n_remote_notices, 0);
	policy_decision_free(&d);
	ev.ts += 15 * 60;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	policy_decision_free(&d);
	/* bob's blocked message: bob is its sender. */
	ev = ev_of(IMW_PROTO_MSN, IM_DIR_IN, "alice@company.com", "bob@example.com",
		   "forbidden reply");
	ev.ts += 120;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_BLOCK);
	CHECK_INT_EQ(d.n_notices + d.n_remote_notices, 0);
	policy_decision_free(&d);
	ev = ev_of(IMW_PROTO_MSN, IM_DIR_OUT, "alice@company.com", "bob@example.com", "ok then");
	ev.ts += 130;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_remote_notices, 2);
	CHECK_STR_EQ(d.remote_notices[0], PREFIX "Blocked: forbidden reply" POSTFIX);
	CHECK_STR_EQ(d.remote_notices[1], PREFIX "Your activities are being logged" POSTFIX);
	policy_decision_free(&d);
	policy_unref(p);
	CHECK_INT_EQ(db_count("r4.db", "SELECT COUNT(*) FROM responder WHERE type = 2"), 2);
}

/* An existing table "responder" of another layout is left alone; imwire
 * keeps its state beside it and says so. notice_sender per protocol;
 * prefix and postfix as configured, empty allowed. */
static void test_responder_foreign_table_and_sender(void)
{
	char conf[512];
	struct problems pr;
	struct policy *p;
	struct im_event ev;
	struct policy_decision d;
	sqlite3 *h = NULL;

	if (sqlite3_open(path_of("foreign.db"), &h) == SQLITE_OK)
		sqlite3_exec(h, "CREATE TABLE responder (who text, seen integer);"
				"INSERT INTO responder VALUES ('x', 1);",
			     NULL, NULL, NULL);
	sqlite3_close(h);
	snprintf(conf, sizeof(conf),
		 "responder_filename=%s\nnotice_days=1\nresponse_prefix=<<\n"
		 "response_postfix=\nnotice_sender=irc:Compliance jabber:policy@imwire.test\n",
		 path_of("foreign.db"));
	p = load(conf, &pr);
	CHECK(p);
	CHECK_INT_EQ(pr.errors, 0);
	CHECK_INT_EQ(pr.warnings, 1);
	CHECK(strstr(pr.text, "table responder has columns other than") != NULL);
	if (!p)
		return;
	ev = ev_of(IMW_PROTO_IRC, IM_DIR_OUT, "alice", "bob", "hi");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_STR_EQ(d.notices[0], "<<Your activities are being logged");
	CHECK_STR_EQ(d.notice_from, "Compliance");
	policy_decision_free(&d);
	ev = ev_of(IMW_PROTO_XMPP, IM_DIR_OUT, "alice@imwire.test", "bob@imwire.test", "hi");
	d = test_decide(p, &ev);
	CHECK_STR_EQ(d.notice_from, "policy@imwire.test");
	policy_decision_free(&d);
	ev = ev_of(IMW_PROTO_MSN, IM_DIR_OUT, "alice@x.com", "bob@y.com", "hi");
	d = test_decide(p, &ev);
	CHECK(d.notice_from == NULL);
	policy_decision_free(&d);
	policy_unref(p);
	CHECK_INT_EQ(db_count("foreign.db", "SELECT COUNT(*) FROM responder"), 1);
	CHECK_INT_EQ(db_count("foreign.db", "SELECT COUNT(*) FROM imwire_responder"), 6);
}

/* ---- configuration ------------------------------------------------------ */

/* The keys of IMSpector 0.9 imwire cannot honour: the configuration loads,
 * one warning each, none says "unknown key", each says what imwire does. */
static void test_unhonourable_keys_warn(void)
{
	static const char *const keys[] = {
		"port=16667",	"http_port=18080",	   "listenaddr=0.0.0.0",
		"plugin_dir=/usr/lib/imspector",	   "ssl=on",
		"ssl_key=/k.pem", "ssl_cert=/c.pem",	   "ssl_ca_key=/cak.pem",
		"ssl_ca_cert=/cac.pem", "ssl_cert_dir=/var/lib/imspector",
		"ssl_verify=block", "ssl_verify_dir=/usr/lib/ssl/certs",
		"icq_ssl=on",	"https_protocol=on",
	};
	struct config_report r;
	struct problems pr;
	struct imw_config cfg;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		memset(&pr, 0, sizeof(pr));
		memset(&r, 0, sizeof(r));
		r.warning = on_warning;
		r.error = on_error;
		r.arg = &pr;
		config_init(&cfg);
		CHECK_INT_EQ(config_parse_report(&cfg, "i.conf", keys[i], strlen(keys[i]), &r), 0);
		CHECK_INT_EQ(pr.errors, 0);
		CHECK_INT_EQ(pr.warnings, 1);
		CHECK(strstr(pr.text, "unknown key") == NULL);
		CHECK(strstr(pr.text, "ignored") != NULL);
		CHECK(strstr(pr.text, "imwire") != NULL);
		if (pr.warnings != 1)
			fprintf(stderr, "  %s: %s", keys[i], pr.text);
		config_free(&cfg);
	}
}

/* check-config's reporting: every bad line of the file, in order, the
 * good ones kept; then every problem of what the file names. */
static void test_every_problem_reported(void)
{
	const char *text = "irc_protocol=maybe\n"
			   "foo=1\n"
			   "ssl=on\n"
			   "just words\n"
			   "badwords_block_count=-3\n"
			   "jabber_protocol=on\n";
	struct problems pr;
	struct config_report r = { on_warning, on_error, &pr, 0, 0 };
	struct imw_config cfg;
	char conf[512];
	struct policy *p;

	memset(&pr, 0, sizeof(pr));
	config_init(&cfg);
	CHECK_INT_EQ(config_parse_report(&cfg, "t.conf", text, strlen(text), &r), -1);
	CHECK_INT_EQ(r.errors, 4);
	CHECK_INT_EQ(r.warnings, 1);
	CHECK(strstr(pr.text, "error: t.conf:1: irc_protocol: expected on or off") == pr.text);
	CHECK(strstr(pr.text, "error: t.conf:2: foo: unknown key\n"
			      "warning: t.conf:3: ssl: ") != NULL);
	CHECK(strstr(pr.text, "error: t.conf:4: expected key=value") != NULL);
	CHECK(strstr(pr.text, "error: t.conf:5: badwords_block_count:") != NULL);
	CHECK_STR_EQ(config_get(&cfg, "jabber_protocol"), "on");
	CHECK_INT_EQ(cfg.n_entries, 2);
	config_free(&cfg);

	write_file("acl5.txt", "allow a b\nmaybe a b\n");
	snprintf(conf, sizeof(conf),
		 "badwords_filename=/nonexistent/bad.txt\nacl_filename=%s\n"
		 "regex_replace=/(/x/\nregex_replace=/ok/fine/\nregex_replace=/[/y/\n"
		 "notice_sender=bogus:x\nresponder_filename=%s\n",
		 path_of("acl5.txt"), path_of("r5.db"));
	p = load(conf, &pr);
	CHECK(!p);
	CHECK_INT_EQ(pr.errors, 5);
	CHECK_INT_EQ(pr.warnings, 1); /* neither notice_days nor filtered_mins */
	CHECK(strstr(pr.text, "/nonexistent/bad.txt: cannot open") != NULL);
	CHECK(strstr(pr.text, "acl5.txt:2: expected \"allow\" or \"deny\"") != NULL);
	CHECK(strstr(pr.text, "test.conf:3: regex_replace:") != NULL);
	CHECK(strstr(pr.text, "test.conf:5: regex_replace:") != NULL);
	CHECK(strstr(pr.text, "notice_sender: unknown protocol \"bogus\"") != NULL);
	policy_unref(p);
}

/* ---- encoders: a system notice comes from the system ------------------- */

static void no_emit(void *arg, const struct im_event *ev)
{
	(void)arg;
	(void)ev;
}

static void check_encoded(const struct proto_module *m, const char *service, enum im_dir dir,
			  const struct im_event *ev, const char *want)
{
	static const struct proto_host host = { NULL, no_emit, NULL, NULL, NULL };
	struct proto_session s;
	struct bytebuf out;

	if (proto_session_init(&s, m, 1, "10.0.0.1:40000", &host) < 0) {
		CHECK(!"proto_session_init");
		return;
	}
	if (service)
		s.service = strdup(service);
	bytebuf_init(&out);
	CHECK_INT_EQ(m->encode(&s, dir, ev, NULL, 0, &out), 0);
	CHECK(bytebuf_terminate(&out));
	CHECK_STR_EQ(out.data ? (char *)out.data : "", want);
	bytebuf_free(&out);
	proto_session_free(&s);
}

static void test_irc_notice_from_the_system(void)
{
	const struct proto_module *irc = proto_module_by_id(IMW_PROTO_IRC);
	struct im_event ev = ev_of(IMW_PROTO_IRC, IM_DIR_IN, "alice", "bob", "-=logged=-");

	if (!irc)
		return;
	/* Before: the notice seemed to come from bob. */
	check_encoded(irc, "irc.imwire.test", IM_DIR_IN, &ev,
		      ":bob!bob@imwire PRIVMSG alice :-=logged=-\r\n");
	ev.notice = true;
	check_encoded(irc, "irc.imwire.test", IM_DIR_IN, &ev,
		      ":irc.imwire.test NOTICE alice :-=logged=-\r\n");
	/* A network name is no server name: a nick of our own. */
	check_encoded(irc, "ExampleNet", IM_DIR_IN, &ev, ":imwire!imwire@imwire NOTICE alice :-=logged=-\r\n");
	ev.notice_from = "Compliance";
	check_encoded(irc, "irc.imwire.test", IM_DIR_IN, &ev,
		      ":Compliance!Compliance@imwire NOTICE alice :-=logged=-\r\n");
	ev.notice_from = "policy!bot@corp.example";
	check_encoded(irc, NULL, IM_DIR_IN, &ev, ":policy!bot@corp.example NOTICE alice :-=logged=-\r\n");
	/* In a channel the local user hears it alone. */
	ev.group = true;
	ev.remote = "#imwire";
	check_encoded(irc, NULL, IM_DIR_IN, &ev, ":policy!bot@corp.example NOTICE alice :-=logged=-\r\n");
	/* Towards the remote: a NOTICE in the local user's name. */
	ev.group = false;
	ev.remote = "bob";
	ev.notice_from = NULL;
	check_encoded(irc, NULL, IM_DIR_OUT, &ev, "NOTICE bob :-=logged=-\r\n");
}

static void test_xmpp_notice_from_the_system(void)
{
	const struct proto_module *xmpp = proto_module_by_id(IMW_PROTO_XMPP);
	struct im_event ev = ev_of(IMW_PROTO_XMPP, IM_DIR_IN, "alice@imwire.test/home",
				   "bob@imwire.test", "-=logged=-");

	if (!xmpp)
		return;
	ev.notice = true;
	check_encoded(xmpp, NULL, IM_DIR_IN, &ev,
		      "<message from='imwire.test' to='alice@imwire.test/home' type='headline' "
		      "id='imwire-1'><body>-=logged=-</body></message>");
	ev.notice_from = "policy@imwire.test";
	check_encoded(xmpp, NULL, IM_DIR_IN, &ev,
		      "<message from='policy@imwire.test' to='alice@imwire.test/home' "
		      "type='headline' id='imwire-1'><body>-=logged=-</body></message>");
	check_encoded(xmpp, NULL, IM_DIR_OUT, &ev,
		      "<message to='bob@imwire.test' type='chat' id='imwire-1'><body>-=logged=-"
		      "</body></message>");
}

int main(void)
{
	char cmd[64];

	if (!mkdtemp(tmpdir)) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	RUN_TEST(test_acl_first_match_wins);
	RUN_TEST(test_acl_groupchat_domains_jids);
	RUN_TEST(test_acl_every_bad_line);
	RUN_TEST(test_responder_both_parties_once);
	RUN_TEST(test_responder_remote_waits_for_outgoing);
	RUN_TEST(test_responder_state_survives_restart);
	RUN_TEST(test_responder_filtered_to_sender);
	RUN_TEST(test_responder_foreign_table_and_sender);
	RUN_TEST(test_unhonourable_keys_warn);
	RUN_TEST(test_every_problem_reported);
	RUN_TEST(test_irc_notice_from_the_system);
	RUN_TEST(test_xmpp_notice_from_the_system);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	TEST_MAIN_END();
}
