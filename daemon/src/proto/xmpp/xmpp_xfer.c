/* Where an XMPP file transfer's data travel, and in-band data themselves.
 *
 * An SI offer (XEP-0096) names the file and a stream id; the stream then
 * goes in-band (XEP-0047 IBB: <open/>, base64 <data/> chunks, <close/>
 * in iqs or messages, through the server: IM_XFER_INBAND, the sid as
 * token) or as a SOCKS5 bytestream (XEP-0065): the initiator names its
 * streamhosts (itself, or a proxy such as prosody's mod_proxy65) in a
 * <query xmlns='http://jabber.org/protocol/bytestreams'/>, and the
 * target connects to one and asks, in the SOCKS5 handshake, for the
 * domain SHA-1(sid + initiator's full JID + target's full JID) in hex:
 * IM_XFER_SOCKS5 with that as token, logged as a rendezvous event that
 * completes the SI offer (offer_id: the sid). Jingle file transfer
 * (XEP-0234) names its transport in the same stanza as the file:
 * IBB (XEP-0261, the transport's sid) or SOCKS5 (XEP-0260, candidates,
 * the hash of the transport's sid and both JIDs). */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/xmpp/xmpp_internal.h"
#include "util/text.h"

#define NS_BYTESTREAMS "http://jabber.org/protocol/bytestreams"
#define NS_IBB "http://jabber.org/protocol/ibb"
#define NS_JINGLE_IBB "urn:xmpp:jingle:transports:ibb:1"
#define NS_JINGLE_S5B "urn:xmpp:jingle:transports:s5b:1"

static bool set_token(uint8_t *dst, uint8_t *len, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > IM_XFER_TOKEN_MAX)
		return false;
	memcpy(dst, s, n);
	*len = (uint8_t)n;
	return true;
}

void xmpp_inband_xfer(const char *sid, struct im_xfer *x)
{
	memset(x, 0, sizeof(*x));
	if (set_token(x->token, &x->token_len, sid))
		x->path = IM_XFER_INBAND;
}

/* hex(SHA-1(sid + initiator + target)): the SOCKS5 destination. */
static bool socks5_hash(const char *sid, const char *initiator, const char *target,
			struct im_xfer *x)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
		  EVP_DigestUpdate(ctx, sid, strlen(sid)) == 1 &&
		  EVP_DigestUpdate(ctx, initiator, strlen(initiator)) == 1 &&
		  EVP_DigestUpdate(ctx, target, strlen(target)) == 1 &&
		  EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 20;

	EVP_MD_CTX_free(ctx);
	if (!ok)
		return false;
	for (i = 0; i < n; i++) {
		x->token[2 * i] = (uint8_t)digits[md[i] >> 4];
		x->token[2 * i + 1] = (uint8_t)digits[md[i] & 15];
	}
	x->token_len = 40;
	return true;
}

/* A streamhost or candidate: an address literal and a port. */
static bool host_port(const char *host, const char *port, struct im_xfer *x)
{
	char *end;
	unsigned long p;

	if (!host || !port || !port[0])
		return false;
	p = strtoul(port, &end, 10);
	if (*end || p == 0 || p > 65535)
		return false;
	if (inet_pton(AF_INET, host, x->addr) == 1)
		x->ip_version = 4;
	else if (inet_pton(AF_INET6, host, x->addr) == 1)
		x->ip_version = 6;
	else
		return false; /* a host name: nothing on the wire to match */
	x->port = (uint16_t)p;
	return true;
}

/* Who asks and who is asked: the stanza's "from" (or, for what we send,
 * the full JID the server bound us to) and "to". */
static void stanza_jids(struct proto_session *s, const struct xtree *t, int root, enum im_dir dir,
			char **from, char **to, bool *failed)
{
	*from = xmpp_attr_text(t, root, "from", failed);
	*to = xmpp_attr_text(t, root, "to", failed);
	if (!*from && dir == IM_DIR_OUT && s->local_address)
		*from = text_dup(s->local_address, strlen(s->local_address));
	if (!*to && dir == IM_DIR_IN && s->local_address)
		*to = text_dup(s->local_address, strlen(s->local_address));
}

static int emit_streamhost(struct proto_session *s, enum im_dir dir, const char *peer,
			   const char *sid, const char *host, const struct im_xfer *x)
{
	struct im_event ev;
	struct bytebuf b;
	bool ok;

	proto_event_begin(s, &ev, dir, IM_KIND_RENDEZVOUS);
	ev.xfer = *x;
	bytebuf_init(&b);
	ok = bytebuf_printf(&b, "bytestream %s via %s:%u", sid, host, (unsigned)x->port) &&
	     bytebuf_terminate(&b) && event_set_str(&ev.text, (char *)b.data) &&
	     event_set_str(&ev.remote, peer);
	bytebuf_free(&b);
	if (!ok) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

int xmpp_decode_bytestreams(struct proto_session *s, enum im_dir dir, const struct xtree *t,
			    int root, int query, const char *peer)
{
	bool failed = false;
	char *sid = xmpp_attr_text(t, query, "sid", &failed), *from = NULL, *to = NULL;
	struct im_xfer x;
	int c, rc = 0;

	stanza_jids(s, t, root, dir, &from, &to, &failed);
	if (failed) {
		rc = -1;
		goto out;
	}
	if (!sid || !from || !to)
		goto out; /* activation, or streamhost-used: nothing new to expect */
	for (c = t->nodes[query].first_child; c >= 0 && rc == 0; c = t->nodes[c].next) {
		char *host, *port;

		if (!xmpp_node_is(t, c, "streamhost"))
			continue;
		host = xmpp_attr_text(t, c, "host", &failed);
		port = xmpp_attr_text(t, c, "port", &failed);
		memset(&x, 0, sizeof(x));
		x.path = IM_XFER_SOCKS5;
		if (!failed && host_port(host, port, &x) && socks5_hash(sid, from, to, &x) &&
		    set_token(x.offer_id, &x.offer_id_len, sid))
			rc = emit_streamhost(s, dir, peer, sid, host, &x);
		else if (failed)
			rc = -1;
		free(host);
		free(port);
	}
out:
	free(sid);
	free(from);
	free(to);
	return rc;
}

/* The first usable transport of a Jingle content: x filled, or left
 * IM_XFER_NONE. */
void xmpp_jingle_xfer(struct proto_session *s, enum im_dir dir, const struct xtree *t, int root,
		      int content, struct im_xfer *x)
{
	int tr = xmpp_child(t, content, "transport", NULL), c;
	bool failed = false;
	char *sid, *from = NULL, *to = NULL;

	memset(x, 0, sizeof(*x));
	if (tr < 0)
		return;
	sid = xmpp_attr_text(t, tr, "sid", &failed);
	if (sid && xmpp_node_ns_is(t, tr, NS_JINGLE_IBB)) {
		xmpp_inband_xfer(sid, x);
	} else if (sid && xmpp_node_ns_is(t, tr, NS_JINGLE_S5B)) {
		stanza_jids(s, t, root, dir, &from, &to, &failed);
		for (c = t->nodes[tr].first_child; c >= 0 && from && to; c = t->nodes[c].next) {
			char *host = xmpp_attr_text(t, c, "host", &failed);
			char *port = xmpp_attr_text(t, c, "port", &failed);
			bool ok = xmpp_node_is(t, c, "candidate") && host_port(host, port, x) &&
				  socks5_hash(sid, from, to, x);

			free(host);
			free(port);
			if (ok) {
				x->path = IM_XFER_SOCKS5;
				break;
			}
			memset(x, 0, sizeof(*x));
		}
	}
	free(sid);
	free(from);
	free(to);
}

/* ---- in-band bytestreams ---- */

static void ibb_piece(struct proto_session *s, enum proto_file_op op, enum im_dir dir,
		      const char *sid, struct proto_file_piece *p)
{
	p->op = op;
	p->dir = dir;
	p->token = (const uint8_t *)sid;
	p->token_len = strlen(sid);
	proto_file_piece(s, p);
}

/* base64 text to bytes (white space inside is allowed). */
static uint8_t *base64_decode(const char *text, size_t *out_len)
{
	size_t n = strlen(text);
	uint8_t *out = malloc(n / 4 * 3 + 4);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int a = 0, b = 0;

	if (!out || !ctx || n > INT32_MAX)
		goto fail;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &a, (const unsigned char *)text, (int)n) < 0 ||
	    EVP_DecodeFinal(ctx, out + a, &b) < 0)
		goto fail;
	EVP_ENCODE_CTX_free(ctx);
	*out_len = (size_t)a + (size_t)b;
	return out;
fail:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

static int ibb_data(struct proto_session *s, enum im_dir dir, const struct xtree *t, int el,
		    const char *sid)
{
	struct proto_file_piece p = { 0 };
	char *text = xmpp_node_text(t, el);
	uint8_t *bytes;
	size_t n = 0;

	if (!text)
		return -1;
	bytes = base64_decode(text, &n);
	free(text);
	if (!bytes) {
		proto_session_malformed(s, "IBB data that is not base64");
		return 0;
	}
	p.data = bytes;
	p.len = n;
	ibb_piece(s, PROTO_FILE_DATA, dir, sid, &p);
	free(bytes);
	return 0;
}

int xmpp_decode_ibb(struct proto_session *s, enum im_dir dir, const struct xtree *t, int root)
{
	bool failed = false;
	int c, rc = 0;

	for (c = t->nodes[root].first_child; c >= 0 && rc == 0; c = t->nodes[c].next) {
		struct proto_file_piece p = { 0 };
		char *sid;

		if (!xmpp_node_ns_is(t, c, NS_IBB))
			continue;
		sid = xmpp_attr_text(t, c, "sid", &failed);
		if (failed)
			return -1;
		if (!sid || !sid[0] || strlen(sid) > IM_XFER_TOKEN_MAX) {
			free(sid);
			continue;
		}
		if (xmpp_node_is(t, c, "open"))
			ibb_piece(s, PROTO_FILE_OPEN, dir, sid, &p);
		else if (xmpp_node_is(t, c, "data"))
			rc = ibb_data(s, dir, t, c, sid);
		else if (xmpp_node_is(t, c, "close")) {
			p.complete = true;
			ibb_piece(s, PROTO_FILE_CLOSE, dir, sid, &p);
		}
		free(sid);
	}
	return rc;
}
