/* The chain (canonical encoding, SHA-256 links, purge records) and the
 * signed checkpoints. The two expected hashes were computed with Python's
 * hashlib from the encoding as chain.h documents it, not from this code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/chain.h"
#include "archive/checkpoint.h"
#include "testlib.h"

static void sample(struct chain_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->eventid = 1700000000000001ull;
	f->ts_us = 1700000000123456ll;
	f->outgoing = true;
	f->sensor = "gw1";
	f->protocol = "IRC";
	f->kind = "message";
	f->local = "alice";
	f->remote = "bob";
	f->client = "10.0.0.1:40000";
	f->server = "10.0.0.2:6667";
	f->session = "s1";
	f->community_id = "1:abc";
	f->action = "modified";
	f->rule = "badwords=darn";
	f->categories = "";
	f->text = "darn it";
	f->delivered_text = "**** it";
	f->content_type = "text/plain";
}

static void test_independent_values(void)
{
	uint8_t zero[CHAIN_HASH_LEN] = { 0 }, h1[CHAIN_HASH_LEN], h2[CHAIN_HASH_LEN];
	char hex[CHAIN_HEX_SIZE];
	struct chain_fields f;

	sample(&f);
	chain_hash(zero, &f, h1);
	chain_hex(h1, hex);
	CHECK_STR_EQ(hex, "04428d0262f0e40b75af4ea6ab0499e8cc23c2b24223037ab95e63bea55773e1");
	f.eventid++;
	f.text = "caf\xc3\xa9";
	f.delivered_text = NULL; /* NULL and "" are the same */
	f.action = "forwarded";
	f.rule = "";
	chain_hash(h1, &f, h2);
	chain_hex(h2, hex);
	CHECK_STR_EQ(hex, "f706b2438aec5e2a7ea9a66a2640ad8504fdc2a774c04e170a5e56a07a8764e3");
}

/* The reused hasher of a sink's thread gives the independent values
 * too, event after event (its buffer and context reused), and the same
 * as chain_hash on a long text. */
static void test_hasher_same_values(void)
{
	uint8_t zero[CHAIN_HASH_LEN] = { 0 }, h1[CHAIN_HASH_LEN], h2[CHAIN_HASH_LEN],
		want[CHAIN_HASH_LEN];
	char hex[CHAIN_HEX_SIZE], *big = malloc(100000);
	struct chain_hasher hs;
	struct chain_fields f;
	int round;

	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, 'x', 99999);
	big[99999] = '\0';
	chain_hasher_init(&hs);
	for (round = 0; round < 3; round++) {
		sample(&f);
		chain_hash_with(&hs, zero, &f, h1);
		chain_hex(h1, hex);
		CHECK_STR_EQ(hex, "04428d0262f0e40b75af4ea6ab0499e8cc23c2b24223037ab95e63bea55773e1");
		f.eventid++;
		f.text = "caf\xc3\xa9";
		f.delivered_text = NULL;
		f.action = "forwarded";
		f.rule = "";
		chain_hash_with(&hs, h1, &f, h2);
		chain_hex(h2, hex);
		CHECK_STR_EQ(hex, "f706b2438aec5e2a7ea9a66a2640ad8504fdc2a774c04e170a5e56a07a8764e3");
		f.text = big;
		chain_hash_with(&hs, h2, &f, h1);
		chain_hash(h2, &f, want);
		CHECK(memcmp(h1, want, sizeof(want)) == 0);
	}
	chain_hasher_free(&hs);
	chain_hasher_free(&hs); /* freed twice: harmless */
	free(big);
}

/* Every covered field changes the hash, and so does the link. */
static void test_every_field_counts(void)
{
	uint8_t zero[CHAIN_HASH_LEN] = { 0 }, base[CHAIN_HASH_LEN], h[CHAIN_HASH_LEN];
	const char **strs[16];
	struct chain_fields f;
	size_t i;

	sample(&f);
	chain_hash(zero, &f, base);
	strs[0] = &f.sensor, strs[1] = &f.protocol, strs[2] = &f.kind, strs[3] = &f.local;
	strs[4] = &f.remote, strs[5] = &f.client, strs[6] = &f.server, strs[7] = &f.session;
	strs[8] = &f.community_id, strs[9] = &f.action, strs[10] = &f.rule;
	strs[11] = &f.categories, strs[12] = &f.text, strs[13] = &f.delivered_text;
	strs[14] = &f.route_to, strs[15] = &f.content_type;
	for (i = 0; i < 16; i++) {
		const char *keep = *strs[i];

		*strs[i] = "x";
		chain_hash(zero, &f, h);
		CHECK(memcmp(h, base, CHAIN_HASH_LEN) != 0);
		*strs[i] = keep;
	}
	/* Moving bytes between neighbouring fields is a change too. */
	f.local = "alic";
	f.remote = "ebob";
	chain_hash(zero, &f, h);
	CHECK(memcmp(h, base, CHAIN_HASH_LEN) != 0);
	sample(&f);
	f.filtered = true;
	chain_hash(zero, &f, h);
	CHECK(memcmp(h, base, CHAIN_HASH_LEN) != 0);
	sample(&f);
	f.ts_us++;
	chain_hash(zero, &f, h);
	CHECK(memcmp(h, base, CHAIN_HASH_LEN) != 0);
	sample(&f);
	chain_hash(base, &f, h);
	CHECK(memcmp(h, base, CHAIN_HASH_LEN) != 0);
}

static void test_hex_and_ts(void)
{
	uint8_t h[CHAIN_HASH_LEN], back[CHAIN_HASH_LEN];
	char hex[CHAIN_HEX_SIZE];
	size_t i;

	for (i = 0; i < CHAIN_HASH_LEN; i++)
		h[i] = (uint8_t)(i * 37);
	chain_hex(h, hex);
	CHECK(chain_unhex(hex, back));
	CHECK_MEM_EQ(h, back, CHAIN_HASH_LEN);
	CHECK(!chain_unhex("00", back));
	hex[5] = 'g';
	CHECK(!chain_unhex(hex, back));
	CHECK_INT_EQ(chain_ts_us(1700000000.123456), 1700000000123456ll);
	CHECK_INT_EQ(chain_ts_us(0.5), 500000);
	CHECK_INT_EQ(chain_ts_us(12.0000004), 12000000);
	CHECK_INT_EQ(chain_ts_us(12.0000006), 12000001);
}

static void test_purge_line(void)
{
	struct chain_purge p = { 0 }, q;
	struct chain_digest d;
	struct bytebuf b;
	uint8_t h[CHAIN_HASH_LEN] = { 1 };

	chain_digest_init(&d);
	chain_digest_add(&d, 7, h);
	chain_digest_final(&d, p.kept_digest);
	CHECK_INT_EQ(d.n, 1);
	p.from = 0;
	p.to = 42;
	p.before_us = 1700000000000000ll;
	p.removed = 40;
	p.kept = 1;
	memset(p.cont, 0xab, sizeof(p.cont));
	p.hold = "alice,bob@example.org";
	bytebuf_init(&b);
	CHECK(chain_purge_format(&b, &p));
	CHECK(bytebuf_terminate(&b));
	CHECK(chain_purge_parse((char *)b.data, &q));
	CHECK_INT_EQ(q.to, 42);
	CHECK_INT_EQ(q.before_us, p.before_us);
	CHECK_INT_EQ(q.removed, 40);
	CHECK_INT_EQ(q.kept, 1);
	CHECK_MEM_EQ(q.kept_digest, p.kept_digest, CHAIN_HASH_LEN);
	CHECK_MEM_EQ(q.cont, p.cont, CHAIN_HASH_LEN);
	CHECK_STR_EQ(q.hold, "alice,bob@example.org");
	CHECK(!chain_purge_parse("purge from=1 to=2", &q));
	CHECK(!chain_purge_parse("hello", &q));
	bytebuf_free(&b);
}

static void test_checkpoint_signatures(void)
{
	char dir[] = "/tmp/imw-chain-XXXXXX", path[256], pub[300], err[256];
	struct checkpoint_key k, kp, other;
	struct checkpoint c = { 0 }, back;
	struct bytebuf b;
	struct stat st;
	char *line;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(pub, sizeof(pub), "%s/key.pub", dir);
	CHECK_INT_EQ(checkpoint_keygen(path, err, sizeof(err)), 0);
	CHECK_INT_EQ(checkpoint_keygen(path, err, sizeof(err)), -1); /* never overwrites */
	CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0);
	CHECK_INT_EQ(checkpoint_key_load(&k, path, err, sizeof(err)), 0);
	CHECK(k.has_secret);
	CHECK_INT_EQ(checkpoint_key_load(&kp, pub, err, sizeof(err)), 0);
	CHECK(!kp.has_secret);
	CHECK_MEM_EQ(k.pk, kp.pk, sizeof(k.pk));
	CHECK_INT_EQ(checkpoint_key_load(&other, "/etc/hostname", err, sizeof(err)), -1);

	snprintf(c.sensor, sizeof(c.sensor), "gw1");
	snprintf(c.sink, sizeof(c.sink), "sqlite");
	c.time = 1700000000;
	c.eventid = 99;
	memset(c.hash, 0x5a, sizeof(c.hash));
	bytebuf_init(&b);
	CHECK(!checkpoint_format(&b, &c, &kp)); /* a public key cannot sign */
	CHECK(checkpoint_format(&b, &c, &k));
	CHECK(bytebuf_terminate(&b));
	line = (char *)b.data;
	CHECK_INT_EQ(checkpoint_parse(line, &kp, &back), 1);
	CHECK_STR_EQ(back.sensor, "gw1");
	CHECK_STR_EQ(back.sink, "sqlite");
	CHECK_INT_EQ(back.eventid, 99);
	CHECK_INT_EQ(back.time, 1700000000);
	CHECK_MEM_EQ(back.hash, c.hash, CHAIN_HASH_LEN);
	/* One digit changed: the signature no longer holds. */
	line[strlen(CHECKPOINT_TAG " sensor=gw1 sink=sqlite time=1700000000 eventid=")] = '8';
	CHECK_INT_EQ(checkpoint_parse(line, &kp, &back), 0);
	CHECK_INT_EQ(checkpoint_parse("garbage", &kp, &back), -1);
	/* Another key does not verify it. */
	snprintf(path, sizeof(path), "%s/key2", dir);
	CHECK_INT_EQ(checkpoint_keygen(path, err, sizeof(err)), 0);
	CHECK_INT_EQ(checkpoint_key_load(&other, path, err, sizeof(err)), 0);
	bytebuf_clear(&b);
	CHECK(checkpoint_format(&b, &c, &k));
	CHECK(bytebuf_terminate(&b));
	CHECK_INT_EQ(checkpoint_parse((char *)b.data, &other, &back), 0);
	bytebuf_free(&b);
	checkpoint_key_wipe(&k);
	unlink(path);
	snprintf(pub, sizeof(pub), "%s.pub", path);
	unlink(pub);
	snprintf(path, sizeof(path), "%s/key", dir);
	unlink(path);
	snprintf(pub, sizeof(pub), "%s.pub", path);
	unlink(pub);
	rmdir(dir);
}

int main(void)
{
	RUN_TEST(test_independent_values);
	RUN_TEST(test_hasher_same_values);
	RUN_TEST(test_every_field_counts);
	RUN_TEST(test_hex_and_ts);
	RUN_TEST(test_purge_line);
	RUN_TEST(test_checkpoint_signatures);
	TEST_MAIN_END();
}
