/* Text helpers of the OSCAR and TOC modules: HTML detection and the
 * UTF-8 to UCS-2BE / ISO-8859-1 conversions the encoder needs. */
#include <string.h>

#include "proto/oscar/oscar_internal.h"
#include "util/text.h"

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(uint8_t c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* An entity: "&name;" or "&#123;" or "&#x1F;" with a short body. */
static bool entity_at(const uint8_t *p)
{
	size_t i = 1;

	if (p[i] == '#')
		i++;
	while (i < 12 && (is_alnum(p[i])))
		i++;
	return i > 1 && p[i] == ';' && !(i == 2 && p[1] == '#');
}

bool oscar_text_is_html(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	for (; *p; p++) {
		if (*p == '<' && (is_alpha(p[1]) || (p[1] == '/' && is_alpha(p[2])) || p[1] == '!'))
			return true;
		if (*p == '&' && entity_at(p))
			return true;
	}
	return false;
}

const char *oscar_content_type(const char *s)
{
	return oscar_text_is_html(s) ? "text/html" : "text/plain";
}

bool oscar_put_utf16be(struct bytebuf *out, const char *utf8)
{
	const uint8_t *p = (const uint8_t *)utf8;
	size_t n = strlen(utf8), used;

	while (n) {
		uint32_t cp = text_utf8_next(p, n, &used);

		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (!oscar_put_be16(out, (uint16_t)(0xD800 | (cp >> 10))) ||
			    !oscar_put_be16(out, (uint16_t)(0xDC00 | (cp & 0x3FF))))
				return false;
		} else if (!oscar_put_be16(out, (uint16_t)cp)) {
			return false;
		}
		p += used;
		n -= used;
	}
	return true;
}

bool oscar_put_latin1(struct bytebuf *out, const char *utf8, size_t *bad)
{
	const uint8_t *p = (const uint8_t *)utf8;
	size_t n = strlen(utf8), used;

	*bad = 0;
	while (n) {
		uint32_t cp = text_utf8_next(p, n, &used);

		if (cp > 0xFF) {
			(*bad)++;
			cp = '?';
		}
		if (!bytebuf_append_byte(out, (uint8_t)cp))
			return false;
		p += used;
		n -= used;
	}
	return *bad == 0;
}

bool oscar_text_is_ascii(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s >= 0x80)
			return false;
	return true;
}

bool oscar_text_fits_latin1(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s), used;

	while (n) {
		if (text_utf8_next(p, n, &used) > 0xFF)
			return false;
		p += used;
		n -= used;
	}
	return true;
}
