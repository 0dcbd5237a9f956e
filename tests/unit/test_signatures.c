/* The payload signatures and mark helpers shared by the BPF classifier,
 * the kernel module and the daemon (include/imwire/), tested in
 * userspace: what each protocol's first bytes look like, what must not
 * match, and that no check reads past the bytes it is given. */
#include <stdlib.h>
#include <string.h>

#include "imwire/marks.h"
#include "imwire/signatures.h"
#include "testlib.h"

struct sample {
	const char *bytes;
	size_t len;
	enum imw_proto proto;
};

#define S(lit, proto) { lit, sizeof(lit) - 1, proto }

static const struct sample samples[] = {
	S("NICK alice\r\nUSER a 0 * :Alice\r\n", IMW_PROTO_IRC),
	S(":irc.example.net NOTICE * :*** Looking up your hostname\r\n", IMW_PROTO_IRC),
	S("CAP LS 302\r\n", IMW_PROTO_IRC),
	S("HELO\r\n12\r\n", IMW_PROTO_IMIP),
	S("VER 1 MSNP8 CVR0\r\n", IMW_PROTO_MSN),
	S("USR 1 alice@example.com 1234.5678\r\n", IMW_PROTO_MSN),
	S("YMSG\x00\x10\x00\x00\x00\x20\x00\x57\x00\x00\x00\x00\x00\x00\x00\x00", IMW_PROTO_YMSG),
	S("*\x01\x00\x01\x00\x04\x00\x00\x00\x01", IMW_PROTO_OSCAR),
	S("*\x02\x00\x02\x00\x0a\x00\x04\x00\x06\x00\x00\x00\x00\x00\x01", IMW_PROTO_OSCAR),
	S("FLAPON\r\n\r\n", IMW_PROTO_TOC),
	S("*\x02\x00\x01\x00\x10toc_signon x y", IMW_PROTO_TOC),
	S("<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client'>",
	  IMW_PROTO_XMPP),
	S("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<stream:stream xmlns=\"jabber:client\">",
	  IMW_PROTO_XMPP),
	S("  <stream:stream xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
	  IMW_PROTO_XMPP),
	/* GG_WELCOME with its seed, alone and followed by another packet */
	S("\x01\x00\x00\x00\x04\x00\x00\x00\x11\x22\x33\x44", IMW_PROTO_GG),
	/* GG_LOGIN80 of 40 bytes for UIN 12345 */
	S("\x31\x00\x00\x00\x28\x00\x00\x00\x39\x30\x00\x00pl\x00\x00", IMW_PROTO_GG),
	/* GG_LOGIN105 (protobuf body, no UIN field up front) */
	S("\x83\x00\x00\x00\x40\x00\x00\x00\x0a\x02pl\x12", IMW_PROTO_GG),
	S("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n", IMW_PROTO_NONE),
	S("POST /upload HTTP/1.1\r\nContent-Length: 10\r\n\r\n", IMW_PROTO_NONE),
	S("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", IMW_PROTO_NONE),
	S("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", IMW_PROTO_NONE),
	S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", IMW_PROTO_NONE),
	S("220 mail.example.com ESMTP Postfix\r\n", IMW_PROTO_NONE),
	S("<?xml version='1.0'?><html>", IMW_PROTO_NONE),
	S("<message to='bob@example.com'><body>hi</body></message>", IMW_PROTO_NONE),
	/* GG-shaped headers that are not a first packet */
	S("\x31\x00\x00\x00\x28\x00\x00\x00\x00\x00\x00\x00pl\x00\x00", IMW_PROTO_NONE),
	S("\x01\x00\x00\x00\x05\x00\x00\x00\x11\x22\x33\x44", IMW_PROTO_NONE),
	S("\x2d\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00", IMW_PROTO_NONE),
};

/* The bytes in a heap block of exactly their size, so that ASan reports
 * any read past the end. */
static uint8_t *exact_copy(const char *bytes, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p && len)
		memcpy(p, bytes, len);
	return p;
}

static void test_classify_samples(void)
{
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		uint8_t *p = exact_copy(samples[i].bytes, samples[i].len);
		enum imw_proto got;

		CHECK(p != NULL);
		if (!p)
			return;
		got = imw_sig_classify(p, samples[i].len);
		if (got != samples[i].proto)
			fprintf(stderr, "  sample %zu: got %d, want %d\n", i, (int)got,
				(int)samples[i].proto);
		CHECK_INT_EQ(got, samples[i].proto);
		free(p);
	}
}

/* Every prefix of every sample: never a read past the end (ASan), and a
 * prefix too short to tell never matches a different protocol, except
 * IRC's loose check on the first word of a text protocol ("VER ", "USR "). */
static void test_prefixes_stay_in_bounds(void)
{
	size_t i, n;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		for (n = 0; n <= samples[i].len; n++) {
			uint8_t *p = exact_copy(samples[i].bytes, n);
			enum imw_proto got;

			CHECK(p != NULL);
			if (!p)
				return;
			got = imw_sig_classify(p, n);
			if (got != IMW_PROTO_NONE && got != samples[i].proto && got != IMW_PROTO_IRC) {
				fprintf(stderr, "  sample %zu prefix %zu: got %d\n", i, n, (int)got);
				CHECK(0);
			}
			free(p);
		}
	}
}

/* How many signatures other than IRC's match p. */
#define SIG_MATCH_ROW(ID, num, nm, ims, cfg, alt, sig, ...) \
	n += IMW_PROTO_##ID != IMW_PROTO_IRC && sig(p, len);

static int non_irc_matches(const uint8_t *p, size_t len)
{
	int n = 0;

	IMW_PROTOCOLS(SIG_MATCH_ROW)
	return n;
}

/* The signatures before IRC's never overlap, so their order in the
 * protocol table changes nothing the classifiers decide; only IRC's loose
 * check must come last. Checked on every sample prefix and on random
 * bytes behind every first byte. */
static void test_signatures_exclusive(void)
{
	uint8_t buf[64];
	size_t i, n;
	unsigned seed = 12345, b, k;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		for (n = 0; n <= samples[i].len; n++)
			CHECK(non_irc_matches((const uint8_t *)samples[i].bytes, n) <= 1);
	for (b = 0; b < 256; b++) {
		for (k = 0; k < 200; k++) {
			buf[0] = (uint8_t)b;
			for (n = 1; n < sizeof(buf); n++) {
				seed = seed * 1103515245u + 12345u;
				buf[n] = (uint8_t)(seed >> 16);
			}
			CHECK(non_irc_matches(buf, sizeof(buf)) <= 1);
		}
	}
}

/* imw_sig_classify in the order it had before the protocol table (binary
 * framings, then XMPP, MSN, IMIP, then IRC after HTTP and numeric
 * banners): the same answer on every sample and prefix. */
static enum imw_proto classify_before_table(const uint8_t *p, size_t len)
{
	if (imw_sig_oscar_flap(p, len))
		return IMW_PROTO_OSCAR;
	if (imw_sig_toc(p, len))
		return IMW_PROTO_TOC;
	if (imw_sig_ymsg(p, len))
		return IMW_PROTO_YMSG;
	if (imw_sig_gg(p, len))
		return IMW_PROTO_GG;
	if (imw_sig_xmpp(p, len))
		return IMW_PROTO_XMPP;
	if (imw_sig_msn(p, len))
		return IMW_PROTO_MSN;
	if (imw_sig_imip(p, len))
		return IMW_PROTO_IMIP;
	if (imw_sig_http(p, len) || (len > 0 && p[0] >= '0' && p[0] <= '9'))
		return IMW_PROTO_NONE;
	if (imw_sig_irc(p, len))
		return IMW_PROTO_IRC;
	return IMW_PROTO_NONE;
}

static void test_table_order_same_answers(void)
{
	size_t i, n;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		for (n = 0; n <= samples[i].len; n++)
			CHECK_INT_EQ(imw_sig_classify((const uint8_t *)samples[i].bytes, n),
				     classify_before_table((const uint8_t *)samples[i].bytes, n));
}

static void test_xmpp_declaration_limits(void)
{
	char buf[300];
	size_t n;

	/* a declaration that does not end within 128 bytes is not believed */
	n = (size_t)snprintf(buf, sizeof(buf), "<?xml version='1.0' %0150d?><stream:stream>", 0);
	CHECK_INT_EQ(imw_sig_xmpp((const uint8_t *)buf, n), 0);
	n = (size_t)snprintf(buf, sizeof(buf), "<?xml version='1.0'?>\r\n\r\n<stream:stream>");
	CHECK_INT_EQ(imw_sig_xmpp((const uint8_t *)buf, n), 1);
	/* cut inside the stream tag */
	n = (size_t)snprintf(buf, sizeof(buf), "<?xml version='1.0'?><stream:str");
	CHECK_INT_EQ(imw_sig_xmpp((const uint8_t *)buf, n), 0);
}

static void test_gg_lengths(void)
{
	uint8_t login[12] = { 0x19, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };

	login[4] = 15; /* below the smallest login */
	CHECK_INT_EQ(imw_sig_gg(login, sizeof(login)), 0);
	login[4] = 16;
	CHECK_INT_EQ(imw_sig_gg(login, sizeof(login)), 1);
	login[4] = 0x01;
	login[5] = 0x10; /* 4097 */
	CHECK_INT_EQ(imw_sig_gg(login, sizeof(login)), 0);
	CHECK_INT_EQ(imw_sig_gg(login, 11), 0);
}

static void test_marks(void)
{
	unsigned int m = imw_mark_steer(0x80000001u, IMW_PROTO_XMPP);

	CHECK_INT_EQ(m & 0x80000001u, 0x80000001u); /* others' bits are kept */
	CHECK(m & IMW_MARK_STEER);
	CHECK_INT_EQ(imw_mark_proto(m), IMW_PROTO_XMPP);
	m = imw_mark_steer(m | IMW_MARK_RELEASED, IMW_PROTO_IRC);
	CHECK_INT_EQ(imw_mark_proto(m), IMW_PROTO_IRC);
	CHECK_INT_EQ(m & IMW_MARK_RELEASED, 0);
	CHECK_INT_EQ(IMW_PROTO_MAX <= (IMW_MARK_PROTO_MASK >> IMW_MARK_PROTO_SHIFT), 1);
}

int main(void)
{
	RUN_TEST(test_classify_samples);
	RUN_TEST(test_prefixes_stay_in_bounds);
	RUN_TEST(test_signatures_exclusive);
	RUN_TEST(test_table_order_same_answers);
	RUN_TEST(test_xmpp_declaration_limits);
	RUN_TEST(test_gg_lengths);
	RUN_TEST(test_marks);
	TEST_MAIN_END();
}
