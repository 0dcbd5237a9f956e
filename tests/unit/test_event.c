/* The neutral event: copying and freeing its owned fields, and the JSON
 * line a sink writes for it (the routing keys appear only when set). */
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "sink/sink.h"
#include "testlib.h"
#include "util/bytebuf.h"

static void fill_message(struct im_event *ev)
{
	event_init(ev);
	ev->ts = 1.5;
	ev->proto = IMW_PROTO_IRC;
	ev->dir = IM_DIR_OUT;
	ev->kind = IM_KIND_MESSAGE;
	ev->flow_id = 3;
	CHECK(event_set_str(&ev->local, "alice"));
	CHECK(event_set_str(&ev->remote, "bob"));
	CHECK(event_set_str(&ev->client, "10.0.0.1:4000"));
	CHECK(event_set_str(&ev->text, "hi"));
}

static char *format(const struct im_event *ev)
{
	struct bytebuf b;
	char *s = NULL;

	bytebuf_init(&b);
	if (sink_format_json(&b, ev) && bytebuf_terminate(&b))
		s = strdup((const char *)b.data);
	bytebuf_free(&b);
	return s;
}

static void test_copy_routing_fields(void)
{
	struct im_event ev, copy;

	fill_message(&ev);
	CHECK(event_set_str(&ev.remote_address, "bob!~b@example.org"));
	ev.route = "local";
	CHECK(event_set_str(&ev.route_to, "bob@irc"));
	CHECK(event_copy(&copy, &ev));
	CHECK_STR_EQ(copy.remote_address, "bob!~b@example.org");
	CHECK(copy.remote_address != ev.remote_address);
	CHECK_STR_EQ(copy.route, "local");
	CHECK_STR_EQ(copy.route_to, "bob@irc");
	CHECK(copy.route_to != ev.route_to);
	event_free(&ev);
	CHECK(ev.remote_address == NULL && ev.route == NULL && ev.route_to == NULL);
	/* The copy owns its strings: still readable after the source is gone. */
	CHECK_STR_EQ(copy.route_to, "bob@irc");
	event_free(&copy);
}

static void test_copy_without_routing(void)
{
	struct im_event ev, copy;

	fill_message(&ev);
	CHECK(event_copy(&copy, &ev));
	CHECK(copy.remote_address == NULL);
	CHECK(copy.route == NULL);
	CHECK(copy.route_to == NULL);
	event_free(&copy);
	event_free(&ev);
}

/* The packed copy (the engine's logs): every string equal, in one block,
 * absent ones still absent, the PDU pointer dropped; the block is all
 * there is to free (ASan sees anything else). */
static void test_copy_packed(void)
{
	static const uint8_t pdu[] = "PRIVMSG bob :hi\r\n";
	struct im_event ev, copy;
	void *block = NULL;
	const char *lo, *hi;

	event_init(&ev);
	CHECK(event_set_str(&ev.local, "alice") && event_set_str(&ev.remote, "bob") &&
	      event_set_str(&ev.client, "10.0.0.1:40000") && event_set_str(&ev.text, "hi") &&
	      event_set_str(&ev.notice_from, "imwire"));
	ev.kind = IM_KIND_MESSAGE;
	ev.pdu_data = pdu;
	ev.filtered = true;
	CHECK(event_copy_packed(&copy, &ev, &block));
	event_free(&ev);
	CHECK(block != NULL);
	CHECK_STR_EQ(copy.local, "alice");
	CHECK_STR_EQ(copy.remote, "bob");
	CHECK_STR_EQ(copy.client, "10.0.0.1:40000");
	CHECK_STR_EQ(copy.text, "hi");
	CHECK_STR_EQ(copy.notice_from, "imwire");
	CHECK(copy.remote_address == NULL && copy.route_to == NULL && copy.file_name == NULL &&
	      copy.remote_name == NULL);
	CHECK(copy.pdu_data == NULL);
	CHECK(copy.filtered && copy.kind == IM_KIND_MESSAGE);
	lo = block;
	hi = lo + strlen("alice") + strlen("bob") + strlen("10.0.0.1:40000") + strlen("hi") +
	     strlen("imwire") + 5;
	CHECK(copy.local >= lo && copy.notice_from + strlen("imwire") + 1 <= hi);
	free(block);
}

/* event_set_brief and its kind: the strings read back like event_set's,
 * are released by every ordinary path (event_set, event_take, event_free),
 * the scratch block starts over once all of them are released, and a
 * string that does not fit goes to the heap (ASan: nothing leaks). */
static void test_brief_strings(void)
{
	static const uint8_t latin1[] = { 'h', 0xe9, 'l', 'l', 'o' };
	struct im_event ev, copy;
	char big[5000], *first, *again;
	char *many[40];
	size_t i;

	event_init(&ev);
	CHECK(event_set_str_brief(&ev.remote, "bob") && event_set_brief(&ev.local, "alice!", 5) &&
	      event_set_text_brief(&ev.text, latin1, sizeof(latin1)) &&
	      event_set_text_brief(&ev.file_name, (const uint8_t *)"f\xc3\xa9", 3));
	first = ev.remote;
	CHECK_STR_EQ(ev.remote, "bob");
	CHECK_STR_EQ(ev.local, "alice");
	CHECK_STR_EQ(ev.text, "h\xc3\xa9llo"); /* not UTF-8: converted, on the heap */
	CHECK_STR_EQ(ev.file_name, "f\xc3\xa9");
	CHECK(event_copy(&copy, &ev));
	CHECK_STR_EQ(copy.remote, "bob");
	event_free(&copy);
	CHECK(event_set_str(&ev.local, "carol")); /* a brief string replaced */
	event_take(&ev.file_name, NULL);
	event_free(&ev);

	/* everything released: the next string starts the block again */
	event_init(&ev);
	CHECK(event_set_str_brief(&ev.remote, "dave"));
	again = ev.remote;
	CHECK(again == first);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(event_set_str_brief(&ev.text, big)); /* larger than the block */
	CHECK(strlen(ev.text) == sizeof(big) - 1);
	event_free(&ev);

	/* more than the block holds at once: the rest on the heap */
	memset(big, 'y', 300);
	for (i = 0; i < 40; i++) {
		many[i] = NULL;
		CHECK(event_set_brief(&many[i], big, 300));
		CHECK(strlen(many[i]) == 300);
	}
	for (i = 0; i < 40; i++)
		event_take(&many[i], NULL);
	event_init(&ev);
	CHECK(event_set_str_brief(&ev.remote, "erin") && ev.remote == first);
	event_free(&ev);
}

static void test_json_unrouted_unchanged(void)
{
	struct im_event ev;
	char *line;

	fill_message(&ev);
	/* remote_address is for encoders, never logged. */
	CHECK(event_set_str(&ev.remote_address, "bob!~b@example.org"));
	line = format(&ev);
	CHECK_STR_EQ(line, "{\"ts\":1.500000,\"proto\":\"irc\",\"dir\":\"out\",\"kind\":\"message\","
			   "\"local\":\"alice\",\"remote\":\"bob\",\"group\":false,"
			   "\"client\":\"10.0.0.1:4000\",\"content_type\":\"text/plain\","
			   "\"text\":\"hi\",\"filtered\":false,\"flow\":3}");
	free(line);
	event_free(&ev);
}

static void test_json_routed(void)
{
	struct im_event ev;
	char *line;

	fill_message(&ev);
	ev.route = "local";
	CHECK(event_set_str(&ev.route_to, "bob@irc"));
	line = format(&ev);
	CHECK(line && strstr(line, ",\"flow\":3,\"route\":\"local\",\"route_to\":\"bob@irc\"}"));
	free(line);
	free(ev.route_to);
	ev.route_to = NULL;
	ev.route = "dropped";
	line = format(&ev);
	CHECK(line && strstr(line, ",\"route\":\"dropped\"}") && !strstr(line, "route_to"));
	free(line);
	event_free(&ev);
}

int main(void)
{
	RUN_TEST(test_copy_routing_fields);
	RUN_TEST(test_copy_without_routing);
	RUN_TEST(test_copy_packed);
	RUN_TEST(test_brief_strings);
	RUN_TEST(test_json_unrouted_unchanged);
	RUN_TEST(test_json_routed);
	TEST_MAIN_END();
}
