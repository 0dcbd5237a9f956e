/* The control socket and the event tap, with a real server thread on a
 * socket under /tmp and real client connections: sessions (text and
 * JSON, with the tap's per-flow counts), tail with filters and its bound,
 * reload taken and refused, stats, version, errors, the session board's
 * handshake with worker threads, a stale socket replaced and a live one
 * refused. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/control.h"
#include "control/session_board.h"
#include "control/tap.h"
#include "event/event.h"
#include "testlib.h"
#include "util/version.h"

static char sock_path[128];
static int reloads;
static bool refuse_reload;

static int fake_sessions(void *arg, struct control_session_list *out)
{
	(void)arg;
	control_session_add(out, "irc", "alice", "10.0.0.2:6667", "10.0.0.1:40000", 1700000000.0, 7);
	control_session_add(out, "xmpp", "", "[fd00::2]:5222", "[fd00::1]:41000", 1700000100.0, 8);
	return 0;
}

static int fake_reload(void *arg, char *msg, size_t size)
{
	(void)arg;
	reloads++;
	snprintf(msg, size, refuse_reload ? "x.conf:3: nope: unknown key" : "configuration reloaded");
	return refuse_reload ? -1 : 0;
}

static int fake_stats(void *arg, FILE *out)
{
	(void)arg;
	fputs("{\"total\": {}}\n", out);
	return 0;
}

static const struct control_ops ops = { fake_sessions, fake_reload, fake_stats, NULL };

/* The whole answer to one request. */
static char *ask(const char *request, unsigned long max_lines)
{
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int fd = control_connect(sock_path, err, sizeof(err));

	if (fd < 0 || !mem) {
		fprintf(stderr, "  connect: %s\n", err);
		if (mem)
			fclose(mem);
		free(text);
		return NULL;
	}
	if (control_request(fd, request, mem, max_lines, err, sizeof(err)) < 0)
		fprintf(stderr, "  request: %s\n", err);
	close(fd);
	fclose(mem);
	return text;
}

static void event_of(struct im_event *ev, enum imw_proto p, enum im_kind k, const char *local,
		     const char *text, uint64_t flow)
{
	event_init(ev);
	ev->proto = p;
	ev->kind = k;
	ev->flow_id = flow;
	event_set_str(&ev->local, local);
	event_set_str(&ev->remote, "bob");
	event_set_str(&ev->client, "10.0.0.1:40000");
	event_set_str(&ev->text, text);
	ev->content_type = "text/plain";
}

static void test_requests(void)
{
	struct control *c;
	struct event_tap *tap;
	struct sink tap_sink;
	struct im_event ev;
	struct stat st;
	char err[256], *a, want[128];

	snprintf(sock_path, sizeof(sock_path), "/tmp/imwire-test-control.%d/c.sock", (int)getpid());
	tap = event_tap_new();
	CHECK(tap != NULL);
	event_tap_sink(tap, &tap_sink);
	c = control_start(sock_path, &ops, tap, NULL, err, sizeof(err));
	CHECK(c != NULL);
	if (!c) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK(stat(sock_path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* three events of flow 7: counted for its session */
	event_of(&ev, IMW_PROTO_IRC, IM_KIND_MESSAGE, "alice", "hi", 7);
	sink_write(&tap_sink, &ev);
	sink_write(&tap_sink, &ev);
	sink_write(&tap_sink, &ev);
	event_free(&ev);

	a = ask("sessions", 0);
	CHECK(a && strstr(a, "proto\tlocal\tpeer\tclient\tsince\tevents\n"));
	CHECK(a && strstr(a, "irc\talice\t10.0.0.2:6667\t10.0.0.1:40000\t2023-11-14T22:13:20Z\t3\n"));
	CHECK(a && strstr(a, "xmpp\t-\t[fd00::2]:5222\t[fd00::1]:41000\t"));
	free(a);
	a = ask("sessions json", 0);
	CHECK(a && strstr(a, "{\"proto\": \"irc\", \"local\": \"alice\", \"peer\": \"10.0.0.2:6667\", "
			     "\"client\": \"10.0.0.1:40000\", \"since\": \"2023-11-14T22:13:20Z\", "
			     "\"events\": 3, \"flow\": 7}\n"));
	free(a);

	a = ask("reload", 0);
	CHECK(a && strcmp(a, "ok configuration reloaded\n") == 0);
	free(a);
	refuse_reload = true;
	a = ask("reload", 0);
	CHECK(a && strcmp(a, "error x.conf:3: nope: unknown key\n") == 0);
	free(a);
	CHECK_INT_EQ(reloads, 2);

	a = ask("stats", 0);
	CHECK(a && strcmp(a, "{\"total\": {}}\n") == 0);
	free(a);
	snprintf(want, sizeof(want), "imwired %s\n", imw_version());
	a = ask("version", 0);
	CHECK(a && strcmp(a, want) == 0);
	free(a);
	a = ask("frobnicate", 0);
	CHECK(a && strncmp(a, "error unknown request", 21) == 0);
	free(a);
	a = ask("tail proto=nosuch", 0);
	CHECK(a && strcmp(a, "error unknown protocol \"nosuch\"\n") == 0);
	free(a);

	/* a second daemon on the same socket is refused */
	CHECK(control_start(sock_path, &ops, NULL, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "another imwired answers there") != NULL);

	control_stop(c);
	CHECK(access(sock_path, F_OK) != 0);
	sink_close(&tap_sink);
	event_tap_unref(tap);
}

struct tail_arg {
	const char *request;
	unsigned long lines;
	char *answer;
};

static void *tail_thread(void *p)
{
	struct tail_arg *t = p;

	t->answer = ask(t->request, t->lines);
	return NULL;
}

static void test_tail(void)
{
	struct control *c;
	struct event_tap *tap;
	struct sink tap_sink;
	struct im_event ev;
	struct tail_arg irc = { "tail proto=irc kind=message", 2, NULL };
	struct tail_arg carol = { "tail user=CAROL", 1, NULL };
	pthread_t t1, t2;
	uint64_t counts[IMW_PROTO_MAX][IM_KIND_COUNT][2];
	char err[256];
	int i;

	tap = event_tap_new();
	CHECK(tap != NULL);
	event_tap_sink(tap, &tap_sink);
	c = control_start(sock_path, &ops, tap, NULL, err, sizeof(err));
	CHECK(c != NULL);
	if (!c)
		return;
	pthread_create(&t1, NULL, tail_thread, &irc);
	pthread_create(&t2, NULL, tail_thread, &carol);
	usleep(300000); /* both subscribed */
	event_of(&ev, IMW_PROTO_XMPP, IM_KIND_MESSAGE, "dave", "not irc", 1);
	sink_write(&tap_sink, &ev);
	event_free(&ev);
	event_of(&ev, IMW_PROTO_IRC, IM_KIND_TYPING, "alice", "", 2);
	sink_write(&tap_sink, &ev);
	event_free(&ev);
	for (i = 0; i < 2; i++) {
		event_of(&ev, IMW_PROTO_IRC, IM_KIND_MESSAGE, i ? "carol" : "alice", i ? "two" : "one", 2);
		sink_write(&tap_sink, &ev);
		event_free(&ev);
	}
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK(irc.answer && strstr(irc.answer, "\"text\":\"one\"") && strstr(irc.answer, "\"text\":\"two\"") &&
	      !strstr(irc.answer, "not irc") && !strstr(irc.answer, "typing"));
	CHECK(carol.answer && strstr(carol.answer, "\"local\":\"carol\"") && !strstr(carol.answer, "alice"));
	if (irc.answer)
		fprintf(stderr, "%s", strstr(irc.answer, "\"text\":\"one\"") ? "" : irc.answer);
	free(irc.answer);
	free(carol.answer);

	event_tap_counts(tap, counts);
	CHECK_INT_EQ(counts[IMW_PROTO_IRC][IM_KIND_MESSAGE][0], 2);
	CHECK_INT_EQ(counts[IMW_PROTO_IRC][IM_KIND_TYPING][0], 1);
	CHECK_INT_EQ(counts[IMW_PROTO_XMPP][IM_KIND_MESSAGE][0], 1);
	CHECK_INT_EQ(event_tap_flow_events(tap, 2, "10.0.0.1:40000"), 3);
	CHECK_INT_EQ(event_tap_flow_events(tap, 2, "10.0.0.9:1"), 0);
	control_stop(c);
	sink_close(&tap_sink);
	event_tap_unref(tap);
}

/* A subscriber that never reads loses events past its bound, counted, and
 * the writer never waits for it. */
static void test_tap_bound(void)
{
	struct event_tap *tap;
	struct sink tap_sink;
	struct tap_filter f = { IMW_PROTO_NONE, -1, NULL };
	struct tap_sub *sub;
	struct bytebuf out;
	struct im_event ev;
	char text[1000];
	uint64_t lost;
	int i;

	tap = event_tap_new();
	CHECK(tap != NULL);
	event_tap_sink(tap, &tap_sink);
	sub = event_tap_subscribe(tap, &f);
	CHECK(sub != NULL);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	event_of(&ev, IMW_PROTO_IRC, IM_KIND_MESSAGE, "alice", text, 1);
	for (i = 0; i < 3000; i++) /* about 3.5 MB of lines against a 1 MiB bound */
		sink_write(&tap_sink, &ev);
	event_free(&ev);
	bytebuf_init(&out);
	lost = tap_sub_take(tap, sub, &out);
	CHECK(out.len <= TAP_SUB_MAX && out.len > TAP_SUB_MAX / 2);
	CHECK(lost > 1000 && lost < 3000);
	CHECK_INT_EQ(out.data[out.len - 1], '\n');
	bytebuf_free(&out);
	event_tap_unsubscribe(tap, sub);
	sink_close(&tap_sink);
	event_tap_unref(tap);
}

struct worker_arg {
	struct session_board *board;
	struct flow_table *table;
	unsigned index;
	volatile bool stop;
};

static void *worker(void *p)
{
	struct worker_arg *w = p;

	while (!w->stop) {
		session_board_serve(w->board, w->index, w->table);
		usleep(1000);
	}
	return NULL;
}

static void test_session_board(void)
{
	struct session_board *b = session_board_new(2);
	struct flow_table t;
	struct flow_config fc;
	struct control_session_list l;
	struct worker_arg w[2];
	pthread_t th[2];
	int i;

	flow_config_defaults(&fc);
	CHECK_INT_EQ(flow_table_init(&t, &fc, NULL, NULL), 0);
	for (i = 0; i < 2; i++) {
		w[i].board = b;
		w[i].table = &t;
		w[i].index = (unsigned)i;
		w[i].stop = false;
		pthread_create(&th[i], NULL, worker, &w[i]);
	}
	CHECK_INT_EQ(session_board_collect(b, &l, 2000), 0);
	CHECK(!l.partial);
	CHECK_INT_EQ(l.n, 0); /* no IM flow in an empty table */
	control_session_list_free(&l);
	CHECK_INT_EQ(session_board_collect(b, &l, 2000), 0); /* a second request is answered too */
	CHECK(!l.partial);
	control_session_list_free(&l);
	w[1].stop = true;
	pthread_join(th[1], NULL);
	CHECK_INT_EQ(session_board_collect(b, &l, 300), 0); /* worker 1 is gone: partial */
	CHECK(l.partial);
	control_session_list_free(&l);
	w[0].stop = true;
	pthread_join(th[0], NULL);
	flow_table_destroy(&t);
	session_board_free(b);
}

static void test_stale_socket_replaced(void)
{
	struct control *c;
	char err[256];
	FILE *f = fopen(sock_path, "w"); /* a leftover file where the socket goes */

	if (f)
		fclose(f);
	c = control_start(sock_path, &ops, NULL, NULL, err, sizeof(err));
	CHECK(c != NULL);
	control_stop(c);
	*strrchr(sock_path, '/') = '\0';
	rmdir(sock_path);
}

int main(void)
{
	RUN_TEST(test_requests);
	RUN_TEST(test_tail);
	RUN_TEST(test_tap_bound);
	RUN_TEST(test_session_board);
	RUN_TEST(test_stale_socket_replaced);
	TEST_MAIN_END();
}
