/* The review console's pure parts: HTML escaping, CSV quoting, the EML
 * and mbox formats, threading, the query model (times, words, filters),
 * the SQL it generates, and authentication (users file, sessions, the
 * login rate limit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "review/archive_sql.h"
#include "review/auth.h"
#include "review/export.h"
#include "review/html.h"
#include "review/query.h"
#include "review/thread.h"
#include "review/users.h"
#include "testlib.h"
#include "util/bytebuf.h"

static char *str_of(struct bytebuf *b)
{
	char *s = NULL;

	if (bytebuf_terminate(b))
		s = strdup(b->data ? (const char *)b->data : "");
	bytebuf_free(b);
	return s;
}

static char *escaped(const char *s)
{
	struct bytebuf b;

	bytebuf_init(&b);
	CHECK(html_escape(&b, s));
	return str_of(&b);
}

static void test_html_escape(void)
{
	char *s = escaped("<script>alert(1)</script><img src=x onerror=\"alert('x')\">&amp;");

	CHECK_STR_EQ(s, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;"
			"alert(&#39;x&#39;)&quot;&gt;&amp;amp;");
	free(s);
	s = escaped("a\x01" "b\tc\nd");
	CHECK_STR_EQ(s, "a\xEF\xBF\xBD" "b\tc\nd");
	free(s);
	s = escaped("Grüße ☺");
	CHECK_STR_EQ(s, "Grüße ☺");
	free(s);
}

static void test_url_escape(void)
{
	struct bytebuf b;
	char *s;

	bytebuf_init(&b);
	CHECK(html_url_escape(&b, "a b&c=d/é\"<"));
	s = str_of(&b);
	CHECK_STR_EQ(s, "a%20b%26c%3Dd%2F%C3%A9%22%3C");
	free(s);
}

static void test_csv_quoting(void)
{
	const char *in[] = { "plain", "a,b", "say \"hi\"", "two\r\nlines", "", "=cmd" };
	const char *out[] = { "plain", "\"a,b\"", "\"say \"\"hi\"\"\"", "\"two\r\nlines\"", "",
			      "=cmd" };
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct bytebuf b;
		char *s;

		bytebuf_init(&b);
		CHECK(export_csv_field(&b, in[i]));
		s = str_of(&b);
		CHECK_STR_EQ(s, out[i]);
		free(s);
	}
}

static void row(struct review_row *r, int64_t id, int64_t ts, const char *proto, int out,
		const char *local, const char *remote, const char *text)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->ts = ts;
	r->proto = strdup(proto);
	r->client = strdup("10.0.0.1:5000");
	r->local = strdup(local);
	r->remote = strdup(remote);
	r->text = strdup(text);
	r->outgoing = out;
	r->type = 1;
	r->group = -1;
}

static void test_csv_row(void)
{
	struct review_row r;
	struct bytebuf b;
	char *s;

	row(&r, 7, 1051790400, "IRC", 1, "alice", "#chan", "hi, \"all\"");
	bytebuf_init(&b);
	CHECK(export_csv_header(&b, 0));
	CHECK(export_csv_row(&b, &r, 0));
	s = str_of(&b);
	CHECK_STR_EQ(s, "id,time,protocol,direction,kind,local,remote,group,client,filtered,text\r\n"
			"7,2003-05-01T12:00:00Z,irc,out,message,alice,#chan,1,10.0.0.1:5000,0,"
			"\"hi, \"\"all\"\"\"\r\n");
	free(s);
	review_row_free(&r);
}

/* Six events: a one-to-one XMPP chat split by a long pause, with
 * resources and case that must not split it, and an IRC room. */
static void sample(struct row_list *l)
{
	l->cap = l->n = 6;
	l->rows = calloc(6, sizeof(*l->rows));
	row(&l->rows[0], 1, 1000, "Jabber", 1, "alice@x.org/laptop", "bob@x.org", "hello bob");
	row(&l->rows[1], 2, 1060, "Jabber", 0, "alice@x.org/laptop", "Bob@x.org/phone", "hi alice");
	row(&l->rows[2], 3, 1100, "IRC", 0, "carol", "#room", "dave: From the top");
	row(&l->rows[3], 4, 1200, "IRC", 1, "erin", "#Room", "morning");
	row(&l->rows[4], 5, 9000, "Jabber", 1, "alice@x.org/phone", "bob@x.org", "later, bob");
	row(&l->rows[5], 6, 1150, "IRC", 1, "carol", "#room", "<b>bold</b>");
	l->rows[5].filtered = 1;
}

static void test_threading(void)
{
	struct row_list l = { 0 };
	struct conversation_set set;

	sample(&l);
	CHECK_INT_EQ(thread_build(&l, 1800, &set), 0);
	CHECK_INT_EQ(set.n, 3);
	if (set.n == 3) {
		CHECK_INT_EQ(set.conv[0].id, 1);
		CHECK_INT_EQ(set.conv[0].n_rows, 2);
		CHECK(!set.conv[0].group);
		CHECK_STR_EQ(set.conv[0].local, "alice@x.org");
		CHECK_STR_EQ(set.conv[0].remote, "bob@x.org");
		CHECK_INT_EQ(set.conv[1].id, 3);
		CHECK(set.conv[1].group);
		CHECK_INT_EQ(set.conv[1].n_rows, 3);
		CHECK_INT_EQ(set.conv[1].n_hits, 1);
		/* carol, erin (local users) and dave (named in an incoming line). */
		CHECK_INT_EQ(set.conv[1].n_participants, 3);
		CHECK_INT_EQ(set.conv[2].id, 5);
		CHECK_INT_EQ(set.conv[2].n_rows, 1);
	}
	conversation_set_free(&set);
	/* A gap long enough joins the two XMPP runs. */
	CHECK_INT_EQ(thread_build(&l, 10000, &set), 0);
	CHECK_INT_EQ(set.n, 2);
	conversation_set_free(&set);
	row_list_free(&l);
}

static void test_eml(void)
{
	struct row_list l = { 0 };
	struct conversation_set set;
	struct bytebuf b;
	char *s;

	sample(&l);
	CHECK_INT_EQ(thread_build(&l, 1800, &set), 0);
	bytebuf_init(&b);
	CHECK(set.n == 3 && export_eml(&b, &set.conv[1], &l));
	s = str_of(&b);
	CHECK(s && strstr(s, "From: \"carol\" <carol@irc.imwire.invalid>\r\n"));
	CHECK(s && strstr(s, "To: \"#room\" <#room@irc.imwire.invalid>\r\n"));
	CHECK(s && strstr(s, "X-IMwire-Protocol: irc\r\n"));
	CHECK(s && strstr(s, "Date: Thu, 01 Jan 1970 00:18:20 +0000\r\n"));
	CHECK(s && strstr(s, "Content-Transfer-Encoding: quoted-printable\r\n"));
	CHECK(s && strstr(s, "X-IMwire-Events: 3\r\nX-IMwire-Policy-Hits: 1\r\n\r\n"));
	/* No body line starts "From " (mbox readers would cut there). */
	CHECK(s && strstr(s, "\r\nFrom ") == NULL);
	CHECK(s && strstr(s, "#room: dave: From the top"));
	CHECK(s && strstr(s, "[BLOCKED]: <b>bold</b>"));
	free(s);
	bytebuf_init(&b);
	CHECK(export_eml(&b, &set.conv[0], &l));
	s = str_of(&b);
	CHECK(s && strstr(s, "From: \"alice@x.org\" <alice@x.org>\r\n"));
	CHECK(s && strstr(s, "To: \"bob@x.org\" <bob@x.org>\r\n"));
	free(s);
	conversation_set_free(&set);
	row_list_free(&l);
}

static void test_qp_and_headers(void)
{
	struct row_list l = { 0 };
	struct conversation_set set;
	struct bytebuf b;
	char *s, long_text[300];

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	l.cap = l.n = 2;
	l.rows = calloc(2, sizeof(*l.rows));
	row(&l.rows[0], 1, 0, "MSN", 1, "jürgen@x.de", "evil\r\nBcc: x@y", "From here = Grüße");
	row(&l.rows[1], 2, 1, "MSN", 1, "jürgen@x.de", "evil\r\nBcc: x@y", long_text);
	CHECK_INT_EQ(thread_build(&l, 1800, &set), 0);
	bytebuf_init(&b);
	CHECK(set.n == 1 && export_eml(&b, &set.conv[0], &l));
	s = str_of(&b);
	/* A header injection stays inside an encoded word. */
	CHECK(s && !strstr(s, "\r\nBcc:"));
	CHECK(s && strstr(s, "=?UTF-8?B?"));
	/* UTF-8 as quoted-printable, "=" encoded, no line over 76. */
	CHECK(s && strstr(s, "Gr=C3=BC=C3=9Fe"));
	CHECK(s && strstr(s, "From here =\r\n=3D Gr"));
	if (s) {
		char *p = strstr(s, "\r\n\r\n"), *nl;

		for (p = p ? p + 4 : s; p && *p; p = nl + 2) {
			nl = strstr(p, "\r\n");
			if (!nl)
				break;
			CHECK(nl - p <= 76);
		}
	}
	free(s);
	bytebuf_init(&b);
	CHECK(export_mbox_entry(&b, &set.conv[0], &l));
	s = str_of(&b);
	CHECK(s && strncmp(s, "From imwire@imwire.invalid Thu Jan  1 00:00:00 1970\n", 52) == 0);
	CHECK(s && !strchr(s, '\r'));
	CHECK(s && !strstr(s + 1, "\nFrom "));
	free(s);
	conversation_set_free(&set);
	row_list_free(&l);
}

static void test_html_report_escapes(void)
{
	struct row_list l = { 0 };
	struct conversation_set set;
	struct bytebuf b;
	char *s;

	l.cap = l.n = 1;
	l.rows = calloc(1, sizeof(*l.rows));
	row(&l.rows[0], 1, 0, "IRC", 0, "alice", "<img src=x onerror=alert(1)>",
	    "<script>alert(1)</script>");
	CHECK_INT_EQ(thread_build(&l, 1800, &set), 0);
	bytebuf_init(&b);
	CHECK(export_html_report(&b, "t", &set, &l));
	s = str_of(&b);
	CHECK(s && !strstr(s, "<script>") && !strstr(s, "<img"));
	CHECK(s && strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	free(s);
	conversation_set_free(&set);
	row_list_free(&l);
}

static void test_query_model(void)
{
	int64_t t;
	struct review_row r;
	struct review_query q;
	char buf[32];

	CHECK(review_parse_time("2003-05-01", &t) && t == 1051747200);
	CHECK(review_parse_time("2003-05-01T12:00", &t) && t == 1051790400);
	CHECK(review_parse_time("2003-05-01T12:00:30Z", &t) && t == 1051790430);
	CHECK(review_parse_time("1051790400", &t) && t == 1051790400);
	CHECK(!review_parse_time("yesterday", &t));
	CHECK(!review_parse_time("2003-13-01", &t));
	review_format_time(1051790400, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "2003-05-01T12:00:00Z");
	CHECK(review_text_matches("Hello Bob, lunch at 12?", "lunch bob"));
	CHECK(!review_text_matches("Hello Bob, lunch at 12?", "lun"));
	CHECK(!review_text_matches("Hello Bob", "bob alice"));
	CHECK(review_text_matches("Grüße aus Köln", "köln"));
	row(&r, 3, 100, "Jabber", 1, "alice@x.org/laptop", "bob@x.org/phone", "see you");
	review_query_init(&q);
	q.proto = "xmpp";
	q.local = "alice@x.org";
	q.remote = "bob@x.org";
	q.dir = 1;
	q.kind = "message";
	CHECK(review_row_matches(&r, &q));
	q.remote = "bob@x.or";
	CHECK(!review_row_matches(&r, &q));
	q.remote = NULL;
	q.proto = "irc";
	CHECK(!review_row_matches(&r, &q));
	review_query_init(&q);
	q.hits_only = true;
	CHECK(!review_row_matches(&r, &q));
	r.filtered = 1;
	CHECK(review_row_matches(&r, &q));
	review_query_init(&q);
	q.action = "blocked";
	CHECK(review_query_unsupported(&q, 0) != NULL);
	CHECK(review_query_unsupported(&q, REVIEW_COL_ACTION) == NULL);
	review_row_free(&r);
}

static void test_sql_is_parameterised(void)
{
	struct review_query q;
	struct sql_stmt st;
	const char *hostile = "x' OR '1'='1";

	review_query_init(&q);
	q.local = hostile;
	q.text = "lunch 100%";
	q.since = 5;
	CHECK(sql_build_select(&st, SQL_PGSQL, REVIEW_COL_ACTION, &q));
	CHECK(!strstr((const char *)st.sql.data, hostile));
	CHECK(strstr((const char *)st.sql.data, "$1") && strstr((const char *)st.sql.data, "\"action\""));
	CHECK(strstr((const char *)st.sql.data, "plainto_tsquery('simple', $"));
	sql_stmt_free(&st);
	CHECK(sql_build_select(&st, SQL_SQLITE, REVIEW_COL_FTS, &q));
	CHECK(strstr((const char *)st.sql.data, "messages_fts MATCH ?"));
	CHECK(!strstr((const char *)st.sql.data, "lunch"));
	/* The FTS5 query quotes each word. */
	{
		size_t i;
		bool found = false;

		for (i = 0; i < st.n_params; i++)
			if (!st.params[i].is_int && strcmp(st.params[i].s, "\"lunch\" \"100\"") == 0)
				found = true;
		CHECK(found);
	}
	sql_stmt_free(&st);
	CHECK(sql_build_select(&st, SQL_MYSQL, 0, &q));
	CHECK(strstr((const char *)st.sql.data, "`localid` LIKE ? ESCAPE '\\\\'"));
	sql_stmt_free(&st);
}

static void test_users_and_sessions(void)
{
	char path[] = "/tmp/imwire-users-XXXXXX", err[256];
	FILE *in;
	enum user_role role;
	struct auth a;
	struct auth_session s, found;
	int fd = mkstemp(path), i;

	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	in = fmemopen((void *)"correct horse\n", 14, "r");
	CHECK(in && users_cmd_add(path, "alice", "admin", in, err, sizeof(err)) == 0);
	if (in)
		fclose(in);
	in = fmemopen((void *)"short\n", 6, "r");
	CHECK(in && users_cmd_add(path, "bob", "reviewer", in, err, sizeof(err)) < 0);
	if (in)
		fclose(in);
	in = fmemopen((void *)"x\n", 2, "r");
	CHECK(in && users_cmd_add(path, "bad:name", "reviewer", in, err, sizeof(err)) < 0);
	if (in)
		fclose(in);
	CHECK(users_check(path, "alice", "correct horse", &role, err, sizeof(err)) == 0 &&
	      role == ROLE_ADMIN);
	CHECK(users_check(path, "alice", "wrong", &role, err, sizeof(err)) == 0 && role == ROLE_NONE);
	CHECK(users_check(path, "nobody", "correct horse", &role, err, sizeof(err)) == 0 &&
	      role == ROLE_NONE);
	CHECK(users_cmd_del(path, "alice", err, sizeof(err)) == 0);
	CHECK(users_check(path, "alice", "correct horse", &role, err, sizeof(err)) == 0 &&
	      role == ROLE_NONE);
	unlink(path);

	CHECK_INT_EQ(auth_init(&a), 0);
	CHECK(auth_session_create(&a, "alice", ROLE_REVIEWER, &s));
	CHECK_INT_EQ(strlen(s.token), 64);
	CHECK(strcmp(s.token, s.csrf) != 0);
	CHECK(auth_session_find(&a, s.token, &found) && strcmp(found.user, "alice") == 0);
	CHECK(!auth_session_find(&a, "00", &found));
	auth_session_end(&a, s.token);
	CHECK(!auth_session_find(&a, s.token, &found));
	for (i = 0; i < AUTH_FAIL_MAX; i++) {
		CHECK(auth_login_allowed(&a, "10.0.0.9", "mallory"));
		auth_login_failed(&a, "10.0.0.9", "mallory");
	}
	CHECK(!auth_login_allowed(&a, "10.0.0.9", "someone"));
	CHECK(!auth_login_allowed(&a, "10.0.0.10", "mallory"));
	CHECK(auth_login_allowed(&a, "10.0.0.10", "someone"));
	auth_destroy(&a);
}

int main(void)
{
	RUN_TEST(test_html_escape);
	RUN_TEST(test_url_escape);
	RUN_TEST(test_csv_quoting);
	RUN_TEST(test_csv_row);
	RUN_TEST(test_threading);
	RUN_TEST(test_eml);
	RUN_TEST(test_qp_and_headers);
	RUN_TEST(test_html_report_escapes);
	RUN_TEST(test_query_model);
	RUN_TEST(test_sql_is_parameterised);
	RUN_TEST(test_users_and_sessions);
	TEST_MAIN_END();
}
