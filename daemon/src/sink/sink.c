/* What every sink shares: the write and close wrappers, error texts, and
 * the undo list a file sink hands the writer (sink.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imwire/byteorder.h"
#include "sink/sink.h"

int sink_write(struct sink *s, const struct im_event *ev)
{
	if (s->ops->write(s, ev, 0) < 0) {
		s->failed++;
		return -1;
	}
	s->written++;
	return 0;
}

void sink_close(struct sink *s)
{
	if (s->ops)
		s->ops->close(s);
	free(s->id);
	s->id = NULL;
	s->ops = NULL;
	s->ctx = NULL;
}

const char *sink_errno_text(int e, char *buf, size_t size)
{
	const char *name = strerrorname_np(e);

	snprintf(buf, size, "%s (%s)", strerror(e), name ? name : "?");
	return buf;
}

int sink_fail(struct sink *s, int e, const char *fmt, ...)
{
	char what[256], why[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(s->err, sizeof(s->err), "%s: %s", what, sink_errno_text(e, why, sizeof(why)));
	s->err_no = e;
	errno = e;
	return -1;
}

void sink_undo_init(struct sink_undo *u)
{
	bytebuf_init(&u->buf);
	u->n = 0;
}

void sink_undo_free(struct sink_undo *u)
{
	bytebuf_free(&u->buf);
	u->n = 0;
}

void sink_undo_clear(struct sink_undo *u)
{
	bytebuf_clear(&u->buf);
	u->n = 0;
}

/* An entry: [u32 length of path with its NUL][path\0][u64 dev][u64 ino][u64 size]. */
bool sink_undo_add(struct sink_undo *u, const char *path, uint64_t dev, uint64_t ino,
		   uint64_t size)
{
	size_t pl = strlen(path) + 1, need = 4 + pl + 24;
	uint8_t *p;

	if (u->buf.len + need > SINK_UNDO_MAX_BYTES || !bytebuf_reserve(&u->buf, need))
		return false;
	p = u->buf.data + u->buf.len;
	imw_store_le32(p, (uint32_t)pl);
	memcpy(p + 4, path, pl);
	p += 4 + pl;
	imw_store_le32(p, (uint32_t)dev);
	imw_store_le32(p + 4, (uint32_t)(dev >> 32));
	imw_store_le32(p + 8, (uint32_t)ino);
	imw_store_le32(p + 12, (uint32_t)(ino >> 32));
	imw_store_le32(p + 16, (uint32_t)size);
	imw_store_le32(p + 20, (uint32_t)(size >> 32));
	u->buf.len += need;
	u->n++;
	return true;
}

static uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)imw_load_le32(p) | (uint64_t)imw_load_le32(p + 4) << 32;
}

bool sink_undo_get(const struct sink_undo *u, size_t i, struct sink_undo_entry *e)
{
	const uint8_t *p = u->buf.data, *end = u->buf.data + u->buf.len;
	uint32_t pl;

	for (;;) {
		if (end - p < 4)
			return false;
		pl = imw_load_le32(p);
		if (pl == 0 || (size_t)(end - p) < 4 + (size_t)pl + 24 || p[4 + pl - 1] != '\0')
			return false;
		if (i-- == 0)
			break;
		p += 4 + pl + 24;
	}
	e->path = (const char *)p + 4;
	p += 4 + pl;
	e->dev = load_le64(p);
	e->ino = load_le64(p + 8);
	e->size = load_le64(p + 16);
	return true;
}

int sink_undo_restore_file(const char *path, const struct sink_undo_entry *e)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0) {
		rc = -1;
	} else if (e->ino == 0 || ((uint64_t)st.st_dev == e->dev && (uint64_t)st.st_ino == e->ino)) {
		/* Ours (or made by the batch being undone): cut back. */
		uint64_t to = e->ino == 0 ? 0 : e->size;

		if ((uint64_t)st.st_size > to && ftruncate(fd, (off_t)to) < 0)
			rc = -1;
	}
	if (rc < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}
