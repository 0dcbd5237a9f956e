#include "sink/sink_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char spool_magic[8] = { 'I', 'M', 'W', 'S', 'P', 'L', '0', '1' };

/* Fixed part of a row: eventid, timestamp, outgoing, type, filtered. */
#define ROW_FIXED (8 + 8 + 1 + 1 + 1)
#define ROW_STRINGS 5
/* The file columns follow (a record of an older spool has none). */
#define ROW_ALL_STRINGS (ROW_STRINGS + DB_FILE_COLUMNS)

static uint32_t crc32_bytes(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (uint32_t)-(int32_t)(crc & 1));
	}
	return ~crc;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static int mkdir_p(const char *dir)
{
	char *path = strdup(dir), *p;
	int rc = 0;

	if (!path)
		return -1;
	for (p = path + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST)
			rc = -1;
		*p = c;
		if (!c)
			break;
	}
	free(path);
	return rc;
}

static bool full_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return true;
}

static bool full_pread(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return true;
}

static int write_head(struct spool *sp, uint64_t head)
{
	uint8_t hdr[SPOOL_HEADER_SIZE];

	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, spool_magic, sizeof(spool_magic));
	put_u64(hdr + 8, head);
	if (!full_pwrite(sp->fd, hdr, sizeof(hdr), 0) || fdatasync(sp->fd) < 0)
		return -1;
	sp->head = head;
	return 0;
}

/* Decode one record's payload; strings point into p (NUL-terminated
 * in place by the encoder's layout: each string is followed by a 0). */
static bool decode_row(const uint8_t *p, size_t n, struct db_row *row)
{
	const char **strs[ROW_ALL_STRINGS] = { &row->clientaddress, &row->protocolname,
					       &row->localid, &row->remoteid, &row->eventdata };
	size_t off = ROW_FIXED, i;

	if (n < ROW_FIXED)
		return false;
	for (i = 0; i < DB_FILE_COLUMNS; i++) {
		row->file[i] = "";
		strs[ROW_STRINGS + i] = &row->file[i];
	}
	row->eventid = get_u64(p);
	row->timestamp = (int64_t)get_u64(p + 8);
	row->outgoing = p[16];
	row->type = p[17];
	row->filtered = p[18];
	/* A record of an older spool ends before some file columns. */
	for (i = 0; i < ROW_ALL_STRINGS && !(i >= ROW_STRINGS && off == n); i++) {
		uint32_t len;

		if (n - off < 4)
			return false;
		len = get_u32(p + off);
		off += 4;
		if (n - off < (size_t)len + 1 || p[off + len] != 0)
			return false;
		*strs[i] = (const char *)p + off;
		off += (size_t)len + 1;
	}
	return off == n;
}

static bool encode_row(struct bytebuf *b, const struct db_row *row)
{
	const char *strs[ROW_ALL_STRINGS] = { row->clientaddress, row->protocolname, row->localid,
					      row->remoteid, row->eventdata };
	size_t start = b->len, len = ROW_FIXED, i;

	for (i = 0; i < DB_FILE_COLUMNS; i++)
		strs[ROW_STRINGS + i] = row->file[i];
	uint8_t fixed[8 + ROW_FIXED], word[4];

	for (i = 0; i < ROW_ALL_STRINGS; i++) {
		if (!strs[i])
			strs[i] = "";
		len += 4 + strlen(strs[i]) + 1;
	}
	if (len > SPOOL_RECORD_MAX)
		return false;
	put_u32(fixed, (uint32_t)len);
	put_u32(fixed + 4, 0); /* crc, below */
	put_u64(fixed + 8, row->eventid);
	put_u64(fixed + 16, (uint64_t)row->timestamp);
	fixed[24] = (uint8_t)row->outgoing;
	fixed[25] = (uint8_t)row->type;
	fixed[26] = (uint8_t)row->filtered;
	if (!bytebuf_append(b, fixed, sizeof(fixed)))
		return false;
	for (i = 0; i < ROW_ALL_STRINGS; i++) {
		size_t sl = strlen(strs[i]);

		put_u32(word, (uint32_t)sl);
		if (!bytebuf_append(b, word, 4) || !bytebuf_append(b, strs[i], sl + 1)) {
			b->len = start;
			return false;
		}
	}
	put_u32(b->data + start + 4, crc32_bytes(b->data + start + 8, len));
	return true;
}

/* Walk the records from the head, count them and cut a torn end. */
static int scan(struct spool *sp, uint64_t size)
{
	uint64_t off = sp->head;
	uint8_t hdr[8];
	uint8_t *buf = NULL;
	struct db_row row;

	while (size - off >= 8) {
		uint32_t len, crc;
		uint8_t *nb;

		if (!full_pread(sp->fd, hdr, 8, off))
			break;
		len = get_u32(hdr);
		crc = get_u32(hdr + 4);
		if (len < ROW_FIXED || len > SPOOL_RECORD_MAX || size - off - 8 < len)
			break;
		nb = realloc(buf, len);
		if (!nb) {
			free(buf);
			return -1;
		}
		buf = nb;
		if (!full_pread(sp->fd, buf, len, off + 8) || crc32_bytes(buf, len) != crc ||
		    !decode_row(buf, len, &row))
			break;
		if (row.eventid > sp->max_eventid)
			sp->max_eventid = row.eventid;
		sp->pending++;
		off += 8 + (uint64_t)len;
	}
	free(buf);
	sp->tail = off;
	if (off < size) {
		sp->torn_bytes = size - off;
		if (ftruncate(sp->fd, (off_t)off) < 0 || fdatasync(sp->fd) < 0)
			return -1;
	}
	return 0;
}

int spool_open(struct spool *sp, const char *dir, const char *name, uint64_t max_bytes,
	       char *err, size_t err_size)
{
	uint8_t hdr[SPOOL_HEADER_SIZE];
	struct stat st;
	size_t n;

	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
	sp->max_bytes = max_bytes;
	n = strlen(dir) + strlen(name) + sizeof("/.spool");
	sp->path = malloc(n);
	if (!sp->path) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	snprintf(sp->path, n, "%s/%s.spool", dir, name);
	if (mkdir_p(dir) < 0) {
		snprintf(err, err_size, "%s: cannot create: %s", dir, strerror(errno));
		goto failed;
	}
	sp->fd = open(sp->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->fd < 0 || fstat(sp->fd, &st) < 0) {
		snprintf(err, err_size, "%s: %s", sp->path, strerror(errno));
		goto failed;
	}
	if ((uint64_t)st.st_size < SPOOL_HEADER_SIZE) {
		/* New (or cut before its header was complete): start empty. */
		if (ftruncate(sp->fd, 0) < 0 || write_head(sp, SPOOL_HEADER_SIZE) < 0) {
			snprintf(err, err_size, "%s: %s", sp->path, strerror(errno));
			goto failed;
		}
		sp->tail = SPOOL_HEADER_SIZE;
		return 0;
	}
	if (!full_pread(sp->fd, hdr, sizeof(hdr), 0) ||
	    memcmp(hdr, spool_magic, sizeof(spool_magic)) != 0) {
		snprintf(err, err_size, "%s: not an imwire spool file", sp->path);
		goto failed;
	}
	sp->head = get_u64(hdr + 8);
	/* A head past the end: the truncation of an emptied spool was done
	 * and the header not yet rewritten. */
	if (sp->head < SPOOL_HEADER_SIZE || sp->head > (uint64_t)st.st_size)
		sp->head = (uint64_t)st.st_size;
	if (scan(sp, (uint64_t)st.st_size) < 0) {
		snprintf(err, err_size, "%s: %s", sp->path, strerror(errno));
		goto failed;
	}
	return 0;
failed:
	spool_close(sp);
	return -1;
}

void spool_close(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->path);
	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
}

size_t spool_append(struct spool *sp, const struct db_row *rows, size_t n)
{
	struct bytebuf b;
	size_t kept = 0, i;
	uint64_t maxid = sp->max_eventid;

	bytebuf_init(&b);
	for (i = 0; i < n; i++) {
		size_t before = b.len;

		if (!encode_row(&b, &rows[i]))
			break;
		if (sp->tail + b.len > sp->max_bytes) {
			b.len = before;
			errno = ENOSPC;
			break;
		}
		if (rows[i].eventid > maxid)
			maxid = rows[i].eventid;
		kept++;
	}
	if (b.len && (!full_pwrite(sp->fd, b.data, b.len, sp->tail) || fdatasync(sp->fd) < 0)) {
		int e = errno;

		/* Nothing of this append counts: cut it off again. */
		if (ftruncate(sp->fd, (off_t)sp->tail) < 0)
			e = errno;
		bytebuf_free(&b);
		errno = e;
		return 0;
	}
	sp->tail += b.len;
	sp->pending += kept;
	sp->max_eventid = maxid;
	bytebuf_free(&b);
	return kept;
}

void spool_batch_init(struct spool_batch *b)
{
	memset(b, 0, sizeof(*b));
	bytebuf_init(&b->buf);
}

void spool_batch_free(struct spool_batch *b)
{
	free(b->rows);
	bytebuf_free(&b->buf);
	memset(b, 0, sizeof(*b));
}

int spool_peek(struct spool *sp, struct spool_batch *b, size_t max)
{
	uint64_t off = sp->head;
	size_t i, *offsets, rec;

	b->n = 0;
	bytebuf_clear(&b->buf);
	if (max > sp->pending)
		max = (size_t)sp->pending;
	if (max > b->cap) {
		struct db_row *nr = realloc(b->rows, max * sizeof(*nr));

		if (!nr)
			return -1;
		b->rows = nr;
		b->cap = max;
	}
	offsets = calloc(max ? max : 1, sizeof(*offsets));
	if (!offsets)
		return -1;
	/* Read every record first: the buffer may move while it grows. */
	for (rec = 0; rec < max; rec++) {
		uint8_t hdr[8];
		uint32_t len;

		if (!full_pread(sp->fd, hdr, 8, off))
			goto damaged;
		len = get_u32(hdr);
		if (len < ROW_FIXED || len > SPOOL_RECORD_MAX || off + 8 + len > sp->tail ||
		    !bytebuf_reserve(&b->buf, len))
			goto damaged;
		if (!full_pread(sp->fd, b->buf.data + b->buf.len, len, off + 8) ||
		    crc32_bytes(b->buf.data + b->buf.len, len) != get_u32(hdr + 4))
			goto damaged;
		offsets[rec] = b->buf.len;
		b->buf.len += len;
		off += 8 + (uint64_t)len;
	}
	for (i = 0; i < rec; i++) {
		size_t end = i + 1 < rec ? offsets[i + 1] : b->buf.len;

		if (!decode_row(b->buf.data + offsets[i], end - offsets[i], &b->rows[i]))
			goto damaged;
	}
	free(offsets);
	b->n = rec;
	b->end = off;
	return 0;
damaged:
	free(offsets);
	b->n = 0;
	return -1;
}

int spool_consume(struct spool *sp, const struct spool_batch *b)
{
	if (!b->n)
		return 0;
	sp->pending -= b->n;
	if (sp->pending == 0) {
		/* Truncate first: a crash before the header is rewritten leaves a
		 * head past the end, which open reads as empty. */
		if (ftruncate(sp->fd, SPOOL_HEADER_SIZE) < 0 || fdatasync(sp->fd) < 0)
			return -1;
		sp->tail = SPOOL_HEADER_SIZE;
		sp->max_eventid = 0;
		return write_head(sp, SPOOL_HEADER_SIZE);
	}
	return write_head(sp, b->end);
}
