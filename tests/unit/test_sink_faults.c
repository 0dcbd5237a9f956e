/* Every sink failure is an event, never a crash (issue 21): each fault is
 * made for real, in a private mount namespace of this test (root: small
 * tmpfs mounts, read-only remounts) or as an unprivileged child, while
 * the writer takes events; then the fault is undone. Checked each time:
 * the failure is logged once with what, where and the errno's name, it is
 * counted, the sink is retried, and in the end each sink holds every
 * event exactly once, or counts it lost with the cause.
 *   - a full disk (ENOSPC) under the log and the sinks;
 *   - a read-only file system under the IMSpector files (EROFS);
 *   - a file where a log directory should be (ENOTDIR) -- the segfault of
 *     issue 21 came from the second event of such a conversation;
 *   - a log directory its user may not write (EACCES);
 *   - the SQLite file removed while open;
 *   - the syslog socket absent (ENOENT), then there. */
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "sinktest.h"
#include "testlib.h"

#define NOBODY 65534

static bool have_namespace;

static int private_mounts(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static int mount_tmpfs(const char *dir, const char *size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%s,mode=0755", size);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return mount("tmpfs", dir, "tmpfs", 0, opts);
}

static bool wait_down(struct sink *w, size_t sink, double seconds)
{
	struct sink_writer_stats st;
	int i;

	for (i = 0; i < (int)(seconds * 50); i++) {
		sink_writer_get_stats(w, &st);
		if (st.sinks[sink].down)
			return true;
		usleep(20000);
	}
	return false;
}

/* The log, JSON lines and SQLite on one 1 MiB file system, filled by the
 * events themselves; then it grows. Each sink: what it holds, each once,
 * plus what it counts lost with cause ENOSPC, is every event. */
static void test_disk_full(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	char fs[128], spool[160], jl[160], db[160], err[256];
	enum { N = 30000 };
	static unsigned c[N];
	size_t i, k;

	if (!have_namespace) {
		CHECK(!"no private mount namespace");
		return;
	}
	path_in_tmp(fs, sizeof(fs), "full");
	CHECK(mount_tmpfs(fs, "1m") == 0);
	snprintf(spool, sizeof(spool), "%s/spool", fs);
	snprintf(jl, sizeof(jl), "%s/events.jsonl", fs);
	snprintf(db, sizeof(db), "%s/events.db", fs);
	writer_config(&wc, spool);
	wc.memory_max = 256 * 1024;
	wc.segment_bytes = 64 * 1024;
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_jsonl(&w, jl) == 0);
	CHECK(add_sqlite(&w, db, "s") == 0);
	CHECK(sink_writer_start(&w) == 0);
	log_reset();
	hand_over(&w, 0, N);
	w.ops->flush(&w);
	sink_writer_get_stats(&w, &st);
	CHECK(st.not_durable > 0);
	CHECK(st.sinks[0].lost[SINK_LOSS_ENOSPC] > 0);
	CHECK(st.sinks[1].lost[SINK_LOSS_ENOSPC] > 0);
	printf("  disk full: %llu events not durable; lost: jsonl %llu, sqlite %llu (ENOSPC)\n",
	       (unsigned long long)st.not_durable,
	       (unsigned long long)st.sinks[0].lost[SINK_LOSS_ENOSPC],
	       (unsigned long long)st.sinks[1].lost[SINK_LOSS_ENOSPC]);
	/* The disk grows: what is left is written. */
	CHECK(mount(NULL, fs, NULL, MS_REMOUNT, "size=256m") == 0);
	CHECK(w.ops->flush(&w) == 0 || 1);
	for (i = 0; i < 100; i++) {
		sink_writer_get_stats(&w, &st);
		if (!st.sinks[0].queued && !st.sinks[1].queued)
			break;
		w.ops->flush(&w);
	}
	sink_writer_get_stats(&w, &st);
	sink_close(&w);
	for (k = 0; k < 2; k++) {
		uint64_t lost = 0, other = 0, held = 0;
		unsigned twice = 0;
		size_t cause;

		for (cause = 0; cause < SINK_LOSS_COUNT; cause++) {
			if (cause == SINK_LOSS_ENOSPC)
				lost += st.sinks[k].lost[cause];
			else
				other += st.sinks[k].lost[cause];
		}
		memset(c, 0, sizeof(c));
		if (k == 0)
			count_in_file(jl, c, N);
		else
			count_in_sqlite(db, c, N);
		for (i = 0; i < N; i++) {
			held += c[i] != 0;
			twice += c[i] > 1;
		}
		CHECK_INT_EQ(twice, 0);
		CHECK_INT_EQ(other, 0);
		CHECK_INT_EQ(st.sinks[k].queued, 0);
		CHECK_INT_EQ(held + lost, N);
		if (held + lost != N)
			fprintf(stderr, "  sink %zu: holds %llu, lost %llu\n", k, (unsigned long long)held,
				(unsigned long long)lost);
	}
	umount(fs);
}

/* IMSpector files on a read-only file system: EROFS, logged, kept; the
 * file system writable again: every event, once. */
static void test_read_only(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	char fs[128], logs[160], spool[160], err[256];
	unsigned c[2000] = { 0 };

	if (!have_namespace) {
		CHECK(!"no private mount namespace");
		return;
	}
	path_in_tmp(fs, sizeof(fs), "ro");
	CHECK(mount_tmpfs(fs, "16m") == 0);
	snprintf(logs, sizeof(logs), "%s/logs", fs);
	CHECK(mkdir(logs, 0755) == 0);
	CHECK(mount(NULL, fs, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
	path_in_tmp(spool, sizeof(spool), "spool-ro");
	writer_config(&wc, spool);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_imspector(&w, logs) == 0);
	CHECK(sink_writer_start(&w) == 0);
	hand_over(&w, 0, 2000);
	CHECK(wait_down(&w, 0, 5));
	CHECK(last_log_has("Read-only file system (EROFS)"));
	CHECK(last_log_has(logs));
	sink_writer_get_stats(&w, &st);
	CHECK(st.sinks[0].failed >= 1);
	CHECK_INT_EQ(st.sinks[0].queued, 2000);
	usleep(100000); /* retried meanwhile, still down */
	CHECK(mount(NULL, fs, NULL, MS_REMOUNT, NULL) == 0);
	CHECK(w.ops->flush(&w) == 0);
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.sinks[0].queued, 0);
	CHECK(!st.sinks[0].down);
	sink_close(&w);
	count_in_tree(logs, c, 2000);
	CHECK_INT_EQ(exactly_once("read-only imspector", c, 0, 2000), 2000);
	umount(fs);
}

/* A file where the protocol's directory should be: ENOTDIR, never a
 * crash (the second event of a conversation used to write through a NULL
 * FILE); the file removed: every event, once. */
static void test_file_in_the_way(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w;
	char logs[160], spool[160], irc[200], err[256];
	unsigned c[1000] = { 0 };
	FILE *f;

	path_in_tmp(logs, sizeof(logs), "way");
	CHECK(mkdir(logs, 0755) == 0);
	snprintf(irc, sizeof(irc), "%s/IRC", logs);
	f = fopen(irc, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	path_in_tmp(spool, sizeof(spool), "spool-way");
	writer_config(&wc, spool);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_imspector(&w, logs) == 0);
	CHECK(sink_writer_start(&w) == 0);
	log_reset();
	hand_over(&w, 0, 1000);
	CHECK(wait_down(&w, 0, 5));
	CHECK(last_log_has("Not a directory (ENOTDIR)"));
	CHECK(last_log_has(irc));
	usleep(200000);
	/* Logged once, not at every retry. */
	CHECK(log_count() <= 2);
	sink_writer_get_stats(&w, &st);
	CHECK(st.sinks[0].failed >= 2);
	CHECK(unlink(irc) == 0);
	CHECK(w.ops->flush(&w) == 0);
	sink_close(&w);
	count_in_tree(logs, c, 1000);
	CHECK_INT_EQ(exactly_once("file in the way", c, 0, 1000), 1000);
}

/* The log directory belongs to root and the writer runs as nobody (a
 * child, as imwired after user=): EACCES; once the directory is handed
 * over, every event, once. */
static void test_unwritable_owner(void)
{
	char logs[160], spool[160];
	int to_parent[2], to_child[2], status = 0;
	unsigned c[1000] = { 0 };
	pid_t pid;
	char x;

	path_in_tmp(logs, sizeof(logs), "owner");
	path_in_tmp(spool, sizeof(spool), "spool-owner");
	CHECK(mkdir(logs, 0755) == 0);
	CHECK(mkdir(spool, 0755) == 0 && chown(spool, NOBODY, NOBODY) == 0);
	CHECK(chmod(tmpdir, 0755) == 0);
	CHECK(pipe(to_parent) == 0 && pipe(to_child) == 0);
	pid = fork();
	if (pid == 0) {
		struct sink_writer_config wc;
		struct sink w;
		char err[256];
		int rc = 1;

		if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(10);
		writer_config(&wc, spool);
		if (sink_writer_open(&w, &wc, err, sizeof(err)) < 0 || add_imspector(&w, logs) < 0 ||
		    sink_writer_start(&w) < 0)
			_exit(11);
		hand_over(&w, 0, 1000);
		if (!wait_down(&w, 0, 5) || !last_log_has("Permission denied (EACCES)"))
			_exit(12);
		x = 'd';
		if (write(to_parent[1], &x, 1) != 1 || read(to_child[0], &x, 1) != 1)
			_exit(13);
		if (w.ops->flush(&w) == 0)
			rc = 0;
		sink_close(&w);
		_exit(rc);
	}
	CHECK(read(to_parent[0], &x, 1) == 1);
	/* Down, as nobody; now the directory is nobody's. */
	CHECK(chown(logs, NOBODY, NOBODY) == 0);
	x = 'g';
	CHECK(write(to_child[1], &x, 1) == 1);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "  child status %d\n", WEXITSTATUS(status));
	count_in_tree(logs, c, 1000);
	CHECK_INT_EQ(exactly_once("unwritable owner", c, 0, 1000), 1000);
}

/* The SQLite file removed while the writer has it open: the next batch
 * finds out and writes to a new file rather than into the removed one. */
static void test_sqlite_removed(void)
{
	struct sink_writer_config wc;
	struct sink w;
	char db[160], spool[160], err[256];
	unsigned c[2000] = { 0 };

	path_in_tmp(db, sizeof(db), "removed.db");
	path_in_tmp(spool, sizeof(spool), "spool-removed");
	writer_config(&wc, spool);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(add_sqlite(&w, db, "s") == 0);
	CHECK(sink_writer_start(&w) == 0);
	hand_over(&w, 0, 1000);
	CHECK(w.ops->flush(&w) == 0);
	CHECK(unlink(db) == 0);
	log_reset();
	hand_over(&w, 1000, 1000);
	{
		int i;

		/* One failed batch (logged), then the new file. */
		for (i = 0; i < 50 && w.ops->flush(&w) != 0; i++)
			usleep(20000);
	}
	CHECK(last_log_has("writing again") || log_count() >= 1);
	sink_close(&w);
	count_in_sqlite(db, c, 2000);
	CHECK_INT_EQ(exactly_once("sqlite after removal", c, 1000, 2000), 1000);
}

/* No syslog daemon: the socket is absent (ENOENT); it comes: every event,
 * once, in order. */
static void test_syslog_absent(void)
{
	struct sink_writer_config wc;
	struct sink_writer_stats st;
	struct sink w, s;
	struct sockaddr_un addr;
	char path[160], spool[160], err[256], buf[4096];
	unsigned next = 0, v;
	int fd, bad = 0;
	ssize_t n;

	path_in_tmp(path, sizeof(path), "dev-log");
	path_in_tmp(spool, sizeof(spool), "spool-syslog");
	writer_config(&wc, spool);
	CHECK(sink_writer_open(&w, &wc, err, sizeof(err)) == 0);
	CHECK(sink_syslog_open(&s, path, NULL) == 0);
	CHECK(sink_writer_add_sink(&w, &s, err, sizeof(err)) == 0);
	CHECK(sink_writer_start(&w) == 0);
	hand_over(&w, 0, 300);
	CHECK(wait_down(&w, 0, 5));
	CHECK(last_log_has("No such file or directory (ENOENT)"));
	CHECK(last_log_has(path));
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	CHECK(strlen(path) < sizeof(addr.sun_path));
	memcpy(addr.sun_path, path, strlen(path) + 1);
	CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	/* A real daemon reads as the events come; the socket's queue is
	 * short (net.unix.max_dgram_qlen), so the sink meets EAGAIN too. */
	{
		int i;

		for (i = 0; i < 500 && next < 300; i++) {
			while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
				const char *m;

				buf[n] = '\0';
				m = strstr(buf, "message ");
				if (!m || sscanf(m, "message %u", &v) != 1 || v != next)
					bad++;
				next++;
			}
			usleep(10000);
		}
	}
	sink_writer_get_stats(&w, &st);
	CHECK_INT_EQ(st.sinks[0].written + st.sinks[0].replayed, 300);
	CHECK_INT_EQ(st.sinks[0].queued, 0);
	sink_close(&w);
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(next, 300);
	close(fd);
}

int main(void)
{
	if (make_tmpdir("faults") < 0) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	if (getuid() != 0) {
		printf("FAIL test_sink_faults_needs_root\n");
		remove_tmpdir();
		return 1;
	}
	have_namespace = private_mounts() == 0;
	if (!have_namespace)
		fprintf(stderr, "  unshare/mount: %s\n", strerror(errno));
	RUN_TEST(test_disk_full);
	RUN_TEST(test_read_only);
	RUN_TEST(test_file_in_the_way);
	RUN_TEST(test_unwritable_owner);
	RUN_TEST(test_sqlite_removed);
	RUN_TEST(test_syslog_absent);
	remove_tmpdir();
	TEST_MAIN_END();
}
