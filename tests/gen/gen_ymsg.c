/* Writes the YMSG test captures into the directory given as argv[1].
 * No public YMSG capture exists, so these follow the protocol as the
 * Wireshark dissector and the libyahoo2/libpurple documentation describe
 * it: a 20-byte header ("YMSG", version 16, vendor 0, payload length,
 * service, status, session id), then "key" C0 80 "value" C0 80 pairs.
 *   ymsg_session.pcap    login (0x57, 0x54, 0x01), messages both ways,
 *                        three offline messages in one packet, typing,
 *                        webcam invitation and request (0x4B, 0x50), file
 *                        transfers (0x46, 0x4D, 0xDC/0xDD/0xDE),
 *                        conferences (0x18-0x1F), chat rooms (0x96-0xA8),
 *                        logoff; one packet split over three segments and
 *                        three packets in one segment
 *   ymsg_malformed.pcap  on port 443: a length too long, a length too
 *                        short, a key that is not a number and junk, each
 *                        followed by a good message
 *   ymsg_midstream.pcap  no handshake, the capture starting inside a
 *                        packet
 * Everything is deterministic: running it twice gives identical files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "pcapgen.h"
#include "util/bytebuf.h"

#define CLIENT_IP "192.0.2.20"
#define SERVER_IP "198.51.100.50"
#define YMSG_PORT 5050
#define SESSION_ID 0x3c2d1e0fu

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT
#define END -1

/* Status values as clients and servers send them. */
#define ST_AVAILABLE 0u
#define ST_SERVER 1u
#define ST_OFFLINE_MSGS 5u
#define ST_TYPING 0x16u
#define ST_CLIENT_MSG 0x5a55aa56u

static int failures;

static void check(int rc)
{
	if (rc < 0)
		failures++;
}

static void oom(void)
{
	fprintf(stderr, "gen_ymsg: out of memory\n");
	exit(1);
}

/* A packet; len_override (when >= 0) replaces the true payload length. */
static void vpacket(struct bytebuf *b, long len_override, unsigned service, uint32_t status,
		    va_list ap)
{
	struct bytebuf body;
	uint8_t h[20];
	int key;

	bytebuf_init(&body);
	while ((key = va_arg(ap, int)) >= 0) {
		const char *v = va_arg(ap, const char *);

		if (!bytebuf_printf(&body, "%d", key) || !bytebuf_append(&body, "\xC0\x80", 2) ||
		    !bytebuf_append_str(&body, v) || !bytebuf_append(&body, "\xC0\x80", 2))
			oom();
	}
	memcpy(h, "YMSG", 4);
	imw_store_be16(h + 4, 16);
	imw_store_be16(h + 6, 0);
	imw_store_be16(h + 8, (uint16_t)(len_override >= 0 ? (size_t)len_override : body.len));
	imw_store_be16(h + 10, (uint16_t)service);
	imw_store_be32(h + 12, status);
	imw_store_be32(h + 16, SESSION_ID);
	if (!bytebuf_append(b, h, sizeof(h)) || !bytebuf_append(b, body.data, body.len))
		oom();
	bytebuf_free(&body);
}

static void packet(struct bytebuf *b, unsigned service, uint32_t status, ...)
{
	va_list ap;

	va_start(ap, status);
	vpacket(b, -1, service, status, ap);
	va_end(ap);
}

static void packet_len(struct bytebuf *b, long len, unsigned service, uint32_t status, ...)
{
	va_list ap;

	va_start(ap, status);
	vpacket(b, len, service, status, ap);
	va_end(ap);
}

/* One packet in its own segment. */
static void send_packet(struct pcapgen_tcp *t, enum pcapgen_dir dir, unsigned service,
			uint32_t status, ...)
{
	struct bytebuf b;
	va_list ap;

	bytebuf_init(&b);
	va_start(ap, status);
	vpacket(&b, -1, service, status, ap);
	va_end(ap);
	check(pcapgen_tcp_send(t, dir, b.data, b.len, NULL));
	bytebuf_free(&b);
}

static void send_buf(struct pcapgen_tcp *t, enum pcapgen_dir dir, struct bytebuf *b,
		     const struct pcapgen_send *how)
{
	check(pcapgen_tcp_send(t, dir, b->data, b->len, how));
	bytebuf_clear(b);
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

static void login(struct pcapgen_tcp *t)
{
	send_packet(t, C2S, 0x57, ST_AVAILABLE, 1, "alice_y", END);
	send_packet(t, S2C, 0x57, ST_SERVER, 1, "alice_y", 94, "x8Fj(2%a^b+c)", 13, "2", END);
	send_packet(t, C2S, 0x54, ST_AVAILABLE, 6, "QAQxdXBk1EW9Mg4Gc3lxWg--", 96,
		    "mwfvjFzG2HZ5pxfKVtYqXw--", 0, "alice_y", 2, "alice_y", 2, "1", 1, "alice_y",
		    244, "2097087", 135, "9.0.0.2162", 148, "-60", END);
	send_packet(t, S2C, 0x01, ST_AVAILABLE, 0, "alice_y", 1, "alice_y", 8, "2", 7, "bob_y", 10,
		    "0", 11, "7E2B1A04", 17, "0", 13, "1", 7, "carol_y", 10, "2", 19, "at lunch",
		    47, "1", 11, "1F00AA11", 17, "0", 13, "1", END);
}

static void messages(struct pcapgen *g, struct pcapgen_tcp *t)
{
	struct bytebuf b;
	static const size_t thirds[] = { 15, 14 };

	bytebuf_init(&b);
	/* Three offline messages at login, one packet. */
	packet(&b, 0x06, ST_OFFLINE_MSGS, 31, "6", 32, "6", 4, "carol_y", 5, "alice_y", 15,
	       "1051700000", 14, "did you get my mail?", 97, "1", 31, "6", 32, "6", 4, "dave_y", 5,
	       "alice_y", 15, "1051700600", 14, "ping me when you are back", 97, "1", 31, "6", 32,
	       "6", 4, "carol_y", 5, "alice_y", 15, "1051701200", 14, "never mind, found it", 97,
	       "1", END);
	send_buf(t, S2C, &b, NULL);

	send_packet(t, C2S, 0x4b, ST_TYPING, 49, "TYPING", 1, "alice_y", 14, " ", 13, "1", 5, "bob_y",
		    END);
	pcapgen_advance(g, 2 * 1000000u);
	send_packet(t, C2S, 0x06, ST_CLIENT_MSG, 1, "alice_y", 5, "bob_y", 14,
		    "Hi Bob, lunch at noon?", 97, "1", 63, ";0", 64, "0", 206, "0", END);
	/* Bob's typing, his answer split over three segments, then "stopped". */
	send_packet(t, S2C, 0x4b, ST_TYPING, 5, "alice_y", 4, "bob_y", 14, " ", 13, "1", 49, "TYPING",
		    END);
	packet(&b, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14,
	       "Sure! Caf\xc3\xa9 downstairs \xe2\x98\x95", 97, "1", 63, ";0", 64, "0", END);
	{
		struct pcapgen_send how = { .split = thirds, .n_split = 2 };

		send_buf(t, S2C, &b, &how);
	}
	/* Three packets in one segment: a stop, a Latin-1 message, a GAME notify. */
	packet(&b, 0x4b, ST_TYPING, 5, "alice_y", 4, "bob_y", 14, " ", 13, "0", 49, "TYPING", END);
	packet(&b, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "na\xefve question: why?", END);
	packet(&b, 0x4b, ST_TYPING, 5, "alice_y", 4, "bob_y", 49, "GAME", 14, "1", 13, "1", END);
	send_buf(t, S2C, &b, NULL);
	bytebuf_free(&b);
}

static void webcam_and_files(struct pcapgen_tcp *t)
{
	send_packet(t, S2C, 0x4b, ST_TYPING, 5, "alice_y", 4, "bob_y", 49, "WEBCAMINVITE", 14, " ", 13,
		    "0", END);
	send_packet(t, C2S, 0x4b, ST_TYPING, 49, "WEBCAMINVITE", 14, "1", 13, "0", 1, "alice_y", 5,
		    "bob_y", END);
	send_packet(t, C2S, 0x50, ST_AVAILABLE, 1, "alice_y", 5, "bob_y", END);
	send_packet(t, S2C, 0x50, ST_SERVER, 5, "bob_y", 61, "4a6b9c1d", 102, "webcam.yahoo.com", END);

	/* Through the file server (0x46), peer to peer (0x4D), YMSG 15 (0xDC..0xDE). */
	send_packet(t, S2C, 0x46, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "the minutes", 20,
		    "http://fs.msg.yahoo.com/users/bob_y/minutes.doc?tok=8f2e", 38, "1052395200",
		    27, "minutes.doc", 28, "48640", END);
	send_packet(t, C2S, 0x4d, ST_AVAILABLE, 5, "bob_y", 4, "alice_y", 49, "FILEXFER", 1,
		    "alice_y", 13, "1", 27, "IMG_0042.JPG", 28, "1843200", 20,
		    "http://192.0.2.20:4443/IMG_0042.JPG", END);
	send_packet(t, S2C, 0xdc, ST_SERVER, 5, "alice_y", 4, "bob_y", 265, "xB4CoM2fdQzE1Q--", 222,
		    "1", 266, "1", 302, "268", 300, "268", 27, "budget.xls", 28, "23552", 301, "268",
		    300, "268", 27, "r\xc3\xa9sum\xc3\xa9.pdf", 28, "104857", 301, "268", 303, "268",
		    END);
	send_packet(t, C2S, 0xdc, ST_AVAILABLE, 1, "alice_y", 5, "bob_y", 265, "xB4CoM2fdQzE1Q--", 222,
		    "3", END);
	send_packet(t, S2C, 0xdd, ST_SERVER, 5, "alice_y", 4, "bob_y", 265, "xB4CoM2fdQzE1Q--", 27,
		    "budget.xls", 249, "3", 250, "relay.msg.yahoo.com", END);
	send_packet(t, C2S, 0xde, ST_AVAILABLE, 1, "alice_y", 5, "bob_y", 265, "xB4CoM2fdQzE1Q--", 27,
		    "budget.xls", 249, "3", 251, "cmVsYXl0b2tlbg--", END);
}

static void conference(struct pcapgen_tcp *t)
{
	send_packet(t, S2C, 0x18, ST_SERVER, 1, "alice_y", 57, "bob_y-2817", 50, "bob_y", 58,
		    "Project sync", 52, "alice_y", 52, "carol_y", 13, "0", END);
	send_packet(t, C2S, 0x19, ST_AVAILABLE, 1, "alice_y", 3, "alice_y", 57, "bob_y-2817", 3,
		    "bob_y", 3, "carol_y", END);
	send_packet(t, S2C, 0x19, ST_SERVER, 1, "alice_y", 57, "bob_y-2817", 53, "carol_y", END);
	send_packet(t, S2C, 0x1d, ST_SERVER, 1, "alice_y", 3, "bob_y", 57, "bob_y-2817", 14,
		    "agenda: budget", 97, "1", END);
	send_packet(t, C2S, 0x1d, ST_AVAILABLE, 1, "alice_y", 53, "bob_y", 53, "carol_y", 57,
		    "bob_y-2817", 14, "numbers are in the xls", 97, "1", END);
	send_packet(t, C2S, 0x1c, ST_AVAILABLE, 1, "alice_y", 51, "dave_y", 57, "bob_y-2817", 58,
		    "join us dave", 52, "dave_y", 53, "bob_y", 53, "carol_y", 13, "0", END);
	send_packet(t, S2C, 0x1a, ST_SERVER, 1, "alice_y", 57, "bob_y-2817", 54, "dave_y", 14,
		    "in a meeting", END);
	send_packet(t, S2C, 0x1b, ST_SERVER, 1, "alice_y", 57, "bob_y-2817", 56, "carol_y", END);
	send_packet(t, C2S, 0x1b, ST_AVAILABLE, 1, "alice_y", 3, "bob_y", 57, "bob_y-2817", END);
}

static void chat_room(struct pcapgen_tcp *t)
{
	static const char room[] = "Linux, FreeBSD, Solaris:1";

	send_packet(t, C2S, 0x1e, ST_AVAILABLE, 1, "alice_y", 109, "alice_y", 6, "abcde", END);
	send_packet(t, C2S, 0x96, ST_AVAILABLE, 1, "alice_y", 109, "alice_y", 6, "abcde", END);
	send_packet(t, S2C, 0x96, ST_SERVER, 1, "alice_y", 109, "alice_y", END);
	send_packet(t, C2S, 0x98, ST_AVAILABLE, 1, "alice_y", 104, room, 129, "1600326591", 62, "2",
		    END);
	send_packet(t, S2C, 0x98, ST_SERVER, 1, "alice_y", 104, room, 105, "Welcome to Linux", 108,
		    "3", 109, "alice_y", 110, "0", 113, "0", 109, "frank_y", 110, "31", 113, "1024",
		    109, "gina_y", 110, "0", 113, "0", 130, "5a2b", END);
	send_packet(t, S2C, 0xa8, ST_SERVER, 1, "alice_y", 104, room, 109, "frank_y", 117,
		    "anyone tried the 2.6 kernel?", 124, "1", END);
	send_packet(t, C2S, 0xa8, ST_AVAILABLE, 1, "alice_y", 104, room, 117, "yes, runs fine", 124,
		    "1", 97, "1", END);
	send_packet(t, S2C, 0x98, ST_SERVER, 1, "alice_y", 104, room, 108, "1", 109, "hank_y", 110,
		    "0", 113, "0", END);
	send_packet(t, C2S, 0x9d, ST_AVAILABLE, 1, "alice_y", 118, "bob_y", 104, room, 117,
		    "come see", 129, "1600326591", END);
	send_packet(t, S2C, 0x9d, ST_SERVER, 1, "alice_y", 119, "frank_y", 104, "Kernel:2", 117,
		    "better room here", 129, "1600326592", END);
	send_packet(t, S2C, 0x99, ST_SERVER, 1, "alice_y", 104, room, 109, "gina_y", END);
	send_packet(t, C2S, 0xa1, ST_AVAILABLE, 109, "alice_y", END);
	send_packet(t, C2S, 0x97, ST_AVAILABLE, 109, "frank_y", 1, "alice_y", 62, "2", END);
	send_packet(t, C2S, 0x9b, ST_AVAILABLE, 104, room, 109, "alice_y", 108, "1", 112, "0", END);
	send_packet(t, C2S, 0xa0, ST_AVAILABLE, 1, "alice_y", 1005, "1", END);
	send_packet(t, C2S, 0x1f, ST_AVAILABLE, 1, "alice_y", END);
}

static void gen_session(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "ymsg_session.pcap");
	struct pcapgen_tcp t;

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40510, SERVER_IP, YMSG_PORT, NULL));
	check(pcapgen_tcp_handshake(&t));
	login(&t);
	messages(g, &t);
	webcam_and_files(&t);
	conference(&t);
	chat_room(&t);
	send_packet(&t, C2S, 0x02, ST_AVAILABLE, 0, "alice_y", END);
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
}

static void gen_malformed(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "ymsg_malformed.pcap");
	struct pcapgen_tcp t;
	struct bytebuf b;

	bytebuf_init(&b);
	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40511, SERVER_IP, 443, NULL));
	check(pcapgen_tcp_handshake(&t));
	send_packet(&t, C2S, 0x57, ST_AVAILABLE, 1, "alice_y", END);
	/* Claims 400 bytes: the next packet's header sits where a key should. */
	packet_len(&b, 400, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "length too long", END);
	packet(&b, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "good after a long length", END);
	send_buf(&t, S2C, &b, NULL);
	/* Claims 25 bytes: the payload would end inside a value. */
	packet_len(&b, 25, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "length too short", END);
	packet(&b, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "good after a short length", END);
	send_buf(&t, S2C, &b, NULL);
	/* A key that is not a number. */
	packet(&b, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "x", END);
	b.data[20] = 'k';
	packet(&b, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "good after a bad key", END);
	send_buf(&t, S2C, &b, NULL);
	/* Junk, then an outgoing message. */
	bytebuf_append(&b, "\x16\x03\x01\x00\x05junkYMS", 12);
	packet(&b, 0x06, ST_CLIENT_MSG, 1, "alice_y", 5, "bob_y", 14, "good after junk", 97, "1", END);
	send_buf(&t, C2S, &b, NULL);
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
	bytebuf_free(&b);
}

static void gen_midstream(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "ymsg_midstream.pcap");
	struct pcapgen_tcp t;
	struct bytebuf b;

	bytebuf_init(&b);
	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40512, SERVER_IP, YMSG_PORT, NULL));
	/* The tail of a packet whose start was not captured. */
	packet(&b, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "lost start", END);
	bytebuf_consume(&b, 27);
	packet(&b, 0x06, ST_SERVER, 5, "alice_y", 4, "bob_y", 14, "first whole packet", 97, "1", END);
	send_buf(&t, S2C, &b, NULL);
	send_packet(&t, C2S, 0x06, ST_CLIENT_MSG, 1, "alice_y", 5, "bob_y", 14, "picked up", 97, "1",
		    END);
	check(pcapgen_close(g));
	bytebuf_free(&b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	gen_session(argv[1]);
	gen_malformed(argv[1]);
	gen_midstream(argv[1]);
	if (failures) {
		fprintf(stderr, "gen_ymsg: %d step(s) failed\n", failures);
		return 1;
	}
	return 0;
}
