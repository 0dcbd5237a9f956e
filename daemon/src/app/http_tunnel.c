#include "app/http_tunnel.h"

#include <string.h>

/* Offset just past the empty line ending the head, or 0 when it is not
 * in p[0, len) yet. A bare "\n\n" ends it too (RFC 9112 2.2 tolerance). */
static size_t head_end(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Does p[0, len) agree with lit as far as both go? */
static bool prefix_agrees(const uint8_t *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return memcmp(p, lit, len < n ? len : n) == 0;
}

static enum http_tunnel_parse incomplete(size_t len)
{
	return len < HTTP_TUNNEL_MAX_HEAD ? HTTP_TUNNEL_NEED_MORE : HTTP_TUNNEL_NO;
}

enum http_tunnel_parse http_tunnel_request(const uint8_t *p, size_t len, size_t *head_len,
					   uint16_t *port)
{
	static const char verb[] = "CONNECT ";
	size_t end, i, line_end, colon = 0;
	unsigned long v = 0;

	if (!prefix_agrees(p, len, verb))
		return HTTP_TUNNEL_NO;
	end = head_end(p, len > HTTP_TUNNEL_MAX_HEAD ? HTTP_TUNNEL_MAX_HEAD : len);
	if (!end)
		return incomplete(len);
	for (line_end = 0; line_end < end && p[line_end] != '\r' && p[line_end] != '\n'; line_end++)
		;
	/* "CONNECT authority HTTP/1.x": the authority ends at the next blank. */
	for (i = sizeof(verb) - 1; i < line_end && p[i] != ' '; i++)
		if (p[i] == ':')
			colon = i;
	if (!colon || i == line_end || line_end - i < 9 || memcmp(p + i + 1, "HTTP/1.", 7) != 0)
		return HTTP_TUNNEL_NO;
	if (colon + 1 == i)
		return HTTP_TUNNEL_NO;
	for (colon++; colon < i; colon++) {
		if (p[colon] < '0' || p[colon] > '9')
			return HTTP_TUNNEL_NO;
		v = v * 10 + (unsigned long)(p[colon] - '0');
		if (v > 65535)
			return HTTP_TUNNEL_NO;
	}
	if (v == 0)
		return HTTP_TUNNEL_NO;
	*port = (uint16_t)v;
	*head_len = end;
	return HTTP_TUNNEL_YES;
}

enum http_tunnel_parse http_tunnel_reply(const uint8_t *p, size_t len, size_t *head_len,
					 unsigned *status)
{
	size_t end;

	if (!prefix_agrees(p, len, "HTTP/1."))
		return HTTP_TUNNEL_NO;
	end = head_end(p, len > HTTP_TUNNEL_MAX_HEAD ? HTTP_TUNNEL_MAX_HEAD : len);
	if (!end)
		return incomplete(len);
	/* "HTTP/1.x NNN" */
	if (end < 12 || p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9')
		return HTTP_TUNNEL_NO;
	*status = (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') * 10 +
		  (unsigned)(p[11] - '0');
	*head_len = end;
	return HTTP_TUNNEL_YES;
}
