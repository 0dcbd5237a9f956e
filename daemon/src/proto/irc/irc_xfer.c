/* Where a DCC SEND's data will travel (CTCP DCC, as clients implement
 * it): "DCC SEND name address port size [token]". The sender listens on
 * address:port and the receiver connects and reads the file, raw, sending
 * back 32-bit acknowledgements (IM_XFER_TCP, from the listener). In a
 * reverse ("passive") DCC the sender offers port 0 with a token; the
 * receiver listens and answers with the same line carrying its own
 * address, port and the token, and the sender connects and writes (to
 * the listener). The address is a 32-bit number in decimal (IPv4), or an
 * IPv6 address as text. */
#include <arpa/inet.h>
#include <string.h>

#include "proto/irc/irc_internal.h"

static bool span_u64(const struct irc_line *l, struct irc_span sp, uint64_t max, uint64_t *out)
{
	const uint8_t *p = irc_span_ptr(l, sp);
	uint64_t v = 0;
	size_t i;

	if (sp.len == 0 || sp.len > 20)
		return false;
	for (i = 0; i < sp.len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

static bool dcc_address(const struct irc_line *l, struct irc_span sp, struct im_xfer *x)
{
	char text[INET6_ADDRSTRLEN];
	uint64_t v;

	if (span_u64(l, sp, UINT32_MAX, &v)) {
		x->ip_version = 4;
		x->addr[0] = (uint8_t)(v >> 24);
		x->addr[1] = (uint8_t)(v >> 16);
		x->addr[2] = (uint8_t)(v >> 8);
		x->addr[3] = (uint8_t)v;
		return v != 0;
	}
	if (sp.len == 0 || sp.len >= sizeof(text))
		return false;
	memcpy(text, irc_span_ptr(l, sp), sp.len);
	text[sp.len] = '\0';
	if (inet_pton(AF_INET6, text, x->addr) == 1) {
		x->ip_version = 6;
		return true;
	}
	if (inet_pton(AF_INET, text, x->addr) == 1) {
		x->ip_version = 4;
		return true;
	}
	return false;
}

void irc_dcc_xfer(const struct irc_line *l, const struct irc_dcc_offer *offer, struct im_xfer *x)
{
	uint64_t port;

	memset(x, 0, sizeof(*x));
	if (!span_u64(l, offer->port, 65535, &port) || !dcc_address(l, offer->addr, x)) {
		memset(x, 0, sizeof(*x));
		return;
	}
	x->path = IM_XFER_TCP;
	x->port = (uint16_t)port;
	/* With a token and a port, the line answers a reverse DCC: its
	 * sender is the receiver of the file, and listens for it. */
	x->from_listener = !(offer->token.len && port != 0);
	if (offer->token.len && offer->token.len <= IM_XFER_TOKEN_MAX) {
		memcpy(x->token, irc_span_ptr(l, offer->token), offer->token.len);
		x->token_len = (uint8_t)offer->token.len;
	}
}
