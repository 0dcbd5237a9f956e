/* Writes the file-transfer test captures (#20) into the directory given
 * as argv[1], one per way a file travels, each offer on its IM session
 * followed by the data, built from the protocol descriptions (libgadu's
 * dcc7.c, XEP-0047/0065/0096, MSNP2P, libpurple's Yahoo relay):
 *   files_dcc.pcap        IRC: DCC SEND of a text file, the data
 *                         connection with the receiver's acknowledgements
 *   files_xmpp_ibb.pcap   XMPP: SI offer, IBB open, base64 data in iqs, close
 *   files_xmpp_s5b.pcap   XMPP: SI offer, streamhost (a proxy), the SOCKS5
 *                         connection that carries it
 *   files_gg_dcc7.pcap    GG: DCC7 offer, info, the connection (ids, data)
 *   files_msn_p2p.pcap    MSN: MSNSLP file INVITE, P2P data chunks
 *   files_ymsg_relay.pcap Yahoo: offer, relay info, the HTTP POST
 * With --eicar, only files_eicar.pcap: a DCC SEND of the EICAR test file
 * (never committed; the clamd tests make it when they need it). With
 * --lossy, only files_dcc_lossy.pcap: the DCC SEND of files_dcc.pcap whose
 * data lose a segment (made by golden_files.sh: a capture with a hole that
 * never fills is no replay identity, see policy_replay.sh).
 * Deterministic: running it twice gives identical files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "pcapgen.h"
#include "util/bytebuf.h"

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT

static int failures;

static void check(int rc)
{
	if (rc < 0)
		failures++;
}

static struct pcapgen *open_capture(const char *dir, const char *name)
{
	char path[4096];
	struct pcapgen *g;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	g = pcapgen_open(path, PCAPGEN_LINK_ETHERNET);
	if (!g)
		exit(1);
	return g;
}

/* The text every capture carries: its SHA-256 is in the golden files. */
static void file_body(struct bytebuf *b, size_t n)
{
	size_t i;

	bytebuf_clear(b);
	for (i = 0; b->len < n; i++)
		if (!bytebuf_printf(b, "line %zu of a file sent across an IM network\n", i))
			failures++;
	b->len = n;
}

static void send_str(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *s)
{
	check(pcapgen_tcp_send_str(t, dir, s));
}

/* ---- IRC DCC ---- */

static void irc_login(struct pcapgen_tcp *t, const char *nick)
{
	char line[128];

	snprintf(line, sizeof(line), "NICK %s\r\nUSER %s 0 * :%s\r\n", nick, nick, nick);
	send_str(t, C2S, line);
	snprintf(line, sizeof(line), ":irc.example.org 001 %s :Welcome\r\n", nick);
	send_str(t, S2C, line);
}

/* The receiver connects to 192.0.2.7:port and reads len bytes, answering
 * each segment with its count so far (32-bit, big-endian). */
static void dcc_data(struct pcapgen *g, uint16_t port, const uint8_t *data, size_t len,
		     uint32_t drop_mask)
{
	struct pcapgen_send how = { .drop_mask = drop_mask };
	struct pcapgen_tcp d;
	size_t off, seg = 1000;
	uint8_t ack[4];

	check(pcapgen_tcp_open(&d, g, "192.0.2.22", 43614, "192.0.2.7", port, NULL));
	check(pcapgen_tcp_handshake(&d));
	for (off = 0; off < len; off += seg) {
		size_t n = len - off < seg ? len - off : seg;

		how.drop_mask = drop_mask >> (off / seg) & 1 ? 1 : 0;
		check(pcapgen_tcp_send(&d, S2C, data + off, n, &how));
		imw_store_be32(ack, (uint32_t)(off + n));
		check(pcapgen_tcp_send(&d, C2S, ack, 4, NULL));
	}
	check(pcapgen_tcp_close(&d, S2C));
}

static void dcc_offer(struct pcapgen_tcp *t, const char *name, uint16_t port, size_t len)
{
	char line[256];

	/* 3221225991 = 192.0.2.7 */
	snprintf(line, sizeof(line), "PRIVMSG bob :\001DCC SEND %s 3221225991 %u %zu\001\r\n", name,
		 (unsigned)port, len);
	send_str(t, C2S, line);
}

static void write_dcc(const char *dir, const char *name, uint32_t drop_mask)
{
	struct pcapgen *g = open_capture(dir, name);
	struct pcapgen_tcp t;
	struct bytebuf f;

	bytebuf_init(&f);
	file_body(&f, 4321);
	check(pcapgen_tcp_open(&t, g, "192.0.2.7", 40100, "198.51.100.1", 6667, NULL));
	check(pcapgen_tcp_handshake(&t));
	irc_login(&t, "alice");
	if (drop_mask) {
		/* a data segment lost on the way (the third) */
		dcc_offer(&t, "lossy.txt", 5001, f.len);
		dcc_data(g, 5001, f.data, f.len, drop_mask);
	} else {
		dcc_offer(&t, "notes.txt", 5000, f.len);
		dcc_data(g, 5000, f.data, f.len, 0);
	}
	send_str(&t, C2S, "QUIT :bye\r\n");
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&f);
}

/* The EICAR test file (eicar.org), as the clamd tests send it. */
static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

static void write_eicar(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "files_eicar.pcap");
	struct pcapgen_tcp t;
	struct bytebuf f;

	bytebuf_init(&f);
	file_body(&f, 2000);
	check(pcapgen_tcp_open(&t, g, "192.0.2.7", 40101, "198.51.100.1", 6667, NULL));
	check(pcapgen_tcp_handshake(&t));
	irc_login(&t, "alice");
	dcc_offer(&t, "eicar.com", 5002, sizeof(eicar) - 1);
	dcc_data(g, 5002, (const uint8_t *)eicar, sizeof(eicar) - 1, 0);
	dcc_offer(&t, "clean.txt", 5003, f.len);
	dcc_data(g, 5003, f.data, f.len, 0);
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&f);
}

/* ---- XMPP ---- */

#define XMPP_HEADER_OUT                                                               \
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://" \
	"etherx.jabber.org/streams' to='example.org' version='1.0'>"
#define XMPP_HEADER_IN                                                                 \
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://" \
	"etherx.jabber.org/streams' id='s1' from='example.org' version='1.0'>"

static void xmpp_login(struct pcapgen_tcp *t)
{
	send_str(t, C2S, XMPP_HEADER_OUT);
	send_str(t, S2C, XMPP_HEADER_IN "<stream:features><bind xmlns='urn:ietf:params:xml:ns:"
					"xmpp-bind'/></stream:features>");
	send_str(t, C2S, "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
			 "<resource>laptop</resource></bind></iq>");
	send_str(t, S2C, "<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
			 "<jid>alice@example.org/laptop</jid></bind></iq>");
}

static void si_offer(struct pcapgen_tcp *t, const char *sid, const char *name, size_t len)
{
	char s[1024];

	snprintf(s, sizeof(s),
		 "<iq type='set' id='si-%s' to='bob@example.org/pc'><si xmlns='http://jabber.org/"
		 "protocol/si' id='%s' profile='http://jabber.org/protocol/si/profile/file-transfer'>"
		 "<file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='%s' "
		 "size='%zu'/></si></iq>",
		 sid, sid, name, len);
	send_str(t, C2S, s);
}

static void base64(struct bytebuf *out, const uint8_t *p, size_t n)
{
	static const char c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { c[v >> 18 & 63], c[v >> 12 & 63], i + 1 < n ? c[v >> 6 & 63] : '=',
			      i + 2 < n ? c[v & 63] : '=' };

		if (!bytebuf_append(out, q, 4))
			failures++;
	}
}

static void write_xmpp_ibb(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "files_xmpp_ibb.pcap");
	struct pcapgen_tcp t;
	struct bytebuf f, s;
	size_t off, seq = 0;

	bytebuf_init(&f);
	bytebuf_init(&s);
	file_body(&f, 3000);
	check(pcapgen_tcp_open(&t, g, "192.0.2.40", 40300, "198.51.100.9", 5222, NULL));
	check(pcapgen_tcp_handshake(&t));
	xmpp_login(&t);
	si_offer(&t, "ibb1", "report.txt", f.len);
	send_str(&t, C2S, "<iq type='set' id='o1' to='bob@example.org/pc'><open xmlns='http://"
			  "jabber.org/protocol/ibb' block-size='1024' sid='ibb1' stanza='iq'/></iq>");
	for (off = 0; off < f.len; off += 1024, seq++) {
		bytebuf_clear(&s);
		bytebuf_printf(&s, "<iq type='set' id='d%zu' to='bob@example.org/pc'><data xmlns='"
				   "http://jabber.org/protocol/ibb' seq='%zu' sid='ibb1'>",
			       seq, seq);
		base64(&s, f.data + off, f.len - off < 1024 ? f.len - off : 1024);
		bytebuf_append_str(&s, "</data></iq>");
		check(pcapgen_tcp_send(&t, C2S, s.data, s.len, NULL));
	}
	send_str(&t, C2S, "<iq type='set' id='c1' to='bob@example.org/pc'><close xmlns='http://"
			  "jabber.org/protocol/ibb' sid='ibb1'/></iq>");
	send_str(&t, C2S, "</stream:stream>");
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&f);
	bytebuf_free(&s);
}

static void write_xmpp_s5b(const char *dir)
{
	/* SHA-1("s5b1" "alice@example.org/laptop" "bob@example.org/pc") */
	static const char dst[] = "dc02ae8d63a0b702f70547ab7f03517fb668ba5f";
	struct pcapgen *g = open_capture(dir, "files_xmpp_s5b.pcap");
	struct pcapgen_tcp t, d;
	struct bytebuf f, hs;

	bytebuf_init(&f);
	bytebuf_init(&hs);
	file_body(&f, 5000);
	check(pcapgen_tcp_open(&t, g, "192.0.2.40", 40301, "198.51.100.9", 5222, NULL));
	check(pcapgen_tcp_handshake(&t));
	xmpp_login(&t);
	si_offer(&t, "s5b1", "photo.txt", f.len);
	send_str(&t, C2S, "<iq type='set' id='h1' to='bob@example.org/pc'><query xmlns='http://"
			  "jabber.org/protocol/bytestreams' sid='s5b1' mode='tcp'><streamhost "
			  "jid='proxy.example.org' host='198.51.100.9' port='5000'/></query></iq>");
	/* bob (elsewhere) connects to the proxy first, then alice; alice sends */
	check(pcapgen_tcp_open(&d, g, "192.0.2.40", 40302, "198.51.100.9", 5000, NULL));
	check(pcapgen_tcp_handshake(&d));
	check(pcapgen_tcp_send(&d, C2S, "\x05\x01\x00", 3, NULL));
	check(pcapgen_tcp_send(&d, S2C, "\x05\x00", 2, NULL));
	bytebuf_append(&hs, "\x05\x01\x00\x03\x28", 5);
	bytebuf_append_str(&hs, dst);
	bytebuf_append(&hs, "\x00\x00", 2);
	check(pcapgen_tcp_send(&d, C2S, hs.data, hs.len, NULL));
	hs.data[1] = 0; /* the proxy's reply: succeeded, same address */
	check(pcapgen_tcp_send(&d, S2C, hs.data, hs.len, NULL));
	send_str(&t, S2C, "<iq type='result' id='h1' from='bob@example.org/pc'><query xmlns='http://"
			  "jabber.org/protocol/bytestreams' sid='s5b1'><streamhost-used "
			  "jid='proxy.example.org'/></query></iq>");
	check(pcapgen_tcp_send(&d, C2S, f.data, f.len, NULL));
	check(pcapgen_tcp_close(&d, C2S));
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&f);
	bytebuf_free(&hs);
}

/* ---- GG DCC7 ---- */

static void gg_pkt(struct pcapgen_tcp *t, enum pcapgen_dir dir, uint32_t type, const void *body,
		   size_t len)
{
	struct bytebuf b;
	uint8_t h[8];

	bytebuf_init(&b);
	imw_store_le32(h, type);
	imw_store_le32(h + 4, (uint32_t)len);
	if (!bytebuf_append(&b, h, 8) || !bytebuf_append(&b, body, len))
		failures++;
	check(pcapgen_tcp_send(t, dir, b.data, b.len, NULL));
	bytebuf_free(&b);
}

static void put_le32(uint8_t *p, size_t *off, uint32_t v)
{
	imw_store_le32(p + *off, v);
	*off += 4;
}

static void write_gg(const char *dir)
{
	static const uint8_t id[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	struct pcapgen *g = open_capture(dir, "files_gg_dcc7.pcap");
	struct pcapgen_tcp t, d;
	struct bytebuf f;
	uint8_t body[400];
	size_t off = 0;

	bytebuf_init(&f);
	file_body(&f, 2500);
	check(pcapgen_tcp_open(&t, g, "192.0.2.30", 40200, "198.51.100.8", 8074, NULL));
	check(pcapgen_tcp_handshake(&t));
	memset(body, 0, sizeof(body));
	put_le32(body, &off, 0x5eed5eed);
	gg_pkt(&t, S2C, 0x01, body, off); /* GG_WELCOME */
	memset(body, 0, sizeof(body));
	off = 0;
	put_le32(body, &off, 1234567);
	memcpy(body + off, "pl", 2);
	gg_pkt(&t, C2S, 0x31, body, 100); /* GG_LOGIN80, enough to say who */
	gg_pkt(&t, S2C, 0x35, body, 0);   /* GG_LOGIN80_OK */
	/* GG_DCC7_NEW: id, from, to, type (file), name, size, size_hi, hash */
	memset(body, 0, sizeof(body));
	memcpy(body, id, 8);
	off = 8;
	put_le32(body, &off, 1234567);
	put_le32(body, &off, 2345678);
	put_le32(body, &off, 4);
	memcpy(body + off, "plan.txt", 8);
	off += 255;
	put_le32(body, &off, (uint32_t)f.len);
	put_le32(body, &off, 0);
	off += 20;
	gg_pkt(&t, C2S, 0x20, body, off);
	/* GG_DCC7_INFO from us: we listen at 192.0.2.30:1550 */
	memset(body, 0, sizeof(body));
	off = 0;
	put_le32(body, &off, 2345678);
	put_le32(body, &off, 1);
	memcpy(body + off, id, 8);
	off += 8;
	memcpy(body + off, "192.0.2.30 1550", 15);
	off += 32 + 32;
	gg_pkt(&t, C2S, 0x1f, body, off);
	check(pcapgen_tcp_open(&d, g, "192.0.2.31", 41000, "192.0.2.30", 1550, NULL));
	check(pcapgen_tcp_handshake(&d));
	check(pcapgen_tcp_send(&d, C2S, id, 8, NULL));
	check(pcapgen_tcp_send(&d, S2C, id, 8, NULL));
	check(pcapgen_tcp_send(&d, S2C, f.data, f.len, NULL));
	check(pcapgen_tcp_close(&d, S2C));
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&f);
}

/* ---- MSN P2P ---- */

static void msn_p2p(struct pcapgen_tcp *t, uint32_t sid, uint32_t id, uint64_t offset,
		    uint64_t total, const uint8_t *data, size_t size, uint32_t flags)
{
	struct bytebuf m, line;
	uint8_t h[48];

	bytebuf_init(&m);
	bytebuf_init(&line);
	bytebuf_append_str(&m, "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n"
			       "P2P-Dest: alice@example.com\r\n\r\n");
	memset(h, 0, sizeof(h));
	imw_store_le32(h, sid);
	imw_store_le32(h + 4, id);
	imw_store_le32(h + 8, (uint32_t)offset);
	imw_store_le32(h + 16, (uint32_t)total);
	imw_store_le32(h + 24, (uint32_t)size);
	imw_store_le32(h + 28, flags);
	bytebuf_append(&m, h, sizeof(h));
	bytebuf_append(&m, data, size);
	bytebuf_append(&m, sid ? "\0\0\0\2" : "\0\0\0\0", 4);
	bytebuf_printf(&line, "MSG bob@example.com Bob %zu\r\n", m.len);
	bytebuf_append(&line, m.data, m.len);
	check(pcapgen_tcp_send(t, S2C, line.data, line.len, NULL));
	bytebuf_free(&m);
	bytebuf_free(&line);
}

static void write_msn(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "files_msn_p2p.pcap");
	struct pcapgen_tcp t;
	struct bytebuf f, ctx, body, slp;
	uint8_t hdr[20];
	size_t i, off;

	bytebuf_init(&f);
	bytebuf_init(&ctx);
	bytebuf_init(&body);
	bytebuf_init(&slp);
	file_body(&f, 3500);
	check(pcapgen_tcp_open(&t, g, "192.0.2.50", 40704, "198.51.100.10", 1863, NULL));
	check(pcapgen_tcp_handshake(&t));
	send_str(&t, C2S, "ANS 1 alice@example.com 849102291.520491113 11752013\r\n");
	send_str(&t, S2C, "IRO 1 1 1 bob@example.com Bob\r\nANS 1 OK\r\n");
	/* the file transfer context: length, version, size, type, name (UTF-16LE) */
	memset(hdr, 0, sizeof(hdr));
	imw_store_le32(hdr, 574);
	imw_store_le32(hdr + 4, 2);
	imw_store_le32(hdr + 8, (uint32_t)f.len);
	imw_store_le32(hdr + 16, 1);
	bytebuf_append(&ctx, hdr, sizeof(hdr));
	for (i = 0; i < 260; i++) {
		uint8_t u[2] = { (uint8_t)(i < 9 ? "todo.list"[i] : 0), 0 };

		bytebuf_append(&ctx, u, 2);
	}
	for (i = 0; i < 34; i++)
		bytebuf_append_byte(&ctx, i < 30 ? 0 : 0xff);
	bytebuf_append_str(&body, "EUF-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\n"
				  "SessionID: 94850\r\nAppID: 2\r\nContext: ");
	base64(&body, ctx.data, ctx.len);
	bytebuf_append(&body, "\r\n\r\n\0", 5);
	bytebuf_printf(&slp,
		       "INVITE MSNMSGR:alice@example.com MSNSLP/1.0\r\nTo: <msnmsgr:alice@example."
		       "com>\r\nFrom: <msnmsgr:bob@example.com>\r\nVia: MSNSLP/1.0/TLP ;branch={33517"
		       "CE4-02FC-4428-B6F4-39927229B722}\r\nCSeq: 0 \r\nCall-ID: {9D79AE57-1BD5-444B"
		       "-B14E-3FC9BB2B5D58}\r\nMax-Forwards: 0\r\nContent-Type: application/x-msnmsgr"
		       "-sessionreqbody\r\nContent-Length: %zu\r\n\r\n",
		       body.len);
	bytebuf_append(&slp, body.data, body.len);
	msn_p2p(&t, 0, 9270001, 0, slp.len, slp.data, slp.len, 0);
	msn_p2p(&t, 94850, 9270002, 0, 4, (const uint8_t *)"\0\0\0\0", 4, 0); /* data preparation */
	for (off = 0; off < f.len; off += 1202)
		msn_p2p(&t, 94850, 9270003, off, f.len, f.data + off,
			f.len - off < 1202 ? f.len - off : 1202, 0x01000030);
	send_str(&t, C2S, "OUT\r\n");
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&f);
	bytebuf_free(&ctx);
	bytebuf_free(&body);
	bytebuf_free(&slp);
}

/* ---- Yahoo relay ---- */

static void ymsg_pkt(struct pcapgen_tcp *t, enum pcapgen_dir dir, unsigned service, ...)
{
	struct bytebuf body, b;
	uint8_t h[20];
	va_list ap;
	int key;

	bytebuf_init(&body);
	bytebuf_init(&b);
	va_start(ap, service);
	while ((key = va_arg(ap, int)) >= 0) {
		bytebuf_printf(&body, "%d", key);
		bytebuf_append(&body, "\xC0\x80", 2);
		bytebuf_append_str(&body, va_arg(ap, const char *));
		bytebuf_append(&body, "\xC0\x80", 2);
	}
	va_end(ap);
	memcpy(h, "YMSG", 4);
	imw_store_be16(h + 4, 16);
	imw_store_be16(h + 6, 0);
	imw_store_be16(h + 8, (uint16_t)body.len);
	imw_store_be16(h + 10, (uint16_t)service);
	imw_store_be32(h + 12, 0);
	imw_store_be32(h + 16, 0x1234);
	bytebuf_append(&b, h, sizeof(h));
	bytebuf_append(&b, body.data, body.len);
	check(pcapgen_tcp_send(t, dir, b.data, b.len, NULL));
	bytebuf_free(&body);
	bytebuf_free(&b);
}

static void write_ymsg(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "files_ymsg_relay.pcap");
	struct pcapgen_tcp t, d;
	struct bytebuf f, http;
	char size[16];

	bytebuf_init(&f);
	bytebuf_init(&http);
	file_body(&f, 2222);
	snprintf(size, sizeof(size), "%zu", f.len);
	check(pcapgen_tcp_open(&t, g, "192.0.2.60", 40510, "198.51.100.11", 5050, NULL));
	check(pcapgen_tcp_handshake(&t));
	ymsg_pkt(&t, C2S, 0x57, 1, "alice_y", -1);
	ymsg_pkt(&t, S2C, 0x57, 1, "alice_y", 94, "challenge", 13, "2", -1);
	ymsg_pkt(&t, C2S, 0xdc, 1, "alice_y", 5, "bob_y", 265, "XfErId", 222, "1", 266, "1", 27,
		 "minutes.txt", 28, size, -1);
	ymsg_pkt(&t, S2C, 0xdc, 4, "bob_y", 5, "alice_y", 265, "XfErId", 222, "3", -1);
	ymsg_pkt(&t, C2S, 0xdd, 1, "alice_y", 5, "bob_y", 265, "XfErId", 27, "minutes.txt", 249, "3",
		 250, "198.51.100.12", 251, "Rl+Tk/1=", -1);
	check(pcapgen_tcp_open(&d, g, "192.0.2.60", 40511, "198.51.100.12", 80, NULL));
	check(pcapgen_tcp_handshake(&d));
	bytebuf_printf(&http, "POST /relay?token=Rl%%2BTk%%2F1%%3D&sender=alice_y&recver=bob_y "
			      "HTTP/1.1\r\nHost: 198.51.100.12\r\nContent-Length: %zu\r\n\r\n",
		       f.len);
	bytebuf_append(&http, f.data, f.len);
	check(pcapgen_tcp_send(&d, C2S, http.data, http.len, NULL));
	check(pcapgen_tcp_send_str(&d, S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
	check(pcapgen_tcp_close(&d, C2S));
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&f);
	bytebuf_free(&http);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--eicar") == 0) {
		write_eicar(argv[2]);
		return failures ? 1 : 0;
	}
	if (argc == 3 && strcmp(argv[1], "--lossy") == 0) {
		write_dcc(argv[2], "files_dcc_lossy.pcap", 1u << 2);
		return failures ? 1 : 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: gen_files [--eicar|--lossy] DIR\n");
		return 2;
	}
	write_dcc(argv[1], "files_dcc.pcap", 0);
	write_xmpp_ibb(argv[1]);
	write_xmpp_s5b(argv[1]);
	write_gg(argv[1]);
	write_msn(argv[1]);
	write_ymsg(argv[1]);
	return failures ? 1 : 0;
}
