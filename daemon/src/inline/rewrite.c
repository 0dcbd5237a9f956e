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

/* The PDU re-encoded with new_text; only the bytes that differ are
 * edited: a smaller edit grows fewer segments and survives a prefix
 * already sent on. */
void rewrite_text(const struct rewrite *rw, const char *new_text)
{
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
		rewrite_edit(rw->fx, rw->st, ev->dir, ev->pdu_offset + pre,
			     ev->pdu_offset + old_len - suf, out.data + pre, out.len - pre - suf, 0);
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

/* True when the module encodes a message with blanks in place of its
 * text at the PDU's own length (text in another charset). */
static bool blank_keeps_length(const struct rewrite *rw, const char *spaces)
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
	if (blank_keeps_length(rw, spaces)) {
		rewrite_text(rw, spaces);
	} else if (ev->has_text_span && ev->text_offset + ev->text_len <= ev->pdu_len) {
		uint8_t *raw = malloc(ev->text_len ? ev->text_len : 1);

		if (raw) {
			memset(raw, ' ', ev->text_len);
			rewrite_edit(rw->fx, rw->st, ev->dir, start + ev->text_offset,
				     start + ev->text_offset + ev->text_len, raw, ev->text_len, 0);
			free(raw);
		} else {
			rw->st->alloc_failures++;
		}
	}
	free(spaces);
}

/* A blocked PDU is deleted (replacement, pdus whole PDUs, takes its
 * place); if part of it already went out, it is blanked instead. */
void rewrite_block(const struct rewrite *rw, uint64_t released_end,
		   const struct bytebuf *replacement, int pdus)
{
	const struct im_event *ev = rw->ev;
	uint64_t start = ev->pdu_offset, end = ev->pdu_offset + ev->pdu_len;

	rw->st->policy_blocked++;
	if (start >= released_end) {
		rewrite_edit(rw->fx, rw->st, ev->dir, start, end,
			     replacement ? replacement->data : NULL, replacement ? replacement->len : 0,
			     pdus - 1);
		return;
	}
	rw->st->policy_blanked++;
	blank_pdu(rw);
}

