#include "util/bytebuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bytebuf_init(struct bytebuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void bytebuf_free(struct bytebuf *b)
{
	free(b->data);
	bytebuf_init(b);
}

bool bytebuf_grow(struct bytebuf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return false;
	need = b->len + extra + 1; /* room for a terminator */
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return false;
	b->data = p;
	b->cap = cap;
	return true;
}

bool bytebuf_append_str(struct bytebuf *b, const char *s)
{
	return bytebuf_append(b, s, strlen(s));
}

bool bytebuf_printf(struct bytebuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !bytebuf_reserve(b, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return true;
}

void bytebuf_consume(struct bytebuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void bytebuf_clear(struct bytebuf *b)
{
	b->len = 0;
}

bool bytebuf_terminate(struct bytebuf *b)
{
	if (!bytebuf_reserve(b, 0))
		return false;
	b->data[b->len] = '\0';
	return true;
}
