/* The Prometheus exposition: every stats counter of every worker, the
 * writer's and each sink's values with their lag, events per protocol,
 * families never split, label values escaped; the textfile written
 * atomically; listen addresses; the HTTP server on loopback (200 on
 * /metrics, 404 elsewhere, 405 for POST), with a real TCP client. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "testlib.h"

static struct stats_snapshot workers[2];
static uint64_t events[IMW_PROTO_MAX][IM_KIND_COUNT][2];
static const struct metrics_value writer_values[] = {
	{ "queued", 5, true },
	{ "dropped", 0, false },
};
static const struct metrics_value sqlite_values[] = { { "written", 40, false } };
static const struct metrics_value jsonl_values[] = { { "written", 41, false },
						     { "failed", 1, false } };
static const struct metrics_sink sinks[] = {
	{ "sqlite", sqlite_values, 1, 0.25 },
	{ "jsonl:/var/log/a\"b.jsonl", jsonl_values, 2, 0 },
};

static void view_of(struct metrics_view *v)
{
	memset(v, 0, sizeof(*v));
	memset(workers, 0, sizeof(workers));
	snprintf(workers[0].name, sizeof(workers[0].name), "queue 0");
	snprintf(workers[1].name, sizeof(workers[1].name), "queue 1");
	workers[0].flow.packets = 100;
	workers[1].flow.packets = 23;
	workers[0].flows_now = 4;
	workers[0].has_engine = workers[1].has_engine = true;
	workers[0].engine.modified = 2;
	/* queue 0's socket and kernel counts; queue 1 read none */
	workers[0].has_queue = true;
	workers[0].queue.received = 120;
	workers[0].kernel.queue_dropped = 6;
	workers[0].kernel.waiting = 2;
	workers[1].flow.app.sessions[IMW_PROTO_IRC] = 3;
	events[IMW_PROTO_IRC][IM_KIND_MESSAGE][0] = 9;
	events[IMW_PROTO_XMPP][IM_KIND_LOGIN][1] = 1;
	v->version = "1.2.3";
	v->start_time = 1700000000.5;
	v->workers = workers;
	v->n_workers = 2;
	v->writer = writer_values;
	v->n_writer = 2;
	v->sinks = sinks;
	v->n_sinks = 2;
	v->events = (const uint64_t(*)[IM_KIND_COUNT][2])events;
}

static char *render(const struct metrics_view *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	metrics_render(mem, v);
	fclose(mem);
	return text;
}

/* Each family's samples follow its TYPE line, and no family comes twice. */
static bool families_whole(const char *text)
{
	char seen[512][96], name[96];
	size_t n = 0, i;
	const char *p;

	for (p = text; *p; p = strchr(p, '\n') + 1) {
		if (sscanf(p, "# TYPE %95s", name) == 1) {
			for (i = 0; i < n; i++)
				if (strcmp(seen[i], name) == 0)
					return false;
			if (n < 512)
				snprintf(seen[n++], sizeof(seen[0]), "%s", name);
		} else if (*p != '#') {
			size_t l = strcspn(p, "{ ");

			if (!n || strncmp(p, seen[n - 1], l) != 0 || seen[n - 1][l])
				return false;
		}
		if (!strchr(p, '\n'))
			break;
	}
	return n > 20;
}

static void test_render(void)
{
	struct metrics_view v;
	char *t;

	view_of(&v);
	t = render(&v);
	CHECK(strstr(t, "imwire_build_info{version=\"1.2.3\"} 1\n"));
	CHECK(strstr(t, "imwire_start_time_seconds 1700000000.500\n"));
	CHECK(strstr(t, "# TYPE imwire_flow_packets_total counter\n"
			"imwire_flow_packets_total{worker=\"queue 0\"} 100\n"
			"imwire_flow_packets_total{worker=\"queue 1\"} 23\n"));
	CHECK(strstr(t, "# TYPE imwire_flows_now gauge\nimwire_flows_now{worker=\"queue 0\"} 4\n"));
	CHECK(strstr(t, "imwire_engine_modified_total{worker=\"queue 0\"} 2\n"));
	CHECK(strstr(t, "imwire_sessions_detected_total{worker=\"queue 1\",proto=\"irc\"} 3\n"));
	CHECK(strstr(t, "imwire_reasm_gaps_total{worker=\"queue 1\"} 0\n"));
	CHECK(strstr(t, "# TYPE imwire_queue_kernel_queue_dropped_total counter\n"
			"imwire_queue_kernel_queue_dropped_total{worker=\"queue 0\"} 6\n"));
	CHECK(strstr(t, "# TYPE imwire_queue_kernel_waiting gauge\n"
			"imwire_queue_kernel_waiting{worker=\"queue 0\"} 2\n"));
	CHECK(strstr(t, "imwire_queue_received_total{worker=\"queue 0\"} 120\n"));
	CHECK(!strstr(t, "imwire_queue_received_total{worker=\"queue 1\"}"));
	CHECK(strstr(t, "imwire_writer_queued 5\n"));
	CHECK(strstr(t, "imwire_writer_dropped_total 0\n"));
	CHECK(strstr(t, "imwire_sink_written_total{sink=\"sqlite\"} 40\n"
			"imwire_sink_written_total{sink=\"jsonl:/var/log/a\\\"b.jsonl\"} 41\n"));
	CHECK(strstr(t, "imwire_sink_failed_total{sink=\"jsonl:/var/log/a\\\"b.jsonl\"} 1\n"));
	CHECK(strstr(t, "imwire_sink_lag_seconds{sink=\"sqlite\"} 0.250\n"));
	CHECK(strstr(t, "imwire_events_total{proto=\"irc\",kind=\"message\",dir=\"out\"} 9\n"));
	CHECK(strstr(t, "imwire_events_total{proto=\"xmpp\",kind=\"login\",dir=\"in\"} 1\n"));
	CHECK(families_whole(t));
	free(t);
}

static void test_textfile(void)
{
	struct metrics_view v;
	char path[128], *t, buf[65536];
	size_t n;
	FILE *f;

	view_of(&v);
	snprintf(path, sizeof(path), "/tmp/imwire-test-metrics.%d.prom", (int)getpid());
	CHECK_INT_EQ(metrics_write_textfile(path, &v), 0);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	t = render(&v);
	CHECK_STR_EQ(buf, t);
	free(t);
	unlink(path);
	CHECK_INT_EQ(metrics_write_textfile("/nonexistent-dir/x.prom", &v), -1);
}

static void test_listen_addresses(void)
{
	struct sockaddr_storage ss;
	char err[256];

	CHECK(metrics_parse_listen("127.0.0.1:9477", &ss, err, sizeof(err)) && ss.ss_family == AF_INET);
	CHECK(metrics_parse_listen("[::1]:9477", &ss, err, sizeof(err)) && ss.ss_family == AF_INET6);
	CHECK(metrics_parse_listen(":9477", &ss, err, sizeof(err)) && ss.ss_family == AF_INET);
	CHECK(!metrics_parse_listen("127.0.0.1", &ss, err, sizeof(err)));
	CHECK(strstr(err, "metrics_listen: expected ADDRESS:PORT"));
	CHECK(!metrics_parse_listen("127.0.0.1:0", &ss, err, sizeof(err)));
	CHECK(!metrics_parse_listen("127.0.0.1:70000", &ss, err, sizeof(err)));
	CHECK(!metrics_parse_listen("999.1.1.1:80", &ss, err, sizeof(err)));
	CHECK(!metrics_parse_listen("[::1:80", &ss, err, sizeof(err)));
}

static int collect(void *arg, struct metrics_view *v)
{
	(*(int *)arg)++;
	view_of(v);
	return 0;
}

static void release(void *arg, struct metrics_view *v)
{
	(void)arg;
	(void)v;
}

/* One HTTP/1.0 request to 127.0.0.1:port; the whole response. */
static char *http(unsigned port, const char *request)
{
	struct sockaddr_in sa;
	static char buf[262144];
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return buf;
}

static void test_server(void)
{
	struct metrics_server *s = NULL;
	char listen[64], err[256], *r;
	unsigned port = 0;
	int scrapes = 0, i;

	/* a free port in a quiet range, a few tries */
	for (i = 0; i < 20 && !s; i++) {
		port = 30000 + (unsigned)((getpid() * 7 + i * 131) % 20000);
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
		s = metrics_server_start(listen, collect, release, &scrapes, err, sizeof(err));
	}
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(r && strncmp(r, "HTTP/1.", 7) == 0 && strncmp(r + 9, "200", 3) == 0);
	CHECK(r && strstr(r, "Content-Type: text/plain; version=0.0.4"));
	CHECK(r && strstr(r, "imwire_flow_packets_total{worker=\"queue 1\"} 23\n"));
	r = http(port, "GET /other HTTP/1.0\r\n\r\n");
	CHECK(r && strncmp(r + 9, "404", 3) == 0);
	r = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	CHECK(r && strncmp(r + 9, "405", 3) == 0);
	CHECK_INT_EQ(scrapes, 1);
	/* the same address twice: the second says why it cannot */
	CHECK(metrics_server_start(listen, collect, release, &scrapes, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "cannot listen"));
	metrics_server_stop(s);
	CHECK(http(port, "GET /metrics HTTP/1.0\r\n\r\n") == NULL);
}

int main(void)
{
	RUN_TEST(test_render);
	RUN_TEST(test_textfile);
	RUN_TEST(test_listen_addresses);
	RUN_TEST(test_server);
	TEST_MAIN_END();
}
