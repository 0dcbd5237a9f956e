/* Capture bytes through zlib's gz* reader: it recognises gzip by its
 * magic and otherwise copies the file as it is ("transparent" reading),
 * so one code path serves plain files, compressed ones and pipes, where
 * nothing can be read twice. */
#include "capture/input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define GZ_BUFFER_BYTES (256u * 1024u)
#define DIRECT_BUFFER_BYTES (256u * 1024u)

int capture_input_open(struct capture_input *in, const char *path, char *err, size_t err_size)
{
	struct stat st;
	int fd;

	memset(in, 0, sizeof(*in));
	in->is_stdin = strcmp(path, "-") == 0;
	if (in->is_stdin) {
		fd = dup(STDIN_FILENO);
	} else {
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(err, err_size, "%s: is a directory, not a capture file", path);
			return -1;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	in->fd = fd;
	in->gz = gzdopen(fd, "rb");
	if (!in->gz) {
		close(fd);
		snprintf(err, err_size, "%s: out of memory", path);
		return -1;
	}
	gzbuffer(in->gz, GZ_BUFFER_BYTES);
	return 0;
}

void capture_input_close(struct capture_input *in)
{
	if (in->file)
		fclose(in->file); /* its cookie does not close the stream */
	if (in->gz)
		gzclose(in->gz);
	memset(in, 0, sizeof(*in));
}

/* Straight from zlib; -1 with in->error on a damaged stream. */
static long gz_read(struct capture_input *in, void *buf, size_t n)
{
	int got, code;
	const char *msg;

	if (n > (size_t)INT32_MAX)
		n = (size_t)INT32_MAX;
	got = gzread(in->gz, buf, (unsigned)n);
	if (got < 0 || (got < (int)n && !gzeof(in->gz))) {
		msg = gzerror(in->gz, &code);
		/* zlib names the file "<fd:N>: ": the caller names it better. */
		if (msg && strncmp(msg, "<fd:", 4) == 0 && strstr(msg, ": "))
			msg = strstr(msg, ": ") + 2;
		snprintf(in->error, sizeof(in->error), "%s%s",
			 code == Z_ERRNO ? strerror(errno) : msg ? msg : "read error",
			 gzdirect(in->gz) ? "" : " (in the gzip stream)");
		return -1;
	}
	/* zlib says a gzip stream that stops short only at the end. */
	if (got < (int)n && in->gzip) {
		msg = gzerror(in->gz, &code);
		if (code == Z_BUF_ERROR) {
			snprintf(in->error, sizeof(in->error), "the gzip stream ends early");
			return -1;
		}
	}
	return got;
}

long capture_input_peek(struct capture_input *in, size_t n, const uint8_t **bytes)
{
	long got;

	if (n > CAPTURE_INPUT_PEEK)
		n = CAPTURE_INPUT_PEEK;
	if (in->peek_len < n && in->consumed == 0 && in->peek_pos == 0) {
		got = gz_read(in, in->peek + in->peek_len, n - in->peek_len);
		if (got < 0)
			return -1;
		in->peek_len += (size_t)got;
		/* Known once zlib has looked at the first bytes. */
		in->gzip = gzdirect(in->gz) == 0;
	}
	*bytes = in->peek;
	return (long)(in->peek_len < n ? in->peek_len : n);
}

long capture_input_read(struct capture_input *in, void *buf, size_t n)
{
	size_t from_peek = in->peek_len - in->peek_pos;
	long got;

	if (from_peek > n)
		from_peek = n;
	memcpy(buf, in->peek + in->peek_pos, from_peek);
	in->peek_pos += from_peek;
	if (from_peek == n) {
		in->consumed += from_peek;
		return (long)n;
	}
	got = gz_read(in, (uint8_t *)buf + from_peek, n - from_peek);
	if (got < 0)
		return -1;
	if (in->consumed == 0 && !from_peek)
		in->gzip = gzdirect(in->gz) == 0;
	in->consumed += from_peek + (size_t)got;
	return (long)from_peek + got;
}

/* A descriptor of its own for fd, close-on-exec like the one opened. */
static int open_dup(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
	long got = capture_input_read(cookie, buf, n);

	if (got < 0) {
		errno = EIO;
		return -1;
	}
	return got;
}

/* The plain regular file read from its start by stdio on a descriptor
 * of its own; NULL (nothing changed) where that cannot be: a pipe, a
 * compressed file, or a stream already partly read. */
static FILE *direct_file(struct capture_input *in)
{
	struct stat st;
	FILE *f;
	int fd;

	if (in->is_stdin || in->gzip || in->consumed || in->peek_pos ||
	    fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	fd = open_dup(in->fd);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return NULL;
	}
	/* The duplicate shares zlib's offset, which its peek has moved. */
	if (fseeko(f, 0, SEEK_SET) != 0 || setvbuf(f, NULL, _IOFBF, DIRECT_BUFFER_BYTES) != 0) {
		fclose(f);
		return NULL;
	}
	in->direct = true;
	return f;
}

FILE *capture_input_file(struct capture_input *in)
{
	cookie_io_functions_t io = { .read = cookie_read };

	if (!in->file)
		in->file = direct_file(in);
	if (!in->file)
		in->file = fopencookie(in, "rb", io);
	return in->file;
}

long long capture_input_offset(const struct capture_input *in)
{
	long off;

	if (in->direct) {
		off_t pos = in->file ? ftello(in->file) : -1;

		return pos < 0 ? -1 : (long long)pos;
	}
	if (!in->gz)
		return -1;
	off = gzoffset(in->gz);
	return off < 0 ? -1 : (long long)off;
}
