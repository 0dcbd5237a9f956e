/* A bounded read cursor over a byte buffer. Every read checks the bound;
 * the first overrun latches an error so a parser can read a whole record
 * and test once, and can never read past the end. */
#ifndef IMW_UTIL_CURSOR_H
#define IMW_UTIL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imwire/byteorder.h"

struct cursor {
	const uint8_t *data;
	size_t len;
	size_t pos;
	const char *error; /* NULL while every read fitted */
};

static inline void cursor_init(struct cursor *c, const void *data, size_t len)
{
	c->data = data;
	c->len = len;
	c->pos = 0;
	c->error = NULL;
}

static inline size_t cursor_remaining(const struct cursor *c)
{
	return c->error ? 0 : c->len - c->pos;
}

static inline bool cursor_ok(const struct cursor *c)
{
	return c->error == NULL;
}

static inline const uint8_t *cursor_here(const struct cursor *c)
{
	return c->data + c->pos;
}

/* Reserve n bytes; on overrun latch the error and return NULL. */
static inline const uint8_t *cursor_take(struct cursor *c, size_t n)
{
	const uint8_t *p;

	if (c->error)
		return NULL;
	if (n > c->len - c->pos) {
		c->error = "read past end of buffer";
		return NULL;
	}
	p = c->data + c->pos;
	c->pos += n;
	return p;
}

static inline bool cursor_skip(struct cursor *c, size_t n)
{
	return cursor_take(c, n) != NULL;
}

static inline bool cursor_u8(struct cursor *c, uint8_t *out)
{
	const uint8_t *p = cursor_take(c, 1);

	if (!p)
		return false;
	*out = p[0];
	return true;
}

static inline bool cursor_be16(struct cursor *c, uint16_t *out)
{
	const uint8_t *p = cursor_take(c, 2);

	if (!p)
		return false;
	*out = imw_load_be16(p);
	return true;
}

static inline bool cursor_be32(struct cursor *c, uint32_t *out)
{
	const uint8_t *p = cursor_take(c, 4);

	if (!p)
		return false;
	*out = imw_load_be32(p);
	return true;
}

static inline bool cursor_le16(struct cursor *c, uint16_t *out)
{
	const uint8_t *p = cursor_take(c, 2);

	if (!p)
		return false;
	*out = imw_load_le16(p);
	return true;
}

static inline bool cursor_le32(struct cursor *c, uint32_t *out)
{
	const uint8_t *p = cursor_take(c, 4);

	if (!p)
		return false;
	*out = imw_load_le32(p);
	return true;
}

/* A sub-cursor over the next n bytes (a TLV value, a nested record). */
static inline bool cursor_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	const uint8_t *p = cursor_take(c, n);

	if (!p)
		return false;
	cursor_init(sub, p, n);
	return true;
}

#endif
