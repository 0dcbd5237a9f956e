/* Events back to IMIP: a rewritten body in the MESG block it came from
 * (headers kept, the size fixed), or a MESG built from the neutral fields
 * alone. */
#include <stdlib.h>
#include <string.h>

#include "proto/imip/imip_internal.h"
#include "proto/notice.h"
#include "proto/text_splice.h"
#include "util/text.h"

/* The body one character at a time in its charset, for text_splice. */
static bool unit_body(void *arg, const uint8_t *raw, size_t len, size_t pos, struct text_unit *u,
		      struct bytebuf *text)
{
	const enum imip_charset *cs = arg;
	char *one = NULL;
	bool ok;

	switch (*cs) {
	case IMIP_CS_LATIN1:
		return text_unit_latin1(NULL, raw, len, pos, u, text);
	case IMIP_CS_UTF16BE:
		return text_unit_utf16be(NULL, raw, len, pos, u, text);
	case IMIP_CS_UTF16LE:
		if (len - pos < 2)
			return false;
		u->raw_len = 2;
		one = text_utf16le_to_utf8(raw + pos, 2);
		break;
	case IMIP_CS_CP1250:
		u->raw_len = 1;
		one = text_cp1250_to_utf8(raw + pos, 1);
		break;
	case IMIP_CS_UTF8:
	case IMIP_CS_UNKNOWN:
		return text_unit_utf8_or_latin1(NULL, raw, len, pos, u, text);
	}
	u->kind = TEXT_ATOM;
	ok = one && bytebuf_append_str(text, one);
	free(one);
	return ok;
}

static bool encode_body(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	const enum imip_charset *cs = arg;
	char *copy = text_dup(text, n);
	bool ok;

	(void)ctx;
	ok = copy && imip_encode_text(*cs, copy, out) == 0;
	free(copy);
	return ok;
}

static bool has_line_break(const char *s)
{
	return strchr(s, '\r') || strchr(s, '\n');
}

static int encode_with_orig(const struct im_event *ev, const uint8_t *orig, size_t orig_len,
			    struct bytebuf *out)
{
	struct imip_block b;
	const char *why;
	enum imip_charset cs;
	struct bytebuf body;
	char *old_text;
	size_t start = out->len, headers_len, extra = 0;
	bool same;
	struct span eol;

	if (imip_block_parse(orig, orig_len, &b, &why) < 0 || !imip_span_eq(b.head.type, "MESG"))
		return -1;
	cs = imip_block_charset(&b);
	old_text = imip_decode_text(cs, imip_block_body(&b));
	if (!old_text)
		return -1;
	same = strcmp(old_text, ev->text) == 0;
	/* Unchanged text keeps the original bytes, whatever their encoding. */
	if (same) {
		free(old_text);
		return bytebuf_append(out, orig, orig_len) ? 0 : -1;
	}
	bytebuf_init(&body);
	{
		/* Only the changed characters written anew, else the body whole. */
		struct text_codec c = { unit_body, encode_body, &cs };
		struct span raw = imip_block_body(&b);

		if (text_splice(&c, raw.p, raw.len, old_text, strlen(old_text), ev->text,
				strlen(ev->text), &body) < 0 &&
		    imip_encode_text(cs, ev->text, &body) < 0) {
			free(old_text);
			bytebuf_free(&body);
			return -1;
		}
	}
	free(old_text);
	eol = b.head.size_eol;
	headers_len = b.body_off - b.headers_off;
	/* Adding a body to a block that had none needs the empty line. */
	if (!b.has_blank && body.len)
		extra = (b.last_header_unterminated ? eol.len : 0) + eol.len;
	if (!bytebuf_append(out, b.head.type_line.p, b.head.type_line.len) ||
	    !bytebuf_printf(out, "%zu", headers_len + extra + body.len) ||
	    !bytebuf_append(out, eol.p, eol.len) ||
	    !bytebuf_append(out, orig + b.headers_off, headers_len))
		goto fail;
	if (extra && b.last_header_unterminated && !bytebuf_append(out, eol.p, eol.len))
		goto fail;
	if (extra && !bytebuf_append(out, eol.p, eol.len))
		goto fail;
	if (body.len && !bytebuf_append(out, body.data, body.len))
		goto fail;
	bytebuf_free(&body);
	return 0;
fail:
	bytebuf_free(&body);
	out->len = start;
	return -1;
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct imip_state *st = imip_state_of(s);
	const char *local = ev->local && ev->local[0] ? ev->local : s->local_id;
	struct bytebuf block;
	unsigned long long id;
	size_t start = out->len;
	bool ok;

	if (!ev->remote || !ev->remote[0] || has_line_break(ev->remote) || !local ||
	    has_line_break(local))
		return -1;
	id = IMIP_INJECT_ID_BASE + ++st->injected;
	bytebuf_init(&block);
	if (dir == IM_DIR_OUT)
		ok = bytebuf_printf(&block,
				    "ID: %llu\r\nTo: %s\r\nACK-Type: errors-only\r\nFrom: %s\r\n\r\n",
				    id, ev->remote, local);
	else
		ok = bytebuf_printf(&block,
				    "Content-Type: text/plain;charset=utf-8\r\nFrom: %s\r\n"
				    "ID: %llu\r\nTo: %s\r\n\r\n",
				    ev->remote, id, local);
	ok = ok && bytebuf_append_str(&block, ev->text);
	ok = ok && bytebuf_printf(out, "MESG\r\n%zu\r\n", block.len) &&
	     bytebuf_append(out, block.data, block.len);
	bytebuf_free(&block);
	if (!ok) {
		out->len = start;
		return -1;
	}
	return 0;
}

int imip_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct im_event tmp;
	char *owned;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	/* A system notice: a message of the conversation, its text marked. */
	if (!(ev = notice_as_message(ev, dir, &tmp, &owned)))
		return -1;
	rc = orig ? encode_with_orig(ev, orig, orig_len, out) : encode_fresh(s, dir, ev, out);
	free(owned);
	return rc;
}
