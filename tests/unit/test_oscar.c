/* OSCAR module: detection, FLAP framing and resync, SNAC/ICBM decoding
 * (charsets, HTML, auto-responses, typing, rendezvous, chat, ICQ), OFT2,
 * encode (byte-exact, rewritten, built from the event) with decode round
 * trips, and FLAP sequence renumbering. */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/oscar/oscar.h"
#include "harness.h"
#include "proto/proto.h"
#include "testlib.h"
#include "util/bytebuf.h"

static const struct proto_module *M = &proto_oscar;

/* Every test's flow: OSCAR from 192.0.2.20:40101. */
#define OSCAR_FLOW M, 3, "192.0.2.20:40101"

static void feed(struct harness *h, enum im_dir dir, const void *data, size_t len)
{
	harness_feed(h, dir, data, len);
}

static uint64_t errors(const struct harness *h)
{
	return h->dir[0].decode_errors + h->dir[1].decode_errors;
}

/* ---- PDU builders ---- */

static void put8(struct bytebuf *b, unsigned v)
{
	CHECK(bytebuf_append_byte(b, (uint8_t)v));
}

static void put16(struct bytebuf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put32(struct bytebuf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xFFFF);
}

static void put(struct bytebuf *b, const void *p, size_t n)
{
	CHECK(bytebuf_append(b, p, n));
}

static void put_tlv(struct bytebuf *b, unsigned type, const void *v, size_t n)
{
	put16(b, type);
	put16(b, (unsigned)n);
	put(b, v, n);
}

static void put_name(struct bytebuf *b, const char *s)
{
	put8(b, (unsigned)strlen(s));
	put(b, s, strlen(s));
}

/* Wrap body as a FLAP of channel ch with sequence seq. */
static void flap(struct bytebuf *out, unsigned ch, unsigned seq, const struct bytebuf *body)
{
	put8(out, '*');
	put8(out, ch);
	put16(out, seq);
	put16(out, (unsigned)body->len);
	put(out, body->data, body->len);
}

static void snac(struct bytebuf *b, unsigned family, unsigned subtype, uint32_t reqid)
{
	put16(b, family);
	put16(b, subtype);
	put16(b, 0);
	put32(b, reqid);
}

/* A channel-1 ICBM: out (0x0006) or in (0x0007, with user info). */
static void icbm(struct bytebuf *out, unsigned seq, enum im_dir dir, const char *cookie,
		 const char *buddy, unsigned charset, const void *text, size_t n, bool auto_resp)
{
	struct bytebuf body, tlv2;
	static const uint8_t caps[] = { 0x05, 0x01, 0x00, 0x01, 0x01 };

	bytebuf_init(&body);
	bytebuf_init(&tlv2);
	put(&tlv2, caps, sizeof(caps));
	put16(&tlv2, 0x0101);
	put16(&tlv2, (unsigned)n + 4);
	put16(&tlv2, charset);
	put16(&tlv2, 0);
	put(&tlv2, text, n);
	snac(&body, 4, dir == IM_DIR_OUT ? 6 : 7, 0x1234);
	put(&body, cookie, 8);
	put16(&body, 1);
	put_name(&body, buddy);
	if (dir == IM_DIR_IN) {
		put16(&body, 0);
		put16(&body, 1);
		put_tlv(&body, 0x0001, "\x00\x10", 2);
	}
	put_tlv(&body, 0x0002, tlv2.data, tlv2.len);
	if (auto_resp)
		put_tlv(&body, 0x0004, NULL, 0);
	else
		put_tlv(&body, 0x0003, NULL, 0);
	flap(out, 2, seq, &body);
	bytebuf_free(&body);
	bytebuf_free(&tlv2);
}

#define ev_at harness_event

/* Decode one PDU in a fresh session; the event count must be `want`. */
static void decode_alone(struct harness *h, enum im_dir dir, const struct bytebuf *pdu, size_t want)
{
	harness_init(h, OSCAR_FLOW);
	feed(h, dir, pdu->data, pdu->len);
	CHECK_INT_EQ(h->c.n, want);
}

/* ---- tests ---- */

static void test_detect(void)
{
	struct bytebuf b;
	static const uint8_t keepalive_then_snac[] = { '*', 5, 0, 0x60, 0, 0,
						       '*', 2, 0, 0x61, 0, 10, 0, 4, 0, 6,
						       0, 0, 0, 0, 0, 1 };
	static const uint8_t server_hello[] = { '*', 1, 0x56, 0xc2, 0, 4, 0, 0, 0, 1 };

	bytebuf_init(&b);
	icbm(&b, 1, IM_DIR_OUT, "12345678", "bob", 0, "hi", 2, false);
	CHECK_INT_EQ(M->detect(b.data, b.len, IM_DIR_OUT), PROTO_DETECT_YES);
	CHECK_INT_EQ(M->detect(b.data, 3, IM_DIR_OUT), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(M->detect(server_hello, sizeof(server_hello), IM_DIR_IN), PROTO_DETECT_YES);
	CHECK_INT_EQ(M->detect(keepalive_then_snac, sizeof(keepalive_then_snac), IM_DIR_OUT),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(M->detect(keepalive_then_snac, 8, IM_DIR_OUT), PROTO_DETECT_MAYBE);
	CHECK_INT_EQ(M->detect((const uint8_t *)"OFT2\x01\x00\x01\x01", 8, IM_DIR_IN),
		     PROTO_DETECT_YES);
	CHECK_INT_EQ(M->detect((const uint8_t *)"OFT", 3, IM_DIR_IN), PROTO_DETECT_MAYBE);
	/* TOC's text frames and FLAPON, TLS and HTTP are not OSCAR */
	CHECK_INT_EQ(M->detect((const uint8_t *)"*\x02\x00\x01\x00\x0ctoc_send_im ", 18, IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(M->detect((const uint8_t *)"FLAPON\r\n\r\n", 10, IM_DIR_OUT), PROTO_DETECT_NO);
	CHECK_INT_EQ(M->detect((const uint8_t *)"\x17\x03\x01\x01\x12\xaa", 6, IM_DIR_IN),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(M->detect((const uint8_t *)"GET / HTTP/1.1\r\n", 16, IM_DIR_OUT),
		     PROTO_DETECT_NO);
	CHECK_INT_EQ(M->detect((const uint8_t *)"*\x09\x00\x01\x00\x00", 6, IM_DIR_OUT),
		     PROTO_DETECT_NO);
	bytebuf_free(&b);
}

static void test_icbm_out_html_with_span(void)
{
	struct harness h;
	struct bytebuf b;
	static const char text[] = "<HTML><BODY>Hi <B>Bob</B></BODY></HTML>";
	const struct im_event *e;

	bytebuf_init(&b);
	icbm(&b, 7, IM_DIR_OUT, "abcdefgh", "buddybob", 0, text, strlen(text), false);
	decode_alone(&h, IM_DIR_OUT, &b, 1);
	e = ev_at(&h, 0);
	CHECK_INT_EQ(e->kind, IM_KIND_MESSAGE);
	CHECK_INT_EQ(e->dir, IM_DIR_OUT);
	CHECK_INT_EQ(e->proto, IMW_PROTO_OSCAR);
	CHECK_STR_EQ(e->remote, "buddybob");
	CHECK_STR_EQ(e->text, text);
	CHECK_STR_EQ(e->content_type, "text/html");
	CHECK(!e->auto_response);
	CHECK(e->has_text_span);
	CHECK_INT_EQ(e->text_len, strlen(text));
	CHECK(e->text_offset + e->text_len <= b.len);
	CHECK_MEM_EQ(b.data + e->text_offset, text, strlen(text));
	harness_free(&h);
	bytebuf_free(&b);
}

static void test_icbm_in_charsets(void)
{
	struct harness h;
	struct bytebuf b;
	/* "Ωmega ✓" UCS-2BE, and a surrogate pair for U+1F600 */
	static const uint8_t ucs2[] = { 0x03, 0xA9, 0x00, 0x6D, 0x00, 0x65, 0x00, 0x67, 0x00, 0x61,
					0x00, 0x20, 0x27, 0x13, 0xD8, 0x3D, 0xDE, 0x00 };

	bytebuf_init(&b);
	icbm(&b, 1, IM_DIR_IN, "00000001", "alice", 0x0002, ucs2, sizeof(ucs2), false);
	icbm(&b, 2, IM_DIR_IN, "00000002", "alice", 0x0003, "na\xefve \xa3" "5", 8, true);
	icbm(&b, 3, IM_DIR_IN, "00000003", "alice", 0x0000, "5 < 6 & 7 > 3", 13, false);
	icbm(&b, 4, IM_DIR_IN, "00000004", "alice", 0x0000, "fish &amp; chips", 16, false);
	decode_alone(&h, IM_DIR_IN, &b, 4);
	CHECK_STR_EQ(ev_at(&h, 0)->text, "Ωmega ✓😀");
	CHECK_STR_EQ(ev_at(&h, 0)->content_type, "text/plain");
	CHECK_STR_EQ(ev_at(&h, 1)->text, "naïve £5");
	CHECK(ev_at(&h, 1)->auto_response);
	CHECK_STR_EQ(ev_at(&h, 2)->text, "5 < 6 & 7 > 3");
	CHECK_STR_EQ(ev_at(&h, 2)->content_type, "text/plain");
	CHECK_STR_EQ(ev_at(&h, 3)->content_type, "text/html");
	CHECK_STR_EQ(ev_at(&h, 3)->remote, "alice");
	CHECK_INT_EQ(ev_at(&h, 3)->dir, IM_DIR_IN);
	harness_free(&h);
	bytebuf_free(&b);
}

static void test_split_and_need_more(void)
{
	struct harness h;
	struct bytebuf b;
	size_t i;

	bytebuf_init(&b);
	icbm(&b, 1, IM_DIR_OUT, "abcdefgh", "bob", 0, "one byte at a time", 18, false);
	harness_init(&h, OSCAR_FLOW);
	for (i = 0; i < b.len; i++) {
		feed(&h, IM_DIR_OUT, b.data + i, 1);
		CHECK_INT_EQ(h.c.n, i + 1 == b.len ? 1 : 0);
	}
	CHECK_STR_EQ(ev_at(&h, 0)->text, "one byte at a time");
	CHECK_INT_EQ(h.dir[IM_DIR_OUT].garbage, 0);
	harness_free(&h);
	bytebuf_free(&b);
}

static void test_bad_length_resync(void)
{
	struct harness h;
	struct bytebuf b, junk;

	bytebuf_init(&b);
	bytebuf_init(&junk);
	/* a FLAP whose length is 5 short, then a good one */
	icbm(&b, 1, IM_DIR_IN, "00000001", "alice", 0, "truncated", 9, false);
	b.data[5] = (uint8_t)(b.data[5] - 5);
	icbm(&b, 2, IM_DIR_IN, "00000002", "alice", 0, "survivor", 8, false);
	/* noise with stray '*' before a third good FLAP */
	put(&junk, "xx*\x02zz*\x07***", 12);
	put(&b, junk.data, junk.len);
	icbm(&b, 3, IM_DIR_IN, "00000003", "alice", 0, "third", 5, false);
	harness_init(&h, OSCAR_FLOW);
	feed(&h, IM_DIR_IN, b.data, b.len);
	CHECK_INT_EQ(h.c.n, 2);
	CHECK_STR_EQ(ev_at(&h, 0)->text, "survivor");
	CHECK_STR_EQ(ev_at(&h, 1)->text, "third");
	CHECK_INT_EQ(errors(&h), 1);
	CHECK_INT_EQ(h.s->stats.malformed, 1);
	CHECK(h.dir[IM_DIR_IN].garbage >= 2);
	harness_free(&h);
	bytebuf_free(&b);
	bytebuf_free(&junk);
}

static void test_malformed_never_crash(void)
{
	struct harness h;
	struct bytebuf b;
	size_t cut;

	/* every truncation of an ICBM's FLAP payload (length fixed up) is
	 * either malformed or decodes without text; never more */
	for (cut = 6; cut < 60; cut++) {
		bytebuf_init(&b);
		icbm(&b, 1, IM_DIR_IN, "00000001", "alice", 0, "0123456789", 10, false);
		b.len = cut;
		b.data[4] = (uint8_t)((cut - 6) >> 8);
		b.data[5] = (uint8_t)(cut - 6);
		harness_init(&h, OSCAR_FLOW);
		feed(&h, IM_DIR_IN, b.data, b.len);
		CHECK_INT_EQ(h.c.n, 0);
		CHECK_INT_EQ(harness_buffered(&h, IM_DIR_IN), 0);
		harness_free(&h);
		bytebuf_free(&b);
	}
}

static void test_local_id_sources(void)
{
	struct harness h;
	struct bytebuf b, body;

	/* authorizer login request, TLV 1 */
	bytebuf_init(&b);
	bytebuf_init(&body);
	snac(&body, 0x17, 0x02, 1);
	put_tlv(&body, 1, "AuthUser", 8);
	flap(&b, 2, 1, &body);
	decode_alone(&h, IM_DIR_OUT, &b, 0);
	CHECK_STR_EQ(h.s->local_id, "AuthUser");
	harness_free(&h);

	/* channel-1 sign-on with a screen name (ICQ) */
	bytebuf_clear(&b);
	bytebuf_clear(&body);
	put32(&body, 1);
	put_tlv(&body, 1, "424242", 6);
	flap(&b, 1, 1, &body);
	decode_alone(&h, IM_DIR_OUT, &b, 0);
	CHECK_STR_EQ(h.s->local_id, "424242");
	harness_free(&h);

	/* BOS self info, then a message carries it */
	bytebuf_clear(&b);
	bytebuf_clear(&body);
	snac(&body, 1, 0x0F, 3);
	put_name(&body, "Self Name");
	put16(&body, 0);
	put16(&body, 0);
	flap(&b, 2, 1, &body);
	icbm(&b, 2, IM_DIR_IN, "00000001", "alice", 0, "hey", 3, false);
	decode_alone(&h, IM_DIR_IN, &b, 1);
	CHECK_STR_EQ(h.s->local_id, "Self Name");
	CHECK_STR_EQ(ev_at(&h, 0)->local, "Self Name");
	harness_free(&h);
	bytebuf_free(&b);
	bytebuf_free(&body);
}

/* The BOS connection shows only the cookie the authorizer handed out; the
 * worker's directory ties it to the screen name seen on the authorizer. */
static void test_cookie_ties_bos_to_authorizer(void)
{
	struct proto_directory dir;
	struct harness auth, bos, other;
	struct bytebuf body, pdu;
	static const uint8_t cookie[16] = "0123456789abcdef", wrong[16] = "fedcba9876543210";

	proto_directory_init(&dir);
	harness_init(&auth, OSCAR_FLOW);
	harness_init(&bos, OSCAR_FLOW);
	harness_init(&other, OSCAR_FLOW);
	auth.ctx.host.directory = bos.ctx.host.directory = other.ctx.host.directory = &dir;
	bytebuf_init(&body);
	bytebuf_init(&pdu);
	snac(&body, 0x0017, 0x0003, 2);
	put_tlv(&body, 0x0001, "imwireuser", 10);
	put_tlv(&body, 0x0005, "192.0.2.9:5190", 14);
	put_tlv(&body, 0x0006, cookie, sizeof(cookie));
	flap(&pdu, 2, 1, &body);
	feed(&auth, IM_DIR_IN, pdu.data, pdu.len);
	CHECK_STR_EQ(auth.s->local_id, "imwireuser");

	bytebuf_clear(&body);
	bytebuf_clear(&pdu);
	put32(&body, 1);
	put_tlv(&body, 0x0006, cookie, sizeof(cookie));
	flap(&pdu, 1, 1, &body);
	feed(&bos, IM_DIR_OUT, pdu.data, pdu.len);
	CHECK_STR_EQ(bos.s->local_id, "imwireuser");

	bytebuf_clear(&body);
	bytebuf_clear(&pdu);
	put32(&body, 1);
	put_tlv(&body, 0x0006, wrong, sizeof(wrong));
	flap(&pdu, 1, 1, &body);
	feed(&other, IM_DIR_OUT, pdu.data, pdu.len);
	CHECK(other.s->local_id == NULL);

	bytebuf_free(&body);
	bytebuf_free(&pdu);
	harness_free(&auth);
	harness_free(&bos);
	harness_free(&other);
	proto_directory_free(&dir);
}

static void test_typing_and_rendezvous(void)
{
	struct harness h;
	struct bytebuf b, body, rv, svc;
	static const uint8_t file_cap[16] = { 0x09, 0x46, 0x13, 0x43, 0x4C, 0x7F, 0x11, 0xD1,
					      0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00 };
	static const uint8_t dim_cap[16] = { 0x09, 0x46, 0x13, 0x45, 0x4C, 0x7F, 0x11, 0xD1,
					     0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00 };
	unsigned what;

	bytebuf_init(&b);
	bytebuf_init(&body);
	bytebuf_init(&rv);
	bytebuf_init(&svc);
	for (what = 0; what < 3; what++) {
		snac(&body, 4, 0x14, what);
		put(&body, "\0\0\0\0\0\0\0\0", 8);
		put16(&body, 1);
		put_name(&body, "alice");
		put16(&body, what);
		flap(&b, 2, what, &body);
		bytebuf_clear(&body);
	}
	/* file proposal: two files, 9999 bytes in all */
	put16(&svc, 2);
	put16(&svc, 2);
	put32(&svc, 9999);
	put(&svc, "pics\0", 5);
	put16(&rv, 0);
	put(&rv, "cookie01", 8);
	put(&rv, file_cap, 16);
	put_tlv(&rv, 0x000A, "\0\1", 2);
	put_tlv(&rv, 0x2711, svc.data, svc.len);
	snac(&body, 4, 6, 9);
	put(&body, "cookie01", 8);
	put16(&body, 2);
	put_name(&body, "alice");
	put_tlv(&body, 5, rv.data, rv.len);
	flap(&b, 2, 3, &body);
	/* the proxy retry (sequence 2) is not logged again */
	bytebuf_clear(&rv);
	bytebuf_clear(&body);
	put16(&rv, 0);
	put(&rv, "cookie01", 8);
	put(&rv, file_cap, 16);
	put_tlv(&rv, 0x000A, "\0\2", 2);
	put_tlv(&rv, 0x2711, svc.data, svc.len);
	snac(&body, 4, 6, 10);
	put(&body, "cookie01", 8);
	put16(&body, 2);
	put_name(&body, "alice");
	put_tlv(&body, 5, rv.data, rv.len);
	flap(&b, 2, 4, &body);
	/* a direct-IM proposal */
	bytebuf_clear(&rv);
	bytebuf_clear(&body);
	put16(&rv, 0);
	put(&rv, "cookie02", 8);
	put(&rv, dim_cap, 16);
	snac(&body, 4, 6, 11);
	put(&body, "cookie02", 8);
	put16(&body, 2);
	put_name(&body, "alice");
	put_tlv(&body, 5, rv.data, rv.len);
	flap(&b, 2, 5, &body);

	decode_alone(&h, IM_DIR_OUT, &b, 3);
	CHECK_INT_EQ(ev_at(&h, 0)->kind, IM_KIND_TYPING);
	CHECK_STR_EQ(ev_at(&h, 0)->remote, "alice");
	CHECK_INT_EQ(ev_at(&h, 1)->kind, IM_KIND_FILE);
	CHECK_STR_EQ(ev_at(&h, 1)->file_name, "pics");
	CHECK_INT_EQ(ev_at(&h, 1)->file_size, 9999);
	CHECK_STR_EQ(ev_at(&h, 1)->text, "pics (2 files, 9999 bytes)");
	CHECK_INT_EQ(ev_at(&h, 2)->kind, IM_KIND_RENDEZVOUS);
	CHECK_STR_EQ(ev_at(&h, 2)->text, "direct IM");
	harness_free(&h);
	bytebuf_free(&b);
	bytebuf_free(&body);
	bytebuf_free(&rv);
	bytebuf_free(&svc);
}

static void test_snac_version_block_skipped(void)
{
	struct harness h;
	struct bytebuf b, body, plain;

	bytebuf_init(&b);
	bytebuf_init(&body);
	bytebuf_init(&plain);
	icbm(&plain, 1, IM_DIR_IN, "00000001", "alice", 0, "flagged", 7, false);
	/* same SNAC with flag 0x8000 and a 6-byte version block */
	put(&body, plain.data + 6, 4);
	put16(&body, 0x8000);
	put(&body, plain.data + 12, 4);
	put16(&body, 6);
	put_tlv(&body, 1, "\0\1", 2);
	put(&body, plain.data + 16, plain.len - 16);
	flap(&b, 2, 1, &body);
	decode_alone(&h, IM_DIR_IN, &b, 1);
	CHECK_STR_EQ(ev_at(&h, 0)->text, "flagged");
	harness_free(&h);
	bytebuf_free(&b);
	bytebuf_free(&body);
	bytebuf_free(&plain);
}

/* Client ready on BOS is the login, buddy arrival and departure are
 * presence, the client's sign-off frame the logout. */
static void test_login_presence_logout(void)
{
	struct harness h;
	struct bytebuf b, body;
	static const unsigned families[] = { 0x0001, 0x0003, 0x0004 };
	size_t i;

	bytebuf_init(&b);
	bytebuf_init(&body);
	harness_init(&h, OSCAR_FLOW);
	snac(&body, 0x0001, 0x0002, 1);
	for (i = 0; i < 3; i++) {
		put16(&body, families[i]);
		put16(&body, 1);
		put16(&body, 0x0110);
		put16(&body, 0x164f);
	}
	flap(&b, 2, 10, &body);
	feed(&h, IM_DIR_OUT, b.data, b.len);
	feed(&h, IM_DIR_OUT, b.data, b.len); /* once a session */
	bytebuf_clear(&b);
	bytebuf_clear(&body);
	snac(&body, 0x0003, 0x000B, 2);
	put8(&body, 5);
	put(&body, "alice", 5);
	put16(&body, 0);
	put16(&body, 1);
	put_tlv(&body, 1, "\x00\x30", 2); /* user class: away */
	put8(&body, 3);
	put(&body, "bob", 3);
	put16(&body, 0);
	put16(&body, 0);
	flap(&b, 2, 11, &body);
	feed(&h, IM_DIR_IN, b.data, b.len);
	bytebuf_clear(&b);
	bytebuf_clear(&body);
	snac(&body, 0x0003, 0x000C, 3);
	put8(&body, 3);
	put(&body, "bob", 3);
	put16(&body, 0);
	put16(&body, 0);
	flap(&b, 2, 12, &body);
	feed(&h, IM_DIR_IN, b.data, b.len);
	bytebuf_clear(&b);
	bytebuf_clear(&body);
	flap(&b, 4, 13, &body);
	feed(&h, IM_DIR_OUT, b.data, b.len);
	CHECK_INT_EQ(h.c.n, 5);
	if (h.c.n == 5) {
		CHECK_INT_EQ(ev_at(&h, 0)->kind, IM_KIND_LOGIN);
		CHECK_INT_EQ(ev_at(&h, 1)->kind, IM_KIND_PRESENCE);
		CHECK_STR_EQ(ev_at(&h, 1)->remote, "alice");
		CHECK_STR_EQ(ev_at(&h, 1)->text, "away");
		CHECK_STR_EQ(ev_at(&h, 2)->remote, "bob");
		CHECK_STR_EQ(ev_at(&h, 2)->text, "online");
		CHECK_STR_EQ(ev_at(&h, 3)->text, "offline");
		CHECK_INT_EQ(ev_at(&h, 4)->kind, IM_KIND_LOGOUT);
	}
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	harness_free(&h);
	bytebuf_free(&b);
	bytebuf_free(&body);
}

/* ---- encode ---- */

static void test_encode_unchanged_is_byte_exact(void)
{
	struct harness h;
	struct bytebuf b, out;

	bytebuf_init(&b);
	bytebuf_init(&out);
	icbm(&b, 0x4242, IM_DIR_IN, "cookie!!", "alice", 0x0003, "d\xe9j\xe0 vu", 7, true);
	decode_alone(&h, IM_DIR_IN, &b, 1);
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_IN, ev_at(&h, 0), b.data, b.len, &out), 0);
	CHECK_INT_EQ(out.len, b.len);
	CHECK_MEM_EQ(out.data, b.data, b.len);
	harness_free(&h);
	bytebuf_free(&b);
	bytebuf_free(&out);
}

static void test_encode_rewrite_keeps_everything_else(void)
{
	struct harness h, h2;
	struct bytebuf b, out;
	struct im_event ev;
	static const char *const texts[] = { "short", "a much longer replacement text, ASCII",
					     "Latin-1 fits: café", "needs UCS-2: Ωmega ✓" };
	size_t i;

	for (i = 0; i < 4; i++) {
		bytebuf_init(&b);
		bytebuf_init(&out);
		icbm(&b, 0x0100, IM_DIR_OUT, "COOKIE42", "buddy", i == 2 ? 0x0003 : 0x0000,
		     "original text", 13, false);
		decode_alone(&h, IM_DIR_OUT, &b, 1);
		CHECK(event_copy(&ev, ev_at(&h, 0)));
		CHECK(event_set_str(&ev.text, texts[i]));
		CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, &ev, b.data, b.len, &out), 0);
		/* FLAP header: same channel and sequence, new length */
		CHECK_INT_EQ(out.data[1], 2);
		CHECK_INT_EQ(imw_load_be16(out.data + 2), 0x0100);
		CHECK_INT_EQ(imw_load_be16(out.data + 4), out.len - 6);
		/* SNAC header (request id), cookie, channel, name unchanged */
		CHECK_MEM_EQ(out.data + 6, b.data + 6, 10 + 8 + 2 + 1 + 5);
		/* the TLV 3 after TLV 2 is kept */
		CHECK_MEM_EQ(out.data + out.len - 4, "\x00\x03\x00\x00", 4);
		decode_alone(&h2, IM_DIR_OUT, &out, 1);
		CHECK_STR_EQ(ev_at(&h2, 0)->text, texts[i]);
		CHECK_STR_EQ(ev_at(&h2, 0)->remote, "buddy");
		CHECK(h2.s->stats.malformed == 0);
		harness_free(&h2);
		event_free(&ev);
		harness_free(&h);
		bytebuf_free(&b);
		bytebuf_free(&out);
	}
}

/* A censored word is overwritten in place, in the charset the message
 * came in: the PDU keeps its length and every byte outside the word. */
static void test_encode_in_place(void)
{
	static const struct {
		uint16_t charset;
		const char *raw;
		size_t raw_len;
		const char *text;
		size_t word_at, word_raw_len;
	} cases[] = {
		{ 0x0000, "<HTML><BODY>a frak!</BODY></HTML>", 33, "<HTML><BODY>a ****!</BODY></HTML>",
		  14, 4 },
		{ 0x0002, "\0a\0 \0f\0r\0a\0k", 12, "a ****", 4, 8 },
		{ 0x0003, "caf\xe9 frak", 9, "caf\xc3\xa9 ****", 5, 4 },
	};
	struct harness h;
	struct bytebuf b, out;
	struct im_event ev;
	size_t i, at;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bytebuf_init(&b);
		bytebuf_init(&out);
		icbm(&b, 0x0100, IM_DIR_OUT, "COOKIE42", "buddy", cases[i].charset, cases[i].raw,
		     cases[i].raw_len, false);
		decode_alone(&h, IM_DIR_OUT, &b, 1);
		CHECK(event_copy(&ev, ev_at(&h, 0)));
		CHECK(event_set_str(&ev.text, cases[i].text));
		CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, &ev, b.data, b.len, &out), 0);
		CHECK_INT_EQ(out.len, b.len);
		if (out.len == b.len) {
			at = b.len - 4 - cases[i].raw_len + cases[i].word_at;
			CHECK_MEM_EQ(out.data, b.data, at);
			CHECK_MEM_EQ(out.data + at + cases[i].word_raw_len,
				     b.data + at + cases[i].word_raw_len,
				     b.len - at - cases[i].word_raw_len);
		}
		event_free(&ev);
		harness_free(&h);
		bytebuf_free(&b);
		bytebuf_free(&out);
	}
}

static void test_encode_fresh_round_trip(void)
{
	struct harness h, h2;
	struct im_event ev;
	struct bytebuf out;
	enum im_dir dir;

	for (dir = IM_DIR_OUT; dir <= IM_DIR_IN; dir++) {
		harness_init(&h, OSCAR_FLOW);
		bytebuf_init(&out);
		event_init(&ev);
		ev.kind = IM_KIND_MESSAGE;
		ev.dir = dir;
		CHECK(event_set_str(&ev.remote, "SomeBuddy"));
		CHECK(event_set_str(&ev.text, "injected ✓ <b>hi</b>"));
		ev.auto_response = dir == IM_DIR_IN;
		CHECK_INT_EQ(M->encode(h.s, dir, &ev, NULL, 0, &out), 0);
		CHECK_INT_EQ(M->detect(out.data, out.len, dir), PROTO_DETECT_YES);
		decode_alone(&h2, dir, &out, 1);
		CHECK_INT_EQ(ev_at(&h2, 0)->kind, IM_KIND_MESSAGE);
		CHECK_INT_EQ(ev_at(&h2, 0)->dir, dir);
		CHECK_STR_EQ(ev_at(&h2, 0)->remote, "SomeBuddy");
		CHECK_STR_EQ(ev_at(&h2, 0)->text, "injected ✓ <b>hi</b>");
		CHECK_STR_EQ(ev_at(&h2, 0)->content_type, "text/html");
		CHECK_INT_EQ(ev_at(&h2, 0)->auto_response, dir == IM_DIR_IN);
		harness_free(&h2);
		event_free(&ev);
		bytebuf_free(&out);
		harness_free(&h);
	}
	/* a chat message, both ways, and one without a remote */
	for (dir = IM_DIR_OUT; dir <= IM_DIR_IN; dir++) {
		harness_init(&h, OSCAR_FLOW);
		bytebuf_init(&out);
		event_init(&ev);
		ev.kind = IM_KIND_MESSAGE;
		ev.group = true;
		CHECK(event_set_str(&ev.remote, "room"));
		CHECK(event_set_str(&ev.text, dir == IM_DIR_IN ? "carol: hello ☺" : "hello all"));
		CHECK_INT_EQ(M->encode(h.s, dir, &ev, NULL, 0, &out), 0);
		decode_alone(&h2, dir, &out, 1);
		CHECK_STR_EQ(ev_at(&h2, 0)->text, ev.text);
		CHECK(ev_at(&h2, 0)->group);
		harness_free(&h2);
		event_free(&ev);
		bytebuf_free(&out);
		harness_free(&h);
	}
	harness_init(&h, OSCAR_FLOW);
	bytebuf_init(&out);
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	CHECK(event_set_str(&ev.text, "to nobody"));
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	event_free(&ev);
	bytebuf_free(&out);
	harness_free(&h);
}

/* A notice is an ICBM of the conversation, in the buddy's name towards
 * the client: its text, marked by response_prefix/postfix (the defaults
 * when none is configured), shows that imwire wrote it (proto/notice.h). */
static void test_notice_marked(void)
{
	static const struct {
		bool group;
		enum im_dir dir;
		const char *prefix, *postfix, *text, *want;
	} cases[] = {
		{ false, IM_DIR_IN, NULL, NULL, "This conversation is logged.",
		  "Message from imwire: -=This conversation is logged.=-" },
		{ false, IM_DIR_OUT, "[imwire] ", "", "This conversation is logged.",
		  "[imwire] This conversation is logged." },
		/* the responder's text, marked already */
		{ false, IM_DIR_IN, "[imwire] ", "", "[imwire] Blocked by policy: x",
		  "[imwire] Blocked by policy: x" },
		/* in a chat room, said by "imwire", not by a member */
		{ true, IM_DIR_IN, "[imwire] ", "", "Logged.", "imwire: [imwire] Logged." },
	};
	struct harness h, h2;
	struct im_event ev;
	struct bytebuf out;
	const char *marked;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		harness_init(&h, OSCAR_FLOW);
		bytebuf_init(&out);
		event_init(&ev);
		ev.kind = IM_KIND_MESSAGE;
		ev.dir = cases[i].dir;
		ev.group = cases[i].group;
		ev.notice = true;
		CHECK(event_set_str(&ev.remote, cases[i].group ? "room" : "SomeBuddy") &&
		      event_set_str(&ev.text, cases[i].text));
		CHECK(!cases[i].prefix || (event_set_str(&ev.notice_prefix, cases[i].prefix) &&
					   event_set_str(&ev.notice_postfix, cases[i].postfix)));
		CHECK_INT_EQ(M->encode(h.s, cases[i].dir, &ev, NULL, 0, &out), 0);
		/* The receiver's bytes hold the marked text as it is (ASCII). */
		marked = cases[i].group ? cases[i].want + strlen("imwire: ") : cases[i].want;
		CHECK(memmem(out.data, out.len, marked, strlen(marked)) != NULL);
		decode_alone(&h2, cases[i].dir, &out, 1);
		if (!cases[i].group) /* a chat ICBM names no room */
			CHECK_STR_EQ(ev_at(&h2, 0)->remote, "SomeBuddy");
		CHECK(ev_at(&h2, 0)->group == cases[i].group);
		CHECK_STR_EQ(ev_at(&h2, 0)->text, cases[i].want);
		harness_free(&h2);
		event_free(&ev);
		bytebuf_free(&out);
		harness_free(&h);
	}
}

static void test_encode_chat_with_orig(void)
{
	struct harness h, h2;
	struct bytebuf b, body, info, sender, out;
	struct im_event ev;

	bytebuf_init(&b);
	bytebuf_init(&body);
	bytebuf_init(&info);
	bytebuf_init(&sender);
	bytebuf_init(&out);
	put_tlv(&info, 1, "original", 8);
	put_tlv(&info, 2, "us-ascii", 8);
	put_tlv(&info, 3, "en", 2);
	put_name(&sender, "carol");
	put16(&sender, 0);
	put16(&sender, 0);
	snac(&body, 0x0E, 6, 77);
	put(&body, "chatck01", 8);
	put16(&body, 3);
	put_tlv(&body, 3, sender.data, sender.len);
	put_tlv(&body, 5, info.data, info.len);
	flap(&b, 2, 9, &body);
	decode_alone(&h, IM_DIR_IN, &b, 1);
	CHECK_STR_EQ(ev_at(&h, 0)->text, "carol: original");
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_IN, ev_at(&h, 0), b.data, b.len, &out), 0);
	CHECK_INT_EQ(out.len, b.len);
	CHECK_MEM_EQ(out.data, b.data, b.len);
	bytebuf_clear(&out);
	CHECK(event_copy(&ev, ev_at(&h, 0)));
	CHECK(event_set_str(&ev.text, "carol: replaced ✓"));
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_IN, &ev, b.data, b.len, &out), 0);
	decode_alone(&h2, IM_DIR_IN, &out, 1);
	CHECK_STR_EQ(ev_at(&h2, 0)->text, "carol: replaced ✓");
	harness_free(&h2);
	event_free(&ev);
	harness_free(&h);
	bytebuf_free(&b);
	bytebuf_free(&body);
	bytebuf_free(&info);
	bytebuf_free(&sender);
	bytebuf_free(&out);
}

/* ---- FLAP sequence renumbering ---- */

static void test_sequence_renumbering(void)
{
	struct harness h;
	struct bytebuf a, b, c, out;
	struct im_event ev;

	bytebuf_init(&a);
	bytebuf_init(&b);
	bytebuf_init(&c);
	bytebuf_init(&out);
	harness_init(&h, OSCAR_FLOW);
	icbm(&a, 0xFFFE, IM_DIR_OUT, "00000001", "bob", 0, "one", 3, false);
	icbm(&b, 0xFFFF, IM_DIR_OUT, "00000002", "bob", 0, "two", 3, false);
	icbm(&c, 0x0000, IM_DIR_OUT, "00000003", "bob", 0, "three", 5, false);
	feed(&h, IM_DIR_OUT, a.data, a.len);
	/* nothing changed yet: fixup leaves PDUs alone */
	CHECK(!M->fixup_pdu(h.s, IM_DIR_OUT, b.data, b.len));
	CHECK_INT_EQ(imw_load_be16(b.data + 2), 0xFFFF);

	/* inject after "one": the built FLAP takes 0xFFFF, later ones shift by one
	 * (wrapping), and the other direction is untouched */
	event_init(&ev);
	ev.kind = IM_KIND_MESSAGE;
	CHECK(event_set_str(&ev.remote, "bob"));
	CHECK(event_set_str(&ev.text, "injected"));
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, &ev, NULL, 0, &out), 0);
	CHECK_INT_EQ(imw_load_be16(out.data + 2), 0xFFFF);
	M->pdu_count_changed(h.s, IM_DIR_OUT, +1);
	feed(&h, IM_DIR_OUT, b.data, b.len);
	CHECK(M->fixup_pdu(h.s, IM_DIR_OUT, b.data, b.len));
	CHECK_INT_EQ(imw_load_be16(b.data + 2), 0x0000);
	feed(&h, IM_DIR_OUT, c.data, c.len);
	CHECK(M->fixup_pdu(h.s, IM_DIR_OUT, c.data, c.len));
	CHECK_INT_EQ(imw_load_be16(c.data + 2), 0x0001);
	bytebuf_clear(&a);
	icbm(&a, 0x0777, IM_DIR_IN, "00000004", "bob", 0, "in", 2, false);
	CHECK(!M->fixup_pdu(h.s, IM_DIR_IN, a.data, a.len));
	CHECK_INT_EQ(imw_load_be16(a.data + 2), 0x0777);

	/* a rewritten PDU is emitted in output numbering too */
	bytebuf_clear(&out);
	bytebuf_clear(&c);
	icbm(&c, 0x0001, IM_DIR_OUT, "00000005", "bob", 0, "four", 4, false);
	feed(&h, IM_DIR_OUT, c.data, c.len);
	CHECK_INT_EQ(M->encode(h.s, IM_DIR_OUT, ev_at(&h, 3), c.data, c.len, &out), 0);
	CHECK_INT_EQ(imw_load_be16(out.data + 2), 0x0002);
	CHECK_MEM_EQ(out.data + 4, c.data + 4, c.len - 4);

	/* drop two: back to one below the input numbering */
	M->pdu_count_changed(h.s, IM_DIR_OUT, -1);
	M->pdu_count_changed(h.s, IM_DIR_OUT, -1);
	bytebuf_clear(&c);
	icbm(&c, 0x0002, IM_DIR_OUT, "00000006", "bob", 0, "five", 4, false);
	CHECK(M->fixup_pdu(h.s, IM_DIR_OUT, c.data, c.len));
	CHECK_INT_EQ(imw_load_be16(c.data + 2), 0x0001);
	/* back to zero delta: nothing to fix */
	M->pdu_count_changed(h.s, IM_DIR_OUT, +1);
	bytebuf_clear(&c);
	icbm(&c, 0x0003, IM_DIR_OUT, "00000007", "bob", 0, "six", 3, false);
	CHECK(!M->fixup_pdu(h.s, IM_DIR_OUT, c.data, c.len));
	CHECK_INT_EQ(imw_load_be16(c.data + 2), 0x0003);
	event_free(&ev);
	harness_free(&h);
	bytebuf_free(&a);
	bytebuf_free(&b);
	bytebuf_free(&c);
	bytebuf_free(&out);
}

/* ---- local delivery: the host ack ---- */

static void test_local_receipt_host_ack(void)
{
	static const uint8_t want[] = {
		'*', 0x02, 0x01, 0x01, 0x00, 0x18,		     /* FLAP ch 2, seq 0x0101, 24 */
		0x00, 0x04, 0x00, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, /* SNAC(04,0C) */
		'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h',		     /* the client's cookie */
		0x00, 0x01,					     /* channel 1 */
		0x03, 'b', 'o', 'b',				     /* the destination */
	};
	struct harness h;
	struct bytebuf in, msg, out, next;
	const struct im_event *ev;
	size_t n;

	bytebuf_init(&in);
	bytebuf_init(&msg);
	bytebuf_init(&out);
	bytebuf_init(&next);
	harness_init(&h, OSCAR_FLOW);
	CHECK(M->local_receipt != NULL);
	icbm(&in, 0x0100, IM_DIR_IN, "00000001", "carol", 0, "hi", 2, false);
	feed(&h, IM_DIR_IN, in.data, in.len);
	icbm(&msg, 0x0200, IM_DIR_OUT, "abcdefgh", "bob", 0, "local", 5, false);
	feed(&h, IM_DIR_OUT, msg.data, msg.len);
	CHECK_INT_EQ(h.c.n, 2);
	ev = ev_at(&h, 1);
	CHECK_INT_EQ(ev->dir, IM_DIR_OUT);
	CHECK_INT_EQ(M->local_receipt(h.s, ev, msg.data, msg.len, &out), 1);
	CHECK_INT_EQ(out.len, sizeof(want));
	if (out.len == sizeof(want))
		CHECK_MEM_EQ(out.data, want, sizeof(want));

	/* The client reads it as one server FLAP that is no message; the
	 * next original server FLAP moves up past it. */
	n = h.c.n;
	feed(&h, IM_DIR_IN, out.data, out.len);
	CHECK_INT_EQ(h.c.n, n);
	CHECK_INT_EQ(errors(&h), 0);
	CHECK_INT_EQ(h.s->stats.malformed, 0);
	M->pdu_count_changed(h.s, IM_DIR_IN, +1);
	icbm(&next, 0x0101, IM_DIR_IN, "00000002", "carol", 0, "again", 5, false);
	feed(&h, IM_DIR_IN, next.data, next.len); /* decoded as it came (input numbering) */
	CHECK(M->fixup_pdu(h.s, IM_DIR_IN, next.data, next.len));
	CHECK_INT_EQ(imw_load_be16(next.data + 2), 0x0102);

	/* With that insertion counted, the next ack follows the shifted one. */
	bytebuf_clear(&out);
	CHECK_INT_EQ(M->local_receipt(h.s, ev, msg.data, msg.len, &out), 1);
	CHECK(out.len >= 4 && imw_load_be16(out.data + 2) == 0x0103);

	/* No TLV 3 (this one is an auto-response with TLV 4): no ack expected. */
	bytebuf_clear(&msg);
	bytebuf_clear(&out);
	icbm(&msg, 0x0201, IM_DIR_OUT, "ijklmnop", "bob", 0, "away", 4, true);
	feed(&h, IM_DIR_OUT, msg.data, msg.len);
	CHECK_INT_EQ(M->local_receipt(h.s, ev_at(&h, h.c.n - 1), msg.data, msg.len, &out), 0);
	/* An incoming ICBM, or no PDU, has nothing to acknowledge. */
	CHECK_INT_EQ(M->local_receipt(h.s, ev_at(&h, 0), in.data, in.len, &out), -1);
	CHECK_INT_EQ(M->local_receipt(h.s, ev, NULL, 0, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	harness_free(&h);

	/* Before any server FLAP there is no number to give it. */
	harness_init(&h, OSCAR_FLOW);
	bytebuf_clear(&msg);
	icbm(&msg, 0x0200, IM_DIR_OUT, "abcdefgh", "bob", 0, "early", 5, false);
	feed(&h, IM_DIR_OUT, msg.data, msg.len);
	CHECK_INT_EQ(M->local_receipt(h.s, ev_at(&h, 0), msg.data, msg.len, &out), -1);
	CHECK_INT_EQ(out.len, 0);
	harness_free(&h);
	bytebuf_free(&in);
	bytebuf_free(&msg);
	bytebuf_free(&out);
	bytebuf_free(&next);
}

/* ---- OFT2 ---- */

static void oft(struct bytebuf *b, unsigned type, const char *cookie, uint32_t size,
		const char *name)
{
	size_t at = b->len;

	put(b, "OFT2", 4);
	put16(b, 256);
	put16(b, type);
	put(b, cookie, 8);
	while (b->len - at < 32)
		put8(b, 0);
	put32(b, size);
	while (b->len - at < 192)
		put8(b, 0);
	put(b, name, strlen(name));
	while (b->len - at < 256)
		put8(b, 0);
}

static void test_oft_transfer(void)
{
	struct harness h;
	struct bytebuf prompt, ack, data, done;
	size_t i;

	bytebuf_init(&prompt);
	bytebuf_init(&ack);
	bytebuf_init(&data);
	bytebuf_init(&done);
	oft(&prompt, 0x0101, "\0\0\0\0\0\0\0\0", 600, "a.txt");
	oft(&ack, 0x0202, "CK000001", 600, "a.txt");
	oft(&done, 0x0204, "CK000001", 600, "a.txt");
	/* file data that looks like an OFT header and like FLAPs */
	for (i = 0; i < 2; i++)
		oft(&data, 0x0101, "fakefake", 1, "fake.bin");
	while (data.len < 600)
		put8(&data, '*');
	harness_init(&h, OSCAR_FLOW);
	feed(&h, IM_DIR_IN, prompt.data, prompt.len);
	feed(&h, IM_DIR_OUT, ack.data, ack.len);
	feed(&h, IM_DIR_IN, data.data, 100);
	feed(&h, IM_DIR_IN, data.data + 100, data.len - 100);
	feed(&h, IM_DIR_OUT, done.data, done.len);
	CHECK_INT_EQ(h.c.n, 1);
	CHECK_INT_EQ(ev_at(&h, 0)->kind, IM_KIND_FILE);
	CHECK_INT_EQ(ev_at(&h, 0)->dir, IM_DIR_IN);
	CHECK_STR_EQ(ev_at(&h, 0)->file_name, "a.txt");
	CHECK_INT_EQ(ev_at(&h, 0)->file_size, 600);
	CHECK_STR_EQ(ev_at(&h, 0)->text, "a.txt (600 bytes)");
	CHECK_INT_EQ(errors(&h), 0);
	CHECK_INT_EQ(h.dir[0].garbage + h.dir[1].garbage, 0);
	/* OFT has no FLAP sequence and no message to encode */
	M->pdu_count_changed(h.s, IM_DIR_IN, 1);
	CHECK(!M->fixup_pdu(h.s, IM_DIR_IN, prompt.data, prompt.len));
	harness_free(&h);
	bytebuf_free(&prompt);
	bytebuf_free(&ack);
	bytebuf_free(&data);
	bytebuf_free(&done);
}

/* #20: a file proposal's expectation (addresses, port, cookie), and the
 * OFT2 data handed to the file stage byte for byte. */
static void test_file_xfer(void)
{
	static const uint8_t file_cap[16] = { 0x09, 0x46, 0x13, 0x43, 0x4C, 0x7F, 0x11, 0xD1,
					      0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00 };
	static const uint8_t ip[4] = { 192, 168, 1, 158 };
	struct bytebuf b, body, rv, svc, prompt, ack, data, done;
	const struct im_xfer *x;
	struct harness h;
	size_t i;

	bytebuf_init(&b);
	bytebuf_init(&body);
	bytebuf_init(&rv);
	bytebuf_init(&svc);
	put16(&svc, 1);
	put16(&svc, 1);
	put32(&svc, 600);
	put(&svc, "a.txt\0", 6);
	put16(&rv, 0);
	put(&rv, "CK000001", 8);
	put(&rv, file_cap, 16);
	put_tlv(&rv, 0x0002, "\xc0\xa8\x01\x9e", 4);
	put_tlv(&rv, 0x0003, "\x0a\x00\x00\x01", 4);
	put_tlv(&rv, 0x0005, "\x14\x46", 2);
	put_tlv(&rv, 0x2711, svc.data, svc.len);
	snac(&body, 4, 6, 9);
	put(&body, "CK000001", 8);
	put16(&body, 2);
	put_name(&body, "bob");
	put_tlv(&body, 5, rv.data, rv.len);
	flap(&b, 2, 3, &body);
	decode_alone(&h, IM_DIR_OUT, &b, 1);
	x = &ev_at(&h, 0)->xfer;
	CHECK_INT_EQ(x->path, IM_XFER_FRAMED);
	CHECK_INT_EQ(x->ip_version, 4);
	CHECK_MEM_EQ(x->addr, ip, 4);
	CHECK_INT_EQ(x->port, 5190);
	CHECK(x->from_listener);
	CHECK_INT_EQ(x->token_len, 8);
	CHECK_MEM_EQ(x->token, "CK000001", 8);
	harness_free(&h);

	/* the data: what follows the ack, cut wherever the segments cut it */
	bytebuf_init(&prompt);
	bytebuf_init(&ack);
	bytebuf_init(&data);
	bytebuf_init(&done);
	oft(&prompt, 0x0101, "\0\0\0\0\0\0\0\0", 600, "a.txt");
	oft(&ack, 0x0202, "CK000001", 600, "a.txt");
	oft(&done, 0x0204, "CK000001", 600, "a.txt");
	oft(&data, 0x0101, "fakefake", 1, "fake.bin");
	for (i = 0; data.len < 600; i++)
		put8(&data, (unsigned)(i * 7));
	harness_init(&h, OSCAR_FLOW);
	feed(&h, IM_DIR_IN, prompt.data, prompt.len);
	CHECK_INT_EQ(h.files.opens, 0);
	feed(&h, IM_DIR_OUT, ack.data, ack.len);
	CHECK_INT_EQ(h.files.opens, 1);
	CHECK_INT_EQ(h.files.dir, IM_DIR_IN);
	CHECK_STR_EQ(h.files.name, "a.txt");
	CHECK(h.files.has_size);
	CHECK_INT_EQ(h.files.size, 600);
	CHECK_STR_EQ(h.files.token, "CK000001");
	for (i = 0; i < data.len; i += 97)
		feed(&h, IM_DIR_IN, data.data + i, data.len - i < 97 ? data.len - i : 97);
	CHECK_INT_EQ(h.files.len, 600);
	CHECK(h.files.len == 600 && memcmp(h.files.data, data.data, 600) == 0);
	CHECK(h.files.has_stream_offset);
	CHECK_INT_EQ(h.files.stream_offset, 256); /* after the prompt */
	CHECK_INT_EQ(h.files.closes, 1);
	CHECK(h.files.complete);
	feed(&h, IM_DIR_OUT, done.data, done.len);
	CHECK_INT_EQ(h.files.closes, 1);
	harness_free(&h);

	/* a hole in the data: the transfer ends there, incomplete */
	harness_init(&h, OSCAR_FLOW);
	feed(&h, IM_DIR_IN, prompt.data, prompt.len);
	feed(&h, IM_DIR_OUT, ack.data, ack.len);
	feed(&h, IM_DIR_IN, data.data, 300);
	harness_gap(&h, IM_DIR_IN, 100);
	feed(&h, IM_DIR_IN, data.data + 400, 200);
	CHECK_INT_EQ(h.files.len, 300);
	CHECK_INT_EQ(h.files.closes, 1);
	CHECK(!h.files.complete);
	harness_free(&h);
	bytebuf_free(&b);
	bytebuf_free(&body);
	bytebuf_free(&rv);
	bytebuf_free(&svc);
	bytebuf_free(&prompt);
	bytebuf_free(&ack);
	bytebuf_free(&data);
	bytebuf_free(&done);
}

int main(void)
{
	RUN_TEST(test_detect);
	RUN_TEST(test_icbm_out_html_with_span);
	RUN_TEST(test_icbm_in_charsets);
	RUN_TEST(test_split_and_need_more);
	RUN_TEST(test_bad_length_resync);
	RUN_TEST(test_malformed_never_crash);
	RUN_TEST(test_local_id_sources);
	RUN_TEST(test_cookie_ties_bos_to_authorizer);
	RUN_TEST(test_typing_and_rendezvous);
	RUN_TEST(test_snac_version_block_skipped);
	RUN_TEST(test_encode_unchanged_is_byte_exact);
	RUN_TEST(test_encode_rewrite_keeps_everything_else);
	RUN_TEST(test_login_presence_logout);
	RUN_TEST(test_encode_in_place);
	RUN_TEST(test_encode_fresh_round_trip);
	RUN_TEST(test_notice_marked);
	RUN_TEST(test_encode_chat_with_orig);
	RUN_TEST(test_sequence_renumbering);
	RUN_TEST(test_local_receipt_host_ack);
	RUN_TEST(test_oft_transfer);
	RUN_TEST(test_file_xfer);
	TEST_MAIN_END();
}
