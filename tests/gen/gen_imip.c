/* Writes the IMIP test captures into the directory given as argv[1]:
 *   imip_login.pcap   the session of the protocol text: HELO with the salt
 *                     1919833824, LOGN with its MD5, buddy list, presence,
 *                     PING, messages both ways, every LIST operation, DISC
 *   imip_split.pcap   MESG blocks cut into three segments, sequence numbers
 *                     wrapping past 2^32 in the middle of one
 *   imip_reorder.pcap a three-segment MESG with segments swapped and one
 *                     duplicated, on an 802.1Q-tagged link
 *   imip_errors.pcap  ACK 810 (wrong password), 811 (illegal user id, for a
 *                     login and for a message), 800 and 801 (bad STAT)
 *   imip_resync.pcap  blocks with a bad size line mid-session, each followed
 *                     by good blocks
 *   imip_ipv6.pcap    IPv6 on port 8119, raw-IP link type, picked up without
 *                     a handshake
 * Everything is deterministic: running it twice gives identical files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"
#include "util/bytebuf.h"

#define CLIENT_IP "192.0.2.10"
#define SERVER_IP "198.51.100.5"
#define IMIP_PORT 11319

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT

/* The HELO of the Odigo server as the text lists it; the body is the salt. */
#define SERVER_HELO                                                                 \
	"Auth-Type: imip-md5\r\nCapabilities: server-lists\r\nID: 1\r\nKeep-Alive: 60\r\n" \
	"Protocol: IMIP/1.0\r\nRegistration\r\nService:\r\nServiceDisplayName: Odigo\r\n"   \
	"\r\n1919833824"
/* printf "1919833824password" | md5sum */
#define LOGIN_HASH "c35900c24a82592dd2d0db27c647ff17"

static int failures;

/* A block with its size line counted from the contents. */
static void put_block(struct bytebuf *b, const char *type, const char *contents)
{
	if (!bytebuf_printf(b, "%s\r\n%zu\r\n%s", type, strlen(contents), contents)) {
		fprintf(stderr, "gen_imip: out of memory\n");
		exit(1);
	}
}

static void check(int rc)
{
	if (rc < 0)
		failures++;
}

/* One block in its own segment (or in several, when split says so). */
static void send_block(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *type,
		       const char *contents, const struct pcapgen_send *how)
{
	struct bytebuf b;

	bytebuf_init(&b);
	put_block(&b, type, contents);
	check(pcapgen_tcp_send(t, dir, b.data, b.len, how));
	bytebuf_free(&b);
}

static struct pcapgen *open_capture(const char *dir, const char *name, enum pcapgen_link link)
{
	struct pcapgen *g;
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		fprintf(stderr, "gen_imip: out of memory\n");
		exit(1);
	}
	g = pcapgen_open(path, link);
	free(path);
	if (!g)
		exit(1);
	return g;
}

static void finish_capture(struct pcapgen *g)
{
	check(pcapgen_close(g));
}

static void login(struct pcapgen_tcp *t)
{
	send_block(t, C2S, "HELO", "ID: 1001\r\nProtocol: IMIP/1.0\r\n\r\n", NULL);
	send_block(t, S2C, "HELO", SERVER_HELO, NULL);
	send_block(t, C2S, "LOGN 1234567",
		   "ID: 1002\r\nClient: Yahoo! IMIP Client\r\nAuth-Type: imip-md5\r\n\r\n" LOGIN_HASH,
		   NULL);
	send_block(t, S2C, "LOGN 1234567",
		   "ID: 2\r\nReference: 1002\r\nBuddy: 2345678 \"alice\",3456789 \"bob\"\r\n", NULL);
}

static void gen_login(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "imip_login.pcap", PCAPGEN_LINK_ETHERNET);
	struct pcapgen_tcp t;

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40001, SERVER_IP, IMIP_PORT, NULL));
	check(pcapgen_tcp_handshake(&t));
	login(&t);
	send_block(&t, C2S, "STAT ONLINE", "ID: 1003\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 3\r\nReference: 1003\r\n", NULL);
	send_block(&t, S2C, "STAT ONLINE", "ID: 4\r\nFrom: 2345678\r\n", NULL);
	send_block(&t, S2C, "STAT AWAY", "ID: 5\r\nFrom: 3456789\r\n\r\nout for lunch", NULL);

	pcapgen_advance(g, 60 * 1000000u); /* Keep-Alive: 60 */
	send_block(&t, C2S, "PING", "ID: 1004\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 6\r\nReference: 1004\r\n", NULL);

	send_block(&t, C2S, "MESG",
		   "ID: 1005\r\nTo: 2345678\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		   "Hi Alice, are you there?",
		   NULL);
	pcapgen_advance(g, 5 * 1000000u);
	send_block(&t, S2C, "MESG",
		   "Content-Type: text/plain;charset=utf-8\r\nFrom: 2345678 \"alice\"\r\nID: 7\r\n"
		   "Timo: 2003-05-01T12:01:05Z\r\nTo: 1234567\r\n\r\n"
		   "Yes! Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
		   NULL);

	send_block(&t, C2S, "LIST ADD 4567890",
		   "ID: 1006\r\nList: Buddy\r\nFrom: 1234567\r\n\r\nPlease add me to your list",
		   NULL);
	send_block(&t, S2C, "ACK 600", "ID: 8\r\nReference: 1006\r\n", NULL);
	send_block(&t, S2C, "LIST ADD",
		   "From: 5678901 \"carol\"\r\nID: 9\r\nList: Buddy\r\n\r\nHi, this is Carol", NULL);
	send_block(&t, C2S, "LIST ACCEPT 5678901 \"carol\"", "ID: 1007\r\nFrom: 1234567\r\n\r\n",
		   NULL);
	send_block(&t, S2C, "ACK 600", "ID: 10\r\nReference: 1007\r\n", NULL);
	send_block(&t, S2C, "STAT ONLINE", "ID: 11\r\nFrom: 4567890\r\n", NULL);
	send_block(&t, C2S, "LIST REMOVE 3456789",
		   "ID: 1008\r\nList: Buddy\r\nFrom: 1234567\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 12\r\nReference: 1008\r\n", NULL);
	send_block(&t, S2C, "LIST ADD", "From: 6789012 \"dave\"\r\nID: 13\r\nList: Buddy\r\n", NULL);
	send_block(&t, C2S, "LIST REJECT 6789012", "ID: 1009\r\nFrom: 1234567\r\n\r\n", NULL);
	send_block(&t, C2S, "MESG",
		   "ID: 1010\r\nTo: 5678901\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		   "Welcome, Carol!",
		   NULL);

	send_block(&t, C2S, "DISC", "ID: 1011\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 14\r\nReference: 1011\r\n", NULL);
	check(pcapgen_tcp_close(&t, C2S));
	finish_capture(g);
}

static void gen_split(const char *dir)
{
	static const size_t thirds[] = { 25, 40 };
	static const size_t at_body[] = { 60, 3 };
	const struct pcapgen_send split3 = { .split = thirds, .n_split = 2 };
	const struct pcapgen_send split_body = { .split = at_body, .n_split = 2 };
	/* The server's sequence numbers wrap inside the first split message. */
	const struct pcapgen_tcp_opts opts = { .client_isn = 0x00c0ffee, .server_isn = 0xfffffed7u };
	struct pcapgen *g = open_capture(dir, "imip_split.pcap", PCAPGEN_LINK_ETHERNET);
	struct pcapgen_tcp t;

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40002, SERVER_IP, IMIP_PORT, &opts));
	check(pcapgen_tcp_handshake(&t));
	login(&t);
	send_block(&t, S2C, "MESG",
		   "Content-Type: text/plain;charset=utf-8\r\nFrom: 2345678 \"alice\"\r\nID: 3\r\n"
		   "Timo: 2003-05-01T12:00:10Z\r\nTo: 1234567\r\n\r\n"
		   "This message arrives in three TCP segments.",
		   &split3);
	send_block(&t, C2S, "MESG",
		   "ID: 1003\r\nTo: 2345678\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		   "So does this reply, cut inside its body.",
		   &split_body);
	send_block(&t, C2S, "DISC", "ID: 1004\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 4\r\nReference: 1004\r\n", NULL);
	check(pcapgen_tcp_close(&t, C2S));
	finish_capture(g);
}

static void gen_reorder(const char *dir)
{
	static const size_t thirds[] = { 30, 30 };
	/* Segment 1 arrives before segment 0; segment 2 arrives twice. */
	const struct pcapgen_send shuffled = {
		.split = thirds, .n_split = 2, .swap_mask = 1u << 0, .dup_mask = 1u << 2,
	};
	const struct pcapgen_tcp_opts opts = { .vlan = true, .vlan_id = 42 };
	struct pcapgen *g = open_capture(dir, "imip_reorder.pcap", PCAPGEN_LINK_ETHERNET);
	struct pcapgen_tcp t;

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40003, SERVER_IP, IMIP_PORT, &opts));
	check(pcapgen_tcp_handshake(&t));
	login(&t);
	send_block(&t, S2C, "MESG",
		   "Content-Type: text/plain;charset=utf-8\r\nFrom: 3456789 \"bob\"\r\nID: 3\r\n"
		   "Timo: 2003-05-01T12:00:20Z\r\nTo: 1234567\r\n\r\n"
		   "Segments out of order, one of them twice.",
		   &shuffled);
	send_block(&t, C2S, "MESG",
		   "ID: 1003\r\nTo: 3456789\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		   "Got it, Bob.",
		   &shuffled);
	check(pcapgen_tcp_close(&t, S2C));
	finish_capture(g);
}

static void gen_errors(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "imip_errors.pcap", PCAPGEN_LINK_ETHERNET);
	struct pcapgen_tcp t;

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40004, SERVER_IP, IMIP_PORT, NULL));
	check(pcapgen_tcp_handshake(&t));
	send_block(&t, C2S, "HELO", "ID: 1001\r\nProtocol: IMIP/1.0\r\n\r\n", NULL);
	send_block(&t, S2C, "HELO", SERVER_HELO, NULL);
	/* md5 of "1919833824wrongpass" */
	send_block(&t, C2S, "LOGN 1234567",
		   "ID: 1002\r\nClient: Yahoo! IMIP Client\r\nAuth-Type: imip-md5\r\n\r\n"
		   "e84aec77637e1fbce1aec66a00c055f0",
		   NULL);
	send_block(&t, S2C, "ACK 810", "ID: 2\r\nReference: 1002\r\n", NULL);
	/* The text's other spelling of the login block. */
	send_block(&t, C2S, "LOGIN odigo",
		   "ID: 1003\r\nClient: Yahoo! IMIP Client\r\nAuth-Type: imip-md5\r\n\r\n" LOGIN_HASH,
		   NULL);
	send_block(&t, S2C, "ACK 811", "ID: 3\r\nReference: 1003\r\n", NULL);
	send_block(&t, C2S, "LOGN 1234567",
		   "ID: 1004\r\nClient: Yahoo! IMIP Client\r\nAuth-Type: imip-md5\r\n\r\n" LOGIN_HASH,
		   NULL);
	send_block(&t, S2C, "LOGN 1234567", "ID: 4\r\nReference: 1004\r\n", NULL);
	send_block(&t, C2S, "STAT", "ID: 1005\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 800", "ID: 5\r\nReference: 1005\r\n", NULL);
	send_block(&t, C2S, "STAT SLEEPING", "ID: 1006\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 801", "ID: 6\r\nReference: 1006\r\n", NULL);
	send_block(&t, C2S, "STAT BUSY", "ID: 1007\r\n\r\nin a meeting", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 7\r\nReference: 1007\r\n", NULL);
	send_block(&t, C2S, "MESG",
		   "ID: 1008\r\nTo: alice\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		   "Is this you?",
		   NULL);
	send_block(&t, C2S, "MESG",
		   "ID: 1009\r\nTo: 2345678\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		   "This one arrives.",
		   NULL);
	send_block(&t, S2C, "ACK 811", "ID: 8\r\nReference: 1008\r\n", NULL);
	send_block(&t, C2S, "DISC", "ID: 1010\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 9\r\nReference: 1010\r\n", NULL);
	check(pcapgen_tcp_close(&t, C2S));
	finish_capture(g);
}

static void gen_resync(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "imip_resync.pcap", PCAPGEN_LINK_ETHERNET);
	struct pcapgen_tcp t;
	struct bytebuf b;

	check(pcapgen_tcp_open(&t, g, CLIENT_IP, 40005, SERVER_IP, IMIP_PORT, NULL));
	check(pcapgen_tcp_handshake(&t));
	login(&t);
	send_block(&t, C2S, "MESG",
		   "ID: 1003\r\nTo: 2345678\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		   "before the broken block",
		   NULL);

	/* A size line that is no number; its body runs straight into the next
	 * block without a line break, and both share one segment. */
	bytebuf_init(&b);
	if (!bytebuf_append_str(&b, "MESG\r\nforty-two\r\nID: 1004\r\nTo: 2345678\r\n"
				    "ACK-Type: errors-only\r\nFrom: 1234567\r\n\r\nlost in the noise"))
		exit(1);
	put_block(&b, "MESG",
		  "ID: 1005\r\nTo: 2345678\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		  "after the broken block");
	check(pcapgen_tcp_send(&t, C2S, b.data, b.len, NULL));
	bytebuf_free(&b);
	send_block(&t, C2S, "STAT AWAY", "ID: 1006\r\n\r\n", NULL);

	/* From the server: a size beyond any sane block, then good blocks. */
	bytebuf_init(&b);
	if (!bytebuf_append_str(&b, "MESG\r\n987654321\r\nContent-Type: text/plain;charset=utf-8\r\n"
				    "From: 2345678 \"alice\"\r\nID: 3\r\nTo: 1234567\r\n\r\n"
				    "never decoded\r\n"))
		exit(1);
	check(pcapgen_tcp_send(&t, S2C, b.data, b.len, NULL));
	bytebuf_free(&b);
	send_block(&t, S2C, "ACK 600", "ID: 4\r\nReference: 1006\r\n", NULL);
	send_block(&t, S2C, "MESG",
		   "Content-Type: text/plain;charset=utf-8\r\nFrom: 2345678 \"alice\"\r\nID: 5\r\n"
		   "To: 1234567\r\n\r\nback in sync",
		   NULL);
	send_block(&t, C2S, "DISC", "ID: 1007\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 6\r\nReference: 1007\r\n", NULL);
	check(pcapgen_tcp_close(&t, C2S));
	finish_capture(g);
}

static void gen_ipv6(const char *dir)
{
	struct pcapgen *g = open_capture(dir, "imip_ipv6.pcap", PCAPGEN_LINK_RAW);
	struct pcapgen_tcp t;

	/* No handshake: the capture starts with the session established. */
	check(pcapgen_tcp_open(&t, g, "2001:db8::10", 50123, "2001:db8:1::5", 8119, NULL));
	send_block(&t, C2S, "STAT ONLINE", "ID: 1020\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 30\r\nReference: 1020\r\n", NULL);
	send_block(&t, S2C, "MESG",
		   "Content-Type: text/plain;charset=utf-8\r\nFrom: 2345678 \"alice\"\r\nID: 31\r\n"
		   "Timo: 2003-05-01T12:30:00Z\r\nTo: 1234567\r\n\r\nHello over IPv6",
		   NULL);
	send_block(&t, C2S, "MESG",
		   "ID: 1021\r\nTo: 2345678\r\nACK-Type: errors-only\r\nFrom: 1234567\r\n\r\n"
		   "IPv6 works here too",
		   NULL);
	send_block(&t, C2S, "DISC", "ID: 1022\r\n\r\n", NULL);
	send_block(&t, S2C, "ACK 600", "ID: 32\r\nReference: 1022\r\n", NULL);
	check(pcapgen_tcp_close(&t, C2S));
	finish_capture(g);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	gen_login(argv[1]);
	gen_split(argv[1]);
	gen_reorder(argv[1]);
	gen_errors(argv[1]);
	gen_resync(argv[1]);
	gen_ipv6(argv[1]);
	if (failures) {
		fprintf(stderr, "gen_imip: %d step(s) failed\n", failures);
		return 1;
	}
	return 0;
}
