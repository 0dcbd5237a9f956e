/* Writes the Gadu-Gadu test captures into the directory given as argv[1]:
 *   gg_session.pcap   GG_WELCOME, GG_LOGIN80 (UIN 1234567), GG_SEND_MSG80
 *                     and GG_RECV_MSG80 with Polish text in Windows-1250,
 *                     a conference message (one copy per recipient), an
 *                     old GG_RECV_MSG, typing notifications, a DCC7 file
 *                     offer, a packet split over three segments, and
 *                     bytes of garbage before a good packet
 * Everything is deterministic: running it twice gives identical files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "pcapgen.h"
#include "util/bytebuf.h"

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT
#define ME 1234567u
#define BOB 2345678u
#define CAROL 3456789u

static int failures;

static void put32(struct bytebuf *b, uint32_t v)
{
	uint8_t w[4];

	imw_store_le32(w, v);
	if (!bytebuf_append(b, w, 4))
		failures++;
}

static void send_pkt(struct pcapgen_tcp *t, enum pcapgen_dir dir, uint32_t type,
		     const struct bytebuf *body, const struct pcapgen_send *how)
{
	struct bytebuf b;

	bytebuf_init(&b);
	put32(&b, type);
	put32(&b, (uint32_t)body->len);
	if (!bytebuf_append(&b, body->data, body->len) ||
	    pcapgen_tcp_send(t, dir, b.data, b.len, how) < 0)
		failures++;
	bytebuf_free(&b);
}

/* GG_SEND_MSG80 (incoming false) or GG_RECV_MSG80 as libgadu lays it out. */
static void msg80(struct bytebuf *b, bool incoming, uint32_t peer, uint32_t seq, const char *html,
		  const char *plain, const uint32_t *conf, size_t n_conf)
{
	size_t fixed = incoming ? 24 : 20, i;
	size_t plain_off = fixed + strlen(html) + 1;

	bytebuf_clear(b);
	put32(b, peer);
	put32(b, seq);
	if (incoming)
		put32(b, 1051790400u);
	put32(b, 0x08);
	put32(b, (uint32_t)plain_off);
	put32(b, (uint32_t)(plain_off + strlen(plain) + 1));
	bytebuf_append(b, html, strlen(html) + 1);
	bytebuf_append(b, plain, strlen(plain) + 1);
	if (n_conf) {
		bytebuf_append_byte(b, 0x01);
		put32(b, (uint32_t)n_conf);
		for (i = 0; i < n_conf; i++)
			put32(b, conf[i]);
	}
	bytebuf_append(b, "\x02\x06\x00\x00\x00\x08\x00\x00\x00", 9);
}

static void write_session(const char *dir)
{
	static const size_t three[] = { 5, 17 };
	static const uint32_t to_carol = CAROL, to_bob = BOB, others[] = { CAROL, ME };
	struct pcapgen_send split = { .split = three, .n_split = 2 };
	char path[4096];
	struct pcapgen *g;
	struct pcapgen_tcp t;
	struct bytebuf b;
	uint8_t name[255];

	snprintf(path, sizeof(path), "%s/gg_session.pcap", dir);
	g = pcapgen_open(path, PCAPGEN_LINK_ETHERNET);
	if (!g) {
		failures++;
		return;
	}
	bytebuf_init(&b);
	if (pcapgen_tcp_open(&t, g, "192.0.2.30", 40200, "198.51.100.8", 8074, NULL) < 0 ||
	    pcapgen_tcp_handshake(&t) < 0)
		failures++;
	put32(&b, 0x5eed5eed);
	send_pkt(&t, S2C, 0x01, &b, NULL);
	/* GG_LOGIN80: uin, "pl", SHA1 hash type, 64-byte hash, status, flags,
	 * features, addresses, image size, version string, description. */
	bytebuf_clear(&b);
	put32(&b, ME);
	bytebuf_append(&b, "pl\x02", 3);
	memset(name, 0xab, 20);
	memset(name + 20, 0, 44);
	bytebuf_append(&b, name, 64);
	put32(&b, 0x02);
	put32(&b, 0x00800001);
	put32(&b, 0x17);
	put32(&b, 0);
	bytebuf_append(&b, "\0\0\0\0\0\0\0\0\xff\x64", 10);
	put32(&b, 15);
	bytebuf_append(&b, "imwire gen_gg 1", 15);
	put32(&b, 0);
	send_pkt(&t, C2S, 0x31, &b, NULL);
	bytebuf_clear(&b);
	put32(&b, 0);
	send_pkt(&t, S2C, 0x35, &b, NULL);
	/* "Cześć Bob, co słychać?" */
	msg80(&b, false, BOB, 100, "<span>Cze\xC5\x9B\xC4\x87 Bob, co s\xC5\x82ycha\xC4\x87?</span>",
	      "Cze\x9C\xE6 Bob, co s\xB3ycha\xE6?", NULL, 0);
	send_pkt(&t, C2S, 0x2d, &b, NULL);
	bytebuf_clear(&b);
	bytebuf_append(&b, "\x03\x00", 2);
	put32(&b, BOB);
	send_pkt(&t, S2C, 0x59, &b, NULL);
	/* "Wszystko dobrze, dzięki!" split over three segments. */
	msg80(&b, true, BOB, 200, "<span>Wszystko dobrze, dzi\xC4\x99ki!</span>",
	      "Wszystko dobrze, dzi\xEAki!", NULL, 0);
	send_pkt(&t, S2C, 0x2e, &b, &split);
	/* A conference with Bob and Carol: libgadu sends two copies. */
	msg80(&b, false, BOB, 101, "<span>hello both</span>", "hello both", &to_carol, 1);
	send_pkt(&t, C2S, 0x2d, &b, NULL);
	msg80(&b, false, CAROL, 101, "<span>hello both</span>", "hello both", &to_bob, 1);
	send_pkt(&t, C2S, 0x2d, &b, NULL);
	/* Carol answers the conference with an old GG_RECV_MSG. */
	bytebuf_clear(&b);
	put32(&b, CAROL);
	put32(&b, 300);
	put32(&b, 1051790401u);
	put32(&b, 0x08);
	bytebuf_append(&b, "hi from carol", 14);
	bytebuf_append_byte(&b, 0x01);
	put32(&b, 2);
	put32(&b, others[0] == CAROL ? BOB : others[0]);
	put32(&b, others[1]);
	send_pkt(&t, S2C, 0x0a, &b, NULL);
	/* Garbage, then a DCC7 file offer to Bob. */
	if (pcapgen_tcp_send(&t, C2S, "\xff\xee\xdd\xcc\xbb\xaa\x99\x88garbage", 15, NULL) < 0)
		failures++;
	bytebuf_clear(&b);
	bytebuf_append(&b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	put32(&b, ME);
	put32(&b, BOB);
	put32(&b, 4);
	memset(name, 0, sizeof(name));
	memcpy(name, "wakacje.jpg", 11);
	bytebuf_append(&b, name, sizeof(name));
	put32(&b, 734003);
	put32(&b, 0);
	bytebuf_append(&b, "0123456789abcdefghij", 20);
	send_pkt(&t, C2S, 0x20, &b, NULL);
	bytebuf_clear(&b);
	bytebuf_append(&b, "\x00\x00", 2);
	put32(&b, BOB);
	send_pkt(&t, C2S, 0x59, &b, NULL);
	bytebuf_free(&b);
	if (pcapgen_tcp_close(&t, C2S) < 0 || pcapgen_close(g) < 0)
		failures++;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_gg DIR\n");
		return 2;
	}
	write_session(argv[1]);
	if (failures) {
		fprintf(stderr, "gen_gg: %d write(s) failed\n", failures);
		return 1;
	}
	return 0;
}
