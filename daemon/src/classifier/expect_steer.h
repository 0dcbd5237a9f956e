/* Steering expected connections (file transfers, #20): each connection
 * a file offer announced (expect/, a tuple expectation) is entered in the
 * kernel classifier while it is expected, so that exactly that connection
 * reaches the queue: the tc classifier's pinned expect map (IMW_PIN_DIR/
 * expect, include/imwire/bpf_maps.h), and imwire.ko's
 * /sys/kernel/imwire/expect when the module is loaded. An entry leaves
 * when its connection came or its offer timed out; the kernel side also
 * stops steering on its own at the same deadline. */
#ifndef IMW_EXPECT_STEER_H
#define IMW_EXPECT_STEER_H

#include <stdint.h>

#include "expect/expect.h"

struct expect_steer {
	int map_fd;         /* the pinned expect map, or -1 */
	const char *sysfs;  /* imwire.ko's expect file, or NULL */
	uint64_t entered;   /* entries handed to the kernel */
	uint64_t removed;
	uint64_t failures;  /* map or sysfs writes refused */
};

/* Open what is there under pin_dir and in sysfs. 0 when some kernel
 * classifier takes entries, -1 when none does (s stays usable: every
 * call a no-op). */
int expect_steer_open(struct expect_steer *s, const char *pin_dir);
/* Use an already open expect map (tests); no sysfs. */
void expect_steer_use_fd(struct expect_steer *s, int map_fd);
/* Follow t's tuple entries from now on (expect_table_watch). */
void expect_steer_follow(struct expect_steer *s, struct expect_table *t);
void expect_steer_close(struct expect_steer *s);

#endif
