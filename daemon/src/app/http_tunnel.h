/* HTTP CONNECT tunnels (RFC 9110 9.3.6): a client asks a proxy for a
 * tunnel with "CONNECT host:port HTTP/1.x", headers, an empty line; the
 * proxy answers "HTTP/1.x 2xx ...", headers, an empty line, and from then
 * on the connection carries the target's protocol. Both parsers look at
 * the first bytes of their direction only, with a bounded cursor. */
#ifndef IMW_APP_HTTP_TUNNEL_H
#define IMW_APP_HTTP_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A head longer than this is not a CONNECT we follow. */
#define HTTP_TUNNEL_MAX_HEAD 4096

enum http_tunnel_parse {
	HTTP_TUNNEL_NO,        /* not this message */
	HTTP_TUNNEL_NEED_MORE, /* could be, the head is not complete yet */
	HTTP_TUNNEL_YES,       /* *head_len bytes are the whole head */
};

/* "CONNECT host:port HTTP/1.x\r\n...\r\n\r\n": the target port. */
enum http_tunnel_parse http_tunnel_request(const uint8_t *p, size_t len, size_t *head_len,
					   uint16_t *port);
/* "HTTP/1.x NNN reason\r\n...\r\n\r\n": the status code. */
enum http_tunnel_parse http_tunnel_reply(const uint8_t *p, size_t len, size_t *head_len,
					 unsigned *status);

#endif
