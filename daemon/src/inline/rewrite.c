/* What a policy decision asks of one PDU, encoded by the PDU's protocol
 * module while the PDU is at hand, as stream edits (effects.h). */
#include "inline/rewrite.h"

#include <stdlib.h>
#include <string.h>

void rewrite_edit(struct effects *fx, struct engine_stats *st, enum im_dir dir, uint64_t start,
		  uint64_t end, const uint8_t *bytes, size_t len, int pdu_delta)
{
	if (!effects_edit(fx, dir, start, end, bytes, len, pdu_delta))
		st->alloc_failures++;
}

/* An edit of rw's PDU: appended, or, while encoding a fallback, given to
 * the edit it stands in for (same length only). */
static void put_edit(const struct rewrite *rw, uint64_t start, uint64_t end, const uint8_t *bytes,
		     size_t len, int pdu_delta)
{
	if (!rw->fallback) {
		rewrite_edit(rw->fx, rw->st, rw->ev->dir, start, end, bytes, len, pdu_delta);
		return;
	}
	if (len == end - start && !effects_fallback(rw->fx, rw->fallback_of, start, end, bytes))
		rw->st->alloc_failures++;
}

static void blank_pdu(const struct rewrite *rw);
static void fit_text(const struct rewrite *rw, const char *new_text);

/* rw's fallback mode for the edit at index at (when that edit was added). */
static bool fallback_for(const struct rewrite *rw, size_t before, struct rewrite *fb)
{
	if (rw->fallback || rw->fx->n != before + 1)
		return false;
	*fb = *rw;
	fb->fallback = true;
	fb->fallback_of = before;
	return true;
}

/* The PDU re-encoded with new_text; only the bytes that differ are
 * edited: a smaller edit grows fewer segments and survives a prefix
 * already sent on. */
void rewrite_text(const struct rewrite *rw, const char *new_text)
{
	struct rewrite fb;
	size_t before = rw->fx->n;
	struct proto_session *s = rw->s;
	const struct im_event *ev = rw->ev;
	struct im_event copy;
	struct bytebuf out;
	size_t pre = 0, suf = 0, old_len = ev->pdu_len;

	if (!s->module->encode) {
		rw->st->edits_refused_encode++;
		return;
	}
	if (!event_copy(&copy, ev)) {
		rw->st->alloc_failures++;
		return;
	}
	bytebuf_init(&out);
	if (!event_set_str(&copy.text, new_text) ||
	    s->module->encode(s, ev->dir, &copy, ev->pdu_data, ev->pdu_len, &out) < 0) {
		rw->st->edits_refused_encode++;
	} else if (out.len != ev->pdu_len || memcmp(out.data, ev->pdu_data, out.len) != 0) {
		while (pre < old_len && pre < out.len && ev->pdu_data[pre] == out.data[pre])
			pre++;
		while (suf < old_len - pre && suf < out.len - pre &&
		       ev->pdu_data[old_len - 1 - suf] == out.data[out.len - 1 - suf])
			suf++;
		put_edit(rw, ev->pdu_offset + pre, ev->pdu_offset + old_len - suf, out.data + pre,
			 out.len - pre - suf, 0);
		if (out.len != old_len && fallback_for(rw, before, &fb))
			fit_text(&fb, new_text);
	}
	bytebuf_free(&out);
	event_free(&copy);
}

/* A new message PDU built by the module from the neutral fields, appended
 * to out; false when the module cannot build one. */
bool rewrite_message(const struct rewrite *rw, enum im_dir dir, const char *text,
		     const struct policy_decision *notice, struct bytebuf *out)
{
	struct proto_session *s = rw->s;
	const struct im_event *ev = rw->ev;
	struct im_event msg;
	size_t mark = out->len;
	bool ok;

	if (!s->module->encode) {
		rw->st->edits_refused_encode++;
		return false;
	}
	if (!event_copy(&msg, ev)) {
		rw->st->alloc_failures++;
		return false;
	}
	msg.dir = dir;
	msg.kind = IM_KIND_MESSAGE;
	msg.notice = notice != NULL;
	ok = event_set_str(&msg.text, text) &&
	     (!notice || !notice->notice_from ||
	      event_set_str(&msg.notice_from, notice->notice_from)) &&
	     (!notice || !notice->notice_prefix ||
	      event_set_str(&msg.notice_prefix, notice->notice_prefix)) &&
	     (!notice || !notice->notice_postfix ||
	      event_set_str(&msg.notice_postfix, notice->notice_postfix)) &&
	     s->module->encode(s, dir, &msg, NULL, 0, out) == 0 && out->len > mark;
	if (!ok) {
		out->len = mark;
		rw->st->edits_refused_encode++;
	}
	event_free(&msg);
	return ok;
}

/* True when the module encodes the message with text (blanks, or a text
 * fitted to the original's length) at the PDU's own length (not so for
 * text in another charset, or characters it must escape). */
static bool keeps_length(const struct rewrite *rw, const char *spaces)
{
	struct proto_session *s = rw->s;
	const struct im_event *ev = rw->ev;
	struct im_event blank;
	struct bytebuf out;
	bool same = false;

	if (!s->module->encode)
		return false;
	if (!event_copy(&blank, ev)) {
		rw->st->alloc_failures++;
		return false;
	}
	bytebuf_init(&out);
	same = event_set_str(&blank.text, spaces) &&
	       s->module->encode(s, ev->dir, &blank, ev->pdu_data, ev->pdu_len, &out) == 0 &&
	       out.len == ev->pdu_len;
	bytebuf_free(&out);
	event_free(&blank);
	return same;
}

/* A blocked message whose start already went out: its text becomes
 * blanks, same length (DESIGN, Holding): the module's own encoding when
 * it keeps the length, else the raw text bytes become spaces. */
static void blank_pdu(const struct rewrite *rw)
{
	const struct im_event *ev = rw->ev;
	uint64_t start = ev->pdu_offset;
	size_t n;
	char *spaces;

	if (!ev->text || ev->kind != IM_KIND_MESSAGE)
		return;
	n = strlen(ev->text);
	spaces = malloc(n + 1);
	if (!spaces) {
		rw->st->alloc_failures++;
		return;
	}
	memset(spaces, ' ', n);
	spaces[n] = '\0';
	if (keeps_length(rw, spaces)) {
		rewrite_text(rw, spaces);
	} else if (ev->has_text_span && ev->text_offset + ev->text_len <= ev->pdu_len) {
		uint8_t *raw = malloc(ev->text_len ? ev->text_len : 1);

		if (raw) {
			memset(raw, ' ', ev->text_len);
			put_edit(rw, start + ev->text_offset, start + ev->text_offset + ev->text_len,
				 raw, ev->text_len, 0);
			free(raw);
		} else {
			rw->st->alloc_failures++;
		}
	}
	free(spaces);
}

/* The fallback of a rewritten text: the rule's text cut (at a UTF-8
 * character boundary) or padded with spaces to the original text's
 * length, when the module encodes that at the PDU's length; else the text
 * blanked. */
static void fit_text(const struct rewrite *rw, const char *new_text)
{
	const struct im_event *ev = rw->ev;
	size_t n = ev->text ? strlen(ev->text) : 0, k = strlen(new_text);
	char *fitted;

	if (!ev->text)
		return;
	if (k > n) {
		k = n;
		while (k > 0 && ((unsigned char)new_text[k] & 0xc0) == 0x80)
			k--; /* not inside a character */
	}
	fitted = malloc(n + 1);
	if (!fitted) {
		rw->st->alloc_failures++;
		return;
	}
	memcpy(fitted, new_text, k);
	memset(fitted + k, ' ', n - k);
	fitted[n] = '\0';
	if (keeps_length(rw, fitted))
		rewrite_text(rw, fitted);
	else
		blank_pdu(rw);
	free(fitted);
}

/* A blocked PDU is deleted (replacement, pdus whole PDUs, takes its
 * place), with its text blanked as the fallback; if part of it already
 * went out, it is blanked at once. */
void rewrite_block(const struct rewrite *rw, uint64_t released_end,
		   const struct bytebuf *replacement, int pdus)
{
	const struct im_event *ev = rw->ev;
	uint64_t start = ev->pdu_offset, end = ev->pdu_offset + ev->pdu_len;
	size_t before = rw->fx->n;
	struct rewrite fb;

	rw->st->policy_blocked++;
	if (start >= released_end) {
		rewrite_edit(rw->fx, rw->st, ev->dir, start, end,
			     replacement ? replacement->data : NULL, replacement ? replacement->len : 0,
			     pdus - 1);
		if (fallback_for(rw, before, &fb))
			blank_pdu(&fb);
		return;
	}
	rw->st->policy_blanked++;
	blank_pdu(rw);
}

