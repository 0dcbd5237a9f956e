/* XMPP module: stream framing, messages (chat, groupchat), chat states,
 * file offers, presence, STARTTLS, splits, resync, hostile XML, encode. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proto/xmpp/xmpp.h"
#include "proto/proto.h"
#include "testlib.h"
#include "util/bytebuf.h"

#define MODULE (&proto_xmpp)

/* Every test's flow: XMPP from 192.0.2.10:40001. */
#define XMPP_FLOW MODULE, 7, "192.0.2.10:40001"

static void feed_bytes(struct harness *h, enum im_dir dir, const void *data, size_t len)
{
	harness_feed(h, dir, data, len);
}

/* A lost stretch of one direction: what is buffered is dropped. */
static void feed_gap(struct harness *h, enum im_dir dir)
{
	harness_gap(h, dir, 1);
}

#define event_at harness_event

#define CHECK_EVENT(ev, kind_, dir_, remote_, text_)     \
	do {                                             \
		CHECK_INT_EQ((ev)->kind, kind_);         \
		CHECK_INT_EQ((ev)->dir, dir_);           \
		CHECK_STR_EQ((ev)->remote, remote_);     \
		CHECK_STR_EQ((ev)->text, text_);         \
	} while (0)

static void feed_str(struct harness *h, enum im_dir dir, const char *s)
{
	feed_bytes(h, dir, s, strlen(s));
}

#define C2S_OUT_HEADER                                                                  \
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                    \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>"
#define C2S_IN_HEADER                                                                  \
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                   \
	"xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.org' "  \
	"version='1.0'>"
#define BIND_RESULT                                                                    \
	"<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"    \
	"<jid>alice@example.org/laptop</jid></bind></iq>"

static void start_session(struct harness *h)
{
	harness_init(h, XMPP_FLOW);
	feed_str(h, IM_DIR_OUT, C2S_OUT_HEADER);
	feed_str(h, IM_DIR_IN, C2S_IN_HEADER "<stream:features><bind xmlns='urn:ietf:params:xml:ns:"
					     "xmpp-bind'/></stream:features>");
	feed_str(h, IM_DIR_OUT, "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-"
				"bind'><resource>laptop</resource></bind></iq>");
	feed_str(h, IM_DIR_IN, BIND_RESULT);
}

static void test_bind_gives_local_jid_and_login(void)
{
	struct harness h;

	start_session(&h);
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_LOGIN, IM_DIR_IN, "", "alice@example.org/laptop");
	CHECK_STR_EQ(event_at(&h, 0)->local, "alice@example.org/laptop");
	CHECK_STR_EQ(h.s->local_id, "alice@example.org/laptop");
	CHECK_INT_EQ(h.dir[0].garbage + h.dir[1].garbage, 0);
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_chat_messages_both_ways(void)
{
	static const char out[] = "<message to='bob@example.org' type='chat' id='m1'>"
				  "<body>Hello Bob</body></message>";
	struct harness h;
	const struct im_event *ev;

	start_session(&h);
	feed_str(&h, IM_DIR_OUT, out);
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/phone' to='alice@example.org/laptop' "
				"type='chat'><body>Hi &lt;Alice&gt; &amp; &#x263A;</body>"
				"<active xmlns='http://jabber.org/protocol/chatstates'/></message>");
	feed_str(&h, IM_DIR_OUT, "\n \n");
	feed_str(&h, IM_DIR_OUT, "<message to='carol@example.org'><body xml:lang='de'>Hallo</body>"
				 "<body>Hello in the default language</body></message>");
	CHECK_INT_EQ(h.c.n, 4);
	ev = event_at(&h, 1);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_OUT, "bob@example.org", "Hello Bob");
	CHECK_STR_EQ(ev->local, "alice@example.org/laptop");
	CHECK_STR_EQ(ev->content_type, "text/plain");
	CHECK(!ev->group);
	CHECK(ev->has_text_span);
	CHECK_INT_EQ(ev->text_len, 9);
	CHECK_MEM_EQ(out + ev->text_offset, "Hello Bob", 9);
	ev = event_at(&h, 2);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.org/phone",
		    "Hi <Alice> & \xE2\x98\xBA");
	CHECK(!ev->has_text_span); /* references: the wire bytes are not the text */
	CHECK_EVENT(event_at(&h, 3), IM_KIND_MESSAGE, IM_DIR_OUT, "carol@example.org",
		    "Hello in the default language");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_local_from_incoming_stanza_midstream(void)
{
	struct harness h;

	harness_init(&h, XMPP_FLOW);
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/phone' to='dave@example.net/x' "
				"type='chat'><body>picked up late</body></message>");
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_STR_EQ(event_at(&h, 0)->local, "dave@example.net/x");
	CHECK_STR_EQ(event_at(&h, 0)->text, "picked up late");
	harness_free(&h);
}

static void test_muc_groupchat(void)
{
	struct harness h;
	const struct im_event *ev;

	start_session(&h);
	feed_str(&h, IM_DIR_OUT, "<presence to='lounge@conf.example.org/alice'>"
				 "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
	feed_str(&h, IM_DIR_IN, "<message from='lounge@conf.example.org/bob' "
				"to='alice@example.org/laptop' type='groupchat'><body>hi all</body></message>");
	feed_str(&h, IM_DIR_OUT, "<message to='lounge@conf.example.org' type='groupchat'>"
				 "<body>hello room</body></message>");
	feed_str(&h, IM_DIR_OUT, "<presence to='lounge@conf.example.org/alice' type='unavailable'/>");
	CHECK_INT_EQ(h.c.n, 5);
	ev = event_at(&h, 1);
	CHECK_EVENT(ev, IM_KIND_JOIN, IM_DIR_OUT, "lounge@conf.example.org", "available");
	CHECK(ev->group);
	ev = event_at(&h, 2);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_IN, "lounge@conf.example.org", "bob: hi all");
	CHECK(ev->group);
	CHECK(!ev->has_text_span);
	ev = event_at(&h, 3);
	CHECK_EVENT(ev, IM_KIND_MESSAGE, IM_DIR_OUT, "lounge@conf.example.org", "hello room");
	CHECK(ev->group);
	ev = event_at(&h, 4);
	CHECK_EVENT(ev, IM_KIND_PART, IM_DIR_OUT, "lounge@conf.example.org", "unavailable");
	CHECK(ev->group);
	harness_free(&h);
}

static void test_chat_states_are_typing(void)
{
	struct harness h;

	start_session(&h);
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/phone' type='chat'>"
				"<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org/phone' type='chat'>"
				 "<paused xmlns='http://jabber.org/protocol/chatstates'/></message>");
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org/phone' type='chat'>"
				 "<gone xmlns='http://jabber.org/protocol/chatstates'/></message>");
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_TYPING, IM_DIR_IN, "bob@example.org/phone", "composing");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_TYPING, IM_DIR_OUT, "bob@example.org/phone", "paused");
	h.s->log_typing = false;
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/phone' type='chat'>"
				"<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
	CHECK_INT_EQ(h.c.n, 3);
	harness_free(&h);
}

/* A namespace is that of the nearest element with an xmlns attribute:
 * an element inherits its parent's, its own wins, and a prefixed
 * declaration (xmlns:x) is no default namespace. */
static void test_namespace_in_force(void)
{
	struct harness h;

	start_session(&h);
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org' xmlns='http://jabber.org/protocol/"
				 "chatstates'><composing/></message>");
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org' xmlns='http://jabber.org/protocol/"
				 "chatstates'><paused xmlns='jabber:client'/></message>");
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org'><paused xmlns:cs='http://"
				 "jabber.org/protocol/chatstates'/></message>");
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org'><x xmlns='jabber:x:oob'><url>"
				 "http://e.org/f.txt</url></x></message>");
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_TYPING, IM_DIR_OUT, "bob@example.org", "composing");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_FILE, IM_DIR_OUT, "bob@example.org",
		    "http://e.org/f.txt");
	harness_free(&h);
}

/* XEP-0022 message events (older clients' typing) and <subject> alone. */
static void test_x_event_and_subject(void)
{
	struct harness h;
	size_t n;

	start_session(&h);
	n = h.c.n;
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/psi'><x xmlns='jabber:x:event'>"
				"<composing/><id>m1</id></x></message>");
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/psi'><x xmlns='jabber:x:event'>"
				"<id>m1</id></x></message>");
	/* With a body the element only asks for events: the message alone. */
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org'><body>hi</body>"
				 "<x xmlns='jabber:x:event'><composing/></x></message>");
	feed_str(&h, IM_DIR_IN, "<message from='lounge@conf.example.org/alice' type='groupchat'>"
				"<subject>Plans &amp; dates</subject></message>");
	/* A message with a subject and a body is the message. */
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/psi' type='normal'>"
				"<subject>Re: lunch</subject><body>yes</body></message>");
	CHECK_INT_EQ(h.c.n, n + 5);
	if (h.c.n == n + 5) {
		CHECK_EVENT(event_at(&h, n), IM_KIND_TYPING, IM_DIR_IN, "bob@example.org/psi",
			    "composing");
		CHECK_EVENT(event_at(&h, n + 1), IM_KIND_TYPING, IM_DIR_IN, "bob@example.org/psi",
			    "paused");
		CHECK_EVENT(event_at(&h, n + 2), IM_KIND_MESSAGE, IM_DIR_OUT, "bob@example.org", "hi");
		CHECK_EVENT(event_at(&h, n + 3), IM_KIND_TOPIC, IM_DIR_IN, "lounge@conf.example.org",
			    "alice: Plans & dates");
		CHECK(event_at(&h, n + 3)->group);
		CHECK_EVENT(event_at(&h, n + 4), IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.org/psi",
			    "yes");
	}
	harness_free(&h);
}

static void test_file_offers(void)
{
	struct harness h;
	const struct im_event *ev;

	start_session(&h);
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='si1' to='bob@example.org/phone'><si xmlns='http://jabber.org/"
		 "protocol/si' id='a0' profile='http://jabber.org/protocol/si/profile/file-transfer'>"
		 "<file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='test.txt' "
		 "size='1022'/></si></iq>");
	feed_str(&h, IM_DIR_IN,
		 "<iq type='set' id='j1' from='bob@example.org/phone'><jingle xmlns='urn:xmpp:jingle:1' "
		 "action='session-initiate' sid='s1'><content creator='initiator' name='f'>"
		 "<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file>"
		 "<name>holiday photo.jpg</name><size>3032449</size></file></description>"
		 "</content></jingle></iq>");
	feed_str(&h, IM_DIR_IN,
		 "<message from='bob@example.org/phone' type='chat'><body>https://up.example.org/"
		 "x/report.pdf</body><x xmlns='jabber:x:oob'><url>https://up.example.org/x/report.pdf"
		 "</url></x></message>");
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='get' id='u1' to='upload.example.org'><request xmlns='urn:xmpp:http:"
		 "upload:0' filename='notes.odt' size='23456' content-type='application/x'/></iq>");
	feed_str(&h, IM_DIR_IN, "<iq type='set' from='bob@example.org/phone'><query xmlns='jabber:"
				"iq:oob'><url>http://files.example.org/song.ogg?dl=1</url></query></iq>");
	CHECK_INT_EQ(h.c.n, 7);
	ev = event_at(&h, 1);
	CHECK_EVENT(ev, IM_KIND_FILE, IM_DIR_OUT, "bob@example.org/phone", "test.txt (1022 bytes)");
	CHECK_STR_EQ(ev->file_name, "test.txt");
	CHECK(ev->has_file_size && ev->file_size == 1022);
	ev = event_at(&h, 2);
	CHECK_EVENT(ev, IM_KIND_FILE, IM_DIR_IN, "bob@example.org/phone",
		    "holiday photo.jpg (3032449 bytes)");
	CHECK(ev->has_file_size && ev->file_size == 3032449);
	CHECK_EVENT(event_at(&h, 3), IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.org/phone",
		    "https://up.example.org/x/report.pdf");
	ev = event_at(&h, 4);
	CHECK_EVENT(ev, IM_KIND_FILE, IM_DIR_IN, "bob@example.org/phone",
		    "https://up.example.org/x/report.pdf");
	CHECK_STR_EQ(ev->file_name, "report.pdf");
	CHECK(!ev->has_file_size);
	ev = event_at(&h, 5);
	CHECK_EVENT(ev, IM_KIND_FILE, IM_DIR_OUT, "upload.example.org", "notes.odt (23456 bytes)");
	ev = event_at(&h, 6);
	CHECK_STR_EQ(ev->file_name, "song.ogg");
	harness_free(&h);
}

static void test_presence(void)
{
	struct harness h;

	start_session(&h);
	feed_str(&h, IM_DIR_OUT, "<presence><show>away</show><status>lunch &amp; more</status>"
				 "</presence>");
	feed_str(&h, IM_DIR_IN, "<presence from='bob@example.org/phone' type='unavailable'/>");
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_PRESENCE, IM_DIR_OUT, "", "away: lunch & more");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_PRESENCE, IM_DIR_IN, "bob@example.org/phone",
		    "unavailable");
	harness_free(&h);
}

static void test_starttls_makes_both_directions_opaque(void)
{
	struct harness h;

	harness_init(&h, XMPP_FLOW);
	feed_str(&h, IM_DIR_OUT, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
				 "xmlns='jabber:client' to='jabber.ccc.de' version='1.0'>");
	feed_str(&h, IM_DIR_IN, C2S_IN_HEADER);
	feed_str(&h, IM_DIR_OUT, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	CHECK_INT_EQ(h.c.n, 0);
	feed_str(&h, IM_DIR_IN, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01");
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_EVENT(event_at(&h, 0), IM_KIND_ENCRYPTED, IM_DIR_IN, "jabber.ccc.de", "STARTTLS");
	CHECK(h.s->opaque[IM_DIR_OUT] && h.s->opaque[IM_DIR_IN]);
	CHECK_INT_EQ(h.dir[1].garbage, 0);
	harness_free(&h);
}

/* A stanza cut at every byte position decodes to the same one message. */
static void test_split_at_every_byte(void)
{
	static const char msg[] = "<message to='bob@example.org' type='chat'><body>split &amp; "
				  "joined again</body><x xmlns='jabber:x:event'><composing/></x>"
				  "</message>  <message to='bob@example.org'><body>second</body></message>";
	size_t cut, cut2;

	for (cut = 1; cut < sizeof(msg) - 1; cut++) {
		struct harness h;

		cut2 = cut + (sizeof(msg) - 1 - cut) / 2;
		start_session(&h);
		feed_bytes(&h, IM_DIR_OUT, msg, cut);
		feed_bytes(&h, IM_DIR_OUT, msg + cut, cut2 - cut);
		feed_bytes(&h, IM_DIR_OUT, msg + cut2, sizeof(msg) - 1 - cut2);
		CHECK_INT_EQ(h.c.n, 3);
		CHECK_STR_EQ(event_at(&h, 1)->text, "split & joined again");
		CHECK_STR_EQ(event_at(&h, 2)->text, "second");
		CHECK_INT_EQ(h.dir[0].garbage, 0);
		harness_free(&h);
		if (testlib_failures_in_test)
			break;
	}
}

/* The framer builds a stanza's tree from the tokens it lexes, and the
 * decoder takes it; a stanza split over segments is parsed whole by the
 * decoder instead. Either way the events are the same, field by field
 * (the text span too), as are the malformed PDUs: fed whole, one PDU at
 * a time, a byte at a time and 13 bytes at a time. */
static void feed_stream(struct harness *h, const char *s, size_t step)
{
	size_t len = strlen(s), i, n;

	start_session(h);
	for (i = 0; i < len; i += n) {
		n = step && len - i > step ? step : len - i;
		feed_bytes(h, IM_DIR_OUT, s + i, n);
	}
}

static void check_same_events(struct harness *a, struct harness *b)
{
	size_t i;

	CHECK_INT_EQ(a->c.n, b->c.n);
	CHECK_INT_EQ(a->dir[0].decode_errors, b->dir[0].decode_errors);
	CHECK_INT_EQ(a->dir[0].garbage, b->dir[0].garbage);
	for (i = 0; i < a->c.n && i < b->c.n; i++) {
		const struct im_event *x = &a->c.ev[i], *y = &b->c.ev[i];

		CHECK_INT_EQ(x->kind, y->kind);
		CHECK_INT_EQ(x->group, y->group);
		CHECK_STR_EQ(x->remote, y->remote);
		CHECK_STR_EQ(x->text, y->text);
		CHECK_STR_EQ(x->content_type, y->content_type);
		CHECK_INT_EQ(x->has_text_span, y->has_text_span);
		CHECK_INT_EQ(x->text_offset, y->text_offset);
		CHECK_INT_EQ(x->text_len, y->text_len);
		CHECK_INT_EQ(x->pdu_offset, y->pdu_offset);
		CHECK_INT_EQ(x->pdu_len, y->pdu_len);
	}
}

static void test_tree_from_framing_same_as_parse(void)
{
	struct bytebuf big;
	struct harness whole, per_byte, odd;
	size_t i, k;

	bytebuf_init(&big);
	bytebuf_append_str(&big,
			   "<message to='bob@example.org' type='chat' id='a1'><body>plain text "
			   "of a message</body></message>"
			   "<!-- a comment between stanzas -->"
			   "<message to='bob@example.org'><body>with &amp; and &#x263A;</body>"
			   "<active xmlns='http://jabber.org/protocol/chatstates'/></message>\n  "
			   "<message to='bob@example.org'><body><![CDATA[<raw> & more]]></body></message>"
			   "<message to='room@muc.example.org' type='groupchat'><body>to the room"
			   "</body><subject>ignored with a body</subject></message>"
			   "<message to='bob@example.org'><html xmlns='http://jabber.org/protocol/"
			   "xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>rich</p></body>"
			   "</html></message>"
			   "<presence><show>away</show><status>out</status></presence>"
			   "<message to='bob@example.org'><body>a</body><body xml:lang='de'>b</body>"
			   "</message>");
	/* Too many elements for one stanza's tree: malformed, then the next
	 * stanza is decoded. */
	bytebuf_append_str(&big, "<message to='bob@example.org'><body>x</body>");
	for (i = 0; i < 4100; i++)
		bytebuf_append_str(&big, "<a/>");
	bytebuf_append_str(&big, "</message><message to='bob@example.org'><body>after the big one"
				 "</body></message>");
	bytebuf_terminate(&big);

	feed_stream(&whole, (const char *)big.data, 0);
	CHECK_INT_EQ(whole.dir[0].decode_errors, 1);
	CHECK(whole.c.n >= 8);
	CHECK_STR_EQ(harness_event(&whole, whole.c.n - 1)->text, "after the big one");
	CHECK_INT_EQ(harness_event(&whole, 1)->has_text_span, true);
	for (k = 1; k <= 13 && !testlib_failures_in_test; k += 12) {
		/* a byte at a time, then 13 at a time: texts come in pieces */
		feed_stream(&per_byte, (const char *)big.data, k);
		check_same_events(&whole, &per_byte);
		harness_free(&per_byte);
	}
	/* one feed per PDU, as a segment per stanza comes */
	start_session(&odd);
	for (i = 0; i < big.len;) {
		const char *p = (const char *)big.data + i, *end = strstr(p, "</message>");
		size_t n = end ? (size_t)(end - p) + strlen("</message>") : big.len - i;

		feed_bytes(&odd, IM_DIR_OUT, p, n);
		i += n;
	}
	check_same_events(&whole, &odd);
	harness_free(&odd);
	harness_free(&whole);
	bytebuf_free(&big);
}

static void test_resync_after_gap_and_garbage(void)
{
	struct harness h;

	start_session(&h);
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org'><body>lost in the ");
	feed_gap(&h, IM_DIR_OUT);
	feed_str(&h, IM_DIR_OUT, "middle</body><html><p>x</p></html></message>"
				 "<message to='bob@example.org'><body>after the gap</body></message>");
	feed_str(&h, IM_DIR_IN, "\x16\x03\x01 binary junk <<< <message from='bob@example.org' "
				"type='chat'><body>after junk</body></message>");
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_MESSAGE, IM_DIR_OUT, "bob@example.org", "after the gap");
	CHECK_EVENT(event_at(&h, 2), IM_KIND_MESSAGE, IM_DIR_IN, "bob@example.org", "after junk");
	CHECK(h.dir[1].garbage >= 1);
	harness_free(&h);
}

/* Hostile XML: each is refused with a clear reason, nothing is expanded,
 * and the next stanza is decoded. */
static void check_hostile(const char *bad, const char *why)
{
	struct harness h;

	start_session(&h);
	feed_str(&h, IM_DIR_IN, bad);
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org' type='chat'><body>still here</body>"
				"</message>");
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_STR_EQ(event_at(&h, 1)->text, "still here");
	CHECK_STR_EQ(h.s->last_error, why);
	CHECK(h.s->stats.malformed >= 1);
	harness_free(&h);
}

static void test_hostile_xml(void)
{
	struct bytebuf b;
	size_t i;

	check_hostile("<!DOCTYPE m [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]>",
		      "DTD or declaration not allowed");
	/* The stanza after a refused DTD cannot use its entities either. */
	check_hostile("<!DOCTYPE m [<!ENTITY b 'expanded'>]><message from='x@y'><body>&b;</body>"
		      "</message>",
		      "bad entity or character reference");
	check_hostile("<message from='x@y'><body>&xxe;</body></message>",
		      "bad entity or character reference");
	check_hostile("<message from='x@y'><?php evil ?></message>",
		      "processing instruction in a stream");
	bytebuf_init(&b);
	bytebuf_append_str(&b, "<message from='x@y'>");
	for (i = 0; i < 200; i++)
		bytebuf_append_str(&b, "<x>");
	bytebuf_terminate(&b);
	check_hostile((char *)b.data, "elements nested too deep");
	bytebuf_clear(&b);
	bytebuf_append_str(&b, "<message from='");
	for (i = 0; i < 100000; i++)
		bytebuf_append_byte(&b, 'A');
	bytebuf_append_str(&b, "'><body>big</body></message>");
	bytebuf_terminate(&b);
	check_hostile((char *)b.data, "attribute value too long");
	bytebuf_clear(&b);
	bytebuf_append_str(&b, "<message><body>");
	for (i = 0; i < 600 * 1024; i++)
		bytebuf_append_byte(&b, 'B');
	bytebuf_terminate(&b);
	{
		/* Larger than max_pdu: the app layer gives up on it as garbage. */
		struct harness h;

		start_session(&h);
		feed_str(&h, IM_DIR_IN, (char *)b.data);
		feed_str(&h, IM_DIR_IN, "</body></message><message from='bob@example.org'><body>"
					"still here</body></message>");
		CHECK_INT_EQ(h.c.n, 2);
		CHECK_STR_EQ(event_at(&h, 1)->text, "still here");
		CHECK(h.dir[1].garbage >= 1);
		CHECK_INT_EQ(harness_buffered(&h, IM_DIR_IN), 0);
		harness_free(&h);
	}
	bytebuf_free(&b);
}

static void test_stream_close_is_logout(void)
{
	struct harness h;

	start_session(&h);
	feed_str(&h, IM_DIR_OUT, "</stream:stream>");
	feed_str(&h, IM_DIR_IN, "</stream:stream>");
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_LOGOUT, IM_DIR_OUT, "example.org", "");
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
}

static void test_detect(void)
{
	static const char hdr[] = C2S_OUT_HEADER;
	const struct proto_module *m = MODULE;

	CHECK_INT_EQ(m->detect((const uint8_t *)hdr, strlen(hdr), IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(m->detect((const uint8_t *)"<?xml version='1.0'?>", 21, IM_DIR_IN),
		     PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(m->detect((const uint8_t *)"<stream:str", 11, IM_DIR_OUT), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(m->detect((const uint8_t *)"GET / HTTP/1.1\r\n", 16, IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(m->detect((const uint8_t *)"NICK alice\r\nUSER a 0 * :A\r\n", 27, IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(m->detect((const uint8_t *)"<message to='a@b'><body>x</body></message>", 42,
			       IM_DIR_OUT),
		     PROTO_DETECT_YES);
}

static char *encode_to_string(struct harness *h, enum im_dir dir, const struct im_event *ev,
			      const char *orig)
{
	struct bytebuf out;

	bytebuf_init(&out);
	if (MODULE->encode(h->s, dir, ev, (const uint8_t *)orig, orig ? strlen(orig) : 0, &out) <
		    0 ||
	    !bytebuf_terminate(&out)) {
		bytebuf_free(&out);
		return NULL;
	}
	return (char *)out.data;
}

static void test_encode_with_original(void)
{
	static const char orig[] =
		"<message to='bob@example.org' type='chat' id='m7'><body>bad word</body>"
		"<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/"
		"1999/xhtml'><p>bad <b>word</b></p></body></html><active xmlns='http://jabber.org/"
		"protocol/chatstates'/></message>";
	static const char muc[] = "<message from='lounge@conf.example.org/bob' type='groupchat'>"
				  "<body/></message>";
	struct harness h;
	struct im_event ev;
	char *out;

	start_session(&h);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	event_set_str(&ev.text, "b*d <w> & 'q'");
	out = encode_to_string(&h, IM_DIR_OUT, &ev, orig);
	CHECK_STR_EQ(out, "<message to='bob@example.org' type='chat' id='m7'><body>b*d &lt;w&gt; "
			  "&amp; &apos;q&apos;</body><html xmlns='http://jabber.org/protocol/xhtml-im'>"
			  "<body xmlns='http://www.w3.org/1999/xhtml'>b*d &lt;w&gt; &amp; &apos;q&apos;"
			  "</body></html><active xmlns='http://jabber.org/protocol/chatstates'/></message>");
	if (out) {
		size_t before = h.c.n;

		feed_str(&h, IM_DIR_OUT, out);
		CHECK_INT_EQ(h.c.n, before + 1);
		CHECK_STR_EQ(event_at(&h, before)->text, "b*d <w> & 'q'");
	}
	free(out);
	event_set_str(&ev.text, "bad word");
	out = encode_to_string(&h, IM_DIR_OUT, &ev, orig);
	CHECK_STR_EQ(out, orig); /* unchanged text: the very same bytes */
	free(out);
	/* A word overwritten in place: in the body and in the XHTML-IM copy,
	 * every other byte (tags, entities, quotes) as it was. */
	event_set_str(&ev.text, "*** word");
	out = encode_to_string(&h, IM_DIR_OUT, &ev, orig);
	CHECK_STR_EQ(out, "<message to='bob@example.org' type='chat' id='m7'><body>*** word</body>"
			  "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www."
			  "w3.org/1999/xhtml'><p>*** <b>word</b></p></body></html><active xmlns='http:"
			  "//jabber.org/protocol/chatstates'/></message>");
	free(out);
	{
		static const char ent[] =
			"<message to='b@x'><body>don&apos;t say frak, it&#39;s \"rude\" &amp; "
			"&lt;b&gt;<![CDATA[ frak & <co>]]></body></message>";

		event_set_str(&ev.text, "don't say ****, it's \"rude\" & <b> **** & <co>");
		out = encode_to_string(&h, IM_DIR_OUT, &ev, ent);
		CHECK_STR_EQ(out, "<message to='b@x'><body>don&apos;t say ****, it&#39;s \"rude\" "
				  "&amp; &lt;b&gt;<![CDATA[ **** & <co>]]></body></message>");
		free(out);
		/* A change over a reference rewrites that reference only. */
		event_set_str(&ev.text, "don't say frak, it*s \"rude\" & <b> frak & <co>");
		out = encode_to_string(&h, IM_DIR_OUT, &ev, ent);
		CHECK_STR_EQ(out, "<message to='b@x'><body>don&apos;t say frak, it*s \"rude\" "
				  "&amp; &lt;b&gt;<![CDATA[ frak & <co>]]></body></message>");
		free(out);
	}
	event_set_str(&ev.text, "bob: now filled");
	out = encode_to_string(&h, IM_DIR_IN, &ev, muc);
	CHECK_STR_EQ(out, "<message from='lounge@conf.example.org/bob' type='groupchat'>"
			  "<body>now filled</body></message>");
	free(out);
	event_free(&ev);
	harness_free(&h);
}

static void test_encode_fresh(void)
{
	struct harness h;
	struct im_event ev;
	char *out;
	size_t before;

	start_session(&h);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	event_set_str(&ev.remote, "bob@example.org");
	event_set_str(&ev.text, "injected <hello>");
	out = encode_to_string(&h, IM_DIR_OUT, &ev, NULL);
	CHECK_STR_EQ(out, "<message to='bob@example.org' type='chat' id='imwire-1'><body>injected "
			  "&lt;hello&gt;</body></message>");
	free(out);
	out = encode_to_string(&h, IM_DIR_IN, &ev, NULL);
	CHECK_STR_EQ(out, "<message from='bob@example.org' to='alice@example.org/laptop' type='chat' "
			  "id='imwire-2'><body>injected &lt;hello&gt;</body></message>");
	free(out);
	ev.group = true;
	event_set_str(&ev.remote, "lounge@conf.example.org");
	event_set_str(&ev.text, "carol: hi room");
	out = encode_to_string(&h, IM_DIR_IN, &ev, NULL);
	before = h.c.n;
	if (out)
		feed_str(&h, IM_DIR_IN, out);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_EVENT(event_at(&h, before), IM_KIND_MESSAGE, IM_DIR_IN, "lounge@conf.example.org",
		    "carol: hi room");
	CHECK(event_at(&h, before)->group);
	free(out);
	event_set_str(&ev.remote, "");
	CHECK(encode_to_string(&h, IM_DIR_OUT, &ev, NULL) == NULL);
	event_free(&ev);
	harness_free(&h);
}

static void test_local_address(void)
{
	struct harness h;

	start_session(&h);
	CHECK_STR_EQ(h.s->local_address, "alice@example.org/laptop");
	/* remote_address is the router's to set; the decoder leaves it. */
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/phone' type='chat'>"
				"<body>hi</body></message>");
	CHECK_INT_EQ(h.c.n, 2);
	CHECK(event_at(&h, 1)->remote_address == NULL);
	harness_free(&h);

	/* Picked up mid-stream: the local id is guessed, the address unknown. */
	harness_init(&h, XMPP_FLOW);
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org/phone' to='dave@example.net/x' "
				"type='chat'><body>picked up late</body></message>");
	CHECK_STR_EQ(h.s->local_id, "dave@example.net/x");
	CHECK(h.s->local_address == NULL);
	harness_free(&h);
}

/* Encode a fresh incoming message for alice, feed it back to the decoder. */
static void check_fresh_in(bool group, const char *remote, const char *address, const char *text,
			   const char *expect, const char *decoded_remote, const char *decoded_text)
{
	struct harness h;
	struct im_event ev;
	char *out;
	size_t before;

	start_session(&h);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	ev.dir = IM_DIR_IN;
	ev.group = group;
	CHECK(event_set_str(&ev.remote, remote) && event_set_str(&ev.text, text));
	if (address)
		CHECK(event_set_str(&ev.remote_address, address));
	out = encode_to_string(&h, IM_DIR_IN, &ev, NULL);
	CHECK_STR_EQ(out, expect);
	before = h.c.n;
	if (out)
		feed_str(&h, IM_DIR_IN, out);
	CHECK_INT_EQ(h.c.n, before + 1);
	CHECK_EVENT(event_at(&h, before), IM_KIND_MESSAGE, IM_DIR_IN, decoded_remote, decoded_text);
	CHECK_STR_EQ(event_at(&h, before)->local, "alice@example.org/laptop");
	CHECK_INT_EQ(event_at(&h, before)->group, group);
	free(out);
	event_free(&ev);
	harness_free(&h);
}

static void test_encode_fresh_remote_address(void)
{
	check_fresh_in(false, "bob@example.org", "bob@example.org/phone", "hi <3",
		       "<message from='bob@example.org/phone' to='alice@example.org/laptop' "
		       "type='chat' id='imwire-1'><body>hi &lt;3</body></message>",
		       "bob@example.org/phone", "hi <3");
	check_fresh_in(false, "bob@example.org", "Bob@Example.org/phone", "hi",
		       "<message from='Bob@Example.org/phone' to='alice@example.org/laptop' "
		       "type='chat' id='imwire-1'><body>hi</body></message>",
		       "Bob@Example.org/phone", "hi");
	/* Another account's address is not the sender's. */
	check_fresh_in(false, "bob@example.org", "carol@example.org/pc", "hi",
		       "<message from='bob@example.org' to='alice@example.org/laptop' "
		       "type='chat' id='imwire-1'><body>hi</body></message>",
		       "bob@example.org", "hi");
	check_fresh_in(false, "bob@example.org/phone", NULL, "hi",
		       "<message from='bob@example.org/phone' to='alice@example.org/laptop' "
		       "type='chat' id='imwire-1'><body>hi</body></message>",
		       "bob@example.org/phone", "hi");
	/* A room occupant speaking: the nick prefix is not body text. */
	check_fresh_in(true, "lounge@conf.example.org", "lounge@conf.example.org/carol",
		       "carol: hi room",
		       "<message from='lounge@conf.example.org/carol' to='alice@example.org/laptop' "
		       "type='groupchat' id='imwire-1'><body>hi room</body></message>",
		       "lounge@conf.example.org", "carol: hi room");
}

/* A locally delivered message that asked for a XEP-0184 receipt gets one
 * in the recipient's name; one that did not, or has no id, gets none. */
static void test_local_receipt(void)
{
	static const char asked[] = "<message to='bob@example.org' id='m7' type='chat'>"
				    "<body>hi</body><request xmlns='urn:xmpp:receipts'/></message>";
	static const char plain[] = "<message to='bob@example.org' id='m8' type='chat'>"
				    "<body>hi</body></message>";
	static const char no_id[] = "<message to='bob@example.org' type='chat'><body>hi</body>"
				    "<request xmlns='urn:xmpp:receipts'/></message>";
	struct harness h;
	struct im_event ev;
	struct bytebuf out;
	size_t n;

	start_session(&h);
	CHECK(proto_session_set_local(h.s, "alice@example.org/home", 22));
	event_init(&ev);
	ev.dir = IM_DIR_OUT;
	ev.kind = IM_KIND_MESSAGE;
	CHECK(event_set_str(&ev.remote, "bob@example.org"));
	bytebuf_init(&out);
	CHECK_INT_EQ(MODULE->local_receipt(h.s, &ev, (const uint8_t *)asked, strlen(asked), &out),
		     1);
	CHECK(bytebuf_terminate(&out));
	CHECK_STR_EQ((const char *)out.data,
		     "<message from='bob@example.org' to='alice@example.org/home' id='imwire-1'>"
		     "<received xmlns='urn:xmpp:receipts' id='m7'/></message>");
	out.len = 0;
	CHECK_INT_EQ(MODULE->local_receipt(h.s, &ev, (const uint8_t *)plain, strlen(plain), &out),
		     0);
	CHECK_INT_EQ(MODULE->local_receipt(h.s, &ev, (const uint8_t *)no_id, strlen(no_id), &out),
		     0);
	CHECK_INT_EQ(out.len, 0);
	/* What it builds, our own decoder takes for no message at all. */
	n = h.c.n;
	feed_str(&h, IM_DIR_IN, "<message from='bob@example.org' to='alice@example.org/home' "
				"id='imwire-1'><received xmlns='urn:xmpp:receipts' id='m7'/></message>");
	CHECK_INT_EQ(h.c.n, n);
	CHECK_INT_EQ(h.dir[IM_DIR_IN].decode_errors, 0);
	bytebuf_free(&out);
	event_free(&ev);
	harness_free(&h);
}

/* Stream management (XEP-0198) counts stanzas end to end: once the inline
 * engine may delete or insert stanzas, the server's offer is blanked in
 * place (same length), and only then. */
static void test_stream_management_offer_blanked(void)
{
	static const char features[] =
		"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
		"<sm xmlns='urn:xmpp:sm:2'/><sm xmlns='urn:xmpp:sm:3'><optional/></sm>"
		"<csi xmlns='urn:xmpp:csi:0'/></stream:features>";
	static const char want[] =
		"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
		"                                                                     "
		"<csi xmlns='urn:xmpp:csi:0'/></stream:features>";
	struct harness h;
	uint8_t buf[sizeof(features)];
	size_t n = sizeof(features) - 1;

	CHECK_INT_EQ(strlen(want), n);
	start_session(&h);
	memcpy(buf, features, n);
	/* Nothing may be edited: the offer stays. */
	CHECK(!MODULE->fixup_pdu(h.s, IM_DIR_IN, buf, n));
	CHECK(memcmp(buf, features, n) == 0);
	h.s->edits_possible = true;
	/* Only the server's features, never what the client sends. */
	CHECK(!MODULE->fixup_pdu(h.s, IM_DIR_OUT, buf, n));
	CHECK(MODULE->fixup_pdu(h.s, IM_DIR_IN, buf, n));
	CHECK(memcmp(buf, want, n) == 0);
	/* Another stanza with an <sm> lookalike is left alone. */
	memcpy(buf, "<message><body>&lt;sm xmlns='urn:xmpp:sm:3'/&gt;</body></message>", 66);
	CHECK(!MODULE->fixup_pdu(h.s, IM_DIR_IN, buf, 66));
	harness_free(&h);
}

/* encrypted=strip: an offer of STARTTLS the server does not require
 * becomes blanks; a required one stays, and the event after <proceed/>
 * says why nothing could be logged. */
static void test_strip_starttls(void)
{
	static const char offer[] =
		"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
		"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
		"</mechanisms></stream:features>";
	static const char required[] =
		"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
		"</starttls></stream:features>";
	struct harness h;
	uint8_t buf[sizeof(offer)];
	size_t n = sizeof(offer) - 1;
	size_t blank = strlen("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");

	start_session(&h);
	memcpy(buf, offer, n);
	CHECK(!MODULE->fixup_pdu(h.s, IM_DIR_IN, buf, n)); /* not asked to strip */
	h.s->strip_tls = true;
	CHECK(MODULE->fixup_pdu(h.s, IM_DIR_IN, buf, n));
	CHECK(memcmp(buf, "<stream:features>", 17) == 0);
	CHECK(buf[17] == ' ' && buf[17 + blank - 1] == ' ' && buf[17 + blank] == '<');
	CHECK(memcmp(buf + 17 + blank, offer + 17 + blank, n - 17 - blank) == 0);
	memcpy(buf, required, sizeof(required) - 1);
	CHECK(!MODULE->fixup_pdu(h.s, IM_DIR_IN, buf, sizeof(required) - 1));
	feed_str(&h, IM_DIR_IN, required);
	feed_str(&h, IM_DIR_OUT, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	feed_str(&h, IM_DIR_IN, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	CHECK(h.c.n >= 1);
	if (h.c.n >= 1) {
		CHECK_INT_EQ(event_at(&h, h.c.n - 1)->kind, IM_KIND_ENCRYPTED);
		CHECK(strstr(event_at(&h, h.c.n - 1)->text, "required by the server") != NULL);
	}
	harness_free(&h);
}

/* What the decoder makes of messages without a body (for local routing:
 * they are not messages and pass through the server as before). */
static void test_bodyless_messages(void)
{
	struct harness h;

	start_session(&h);
	/* XEP-0184 receipt: nothing. */
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org/phone' id='r1'>"
				 "<received xmlns='urn:xmpp:receipts' id='m1'/></message>");
	/* Chat states other than composing/paused: nothing. */
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org/phone' type='chat'>"
				 "<active xmlns='http://jabber.org/protocol/chatstates'/></message>");
	CHECK_INT_EQ(h.c.n, 1);
	/* composing: a typing event, not a message. */
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org/phone' type='chat'>"
				 "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_EVENT(event_at(&h, 1), IM_KIND_TYPING, IM_DIR_OUT, "bob@example.org/phone",
		    "composing");
	/* A body with a receipt request: one message event, the request not
	 * represented in it. */
	feed_str(&h, IM_DIR_OUT, "<message to='bob@example.org/phone' type='chat' id='m2'>"
				 "<body>ack me</body><request xmlns='urn:xmpp:receipts'/></message>");
	CHECK_INT_EQ(h.c.n, 3);
	CHECK_EVENT(event_at(&h, 2), IM_KIND_MESSAGE, IM_DIR_OUT, "bob@example.org/phone",
		    "ack me");
	harness_free(&h);
}

/* #20: where file data travel. An SI offer expects an in-band stream
 * named by its id; a streamhost names the SOCKS5 destination, SHA-1 of
 * the sid and both full JIDs (XEP-0065 5.3.2); Jingle names its
 * transport; IBB data reach the file stage decoded. */
static void test_file_xfer(void)
{
	static const uint8_t proxy[4] = { 10, 77, 0, 2 };
	const struct im_event *ev;
	struct harness h;

	start_session(&h);
	harness_clear_events(&h);
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='si1' to='bob@example.org/pc'><si xmlns='http://jabber.org/"
		 "protocol/si' id='vxf9n471bn46' profile='http://jabber.org/protocol/si/profile/"
		 "file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' "
		 "name='test.txt' size='63'/></si></iq>");
	ev = event_at(&h, 0);
	CHECK_INT_EQ(ev->kind, IM_KIND_FILE);
	CHECK_INT_EQ(ev->xfer.path, IM_XFER_INBAND);
	CHECK_INT_EQ(ev->xfer.token_len, 12);
	CHECK_MEM_EQ(ev->xfer.token, "vxf9n471bn46", 12);
	harness_clear_events(&h);
	/* our streamhost: a proxy; "from" is the JID the server bound us to */
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='s5' to='bob@example.org/pc'><query xmlns='http://jabber.org/"
		 "protocol/bytestreams' sid='vxf9n471bn46'><streamhost jid='proxy.example.org' "
		 "host='10.77.0.2' port='5000'/><streamhost jid='x' host='name.example.org' "
		 "port='5001'/></query></iq>");
	CHECK_INT_EQ(h.c.n, 1); /* a host name is nothing to expect on the wire */
	ev = event_at(&h, 0);
	CHECK_EVENT(ev, IM_KIND_RENDEZVOUS, IM_DIR_OUT, "bob@example.org/pc",
		    "bytestream vxf9n471bn46 via 10.77.0.2:5000");
	CHECK_INT_EQ(ev->xfer.path, IM_XFER_SOCKS5);
	CHECK_INT_EQ(ev->xfer.ip_version, 4);
	CHECK_MEM_EQ(ev->xfer.addr, proxy, 4);
	CHECK_INT_EQ(ev->xfer.port, 5000);
	CHECK_INT_EQ(ev->xfer.token_len, 40);
	CHECK_MEM_EQ(ev->xfer.token, "c1206d88f85116b01d268a7ebbb5a17a19d35a70", 40);
	CHECK_INT_EQ(ev->xfer.offer_id_len, 12);
	CHECK_MEM_EQ(ev->xfer.offer_id, "vxf9n471bn46", 12);
	harness_clear_events(&h);
	/* in-band: open, two chunks (whitespace inside base64), close */
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='o1' to='bob@example.org/pc'><open xmlns='http://jabber.org/"
		 "protocol/ibb' block-size='4096' sid='vxf9n471bn46' stanza='iq'/></iq>");
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='d1' to='bob@example.org/pc'><data xmlns='http://jabber.org/"
		 "protocol/ibb' seq='0' sid='vxf9n471bn46'>aGVsbG8gaW4tYmFuZCB3b3JsZCwgaGVsbG8g"
		 "aW4tYmFuZCB3b3Js\nZCwg</data></iq>");
	feed_str(&h, IM_DIR_OUT,
		 "<message to='bob@example.org/pc'><data xmlns='http://jabber.org/protocol/ibb' "
		 "seq='1' sid='vxf9n471bn46'>aGVsbG8gaW4tYmFuZCB3b3JsZCwg</data></message>");
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='c1' to='bob@example.org/pc'><close xmlns='http://jabber.org/"
		 "protocol/ibb' sid='vxf9n471bn46'/></iq>");
	CHECK_INT_EQ(h.files.opens, 1);
	CHECK_INT_EQ(h.files.datas, 2);
	CHECK_INT_EQ(h.files.closes, 1);
	CHECK(h.files.complete);
	CHECK_INT_EQ(h.files.dir, IM_DIR_OUT);
	CHECK_STR_EQ(h.files.token, "vxf9n471bn46");
	CHECK_INT_EQ(h.files.len, 63);
	CHECK(h.files.len == 63 &&
	      memcmp(h.files.data, "hello in-band world, hello in-band world, hello in-band world, ",
		     63) == 0);
	CHECK_INT_EQ(h.c.n, 0); /* none of it is a message */
	/* not base64: malformed, nothing handed over */
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='d2' to='bob@example.org/pc'><data xmlns='http://jabber.org/"
		 "protocol/ibb' seq='2' sid='vxf9n471bn46'>!!!</data></iq>");
	CHECK_INT_EQ(h.files.datas, 2);
	CHECK_INT_EQ(h.s->stats.malformed, 1);
	/* Jingle: the transports */
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='j1' to='bob@example.org/pc'><jingle xmlns='urn:xmpp:jingle:1' "
		 "action='session-initiate' sid='js1'><content creator='initiator' name='f'>"
		 "<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>j.txt</name>"
		 "<size>5</size></file></description><transport xmlns='urn:xmpp:jingle:transports:"
		 "ibb:1' sid='ibb7' block-size='4096'/></content></jingle></iq>");
	ev = event_at(&h, 0);
	CHECK_INT_EQ(ev->kind, IM_KIND_FILE);
	CHECK_INT_EQ(ev->xfer.path, IM_XFER_INBAND);
	CHECK_MEM_EQ(ev->xfer.token, "ibb7", 4);
	harness_clear_events(&h);
	feed_str(&h, IM_DIR_OUT,
		 "<iq type='set' id='j2' to='bob@example.org/pc'><jingle xmlns='urn:xmpp:jingle:1' "
		 "action='session-initiate' sid='js2'><content creator='initiator' name='f'>"
		 "<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>k.txt</name>"
		 "<size>5</size></file></description><transport xmlns='urn:xmpp:jingle:transports:"
		 "s5b:1' sid='tr1'><candidate cid='c1' host='10.77.0.2' port='5000' jid='p' "
		 "priority='1' type='proxy'/></transport></content></jingle></iq>");
	ev = event_at(&h, 0);
	CHECK_INT_EQ(ev->xfer.path, IM_XFER_SOCKS5);
	CHECK_INT_EQ(ev->xfer.port, 5000);
	CHECK_MEM_EQ(ev->xfer.token, "048f9b5eba23c4a1888429a9c67d4d526d242cbc", 40);
	harness_free(&h);
}

int main(void)
{
	RUN_TEST(test_bind_gives_local_jid_and_login);
	RUN_TEST(test_chat_messages_both_ways);
	RUN_TEST(test_local_from_incoming_stanza_midstream);
	RUN_TEST(test_muc_groupchat);
	RUN_TEST(test_chat_states_are_typing);
	RUN_TEST(test_namespace_in_force);
	RUN_TEST(test_x_event_and_subject);
	RUN_TEST(test_strip_starttls);
	RUN_TEST(test_file_offers);
	RUN_TEST(test_presence);
	RUN_TEST(test_starttls_makes_both_directions_opaque);
	RUN_TEST(test_split_at_every_byte);
	RUN_TEST(test_tree_from_framing_same_as_parse);
	RUN_TEST(test_resync_after_gap_and_garbage);
	RUN_TEST(test_hostile_xml);
	RUN_TEST(test_stream_close_is_logout);
	RUN_TEST(test_detect);
	RUN_TEST(test_encode_with_original);
	RUN_TEST(test_encode_fresh);
	RUN_TEST(test_local_address);
	RUN_TEST(test_encode_fresh_remote_address);
	RUN_TEST(test_local_receipt);
	RUN_TEST(test_bodyless_messages);
	RUN_TEST(test_stream_management_offer_blanked);
	RUN_TEST(test_file_xfer);
	TEST_MAIN_END();
}
