/* nfq/nfq_proc.c: the kernel's counts of a queue, parsed from the text of
 * /proc/net/netfilter/nfnetlink_queue (its seq_show format: queue number,
 * peer port id, waiting, copy mode, copy range, queue dropped, user
 * dropped, id sequence, 1), and read through a descriptor from offset 0
 * every time, as the workers do with the daemon's one descriptor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nfq/nfq_proc.h"
#include "testlib.h"

/* Two bound queues, as the kernel prints them (%5u %6u %5u %1u %5u %5u
 * %5u %8u %2d). */
static const char two[] = "    0 1234567     3 2 65535   17     2      812  1\n"
			  "    5   4242     0 2 65535     0 123456        9  1\n";

static void test_finds_its_queue(void)
{
	struct nfqueue_kernel_counts k;

	memset(&k, 0xff, sizeof(k));
	CHECK_INT_EQ(nfqueue_proc_parse(two, strlen(two), 0, &k), 1);
	CHECK_INT_EQ(k.waiting, 3);
	CHECK_INT_EQ(k.queue_dropped, 17);
	CHECK_INT_EQ(k.user_dropped, 2);
	CHECK_INT_EQ(nfqueue_proc_parse(two, strlen(two), 5, &k), 1);
	CHECK_INT_EQ(k.waiting, 0);
	CHECK_INT_EQ(k.queue_dropped, 0);
	CHECK_INT_EQ(k.user_dropped, 123456);
}

static void test_unbound_queue(void)
{
	struct nfqueue_kernel_counts k = { 7, 7, 7 };

	CHECK_INT_EQ(nfqueue_proc_parse(two, strlen(two), 1, &k), 0);
	CHECK_INT_EQ(nfqueue_proc_parse("", 0, 0, &k), 0);
	/* untouched when not found */
	CHECK_INT_EQ(k.queue_dropped, 7);
}

static void test_not_the_kernels_text(void)
{
	static const char *const bad[] = {
		"    0 1 2 3 4 5 6 7\n",                 /* a field short */
		"    0 1 2 3 4 5 6 7 1 9\n",             /* a field more */
		"    0 1 2 3 4 x 6 7 1\n",               /* not a number */
		"    0 1 2 3 4 -5 6 7 1\n",              /* signed */
		"    0 1 2 3 4 123456789012345678901 6 7 1\n", /* past 64 bits */
		"queue 0\n",
	};
	struct nfqueue_kernel_counts k;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT_EQ(nfqueue_proc_parse(bad[i], strlen(bad[i]), 0, &k), -1);
	/* the last line without its newline (a short read) is still whole */
	CHECK_INT_EQ(nfqueue_proc_parse(two, strlen(two) - 1, 5, &k), 1);
	CHECK_INT_EQ(k.user_dropped, 123456);
}

/* Read through a descriptor, twice (each read starts at offset 0), and a
 * file far longer than the first read's buffer. */
static void test_read_through_fd(void)
{
	char path[] = "/tmp/imw_nfq_proc_XXXXXX";
	struct nfqueue_kernel_counts k;
	int fd = mkstemp(path);
	FILE *f;
	unsigned q;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(dup(fd), "w");
	CHECK(f != NULL);
	if (!f) {
		close(fd);
		unlink(path);
		return;
	}
	for (q = 0; q < 2000; q++) /* about 100 KB */
		fprintf(f, "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n", q, 100 + q, q % 7, 2, 65535,
			q * 3, q * 5, q * 11, 1);
	fclose(f);
	CHECK_INT_EQ(nfqueue_proc_read(fd, 1999, &k), 1);
	CHECK_INT_EQ(k.queue_dropped, 1999 * 3);
	CHECK_INT_EQ(k.user_dropped, 1999 * 5);
	CHECK_INT_EQ(nfqueue_proc_read(fd, 3, &k), 1);
	CHECK_INT_EQ(k.waiting, 3);
	CHECK_INT_EQ(nfqueue_proc_read(fd, 2000, &k), 0);
	close(fd);
	unlink(path);
	CHECK_INT_EQ(nfqueue_proc_read(-1, 0, &k), -1);
}

int main(void)
{
	RUN_TEST(test_finds_its_queue);
	RUN_TEST(test_unbound_queue);
	RUN_TEST(test_not_the_kernels_text);
	RUN_TEST(test_read_through_fd);
	TEST_MAIN_END();
}
