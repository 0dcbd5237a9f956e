#include "sink/sink_cursor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "imwire/byteorder.h"

static const char cursor_magic[8] = { 'I', 'M', 'W', 'C', 'U', 'R', '0', '1' };
#define SLOT_HEADER 40
#define ID_MAX 1024
#define SLOT_SIZE (SLOT_HEADER + ID_MAX + SINK_UNDO_MAX_BYTES)

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

struct slot {
	uint64_t gen, seq;
	uint32_t id_len, undo_len, undo_n;
};

/* Reads slot i; false when it is not a valid slot of id. */
static bool read_slot(int fd, unsigned i, const char *id, struct slot *s, uint8_t *buf)
{
	ssize_t got = pread(fd, buf, SLOT_SIZE, (off_t)i * SLOT_SIZE);
	uLong c;

	if (got < SLOT_HEADER || memcmp(buf, cursor_magic, 8) != 0)
		return false;
	s->gen = imw_load_le64(buf + 8);
	s->seq = imw_load_le64(buf + 16);
	s->id_len = imw_load_le32(buf + 24);
	s->undo_len = imw_load_le32(buf + 28);
	s->undo_n = imw_load_le32(buf + 32);
	if (s->id_len > ID_MAX || s->undo_len > SINK_UNDO_MAX_BYTES ||
	    (size_t)got < SLOT_HEADER + (size_t)s->id_len + s->undo_len)
		return false;
	c = crc32(0L, buf, 36);
	c = crc32(c, buf + SLOT_HEADER, s->id_len + s->undo_len);
	if ((uint32_t)c != imw_load_le32(buf + 36))
		return false;
	return s->id_len == strlen(id) && memcmp(buf + SLOT_HEADER, id, s->id_len) == 0;
}

int sink_cursor_open(struct sink_cursor *c, const char *dir, const char *id, bool *found,
		     uint64_t *seq, struct sink_undo *undo, char *err, size_t err_size)
{
	uint8_t *buf = NULL;
	struct slot s[2];
	bool ok[2];
	struct stat st;
	size_t n;
	int best;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	*found = false;
	*seq = 0;
	sink_undo_clear(undo);
	if (strlen(id) > ID_MAX) {
		snprintf(err, err_size, "sink name too long for a cursor: %.60s...", id);
		return -1;
	}
	n = strlen(dir) + 1 + 16 + sizeof(".cursor");
	c->path = malloc(n);
	c->id = strdup(id);
	buf = malloc(SLOT_SIZE);
	if (!c->path || !c->id || !buf) {
		snprintf(err, err_size, "out of memory");
		goto failed;
	}
	snprintf(c->path, n, "%s/%016" PRIx64 ".cursor", dir, fnv1a64(id));
	c->fd = open(c->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (c->fd < 0 || fstat(c->fd, &st) < 0) {
		snprintf(err, err_size, "%s: %s", c->path, strerror(errno));
		goto failed;
	}
	ok[0] = read_slot(c->fd, 0, id, &s[0], buf);
	ok[1] = read_slot(c->fd, 1, id, &s[1], buf);
	best = ok[0] && (!ok[1] || s[0].gen > s[1].gen) ? 0 : ok[1] ? 1 : -1;
	if (best >= 0) {
		read_slot(c->fd, (unsigned)best, id, &s[best], buf);
		*found = true;
		*seq = s[best].seq;
		c->gen = s[best].gen;
		if (s[best].undo_len &&
		    (!bytebuf_append(&undo->buf, buf + SLOT_HEADER + s[best].id_len, s[best].undo_len))) {
			snprintf(err, err_size, "out of memory");
			goto failed;
		}
		undo->n = s[best].undo_n;
	}
	/* Full size now, so that storing never allocates. */
	if ((uint64_t)st.st_size < 2 * SLOT_SIZE && posix_fallocate(c->fd, 0, 2 * SLOT_SIZE) != 0 &&
	    ftruncate(c->fd, 2 * SLOT_SIZE) < 0) {
		snprintf(err, err_size, "%s: %s", c->path, strerror(errno));
		goto failed;
	}
	free(buf);
	return 0;
failed:
	free(buf);
	sink_cursor_close(c);
	return -1;
}

int sink_cursor_store(struct sink_cursor *c, uint64_t seq, const struct sink_undo *undo, bool sync)
{
	uint8_t hdr[SLOT_HEADER];
	size_t id_len = strlen(c->id), undo_len = undo ? undo->buf.len : 0;
	uint64_t gen = c->gen + 1;
	uLong crc;
	ssize_t w;
	uint8_t *slot;

	slot = malloc(SLOT_HEADER + id_len + undo_len);
	if (!slot) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(hdr, cursor_magic, 8);
	imw_store_le64(hdr + 8, gen);
	imw_store_le64(hdr + 16, seq);
	imw_store_le32(hdr + 24, (uint32_t)id_len);
	imw_store_le32(hdr + 28, (uint32_t)undo_len);
	imw_store_le32(hdr + 32, undo ? (uint32_t)undo->n : 0);
	crc = crc32(0L, hdr, 36);
	crc = crc32(crc, (const Bytef *)c->id, (uInt)id_len);
	if (undo_len)
		crc = crc32(crc, undo->buf.data, (uInt)undo_len);
	imw_store_le32(hdr + 36, (uint32_t)crc);
	memcpy(slot, hdr, SLOT_HEADER);
	memcpy(slot + SLOT_HEADER, c->id, id_len);
	if (undo_len)
		memcpy(slot + SLOT_HEADER + id_len, undo->buf.data, undo_len);
	do
		w = pwrite(c->fd, slot, SLOT_HEADER + id_len + undo_len,
			   (off_t)(gen % 2) * SLOT_SIZE);
	while (w < 0 && errno == EINTR);
	free(slot);
	if (w != (ssize_t)(SLOT_HEADER + id_len + undo_len)) {
		if (w >= 0)
			errno = EIO;
		return -1;
	}
	if (sync && fdatasync(c->fd) < 0)
		return -1;
	c->gen = gen;
	return 0;
}

void sink_cursor_close(struct sink_cursor *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	free(c->id);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

uint64_t sink_cursor_max_seq(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t max = 0;
	uint8_t hdr[SLOT_HEADER];

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[4096];
		unsigned i;
		int fd;

		if (n < 8 || strcmp(de->d_name + n - 7, ".cursor") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Both slots, checked only for their magic: an upper bound is
		 * what is wanted here. */
		for (i = 0; i < 2; i++) {
			if (pread(fd, hdr, sizeof(hdr), (off_t)i * SLOT_SIZE) == (ssize_t)sizeof(hdr) &&
			    memcmp(hdr, cursor_magic, 8) == 0 && imw_load_le64(hdr + 16) > max)
				max = imw_load_le64(hdr + 16);
		}
		close(fd);
	}
	closedir(d);
	return max;
}
