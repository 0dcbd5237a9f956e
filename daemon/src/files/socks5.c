/* The SOCKS5 handshake (RFC 1928) in front of an XMPP bytestream
 * (XEP-0065): the client greets (5, n, n methods) and asks to CONNECT to
 * a domain name, the SHA-1 (hex) of the stream id and both JIDs; the
 * server chooses "no authentication" (5, 0) and replies in the request's
 * format. What follows in either direction is the stream. Each side's
 * two parts are parsed from the bytes as they come, with a bound. */
#include <string.h>

#include "files/files_internal.h"

#define SOCKS5_VERSION 5
#define ATYP_IPV4 1
#define ATYP_DOMAIN 3
#define ATYP_IPV6 4

/* Length of a request or reply (VER CMD RSV ATYP ADDR PORT) once its
 * first 5 bytes are in; 0 when malformed. */
static size_t message_len(const uint8_t *p)
{
	if (p[0] != SOCKS5_VERSION)
		return 0;
	switch (p[3]) {
	case ATYP_IPV4:
		return 4 + 4 + 2;
	case ATYP_IPV6:
		return 4 + 16 + 2;
	case ATYP_DOMAIN:
		return 4 + 1 + (size_t)p[4] + 2;
	default:
		return 0;
	}
}

/* How long dir's current part is, from what it has so far; 0: not yet
 * known; SIZE_MAX: malformed. */
static size_t part_len(const struct socks5 *s, enum im_dir dir)
{
	const uint8_t *b = s->buf[dir];
	size_t have = s->have[dir];

	if (s->stage[dir] == 0) {
		if (dir == IM_DIR_IN)
			return 2;
		if (have < 2)
			return 0;
		return b[0] == SOCKS5_VERSION && b[1] ? 2 + (size_t)b[1] : SIZE_MAX;
	}
	if (have < 5)
		return 0;
	return message_len(b) ? message_len(b) : SIZE_MAX;
}

/* dir's current part is complete: check it, keep what matters. */
static bool part_done(struct socks5 *s, enum im_dir dir)
{
	const uint8_t *b = s->buf[dir];

	if (s->stage[dir] == 0) {
		if (dir == IM_DIR_IN)
			return b[0] == SOCKS5_VERSION && b[1] == 0; /* no authentication */
		return memchr(b + 2, 0, b[1]) != NULL;        /* offers "no authentication" */
	}
	if (dir == IM_DIR_OUT) {
		if (b[1] != 1 || b[3] != ATYP_DOMAIN) /* CONNECT to a name */
			return false;
		memcpy(s->dst, b + 5, b[4]);
		s->dst_len = b[4];
		return true;
	}
	return b[1] == 0; /* succeeded */
}

enum socks5_result socks5_feed(struct socks5 *s, enum im_dir dir, const uint8_t *data, size_t len,
			       size_t *used)
{
	size_t pos = 0;

	*used = 0;
	if (s->failed)
		return SOCKS5_BROKEN;
	while (!s->done[dir] && pos < len) {
		size_t need = part_len(s, dir), take;

		if (need == SIZE_MAX || need > sizeof(s->buf[dir])) {
			s->failed = true;
			return SOCKS5_BROKEN;
		}
		/* Take one byte at a time until the length is known, then the rest. */
		take = need ? need - s->have[dir] : 1;
		if (take > len - pos)
			take = len - pos;
		memcpy(s->buf[dir] + s->have[dir], data + pos, take);
		s->have[dir] += take;
		pos += take;
		if (!need || s->have[dir] < need)
			continue;
		if (!part_done(s, dir)) {
			s->failed = true;
			return SOCKS5_BROKEN;
		}
		s->preamble[dir] += need;
		s->have[dir] = 0;
		if (++s->stage[dir] == 2)
			s->done[dir] = true;
	}
	*used = pos;
	return s->done[dir] ? SOCKS5_DATA : SOCKS5_MORE;
}
