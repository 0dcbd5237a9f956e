#include "util/text.h"

#include <stdlib.h>
#include <string.h>

#include "util/bytebuf.h"

static bool put_codepoint(struct bytebuf *b, uint32_t cp)
{
	uint8_t out[4];
	size_t n;

	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		out[0] = (uint8_t)(0xF0 | (cp >> 18));
		out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return bytebuf_append(b, out, n);
}

static char *finish(struct bytebuf *b, bool ok)
{
	if (!ok || !bytebuf_terminate(b)) {
		bytebuf_free(b);
		return NULL;
	}
	return (char *)b->data;
}

/* Length of the leading run of ASCII bytes of p[0..n), eight at a time:
 * most message text is ASCII, and this is on every message's path. */
static size_t ascii_run(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t x, y, z, w;

	for (; i + 32 <= n; i += 32) {
		memcpy(&x, p + i, 8);
		memcpy(&y, p + i + 8, 8);
		memcpy(&z, p + i + 16, 8);
		memcpy(&w, p + i + 24, 8);
		if ((x | y | z | w) & 0x8080808080808080ull)
			break;
	}
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, p + i, 8);
		if (x & 0x8080808080808080ull)
			break;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

/* Length of the valid UTF-8 sequence at p, or 0 if it is not valid.
 * Inline, with the two-byte sequences (Latin letters with accents, the
 * common non-ASCII text) decided first: every message's text is checked. */
static inline size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0) {
		/* C0 and C1 would be overlong (below U+0080); no two-byte
		 * sequence is a surrogate or past U+10FFFF. */
		return n >= 2 && p[0] >= 0xC2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	}
	if ((p[0] & 0xF0) == 0xE0) {
		len = 3;
		cp = p[0] & 0x0F;
	} else if ((p[0] & 0xF8) == 0xF0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* The check and the copy in one pass over the bytes, ASCII eight bytes
 * at a time. Bytes of out past the returned length may have been written
 * (with p's bytes): the contract only promises the valid prefix. */
size_t text_copy_valid_utf8(char *out, const uint8_t *p, size_t n)
{
	size_t i = 0, l;
	uint64_t x, y, z, w;

	for (;;) {
		for (; i + 32 <= n; i += 32) {
			memcpy(&x, p + i, 8);
			memcpy(&y, p + i + 8, 8);
			memcpy(&z, p + i + 16, 8);
			memcpy(&w, p + i + 24, 8);
			if ((x | y | z | w) & 0x8080808080808080ull)
				break;
			memcpy(out + i, &x, 8);
			memcpy(out + i + 8, &y, 8);
			memcpy(out + i + 16, &z, 8);
			memcpy(out + i + 24, &w, 8);
		}
		for (; i + 8 <= n; i += 8) {
			/* Stored before it is checked: out holds p's bytes as they
			 * are up to the first invalid one, and the caller
			 * overwrites or drops what follows that. */
			memcpy(&x, p + i, 8);
			memcpy(out + i, &x, 8);
			if (x & 0x8080808080808080ull) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/* to the first byte with its high bit set */
				i += (size_t)__builtin_ctzll(x & 0x8080808080808080ull) / 8;
#endif
				break;
			}
		}
		while (i < n && p[i] < 0x80) {
			out[i] = (char)p[i];
			i++;
		}
		if (i == n)
			return n;
		l = utf8_seq_len(p + i, n - i);
		if (!l)
			return i;
		/* 2 to 4 bytes: byte moves, not a call */
		out[i] = (char)p[i];
		out[i + 1] = (char)p[i + 1];
		if (l > 2)
			out[i + 2] = (char)p[i + 2];
		if (l > 3)
			out[i + 3] = (char)p[i + 3];
		i += l;
	}
}

uint32_t text_utf8_next(const uint8_t *p, size_t n, size_t *used)
{
	size_t len = utf8_seq_len(p, n), i;
	uint32_t cp;

	*used = 1;
	if (!len)
		return 0xFFFD;
	if (len == 1)
		return p[0];
	cp = p[0] & (0xFFu >> (len + 1));
	for (i = 1; i < len; i++)
		cp = (cp << 6) | (p[i] & 0x3F);
	*used = len;
	return cp;
}

bool text_is_valid_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0, l;

	while (i < n) {
		i += ascii_run(p + i, n - i);
		if (i == n)
			break;
		l = utf8_seq_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

char *text_utf8_or_latin1(const uint8_t *p, size_t n)
{
	struct bytebuf b;
	size_t i, l;
	bool ok = true;
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	/* Valid UTF-8 (ASCII included), the common case, is copied as it is
	 * checked; the rest carries on from the first invalid byte in the
	 * same buffer (n + 1 bytes: room for p as it is and a terminator). */
	i = text_copy_valid_utf8(s, p, n);
	if (i == n) {
		s[n] = '\0';
		return s;
	}
	b.data = (uint8_t *)s;
	b.len = i;
	b.cap = n + 1;
	while (ok && i < n) {
		/* Plain ASCII, the common case, goes in one copy. */
		size_t run = i + ascii_run(p + i, n - i);

		if (run > i) {
			ok = bytebuf_append(&b, p + i, run - i);
			i = run;
			continue;
		}
		l = utf8_seq_len(p + i, n - i);
		if (l) {
			ok = bytebuf_append(&b, p + i, l);
			i += l;
		} else {
			ok = put_codepoint(&b, p[i]);
			i++;
		}
	}
	return finish(&b, ok);
}

char *text_latin1_to_utf8(const uint8_t *p, size_t n)
{
	struct bytebuf b;
	size_t i;
	bool ok;

	bytebuf_init(&b);
	ok = bytebuf_reserve(&b, n);
	for (i = 0; ok && i < n; i++)
		ok = put_codepoint(&b, p[i]);
	return finish(&b, ok);
}

static char *utf16_to_utf8(const uint8_t *p, size_t n, bool big_endian)
{
	struct bytebuf b;
	size_t i;
	bool ok;
	uint32_t u, lo;

	bytebuf_init(&b);
	ok = bytebuf_reserve(&b, n);
	for (i = 0; ok && i + 1 < n; i += 2) {
		u = big_endian ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i + 1] << 8 | p[i]);
		if (u >= 0xD800 && u <= 0xDBFF && i + 3 < n) {
			lo = big_endian ? (uint32_t)(p[i + 2] << 8 | p[i + 3])
					: (uint32_t)(p[i + 3] << 8 | p[i + 2]);
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		ok = put_codepoint(&b, u);
	}
	return finish(&b, ok);
}

char *text_utf16be_to_utf8(const uint8_t *p, size_t n)
{
	return utf16_to_utf8(p, n, true);
}

char *text_utf16le_to_utf8(const uint8_t *p, size_t n)
{
	return utf16_to_utf8(p, n, false);
}

/* Windows-1250 upper half, 0x80..0xFF. 0 marks an undefined byte. */
static const uint16_t cp1250_high[128] = {
	0x20AC, 0,      0x201A, 0,      0x201E, 0x2026, 0x2020, 0x2021, 0,      0x2030, 0x0160,
	0x2039, 0x015A, 0x0164, 0x017D, 0x0179, 0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
	0x2013, 0x2014, 0,      0x2122, 0x0161, 0x203A, 0x015B, 0x0165, 0x017E, 0x017A, 0x00A0,
	0x02C7, 0x02D8, 0x0141, 0x00A4, 0x0104, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x015E, 0x00AB,
	0x00AC, 0x00AD, 0x00AE, 0x017B, 0x00B0, 0x00B1, 0x02DB, 0x0142, 0x00B4, 0x00B5, 0x00B6,
	0x00B7, 0x00B8, 0x0105, 0x015F, 0x00BB, 0x013D, 0x02DD, 0x013E, 0x017C, 0x0154, 0x00C1,
	0x00C2, 0x0102, 0x00C4, 0x0139, 0x0106, 0x00C7, 0x010C, 0x00C9, 0x0118, 0x00CB, 0x011A,
	0x00CD, 0x00CE, 0x010E, 0x0110, 0x0143, 0x0147, 0x00D3, 0x00D4, 0x0150, 0x00D6, 0x00D7,
	0x0158, 0x016E, 0x00DA, 0x0170, 0x00DC, 0x00DD, 0x0162, 0x00DF, 0x0155, 0x00E1, 0x00E2,
	0x0103, 0x00E4, 0x013A, 0x0107, 0x00E7, 0x010D, 0x00E9, 0x0119, 0x00EB, 0x011B, 0x00ED,
	0x00EE, 0x010F, 0x0111, 0x0144, 0x0148, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x00F7, 0x0159,
	0x016F, 0x00FA, 0x0171, 0x00FC, 0x00FD, 0x0163, 0x02D9,
};

char *text_cp1250_to_utf8(const uint8_t *p, size_t n)
{
	struct bytebuf b;
	size_t i;
	bool ok;
	uint32_t cp;

	bytebuf_init(&b);
	ok = bytebuf_reserve(&b, n);
	for (i = 0; ok && i < n; i++) {
		cp = p[i] < 0x80 ? p[i] : cp1250_high[p[i] - 0x80];
		ok = put_codepoint(&b, cp ? cp : 0xFFFD);
	}
	return finish(&b, ok);
}

char *text_dup(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

bool text_has_prefix_ci(const char *s, size_t n, const char *prefix)
{
	size_t i;
	char a, b;

	for (i = 0; prefix[i]; i++) {
		if (i == n)
			return false;
		a = s[i];
		b = prefix[i];
		/* equal, or the same letter in the other case */
		if (a != b && ((a | 0x20) != (b | 0x20) || (unsigned)((b | 0x20) - 'a') > 'z' - 'a'))
			return false;
	}
	return true;
}
