/* A growable byte buffer with checked growth. */
#ifndef IMW_UTIL_BYTEBUF_H
#define IMW_UTIL_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bytebuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void bytebuf_init(struct bytebuf *b);
void bytebuf_free(struct bytebuf *b);
/* bytebuf_reserve's slow path: the buffer grown to hold `extra` more
 * bytes and a terminator; false on allocation failure or size overflow,
 * leaving the buffer unchanged. */
bool bytebuf_grow(struct bytebuf *b, size_t extra);

/* Make room for at least `extra` more bytes (and a terminator); false on
 * allocation failure or size overflow, leaving the buffer unchanged.
 * Inline: every event's text is built from many small appends, and the
 * check that there is room already is most of what they cost. */
static inline bool bytebuf_reserve(struct bytebuf *b, size_t extra)
{
	if (b->cap > b->len && extra < b->cap - b->len)
		return true;
	return bytebuf_grow(b, extra);
}

static inline bool bytebuf_append(struct bytebuf *b, const void *data, size_t len)
{
	if (!bytebuf_reserve(b, len))
		return false;
	if (len) /* data may be NULL when len is 0 */
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return true;
}

static inline bool bytebuf_append_byte(struct bytebuf *b, uint8_t c)
{
	if (!bytebuf_reserve(b, 1))
		return false;
	b->data[b->len++] = c;
	return true;
}

bool bytebuf_append_str(struct bytebuf *b, const char *s);
bool bytebuf_printf(struct bytebuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len). */
void bytebuf_consume(struct bytebuf *b, size_t n);
void bytebuf_clear(struct bytebuf *b);
/* NUL-terminate without counting the NUL in len; false on allocation failure. */
bool bytebuf_terminate(struct bytebuf *b);

#endif
