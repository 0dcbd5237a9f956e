/* The ring of event batches between the decoding and the writing thread
 * (pipeline/event_ring.h): every event consumed exactly once and in
 * order, with its strings; the ring's memory bounded (the producer waits
 * when every batch is full); the consume function's failures counted;
 * drain and stop waiting for the last event; and the pipeline's writer
 * thread giving a sink the same lines as writing on one thread. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event/event.h"
#include "pipeline/event_ring.h"
#include "pipeline/pipeline.h"
#include "sink/sink.h"
#include "testlib.h"

/* The text of event i: lengths from 0 to 96, and every 97th far larger
 * than a small ring's batch (it travels in a block of its own). */
static size_t text_len(unsigned i)
{
	return i % 97 == 0 ? 5000 : (size_t)(i % 97);
}

static void fill_text(char *buf, unsigned i, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		buf[k] = (char)('a' + (i + k) % 26);
	buf[n] = '\0';
}

/* Event i: flow_id i, local set on even ones only (a NULL string must
 * stay NULL), text as above. */
static void make(struct im_event *ev, unsigned i)
{
	char text[5001];

	event_init(ev);
	ev->flow_id = i;
	ev->ts = 1000.0 + i;
	ev->kind = IM_KIND_MESSAGE;
	fill_text(text, i, text_len(i));
	CHECK(event_set_str(&ev->text, text));
	if (i % 2 == 0)
		CHECK(event_set_str(&ev->local, "alice"));
	CHECK(event_set_str(&ev->client, "10.0.0.1:4000"));
}

struct seen {
	unsigned next;  /* the flow_id expected next */
	unsigned bad;   /* events out of order or with the wrong strings */
	unsigned fail_every; /* report a failure for every n-th event (0: none) */
	uint64_t failures_reported;
	/* The gate: while closed, the consumer waits inside the call. */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool gate_closed;
	bool in_call; /* the consumer is held at the gate */
};

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	s->cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
}

static unsigned consume(void *arg, const struct im_event *ev)
{
	struct seen *s = arg;
	unsigned i = s->next++;
	char text[5001];

	pthread_mutex_lock(&s->lock);
	while (s->gate_closed) {
		s->in_call = true;
		pthread_cond_broadcast(&s->cv);
		pthread_cond_wait(&s->cv, &s->lock);
	}
	s->in_call = false;
	pthread_mutex_unlock(&s->lock);
	fill_text(text, i, text_len(i));
	if (ev->flow_id != i || !ev->text || strcmp(ev->text, text) != 0 ||
	    (i % 2 == 0) != (ev->local != NULL) || (ev->local && strcmp(ev->local, "alice") != 0) ||
	    !ev->client || strcmp(ev->client, "10.0.0.1:4000") != 0 || ev->ts != 1000.0 + i ||
	    ev->pdu_data != NULL)
		s->bad++;
	if (s->fail_every && i % s->fail_every == 0) {
		s->failures_reported += 2;
		return 2;
	}
	return 0;
}

/* A ring small enough that 10 000 events wrap it many times. */
static void small_config(struct event_ring_config *cfg)
{
	cfg->batches = 3;
	cfg->batch_events = 7;
	cfg->batch_bytes = 256;
}

/* A test's ring and what its consumer saw: fixture_prepare, then any
 * change to cfg or s, then fixture_start. */
struct fixture {
	struct event_ring_config cfg;
	struct seen s;
	struct event_ring *r;
};

/* The small ring's config and a fresh consumer state. */
static void fixture_prepare(struct fixture *f)
{
	seen_init(&f->s);
	small_config(&f->cfg);
	f->r = NULL;
}

/* The ring started on f->cfg, consuming into f->s; false (a failed
 * check) when it did not start. */
static bool fixture_start(struct fixture *f)
{
	f->r = event_ring_start(&f->cfg, consume, &f->s);
	CHECK(f->r != NULL);
	return f->r != NULL;
}

/* Stop the ring: every one of the n events put seen, once, intact. */
static void fixture_stop_expect(struct fixture *f, unsigned n)
{
	event_ring_stop(f->r, NULL);
	f->r = NULL;
	CHECK_INT_EQ(f->s.next, n);
	CHECK_INT_EQ(f->s.bad, 0);
}

static void put_range(struct event_ring *r, unsigned from, unsigned to)
{
	struct im_event ev;
	unsigned i;

	for (i = from; i < to; i++) {
		make(&ev, i);
		/* the source's strings may go as soon as put returns */
		CHECK(event_ring_put(r, &ev));
		event_free(&ev);
	}
}

static void test_order_and_strings(void)
{
	struct fixture f;
	uint64_t failures = 0;

	fixture_prepare(&f);
	if (!fixture_start(&f))
		return;
	put_range(f.r, 0, 10000);
	event_ring_stop(f.r, &failures);
	CHECK_INT_EQ(f.s.next, 10000);
	CHECK_INT_EQ(f.s.bad, 0);
	CHECK_INT_EQ(failures, 0);
}

/* The defaults, as the reader uses them, the same way. */
static void test_default_config(void)
{
	struct fixture f;

	fixture_prepare(&f);
	event_ring_config_defaults(&f.cfg);
	CHECK(f.cfg.batches >= 2 && f.cfg.batch_events >= 1);
	if (!fixture_start(&f))
		return;
	put_range(f.r, 0, 20000);
	fixture_stop_expect(&f, 20000);
}

/* A drain returns once every event put is consumed, a partial batch
 * included; the ring goes on after it. */
static void test_drain_partial(void)
{
	struct fixture f;

	fixture_prepare(&f);
	f.cfg.batch_events = 100; /* 5 events stay in the batch being filled */
	f.cfg.batch_bytes = 1 << 20;
	if (!fixture_start(&f))
		return;
	put_range(f.r, 0, 5);
	CHECK_INT_EQ(event_ring_drain(f.r), 0);
	CHECK_INT_EQ(f.s.next, 5); /* read after the drain: the consumer is idle */
	CHECK_INT_EQ(event_ring_drain(f.r), 0); /* nothing new: returns at once */
	CHECK_INT_EQ(f.s.next, 5);
	put_range(f.r, 5, 1234);
	CHECK_INT_EQ(event_ring_drain(f.r), 0);
	CHECK_INT_EQ(f.s.next, 1234);
	put_range(f.r, 1234, 1240);
	fixture_stop_expect(&f, 1240); /* stop drains too */
}

/* Failures the consume function reports reach the producer at the next
 * drain, each counted once; stop adds the rest. */
static void test_failures_counted(void)
{
	struct fixture f;
	uint64_t total = 0, at_stop = 5;

	fixture_prepare(&f);
	f.s.fail_every = 3;
	if (!fixture_start(&f))
		return;
	put_range(f.r, 0, 100); /* 0, 3, ..., 99: 34 events, 2 each */
	total = event_ring_drain(f.r);
	CHECK_INT_EQ(total, 68);
	CHECK_INT_EQ(event_ring_drain(f.r), 0);
	put_range(f.r, 100, 110); /* 102, 105, 108 */
	event_ring_stop(f.r, &at_stop);
	CHECK_INT_EQ(at_stop, 5 + 6);
	CHECK_INT_EQ(total + at_stop - 5, f.s.failures_reported);
	CHECK_INT_EQ(f.s.next, 110);
	CHECK_INT_EQ(f.s.bad, 0);
}

struct producer {
	struct event_ring *r;
	unsigned n;
	pthread_mutex_t lock;
	unsigned put; /* events put so far, under lock */
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct im_event ev;
	unsigned i;

	for (i = 0; i < p->n; i++) {
		make(&ev, i);
		if (!event_ring_put(p->r, &ev))
			break;
		event_free(&ev);
		pthread_mutex_lock(&p->lock);
		p->put++;
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static unsigned producer_put(struct producer *p)
{
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->put;
	pthread_mutex_unlock(&p->lock);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* With the consumer held inside its first event, the producer fills the
 * whole ring and then waits: it never gets more than batches x
 * batch_events events ahead. Opened, everything arrives. */
static void test_bounded_when_consumer_stalls(void)
{
	struct fixture f;
	struct producer p = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t;
	unsigned bound, waited;

	fixture_prepare(&f);
	f.cfg.batch_bytes = 1 << 20; /* bounded by events here */
	/* Every batch full: the put that fills the last one waits in it,
	 * handing it over, until the consumer gives half the ring back. */
	bound = (unsigned)(f.cfg.batches * f.cfg.batch_events) - 1;
	f.s.gate_closed = true;
	if (!fixture_start(&f))
		return;
	p.r = f.r;
	p.n = 1000;
	CHECK(pthread_create(&t, NULL, produce, &p) == 0);
	/* Up to 10 s for the ring to fill (a loaded machine), then a while
	 * to see that nothing more goes in. */
	for (waited = 0; producer_put(&p) < bound && waited < 10000; waited += 5)
		sleep_ms(5);
	CHECK_INT_EQ(producer_put(&p), bound);
	sleep_ms(100);
	CHECK_INT_EQ(producer_put(&p), bound);
	pthread_mutex_lock(&f.s.lock);
	CHECK(f.s.in_call);
	f.s.gate_closed = false;
	pthread_cond_broadcast(&f.s.cv);
	pthread_mutex_unlock(&f.s.lock);
	pthread_join(t, NULL);
	CHECK_INT_EQ(producer_put(&p), 1000);
	fixture_stop_expect(&f, 1000);
}

/* Stopped before anything was put, or right after one event. */
static void test_stop_early(void)
{
	struct fixture f;

	fixture_prepare(&f);
	if (fixture_start(&f))
		fixture_stop_expect(&f, 0);
	fixture_prepare(&f);
	if (!fixture_start(&f))
		return;
	put_range(f.r, 0, 1);
	fixture_stop_expect(&f, 1);
	event_ring_stop(NULL, NULL); /* a no-op */
}

static void test_bad_config(void)
{
	struct event_ring_config cfg;
	struct seen s;

	seen_init(&s);
	small_config(&cfg);
	cfg.batches = 1;
	errno = 0;
	CHECK(event_ring_start(&cfg, consume, &s) == NULL);
	CHECK_INT_EQ(errno, EINVAL);
	small_config(&cfg);
	cfg.batch_events = 0;
	CHECK(event_ring_start(&cfg, consume, &s) == NULL);
	small_config(&cfg);
	CHECK(event_ring_start(&cfg, NULL, &s) == NULL);
}

/* The pipeline's writer thread: the same JSON lines as on one thread,
 * events written before pipeline_sync returns, and a sink's failures
 * (a write into /dev/full) counted as on one thread. */
static char *read_all(FILE *f, size_t *len)
{
	long n;
	char *buf;

	fflush(f);
	n = ftell(f);
	if (n < 0 || !(buf = malloc((size_t)n + 1)))
		return NULL;
	rewind(f);
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	return buf;
}

/* n events through a pipeline onto out, with or without the writer
 * thread; the pipeline's failure count. */
static uint64_t run_pipeline(FILE *out, bool thread, unsigned n, size_t flush_at,
			     size_t *written_at_sync)
{
	struct flow_config fc;
	struct pipeline pl;
	struct sink s;
	struct im_event ev;
	uint64_t failures;
	unsigned i;

	flow_config_defaults(&fc);
	CHECK(pipeline_init(&pl, &fc) == 0);
	CHECK(sink_jsonl_open_stream(&s, out, flush_at) == 0);
	CHECK(pipeline_add_sink(&pl, &s) == 0);
	if (thread) {
		CHECK(pipeline_start_writer(&pl) == 0);
		CHECK(pl.ring != NULL);
	}
	for (i = 0; i < n; i++) {
		make(&ev, i);
		/* the flow table's emit callback: the pipeline's own */
		pl.flows.emit(pl.flows.emit_arg, &ev);
		event_free(&ev);
	}
	pipeline_sync(&pl);
	if (written_at_sync)
		*written_at_sync = (size_t)pl.sinks[0].written;
	pipeline_finish(&pl);
	CHECK(pl.ring == NULL);
	failures = pl.sink_failures;
	CHECK_INT_EQ(pl.events_total, n);
	pipeline_destroy(&pl);
	return failures;
}

static void test_pipeline_writer_same_lines(void)
{
	FILE *a = tmpfile(), *b = tmpfile();
	size_t la = 0, lb = 0, at_sync = 0;
	char *ta, *tb;

	CHECK(a && b);
	if (!a || !b)
		return;
	CHECK_INT_EQ(run_pipeline(a, false, 3000, 4096, NULL), 0);
	CHECK_INT_EQ(run_pipeline(b, true, 3000, 4096, &at_sync), 0);
	CHECK_INT_EQ(at_sync, 3000);
	ta = read_all(a, &la);
	tb = read_all(b, &lb);
	CHECK(ta && tb && la > 0);
	CHECK_INT_EQ(la, lb);
	CHECK(ta && tb && memcmp(ta, tb, la) == 0);
	free(ta);
	free(tb);
	fclose(a);
	fclose(b);
}

static void test_pipeline_writer_failures(void)
{
	FILE *full1 = fopen("/dev/full", "w"), *full2 = fopen("/dev/full", "w");
	uint64_t one, two;

	CHECK(full1 && full2);
	if (!full1 || !full2) {
		if (full1)
			fclose(full1);
		if (full2)
			fclose(full2);
		return;
	}
	one = run_pipeline(full1, false, 2000, 4096, NULL);
	two = run_pipeline(full2, true, 2000, 4096, NULL);
	CHECK(one > 1); /* every flush failed, and the last one */
	CHECK_INT_EQ(one, two);
	fclose(full1);
	fclose(full2);
}

int main(void)
{
	RUN_TEST(test_order_and_strings);
	RUN_TEST(test_default_config);
	RUN_TEST(test_drain_partial);
	RUN_TEST(test_failures_counted);
	RUN_TEST(test_bounded_when_consumer_stalls);
	RUN_TEST(test_stop_early);
	RUN_TEST(test_bad_config);
	RUN_TEST(test_pipeline_writer_same_lines);
	RUN_TEST(test_pipeline_writer_failures);
	TEST_MAIN_END();
}
