/* Retention's plan (archive/purge.h): the request's text, the legal hold,
 * which rows a purge removes and keeps, the runs it deletes, the digest
 * of the kept rows (recomputed here from chain_digest's definition in
 * chain.h with libsodium's SHA-256 directly), the continuation; and a
 * plan read back from its record gives the same runs (a purge resumed). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "archive/chain.h"
#include "archive/purge.h"
#include "testlib.h"

static void test_request_text(void)
{
	struct purge_request r = { -5, 1700000000000000, "alice,bob smith" }, back;
	struct bytebuf b;

	bytebuf_init(&b);
	CHECK(purge_request_format(&b, &r));
	CHECK_STR_EQ((const char *)b.data,
		     "retention before=-5 compress=1700000000000000 hold=alice,bob smith");
	CHECK(purge_request_parse((const char *)b.data, &back));
	CHECK_INT_EQ(back.before_us, -5);
	CHECK_INT_EQ(back.compress_us, 1700000000000000);
	CHECK_STR_EQ(back.hold, "alice,bob smith");
	CHECK(!purge_request_parse("retention before=x compress=0 hold=", &back));
	CHECK(!purge_request_parse("retention before=1 hold=", &back));
	CHECK(!purge_request_parse("purge from=1", &back));
	CHECK(!purge_request_parse(NULL, &back));
	bytebuf_free(&b);
}

static void test_hold(void)
{
	struct purge_hold h;
	char *list = NULL, err[256];
	FILE *f;

	CHECK(purge_hold_parse(&h, "alice@example.org,,Bob"));
	CHECK_INT_EQ(h.n, 2);
	CHECK(purge_hold_matches(&h, "alice@example.org"));
	CHECK(purge_hold_matches(&h, "ALICE@example.org/laptop"));
	CHECK(!purge_hold_matches(&h, "alice@example.org.evil"));
	CHECK(!purge_hold_matches(&h, "alice"));
	CHECK(purge_hold_matches(&h, "bob"));
	CHECK(!purge_hold_matches(&h, "bobby"));
	CHECK(!purge_hold_matches(&h, NULL));
	CHECK(purge_hold_matches_component(&h, "alice@example.org_laptop"));
	CHECK(!purge_hold_matches_component(&h, "alice@example.org/laptop"));
	purge_hold_free(&h);

	CHECK_INT_EQ(purge_hold_load(" a , b ,", &list, err, sizeof(err)), 0);
	CHECK_STR_EQ(list, "a,b");
	free(list);
	CHECK_INT_EQ(purge_hold_load(NULL, &list, err, sizeof(err)), 0);
	CHECK_STR_EQ(list, "");
	free(list);
	f = fopen("/tmp/imwire_test_hold.txt", "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("# the case of March\nalice\n  bob smith  \n\n", f);
	fclose(f);
	CHECK_INT_EQ(purge_hold_load("/tmp/imwire_test_hold.txt", &list, err, sizeof(err)), 0);
	CHECK_STR_EQ(list, "alice,bob smith");
	free(list);
	f = fopen("/tmp/imwire_test_hold.txt", "w");
	if (f) {
		fputs("a,b\n", f);
		fclose(f);
	}
	CHECK_INT_EQ(purge_hold_load("/tmp/imwire_test_hold.txt", &list, err, sizeof(err)), -1);
	CHECK(strstr(err, "comma") != NULL);
	unlink("/tmp/imwire_test_hold.txt");
	CHECK_INT_EQ(purge_hold_load("/nonexistent/hold", &list, err, sizeof(err)), -1);
}

/* The store of these tests: ids 11..30, hash byte = id, times 1000*id;
 * local "held" for ids 14 and 20, id 17 an audit record, id 22 unchained. */
struct row {
	uint64_t id;
	int64_t ts;
	const char *local, *kind;
	bool has_hash;
};

static void rows(struct row *r)
{
	uint64_t id;

	for (id = 11; id <= 30; id++) {
		struct row *x = &r[id - 11];

		x->id = id;
		x->ts = (int64_t)id * 1000;
		x->local = id == 14 || id == 20 ? "held" : "other";
		x->kind = id == 17 ? "audit" : "message";
		x->has_hash = id != 22;
	}
}

static void hash_of(uint64_t id, uint8_t h[CHAIN_HASH_LEN])
{
	memset(h, (int)id, CHAIN_HASH_LEN);
}

/* chain.h: SHA-256 over (eventid u64 big-endian, hash) of each kept row. */
static void expected_digest(const uint64_t *ids, size_t n, uint8_t out[CHAIN_HASH_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t be[8], h[CHAIN_HASH_LEN];
	size_t i;
	int k;

	crypto_hash_sha256_init(&st);
	for (i = 0; i < n; i++) {
		for (k = 0; k < 8; k++)
			be[k] = (uint8_t)(ids[i] >> (56 - 8 * k));
		hash_of(ids[i], h);
		crypto_hash_sha256_update(&st, be, 8);
		crypto_hash_sha256_update(&st, h, CHAIN_HASH_LEN);
	}
	crypto_hash_sha256_final(&st, out);
}

static void feed(struct purge_plan *pl, const struct row *r, size_t n)
{
	uint8_t h[CHAIN_HASH_LEN];
	size_t i;

	for (i = 0; i < n; i++) {
		hash_of(r[i].id, h);
		purge_plan_row(pl, r[i].id, r[i].ts, r[i].local, r[i].kind, r[i].has_hash ? h : NULL);
	}
}

static void test_plan(void)
{
	struct row r[20];
	struct purge_plan pl;
	uint8_t want[CHAIN_HASH_LEN], cont[CHAIN_HASH_LEN];
	/* from 12, to 25, cutoff 24000: ids 13..23 old; 14, 20 held, 17
	 * audit: removed 13, 15, 16, 18, 19, 21, 22, 23; kept (with a hash)
	 * 14, 17, 20, 24, 25. */
	static const uint64_t kept[] = { 14, 17, 20, 24, 25 };
	size_t cursor = 0;

	rows(r);
	CHECK(purge_plan_begin(&pl, 12, 25, 24000, "held"));
	feed(&pl, r, 20); /* rows outside (12, 25] are passed over */
	CHECK(purge_plan_end(&pl));
	CHECK_INT_EQ(pl.p.removed, 8);
	CHECK_INT_EQ(pl.p.kept, 5);
	expected_digest(kept, 5, want);
	CHECK_MEM_EQ(pl.p.kept_digest, want, CHAIN_HASH_LEN);
	hash_of(25, cont);
	CHECK_MEM_EQ(pl.p.cont, cont, CHAIN_HASH_LEN);
	CHECK_INT_EQ(pl.n_runs, 4);
	CHECK(pl.n_runs == 4 && pl.runs[0].first == 13 && pl.runs[0].last == 13);
	CHECK(pl.n_runs == 4 && pl.runs[1].first == 15 && pl.runs[1].last == 16);
	CHECK(pl.n_runs == 4 && pl.runs[2].first == 18 && pl.runs[2].last == 19);
	CHECK(pl.n_runs == 4 && pl.runs[3].first == 21 && pl.runs[3].last == 23);
	CHECK(!purge_plan_removes(&pl, 12, &cursor));
	CHECK(purge_plan_removes(&pl, 13, &cursor));
	CHECK(!purge_plan_removes(&pl, 14, &cursor));
	CHECK(purge_plan_removes(&pl, 22, &cursor));
	CHECK(!purge_plan_removes(&pl, 24, &cursor));
	CHECK_STR_EQ(pl.p.hold, "held");
	purge_plan_free(&pl);
}

/* Its record, parsed, plans the same removal over what is left: none of
 * it after the deletes, all of it before them (a purge cut short). */
static void test_resume_from_record(void)
{
	struct row r[20], left[20];
	struct purge_plan pl, again;
	struct chain_purge rec;
	struct bytebuf text;
	size_t i, n = 0;

	rows(r);
	CHECK(purge_plan_begin(&pl, 0, 30, 24000, "held"));
	feed(&pl, r, 20);
	CHECK(purge_plan_end(&pl));
	bytebuf_init(&text);
	CHECK(chain_purge_format(&text, &pl.p) && bytebuf_terminate(&text));
	CHECK(chain_purge_parse((const char *)text.data, &rec));
	CHECK(purge_plan_begin(&again, rec.from, rec.to, rec.before_us, rec.hold));
	feed(&again, r, 20);
	CHECK(purge_plan_end(&again));
	CHECK_INT_EQ(again.n_runs, pl.n_runs);
	CHECK_INT_EQ(again.p.removed, pl.p.removed);
	CHECK_MEM_EQ(again.p.kept_digest, pl.p.kept_digest, CHAIN_HASH_LEN);
	purge_plan_free(&again);
	for (i = 0; i < 20; i++) {
		size_t cursor = 0;

		if (!purge_plan_removes(&pl, r[i].id, &cursor))
			left[n++] = r[i];
	}
	CHECK(purge_plan_begin(&again, rec.from, rec.to, rec.before_us, rec.hold));
	feed(&again, left, n);
	CHECK(purge_plan_end(&again));
	CHECK_INT_EQ(again.p.removed, 0);
	CHECK_INT_EQ(again.n_runs, 0);
	CHECK_MEM_EQ(again.p.kept_digest, pl.p.kept_digest, CHAIN_HASH_LEN);
	purge_plan_free(&again);
	purge_plan_free(&pl);
	bytebuf_free(&text);
}

/* A run never holds more than PURGE_RUN_ROWS rows (one delete each). */
static void test_runs_are_bounded(void)
{
	struct purge_plan pl;
	uint8_t h[CHAIN_HASH_LEN] = { 1 };
	uint64_t id, n = 2 * PURGE_RUN_ROWS + 7;

	CHECK(purge_plan_begin(&pl, 0, n, 1000, ""));
	for (id = 1; id <= n; id++)
		purge_plan_row(&pl, id, 0, "x", "message", h);
	CHECK(purge_plan_end(&pl));
	CHECK_INT_EQ(pl.p.removed, n);
	CHECK_INT_EQ(pl.n_runs, 3);
	CHECK(pl.n_runs == 3 && pl.runs[1].first == PURGE_RUN_ROWS + 1 &&
	      pl.runs[2].last == n);
	purge_plan_free(&pl);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN_TEST(test_request_text);
	RUN_TEST(test_hold);
	RUN_TEST(test_plan);
	RUN_TEST(test_resume_from_record);
	RUN_TEST(test_runs_are_bounded);
	TEST_MAIN_END();
}
