/* The client side of the control socket, for `imwire sessions`, `tail`
 * and `reload`. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/control.h"

int control_connect(const char *path, char *err, size_t err_size)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_size, "%s: path too long for a socket", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int control_request(int fd, const char *request, FILE *out, unsigned long max_lines, char *err,
		    size_t err_size)
{
	char buf[8192];
	unsigned long lines = 0;
	size_t len = strlen(request), i, start;
	ssize_t n;

	while (len) {
		n = send(fd, request, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, err_size, "sending the request: %s", strerror(errno));
			return -1;
		}
		request += n;
		len -= (size_t)n;
	}
	if (send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		snprintf(err, err_size, "sending the request: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, err_size, "reading the answer: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		if (!max_lines) {
			fwrite(buf, 1, (size_t)n, out);
			fflush(out);
			continue;
		}
		for (i = 0, start = 0; i < (size_t)n; i++) {
			if (buf[i] != '\n')
				continue;
			fwrite(buf + start, 1, i + 1 - start, out);
			start = i + 1;
			if (++lines == max_lines) {
				fflush(out);
				return 0;
			}
		}
		fwrite(buf + start, 1, (size_t)n - start, out);
		fflush(out);
	}
	return ferror(out) ? -1 : 0;
}
