/* A file through an HTTP relay (Yahoo's: the sender POSTs the file, the
 * receiver GETs it, both naming the transfer's token in the URL's
 * "token=" parameter). The request's head (up to its blank line) names
 * the transfer; the file is the body of the POST, or of the answer to the
 * GET, after that answer's head. Heads are bounded. */
#include <string.h>

#include "files/files_internal.h"

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The request line's "token=" value, percent-decoded. */
static bool find_token(struct http_relay *h, const uint8_t *line, size_t len)
{
	static const char key[] = "token=";
	size_t i, n = sizeof(key) - 1;

	for (i = 0; i + n <= len; i++) {
		if ((line[i] == '?' || line[i] == '&') && i + 1 + n <= len &&
		    memcmp(line + i + 1, key, n) == 0)
			break;
	}
	if (i + n > len || i + 1 + n > len)
		return false;
	h->token_len = 0;
	for (i += 1 + n; i < len && line[i] != '&' && line[i] != ' '; i++) {
		uint8_t c = line[i];

		if (c == '%' && i + 2 < len && hex_value(line[i + 1]) >= 0 &&
		    hex_value(line[i + 2]) >= 0) {
			c = (uint8_t)(hex_value(line[i + 1]) * 16 + hex_value(line[i + 2]));
			i += 2;
		}
		if (h->token_len == sizeof(h->token))
			return false;
		h->token[h->token_len++] = c;
	}
	return h->token_len > 0;
}

enum http_result http_relay_feed(struct http_relay *h, enum im_dir dir, const uint8_t *data,
				 size_t len, size_t *used)
{
	size_t i;

	*used = 0;
	if (h->failed)
		return HTTP_BROKEN;
	if (h->done[dir])
		return HTTP_BODY;
	for (i = 0; i < len; i++) {
		if (h->have[dir] == sizeof(h->head[dir])) {
			h->failed = true;
			return HTTP_BROKEN;
		}
		h->head[dir][h->have[dir]++] = data[i];
		if (h->have[dir] >= 4 && memcmp(h->head[dir] + h->have[dir] - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (i == len) {
		*used = len;
		return HTTP_MORE;
	}
	*used = i + 1;
	h->done[dir] = true;
	if (dir == IM_DIR_OUT) {
		const uint8_t *eol = memchr(h->head[dir], '\r', h->have[dir]);

		h->post = h->have[dir] >= 5 && memcmp(h->head[dir], "POST ", 5) == 0;
		if (!(h->post || (h->have[dir] >= 4 && memcmp(h->head[dir], "GET ", 4) == 0)) ||
		    !find_token(h, h->head[dir], (size_t)(eol - h->head[dir]))) {
			h->failed = true;
			return HTTP_BROKEN;
		}
	}
	return HTTP_BODY;
}
