/* XMPP framing: the streaming tokenizer run over the PDU under way (its
 * state kept between calls, so a stanza split over many segments is
 * scanned once), resync at the next top-level element after a gap, and
 * detection from a stream header or stanzas picked up mid-stream. A
 * stanza that comes whole in one call is also built into its tree from
 * the same tokens, for its decoder (xmpp_internal.h, struct xmpp_framer). */
#include <stdlib.h>
#include <string.h>

#include "proto/xmpp/xmpp_internal.h"

/* Top-level element names a resync may stop at. */
static const char *const top_level_names[] = {
	"message", "presence", "iq", "stream:stream", "/stream:stream", "?xml",
	"stream:features", "stream:error", "starttls", "proceed", "auth", "success",
	"failure", "challenge", "response", "db:result", "db:verify", "compress",
	"compressed", "enable", "enabled", "resume", "resumed", "r", "a",
};

static bool is_stream_start(const uint8_t *buf, struct xml_span name)
{
	return xmpp_local_is_stream(buf, name) && name.len > 6;
}

static void framer_reset(struct xmpp_framer *f)
{
	xmpp_tok_free(f->tok);
	f->tok = NULL;
	xmpp_build_free(f->build);
	f->build = NULL;
	f->kind = FRAME_NONE;
}

void xmpp_framer_free(struct xmpp_framer *f)
{
	framer_reset(f);
}

/* Between top-level elements: white space (a keepalive, a PDU of its
 * own) or the stream's end; anything else starts an element, and the
 * tokenizer starts on it. True when that decided the frame (*fr). */
static bool frame_between(struct proto_session *s, struct xmpp_framer *f, const uint8_t *data,
			  size_t len, size_t *pdu_len, enum proto_frame *fr)
{
	size_t i, close_len;

	for (i = 0; i < len && xmpp_is_ws(data[i]); i++)
		;
	if (i > 0) {
		*pdu_len = i;
		*fr = PROTO_FRAME_PDU;
		return true;
	}
	if (xmpp_is_stream_close(data, len, &close_len)) {
		if (close_len) {
			*pdu_len = close_len;
			*fr = PROTO_FRAME_PDU;
		} else {
			*fr = len > 64 ? PROTO_FRAME_GARBAGE : PROTO_FRAME_NEED_MORE;
		}
		return true;
	}
	framer_reset(f);
	f->tok = xmpp_tok_new();
	if (!f->tok) {
		proto_session_malformed(s, "out of memory framing a stanza");
		*fr = PROTO_FRAME_GARBAGE;
		return true;
	}
	/* Without one (no memory) the decoder parses the PDU itself. */
	f->build = xmpp_build_new();
	return false;
}

enum frame_step {
	STEP_ON,      /* the element goes on */
	STEP_PDU,     /* the PDU ends at *pdu_len */
	STEP_GARBAGE, /* not XMPP: malformed was counted */
};

/* What one token of the element under way means for its frame. */
static enum frame_step frame_token(struct proto_session *s, struct xmpp_framer *f,
				   const uint8_t *data, const struct xml_token *k, size_t *pdu_len)
{
	switch (k->type) {
	case XML_TOKEN_PI:
		if (f->kind != FRAME_NONE || !xml_span_is(data, k->name, "xml")) {
			proto_session_malformed(s, "processing instruction in a stream");
			return STEP_GARBAGE;
		}
		f->kind = FRAME_DECL;
		return STEP_ON;
	case XML_TOKEN_COMMENT:
		if (k->depth != 0 || f->kind != FRAME_NONE)
			return STEP_ON;
		*pdu_len = k->end;
		return STEP_PDU;
	case XML_TOKEN_START:
		if (k->depth != 1)
			return STEP_ON;
		if (is_stream_start(data, k->name)) {
			f->kind = FRAME_HEADER;
		} else if (f->kind == FRAME_DECL) {
			/* A declaration without a stream after it stands alone. */
			*pdu_len = k->start;
			return STEP_PDU;
		} else {
			f->kind = FRAME_STANZA;
		}
		return STEP_ON;
	case XML_TOKEN_START_CLOSE:
		if (f->kind != FRAME_HEADER || k->depth != 1)
			return STEP_ON;
		*pdu_len = k->end;
		return STEP_PDU;
	case XML_TOKEN_EMPTY_CLOSE:
	case XML_TOKEN_END:
		if (k->depth != 0)
			return STEP_ON;
		*pdu_len = k->end;
		return STEP_PDU;
	case XML_TOKEN_ATTR:
	case XML_TOKEN_TEXT:
	case XML_TOKEN_CDATA:
		break;
	}
	return STEP_ON;
}

enum proto_frame xmpp_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			    size_t len, size_t *pdu_len)
{
	struct xmpp_framer *f = &xmpp_state_of(s)->framer[dir];
	struct xml_token k;
	enum xml_result r;
	enum proto_frame fr;
	enum frame_step step;

	if (!f->tok && frame_between(s, f, data, len, pdu_len, &fr))
		return fr;
	if (len < f->tok->pos) {
		/* The caller moved on without telling us: start over. */
		framer_reset(f);
		return xmpp_frame(s, dir, data, len, pdu_len);
	}
	while ((r = xml_next(f->tok, data, len, &k)) == XML_OK) {
		step = frame_token(s, f, data, &k, pdu_len);
		/* The tree takes the PDU's tokens: a declaration standing
		 * alone ends before the start tag that told so. */
		if (f->build && (step == STEP_ON || (step == STEP_PDU && *pdu_len == k.end)))
			xmpp_build_token(f->build, data, &k);
		if (step == STEP_ON)
			continue;
		if (step == STEP_PDU && f->build) {
			struct xtree_build *b = f->build;

			f->build = NULL;
			xmpp_build_done(b, *pdu_len);
			framer_reset(f);
			f->build = b; /* until the decoder takes it */
			return PROTO_FRAME_PDU;
		}
		framer_reset(f);
		return step == STEP_PDU ? PROTO_FRAME_PDU : PROTO_FRAME_GARBAGE;
	}
	if (r == XML_NEED_MORE) {
		/* Split over segments: the decoder parses the whole PDU, and no
		 * tree waits here meanwhile. */
		xmpp_build_free(f->build);
		f->build = NULL;
		return PROTO_FRAME_NEED_MORE;
	}
	proto_session_malformed(s, f->tok->error);
	framer_reset(f);
	return PROTO_FRAME_GARBAGE;
}

/* Does a top-level element we know start at p (or could, if the buffer
 * ends first)? */
static bool plausible_start(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(top_level_names) / sizeof(top_level_names[0]); i++) {
		const char *name = top_level_names[i];
		size_t k = strlen(name);

		if (n - 1 < k) {
			if (memcmp(p + 1, name, n - 1) == 0)
				return true;
			continue;
		}
		if (memcmp(p + 1, name, k) != 0)
			continue;
		if (n - 1 == k)
			return true;
		if (xmpp_is_ws(p[1 + k]) || p[1 + k] == '>' || p[1 + k] == '/' ||
		    (name[0] == '?' && p[1 + k] == '?'))
			return true;
	}
	return false;
}

size_t xmpp_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos;

	framer_reset(&xmpp_state_of(s)->framer[dir]);
	for (pos = 0; pos < len; pos++)
		if (data[pos] == '<' && plausible_start(data + pos, len - pos))
			return pos;
	return len;
}

static bool has_at(const uint8_t *p, size_t len, size_t at, const char *lit)
{
	size_t n = strlen(lit);

	return at <= len && len - at >= n && memcmp(p + at, lit, n) == 0;
}

/* Is lit somewhere in p[0, len)? */
static bool contains(const uint8_t *p, size_t len, const char *lit)
{
	size_t n = strlen(lit), i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(p + i, lit, n) == 0)
			return true;
	return false;
}

enum proto_detect xmpp_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	static const char decl[] = "<?xml", stream[] = "<stream:stream";
	static const char *const stanzas[] = { "<message ", "<presence ", "<presence>", "<iq " };
	size_t i = 0, k;

	(void)dir;
	while (i < len && i < 64 && xmpp_is_ws(data[i]))
		i++;
	if (i == len)
		return PROTO_DETECT_MAYBE;
	if (len - i < sizeof(stream) - 1) {
		if (memcmp(data + i, decl, len - i < 5 ? len - i : 5) == 0 ||
		    memcmp(data + i, stream, len - i) == 0)
			return PROTO_DETECT_MAYBE;
		return PROTO_DETECT_NO;
	}
	if (has_at(data, len, i, stream))
		return PROTO_DETECT_YES;
	if (has_at(data, len, i, decl)) {
		if (contains(data + i, len - i, stream))
			return PROTO_DETECT_YES;
		/* The declaration may come in a segment of its own. */
		return len - i < 256 ? PROTO_DETECT_MAYBE : PROTO_DETECT_NO;
	}
	/* Picked up mid-stream: a stanza with a jabber attribute shape. */
	for (k = 0; k < sizeof(stanzas) / sizeof(stanzas[0]); k++)
		if (has_at(data, len, i, stanzas[k]) &&
		    (contains(data + i, len - i, " to='") || contains(data + i, len - i, " to=\"") ||
		     contains(data + i, len - i, " from='") ||
		     contains(data + i, len - i, " from=\"")) &&
		    contains(data + i, len - i, ">"))
			return PROTO_DETECT_YES;
	return PROTO_DETECT_NO;
}
