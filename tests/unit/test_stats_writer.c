/* The writer's part of the statistics file (stats/stats_file.c): every
 * hand-over counter and, per sink, queued, written, replayed, spooled,
 * failed, lag, down and lost by cause, as `imwire stats` prints them; a
 * sink name with quotes and backslashes stays valid JSON. */
#include <stdio.h>
#include <string.h>

#include "stats/stats_file.h"
#include "testlib.h"

static void test_writer_section(void)
{
	struct stats_snapshot s;
	struct sink_writer_stats w;
	char buf[65536], out[65536];
	size_t n;
	FILE *f;

	memset(&s, 0, sizeof(s));
	memset(&w, 0, sizeof(w));
	snprintf(s.name, sizeof(s.name), "queue 0");
	w.submits = 7;
	w.events = 1234;
	w.append_max_ns = 99;
	w.pressure = true;
	w.n_sinks = 2;
	snprintf(w.sinks[0].name, sizeof(w.sinks[0].name), "jsonl /log/a \"b\"\\c");
	w.sinks[0].written = 1000;
	w.sinks[0].lost[SINK_LOSS_ENOSPC] = 3;
	snprintf(w.sinks[1].name, sizeof(w.sinks[1].name), "sqlite /x.db");
	w.sinks[1].queued = 234;
	w.sinks[1].lag = 1.5;
	w.sinks[1].down = true;
	f = fmemopen(buf, sizeof(buf), "w");
	CHECK(f && stats_write_json(f, &s, 1, &w, 1.0) == 0);
	n = f ? (size_t)ftell(f) : 0;
	if (f)
		fclose(f);
	f = fmemopen(out, sizeof(out), "w");
	CHECK(f && stats_pretty_print(buf, n, f) == 0);
	if (f) {
		out[ftell(f)] = '\0';
		fclose(f);
	}
	CHECK(strstr(out, "\nwriter:\n  submits: 7\n  events: 1234\n") != NULL);
	CHECK(strstr(out, "  append_max_ns: 99\n") != NULL);
	CHECK(strstr(out, "  pressure: 1\n") != NULL);
	CHECK(strstr(out, "    [0]:\n      name: jsonl /log/a \\\"b\\\"\\\\c\n") != NULL);
	CHECK(strstr(out, "      written: 1000\n") != NULL);
	CHECK(strstr(out, "        enospc: 3\n") != NULL);
	CHECK(strstr(out, "    [1]:\n      name: sqlite /x.db\n      queued: 234\n") != NULL);
	CHECK(strstr(out, "      lag: 1.500\n      down: 1\n") != NULL);
	CHECK(strstr(out, "        rejected: 0\n") != NULL);
}

static void test_no_writer(void)
{
	struct stats_snapshot s;
	char buf[65536];
	FILE *f;

	memset(&s, 0, sizeof(s));
	f = fmemopen(buf, sizeof(buf), "w");
	CHECK(f && stats_write_json(f, &s, 1, NULL, 1.0) == 0);
	if (f) {
		buf[ftell(f)] = '\0';
		fclose(f);
	}
	CHECK(strstr(buf, "\"writer\"") == NULL);
}

int main(void)
{
	RUN_TEST(test_writer_section);
	RUN_TEST(test_no_writer);
	TEST_MAIN_END();
}
