/* The streaming XML tokenizer: tokens, splits at every byte, references,
 * and the limits that keep hostile input bounded. */
#include <stdlib.h>
#include <string.h>

#include "proto/xmpp/xml_tokenizer.h"
#include "testlib.h"
#include "util/bytebuf.h"

#define MAX_TOKENS 256

struct run {
	struct xml_token tok[MAX_TOKENS];
	size_t n;
	enum xml_result last;
	const char *error;
	struct bytebuf text; /* every TEXT token's raw bytes, joined */
};

/* Tokenize buf, offering it in steps of `step` bytes (0: all at once). */
static void run_tokens(struct run *r, const char *buf, size_t len, size_t step)
{
	struct xml_tok t;
	size_t avail = step ? (step < len ? step : len) : len;

	memset(r, 0, sizeof(*r));
	bytebuf_init(&r->text);
	xml_tok_init(&t);
	for (;;) {
		struct xml_token k;
		enum xml_result res = xml_next(&t, (const uint8_t *)buf, avail, &k);

		if (res == XML_OK) {
			if (k.type == XML_TOKEN_TEXT)
				bytebuf_append(&r->text, buf + k.value.off, k.value.len);
			else if (r->n < MAX_TOKENS)
				r->tok[r->n++] = k;
			continue;
		}
		if (res == XML_NEED_MORE && avail < len) {
			avail += step ? step : len;
			if (avail > len)
				avail = len;
			continue;
		}
		r->last = res;
		r->error = t.error;
		return;
	}
}

static void run_free(struct run *r)
{
	bytebuf_free(&r->text);
}

static const char stanza[] =
	"<message to='bob@example.org/home' type=\"chat\" id='m&amp;1'>"
	"<body>Hi &lt;Bob&gt; &#x263A; &#65;</body>"
	"<!-- a comment --><x xmlns='jabber:x:oob'><url>http://e.org/a.png</url></x>"
	"<data><![CDATA[<raw & stuff>]]></data><empty/></message>";

static void test_tokens_of_a_stanza(void)
{
	struct run r;
	const char *b = stanza;

	run_tokens(&r, stanza, strlen(stanza), 0);
	CHECK_INT_EQ(r.last, XML_NEED_MORE);
	CHECK(r.error == NULL);
	CHECK_INT_EQ(r.tok[0].type, XML_TOKEN_START);
	CHECK(xml_span_is((const uint8_t *)b, r.tok[0].name, "message"));
	CHECK_INT_EQ(r.tok[0].depth, 1);
	CHECK_INT_EQ(r.tok[1].type, XML_TOKEN_ATTR);
	CHECK(xml_span_is((const uint8_t *)b, r.tok[1].name, "to"));
	CHECK(xml_span_is((const uint8_t *)b, r.tok[1].value, "bob@example.org/home"));
	CHECK(xml_span_is((const uint8_t *)b, r.tok[2].value, "chat"));
	CHECK(xml_span_is((const uint8_t *)b, r.tok[3].value, "m&amp;1"));
	CHECK_INT_EQ(r.tok[4].type, XML_TOKEN_START_CLOSE);
	CHECK_INT_EQ(r.tok[5].type, XML_TOKEN_START); /* body */
	CHECK_INT_EQ(r.tok[5].depth, 2);
	CHECK_INT_EQ(r.tok[7].type, XML_TOKEN_END);
	CHECK(xml_span_is((const uint8_t *)b, r.tok[7].name, "body"));
	CHECK_INT_EQ(r.tok[8].type, XML_TOKEN_COMMENT);
	CHECK(xml_span_is((const uint8_t *)b, r.tok[8].value, " a comment "));
	CHECK_INT_EQ(r.tok[r.n - 1].type, XML_TOKEN_END);
	CHECK_INT_EQ(r.tok[r.n - 1].depth, 0);
	CHECK_INT_EQ(r.tok[r.n - 1].end, strlen(stanza));
	CHECK_INT_EQ(r.tok[r.n - 2].type, XML_TOKEN_EMPTY_CLOSE); /* <empty/> */
	CHECK_INT_EQ(r.tok[r.n - 5].type, XML_TOKEN_CDATA);
	CHECK(xml_span_is((const uint8_t *)b, r.tok[r.n - 5].value, "<raw & stuff>"));
	CHECK_INT_EQ(r.text.len, strlen("Hi &lt;Bob&gt; &#x263A; &#65;http://e.org/a.png"));
	CHECK_MEM_EQ(r.text.data, "Hi &lt;Bob&gt; &#x263A; &#65;http://e.org/a.png", r.text.len);
	run_free(&r);
}

/* Offered one byte more at a time, and in every step size up to 64, the
 * tokens are exactly those of the whole buffer. */
static void test_split_at_every_byte(void)
{
	struct run whole, part;
	size_t step, i;

	run_tokens(&whole, stanza, strlen(stanza), 0);
	for (step = 1; step <= 64; step++) {
		run_tokens(&part, stanza, strlen(stanza), step);
		CHECK_INT_EQ(part.n, whole.n);
		CHECK(part.error == NULL);
		for (i = 0; i < whole.n && i < part.n; i++) {
			CHECK_INT_EQ(part.tok[i].type, whole.tok[i].type);
			CHECK_INT_EQ(part.tok[i].start, whole.tok[i].start);
			CHECK_INT_EQ(part.tok[i].end, whole.tok[i].end);
			CHECK_INT_EQ(part.tok[i].value.len, whole.tok[i].value.len);
		}
		CHECK_INT_EQ(part.text.len, whole.text.len);
		CHECK(part.text.len == whole.text.len &&
		      memcmp(part.text.data, whole.text.data, whole.text.len) == 0);
		run_free(&part);
	}
	run_free(&whole);
}

/* A run of text or of an attribute value is scanned sixteen and eight
 * bytes at a time and ends at the first byte that stops it: white space
 * (a control to that test, but no stop) at every offset and alignment
 * is stepped over, and a stop at any offset ends the run there, as a
 * byte-by-byte scan would. */
static void run_one(struct run *r, struct bytebuf *b, const char *pre, const uint8_t *body,
		    size_t n, const char *post)
{
	b->len = 0;
	bytebuf_append_str(b, pre);
	bytebuf_append(b, body, n);
	bytebuf_append_str(b, post);
	run_tokens(r, (const char *)b->data, b->len, 0);
}

/* Byte i of a plain run: letters, a UTF-8 lead byte, white space. */
static uint8_t plain_byte(size_t i)
{
	static const uint8_t ws[] = { '\t', '\n', '\r', ' ' };

	if (i % 7 == 3)
		return ws[i % 4];
	if (i % 5 == 1)
		return 0xC3;
	return (uint8_t)('a' + i % 26);
}

static void test_runs_end_at_the_first_stop(void)
{
	uint8_t body[48];
	struct bytebuf b;
	struct run r;
	size_t n, p, i;

	bytebuf_init(&b);
	for (n = 0; n <= sizeof(body) && !testlib_failures_in_test; n++) {
		/* plain: letters, UTF-8 and white space, no stop at all */
		for (i = 0; i < n; i++)
			body[i] = plain_byte(i);
		run_one(&r, &b, "<a>", body, n, "</a>");
		CHECK(r.error == NULL);
		CHECK_INT_EQ(r.text.len, n);
		run_free(&r);
		/* the other quote, which is no stop in a value */
		for (p = 0; p < n; p++) {
			uint8_t keep = body[p];

			body[p] = '"';
			run_one(&r, &b, "<a v='", body, n, "'/>");
			CHECK(r.error == NULL);
			CHECK_INT_EQ(r.tok[1].type, XML_TOKEN_ATTR);
			CHECK_INT_EQ(r.tok[1].value.len, n);
			CHECK_INT_EQ(r.tok[1].refs, false);
			run_free(&r);
			/* a control there: refused in text and in a value */
			body[p] = 0x01;
			run_one(&r, &b, "<a>", body, n, "</a>");
			CHECK_STR_EQ(r.error, "control character in text");
			run_free(&r);
			run_one(&r, &b, "<a v='", body, n, "'/>");
			CHECK_STR_EQ(r.error, "control character in an attribute value");
			run_free(&r);
			/* '<' there: the text ends at it; a value may not hold it */
			body[p] = '<';
			run_one(&r, &b, "<a v='", body, n, "'/>");
			CHECK_STR_EQ(r.error, "\"<\" in an attribute value");
			run_free(&r);
			body[p] = '\'';
			run_one(&r, &b, "<a v='", body, n, "' w='x'/>");
			CHECK_INT_EQ(r.tok[1].value.len, p); /* the value ends at its quote */
			run_free(&r);
			body[p] = keep;
		}
	}
	bytebuf_free(&b);
}

/* A token says whether its value holds a reference. */
static void test_tokens_say_when_a_value_has_references(void)
{
	static const char doc[] = "<a x='plain' y='a&amp;b'>text<b>a &lt; b</b></a>";
	struct xml_tok t;
	struct xml_token k[12];
	size_t n = 0;

	xml_tok_init(&t);
	while (n < 12 && xml_next(&t, (const uint8_t *)doc, strlen(doc), &k[n]) == XML_OK)
		n++;
	CHECK_INT_EQ(n, 10);
	CHECK_INT_EQ(k[1].type, XML_TOKEN_ATTR);
	CHECK_INT_EQ(k[1].refs, false);
	CHECK_INT_EQ(k[2].refs, true);
	CHECK_INT_EQ(k[4].type, XML_TOKEN_TEXT);
	CHECK_INT_EQ(k[4].refs, false);
	CHECK_INT_EQ(k[7].type, XML_TOKEN_TEXT);
	CHECK_INT_EQ(k[7].refs, true);
}

static void test_unescape_and_escape(void)
{
	static const char raw[] = "a &lt;b&gt; &amp; &apos;c&quot; &#65;&#x42;&#x263a;&#128512;";
	struct bytebuf b;

	bytebuf_init(&b);
	CHECK_INT_EQ(xml_unescape((const uint8_t *)raw, strlen(raw), &b), 0);
	CHECK(bytebuf_terminate(&b));
	CHECK_STR_EQ((char *)b.data, "a <b> & 'c\" AB\xE2\x98\xBA\xF0\x9F\x98\x80");
	bytebuf_clear(&b);
	CHECK_INT_EQ(xml_escape("<a&'\"\x01>", 7, &b), 0);
	CHECK(bytebuf_terminate(&b));
	CHECK_STR_EQ((char *)b.data, "&lt;a&amp;&apos;&quot;\xEF\xBF\xBD&gt;");
	bytebuf_clear(&b);
	CHECK_INT_EQ(xml_unescape((const uint8_t *)"&foo;", 5, &b), -1);
	bytebuf_free(&b);
}

static void expect_error(const char *doc, const char *why)
{
	struct run r;
	size_t step;

	/* The same error whether the bytes come at once or one by one. */
	for (step = 0; step <= 1; step++) {
		run_tokens(&r, doc, strlen(doc), step);
		CHECK_INT_EQ(r.last, XML_ERROR);
		CHECK_STR_EQ(r.error, why);
		run_free(&r);
	}
}

static void test_references_outside_the_five_are_refused(void)
{
	expect_error("<a>&xxe;</a>", "bad entity or character reference");
	expect_error("<a>&#0;</a>", "bad entity or character reference");
	expect_error("<a>&#xD800;</a>", "bad entity or character reference");
	expect_error("<a>&#1114112;</a>", "bad entity or character reference");
	expect_error("<a>&#x;</a>", "bad entity or character reference");
	expect_error("<a>&amp</a>", "bad entity or character reference");
	expect_error("<a b='&lol;'/>", "bad entity or character reference");
	expect_error("<a>&#12345678901234;</a>", "bad entity or character reference");
}

static void test_dtd_and_entity_declarations_are_refused(void)
{
	expect_error("<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>"
		     "<lolz>&lol2;</lolz>",
		     "DTD or declaration not allowed");
	expect_error("<a><!ENTITY x 'y'></a>", "DTD or declaration not allowed");
}

static void test_well_formedness_errors(void)
{
	expect_error("<a><b></a>", "end tag does not match its start tag");
	expect_error("</a>", "end tag without a start tag");
	expect_error("<a x='1' x='2'/>", "attribute given twice");
	expect_error("<a x=1/>", "attribute value without quotes");
	expect_error("<a x='1'y='2'/>", "attributes must be separated by white space");
	expect_error("<a x='<'/>", "\"<\" in an attribute value");
	expect_error("hello", "text outside any element");
	expect_error("<a>\x01</a>", "control character in text");
	expect_error("<a><!-- a -- b --></a>", "\"--\" inside a comment");
	expect_error("< a/>", "\"<\" not followed by a name");
}

static void test_depth_limit(void)
{
	struct bytebuf b;
	struct run r;
	unsigned i;

	bytebuf_init(&b);
	for (i = 0; i < XML_MAX_DEPTH; i++)
		bytebuf_append_str(&b, "<d>");
	for (i = 0; i < XML_MAX_DEPTH; i++)
		bytebuf_append_str(&b, "</d>");
	run_tokens(&r, (char *)b.data, b.len, 0);
	CHECK_INT_EQ(r.last, XML_NEED_MORE);
	CHECK(r.error == NULL);
	CHECK_INT_EQ(r.n, 3 * XML_MAX_DEPTH);
	run_free(&r);
	bytebuf_clear(&b);
	for (i = 0; i < 10000; i++)
		bytebuf_append_str(&b, "<d>");
	bytebuf_terminate(&b);
	expect_error((char *)b.data, "elements nested too deep");
	bytebuf_free(&b);
}

static void test_size_limits(void)
{
	struct bytebuf b;
	size_t i;

	bytebuf_init(&b);
	bytebuf_append_str(&b, "<a v='");
	for (i = 0; i < XML_MAX_ATTR_VALUE + 10; i++)
		bytebuf_append_byte(&b, 'x');
	bytebuf_append_str(&b, "'/>");
	bytebuf_terminate(&b);
	expect_error((char *)b.data, "attribute value too long");

	bytebuf_clear(&b);
	bytebuf_append_str(&b, "<a");
	for (i = 0; i <= XML_MAX_ATTRS; i++)
		bytebuf_printf(&b, " a%zu='1'", i);
	bytebuf_append_str(&b, "/>");
	bytebuf_terminate(&b);
	expect_error((char *)b.data, "too many attributes");

	bytebuf_clear(&b);
	bytebuf_append_byte(&b, '<');
	for (i = 0; i <= XML_MAX_NAME; i++)
		bytebuf_append_byte(&b, 'n');
	bytebuf_append_str(&b, "/>");
	bytebuf_terminate(&b);
	expect_error((char *)b.data, "element name too long");

	bytebuf_clear(&b);
	bytebuf_append_str(&b, "<a><!--");
	for (i = 0; i < XML_MAX_MARKUP + 10; i++)
		bytebuf_append_byte(&b, 'c');
	bytebuf_terminate(&b);
	expect_error((char *)b.data, "comment, CDATA or processing instruction too long");
	bytebuf_free(&b);
}

/* Long character data never waits for its end: it comes in pieces, so
 * the tokenizer holds nothing while a megabyte of text streams by. */
static void test_long_text_streams_in_pieces(void)
{
	size_t len = 1024 * 1024 + 7, got = 0, pieces = 0, avail = 3;
	char *buf = malloc(len + 4);
	struct xml_tok t;
	struct xml_token k;
	enum xml_result res;

	CHECK(buf != NULL);
	if (!buf)
		return;
	memcpy(buf, "<a>", 3);
	memset(buf + 3, 'z', len - 3);
	xml_tok_init(&t);
	while (avail <= len) {
		res = xml_next(&t, (const uint8_t *)buf, avail, &k);
		if (res == XML_OK && k.type == XML_TOKEN_TEXT) {
			got += k.value.len;
			pieces++;
		} else if (res == XML_NEED_MORE) {
			if (avail == len)
				break;
			avail = avail + 1460 > len ? len : avail + 1460;
		} else if (res == XML_ERROR) {
			break;
		}
	}
	CHECK(t.error == NULL);
	CHECK_INT_EQ(got, len - 3);
	CHECK(pieces > 700);
	CHECK_INT_EQ(t.pos, len);
	CHECK(sizeof(struct xml_tok) < 1024);
	free(buf);
}

static void test_stream_header_leaves_root_open(void)
{
	static const char hdr[] = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
				  "xmlns:stream='http://etherx.jabber.org/streams' to='ex.org'>";
	struct run r;

	run_tokens(&r, hdr, strlen(hdr), 0);
	CHECK_INT_EQ(r.last, XML_NEED_MORE);
	CHECK_INT_EQ(r.tok[0].type, XML_TOKEN_PI);
	CHECK(xml_span_is((const uint8_t *)hdr, r.tok[0].name, "xml"));
	CHECK(xml_span_is((const uint8_t *)hdr, r.tok[0].value, " version='1.0'"));
	CHECK_INT_EQ(r.tok[1].type, XML_TOKEN_START);
	CHECK(xml_span_is((const uint8_t *)hdr, xml_local_name((const uint8_t *)hdr, r.tok[1].name),
			  "stream"));
	CHECK_INT_EQ(r.tok[r.n - 1].type, XML_TOKEN_START_CLOSE);
	CHECK_INT_EQ(r.tok[r.n - 1].depth, 1);
	run_free(&r);
}

int main(void)
{
	RUN_TEST(test_tokens_of_a_stanza);
	RUN_TEST(test_split_at_every_byte);
	RUN_TEST(test_runs_end_at_the_first_stop);
	RUN_TEST(test_tokens_say_when_a_value_has_references);
	RUN_TEST(test_unescape_and_escape);
	RUN_TEST(test_references_outside_the_five_are_refused);
	RUN_TEST(test_dtd_and_entity_declarations_are_refused);
	RUN_TEST(test_well_formedness_errors);
	RUN_TEST(test_depth_limit);
	RUN_TEST(test_size_limits);
	RUN_TEST(test_long_text_streams_in_pieces);
	RUN_TEST(test_stream_header_leaves_root_open);
	TEST_MAIN_END();
}
