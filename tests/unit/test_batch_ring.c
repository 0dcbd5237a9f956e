/* util/batch_ring.c, the bounded ring of batches under the offline
 * reader's two hand-overs: batches taken in the order handed over, every
 * record exactly once; bounded (the producer that hands over the last
 * free batch waits until half the ring is given back, exact counts);
 * drain, close and abort waking the side that waits; nothing lost at
 * shutdown; own blocks freed (ASan's leak check). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/batch_ring.h"
#include "testlib.h"

/* Records: a sequence number, and `len` bytes derived from it in the
 * arena or, every 11th, in a block of its own. */
struct rec {
	uint32_t seq;
	uint32_t len;
	const unsigned char *bytes;
};

static uint32_t rec_len(uint32_t seq)
{
	return seq % 11 == 0 ? 300 : seq % 23;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A ring of 4 batches (half: 2) of 5 records and 64 bytes. */
static int ring_init_small(struct batch_ring *r)
{
	struct batch_ring_config cfg = { .batches = 4, .batch_records = 5, .batch_bytes = 64 };
	int rc = batch_ring_init(r, &cfg, sizeof(struct rec));

	CHECK_INT_EQ(rc, 0);
	return rc;
}

/* Producer: record seq into the filling batch; true when that filled it. */
static bool add_rec(struct batch_ring *r, uint32_t seq)
{
	struct batch *b = batch_ring_filling(r);
	struct rec *x = (struct rec *)b->records + b->n;
	unsigned char *mem;
	uint32_t k;

	x->seq = seq;
	x->len = rec_len(seq);
	if (x->len > batch_ring_room(r, b)) {
		b->own[b->n] = malloc(x->len);
		if (!b->own[b->n])
			abort();
		mem = b->own[b->n];
	} else {
		mem = b->mem + b->used;
		b->used += x->len;
	}
	for (k = 0; k < x->len; k++)
		mem[k] = (unsigned char)(seq + k);
	x->bytes = mem;
	b->n++;
	return batch_ring_batch_full(r, b);
}

/* Shared by the two threads; the counters under lock. */
struct side {
	struct batch_ring *r;
	pthread_mutex_t lock;
	unsigned records;   /* producer: records put; consumer: taken */
	unsigned batches;   /* publishes returned, or batches taken */
	unsigned bad;       /* consumer: records out of order or wrong */
	uint32_t next;      /* consumer: the seq expected next */
	unsigned stop_after; /* consumer: abort after this many batches (0: never) */
	bool publish_false; /* producer: a publish said false */
	unsigned done;      /* 1: the thread's function returned */
	unsigned n;         /* producer: records to put */
};

static void side_init(struct side *s, struct batch_ring *r)
{
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
}

static unsigned side_get(struct side *s, const unsigned *field)
{
	unsigned v;

	pthread_mutex_lock(&s->lock);
	v = *field;
	pthread_mutex_unlock(&s->lock);
	return v;
}

/* The small ring and fresh sides on it (NULL: that side is the test's
 * own thread); -1 when it did not start. */
static int ring_init_sides(struct batch_ring *r, struct side *prod, struct side *cons)
{
	if (ring_init_small(r) != 0)
		return -1;
	if (prod)
		side_init(prod, r);
	if (cons)
		side_init(cons, r);
	return 0;
}

/* White-box: wait up to 10 s for a consumer to be asleep in take. */
static void wait_consumer_asleep(struct batch_ring *r)
{
	unsigned waited;
	bool asleep = false;

	for (waited = 0; !asleep && waited < 10000; waited += 2) {
		pthread_mutex_lock(&r->lock);
		asleep = r->consumer_waiting;
		pthread_mutex_unlock(&r->lock);
		if (!asleep)
			sleep_ms(2);
	}
	CHECK(asleep);
}

/* Wait up to 10 s (a loaded machine) for *field to reach want. */
static void wait_for(struct side *s, const unsigned *field, unsigned want)
{
	unsigned waited;

	for (waited = 0; side_get(s, field) < want && waited < 10000; waited += 2)
		sleep_ms(2);
}

static bool check_rec(const struct rec *x, uint32_t seq)
{
	uint32_t k;

	if (x->seq != seq || x->len != rec_len(seq))
		return false;
	for (k = 0; k < x->len; k++)
		if (x->bytes[k] != (unsigned char)(seq + k))
			return false;
	return true;
}

static void *consumer(void *arg)
{
	struct side *s = arg;
	struct batch *b;
	size_t i;

	while ((b = batch_ring_take(s->r)) != NULL) {
		pthread_mutex_lock(&s->lock);
		for (i = 0; i < b->n; i++)
			if (!check_rec((const struct rec *)b->records + i, s->next++))
				s->bad++;
		s->records += (unsigned)b->n;
		s->batches++;
		pthread_mutex_unlock(&s->lock);
		batch_ring_release(s->r, b);
		if (s->stop_after && side_get(s, &s->batches) == s->stop_after) {
			batch_ring_abort(s->r);
			break;
		}
	}
	pthread_mutex_lock(&s->lock);
	s->done = 1;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Producer: n records, publishing each full batch; the rest published as
 * the last batch (even when empty). */
static void *producer(void *arg)
{
	struct side *s = arg;
	bool go_on = true;
	uint32_t seq;

	for (seq = 0; go_on && seq < s->n; seq++) {
		if (!add_rec(s->r, seq))
			continue;
		go_on = batch_ring_publish(s->r);
		pthread_mutex_lock(&s->lock);
		s->batches++;
		s->records = seq + 1;
		s->publish_false = !go_on;
		pthread_mutex_unlock(&s->lock);
	}
	if (go_on)
		batch_ring_publish_last(s->r);
	pthread_mutex_lock(&s->lock);
	s->done = 1;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* 10 000 records through a 4-batch ring: every one once, in order, with
 * its bytes; the last partial batch included. */
static void test_order_exact(void)
{
	struct batch_ring r;
	struct side prod, cons;
	pthread_t tp, tc;

	if (ring_init_sides(&r, &prod, &cons) != 0)
		return;
	prod.n = 10003;
	CHECK(pthread_create(&tc, NULL, consumer, &cons) == 0);
	CHECK(pthread_create(&tp, NULL, producer, &prod) == 0);
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	CHECK_INT_EQ(cons.records, 10003);
	CHECK_INT_EQ(cons.bad, 0);
	CHECK_INT_EQ(cons.batches, 10003 / 5 + 1);
	CHECK_INT_EQ(prod.batches, 10003 / 5);
	CHECK(!prod.publish_false);
	batch_ring_destroy(&r);
}

/* No consumer taking: the publish that hands over the 4th (last free)
 * batch waits. Given back one batch (3 ready, half is 2), it still
 * waits; a second, and it goes on. */
static void test_bounded_half_ring(void)
{
	struct batch_ring r;
	struct side prod;
	struct batch *b;
	pthread_t tp;

	if (ring_init_sides(&r, &prod, NULL) != 0)
		return;
	prod.n = 1000;
	CHECK(pthread_create(&tp, NULL, producer, &prod) == 0);
	wait_for(&prod, &prod.batches, 3);
	sleep_ms(100);
	CHECK_INT_EQ(side_get(&prod, &prod.batches), 3); /* the 4th publish waits */
	CHECK_INT_EQ(side_get(&prod, &prod.records), 15);
	b = batch_ring_take(&r);
	CHECK(b != NULL && b->index == 0 && b->n == 5);
	if (b)
		batch_ring_release(&r, b);
	sleep_ms(100);
	CHECK_INT_EQ(side_get(&prod, &prod.batches), 3); /* 3 ready: still waits */
	b = batch_ring_take(&r);
	CHECK(b != NULL && b->index == 1);
	if (b)
		batch_ring_release(&r, b);
	/* woken: its publish returns (4), the next fills the ring again
	 * (5), and the one after waits */
	wait_for(&prod, &prod.batches, 5);
	sleep_ms(100);
	CHECK_INT_EQ(side_get(&prod, &prod.batches), 5);
	CHECK_INT_EQ(side_get(&prod, &prod.records), 25);
	batch_ring_abort(&r);
	pthread_join(tp, NULL);
	CHECK(prod.publish_false);
	CHECK_INT_EQ(prod.batches, 6); /* the waiting publish returned false */
	batch_ring_destroy(&r); /* frees the records' own blocks left in it */
}

/* The consumer aborts after 3 batches: a producer waiting on a full ring
 * returns at once, every publish after says false. */
static void test_abort_wakes_producer(void)
{
	struct batch_ring r;
	struct side prod, cons;
	pthread_t tp, tc;

	if (ring_init_sides(&r, &prod, &cons) != 0)
		return;
	prod.n = 100000;
	cons.stop_after = 3;
	CHECK(pthread_create(&tp, NULL, producer, &prod) == 0);
	wait_for(&prod, &prod.batches, 3); /* the ring full, the producer waiting */
	CHECK(pthread_create(&tc, NULL, consumer, &cons) == 0);
	pthread_join(tc, NULL);
	pthread_join(tp, NULL);
	CHECK(prod.publish_false);
	CHECK_INT_EQ(cons.batches, 3);
	CHECK_INT_EQ(cons.records, 15);
	CHECK_INT_EQ(cons.bad, 0);
	CHECK(prod.records < 100000);
	CHECK(batch_ring_take(&r) == NULL); /* aborted: nothing more */
	CHECK(!batch_ring_publish(&r));
	batch_ring_destroy(&r);
}

/* A consumer waiting on an empty ring: close wakes it with NULL; abort
 * does the same on another ring. */
static void test_close_and_abort_wake_consumer(void)
{
	struct batch_ring r;
	struct side cons;
	pthread_t tc;
	int round;

	for (round = 0; round < 2; round++) {
		if (ring_init_sides(&r, NULL, &cons) != 0)
			return;
		CHECK(pthread_create(&tc, NULL, consumer, &cons) == 0);
		wait_consumer_asleep(&r);
		CHECK_INT_EQ(side_get(&cons, &cons.done), 0);
		if (round == 0)
			batch_ring_close(&r);
		else
			batch_ring_abort(&r);
		pthread_join(tc, NULL);
		CHECK(cons.done);
		CHECK_INT_EQ(cons.batches, 0);
		batch_ring_destroy(&r);
	}
}

/* One batch ready (less than half the ring): the consumer is not woken
 * for it, drain wakes it and returns once it is given back; the
 * consumer's counts are then visible, exact. Close after: the consumer
 * ends, the rest taken first. */
static void test_drain_and_close_lose_nothing(void)
{
	struct batch_ring r;
	struct side cons;
	pthread_t tc;
	uint32_t seq;

	if (ring_init_sides(&r, NULL, &cons) != 0)
		return;
	CHECK(pthread_create(&tc, NULL, consumer, &cons) == 0);
	wait_consumer_asleep(&r);
	for (seq = 0; seq < 3; seq++)
		add_rec(&r, seq);
	CHECK(batch_ring_publish(&r));
	sleep_ms(50);
	CHECK_INT_EQ(side_get(&cons, &cons.batches), 0); /* below half: not woken */
	batch_ring_drain(&r);
	CHECK_INT_EQ(cons.records, 3); /* read without its lock: ordered by drain */
	batch_ring_drain(&r); /* nothing ready: returns at once */
	for (seq = 3; seq < 3 + 5 * 3 + 2; seq++)
		if (add_rec(&r, seq))
			CHECK(batch_ring_publish(&r));
	/* 3 full batches handed over, 2 records in the filling one: the
	 * last batch carries them, and the consumer ends after it */
	batch_ring_publish_last(&r);
	pthread_join(tc, NULL);
	CHECK_INT_EQ(cons.records, 3 + 5 * 3 + 2);
	CHECK_INT_EQ(cons.batches, 1 + 3 + 1);
	CHECK_INT_EQ(cons.bad, 0);
	CHECK(batch_ring_take(&r) == NULL); /* closed and empty */
	batch_ring_destroy(&r);

	/* close without a last batch: what was ready is still taken */
	if (ring_init_sides(&r, NULL, &cons) != 0)
		return;
	for (seq = 0; seq < 5; seq++)
		add_rec(&r, seq);
	CHECK(batch_ring_publish(&r));
	add_rec(&r, 11); /* stays in the filling batch: never handed over */
	batch_ring_close(&r);
	CHECK(pthread_create(&tc, NULL, consumer, &cons) == 0);
	pthread_join(tc, NULL);
	CHECK_INT_EQ(cons.records, 5);
	CHECK_INT_EQ(cons.batches, 1);
	batch_ring_destroy(&r); /* frees record 11's block (300 bytes > 64) */
}

static void test_bad_config(void)
{
	struct batch_ring_config cfg = { .batches = 1, .batch_records = 5, .batch_bytes = 64 };
	struct batch_ring r;

	errno = 0;
	CHECK_INT_EQ(batch_ring_init(&r, &cfg, sizeof(struct rec)), -1);
	CHECK_INT_EQ(errno, EINVAL);
	cfg.batches = 2;
	cfg.batch_records = 0;
	errno = 0;
	CHECK_INT_EQ(batch_ring_init(&r, &cfg, sizeof(struct rec)), -1);
	CHECK_INT_EQ(errno, EINVAL);
	cfg.batch_records = 1;
	CHECK_INT_EQ(batch_ring_init(&r, &cfg, 0), -1);
	cfg.batch_bytes = 0; /* no arena: allowed */
	CHECK_INT_EQ(batch_ring_init(&r, &cfg, sizeof(struct rec)), 0);
	CHECK(batch_ring_filling(&r)->mem != NULL);
	CHECK_INT_EQ(batch_ring_room(&r, batch_ring_filling(&r)), 0);
	batch_ring_destroy(&r);
}

int main(void)
{
	RUN_TEST(test_order_exact);
	RUN_TEST(test_bounded_half_ring);
	RUN_TEST(test_abort_wakes_producer);
	RUN_TEST(test_close_and_abort_wake_consumer);
	RUN_TEST(test_drain_and_close_lose_nothing);
	RUN_TEST(test_bad_config);
	TEST_MAIN_END();
}
