/* Where an OSCAR file transfer's data travel, and the data themselves.
 *
 * The proposal (a channel-2 ICBM with the file-send capability) names
 * the proposer's addresses and the port it listens on in the rendezvous
 * TLVs: 0x0002 the address it sees itself at, 0x0003 its internal
 * address, 0x0004 the address the server saw, 0x0005 the port, 0x0010
 * (present) "through the AOL proxy", where the addresses are the
 * proxy's and the connection starts with the proxy's own handshake. The
 * receiver connects and both speak OFT2 (oscar_oft.c), the sender's raw
 * file bytes after the receiver's ack: IM_XFER_FRAMED, from the listener,
 * named by the ICBM cookie that OFT2 headers repeat. */
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/oscar/oscar_internal.h"

#define RV_TLV_RENDEZVOUS_IP 0x0002
#define RV_TLV_INTERNAL_IP 0x0003
#define RV_TLV_EXTERNAL_IP 0x0004
#define RV_TLV_PORT 0x0005
#define RV_TLV_PROXY 0x0010

void oscar_rendezvous_xfer(const uint8_t *cookie, const uint8_t *chain, size_t chain_len,
			   struct im_xfer *x)
{
	static const uint16_t ip_tlvs[] = { RV_TLV_RENDEZVOUS_IP, RV_TLV_INTERNAL_IP,
					    RV_TLV_EXTERNAL_IP };
	struct oscar_tlv tlv;
	size_t i;

	memset(x, 0, sizeof(*x));
	x->path = IM_XFER_FRAMED;
	x->from_listener = true;
	memcpy(x->token, cookie, ICBM_COOKIE_LEN);
	x->token_len = ICBM_COOKIE_LEN;
	if (oscar_tlv_find(chain, chain_len, RV_TLV_PROXY, &tlv))
		return; /* the proxy's address: the cookie alone names it */
	if (!oscar_tlv_find(chain, chain_len, RV_TLV_PORT, &tlv) || tlv.len != 2)
		return;
	x->port = imw_load_be16(tlv.value);
	for (i = 0; i < sizeof(ip_tlvs) / sizeof(ip_tlvs[0]); i++) {
		if (oscar_tlv_find(chain, chain_len, ip_tlvs[i], &tlv) && tlv.len == 4 &&
		    imw_load_be32(tlv.value) != 0) {
			x->ip_version = 4;
			memcpy(x->addr, tlv.value, 4);
			return;
		}
	}
}

static void piece(struct proto_session *s, enum proto_file_op op, enum im_dir dir,
		  const uint8_t *cookie, struct proto_file_piece *p)
{
	p->op = op;
	p->dir = dir;
	p->token = cookie;
	p->token_len = ICBM_COOKIE_LEN;
	proto_file_piece(s, p);
}

void oscar_oft_open(struct proto_session *s, struct oscar_state *st, enum im_dir sender,
		    const struct oft_header *h, const char *name)
{
	struct proto_file_piece p = { 0 };

	if (st->oft_open[sender])
		return;
	st->oft_open[sender] = true;
	memcpy(st->oft_data_cookie[sender], h->cookie, ICBM_COOKIE_LEN);
	p.name = name;
	p.has_size = true;
	p.size = h->size;
	piece(s, PROTO_FILE_OPEN, sender, h->cookie, &p);
}

void oscar_oft_data(struct proto_session *s, struct oscar_state *st, enum im_dir sender,
		    const uint8_t *data, size_t len)
{
	struct proto_file_piece p = { 0 };

	if (!st->oft_open[sender])
		return;
	p.data = data;
	p.len = len;
	p.has_stream_offset = true;
	p.stream_offset = proto_session_pdu_offset(s);
	piece(s, PROTO_FILE_DATA, sender, st->oft_data_cookie[sender], &p);
}

void oscar_oft_close(struct proto_session *s, struct oscar_state *st, enum im_dir sender,
		     bool complete)
{
	struct proto_file_piece p = { 0 };

	if (!st->oft_open[sender])
		return;
	st->oft_open[sender] = false;
	p.complete = complete;
	piece(s, PROTO_FILE_CLOSE, sender, st->oft_data_cookie[sender], &p);
}
