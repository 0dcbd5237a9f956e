/* Review console searches over a large SQLite archive (bench/README.md).
 *
 * Builds an archive of N messages (default 1 000 000) in the writer's own
 * table with the writer's review indexes (review_index_sqlite: FTS5 kept
 * by triggers, b-trees on time and ids), then times searches through the
 * reader (archive_scan) against a baseline measured in the same run: the
 * same word found by a plain scan of every row (LIKE '%word%', what a
 * database without a text index does).
 *
 * usage: review_bench DB [N] */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "review/archive.h"
#include "review/review_index.h"
#include "review/thread.h"

#define WORDS 20000
#define USERS 2000
#define REPEAT 5

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void word(char *out, size_t size, unsigned i)
{
	static const char *const syl[] = { "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi",
					   "be", "do", "fu", "gi", "ha", "ju", "ze", "po" };

	snprintf(out, size, "%s%s%s%u", syl[i % 16], syl[(i / 16) % 16], syl[(i / 256) % 16], i);
}

static int build(const char *path, long n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char err[256], text[512], w[32], local[32], remote[32];
	double t0 = now();
	long i;
	int k;

	remove(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	/* The writer's table and indexes, as sink_sqlite.c makes them. */
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; CREATE TABLE messages (id integer PRIMARY KEY "
			 "AUTOINCREMENT, timestamp integer NOT NULL, clientaddress text NOT NULL,"
			 " protocolname text NOT NULL, outgoing integer NOT NULL, type integer NOT NULL,"
			 " localid text NOT NULL, remoteid text NOT NULL, filtered integer NOT NULL,"
			 " eventdata blob NOT NULL, sensor text NOT NULL DEFAULT '', eventid integer)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    review_index_sqlite(db, err, sizeof(err)) < 0 ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO messages (timestamp, clientaddress, protocolname, outgoing,"
			       " type, localid, remoteid, filtered, eventdata, eventid)"
			       " VALUES (?, '10.1.2.3:40000', ?, ?, 1, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "review_bench: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (i = 0; i < n; i++) {
		unsigned u = (unsigned)(next() % USERS), peer = (unsigned)(next() % USERS);
		size_t len = 0;

		text[0] = '\0';
		for (k = 0; k < 8; k++) {
			/* Zipf-ish: low word numbers are common. */
			unsigned r = (unsigned)(next() % WORDS);

			word(w, sizeof(w), (unsigned)((uint64_t)r * r / WORDS));
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", k ? " " : "", w);
		}
		/* One message in 100 000 holds the rare word. */
		if (i % 100000 == 4242)
			snprintf(text + len, sizeof(text) - len, " zanzibarquartz");
		snprintf(local, sizeof(local), "user%u", u);
		snprintf(remote, sizeof(remote), "peer%u", peer % 50 + u * 50 % USERS);
		sqlite3_bind_int64(st, 1, 1600000000 + i * 3);
		sqlite3_bind_text(st, 2, i % 3 ? "IRC" : "Jabber", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, (int)(i & 1));
		sqlite3_bind_text(st, 4, local, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, remote, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 6, i % 997 == 0);
		sqlite3_bind_text(st, 7, text, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 8, i + 1);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "review_bench: insert: %s\n", sqlite3_errmsg(db));
			return -1;
		}
		sqlite3_reset(st);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_finalize(st);
	sqlite3_close(db);
	printf("built %ld messages in %.1f s\n", n, now() - t0);
	return 0;
}

static int count_row(const struct review_row *r, void *arg)
{
	(void)r;
	(*(long *)arg)++;
	return 0;
}

/* Median of REPEAT runs of a query, in ms; *rows its result count. */
static double timed(struct archive *a, const struct review_query *q, long *rows)
{
	double t[REPEAT], x;
	int i, j;

	for (i = 0; i < REPEAT; i++) {
		double t0 = now();

		*rows = 0;
		if (archive_scan(a, q, count_row, rows) < 0) {
			fprintf(stderr, "review_bench: %s\n", a->err);
			exit(1);
		}
		t[i] = (now() - t0) * 1000;
	}
	for (i = 0; i < REPEAT; i++)
		for (j = i + 1; j < REPEAT; j++)
			if (t[j] < t[i])
				x = t[i], t[i] = t[j], t[j] = x;
	return t[REPEAT / 2];
}

static double baseline_like(const char *path, const char *w, long *rows)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char pat[64];
	double t0;

	sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	snprintf(pat, sizeof(pat), "%%%s%%", w);
	sqlite3_prepare_v2(db, "SELECT id FROM messages WHERE eventdata LIKE ? ORDER BY id DESC", -1,
			   &st, NULL);
	sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
	t0 = now();
	*rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW)
		(*rows)++;
	t0 = (now() - t0) * 1000;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return t0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "build/bench/review.db";
	long n = argc > 2 ? atol(argv[2]) : 1000000, rows, base_rows;
	struct archive_spec spec = { .kind = ARCHIVE_SQLITE, .path = path };
	struct archive a;
	struct review_query q;
	struct row_list list;
	struct conversation_set set;
	double base, ms, t0;
	char common[32];

	if (build(path, n) < 0 || archive_open(&a, &spec) < 0)
		return 1;
	base = baseline_like(path, "zanzibarquartz", &base_rows);
	printf("baseline: full scan LIKE '%%zanzibarquartz%%': %.1f ms, %ld rows\n", base, base_rows);
	printf("%-52s %10s %8s %10s\n", "query (median of 5)", "ms", "rows", "baseline/x");

#define SHOW(label)                                                                       \
	do {                                                                              \
		ms = timed(&a, &q, &rows);                                                \
		printf("%-52s %10.2f %8ld %10.1f\n", label, ms, rows, base / (ms > 0.001 ? ms : 0.001)); \
	} while (0)

	review_query_init(&q);
	q.text = "zanzibarquartz";
	q.limit = 100;
	q.newest_first = true;
	SHOW("search rare word (FTS5), newest 100");
	word(common, sizeof(common), 3);
	review_query_init(&q);
	q.text = common;
	q.limit = 100;
	q.newest_first = true;
	SHOW("search common word (FTS5), newest 100");
	review_query_init(&q);
	q.text = common;
	q.local = "user77";
	q.limit = 100;
	q.newest_first = true;
	SHOW("search common word + local id, newest 100");
	review_query_init(&q);
	q.local = "user77";
	q.limit = 100;
	q.newest_first = true;
	SHOW("by local id, newest 100");
	review_query_init(&q);
	q.remote = "peer1010";
	q.since = 1600000000 + 300000;
	q.until = 1600000000 + 900000;
	SHOW("by remote id and a time range (all)");
	review_query_init(&q);
	q.since = 1600000000 + 1500000;
	q.until = 1600000000 + 1503600;
	SHOW("one hour, all events");
	review_query_init(&q);
	q.hits_only = true;
	q.limit = 100;
	q.newest_first = true;
	SHOW("policy hits, newest 100");
	/* Conversations of one user: the reader's query and the threading. */
	review_query_init(&q);
	q.local = "user77";
	q.threads_only = true;
	q.by_time = true;
	t0 = now();
	if (archive_collect(&a, &q, &list) < 0 || thread_build(&list, 1800, &set) < 0)
		return 1;
	ms = (now() - t0) * 1000;
	printf("%-52s %10.2f %8zu %10.1f\n", "conversations of one local id (threads)", ms, set.n,
	       base / ms);
	conversation_set_free(&set);
	row_list_free(&list);
	archive_close(&a);
	return 0;
}
