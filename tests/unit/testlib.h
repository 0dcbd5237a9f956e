/* A minimal unit-test harness. Each test binary prints one line per test
 * ("PASS name" / "FAIL name") that tests/run.sh counts, and exits non-zero
 * if any failed. Checks report file:line and continue. */
#ifndef IMW_TESTLIB_H
#define IMW_TESTLIB_H

#include <stdio.h>
#include <string.h>

static int testlib_failures_in_test;
static int testlib_passed;
static int testlib_failed;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                \
			testlib_failures_in_test++;                                    \
		}                                                                      \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                               \
	do {                                                                             \
		long long testlib_a = (long long)(a), testlib_b = (long long)(b);        \
		if (testlib_a != testlib_b) {                                            \
			fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
				__LINE__, #a, #b, testlib_a, testlib_b);                 \
			testlib_failures_in_test++;                                      \
		}                                                                        \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                  \
	do {                                                                                \
		const char *testlib_sa = (a), *testlib_sb = (b);                            \
		if (!testlib_sa || !testlib_sb || strcmp(testlib_sa, testlib_sb) != 0) {    \
			fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, \
				__LINE__, #a, #b, testlib_sa ? testlib_sa : "(null)",       \
				testlib_sb ? testlib_sb : "(null)");                        \
			testlib_failures_in_test++;                                         \
		}                                                                           \
	} while (0)

#define CHECK_MEM_EQ(a, b, n)                                                                \
	do {                                                                                 \
		if (memcmp((a), (b), (n)) != 0) {                                            \
			fprintf(stderr, "  %s:%d: memory %s == %s failed\n", __FILE__, __LINE__, \
				#a, #b);                                                     \
			testlib_failures_in_test++;                                          \
		}                                                                            \
	} while (0)

#define RUN_TEST(fn)                                                 \
	do {                                                         \
		testlib_failures_in_test = 0;                        \
		fn();                                                \
		if (testlib_failures_in_test) {                      \
			printf("FAIL %s\n", #fn);                    \
			testlib_failed++;                            \
		} else {                                             \
			printf("PASS %s\n", #fn);                    \
			testlib_passed++;                            \
		}                                                    \
		fflush(stdout);                                      \
	} while (0)

#define TEST_MAIN_END() \
	return testlib_failed ? 1 : 0

#endif
