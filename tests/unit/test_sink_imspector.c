/* The IMSpector file sink's descriptors (sink/sink_imspector.c): it keeps
 * files open between flushes, so a file the operator removes, renames or
 * replaces (or whose directory goes) is noticed, and lines after that go
 * to the path again; thousands of files write every line once, with the
 * descriptors held open bounded by a quarter of RLIMIT_NOFILE. */
#include <sys/resource.h>

#include "sinktest.h"
#include "testlib.h"

/* Message i from alice to remote, at a fixed day. */
static void put(struct sink *s, unsigned i, const char *remote)
{
	struct im_event ev;

	make_event(&ev, i, IM_KIND_MESSAGE);
	event_set_str(&ev.remote, remote);
	ev.ts = 1700000000.5; /* one day: one file a remote */
	CHECK(sink_write(s, &ev) == 0);
	event_free(&ev);
}

/* The one file under dir/IRC/alice/remote (its day), in out. */
static bool day_file(const char *dir, const char *remote, char *out, size_t n)
{
	char d[512];
	DIR *dd;
	struct dirent *de;
	bool found = false;

	snprintf(d, sizeof(d), "%s/IRC/alice/%s", dir, remote);
	dd = opendir(d);
	if (!dd)
		return false;
	while ((de = readdir(dd)))
		if (de->d_name[0] != '.' && !found) {
			snprintf(out, n, "%s/%s", d, de->d_name);
			found = true;
		}
	closedir(dd);
	return found;
}

static unsigned count_one(const char *path, unsigned i)
{
	unsigned c[64] = { 0 };

	count_in_file(path, c, 64);
	return i < 64 ? c[i] : 0;
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_removed_renamed_replaced(void)
{
	struct sink s;
	char dir[128], f[640], moved[700], cmd[800];

	path_in_tmp(dir, sizeof(dir), "logs");
	CHECK(sink_imspector_open_dir(&s, dir, 0) == 0);
	put(&s, 0, "bob");
	CHECK(s.ops->flush(&s) == 0);
	CHECK(day_file(dir, "bob", f, sizeof(f)));
	CHECK_INT_EQ(count_one(f, 0), 1);

	/* Removed while open: after the recheck interval, the path again. */
	CHECK(unlink(f) == 0);
	sleep(2);
	put(&s, 1, "bob");
	CHECK(s.ops->flush(&s) == 0);
	CHECK_INT_EQ(count_one(f, 1), 1);

	/* Renamed away (rotation): new lines to a new file at the path. */
	snprintf(moved, sizeof(moved), "%s.1", f);
	CHECK(rename(f, moved) == 0);
	sleep(2);
	put(&s, 2, "bob");
	CHECK(s.ops->flush(&s) == 0);
	CHECK_INT_EQ(count_one(f, 2), 1);
	CHECK_INT_EQ(count_one(moved, 2), 0);
	CHECK_INT_EQ(count_one(moved, 1), 1);

	/* Replaced by another file: appended to that one. */
	CHECK(unlink(f) == 0);
	{
		FILE *o = fopen(f, "w");

		CHECK(o != NULL);
		if (o) {
			fputs("operator's line\n", o);
			fclose(o);
		}
	}
	sleep(2);
	put(&s, 3, "bob");
	CHECK(s.ops->flush(&s) == 0);
	CHECK_INT_EQ(count_one(f, 3), 1);
	CHECK_INT_EQ(count_one(f, 2), 0);

	/* The directories above removed: made again. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/IRC'", dir);
	CHECK(system(cmd) == 0);
	sleep(2);
	put(&s, 4, "bob");
	CHECK(s.ops->flush(&s) == 0);
	CHECK(day_file(dir, "bob", f, sizeof(f)));
	CHECK_INT_EQ(count_one(f, 4), 1);
	sink_close(&s);
}

/* 3000 files with RLIMIT_NOFILE at 256: at most 64 held open, every line
 * written once, in order within its file. */
static void test_many_files_bounded(void)
{
	struct rlimit old, low;
	struct sink s;
	char dir[128], remote[32];
	unsigned i, round, base, peak = 0;
	unsigned *c;

	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	low.rlim_cur = 256;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	base = open_fds();
	path_in_tmp(dir, sizeof(dir), "many");
	CHECK(sink_imspector_open_dir(&s, dir, 0) == 0);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 3000; i++) {
			snprintf(remote, sizeof(remote), "r%u", i);
			put(&s, round * 3000 + i, remote);
		}
		CHECK(s.ops->flush(&s) == 0);
		if (open_fds() - base > peak)
			peak = open_fds() - base;
	}
	CHECK(peak <= 64);
	sink_close(&s);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	c = calloc(9000, sizeof(*c));
	CHECK(c != NULL);
	if (!c)
		return;
	count_in_tree(dir, c, 9000);
	CHECK_INT_EQ(exactly_once("many files", c, 0, 9000), 9000);
	free(c);
	/* Each file: its three rounds, in order. */
	{
		char f[640], line[512];
		FILE *in;
		unsigned n = 0, prev = 0, v;

		CHECK(day_file(dir, "r1234", f, sizeof(f)));
		in = fopen(f, "r");
		CHECK(in != NULL);
		while (in && fgets(line, sizeof(line), in)) {
			const char *m = strstr(line, "message ");

			CHECK(m && sscanf(m, "message %u ", &v) == 1);
			CHECK(n == 0 || v > prev);
			prev = v;
			n++;
		}
		if (in)
			fclose(in);
		CHECK_INT_EQ(n, 3);
	}
}

int main(void)
{
	if (make_tmpdir("imspector") < 0) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	RUN_TEST(test_removed_renamed_replaced);
	RUN_TEST(test_many_files_bounded);
	remove_tmpdir();
	TEST_MAIN_END();
}
