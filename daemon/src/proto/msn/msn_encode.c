/* Events back to MSNP: a rewritten text in the MSG it came from (its
 * MIME headers and charset kept, the payload length fixed), or a MSG built
 * from the neutral fields alone. */
#include <stdlib.h>
#include <string.h>

#include "proto/msn/msn_internal.h"
#include "proto/notice.h"
#include "proto/text_splice.h"
#include "util/text.h"

/* UTF-8 into Latin-1, '?' for what it cannot hold. */
static bool append_latin1(struct bytebuf *out, const char *text)
{
	const uint8_t *p = (const uint8_t *)text;

	while (*p) {
		uint32_t cp;
		size_t n;

		if (p[0] < 0x80) {
			cp = p[0];
			n = 1;
		} else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
			cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
			n = 2;
		} else {
			cp = '?';
			n = 1;
			while ((p[n] & 0xC0) == 0x80)
				n++;
		}
		if (!bytebuf_append_byte(out, cp <= 0xFF ? (uint8_t)cp : '?'))
			return false;
		p += n;
	}
	return true;
}

/* "sender: text" back to text for an incoming group message. */
static const char *strip_sender(const char *text, struct span sender)
{
	if (strlen(text) >= sender.len + 2 && strncmp(text, (const char *)sender.p, sender.len) == 0 &&
	    memcmp(text + sender.len, ": ", 2) == 0)
		return text + sender.len + 2;
	return text;
}

static int encode_with_orig(enum im_dir dir, const struct im_event *ev, const uint8_t *orig,
			    size_t orig_len, struct bytebuf *out)
{
	struct msn_line l;
	struct msn_mime mime;
	struct span ct;
	struct bytebuf body;
	size_t payload = 0, start = out->len;
	const char *text = ev->text;
	char *old;
	bool same, ok;

	if (msn_scan_line(orig, orig_len, &l) != MSN_SCAN_OK || !msn_cmd_is(&l, "MSG") ||
	    !msn_line_payload(&l, &payload) || l.line_len + payload != orig_len)
		return -1;
	msn_mime_split(orig + l.line_len, payload, &mime);
	if (!msn_mime_header(mime.headers, "Content-Type", &ct) ||
	    !msn_span_is_ci(msn_media_type(ct), "text/plain"))
		return -1;
	if (dir == IM_DIR_IN && ev->group)
		text = strip_sender(text, msn_user_id(msn_arg(&l, 0)));
	old = msn_decode_body(ct, mime.body);
	if (!old)
		return -1;
	same = strcmp(old, text) == 0;
	free(old);
	if (same)
		return bytebuf_append(out, orig, orig_len) ? 0 : -1;

	/* Only the changed characters written anew; else the body whole. */
	bytebuf_init(&body);
	{
		bool latin1 = msn_charset_is_latin1(ct);
		struct text_codec c = { latin1 ? text_unit_latin1 : text_unit_utf8_or_latin1,
					latin1 ? text_encode_latin1 : text_encode_utf8, NULL };
		char *was = msn_decode_body(ct, mime.body);

		ok = was && text_splice(&c, mime.body.p, mime.body.len, was, strlen(was), text,
					strlen(text), &body) == 0;
		free(was);
	}
	if (!ok) {
		body.len = 0;
		ok = msn_charset_is_latin1(ct) ? append_latin1(&body, text)
					       : bytebuf_append_str(&body, text);
	}
	ok = ok && bytebuf_append(out, orig, (size_t)(l.last.p - orig)) &&
	     bytebuf_printf(out, "%zu", mime.body_off + body.len) &&
	     bytebuf_append(out, l.last.p + l.last.len,
			    l.line_len - (size_t)(l.last.p + l.last.len - orig)) &&
	     bytebuf_append(out, orig + l.line_len, mime.body_off) &&
	     bytebuf_append(out, body.data, body.len);
	bytebuf_free(&body);
	if (!ok) {
		out->len = start;
		return -1;
	}
	return 0;
}

static bool word_ok(const char *w)
{
	size_t i;

	if (!w || !w[0])
		return false;
	for (i = 0; w[i]; i++)
		if ((uint8_t)w[i] <= ' ')
			return false;
	return true;
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct msn_state *st = s ? msn_state_of(s) : NULL;
	const char *format = st && st->format[dir] ? st->format[dir] : MSN_DEFAULT_FORMAT;
	const char *text = ev->text;
	struct bytebuf mime;
	char *sender = NULL;
	bool ok;

	if (strchr(format, '\r') || strchr(format, '\n'))
		format = MSN_DEFAULT_FORMAT;
	bytebuf_init(&mime);
	ok = bytebuf_printf(&mime,
			    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
			    "X-MMS-IM-Format: %s\r\n\r\n",
			    format);
	if (dir == IM_DIR_OUT) {
		/* Ack type U: the server sends no ACK the client never asked for. */
		ok = ok && bytebuf_append_str(&mime, text) &&
		     bytebuf_printf(out, "MSG %lu U %zu\r\n", st ? st->trid : 1ul, mime.len);
	} else {
		const char *colon = ev->group ? strstr(text, ": ") : NULL;

		if (colon) {
			sender = text_dup(text, (size_t)(colon - text));
			text = colon + 2;
		} else {
			sender = text_dup(ev->remote ? ev->remote : "", ev->remote ? strlen(ev->remote) : 0);
		}
		ok = ok && sender && word_ok(sender) && bytebuf_append_str(&mime, text) &&
		     bytebuf_printf(out, "MSG %s %s %zu\r\n", sender, sender, mime.len);
	}
	ok = ok && bytebuf_append(out, mime.data, mime.len);
	bytebuf_free(&mime);
	free(sender);
	return ok ? 0 : -1;
}

int msn_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	       const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	size_t mark = out->len;
	struct im_event tmp;
	char *owned;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	/* A system notice: a message of the conversation, its text marked. */
	if (!(ev = notice_as_message(ev, dir, &tmp, &owned)))
		return -1;
	rc = orig ? encode_with_orig(dir, ev, orig, orig_len, out) : encode_fresh(s, dir, ev, out);
	if (rc < 0)
		out->len = mark;
	free(owned);
	return rc;
}
