/* sink_format.c's JSON line against a plain byte-by-byte escaper: random
 * strings of every length up to 100 (control bytes, 0x7F, UTF-8 bytes,
 * quotes and backslashes at every position, and runs without any) in
 * every string field, each in its own exactly sized allocation, so that
 * ASan sees a read past a string's end; formatted into an empty buffer
 * and after other bytes, as a batch of lines is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "sink/sink.h"
#include "testlib.h"
#include "util/bytebuf.h"
#include "xorshift.h"

static struct xorshift64 rng = { 0x2545F4914F6CDD1Dull };

static uint64_t rnd(void)
{
	return xorshift64_next(&rng);
}

/* JSON's escaping as the line has always had it: the two-character forms
 * for '"', '\\', \n, \r, \t; \u00xx for the other bytes below 0x20 and
 * for 0x7F; every other byte (UTF-8 included) as it is. */
static size_t ref_escape(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	const unsigned char *p;

	out[n++] = '"';
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			out[n++] = '\\';
			out[n++] = '"';
			break;
		case '\\':
			out[n++] = '\\';
			out[n++] = '\\';
			break;
		case '\n':
			out[n++] = '\\';
			out[n++] = 'n';
			break;
		case '\r':
			out[n++] = '\\';
			out[n++] = 'r';
			break;
		case '\t':
			out[n++] = '\\';
			out[n++] = 't';
			break;
		default:
			if (*p < 0x20 || *p == 0x7F) {
				memcpy(out + n, "\\u00", 4);
				out[n + 4] = hex[*p >> 4];
				out[n + 5] = hex[*p & 15];
				n += 6;
			} else {
				out[n++] = (char)*p;
			}
		}
	}
	out[n++] = '"';
	return n;
}

/* A string of n bytes (no NUL inside) in an allocation of exactly n + 1:
 * clean text, or text with a byte to escape now and then, or mostly
 * bytes to escape. */
static char *random_string(size_t n)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyz0123456789 .:@/-_{}~|";
	char *s = malloc(n + 1);
	unsigned mode = (unsigned)(rnd() % 4);
	size_t i;

	if (!s)
		abort();
	for (i = 0; i < n; i++) {
		uint64_t r = rnd();
		unsigned rare = mode == 0 ? 0 : mode == 1 ? 40 : mode == 2 ? 8 : 2;

		if (rare && r % rare == 0)
			s[i] = (char)(1 + (r >> 8) % 255); /* any byte but NUL */
		else if ((r >> 16) % 16 == 0)
			s[i] = (char)(0x80 + (r >> 24) % 0x80); /* UTF-8 bytes */
		else
			s[i] = plain[(r >> 32) % (sizeof(plain) - 1)];
	}
	s[n] = '\0';
	return s;
}

enum field {
	F_LOCAL,
	F_REMOTE,
	F_CLIENT,
	F_CONTENT_TYPE,
	F_TEXT,
	F_REMOTE_NAME,
	F_ROUTE_TO,
	F_SENSOR,
	F_SERVER,
	F_SESSION,
	F_COMMUNITY_ID,
	F_RULE,
	F_CATEGORIES,
	F_DELIVERED_TEXT,
	F_COUNT
};

/* The event's strings point at the test's own allocations: set them to
 * NULL before event_free. */
static void set_field(struct im_event *ev, enum field f, char *v)
{
	switch (f) {
	case F_LOCAL: ev->local = v; break;
	case F_REMOTE: ev->remote = v; break;
	case F_CLIENT: ev->client = v; break;
	case F_CONTENT_TYPE: ev->content_type = v; break;
	case F_TEXT: ev->text = v; break;
	case F_REMOTE_NAME: ev->remote_name = v; break;
	case F_ROUTE_TO: ev->route_to = v; break;
	case F_SENSOR: ev->sensor = v; break;
	case F_SERVER: ev->server = v; break;
	case F_SESSION: ev->session = v; break;
	case F_COMMUNITY_ID: ev->community_id = v; break;
	case F_RULE: ev->rule = v; break;
	case F_CATEGORIES: ev->categories = v; break;
	case F_DELIVERED_TEXT: ev->delivered_text = v; break;
	case F_COUNT: break;
	}
}

static char fixed_local[] = "alice", fixed_remote[] = "bob", fixed_client[] = "10.0.0.1:4000",
	    fixed_server[] = "192.0.2.7:6667", fixed_text[] = "hi there";

static void base_event(struct im_event *ev)
{
	event_init(ev);
	ev->ts = 1700000000.25;
	ev->proto = IMW_PROTO_IRC;
	ev->dir = IM_DIR_IN;
	ev->kind = IM_KIND_MESSAGE;
	ev->flow_id = 12345;
	ev->local = fixed_local;
	ev->remote = fixed_remote;
	ev->client = fixed_client;
	ev->server = fixed_server;
	ev->text = fixed_text;
	ev->content_type = "text/plain";
}

static int mismatches;

/* The line for ev with field f set to s: the line with a placeholder
 * there, the placeholder replaced by the reference escaping of s. */
static void check_field(enum field f, char *s, size_t before)
{
	static char token[] = "@@PLACEHOLDER@@";
	struct im_event ev;
	struct bytebuf b;
	char *want, *at;
	size_t want_len, head, i;

	base_event(&ev);
	bytebuf_init(&b);
	set_field(&ev, f, token);
	CHECK(sink_format_json(&b, &ev));
	CHECK(bytebuf_terminate(&b));
	at = strstr((char *)b.data, "\"@@PLACEHOLDER@@\"");
	CHECK(at != NULL);
	if (!at) {
		bytebuf_free(&b);
		return;
	}
	head = (size_t)(at - (char *)b.data);
	want = malloc(b.len + 6 * strlen(s) + 3);
	if (!want)
		abort();
	memcpy(want, b.data, head);
	want_len = head + ref_escape(want + head, s);
	memcpy(want + want_len, at + sizeof(token) + 1, b.len - head - (sizeof(token) + 1));
	want_len += b.len - head - (sizeof(token) + 1);

	/* After `before` bytes already in the buffer, as a batch has them. */
	bytebuf_clear(&b);
	for (i = 0; i < before; i++)
		CHECK(bytebuf_append_byte(&b, (uint8_t)('0' + i % 10)));
	set_field(&ev, f, s);
	CHECK(sink_format_json(&b, &ev));
	if (b.len != before + want_len || memcmp(b.data + before, want, want_len) != 0) {
		if (mismatches++ < 5)
			fprintf(stderr, "  field %d, %zu bytes after %zu: got %.*s\n  want %.*s\n",
				(int)f, strlen(s), before, (int)(b.len - before),
				(const char *)b.data + before, (int)want_len, want);
	}
	for (i = 0; i < before; i++)
		if (b.data[i] != (uint8_t)('0' + i % 10))
			mismatches++;
	free(want);
	bytebuf_free(&b);
}

static void test_every_field_every_length(void)
{
	size_t len;
	int f, round;

	mismatches = 0;
	for (f = 0; f < F_COUNT; f++)
		for (len = 0; len <= 100; len++)
			for (round = 0; round < 4; round++) {
				char *s = random_string(len);

				check_field((enum field)f, s, (size_t)(rnd() % 80));
				free(s);
			}
	CHECK_INT_EQ(mismatches, 0);
}

/* Every byte value alone and amid clean bytes, at each position of the
 * block sizes the escaping tests (short word, two words, two blocks). */
static void test_every_byte_everywhere(void)
{
	static const size_t lens[] = { 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 64, 65 };
	size_t li, pos;
	unsigned c;

	mismatches = 0;
	for (c = 1; c < 256; c++)
		for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
			for (pos = 0; pos < lens[li]; pos++) {
				char *s = malloc(lens[li] + 1);

				if (!s)
					abort();
				memset(s, 'x', lens[li]);
				s[pos] = (char)c;
				s[lens[li]] = '\0';
				check_field(F_TEXT, s, 0);
				free(s);
			}
	CHECK_INT_EQ(mismatches, 0);
}

/* NULL head strings are "", NULL archive strings leave their key out; a
 * full chained line keeps its order. */
static void test_absent_and_chained(void)
{
	struct im_event ev;
	struct bytebuf b;
	char want[512];

	event_init(&ev);
	ev.ts = 2.5;
	ev.proto = IMW_PROTO_XMPP;
	ev.dir = IM_DIR_OUT;
	ev.kind = IM_KIND_MESSAGE;
	ev.group = true;
	ev.filtered = true;
	ev.flow_id = 0;
	ev.content_type = NULL;
	ev.eventid = 18446744073709551615ull;
	ev.action = "block";
	ev.chained = true;
	memset(ev.prev_hash, 0xAB, sizeof(ev.prev_hash));
	memset(ev.hash, 0x01, sizeof(ev.hash));
	bytebuf_init(&b);
	CHECK(sink_format_json(&b, &ev) && bytebuf_terminate(&b));
	snprintf(want, sizeof(want),
		 "{\"ts\":2.500000,\"proto\":\"xmpp\",\"dir\":\"out\",\"kind\":\"message\","
		 "\"local\":\"\",\"remote\":\"\",\"group\":true,\"client\":\"\","
		 "\"content_type\":\"\",\"text\":\"\",\"filtered\":true,\"flow\":0,"
		 "\"eventid\":18446744073709551615,\"action\":\"block\",\"prev_hash\":\"%s\","
		 "\"hash\":\"%s\"}",
		 "abababababababababababababababababababababababababababababababab",
		 "0101010101010101010101010101010101010101010101010101010101010101");
	CHECK_STR_EQ((const char *)b.data, want);
	bytebuf_free(&b);
}

int main(void)
{
	RUN_TEST(test_every_field_every_length);
	RUN_TEST(test_every_byte_everywhere);
	RUN_TEST(test_absent_and_chained);
	TEST_MAIN_END();
}
