/* The policy stage: every example of IMSpector's README (seeds/imspector.txt)
 * with its stated outcome, and imwire's own rules. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"
#include "test_table.h"
#include "testlib.h"

static char tmpdir[] = "/tmp/imw-policy-XXXXXX";

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

static struct policy *load(const char *conf, char *err, size_t n)
{
	struct imw_config cfg;
	struct policy *p = NULL;

	config_init(&cfg);
	err[0] = '\0';
	if (config_parse(&cfg, "test.conf", conf, strlen(conf), err, n, NULL) == 0)
		p = policy_new(&cfg, POLICY_LIVE, err, n);
	config_free(&cfg);
	return p;
}

static struct im_event msg(enum im_dir dir, const char *local, const char *remote,
			   const char *text)
{
	struct im_event ev;

	event_init(&ev);
	ev.proto = IMW_PROTO_MSN;
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = dir;
	ev.ts = 1000;
	ev.local = (char *)local;
	ev.remote = (char *)remote;
	ev.text = (char *)text;
	return ev;
}

static enum policy_action act(struct policy *p, const struct im_event *ev)
{
	struct policy_decision d = test_decide(p, ev);
	enum policy_action a = d.action;

	CHECK(d.filtered == (a == POLICY_BLOCK || a == POLICY_REPLACE_PDU));
	policy_decision_free(&d);
	return a;
}

static bool allowed(struct policy *p, enum im_dir dir, const char *local, const char *remote)
{
	struct im_event ev = msg(dir, local, remote, "hello");

	return act(p, &ev) != POLICY_BLOCK;
}

/* "Bad words will be replaced with the character. Default is an asterisk."
 * "If a message contains more then this many bad words then the message
 * will be completely blocked, not just replaced." */
static void test_badwords_replace_and_block_count(void)
{
	char err[256], conf[512];
	struct policy *p;
	struct im_event ev;
	struct policy_decision d;

	write_file("bad.txt", "# naughty words\nfrak\n\nsmeg\n");
	snprintf(conf, sizeof(conf), "badwords_filename=%s\nbadwords_block_count=2\n",
		 path_of("bad.txt"));
	p = load(conf, err, sizeof(err));
	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_OUT, "alice", "bob", "oh FRAK, what the smeg");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_REPLACE_TEXT);
	CHECK_STR_EQ(d.text, "oh ****, what the ****"); /* same length, any case */
	CHECK(!d.filtered);
	CHECK_STR_EQ(ev.text, "oh FRAK, what the smeg"); /* the log keeps the original */
	policy_decision_free(&d);
	ev = msg(IM_DIR_IN, "alice", "bob", "frak frak smeg"); /* 3 > 2 */
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_BLOCK);
	CHECK(d.filtered);
	CHECK_STR_EQ(d.why, "badwords");
	policy_decision_free(&d);
	ev = msg(IM_DIR_IN, "alice", "bob", "clean words only");
	CHECK_INT_EQ(act(p, &ev), POLICY_PASS);
	policy_unref(p);

	snprintf(conf, sizeof(conf), "badwords_filename=%s\nbadwords_replace_character=#\n",
		 path_of("bad.txt"));
	p = load(conf, err, sizeof(err));
	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_OUT, "alice", "bob", "smegsmeg frak frak frak");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_REPLACE_TEXT); /* no block count: never blocked */
	CHECK_STR_EQ(d.text, "######## #### #### ####");
	policy_decision_free(&d);
	policy_unref(p);
}

/* "local@local.com: remote1@remote1.com remote2@remote2.com / 1234: 5678
 * 8765 — if this list was used as a whitelist, then 1234 could talk to 5678
 * and 8765, but none else. Likewise for the local@local.com user." (The
 * README's prose says 87654 where the list says 8765: the list decides.) */
static void test_acl_whitelist_example(void)
{
	char err[256], conf[512];
	struct policy *p;

	write_file("white.txt", "local@local.com: remote1@remote1.com remote2@remote2.com\n"
				"1234: 5678 8765\n");
	snprintf(conf, sizeof(conf), "whitelist_filename=%s\n", path_of("white.txt"));
	p = load(conf, err, sizeof(err));
	CHECK(p);
	if (!p)
		return;
	CHECK(allowed(p, IM_DIR_OUT, "1234", "5678"));
	CHECK(allowed(p, IM_DIR_IN, "1234", "8765"));
	CHECK(!allowed(p, IM_DIR_OUT, "1234", "87654"));
	CHECK(!allowed(p, IM_DIR_IN, "1234", "9999"));
	CHECK(allowed(p, IM_DIR_OUT, "local@local.com", "remote1@remote1.com"));
	CHECK(allowed(p, IM_DIR_IN, "LOCAL@local.com", "remote2@REMOTE2.com"));
	CHECK(!allowed(p, IM_DIR_OUT, "local@local.com", "other@remote.com"));
	/* Unlisted local users: allowed by default. */
	CHECK(allowed(p, IM_DIR_OUT, "someone", "anyone"));
	policy_unref(p);
}

/* "Whitelists are processed first, so if a match is made on the whitelist
 * then the blacklist is not examined. By default, if no match occurs after
 * all list processing then the request is allowed ... block_unlisted=on." */
static void test_acl_order_and_block_unlisted(void)
{
	char err[256], conf[512];
	struct policy *p;

	write_file("white2.txt", "alice: bob\n");
	write_file("black.txt", "alice: bob mallory\ncarol: dave\n");
	snprintf(conf, sizeof(conf), "whitelist_filename=%s\nblacklist_filename=%s\n",
		 path_of("white2.txt"), path_of("black.txt"));
	p = load(conf, err, sizeof(err));
	CHECK(p);
	if (!p)
		return;
	CHECK(allowed(p, IM_DIR_OUT, "alice", "bob"));     /* whitelist wins */
	CHECK(!allowed(p, IM_DIR_IN, "carol", "dave"));    /* blacklisted */
	CHECK(allowed(p, IM_DIR_IN, "carol", "erin"));     /* unlisted pair */
	CHECK(allowed(p, IM_DIR_IN, "frank", "grace"));    /* unlisted local */
	policy_unref(p);
	snprintf(conf, sizeof(conf), "whitelist_filename=%s\nblacklist_filename=%s\nblock_unlisted=on\n",
		 path_of("white2.txt"), path_of("black.txt"));
	p = load(conf, err, sizeof(err));
	CHECK(p);
	if (!p)
		return;
	CHECK(allowed(p, IM_DIR_OUT, "alice", "bob"));
	CHECK(!allowed(p, IM_DIR_IN, "carol", "erin"));
	CHECK(!allowed(p, IM_DIR_IN, "frank", "grace"));
	policy_unref(p);
	/* A line without "local:" is an error naming file and line. */
	write_file("broken.txt", "alice: bob\njust words\n");
	snprintf(conf, sizeof(conf), "blacklist_filename=%s\n", path_of("broken.txt"));
	p = load(conf, err, sizeof(err));
	CHECK(!p);
	CHECK(strstr(err, "broken.txt:2:") != NULL);
	policy_unref(p);
}

static int sql(const char *db, const char *stmt)
{
	sqlite3 *h;
	int rc;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(h, stmt, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

static long sql_count(const char *db, const char *where)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	char q[512];
	long n = -1;

	snprintf(q, sizeof(q), "SELECT count(*) FROM lists WHERE %s", where);
	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* The README's example: "enable AWL for all local users except the user
 * example@company.com - which is to always be allowed": three rows. */
static void test_dbfilter_awl_example(void)
{
	const char *db = path_of("filter.db");
	char err[256], conf[512];
	struct policy *p;

	unlink(db);
	snprintf(conf, sizeof(conf), "db_filter_filename=%s\n", db);
	p = load(conf, err, sizeof(err)); /* creates the table */
	CHECK(p);
	if (!p)
		return;
	CHECK_INT_EQ(sql(db, "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES "
			     "(NULL, NULL, 2, 1, 0);"
			     "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES "
			     "(NULL, NULL, 3, 1, 0);"
			     "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES "
			     "('example@company.com', NULL, 1, 1, 0);"),
		     0);
	/* Row order does not matter (BLOCK was inserted first). */
	CHECK(allowed(p, IM_DIR_IN, "example@company.com", "stranger@x.com"));
	CHECK(allowed(p, IM_DIR_OUT, "example@company.com", "anyone@x.com"));
	CHECK_INT_EQ(sql_count(db, "type = 2"), 0); /* ACCEPT matched first: no AWL row */
	/* Others: incoming from a stranger is blocked ... */
	CHECK(!allowed(p, IM_DIR_IN, "joe@company.com", "friend@x.com"));
	/* ... until joe writes to them: allowed, and an ACCEPT/AUTO row appears. */
	CHECK(allowed(p, IM_DIR_OUT, "joe@company.com", "friend@x.com"));
	CHECK_INT_EQ(sql_count(db, "localid = 'joe@company.com' AND remoteid = 'friend@x.com' "
				   "AND action = 1 AND type = 2 AND timestamp = 1000"),
		     1);
	CHECK(allowed(p, IM_DIR_IN, "joe@company.com", "friend@x.com")); /* the reply passes */
	CHECK(!allowed(p, IM_DIR_IN, "joe@company.com", "other@x.com"));
	/* Edited from outside while open: takes effect at once. */
	CHECK_INT_EQ(sql(db, "DELETE FROM lists WHERE type = 2"), 0);
	CHECK(!allowed(p, IM_DIR_IN, "joe@company.com", "friend@x.com"));
	CHECK_INT_EQ(sql(db, "DELETE FROM lists WHERE action = 2"), 0);
	CHECK(allowed(p, IM_DIR_IN, "joe@company.com", "other@x.com")); /* 4. finally allow */
	policy_unref(p);
}

/* A dry run (imwire read --config) never writes, but answers as if it had. */
static void test_dbfilter_dry_run_writes_nothing(void)
{
	const char *db = path_of("dry.db");
	char err[256], conf[512];
	struct imw_config cfg;
	struct policy *p;

	unlink(db);
	CHECK_INT_EQ(sql(db, "CREATE TABLE lists (id integer PRIMARY KEY AUTOINCREMENT, localid text, "
			     "remoteid text, action integer NOT NULL, type integer NOT NULL, "
			     "timestamp integer NOT NULL);"
			     "INSERT INTO lists (localid, remoteid, action, type, timestamp) VALUES "
			     "(NULL, NULL, 3, 1, 0), (NULL, NULL, 2, 1, 0);"),
		     0);
	snprintf(conf, sizeof(conf), "db_filter_filename=%s\n", db);
	config_init(&cfg);
	CHECK_INT_EQ(config_parse(&cfg, "t.conf", conf, strlen(conf), err, sizeof(err), NULL), 0);
	p = policy_new(&cfg, POLICY_DRY_RUN, err, sizeof(err));
	config_free(&cfg);
	CHECK(p);
	if (!p)
		return;
	CHECK(!allowed(p, IM_DIR_IN, "joe", "amy"));
	CHECK(allowed(p, IM_DIR_OUT, "joe", "amy"));
	CHECK(allowed(p, IM_DIR_IN, "joe", "amy"));
	CHECK_INT_EQ(sql_count(db, "type = 2"), 0);
	policy_unref(p);
}

static void test_block_files_and_webcams(void)
{
	char err[256];
	struct policy *p = load("block_files=on\nblock_webcams=on\n", err, sizeof(err));
	struct im_event ev;

	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_IN, "alice", "bob", "report.pdf (1000 bytes)");
	ev.kind = IM_KIND_FILE;
	CHECK_INT_EQ(act(p, &ev), POLICY_BLOCK);
	ev.kind = IM_KIND_WEBCAM;
	CHECK_INT_EQ(act(p, &ev), POLICY_BLOCK);
	ev.kind = IM_KIND_MESSAGE;
	CHECK_INT_EQ(act(p, &ev), POLICY_PASS);
	policy_unref(p);
	p = load("block_files=off\n", err, sizeof(err));
	CHECK(p && policy_is_empty(p));
	policy_unref(p);
}

static void test_regex_rules(void)
{
	char err[256];
	struct policy *p = load("regex_replace=/([0-9]{4})-[0-9]{4}-[0-9]{4}-([0-9]{4})/\\1-xxxx-xxxx-\\2/\n"
				"regex_replace=|secret|[the word & was here]|i\n"
				"regex_replace=/rm -rf/x/b\n",
				err, sizeof(err));
	struct im_event ev;
	struct policy_decision d;

	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_OUT, "alice", "bob", "card 1234-5678-9012-3456, SECRET");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_REPLACE_TEXT);
	CHECK_STR_EQ(d.text, "card 1234-xxxx-xxxx-3456, [the word SECRET was here]");
	policy_decision_free(&d);
	ev = msg(IM_DIR_OUT, "alice", "bob", "please rm -rf /");
	CHECK_INT_EQ(act(p, &ev), POLICY_BLOCK);
	policy_unref(p);
	p = load("regex_replace=/a(/b/\n", err, sizeof(err));
	CHECK(!p);
	CHECK(strstr(err, ":1: regex_replace: bad pattern") != NULL);
	p = load("\nregex_replace=/a/b/q\n", err, sizeof(err));
	CHECK(!p);
	CHECK(strstr(err, ":2: regex_replace: unknown flag") != NULL);
}

static void test_starttls_refused(void)
{
	char err[256];
	struct policy *p = load("block_encrypted=irc,jabber\n", err, sizeof(err));
	static const char line[] = ":srv 670 alice :STARTTLS successful, go ahead\r\n";
	struct im_event ev;
	struct policy_decision d;

	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_IN, "alice", "srv", "STARTTLS");
	ev.proto = IMW_PROTO_IRC;
	ev.kind = IM_KIND_ENCRYPTED;
	ev.pdu_data = (const uint8_t *)line;
	ev.pdu_len = sizeof(line) - 1;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_REPLACE_PDU);
	CHECK(d.filtered);
	CHECK(d.pdu_len == strlen(":srv 691 alice :STARTTLS refused by policy\r\n") &&
	      memcmp(d.pdu, ":srv 691 alice :STARTTLS refused by policy\r\n", d.pdu_len) == 0);
	policy_decision_free(&d);
	ev.proto = IMW_PROTO_XMPP;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_REPLACE_PDU);
	CHECK(d.pdu_len == strlen("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
	policy_decision_free(&d);
	ev.proto = IMW_PROTO_MSN; /* not listed */
	CHECK_INT_EQ(act(p, &ev), POLICY_PASS);
	policy_unref(p);
	CHECK(!load("block_encrypted=irc,smoke-signals\n", err, sizeof(err)));
	CHECK(strstr(err, "block_encrypted: unknown protocol") != NULL);
}

static void test_notices(void)
{
	char err[256];
	struct policy *p = load("notice_text=This chat is logged.\nnotice_days=1\n"
				"blocked_notice_text=Blocked by policy.\nblocked_notice_interval=60\n"
				"regex_replace=/forbidden//b\n",
				err, sizeof(err));
	struct im_event ev;
	struct policy_decision d;

	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_OUT, "alice", "bob", "hi");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_STR_EQ(d.notices[0], "This chat is logged.");
	/* The text is the policy's; the mark travels beside it for the
	 * protocols that send a notice in somebody's name (proto/notice.h):
	 * the defaults when response_prefix/postfix are not set. */
	CHECK_STR_EQ(d.notice_prefix, "Message from imwire: -=");
	CHECK_STR_EQ(d.notice_postfix, "=-");
	policy_decision_free(&d);
	ev.dir = IM_DIR_IN; /* the same conversation, either way */
	ev.ts += 3600;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 0);
	policy_decision_free(&d);
	ev.ts += 86400; /* a day later: again */
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	policy_decision_free(&d);
	ev = msg(IM_DIR_OUT, "alice", "carol", "hi"); /* another conversation */
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	policy_decision_free(&d);
	ev = msg(IM_DIR_OUT, "alice", "bob", "forbidden words");
	ev.ts = 1000 + 3600 + 86400 + 10;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_BLOCK);
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_STR_EQ(d.notices[0], "Blocked by policy.");
	policy_decision_free(&d);
	ev.ts += 30; /* rate-limited */
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 0);
	policy_decision_free(&d);
	ev.ts += 60;
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	policy_decision_free(&d);
	policy_unref(p);
	/* A configured mark, without a responder (a value's trailing blanks
	 * are trimmed: a prefix ends in a mark of its own, as "-=" does). */
	p = load("notice_text=Logged.\nresponse_prefix=[imwire] \nresponse_postfix=\n", err,
		 sizeof(err));
	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_OUT, "alice", "bob", "hi");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_STR_EQ(d.notices[0], "Logged.");
	CHECK_STR_EQ(d.notice_prefix, "[imwire]");
	CHECK_STR_EQ(d.notice_postfix, "");
	policy_decision_free(&d);
	policy_unref(p);
}

static void test_missing_list_file_names_it(void)
{
	char err[256];
	struct policy *p = load("badwords_filename=/nonexistent/bad.txt\n", err, sizeof(err));

	CHECK(!p);
	CHECK(strstr(err, "/nonexistent/bad.txt: cannot open") != NULL);
}


/* The archive's account: the rule that decided (key=entry), the flag
 * categories, the event's action and delivered text; flag modes. */
static void test_rules_named(void)
{
	char err[256], conf[1024];
	struct policy *p;
	struct im_event ev, logged;
	struct policy_decision d;

	write_file("bw", "darn\n");
	write_file("acl", "allow all bob\ndeny   alice  carol\n");
	snprintf(conf, sizeof(conf),
		 "badwords_filename=%s\nacl_filename=%s\nregex_replace=/cat/dog/\n"
		 "regex_flag=/merger/deal/i\nregex_flag=/acquisition/deal/\n"
		 "regex_flag=/darn/words/\nnotice_text=logged\n",
		 path_of("bw"), path_of("acl"));
	p = load(conf, err, sizeof(err));
	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_OUT, "alice", "bob", "darn cat");
	d = test_decide(p, &ev);
	logged = ev;
	policy_decision_mark(&d, &logged);
	CHECK_STR_EQ(d.rule, "badwords_filename=darn"); /* the first decider */
	CHECK_STR_EQ(d.categories, "words");
	CHECK_STR_EQ(logged.action, EVENT_ACTION_MODIFIED);
	CHECK_STR_EQ(logged.delivered_text, "**** dog");
	CHECK_INT_EQ(d.n_notices, 1);
	CHECK_STR_EQ(d.notice_keys[0], "notice_text");
	policy_notice_event(&d, &ev, 0, false, &logged);
	CHECK_STR_EQ(logged.action, EVENT_ACTION_INJECTED);
	CHECK_STR_EQ(logged.text, "logged");
	CHECK_INT_EQ(logged.dir, IM_DIR_IN);
	CHECK_STR_EQ(logged.rule, "notice_text");
	policy_decision_free(&d);

	ev = msg(IM_DIR_OUT, "alice", "carol", "Merger and acquisition");
	d = test_decide(p, &ev);
	logged = ev;
	policy_decision_mark(&d, &logged);
	CHECK_STR_EQ(d.rule, "acl_filename=deny   alice  carol"); /* the line as written */
	CHECK_STR_EQ(d.categories, "deal"); /* once, though two rules matched */
	CHECK_STR_EQ(logged.action, EVENT_ACTION_BLOCKED);
	CHECK(logged.delivered_text == NULL);
	policy_decision_free(&d);

	ev = msg(IM_DIR_OUT, "alice", "bob", "the merger");
	d = test_decide(p, &ev);
	logged = ev;
	policy_decision_mark(&d, &logged);
	CHECK_INT_EQ(d.action, POLICY_PASS);
	CHECK_STR_EQ(d.rule, "regex_flag=/merger/deal/i");
	CHECK(logged.action == NULL); /* forwarded */
	policy_decision_free(&d);
	policy_unref(p);

	/* Flag modes: the lists flag, nothing is censored or blocked. */
	snprintf(conf, sizeof(conf), "badwords_filename=%s\nbadwords_flag=language\n"
		 "acl_filename=%s\nacl_flag=contact\n", path_of("bw"), path_of("acl"));
	p = load(conf, err, sizeof(err));
	CHECK(p);
	if (!p)
		return;
	ev = msg(IM_DIR_OUT, "alice", "carol", "darn");
	d = test_decide(p, &ev);
	CHECK_INT_EQ(d.action, POLICY_PASS);
	CHECK(!d.filtered);
	CHECK_STR_EQ(d.categories, "contact,language");
	CHECK_STR_EQ(d.rule, "acl_filename=deny   alice  carol");
	policy_decision_free(&d);
	policy_unref(p);

	p = load("regex_flag=/a/b c/\n", err, sizeof(err));
	CHECK(!p);
	CHECK(strstr(err, ":1: regex_flag: expected /PATTERN/CATEGORY/FLAGS") != NULL);
	p = load("regex_flag=/a/b/b\n", err, sizeof(err));
	CHECK(!p);
	CHECK(strstr(err, "never blocks") != NULL);
}

int main(void)
{
	char cmd[64];

	if (!mkdtemp(tmpdir)) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	RUN_TEST(test_badwords_replace_and_block_count);
	RUN_TEST(test_acl_whitelist_example);
	RUN_TEST(test_acl_order_and_block_unlisted);
	RUN_TEST(test_dbfilter_awl_example);
	RUN_TEST(test_dbfilter_dry_run_writes_nothing);
	RUN_TEST(test_block_files_and_webcams);
	RUN_TEST(test_regex_rules);
	RUN_TEST(test_starttls_refused);
	RUN_TEST(test_notices);
	RUN_TEST(test_missing_list_file_names_it);
	RUN_TEST(test_rules_named);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	TEST_MAIN_END();
}
