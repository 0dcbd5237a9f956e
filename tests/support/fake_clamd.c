#include "fake_clamd.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static bool read_full(int fd, void *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return false;
		p = (char *)p + r;
		n -= (size_t)r;
	}
	return true;
}

/* One INSTREAM: the command, chunks until a zero length; their size. */
static bool take_stream(int fd, uint64_t *total)
{
	char cmd[10], buf[4096];
	uint8_t len[4];
	uint32_t n;

	*total = 0;
	if (!read_full(fd, cmd, sizeof(cmd)) || memcmp(cmd, "zINSTREAM", 10) != 0)
		return false;
	while (read_full(fd, len, 4) &&
	       (n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3])) {
		while (n) {
			size_t k = n < sizeof(buf) ? n : sizeof(buf);

			if (!read_full(fd, buf, k))
				return false;
			n -= (uint32_t)k;
			*total += k;
		}
	}
	return true;
}

static void *fake_main(void *arg)
{
	struct fake_clamd *f = arg;
	int fd;

	while ((fd = accept(f->listener, NULL, NULL)) >= 0) {
		const char *answer = f->mode == FAKE_CLEAN   ? "stream: OK"
				     : f->mode == FAKE_FOUND ? "stream: Eicar-Test-Signature FOUND"
							     : "INSTREAM size limit exceeded. ERROR";
		uint64_t total;

		if (take_stream(fd, &total)) {
			f->last_size = total;
			if (f->mode == FAKE_SILENT)
				usleep(f->silent_ms * 1000);
			else if (write(fd, answer, strlen(answer) + 1) < 0)
				perror("fake clamd");
		}
		f->served++;
		close(fd);
	}
	return NULL;
}

bool fake_clamd_start(struct fake_clamd *f, enum fake_mode mode)
{
	static unsigned n;
	struct sockaddr_un sa;

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->silent_ms = 400;
	snprintf(f->path, sizeof(f->path), "/tmp/imwire-fake-clamd-%d-%u.sock", (int)getpid(), n++);
	unlink(f->path);
	f->listener = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	if (f->listener < 0 || bind(f->listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(f->listener, 8) < 0)
		return false;
	return pthread_create(&f->thread, NULL, fake_main, f) == 0;
}

void fake_clamd_stop(struct fake_clamd *f)
{
	shutdown(f->listener, SHUT_RDWR);
	close(f->listener);
	pthread_join(f->thread, NULL);
	unlink(f->path);
}
