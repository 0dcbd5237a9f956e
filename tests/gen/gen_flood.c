/* Writes the resource-limit test captures into the directory argv[1]:
 *   flood.pcap     one normal IRC session (login, join, messages both
 *                  ways) with four floods between its lines: SYNs from
 *                  20000 ports, 50 flows of 1-byte segments each after a
 *                  hole, 200 IRC flows whose second line never ends, and
 *                  200 flows whose data all lies after a hole that is
 *                  never filled
 *   flood_irc.pcap the same IRC session alone (the expected decoding)
 * Deterministic: running it twice gives identical files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT

#define SYN_FLOOD 20000
#define TINY_FLOWS 50
#define TINY_SEGMENTS 2000
#define OPEN_PDU_FLOWS 200
#define OPEN_PDU_BYTES 60000
#define HOLE_FLOWS 200
#define HOLE_BYTES 60000

static int failures;

static void check(int rc)
{
	if (rc < 0)
		failures++;
}

static const char *const irc_lines[][2] = {
	{ "NICK alice\r\nUSER alice 0 * :Alice\r\n", ":irc.example 001 alice :Welcome\r\n" },
	{ "JOIN #limits\r\n", ":alice!a@h JOIN #limits\r\n" },
	{ "PRIVMSG bob :before the floods\r\n", ":bob!b@h PRIVMSG alice :hello alice\r\n" },
	{ "PRIVMSG #limits :after the SYN flood\r\n", ":bob!b@h PRIVMSG #limits :seen it\r\n" },
	{ "PRIVMSG bob :after the tiny segments\r\n", ":bob!b@h PRIVMSG alice :still here\r\n" },
	{ "PRIVMSG bob :after the endless lines\r\n", ":bob!b@h PRIVMSG alice :and again\r\n" },
	{ "PRIVMSG bob :after the holes\r\n", ":bob!b@h PRIVMSG alice :bye alice\r\n" },
};

static void irc_step(struct pcapgen_tcp *t, size_t i)
{
	check(pcapgen_tcp_send_str(t, C2S, irc_lines[i][0]));
	check(pcapgen_tcp_send_str(t, S2C, irc_lines[i][1]));
}

static void open_flow(struct pcapgen_tcp *t, struct pcapgen *g, unsigned n, uint16_t port)
{
	char client[32];

	snprintf(client, sizeof(client), "172.16.%u.%u", (n >> 8) & 0xFF, n & 0xFF);
	check(pcapgen_tcp_open(t, g, client, (uint16_t)(20000 + n % 40000), "10.9.0.1", port, NULL));
}

static void syn_flood(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	unsigned i;

	for (i = 0; i < SYN_FLOOD; i++) {
		open_flow(&t, g, i, 6667);
		check(pcapgen_tcp_segment(&t, C2S, -1, PCAPGEN_SYN, NULL, 0));
	}
}

static void tiny_segments(struct pcapgen *g)
{
	struct pcapgen_tcp t;
	unsigned f, i;

	for (f = 0; f < TINY_FLOWS; f++) {
		open_flow(&t, g, 30000 + f, 6667);
		check(pcapgen_tcp_handshake(&t));
		/* every other byte: a hole before each one */
		for (i = 0; i < TINY_SEGMENTS; i++)
			check(pcapgen_tcp_segment(&t, C2S, 1 + 2 * (int64_t)i,
						  PCAPGEN_ACK | PCAPGEN_PSH, "x", 1));
	}
}

static void open_pdus(struct pcapgen *g)
{
	static char line[OPEN_PDU_BYTES];
	struct pcapgen_tcp t;
	unsigned f;

	memcpy(line, "PRIVMSG bob :", 13);
	memset(line + 13, 'a', sizeof(line) - 13);
	for (f = 0; f < OPEN_PDU_FLOWS; f++) {
		open_flow(&t, g, 31000 + f, 6667);
		check(pcapgen_tcp_handshake(&t));
		check(pcapgen_tcp_send_str(&t, C2S, "NICK flooder\r\n"));
		check(pcapgen_tcp_send(&t, C2S, line, sizeof(line), NULL));
	}
}

static void holes(struct pcapgen *g)
{
	static char data[1400];
	struct pcapgen_tcp t;
	unsigned f;
	int64_t off;

	memset(data, 'h', sizeof(data));
	for (f = 0; f < HOLE_FLOWS; f++) {
		open_flow(&t, g, 32000 + f, 6667);
		check(pcapgen_tcp_handshake(&t));
		check(pcapgen_tcp_send_str(&t, C2S, "NICK holey\r\n"));
		/* the first 1400 bytes never come */
		for (off = (int64_t)sizeof(data); off < HOLE_BYTES; off += (int64_t)sizeof(data))
			check(pcapgen_tcp_segment(&t, C2S, off, PCAPGEN_ACK | PCAPGEN_PSH, data,
						  sizeof(data)));
	}
}

static int write_capture(const char *path, bool floods)
{
	struct pcapgen *g = pcapgen_open(path, PCAPGEN_LINK_ETHERNET);
	struct pcapgen_tcp irc;
	size_t i;

	if (!g)
		return -1;
	check(pcapgen_tcp_open(&irc, g, "10.1.0.1", 40000, "10.1.0.2", 6667, NULL));
	check(pcapgen_tcp_handshake(&irc));
	for (i = 0; i < 3; i++)
		irc_step(&irc, i);
	if (floods)
		syn_flood(g);
	irc_step(&irc, 3);
	if (floods)
		tiny_segments(g);
	irc_step(&irc, 4);
	if (floods)
		open_pdus(g);
	irc_step(&irc, 5);
	if (floods)
		holes(g);
	irc_step(&irc, 6);
	check(pcapgen_tcp_close(&irc, C2S));
	return pcapgen_close(g);
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/flood.pcap", argv[1]);
	if (write_capture(path, true) < 0)
		failures++;
	snprintf(path, sizeof(path), "%s/flood_irc.pcap", argv[1]);
	if (write_capture(path, false) < 0)
		failures++;
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", argv[0], failures);
		return 1;
	}
	return 0;
}
