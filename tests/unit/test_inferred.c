/* A connection picked up mid-stream whose PDUs never name the user takes
 * the local id another connection of the same client host named, and its
 * events say the id was inferred. */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "proto/directory.h"
#include "testlib.h"

struct seen {
	size_t n;
	struct im_event ev[8];
};

static void collect(void *arg, const struct im_event *ev)
{
	struct seen *s = arg;

	if (s->n < 8 && event_copy(&s->ev[s->n], ev))
		s->n++;
}

static void feed(struct app_flow *af, enum im_dir dir, const char *text, uint64_t *off)
{
	app_flow_data(af, dir, (const uint8_t *)text, strlen(text), *off, 1.0);
	*off += strlen(text);
}

static void test_switchboard_takes_the_user_of_its_host(void)
{
	static const char body[] = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
				   "\r\nhi there";
	char msg[256];
	struct app_config cfg;
	struct app_stats stats;
	struct app_context ctx;
	struct proto_directory *dir = calloc(1, sizeof(*dir));
	struct seen s;
	struct app_flow *ns, *sb, *other;
	uint64_t off = 1, off2 = 1, off3 = 1;
	size_t i;

	CHECK(dir != NULL);
	if (!dir)
		return;
	proto_directory_init(dir);
	memset(&stats, 0, sizeof(stats));
	memset(&s, 0, sizeof(s));
	app_config_defaults(&cfg);
	snprintf(msg, sizeof(msg), "MSG 4 N %zu\r\n%s", strlen(body), body);
	/* The notification server connection names the user. */
	ctx = (struct app_context){ &cfg, &stats, { dir, collect, &s, NULL, NULL } };
	ns = app_flow_new(&ctx, 1, "10.0.0.5:40000", 1863);
	sb = app_flow_new(&ctx, 2, "10.0.0.5:40001", 1863);
	other = app_flow_new(&ctx, 3, "10.0.0.6:40002", 1863);
	CHECK(ns && sb && other);
	if (!ns || !sb || !other)
		return;
	feed(ns, IM_DIR_OUT, "VER 1 MSNP8 CVR0\r\n", &off);
	feed(ns, IM_DIR_OUT, "USR 3 TWN I alice@example.com\r\n", &off);
	/* A switchboard of the same host, and one of another, mid-stream. */
	feed(sb, IM_DIR_OUT, msg, &off2);
	feed(other, IM_DIR_OUT, msg, &off3);
	for (i = 0; i < s.n; i++) {
		if (s.ev[i].kind != IM_KIND_MESSAGE)
			continue;
		if (s.ev[i].flow_id == 2) {
			CHECK_STR_EQ(s.ev[i].local, "alice@example.com");
			CHECK(s.ev[i].ids_inferred);
		} else {
			CHECK_STR_EQ(s.ev[i].local, "");
			CHECK(!s.ev[i].ids_inferred);
		}
	}
	CHECK_INT_EQ(s.n, 2);
	for (i = 0; i < s.n; i++)
		event_free(&s.ev[i]);
	app_flow_free(ns);
	app_flow_free(sb);
	app_flow_free(other);
	proto_directory_free(dir);
	free(dir);
}

int main(void)
{
	RUN_TEST(test_switchboard_takes_the_user_of_its_host);
	TEST_MAIN_END();
}
