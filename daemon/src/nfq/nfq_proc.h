/* The kernel's own counts of a queue, from /proc/net/netfilter/
 * nfnetlink_queue: what it could not queue to us never reaches the
 * queue socket, so only the kernel knows it (with queue_overflow=drop,
 * a packet dropped while the queue was full; its sender resends it).
 *
 * The file is opened once, before the sandbox and the drop of
 * privileges, in the daemon's network namespace; any thread may read it
 * (each read starts again at offset 0). */
#ifndef IMW_NFQ_PROC_H
#define IMW_NFQ_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFQUEUE_PROC_PATH "/proc/net/netfilter/nfnetlink_queue"

struct nfqueue_kernel_counts {
	uint64_t waiting;       /* queue_total: queued, no verdict yet */
	uint64_t queue_dropped; /* the queue was full (queue_maxlen) */
	uint64_t user_dropped;  /* our socket's buffer was full (ENOBUFS) */
};

/* The file's descriptor, or -1 (errno set). */
int nfqueue_proc_open(void);

/* Queue num's counts, parsed from the file's text. 1 when found, 0 when
 * the queue is not bound, -1 when the text is not the kernel's format. */
int nfqueue_proc_parse(const char *text, size_t len, uint16_t num,
		       struct nfqueue_kernel_counts *out);

/* Read the file (fd from nfqueue_proc_open) and parse it: as above, and
 * -1 on a read error or an overlong file. */
int nfqueue_proc_read(int fd, uint16_t num, struct nfqueue_kernel_counts *out);

#endif
