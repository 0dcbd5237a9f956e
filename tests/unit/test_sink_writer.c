/* The writer with its write-ahead log (sink/sink_writer.h): every event
 * handed over ends up exactly once in every sink (JSON lines, IMSpector
 * files, SQLite) through memory overflow, sinks that are down and come
 * back, restarts, and kill -9 at any moment (a child process killed in
 * the middle of its work, again and again); the back-pressure answer;
 * the memory-only writer; the statistics. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "sink/sink_record.h"
#include "sink/sink_wal.h"
#include "sinktest.h"
#include "testlib.h"

static int open_three(struct sink *w, const struct sink_writer_config *wc, const char *tag)
{
	char p[256], err[256];

	if (sink_writer_open(w, wc, err, sizeof(err)) < 0) {
		fprintf(stderr, "  %s\n", err);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/%s.jsonl", tmpdir, tag);
	if (add_jsonl(w, p) < 0)
		goto failed;
	snprintf(p, sizeof(p), "%s/%s.logs", tmpdir, tag);
	if (add_imspector(w, p) < 0)
		goto failed;
	snprintf(p, sizeof(p), "%s/%s.db", tmpdir, tag);
	if (add_sqlite(w, p, "s") < 0)
		goto failed;
	return sink_writer_start(w);
failed:
	sink_close(w);
	return -1;
}

static unsigned nonzero(const unsigned *c, unsigned from, unsigned to)
{
	unsigned n = 0;

	for (; from < to; from++)
		n += c[from] != 0;
	return n;
}

/* Each of the three sinks of tag holds messages [from, to) exactly once,
 * and none of [to, max). */
static void check_three(const char *tag, unsigned from, unsigned to, unsigned max)
{
	static const char *const kinds[] = { "jsonl", "imspector", "sqlite" };
	unsigned *c = calloc(max, sizeof(*c)), k;
	char p[256], what[300];

	for (k = 0; k < 3; k++) {
		memset(c, 0, max * sizeof(*c));
		if (k == 0) {
			snprintf(p, sizeof(p), "%s/%s.jsonl", tmpdir, tag);
			count_in_file(p, c, max);
		} else if (k == 1) {
			snprintf(p, sizeof(p), "%s/%s.logs", tmpdir, tag);
			count_in_tree(p, c, max);
		} else {
			snprintf(p, sizeof(p), "%s/%s.db", tmpdir, tag);
			count_in_sqlite(p, c, max);
		}
		snprintf(what, sizeof(what), "%s %s", tag, kinds[k]);
		CHECK_INT_EQ(exactly_once(what, c, from, to), to - from);
		CHECK_INT_EQ(nonzero(c, to, max), 0);
	}
	free(c);
}

/* One past the highest message any of tag's sinks holds (below max). */
static unsigned highest_three(const char *tag, unsigned max)
{
	unsigned *c = calloc(max, sizeof(*c)), hi = 0, i;
	char p[256];

	snprintf(p, sizeof(p), "%s/%s.jsonl", tmpdir, tag);
	count_in_file(p, c, max);
	snprintf(p, sizeof(p), "%s/%s.logs", tmpdir, tag);
	count_in_tree(p, c, max);
	snprintf(p, sizeof(p), "%s/%s.db", tmpdir, tag);
	count_in_sqlite(p, c, max);
	for (i = 0; i < max; i++)
		if (c[i])
			hi = i + 1;
	free(c);
	return hi;
}

static void test_three_sinks_exactly_once(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	char spool[128];
	size_t i;

	path_in_tmp(spool, sizeof(spool), "spool-basic");
	writer_config(&wc, spool);
	CHECK(open_three(&w, &wc, "basic") == 0);
	hand_over(&w, 0, 5000);
	CHECK(w.ops->flush(&w) == 0);
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.events, 5000);
	CHECK_INT_EQ(st.not_durable, 0);
	CHECK_INT_EQ(st.n_sinks, 3);
	for (i = 0; i < st.n_sinks; i++) {
		CHECK_INT_EQ(st.sinks[i].written + st.sinks[i].replayed, 5000);
		CHECK_INT_EQ(st.sinks[i].queued, 0);
		CHECK(!st.sinks[i].down);
	}
	CHECK(st.submits >= 5000 / 17);
	CHECK(st.log_bytes > 5000 * 50);
	sink_close(&w);
	check_three("basic", 0, 5000, 5000);
}

/* A small memory bound: most frames leave memory and the sinks read them
 * back from the log; nothing is lost and nothing repeated. */
static void test_memory_overflows_to_disk(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	char spool[128];
	size_t i;

	path_in_tmp(spool, sizeof(spool), "spool-overflow");
	writer_config(&wc, spool);
	wc.memory_max = 64 * 1024;
	wc.segment_bytes = 256 * 1024;
	CHECK(open_three(&w, &wc, "overflow") == 0);
	hand_over(&w, 0, 20000);
	CHECK(w.ops->flush(&w) == 0);
	sink_writer_get_stats(&w, &st);
	for (i = 0; i < st.n_sinks; i++)
		CHECK_INT_EQ(st.sinks[i].written + st.sinks[i].replayed, 20000);
	CHECK(st.memory_bytes <= 256 * 1024);
	sink_close(&w);
	check_three("overflow", 0, 20000, 20000);
}

/* Close and open again: nothing written twice, the new events follow,
 * and the event ids keep growing. */
static void test_restart(void)
{
	struct sink_writer_config wc;
	struct sink w;
	char spool[128], db[160];

	path_in_tmp(spool, sizeof(spool), "spool-restart");
	writer_config(&wc, spool);
	CHECK(open_three(&w, &wc, "restart") == 0);
	hand_over(&w, 0, 300);
	sink_close(&w);
	CHECK(open_three(&w, &wc, "restart") == 0);
	hand_over(&w, 300, 300);
	sink_close(&w);
	check_three("restart", 0, 600, 600);
	path_in_tmp(db, sizeof(db), "restart.db");
	CHECK_INT_EQ(query_int(db, "SELECT count(*) FROM messages a JOIN messages b"
				   " ON a.id < b.id WHERE a.eventid >= b.eventid"),
		     0);
}

/* kill -9 of a process while it hands events over and its sinks write:
 * what was handed over before the kill (the child says so through a pipe,
 * after submit returned) is found again by the next writer, and every
 * sink ends with each event exactly once. */
static void test_kill9_at_random_moments(void)
{
	struct sink_writer_config wc;
	char spool[128];
	unsigned round, handed = 0, i, ok_rounds = 0;
	struct timespec ts;

	path_in_tmp(spool, sizeof(spool), "spool-kill");
	writer_config(&wc, spool);
	wc.log = NULL;
	wc.memory_max = 128 * 1024; /* also through the disk path */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	srand((unsigned)ts.tv_nsec);
	for (round = 0; round < 10; round++) {
		int fds[2];
		pid_t pid;
		unsigned got = 0, v;
		ssize_t r;

		CHECK(pipe(fds) == 0);
		pid = fork();
		if (pid == 0) {
			struct sink w;
			struct sink_writer_batch *b;
			struct im_event ev;

			close(fds[0]);
			if (open_three(&w, &wc, "kill") < 0)
				_exit(2);
			b = sink_writer_batch_new(&w);
			for (i = handed; i < handed + 15000; i++) {
				make_event(&ev, i, IM_KIND_MESSAGE);
				sink_writer_batch_add(b, &ev);
				event_free(&ev);
				if (i % 7 == 6) {
					sink_writer_submit(b);
					v = i + 1;
					if (write(fds[1], &v, sizeof(v)) != sizeof(v))
						_exit(3);
				}
			}
			_exit(0);
		}
		close(fds[1]);
		/* Once it hands events over, let it run a random while (0 to
		 * 200 ms), then kill it. */
		if (read(fds[0], &v, sizeof(v)) == sizeof(v))
			got = v;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(rand() % 200) * 1000000L;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while ((r = read(fds[0], &v, sizeof(v))) == sizeof(v))
			got = v;
		close(fds[0]);
		if (got > handed) {
			handed = got;
			ok_rounds++;
		}
		if (!got)
			got = handed;
		/* Events after `got` may or may not be in the log (handed over
		 * but not yet reported): the next writer's recovery decides;
		 * the next round's child starts above whatever that is. */
		{
			struct sink w;
			struct sink_writer_stats st;

			CHECK(open_three(&w, &wc, "kill") == 0);
			CHECK(w.ops->flush(&w) == 0);
			sink_writer_get_stats(&w, &st);
			for (i = 0; i < st.n_sinks; i++)
				CHECK_INT_EQ(st.sinks[i].queued, 0);
			sink_close(&w);
		}
		{
			/* Everything reported handed over is there; what was handed
			 * over after the last report may be too: then in every sink. */
			unsigned hi = highest_three("kill", handed + 200000);

			CHECK(hi >= handed);
			if (hi > handed)
				handed = hi;
		}
		check_three("kill", 0, handed, handed + 200000);
	}
	CHECK(ok_rounds >= 8);
	printf("  kill -9: %u rounds handed events over, %u events in all\n", ok_rounds, handed);
}

/* A sink that is down keeps its events in the log; the others go on;
 * when it is back it catches up; nothing is lost. */
static void test_sink_down_and_back(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	char spool[128], dir[160], path[200], err[256];
	size_t i;

	path_in_tmp(spool, sizeof(spool), "spool-down");
	path_in_tmp(dir, sizeof(dir), "down-db");
	snprintf(path, sizeof(path), "%s/x.db", dir); /* its directory does not exist yet */
	writer_config(&wc, spool);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	path_in_tmp(spool, sizeof(spool), "down.jsonl");
	CHECK(add_jsonl(&w, spool) == 0);
	CHECK(add_sqlite(&w, path, "s") == 0);
	CHECK(sink_writer_start(&w) == 0);
	hand_over(&w, 0, 1000);
	CHECK(w.ops->flush(&w) == -1); /* the database is down */
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.sinks[0].written, 1000);
	CHECK_INT_EQ(st.sinks[1].queued, 1000);
	CHECK(st.sinks[1].down);
	CHECK(st.sinks[1].failed >= 1);
	CHECK(st.sinks[1].lag > 0);
	CHECK(last_log_has("unable to open database file") ||
	      last_log_has("x.db"));
	CHECK(!sink_writer_pressure(&w)); /* a sink that is down does not slow traffic */
	CHECK(mkdir(dir, 0700) == 0);
	hand_over(&w, 1000, 500);
	CHECK(w.ops->flush(&w) == 0);
	sink_writer_get_stats(&w, &st);
	for (i = 0; i < 2; i++) {
		CHECK_INT_EQ(st.sinks[i].queued, 0);
		CHECK_INT_EQ(st.sinks[i].written + st.sinks[i].replayed, 1500);
	}
	CHECK(!st.sinks[1].down);
	sink_close(&w);
	{
		unsigned c[1500] = { 0 };

		count_in_sqlite(path, c, 1500);
		CHECK_INT_EQ(exactly_once("down sqlite", c, 0, 1500), 1500);
	}
}

/* The down sink past spool_max_bytes: its oldest events are dropped from
 * the log and counted lost ("limit"); the healthy sink loses nothing. */
static void test_limit_for_a_down_sink(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	char spool[128], dir[160], path[200], jl[160], err[256];
	unsigned c[20000] = { 0 };

	path_in_tmp(spool, sizeof(spool), "spool-limit");
	path_in_tmp(dir, sizeof(dir), "limit-db");
	snprintf(path, sizeof(path), "%s/x.db", dir);
	writer_config(&wc, spool);
	wc.spool_max_bytes = 256 * 1024;
	wc.memory_max = 32 * 1024;
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	path_in_tmp(jl, sizeof(jl), "limit.jsonl");
	CHECK(add_jsonl(&w, jl) == 0);
	CHECK(add_sqlite(&w, path, "s") == 0);
	CHECK(sink_writer_start(&w) == 0);
	hand_over(&w, 0, 20000);
	w.ops->flush(&w);
	usleep(300000); /* a maintenance round */
	sink_writer_get_stats(&w, &st);
	CHECK(st.sinks[1].lost[SINK_LOSS_LIMIT] > 0);
	CHECK(st.log_bytes <= 256 * 1024 + 64 * 1024);
	CHECK_INT_EQ(st.sinks[1].lost[SINK_LOSS_LIMIT] + st.sinks[1].queued, 20000);
	CHECK_INT_EQ(st.sinks[0].written + st.sinks[0].replayed, 20000);
	CHECK(last_log_has("spool_max_bytes"));
	CHECK(mkdir(dir, 0700) == 0);
	w.ops->flush(&w); /* -1 or 0: the losses may have been reported by the first one */
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.sinks[1].queued, 0);
	sink_close(&w);
	count_in_file(jl, c, 20000);
	CHECK_INT_EQ(exactly_once("limit jsonl", c, 0, 20000), 20000);
	memset(c, 0, sizeof(c));
	count_in_sqlite(path, c, 20000);
	/* What the database has is a tail of the events, each once. */
	{
		unsigned first = 0, i, ok = 1;

		while (first < 20000 && !c[first])
			first++;
		for (i = first; i < 20000; i++)
			if (c[i] != 1)
				ok = 0;
		CHECK(ok);
		CHECK_INT_EQ(20000 - first, 20000 - st.sinks[1].lost[SINK_LOSS_LIMIT]);
	}
}

/* A sink far behind (the database blocked by a reader's lock) makes the
 * writer answer "slow down", and the pressure ends when it catches up. */
static void test_pressure(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	struct sink_writer_batch *b;
	struct im_event ev;
	char spool[128], path[160], err[256];
	sqlite3 *h;
	unsigned i;
	int rc, slow = 0;

	path_in_tmp(spool, sizeof(spool), "spool-pressure");
	path_in_tmp(path, sizeof(path), "pressure.db");
	writer_config(&wc, spool);
	wc.spool_max_bytes = 1024 * 1024;
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_sqlite(&w, path, "s") == 0);
	CHECK(sink_writer_start(&w) == 0);
	hand_over(&w, 0, 10);
	CHECK(w.ops->flush(&w) == 0);
	/* A reader holds an exclusive lock: the sink's batches wait on it
	 * (db_timeout) and the backlog grows. */
	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	CHECK(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
	      SQLITE_OK);
	b = sink_writer_batch_new(&w);
	for (i = 10; i < 20000 && !slow; i++) {
		make_event(&ev, i, IM_KIND_MESSAGE);
		sink_writer_batch_add(b, &ev);
		event_free(&ev);
		if (i % 50 == 0) {
			rc = sink_writer_submit(b);
			CHECK(rc == SINK_WRITER_OK || rc == SINK_WRITER_SLOW_DOWN);
			if (rc == SINK_WRITER_SLOW_DOWN)
				slow = 1;
		}
	}
	sink_writer_submit(b);
	CHECK(slow);
	CHECK(sink_writer_pressure(&w));
	sink_writer_get_stats(&w, &st);
	CHECK(st.slow_downs >= 1);
	CHECK(st.pressure);
	sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(h);
	CHECK(w.ops->flush(&w) == 0 || 1);
	for (i = 0; i < 100 && sink_writer_pressure(&w); i++)
		usleep(50000);
	CHECK(!sink_writer_pressure(&w));
	sink_writer_batch_free(b);
	sink_close(&w);
}

/* Without a log: memory only. Offline (wait_when_full) nothing is lost
 * to a slow sink. */
static void test_memory_only(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	char path[160], err[256];
	unsigned c[3000] = { 0 };
	size_t i;

	path_in_tmp(path, sizeof(path), "memonly.jsonl");
	writer_config(&wc, NULL);
	wc.wait_when_full = true;
	wc.memory_max = 16 * 1024;
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_jsonl(&w, path) == 0);
	CHECK(sink_writer_start(&w) == 0);
	for (i = 0; i < 3000; i++) {
		struct im_event ev;

		make_event(&ev, (unsigned)i, IM_KIND_MESSAGE);
		CHECK(sink_write(&w, &ev) == 0);
		event_free(&ev);
	}
	CHECK(w.ops->flush(&w) == 0);
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.sinks[0].written, 3000);
	CHECK_INT_EQ(st.log_bytes, 0);
	sink_close(&w);
	count_in_file(path, c, 3000);
	CHECK_INT_EQ(exactly_once("memory-only jsonl", c, 0, 3000), 3000);
}

/* A second writer on the same spool refuses, naming the first. */
static void test_spool_locked(void)
{
	struct sink_writer_config wc;
	struct sink w, w2;
	char spool[128], err[512];

	path_in_tmp(spool, sizeof(spool), "spool-lock");
	writer_config(&wc, spool);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	if (fork() == 0) {
		/* Another process: flock is per open file, so this one must fail. */
		int rc = sink_writer_open(&w2, &wc, err, sizeof(err));

		if (rc == 0 || !strstr(err, "in use by another process"))
			_exit(1);
		_exit(0);
	}
	{
		int status = 1;

		wait(&status);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	sink_close(&w);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	sink_close(&w);
}

/* A record the log's checksum vouches for but that does not decode (a
 * later version's): its events are counted lost (eio) once, and the sink
 * goes on with what follows. */
static void test_unreadable_record(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	struct wal wal;
	struct wal_pos pos;
	struct bytebuf b;
	struct im_event ev;
	char spool[128], jl[160], err[256];
	unsigned c[100] = { 0 }, i;
	uint64_t first;
	size_t at;

	path_in_tmp(spool, sizeof(spool), "spool-unreadable");
	path_in_tmp(jl, sizeof(jl), "unreadable.jsonl");
	writer_config(&wc, spool);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_jsonl(&w, jl) == 0);
	CHECK(sink_writer_start(&w) == 0);
	hand_over(&w, 0, 10);
	sink_close(&w);
	/* Behind the writer's back: a frame of three whose second record is
	 * of version 99, then a good frame of five. */
	CHECK(wal_open(&wal, spool, 0, 0, NULL, err, sizeof(err)) == 0);
	bytebuf_init(&b);
	for (i = 0; i < 2; i++) {
		unsigned k, n = i ? 5 : 3;
		static const uint8_t zero[WAL_FRAME_HEADER];

		bytebuf_clear(&b);
		bytebuf_append(&b, zero, sizeof(zero));
		for (k = 0; k < n; k++) {
			at = b.len;
			make_event(&ev, 10 + i * 3 + k, IM_KIND_MESSAGE);
			sink_record_encode(&b, &ev);
			event_free(&ev);
			if (!i && k == 1)
				b.data[at + 4] = 99;
		}
		wal_frame_seal(b.data, b.len, n);
		CHECK(wal_append(&wal, b.data, b.len, n, 1, &first, &pos) == 0);
	}
	wal_close(&wal);
	bytebuf_free(&b);
	log_reset();
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_jsonl(&w, jl) == 0);
	CHECK(sink_writer_start(&w) == 0);
	w.ops->flush(&w);
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.sinks[0].lost[SINK_LOSS_EIO], 2);
	CHECK_INT_EQ(st.sinks[0].queued, 0);
	CHECK_INT_EQ(st.sinks[0].replayed, 6);
	sink_close(&w);
	count_in_file(jl, c, 100);
	/* 0..9, then 10 (before the bad record), then 13..17 */
	CHECK_INT_EQ(exactly_once("unreadable", c, 0, 11), 11);
	CHECK_INT_EQ(c[11] + c[12], 0);
	CHECK_INT_EQ(exactly_once("unreadable", c, 13, 18), 5);
}

/* logrotate's copytruncate: the JSON lines file is cut to nothing under
 * the writer; the next lines start at its new end, nothing stale. */
static void test_jsonl_copytruncate(void)
{
	struct sink_writer_config wc;
	struct sink w;
	char spool[128], jl[160], err[256];
	unsigned c[400] = { 0 };
	struct stat st;

	path_in_tmp(spool, sizeof(spool), "spool-rotate");
	path_in_tmp(jl, sizeof(jl), "rotate.jsonl");
	writer_config(&wc, spool);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_jsonl(&w, jl) == 0);
	CHECK(sink_writer_start(&w) == 0);
	hand_over(&w, 0, 200);
	CHECK(w.ops->flush(&w) == 0);
	CHECK(truncate(jl, 0) == 0);
	hand_over(&w, 200, 200);
	CHECK(w.ops->flush(&w) == 0);
	sink_close(&w);
	/* And a restart: the cursor's sizes are the file's, not stale. */
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_jsonl(&w, jl) == 0);
	CHECK(sink_writer_start(&w) == 0);
	sink_close(&w);
	count_in_file(jl, c, 400);
	CHECK_INT_EQ(exactly_once("rotated", c, 200, 400), 200);
	CHECK_INT_EQ(c[0] + c[199], 0);
	CHECK(stat(jl, &st) == 0);
	{
		FILE *f = fopen(jl, "rb");
		int ch, nul = 0;

		while (f && (ch = fgetc(f)) != EOF)
			nul += ch == 0;
		if (f)
			fclose(f);
		CHECK_INT_EQ(nul, 0);
	}
}

int main(void)
{
	if (make_tmpdir("writer") < 0) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	RUN_TEST(test_three_sinks_exactly_once);
	RUN_TEST(test_memory_overflows_to_disk);
	RUN_TEST(test_restart);
	RUN_TEST(test_kill9_at_random_moments);
	RUN_TEST(test_sink_down_and_back);
	RUN_TEST(test_limit_for_a_down_sink);
	RUN_TEST(test_pressure);
	RUN_TEST(test_memory_only);
	RUN_TEST(test_spool_locked);
	RUN_TEST(test_unreadable_record);
	RUN_TEST(test_jsonl_copytruncate);
	remove_tmpdir();
	TEST_MAIN_END();
}
