/* Where an MSN file travels, and its bytes. An MSNSLP INVITE for a file
 * names a SessionID; unless the peers then open a direct connection, the
 * file follows through the switchboard as P2P chunks of that session
 * (application/x-msnmsgrp2p, flags 0x01000030), each with its offset in
 * the file and the file's total size: IM_XFER_INBAND, the session id in
 * decimal as token. One data session per direction is followed at a
 * time; a chunk past the expected offset is a gap. */
#include <stdio.h>
#include <string.h>

#include "proto/msn/msn_internal.h"

#define P2P_FLAGS_FILE_DATA 0x01000030u

static size_t session_token(uint32_t id, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%u", id);

	return n > 0 ? (size_t)n : 0;
}

void msn_slp_xfer(const struct msn_slp_offer *o, struct im_xfer *x)
{
	char tok[16];
	size_t n;

	memset(x, 0, sizeof(*x));
	if (!o->has_session_id)
		return;
	n = session_token(o->session_id, tok, sizeof(tok));
	x->path = IM_XFER_INBAND;
	memcpy(x->token, tok, n);
	x->token_len = (uint8_t)n;
}

static void piece(struct proto_session *s, enum proto_file_op op, enum im_dir dir, uint32_t id,
		  struct proto_file_piece *p)
{
	char tok[16];

	p->op = op;
	p->dir = dir;
	p->token = (const uint8_t *)tok;
	p->token_len = session_token(id, tok, sizeof(tok));
	proto_file_piece(s, p);
}

void msn_p2p_file_data(struct proto_session *s, enum im_dir dir, const struct msn_p2p_chunk *c)
{
	struct msn_p2p_data *d = &msn_state_of(s)->p2p_data[dir];
	struct proto_file_piece p = { 0 };

	if (c->flags != P2P_FLAGS_FILE_DATA || c->size == 0)
		return; /* acknowledgements, the data preparation message */
	if (c->offset == 0 || !d->open || d->session_id != c->session_id) {
		if (d->open)
			piece(s, PROTO_FILE_CLOSE, dir, d->session_id, &p);
		memset(&p, 0, sizeof(p));
		d->open = true;
		d->session_id = c->session_id;
		d->next = 0;
		p.has_size = true;
		p.size = c->total;
		piece(s, PROTO_FILE_OPEN, dir, c->session_id, &p);
	}
	if (c->offset > d->next) {
		memset(&p, 0, sizeof(p));
		p.len = (size_t)(c->offset - d->next);
		piece(s, PROTO_FILE_GAP, dir, d->session_id, &p);
		d->next = c->offset;
	}
	if (c->offset + c->size <= d->next)
		return; /* a chunk sent again */
	memset(&p, 0, sizeof(p));
	p.data = c->data + (d->next - c->offset);
	p.len = (size_t)(c->offset + c->size - d->next);
	piece(s, PROTO_FILE_DATA, dir, d->session_id, &p);
	d->next = c->offset + c->size;
	if (d->next >= c->total) {
		memset(&p, 0, sizeof(p));
		p.complete = true;
		piece(s, PROTO_FILE_CLOSE, dir, d->session_id, &p);
		d->open = false;
	}
}
