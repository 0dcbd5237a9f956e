#include "nfq/nfq_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* One line a bound queue, about 60 bytes; 65 536 queues at most. */
#define PROC_MAX_BYTES (65536u * 96u)
#define PROC_FIRST_READ 4096u

/* The fields of a line, in the kernel's order (nfnetlink_queue.c,
 * seq_show): queue number, peer port id, waiting, copy mode, copy range,
 * queue dropped, user dropped, id sequence, and a constant 1. */
enum { F_NUM, F_PORTID, F_TOTAL, F_MODE, F_RANGE, F_QDROP, F_UDROP, F_IDSEQ, F_ONE, N_FIELDS };

int nfqueue_proc_open(void)
{
	return open(NFQUEUE_PROC_PATH, O_RDONLY | O_CLOEXEC);
}

/* An unsigned decimal field after blanks; false at the line's end or on
 * anything else. The kernel prints id_sequence and the rest as unsigned
 * 32-bit values; more digits than 20 is not its text. */
static bool field(const char *text, size_t len, size_t *pos, uint64_t *v)
{
	size_t p = *pos, digits = 0;
	uint64_t n = 0;

	while (p < len && (text[p] == ' ' || text[p] == '\t'))
		p++;
	while (p < len && text[p] >= '0' && text[p] <= '9') {
		if (++digits > 20 || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(text[p] - '0');
		p++;
	}
	if (!digits || (p < len && text[p] != ' ' && text[p] != '\t' && text[p] != '\n'))
		return false;
	*pos = p;
	*v = n;
	return true;
}

int nfqueue_proc_parse(const char *text, size_t len, uint16_t num,
		       struct nfqueue_kernel_counts *out)
{
	uint64_t f[N_FIELDS];
	size_t pos = 0;
	int i;

	while (pos < len) {
		for (i = 0; i < N_FIELDS; i++)
			if (!field(text, len, &pos, &f[i]))
				return -1;
		while (pos < len && (text[pos] == ' ' || text[pos] == '\t'))
			pos++;
		if (pos < len && text[pos++] != '\n')
			return -1; /* more fields than the kernel prints */
		if (f[F_NUM] == num) {
			out->waiting = f[F_TOTAL];
			out->queue_dropped = f[F_QDROP];
			out->user_dropped = f[F_UDROP];
			return 1;
		}
	}
	return 0;
}

int nfqueue_proc_read(int fd, uint16_t num, struct nfqueue_kernel_counts *out)
{
	size_t cap = PROC_FIRST_READ, len = 0;
	char *buf = malloc(cap), *grown;
	ssize_t n;
	int rc;

	if (!buf)
		return -1;
	for (;;) {
		if (len == cap) {
			if (cap >= PROC_MAX_BYTES || !(grown = realloc(buf, cap * 2))) {
				free(buf);
				return -1;
			}
			buf = grown;
			cap *= 2;
		}
		/* a seq_file: read from offset 0 each time, to its end */
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = nfqueue_proc_parse(buf, len, num, out);
	free(buf);
	return rc;
}
