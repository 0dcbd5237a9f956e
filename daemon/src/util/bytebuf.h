/* A growable byte buffer with checked growth. */
#ifndef IMW_UTIL_BYTEBUF_H
#define IMW_UTIL_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bytebuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void bytebuf_init(struct bytebuf *b);
void bytebuf_free(struct bytebuf *b);
/* Make room for at least `extra` more bytes; false on allocation failure
 * or size overflow, leaving the buffer unchanged. */
bool bytebuf_reserve(struct bytebuf *b, size_t extra);
bool bytebuf_append(struct bytebuf *b, const void *data, size_t len);
bool bytebuf_append_str(struct bytebuf *b, const char *s);
bool bytebuf_append_byte(struct bytebuf *b, uint8_t c);
bool bytebuf_printf(struct bytebuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len). */
void bytebuf_consume(struct bytebuf *b, size_t n);
void bytebuf_clear(struct bytebuf *b);
/* NUL-terminate without counting the NUL in len; false on allocation failure. */
bool bytebuf_terminate(struct bytebuf *b);

#endif
