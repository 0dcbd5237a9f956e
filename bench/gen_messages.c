/* gen_messages: a message-heavy capture for the message-rate benchmarks
 * (issue 23): FLOWS connections, a third each IRC (6667), XMPP c2s (5222)
 * and MSN switchboard (1863), each logged in, then MESSAGES chat messages
 * spread round-robin over the flows, both directions, one PDU a segment,
 * texts of 20 to 200 bytes with some UTF-8 (one in eight), then every
 * connection closed. Deterministic: the same arguments give the same
 * bytes. Data segments carry the acknowledgements; no pure ACKs.
 *
 * Usage: gen_messages OUT.pcap FLOWS MESSAGES */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT
#define MSN_HEAD "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n" \
		 "X-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n"

enum proto { IRC, XMPP, MSN };

static int failures;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33);
}

static void check(int rc)
{
	if (rc < 0)
		failures++;
}

static void say(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *s, size_t n)
{
	check(pcapgen_tcp_send(t, dir, s, n, NULL));
}

static void says(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *s)
{
	say(t, dir, s, strlen(s));
}

/* A text of 20..200 bytes: words, sometimes UTF-8, no markup characters. */
static size_t make_text(char *out, unsigned k)
{
	static const char *const words[] = { "hello", "are", "you", "there", "the", "meeting",
					     "moved", "to", "three", "ok", "see", "you",
					     "later", "thanks", "lunch", "tomorrow" };
	static const char *const utf8[] = { "Gr\xc3\xbc\xc3\x9f" "e", "caf\xc3\xa9",
					    "\xe6\x97\xa5\xe6\x9c\xac", "na\xc3\xafve",
					    "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" };
	size_t want = 20 + rnd() % 181, n = 0;
	bool accented = rnd() % 8 == 0;

	n += (size_t)sprintf(out, "m%u", k);
	while (n < want) {
		const char *w = accented && rnd() % 4 == 0 ? utf8[rnd() % 5] : words[rnd() % 16];
		size_t wl = strlen(w);

		if (n + 1 + wl > 200)
			break;
		out[n++] = ' ';
		memcpy(out + n, w, wl);
		n += wl;
	}
	out[n] = '\0';
	return n;
}

static void open_flow(struct pcapgen_tcp *t, struct pcapgen *g, unsigned i, enum proto p)
{
	static const uint16_t ports[] = { 6667, 5222, 1863 };
	struct pcapgen_tcp_opts o = { .no_auto_ack = true };
	char cip[32], sip[32], buf[512];

	snprintf(cip, sizeof(cip), "10.%u.%u.%u", 1 + (i >> 16), (i >> 8) & 255, i & 255);
	snprintf(sip, sizeof(sip), "198.51.100.%u", 10 + (unsigned)p);
	check(pcapgen_tcp_open(t, g, cip, (uint16_t)(20000 + i % 40000), sip, ports[p], &o));
	check(pcapgen_tcp_handshake(t));
	switch (p) {
	case IRC:
		snprintf(buf, sizeof(buf), "NICK user%u\r\nUSER u%u 0 * :User %u\r\n", i, i, i);
		says(t, C2S, buf);
		snprintf(buf, sizeof(buf), ":irc.example.org 001 user%u :Welcome to IRC user%u\r\n", i, i);
		says(t, S2C, buf);
		break;
	case XMPP:
		says(t, C2S, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
			     "xmlns:stream='http://etherx.jabber.org/streams' to='example.org' "
			     "version='1.0'>");
		says(t, S2C, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
			     "xmlns:stream='http://etherx.jabber.org/streams' id='c2s' "
			     "from='example.org' version='1.0'><stream:features><bind "
			     "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
		snprintf(buf, sizeof(buf),
			 "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
			 "<resource>r%u</resource></bind></iq>", i);
		says(t, C2S, buf);
		snprintf(buf, sizeof(buf),
			 "<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
			 "<jid>user%u@example.org/r%u</jid></bind></iq>", i, i);
		says(t, S2C, buf);
		break;
	case MSN:
		snprintf(buf, sizeof(buf), "USR 1 user%u@example.com 849102291.520491113\r\n", i);
		says(t, C2S, buf);
		snprintf(buf, sizeof(buf), "USR 1 OK user%u@example.com User%%20%u\r\n", i, i);
		says(t, S2C, buf);
		says(t, C2S, "CAL 2 bob@example.com\r\n");
		says(t, S2C, "CAL 2 RINGING 11752013\r\nJOI bob@example.com Bob 1342177280\r\n");
		break;
	}
}

static void message(struct pcapgen_tcp *t, unsigned i, enum proto p, enum pcapgen_dir dir,
		    unsigned k, unsigned *trid)
{
	char text[256], buf[1024];
	size_t tl = make_text(text, k), n = 0;

	switch (p) {
	case IRC:
		n = dir == C2S ? (size_t)snprintf(buf, sizeof(buf), "PRIVMSG bob :%s\r\n", text)
			       : (size_t)snprintf(buf, sizeof(buf), ":bob!b@host PRIVMSG user%u :%s\r\n",
						  i, text);
		break;
	case XMPP:
		n = dir == C2S ? (size_t)snprintf(buf, sizeof(buf),
						  "<message to='bob@example.org' type='chat' id='m%u'>"
						  "<body>%s</body></message>", k, text)
			       : (size_t)snprintf(buf, sizeof(buf),
						  "<message from='bob@example.org/phone' "
						  "to='user%u@example.org/r%u' type='chat'><body>%s</body>"
						  "</message>", i, i, text);
		break;
	case MSN:
		n = dir == C2S ? (size_t)snprintf(buf, sizeof(buf), "MSG %u N %zu\r\n%s%s", ++*trid,
						  sizeof(MSN_HEAD) - 1 + tl, MSN_HEAD, text)
			       : (size_t)snprintf(buf, sizeof(buf), "MSG bob@example.com Bob %zu\r\n%s%s",
						  sizeof(MSN_HEAD) - 1 + tl, MSN_HEAD, text);
		break;
	}
	say(t, dir, buf, n);
}

int main(int argc, char **argv)
{
	struct pcapgen *g;
	struct pcapgen_tcp *flows;
	unsigned *trid, n_flows, n_msgs, i, k;

	if (argc != 4 || (n_flows = (unsigned)strtoul(argv[2], NULL, 10)) == 0 ||
	    (n_msgs = (unsigned)strtoul(argv[3], NULL, 10)) == 0) {
		fprintf(stderr, "usage: gen_messages OUT.pcap FLOWS MESSAGES\n");
		return 2;
	}
	g = pcapgen_open(argv[1], PCAPGEN_LINK_ETHERNET);
	flows = calloc(n_flows, sizeof(*flows));
	trid = calloc(n_flows, sizeof(*trid));
	if (!g || !flows || !trid) {
		fprintf(stderr, "gen_messages: cannot start\n");
		return 1;
	}
	pcapgen_set_clock(g, 1700000000, 100);
	for (i = 0; i < n_flows; i++)
		open_flow(&flows[i], g, i, (enum proto)(i % 3));
	for (k = 0; k < n_msgs; k++) {
		i = k % n_flows;
		message(&flows[i], i, (enum proto)(i % 3), (k / n_flows) % 2 ? S2C : C2S, k, &trid[i]);
	}
	for (i = 0; i < n_flows; i++)
		check(pcapgen_tcp_close(&flows[i], C2S));
	free(flows);
	free(trid);
	if (pcapgen_close(g) < 0 || failures) {
		fprintf(stderr, "gen_messages: %d writes failed\n", failures);
		return 1;
	}
	return 0;
}
