/* Events back to TOC: a rewritten text in the frame it came from (its
 * sequence number kept), or a command or server message built from the
 * neutral fields alone. */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "proto/notice.h"
#include "proto/text_splice.h"
#include "proto/toc/toc_internal.h"

static bool is_special(char c)
{
	return c && strchr("$\\{}[]()\"", c) != NULL;
}

static bool put_escaped_n(struct bytebuf *out, const char *text, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (is_special(text[i]) && !bytebuf_append_byte(out, '\\'))
			return false;
		if (!bytebuf_append_byte(out, (uint8_t)text[i]))
			return false;
	}
	return true;
}

static bool put_escaped(struct bytebuf *out, const char *text)
{
	return put_escaped_n(out, text, strlen(text));
}

/* ---- the text argument one unit at a time, for text_splice ---- */

enum { ARG_QUOTED = 1, ARG_WORD = 2, ARG_TAIL = 3 };

/* In a quoted argument "\x" is one character; elsewhere bytes are text. */
static bool unit_arg(void *arg, const uint8_t *raw, size_t len, size_t pos, struct text_unit *u,
		     struct bytebuf *text)
{
	const int *kind = arg;

	u->ctx = *kind;
	if (*kind == ARG_QUOTED && raw[pos] == '\\' && pos + 1 < len) {
		u->raw_len = 2;
		u->kind = TEXT_ATOM;
		return bytebuf_append_byte(text, raw[pos + 1]);
	}
	return text_unit_utf8_or_latin1(NULL, raw, len, pos, u, text);
}

/* Quoted: escaped as TOC wants; one unquoted word: no blank nor special
 * character (else it must be quoted: the caller rebuilds); the tail of
 * a server message: as it is. */
static bool encode_arg(void *arg, int ctx, const char *text, size_t n, struct bytebuf *out)
{
	size_t i;

	(void)arg;
	if (ctx == ARG_QUOTED)
		return put_escaped_n(out, text, n);
	for (i = 0; i < n; i++)
		if (text[i] == '\0' || (ctx == ARG_WORD && (text[i] == ' ' || is_special(text[i]))))
			return false;
	return bytebuf_append(out, text, n);
}

static bool put_user_arg(struct bytebuf *out, const char *user)
{
	if (!strchr(user, ' ') && !strchr(user, '"'))
		return bytebuf_append_str(out, user);
	return bytebuf_append_byte(out, '"') && put_escaped(out, user) &&
	       bytebuf_append_byte(out, '"');
}

static bool name_ok(const char *name)
{
	return name && name[0] && !strchr(name, ':') && strlen(name) < 256;
}

/* "sender: text" (incoming room messages) split at the first ": ". */
static bool split_sender(const char *text, size_t *sender_len, const char **rest)
{
	const char *colon = strstr(text, ": ");

	if (!colon || colon == text)
		return false;
	*sender_len = (size_t)(colon - text);
	*rest = colon + 2;
	return true;
}

static int encode_fresh(struct toc_state *st, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	size_t start, sender_len;
	const char *text = ev->text;
	bool ok;

	if (!name_ok(ev->remote))
		return -1;
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_for_insert(&st->seq, dir), &start))
		return -1;
	if (dir == IM_DIR_OUT && ev->group) {
		ok = bytebuf_append_str(out, "toc_chat_send ") &&
		     put_user_arg(out, toc_room_id(st, ev->remote)) &&
		     bytebuf_append_str(out, " \"") && put_escaped(out, text) &&
		     bytebuf_append_byte(out, '"') && bytebuf_append_byte(out, '\0');
	} else if (dir == IM_DIR_OUT) {
		ok = bytebuf_append_str(out, st->toc2 ? "toc2_send_im " : "toc_send_im ") &&
		     put_user_arg(out, ev->remote) && bytebuf_append_str(out, " \"") &&
		     put_escaped(out, text) && bytebuf_append_byte(out, '"') &&
		     (!ev->auto_response || bytebuf_append_str(out, " auto")) &&
		     bytebuf_append_byte(out, '\0');
	} else if (ev->group) {
		if (!split_sender(ev->text, &sender_len, &text) || memchr(ev->text, ':', sender_len))
			return -1;
		ok = bytebuf_append_str(out, "CHAT_IN:") &&
		     bytebuf_append_str(out, toc_room_id(st, ev->remote)) &&
		     bytebuf_append_byte(out, ':') && bytebuf_append(out, ev->text, sender_len) &&
		     bytebuf_append_str(out, ":F:") && bytebuf_append_str(out, text);
	} else {
		ok = bytebuf_append_str(out, st->toc2 ? "IM_IN2:" : "IM_IN:") &&
		     bytebuf_append_str(out, ev->remote) &&
		     bytebuf_append_str(out, ev->auto_response ? ":T:" : ":F:") &&
		     (!st->toc2 || bytebuf_append_str(out, "F:")) && bytebuf_append_str(out, text);
	}
	return ok && flap_finish(out, start) ? 0 : -1;
}

static bool copy_with_seq(struct toc_state *st, enum im_dir dir, const uint8_t *orig,
			  size_t orig_len, struct bytebuf *out)
{
	size_t at = out->len;
	uint16_t seq;

	if (!bytebuf_append(out, orig, orig_len))
		return false;
	seq = flap_seq_out(&st->seq, dir, imw_load_be16(orig + 2));
	out->data[at + 2] = (uint8_t)(seq >> 8);
	out->data[at + 3] = (uint8_t)seq;
	return true;
}

/* Where the message text lies in an original frame (relative to the
 * PDU), and whether it is a quoted argument. */
static bool locate_text(const uint8_t *pdu, size_t end, enum im_dir dir, struct toc_span *text,
			struct toc_span *sender)
{
	struct toc_span cmd, a1, f[10];
	size_t pos = FLAP_HEADER_LEN, at, n = 0;

	sender->len = 0;
	if (dir == IM_DIR_OUT) {
		if (!toc_next_arg(pdu, end, &pos, &cmd) ||
		    !(toc_span_is(pdu, &cmd, "toc_send_im") ||
		      toc_span_is(pdu, &cmd, "toc2_send_im") ||
		      toc_span_is(pdu, &cmd, "toc_chat_send")))
			return false;
		return toc_next_arg(pdu, end, &pos, &a1) && toc_next_arg(pdu, end, &pos, text);
	}
	if (toc_word_is(pdu, pos, end, "IM_IN", &at))
		n = 2;
	else if (toc_word_is(pdu, pos, end, "IM_IN2", &at))
		n = 3;
	else if (toc_word_is(pdu, pos, end, "IM_IN_ENC2", &at))
		n = 9;
	else if (toc_word_is(pdu, pos, end, "CHAT_IN", &at))
		n = 3;
	else if (toc_word_is(pdu, pos, end, "CHAT_IN_ENC", &at))
		n = 5;
	if (n == 0 || !toc_split_fields(pdu, at, end, f, n, &pos))
		return false;
	if (pdu[FLAP_HEADER_LEN] == 'C')
		*sender = f[1];
	text->off = pos;
	text->len = end - pos;
	text->quoted = false;
	return true;
}

/* Only the changed characters of the text argument written anew, the
 * FLAP's length fixed and its number shifted; false when the argument
 * cannot hold the new text as it is (a word that now needs quotes). */
static bool splice_arg(struct toc_state *st, enum im_dir dir, const uint8_t *orig,
		       size_t orig_len, const struct toc_span *text, const char *old,
		       const char *new_text, struct bytebuf *out)
{
	int kind = dir == IM_DIR_IN ? ARG_TAIL : text->quoted ? ARG_QUOTED : ARG_WORD;
	struct text_codec c = { unit_arg, encode_arg, &kind };
	size_t mark = out->len, tail = text->off + text->len, flap_len;

	if (!copy_with_seq(st, dir, orig, text->off, out) ||
	    text_splice(&c, orig + text->off, text->len, old, strlen(old), new_text,
			strlen(new_text), out) < 0 ||
	    !bytebuf_append(out, orig + tail, orig_len - tail) ||
	    (flap_len = out->len - mark - FLAP_HEADER_LEN) > 0xFFFF) {
		out->len = mark;
		return false;
	}
	imw_store_be16(out->data + mark + 4, (uint16_t)flap_len);
	return true;
}

static int encode_with_orig(struct toc_state *st, enum im_dir dir, const struct im_event *ev,
			    const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct toc_span text, sender;
	size_t end = orig_len, start, tail;
	const char *new_text = ev->text;
	char *old;
	bool same, ok;

	if (orig_len < FLAP_HEADER_LEN || orig[0] != FLAP_MARKER || orig[1] != FLAP_CH_DATA ||
	    imw_load_be16(orig + 4) != orig_len - FLAP_HEADER_LEN)
		return -1;
	while (end > FLAP_HEADER_LEN && orig[end - 1] == '\0')
		end--;
	if (!locate_text(orig, end, dir, &text, &sender))
		return -1;
	if (sender.len && strlen(new_text) >= sender.len + 2 &&
	    memcmp(new_text, orig + sender.off, sender.len) == 0 &&
	    memcmp(new_text + sender.len, ": ", 2) == 0)
		new_text += sender.len + 2;
	old = toc_arg_text(orig, &text);
	if (!old)
		return -1;
	same = strcmp(old, new_text) == 0;
	if (!same && splice_arg(st, dir, orig, orig_len, &text, old, new_text, out)) {
		free(old);
		return 0;
	}
	free(old);
	if (same)
		return copy_with_seq(st, dir, orig, orig_len, out) ? 0 : -1;
	tail = text.off + text.len;
	if (!flap_begin(out, FLAP_CH_DATA, flap_seq_out(&st->seq, dir, imw_load_be16(orig + 2)),
			&start))
		return -1;
	ok = bytebuf_append(out, orig + FLAP_HEADER_LEN, text.off - FLAP_HEADER_LEN);
	if (dir == IM_DIR_OUT) {
		/* An unquoted one-word message becomes quoted to hold spaces. */
		if (!text.quoted)
			ok = ok && bytebuf_append_byte(out, '"');
		ok = ok && put_escaped(out, new_text);
		if (!text.quoted)
			ok = ok && bytebuf_append_byte(out, '"');
	} else {
		ok = ok && bytebuf_append_str(out, new_text);
	}
	ok = ok && bytebuf_append(out, orig + tail, orig_len - tail) && flap_finish(out, start);
	return ok ? 0 : -1;
}

int toc_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	       const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct toc_state *st = toc_state_of(s);
	size_t mark = out->len;
	struct im_event tmp;
	char *owned;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	/* A system notice: a message of the conversation, its text marked. */
	if (!(ev = notice_as_message(ev, dir, &tmp, &owned)))
		return -1;
	rc = orig ? encode_with_orig(st, dir, ev, orig, orig_len, out)
		  : encode_fresh(st, dir, ev, out);
	if (rc < 0)
		out->len = mark;
	free(owned);
	return rc;
}
