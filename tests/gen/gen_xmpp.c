/* Writes the XMPP test captures into the directory given as argv[1]:
 *   xmpp_chat.pcap    a c2s session on 5222: stream headers, resource
 *                     binding, chat both ways with references, a MUC join
 *                     and groupchat, chat states, file offers (SI, Jingle,
 *                     out-of-band URL, HTTP upload slot), presence, and
 *                     stanzas cut into several segments, one mid-reference
 *   xmpp_hostile.pcap a session where the server side sends a DTD with
 *                     entity declarations, an unknown entity, nesting
 *                     deeper than the limit and a 100 KB attribute, each
 *                     followed by a good message that must still decode
 * Everything is deterministic: running it twice gives identical files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"
#include "util/bytebuf.h"

#define CLIENT_IP "192.0.2.20"
#define SERVER_IP "198.51.100.7"

#define C2S PCAPGEN_TO_SERVER
#define S2C PCAPGEN_TO_CLIENT

static int failures;

static void check(int rc)
{
	if (rc < 0)
		failures++;
}

static void say(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *s)
{
	check(pcapgen_tcp_send_str(t, dir, s));
}

/* One stanza in segments of the given sizes (the rest in one more). */
static void say_split(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *s,
		      const size_t *split, size_t n)
{
	struct pcapgen_send how = { .split = split, .n_split = n };

	check(pcapgen_tcp_send(t, dir, s, strlen(s), &how));
}

static void open_session(struct pcapgen_tcp *t, struct pcapgen *g, uint16_t cport)
{
	check(pcapgen_tcp_open(t, g, CLIENT_IP, cport, SERVER_IP, 5222, NULL));
	check(pcapgen_tcp_handshake(t));
	say(t, C2S, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
		    "xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>");
	say(t, S2C, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
		    "xmlns:stream='http://etherx.jabber.org/streams' id='c2s-1' from='example.org' "
		    "version='1.0'><stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
		    "</stream:features>");
	say(t, C2S, "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
		    "<resource>laptop</resource></bind></iq>");
	say(t, S2C, "<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
		    "<jid>alice@example.org/laptop</jid></bind></iq>");
}

static void write_chat(const char *dir)
{
	static const size_t three[] = { 20, 31 };
	static const size_t mid_ref[] = { 58, 3 };
	char path[4096];
	struct pcapgen *g;
	struct pcapgen_tcp t;

	snprintf(path, sizeof(path), "%s/xmpp_chat.pcap", dir);
	g = pcapgen_open(path, PCAPGEN_LINK_ETHERNET);
	if (!g) {
		failures++;
		return;
	}
	open_session(&t, g, 40100);
	say(&t, C2S, "<presence/>");
	say(&t, C2S, "<message to='bob@example.org' type='chat' id='m1'><body>Hello Bob, "
		     "lunch at 12?</body><active xmlns='http://jabber.org/protocol/chatstates'/>"
		     "</message>");
	say(&t, S2C, "<message from='bob@example.org/phone' to='alice@example.org/laptop' "
		     "type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
	say_split(&t, S2C, "<message from='bob@example.org/phone' to='alice@example.org/laptop' "
			   "type='chat' id='b1'><body>Sure &amp; bring the &lt;slides&gt;</body>"
			   "</message>",
		  mid_ref, 2);
	say(&t, C2S, " ");
	say_split(&t, C2S, "<message to='bob@example.org' type='chat'><body>Grüße aus Köln "
			   "&#x263A;</body></message>",
		  three, 2);
	say(&t, C2S, "<presence to='lounge@conference.example.org/alice'><x xmlns='http://jabber."
		     "org/protocol/muc'/></presence>");
	say(&t, S2C, "<message from='lounge@conference.example.org/carol' to='alice@example.org/"
		     "laptop' type='groupchat'><body>welcome alice</body></message>");
	say(&t, C2S, "<message to='lounge@conference.example.org' type='groupchat'><body>thanks "
		     "carol</body></message>");
	say(&t, C2S, "<iq type='set' id='si1' to='bob@example.org/phone'><si xmlns='http://jabber."
		     "org/protocol/si' id='s5' profile='http://jabber.org/protocol/si/profile/file-"
		     "transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' "
		     "name='menu.pdf' size='48213'/></si></iq>");
	say(&t, S2C, "<iq type='set' id='j1' from='bob@example.org/phone'><jingle xmlns='urn:xmpp:"
		     "jingle:1' action='session-initiate' sid='x1'><content creator='initiator' "
		     "name='f'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file>"
		     "<name>slides.odp</name><size>1048576</size></file></description></content>"
		     "</jingle></iq>");
	say(&t, C2S, "<iq type='get' id='up1' to='upload.example.org'><request xmlns='urn:xmpp:http:"
		     "upload:0' filename='photo.jpg' size='204800' content-type='image/jpeg'/></iq>");
	say(&t, C2S, "<message to='bob@example.org' type='chat'><body>https://upload.example.org/"
		     "a1/photo.jpg</body><x xmlns='jabber:x:oob'><url>https://upload.example.org/a1/"
		     "photo.jpg</url></x></message>");
	say(&t, S2C, "<presence from='bob@example.org/phone' type='unavailable'/>");
	say(&t, C2S, "</stream:stream>");
	say(&t, S2C, "</stream:stream>");
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
}

static void write_hostile(const char *dir)
{
	static const char good[] = "<message from='bob@example.org/phone' type='chat'><body>still "
				   "decoded</body></message>";
	char path[4096];
	struct pcapgen *g;
	struct pcapgen_tcp t;
	struct bytebuf b;
	size_t i;

	snprintf(path, sizeof(path), "%s/xmpp_hostile.pcap", dir);
	g = pcapgen_open(path, PCAPGEN_LINK_ETHERNET);
	if (!g) {
		failures++;
		return;
	}
	open_session(&t, g, 40101);
	say(&t, S2C, "<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]>");
	say(&t, S2C, good);
	say(&t, S2C, "<message from='eve@example.org' type='chat'><body>&lol2;</body></message>");
	say(&t, S2C, good);
	bytebuf_init(&b);
	bytebuf_append_str(&b, "<message from='eve@example.org' type='chat'>");
	for (i = 0; i < 1000; i++)
		bytebuf_append_str(&b, "<x>");
	bytebuf_terminate(&b);
	say(&t, S2C, (char *)b.data);
	say(&t, S2C, good);
	bytebuf_clear(&b);
	bytebuf_append_str(&b, "<message from='");
	for (i = 0; i < 100000; i++)
		bytebuf_append_byte(&b, 'A');
	bytebuf_append_str(&b, "' type='chat'><body>never decoded</body></message>");
	if (!bytebuf_terminate(&b))
		failures++;
	say(&t, S2C, (char *)b.data);
	say(&t, S2C, good);
	bytebuf_free(&b);
	check(pcapgen_tcp_close(&t, C2S));
	check(pcapgen_close(g));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_xmpp DIR\n");
		return 2;
	}
	write_chat(argv[1]);
	write_hostile(argv[1]);
	if (failures) {
		fprintf(stderr, "gen_xmpp: %d write(s) failed\n", failures);
		return 1;
	}
	return 0;
}
