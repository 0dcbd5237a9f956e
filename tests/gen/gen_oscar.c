/* Writes the OSCAR and TOC test captures into the directory given as argv[1]:
 *   oscar_login.pcap  authorizer (MD5 login of "imwireuser", reply with BOS
 *                     address and cookie) then the BOS connection: cookie
 *                     sign-on, self info "imwireuser", an HTML message out,
 *                     UCS-2BE and ISO-8859-1 (auto-response) messages in,
 *                     typing begun and stopped, a file proposal out, a
 *                     chat invitation in, a message split over three
 *                     segments, a FLAP with a bad length followed by a good
 *                     message, and an incoming multipart message
 *   oscar_icq.pcap    ICQ: channel-1 login of UIN 123456789 on port 443,
 *                     a message out, a channel-4 message and an offline
 *                     message in
 *   oscar_chat.pcap   a chat-room connection: room info "imwire-room",
 *                     a message to and one from the room
 *   oscar_oft.pcap    an OFT2 peer transfer of "notes.txt" (3000 bytes)
 *   toc_v1.pcap       TOC: FLAPON, sign-on, escaped toc_send_im, IM_IN
 *                     (plain, HTML, auto), a chat room, an ERROR
 *   toc_v2.pcap       TOC2: toc2_signon, toc2_send_im, IM_IN2, typing,
 *                     a file proposal (RVOUS_PROPOSE)
 * Everything is deterministic: running it twice gives identical files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"
#include "util/bytebuf.h"

#define CLIENT_IP "192.0.2.20"
#define AUTH_IP "198.51.100.10"
#define BOS_IP "198.51.100.11"
#define CHAT_IP "198.51.100.12"
#define PEER_IP "192.0.2.21"
#define TOC_IP "198.51.100.13"

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT

static int failures;

static void oom(void)
{
	fprintf(stderr, "gen_oscar: out of memory\n");
	exit(1);
}

static void check(int rc)
{
	if (rc < 0)
		failures++;
}

static void put(struct bytebuf *b, const void *p, size_t n)
{
	if (!bytebuf_append(b, p, n))
		oom();
}

static void put8(struct bytebuf *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void put16(struct bytebuf *b, unsigned v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(b, x, 2);
}

static void put32(struct bytebuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(b, x, 4);
}

static void put16le(struct bytebuf *b, unsigned v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(b, x, 2);
}

static void put32le(struct bytebuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	put(b, x, 4);
}

static void put_str(struct bytebuf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_tlv(struct bytebuf *b, unsigned type, const void *v, size_t n)
{
	put16(b, type);
	put16(b, (unsigned)n);
	if (n)
		put(b, v, n);
}

static void put_tlv_str(struct bytebuf *b, unsigned type, const char *s)
{
	put_tlv(b, type, s, strlen(s));
}

static void put_tlv_buf(struct bytebuf *b, unsigned type, const struct bytebuf *v)
{
	put_tlv(b, type, v->data, v->len);
}

static void put_name(struct bytebuf *b, const char *name)
{
	put8(b, (unsigned)strlen(name));
	put_str(b, name);
}

/* User info block: name, warning level, TLVs (user class 0x0010). */
static void put_user_info(struct bytebuf *b, const char *name)
{
	put_name(b, name);
	put16(b, 0);
	put16(b, 1);
	put16(b, 0x0001);
	put16(b, 2);
	put16(b, 0x0010);
}

/* One FLAP connection side with its own sequence counter. */
struct side {
	struct pcapgen_tcp *t;
	enum pcapgen_dir dir;
	unsigned seq;
};

static void flap_to(struct bytebuf *out, unsigned channel, unsigned seq, const struct bytebuf *body)
{
	put8(out, '*');
	put8(out, channel);
	put16(out, seq);
	put16(out, (unsigned)body->len);
	put(out, body->data, body->len);
}

static void send_flap(struct side *sd, unsigned channel, const struct bytebuf *body,
		      const struct pcapgen_send *how)
{
	struct bytebuf out;

	bytebuf_init(&out);
	flap_to(&out, channel, sd->seq++ & 0xFFFF, body);
	check(pcapgen_tcp_send(sd->t, sd->dir, out.data, out.len, how));
	bytebuf_free(&out);
}

static void snac_head(struct bytebuf *b, unsigned family, unsigned subtype, uint32_t reqid)
{
	put16(b, family);
	put16(b, subtype);
	put16(b, 0);
	put32(b, reqid);
}

static void send_snac(struct side *sd, struct bytebuf *body, const struct pcapgen_send *how)
{
	send_flap(sd, 2, body, how);
	bytebuf_clear(body);
}

static void hello(struct side *sd, const struct bytebuf *tlvs)
{
	struct bytebuf b;

	bytebuf_init(&b);
	put32(&b, 1);
	if (tlvs)
		put(&b, tlvs->data, tlvs->len);
	send_flap(sd, 1, &b, NULL);
	bytebuf_free(&b);
}

/* TLV 2 of a channel-1 ICBM: capabilities, then text fragments. */
static void message_data(struct bytebuf *tlv2, unsigned charset, const void *text, size_t n)
{
	static const uint8_t caps[] = { 0x05, 0x01, 0x00, 0x01, 0x01 };

	put(tlv2, caps, sizeof(caps));
	put8(tlv2, 0x01);
	put8(tlv2, 0x01);
	put16(tlv2, (unsigned)(n + 4));
	put16(tlv2, charset);
	put16(tlv2, 0);
	put(tlv2, text, n);
}

static void icbm_out(struct bytebuf *b, uint32_t reqid, const char *cookie, const char *to,
		     unsigned charset, const void *text, size_t n)
{
	struct bytebuf tlv2;

	bytebuf_init(&tlv2);
	message_data(&tlv2, charset, text, n);
	snac_head(b, 0x0004, 0x0006, reqid);
	put(b, cookie, 8);
	put16(b, 1);
	put_name(b, to);
	put_tlv_buf(b, 0x0002, &tlv2);
	put_tlv(b, 0x0003, NULL, 0); /* request a server ack */
	bytebuf_free(&tlv2);
}

static void icbm_in(struct bytebuf *b, uint32_t reqid, const char *cookie, const char *from,
		    unsigned charset, const void *text, size_t n, int auto_response)
{
	struct bytebuf tlv2;

	bytebuf_init(&tlv2);
	message_data(&tlv2, charset, text, n);
	snac_head(b, 0x0004, 0x0007, reqid);
	put(b, cookie, 8);
	put16(b, 1);
	put_user_info(b, from);
	put_tlv_buf(b, 0x0002, &tlv2);
	if (auto_response)
		put_tlv(b, 0x0004, NULL, 0);
	bytebuf_free(&tlv2);
}

static struct pcapgen *open_capture(const char *dir, const char *name)
{
	struct pcapgen *g;
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		oom();
	g = pcapgen_open(path, PCAPGEN_LINK_ETHERNET);
	free(path);
	if (!g)
		exit(1);
	return g;
}

static void close_capture(struct pcapgen *g)
{
	check(pcapgen_close(g));
}

/* ---- oscar_login.pcap ---- */

static void gen_authorizer(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	struct side c = { &t, C2S, 0x1000 }, s = { &t, S2C, 0x5000 };
	struct bytebuf b, tlvs;
	static const uint8_t hash[16] = { 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82,
					  0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9, 0x0a };
	uint8_t cookie[64];
	size_t i;

	for (i = 0; i < sizeof(cookie); i++)
		cookie[i] = (uint8_t)(i * 7 + 3);
	bytebuf_init(&b);
	bytebuf_init(&tlvs);
	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40100, AUTH_IP, 5190, NULL));
	check(pcapgen_tcp_handshake(&t));
	hello(&s, NULL);
	hello(&c, NULL);
	snac_head(&b, 0x0017, 0x0006, 1);
	put_tlv_str(&b, 0x0001, "imwireuser");
	send_snac(&c, &b, NULL);
	snac_head(&b, 0x0017, 0x0007, 1);
	put16(&b, 10);
	put_str(&b, "2718281828");
	send_snac(&s, &b, NULL);
	snac_head(&b, 0x0017, 0x0002, 2);
	put_tlv_str(&b, 0x0001, "imwireuser");
	put_tlv(&b, 0x0025, hash, sizeof(hash));
	put_tlv_str(&b, 0x0003, "imwire test client");
	send_snac(&c, &b, NULL);
	snac_head(&b, 0x0017, 0x0003, 2);
	put_tlv_str(&b, 0x0001, "imwireuser");
	put_tlv_str(&b, 0x0005, BOS_IP ":5190");
	put_tlv(&b, 0x0006, cookie, sizeof(cookie));
	send_snac(&s, &b, NULL);
	check(pcapgen_tcp_close(&t, C2S));
	bytebuf_free(&b);
	bytebuf_free(&tlvs);
}

static void gen_bos(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	struct side c = { &t, C2S, 0x2000 }, s = { &t, S2C, 0x7000 };
	struct bytebuf b, tlvs, rv, svc;
	uint8_t cookie[64];
	/* "Привет, wörld ✓" in UCS-2BE */
	static const uint8_t ucs2[] = { 0x04, 0x1F, 0x04, 0x40, 0x04, 0x38, 0x04, 0x32, 0x04, 0x35,
					0x04, 0x42, 0x00, 0x2C, 0x00, 0x20, 0x00, 0x77, 0x00, 0xF6,
					0x00, 0x72, 0x00, 0x6C, 0x00, 0x64, 0x00, 0x20, 0x27, 0x13 };
	/* "Café crème, back soon" in ISO-8859-1 */
	static const char latin1[] = "Caf\xe9 cr\xe8me, back soon";
	static const uint8_t file_cap[16] = { 0x09, 0x46, 0x13, 0x43, 0x4C, 0x7F, 0x11, 0xD1,
					      0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00 };
	static const uint8_t chat_cap[16] = { 0x74, 0x8F, 0x24, 0x20, 0x62, 0x87, 0x11, 0xD1,
					      0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00 };
	static const char html[] = "<HTML><BODY>Hello <B>bob</B>, lunch at 12?</BODY></HTML>";
	static const char split_text[] =
		"This message crosses three TCP segments; the SNAC header itself is cut.";
	static const size_t split3[] = { 9, 20 };
	struct pcapgen_send how = { split3, 2, 0, 0, 0 };
	size_t i, flap_at;

	for (i = 0; i < sizeof(cookie); i++)
		cookie[i] = (uint8_t)(i * 7 + 3);
	bytebuf_init(&b);
	bytebuf_init(&tlvs);
	bytebuf_init(&rv);
	bytebuf_init(&svc);
	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40101, BOS_IP, 5190, NULL));
	check(pcapgen_tcp_handshake(&t));
	hello(&s, NULL);
	put_tlv(&tlvs, 0x0006, cookie, sizeof(cookie));
	hello(&c, &tlvs);
	snac_head(&b, 0x0001, 0x0003, 0);
	put16(&b, 0x0001);
	put16(&b, 0x0004);
	send_snac(&s, &b, NULL);
	snac_head(&b, 0x0001, 0x000E, 3);
	send_snac(&c, &b, NULL);
	snac_head(&b, 0x0001, 0x000F, 3);
	put_user_info(&b, "imwireuser");
	send_snac(&s, &b, NULL);

	/* an HTML message out, then two in: UCS-2BE and Latin-1 auto-response */
	icbm_out(&b, 4, "10000001", "buddybob", 0x0000, html, strlen(html));
	send_snac(&c, &b, NULL);
	icbm_in(&b, 0x80000001, "20000001", "buddybob", 0x0002, ucs2, sizeof(ucs2), 0);
	send_snac(&s, &b, NULL);
	icbm_in(&b, 0x80000002, "20000002", "buddybob", 0x0003, latin1, strlen(latin1), 1);
	send_snac(&s, &b, NULL);

	/* typing: begun (an event), stopped (none) */
	snac_head(&b, 0x0004, 0x0014, 0x80000003);
	put(&b, "\0\0\0\0\0\0\0\0", 8);
	put16(&b, 1);
	put_name(&b, "buddybob");
	put16(&b, 2);
	send_snac(&s, &b, NULL);
	snac_head(&b, 0x0004, 0x0014, 0x80000004);
	put(&b, "\0\0\0\0\0\0\0\0", 8);
	put16(&b, 1);
	put_name(&b, "buddybob");
	put16(&b, 0);
	send_snac(&s, &b, NULL);

	/* a file proposal out: report.pdf, 123456 bytes */
	put16(&svc, 0x0001);
	put16(&svc, 0x0001);
	put32(&svc, 123456);
	put_str(&svc, "report.pdf");
	put8(&svc, 0);
	put16(&rv, 0x0000);
	put(&rv, "30000001", 8);
	put(&rv, file_cap, sizeof(file_cap));
	put_tlv(&rv, 0x000A, "\0\1", 2);
	put_tlv(&rv, 0x0003, "\xC0\x00\x02\x14", 4);
	put_tlv(&rv, 0x0005, "\x14\x46", 2);
	put_tlv_buf(&rv, 0x2711, &svc);
	snac_head(&b, 0x0004, 0x0006, 5);
	put(&b, "30000001", 8);
	put16(&b, 2);
	put_name(&b, "buddybob");
	put_tlv_buf(&b, 0x0005, &rv);
	send_snac(&c, &b, NULL);

	/* a chat invitation in */
	bytebuf_clear(&rv);
	bytebuf_clear(&svc);
	put16(&svc, 4);
	put8(&svc, (unsigned)strlen("!aol://2719:10-4-imwire-room"));
	put_str(&svc, "!aol://2719:10-4-imwire-room");
	put16(&svc, 0);
	put16(&rv, 0x0000);
	put(&rv, "40000001", 8);
	put(&rv, chat_cap, sizeof(chat_cap));
	put_tlv(&rv, 0x000A, "\0\1", 2);
	put_tlv_str(&rv, 0x000C, "Join me in this Buddy Chat");
	put_tlv_buf(&rv, 0x2711, &svc);
	snac_head(&b, 0x0004, 0x0007, 0x80000005);
	put(&b, "40000001", 8);
	put16(&b, 2);
	put_user_info(&b, "buddybob");
	put_tlv_buf(&b, 0x0005, &rv);
	send_snac(&s, &b, NULL);

	/* a message cut into three segments, the first inside the SNAC header */
	icbm_out(&b, 6, "10000002", "buddybob", 0x0000, split_text, strlen(split_text));
	send_snac(&c, &b, &how);

	/* a FLAP whose length is 7 bytes short: the decoder reports it, skips
	 * the 7 stray bytes and finds the next message */
	icbm_in(&b, 0x80000006, "20000003", "buddybob", 0x0000, "lost words", 10, 0);
	{
		struct bytebuf out;

		bytebuf_init(&out);
		flap_at = out.len;
		flap_to(&out, 2, s.seq++, &b);
		out.data[flap_at + 4] = (uint8_t)((b.len - 7) >> 8);
		out.data[flap_at + 5] = (uint8_t)(b.len - 7);
		bytebuf_clear(&b);
		icbm_in(&b, 0x80000007, "20000004", "buddybob", 0x0000, "after the bad FLAP", 18, 0);
		flap_to(&out, 2, s.seq++, &b);
		bytebuf_clear(&b);
		check(pcapgen_tcp_send(&t, S2C, out.data, out.len, NULL));
		bytebuf_free(&out);
	}

	/* a multipart message in: an ASCII fragment and a UCS-2BE fragment */
	{
		struct bytebuf tlv2;
		static const uint8_t part2[] = { 0x00, 0x20, 0x20, 0xAC, 0x00, 0x35 }; /* " €5" */

		bytebuf_init(&tlv2);
		message_data(&tlv2, 0x0000, "costs", 5);
		put8(&tlv2, 0x01);
		put8(&tlv2, 0x01);
		put16(&tlv2, sizeof(part2) + 4);
		put16(&tlv2, 0x0002);
		put16(&tlv2, 0);
		put(&tlv2, part2, sizeof(part2));
		snac_head(&b, 0x0004, 0x0007, 0x80000008);
		put(&b, "20000005", 8);
		put16(&b, 1);
		put_user_info(&b, "buddybob");
		put_tlv_buf(&b, 0x0002, &tlv2);
		send_snac(&s, &b, NULL);
		bytebuf_free(&tlv2);
	}
	bytebuf_clear(&b);
	send_flap(&c, 4, &b, NULL);
	check(pcapgen_tcp_close(&t, C2S));
	bytebuf_free(&b);
	bytebuf_free(&tlvs);
	bytebuf_free(&rv);
	bytebuf_free(&svc);
}

/* ---- oscar_icq.pcap ---- */

static void gen_icq(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	struct side c = { &t, C2S, 0x0100 }, s = { &t, S2C, 0x0200 };
	struct bytebuf b, tlvs, data;
	static const char offline[] = "Sorry I missed you\0";

	bytebuf_init(&b);
	bytebuf_init(&tlvs);
	bytebuf_init(&data);
	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40200, BOS_IP, 443, NULL));
	check(pcapgen_tcp_handshake(&t));
	hello(&s, NULL);
	put_tlv_str(&tlvs, 0x0001, "123456789");
	put_tlv(&tlvs, 0x0002, "\x11\x22\x33\x44", 4);
	put_tlv_str(&tlvs, 0x0003, "ICQ Inc. - Product of ICQ (TM).2003b.5.37.1.3728.85");
	hello(&c, &tlvs);

	icbm_out(&b, 1, "50000001", "987654321", 0x0000, "hi from ICQ", 11);
	send_snac(&c, &b, NULL);

	/* channel 4: uin (LE), type 1, flags, length (LE), NUL-terminated text */
	put32le(&data, 987654321);
	put8(&data, 0x01);
	put8(&data, 0x00);
	put16le(&data, 15);
	put(&data, "old style text\0", 15);
	snac_head(&b, 0x0004, 0x0007, 0x80000001);
	put(&b, "60000001", 8);
	put16(&b, 4);
	put_user_info(&b, "987654321");
	put_tlv_buf(&b, 0x0005, &data);
	send_snac(&s, &b, NULL);

	/* offline message, meta 0x0041 (all little-endian inside TLV 1) */
	bytebuf_clear(&data);
	put16le(&data, 0); /* chunk length, patched below */
	put32le(&data, 123456789);
	put16le(&data, 0x0041);
	put16le(&data, 2);
	put32le(&data, 555000111);
	put16le(&data, 2003);
	put8(&data, 4);
	put8(&data, 30);
	put8(&data, 22);
	put8(&data, 15);
	put8(&data, 0x01);
	put8(&data, 0x00);
	put16le(&data, sizeof(offline) - 1);
	put(&data, offline, sizeof(offline) - 1);
	data.data[0] = (uint8_t)(data.len - 2);
	data.data[1] = (uint8_t)((data.len - 2) >> 8);
	snac_head(&b, 0x0015, 0x0003, 0x80000002);
	put_tlv_buf(&b, 0x0001, &data);
	send_snac(&s, &b, NULL);
	check(pcapgen_tcp_close(&t, C2S));
	bytebuf_free(&b);
	bytebuf_free(&tlvs);
	bytebuf_free(&data);
}

/* ---- oscar_chat.pcap ---- */

static void gen_chat(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	struct side c = { &t, C2S, 0x3000 }, s = { &t, S2C, 0x9000 };
	struct bytebuf b, tlvs, info, sender;
	static const uint8_t ucs2[] = { 0x00, 0x68, 0x00, 0x69, 0x00, 0x20, 0x26, 0x3A }; /* "hi ☺" */

	bytebuf_init(&b);
	bytebuf_init(&tlvs);
	bytebuf_init(&info);
	bytebuf_init(&sender);
	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40300, CHAT_IP, 5190, NULL));
	check(pcapgen_tcp_handshake(&t));
	hello(&s, NULL);
	put_tlv(&tlvs, 0x0006, "chatcookie-0001", 15);
	hello(&c, &tlvs);
	snac_head(&b, 0x000E, 0x0002, 0);
	put16(&b, 4);
	put8(&b, (unsigned)strlen("!aol://2719:10-4-imwire-room"));
	put_str(&b, "!aol://2719:10-4-imwire-room");
	put16(&b, 0);
	put8(&b, 2);
	put16(&b, 2);
	put_tlv_str(&b, 0x006A, "imwire-room");
	put_tlv(&b, 0x00C9, "\0\x15", 2);
	send_snac(&s, &b, NULL);

	put_tlv_str(&info, 0x0001, "hello room");
	put_tlv_str(&info, 0x0002, "us-ascii");
	put_tlv_str(&info, 0x0003, "en");
	snac_head(&b, 0x000E, 0x0005, 7);
	put(&b, "70000001", 8);
	put16(&b, 3);
	put_tlv(&b, 0x0001, NULL, 0);
	put_tlv(&b, 0x0006, NULL, 0);
	put_tlv_buf(&b, 0x0005, &info);
	send_snac(&c, &b, NULL);

	bytebuf_clear(&info);
	put_tlv(&info, 0x0001, ucs2, sizeof(ucs2));
	put_tlv_str(&info, 0x0002, "unicode-2-0");
	put_tlv_str(&info, 0x0003, "en");
	put_user_info(&sender, "carol");
	snac_head(&b, 0x000E, 0x0006, 0x80000001);
	put(&b, "70000002", 8);
	put16(&b, 3);
	put_tlv_buf(&b, 0x0003, &sender);
	put_tlv(&b, 0x0001, NULL, 0);
	put_tlv_buf(&b, 0x0005, &info);
	send_snac(&s, &b, NULL);
	check(pcapgen_tcp_close(&t, C2S));
	bytebuf_free(&b);
	bytebuf_free(&tlvs);
	bytebuf_free(&info);
	bytebuf_free(&sender);
}

/* ---- oscar_oft.pcap ---- */

static void oft_header(struct bytebuf *b, unsigned type, const char *cookie, uint32_t size,
		       const char *name)
{
	size_t at = b->len;

	put_str(b, "OFT2");
	put16(b, 256);
	put16(b, type);
	put(b, cookie, 8);
	put16(b, 0);	 /* encryption */
	put16(b, 0);	 /* compression */
	put16(b, 1);	 /* total files */
	put16(b, 1);	 /* files left */
	put16(b, 1);	 /* total parts */
	put16(b, 1);	 /* parts left */
	put32(b, size);	 /* total size */
	put32(b, size);	 /* size */
	put32(b, 0x3ec0ffee); /* modification time */
	put32(b, 0xB1640000); /* checksum */
	put32(b, 0xFFFF0000);
	put32(b, 0);
	put32(b, 0);
	put32(b, 0xFFFF0000);
	put32(b, 0); /* bytes received */
	put32(b, 0xFFFF0000);
	put_str(b, "Cool FileXfer");
	while (b->len - at < 100)
		put8(b, 0);
	put8(b, 0);    /* flags */
	put8(b, 0x1C); /* list name offset */
	put8(b, 0x11); /* list size offset */
	while (b->len - at < 188)
		put8(b, 0);
	put16(b, 0); /* name encoding: ASCII */
	put16(b, 0); /* language */
	put_str(b, name);
	while (b->len - at < 256)
		put8(b, 0);
}

static void gen_oft(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	struct bytebuf b;
	size_t i;

	bytebuf_init(&b);
	/* the receiver (the local client) connects to the sender */
	check(pcapgen_tcp_open(&t, g, PEER_IP, 40400, CLIENT_IP, 5190, NULL));
	check(pcapgen_tcp_handshake(&t));
	oft_header(&b, 0x0101, "\0\0\0\0\0\0\0\0", 3000, "notes.txt");
	check(pcapgen_tcp_send(&t, S2C, b.data, b.len, NULL));
	bytebuf_clear(&b);
	oft_header(&b, 0x0202, "30000001", 3000, "notes.txt");
	check(pcapgen_tcp_send(&t, C2S, b.data, b.len, NULL));
	bytebuf_clear(&b);
	/* file data that happens to hold "OFT2" and '*' must not confuse framing */
	for (i = 0; i < 3000; i++)
		put8(&b, "OFT2*\x02 file data "[i % 17]);
	check(pcapgen_tcp_send(&t, S2C, b.data, b.len, NULL));
	bytebuf_clear(&b);
	oft_header(&b, 0x0204, "30000001", 3000, "notes.txt");
	check(pcapgen_tcp_send(&t, C2S, b.data, b.len, NULL));
	check(pcapgen_tcp_close(&t, C2S));
	bytebuf_free(&b);
}

/* ---- TOC ---- */

static void toc_frame(struct side *sd, const char *text, int nul)
{
	struct bytebuf b;

	bytebuf_init(&b);
	put(&b, text, strlen(text) + (nul ? 1 : 0));
	send_flap(sd, 2, &b, NULL);
	bytebuf_free(&b);
}

static void toc_signon_frame(struct side *c, const char *name)
{
	struct bytebuf b;

	bytebuf_init(&b);
	put32(&b, 1);
	put16(&b, 1);
	put16(&b, (unsigned)strlen(name));
	put_str(&b, name);
	send_flap(c, 1, &b, NULL);
	bytebuf_free(&b);
}

static void gen_toc(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	struct side c = { &t, C2S, 0x0010 }, s = { &t, S2C, 0x4000 };
	struct bytebuf b;

	bytebuf_init(&b);
	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40500, TOC_IP, 9898, NULL));
	check(pcapgen_tcp_handshake(&t));
	check(pcapgen_tcp_send_str(&t, C2S, "FLAPON\r\n\r\n"));
	hello(&s, NULL);
	toc_signon_frame(&c, "tocuser");
	toc_frame(&c, "toc_signon login.oscar.aol.com 5190 tocuser 0x2408105c23001130 english "
		      "\"TIC:imwire\"", 1);
	toc_frame(&s, "SIGN_ON:TOC1.0", 0);
	toc_frame(&s, "NICK:Toc User", 0);
	toc_frame(&c, "toc_init_done", 1);
	toc_frame(&c, "toc_send_im buddyann \"costs \\$5 \\(or \\\"less\\\"\\)\"", 1);
	toc_frame(&c, "toc_send_im buddyann \"<b>bold</b> move\"", 1);
	toc_frame(&s, "IM_IN:buddyann:F:<HTML><BODY>sure: see you</BODY></HTML>", 0);
	toc_frame(&s, "IM_IN:buddyann:T:I am away from my computer", 0);
	toc_frame(&c, "toc_chat_join 4 \"Lobby\"", 1);
	toc_frame(&s, "CHAT_JOIN:1234:Lobby", 0);
	toc_frame(&c, "toc_chat_send 1234 \"hi room\"", 1);
	toc_frame(&s, "CHAT_IN:1234:dave:F:hey all: welcome", 0);
	toc_frame(&s, "ERROR:901:nobody", 0);
	check(pcapgen_tcp_close(&t, C2S));
	bytebuf_free(&b);
}

static void gen_toc2(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	struct side c = { &t, C2S, 0x0020 }, s = { &t, S2C, 0x4100 };

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40600, TOC_IP, 5190, NULL));
	check(pcapgen_tcp_handshake(&t));
	check(pcapgen_tcp_send_str(&t, C2S, "FLAPON\r\n\r\n"));
	hello(&s, NULL);
	toc_signon_frame(&c, "toc2user");
	toc_frame(&c, "toc2_signon login.oscar.aol.com 5190 toc2user 0x2408105c23001130 "
		      "english \"TIC:imwire\" 160 1234567", 1);
	toc_frame(&s, "SIGN_ON:TOC2.0", 0);
	toc_frame(&c, "toc2_send_im buddycat \"caf\xc3\xa9 at noon?\"", 1);
	toc_frame(&s, "CLIENT_EVENT2:buddycat:2", 0);
	toc_frame(&s, "CLIENT_EVENT2:buddycat:0", 0);
	toc_frame(&s, "IM_IN2:buddycat:F:F:yes, at noon", 0);
	/* TLV 10001 = kind 1, count 1, size 4096, "photo.jpg": base64 of
	 * 00 01 00 01 00 00 10 00 "photo.jpg" 00 */
	toc_frame(&s, "RVOUS_PROPOSE:buddycat:09461343-4C7F-11D1-8222-444553540000:"
		      "ODAwMDAwMDE=:1:192.0.2.30:192.0.2.30:0.0.0.0:5190:"
		      "10001:AAEAAQAAEABwaG90by5qcGcA",
		   0);
	check(pcapgen_tcp_close(&t, C2S));
}

int main(int argc, char **argv)
{
	struct pcapgen *g;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_oscar DIR\n");
		return 2;
	}
	g = open_capture(argv[1], "oscar_login.pcap");
	gen_authorizer(g);
	pcapgen_advance(g, 1000000);
	gen_bos(g);
	close_capture(g);

	g = open_capture(argv[1], "oscar_icq.pcap");
	gen_icq(g);
	close_capture(g);

	g = open_capture(argv[1], "oscar_chat.pcap");
	gen_chat(g);
	close_capture(g);

	g = open_capture(argv[1], "oscar_oft.pcap");
	gen_oft(g);
	close_capture(g);

	g = open_capture(argv[1], "toc_v1.pcap");
	gen_toc(g);
	close_capture(g);

	g = open_capture(argv[1], "toc_v2.pcap");
	gen_toc2(g);
	close_capture(g);
	return failures ? 1 : 0;
}
