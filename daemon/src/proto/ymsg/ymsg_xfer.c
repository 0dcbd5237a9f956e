/* Where a Yahoo file travels (YMSG 15 and later, as libpurple's yahoo
 * file transfer speaks it). The offer (service 0xdc, key 265 the
 * transfer's id) names the files; once accepted, the sender's info
 * packet (0xdd) names a relay host (key 250) and a token (key 251), and
 * both clients speak HTTP to the relay on port 80: the sender POSTs the
 * file, the receiver GETs it, each URL carrying "token=": IM_XFER_HTTP.
 * The info is logged as a rendezvous event that completes the offer. */
#include <arpa/inet.h>
#include <string.h>

#include "proto/ymsg/ymsg_internal.h"

#define YMSG_RELAY_PORT 80

static bool pair_token(const struct ymsg_packet *pk, const struct ymsg_pair *pr, uint8_t *out,
		       uint8_t *len)
{
	if (!pr || pr->len == 0 || pr->len > IM_XFER_TOKEN_MAX)
		return false;
	memcpy(out, pk->pdu + pr->off, pr->len);
	*len = (uint8_t)pr->len;
	return true;
}

void ymsg_file_xfer(const struct ymsg_packet *pk, struct im_xfer *x)
{
	memset(x, 0, sizeof(*x));
	if (pk->h.service == YS_FILETRANS_15 &&
	    pair_token(pk, ymsg_pair_get(pk, 265), x->token, &x->token_len))
		x->path = IM_XFER_HTTP;
}

int ymsg_decode_relay_info(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	const struct ymsg_pair *host = ymsg_pair_get(pk, 250), *token = ymsg_pair_get(pk, 251);
	const struct ymsg_pair *peer = ymsg_pair_get(pk, dir == IM_DIR_OUT ? 5 : 4);
	char text[64];
	struct im_event ev;

	if (!host || !token || host->len == 0 || host->len >= sizeof(text))
		return 0;
	memcpy(text, pk->pdu + host->off, host->len);
	text[host->len] = '\0';
	proto_event_begin(s, &ev, dir, IM_KIND_RENDEZVOUS);
	ev.xfer.path = IM_XFER_HTTP;
	ev.xfer.port = YMSG_RELAY_PORT;
	if (inet_pton(AF_INET, text, ev.xfer.addr) == 1)
		ev.xfer.ip_version = 4;
	pair_token(pk, token, ev.xfer.token, &ev.xfer.token_len);
	pair_token(pk, ymsg_pair_get(pk, 265), ev.xfer.offer_id, &ev.xfer.offer_id_len);
	if (!event_set(&ev.text, text, strlen(text)) ||
	    (peer && !event_set(&ev.remote, (const char *)pk->pdu + peer->off, peer->len))) {
		event_free(&ev);
		return proto_session_malformed(s, "out of memory");
	}
	proto_event_emit(s, &ev);
	return 0;
}
