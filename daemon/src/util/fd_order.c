#include "util/fd_order.h"

#include <fcntl.h>
#include <unistd.h>

int fd_order_raise(int fd)
{
	int target, moved;

	if (fd < 0)
		return fd;
	/* F_DUPFD refuses a floor past RLIMIT_NOFILE: halve until it fits */
	for (target = FD_ORDER_HIGH; target > fd; target /= 2) {
		moved = fcntl(fd, F_DUPFD_CLOEXEC, target);
		if (moved >= 0) {
			close(fd);
			return moved;
		}
	}
	return fd;
}
