/* IMIP blocks to events: login, status, contact lists, messages, and the
 * server's ACKs, which tie an error back to the block that failed (the
 * pending list). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/imip/imip_internal.h"
#include "util/text.h"

void imip_pending_clear(struct imip_pending *p)
{
	free(p->id);
	free(p->type);
	free(p->target);
	memset(p, 0, sizeof(*p));
}

static void pending_add(struct proto_session *s, struct span id, struct span type,
			struct span target)
{
	struct imip_state *st = imip_state_of(s);
	struct imip_pending *p = &st->pending[st->next_pending];

	imip_pending_clear(p);
	p->id = text_dup((const char *)id.p, id.len);
	p->type = text_dup((const char *)type.p, type.len);
	p->target = text_utf8_or_latin1(target.p, target.len);
	if (!p->id || !p->type || !p->target) {
		/* Losing the link only makes a later error ACK less specific. */
		imip_pending_clear(p);
		return;
	}
	st->next_pending = (st->next_pending + 1) % IMIP_PENDING;
}

static struct imip_pending *pending_find(struct proto_session *s, struct span id)
{
	struct imip_state *st = imip_state_of(s);
	size_t i;

	for (i = 0; i < IMIP_PENDING; i++) {
		struct imip_pending *p = &st->pending[i];

		if (p->id && strlen(p->id) == id.len && memcmp(p->id, id.p, id.len) == 0)
			return p;
	}
	return NULL;
}

static void learn_local(struct proto_session *s, struct span id)
{
	id = imip_span_first_token(id);
	if (!s->local_id && id.len)
		proto_session_set_local(s, (const char *)id.p, id.len);
}

/* "word" or "word: message" for presence and contact events. */
static bool set_text_with_body(struct im_event *ev, const char *word, size_t word_len,
			       struct span body)
{
	struct bytebuf b;
	char *msg = NULL;
	bool ok;

	body = imip_span_trim(body);
	bytebuf_init(&b);
	ok = bytebuf_append(&b, word, word_len);
	if (ok && body.len) {
		msg = text_utf8_or_latin1(body.p, body.len);
		ok = msg && (word_len == 0 || bytebuf_append_str(&b, ": ")) &&
		     bytebuf_append_str(&b, msg);
	}
	ok = ok && bytebuf_terminate(&b);
	free(msg);
	if (ok) {
		free(ev->text);
		ev->text = (char *)b.data;
	} else {
		bytebuf_free(&b);
	}
	return ok;
}

static bool set_remote(struct im_event *ev, struct span id)
{
	char *copy = text_utf8_or_latin1(id.p, id.len);

	if (!copy)
		return false;
	free(ev->remote);
	ev->remote = copy;
	return true;
}

static int decode_login(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct span id = imip_span_first_token(b->head.args), buddies;
	struct im_event ev;
	bool had_local = s->local_id != NULL;

	if (dir == IM_DIR_OUT) {
		if (id.len && !proto_session_set_local(s, (const char *)id.p, id.len))
			return -1;
		proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
		proto_event_emit(s, &ev);
		return 0;
	}
	/* The server's LOGN confirms; it only tells us something new when the
	 * capture started after the client's login. */
	if (!had_local && id.len) {
		if (!proto_session_set_local(s, (const char *)id.p, id.len))
			return -1;
		proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
		proto_event_emit(s, &ev);
	}
	if (imip_block_header(b, "Buddy", &buddies)) {
		struct bytebuf list;
		size_t nth = 0;
		bool ok = true;

		bytebuf_init(&list);
		while (ok && imip_block_header_nth(b, "Buddy", nth, &buddies)) {
			ok = (nth == 0 || bytebuf_append_byte(&list, ',')) &&
			     bytebuf_append(&list, buddies.p, buddies.len);
			nth++;
		}
		proto_event_begin(s, &ev, dir, IM_KIND_CONTACTS);
		if (ok) {
			ev.text = text_utf8_or_latin1(list.data ? list.data : (const uint8_t *)"",
						      list.len);
			ok = ev.text != NULL;
		}
		bytebuf_free(&list);
		if (!ok) {
			event_free(&ev);
			return -1;
		}
		proto_event_emit(s, &ev);
	}
	return 0;
}

static int decode_stat(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct im_event ev;
	struct span from;

	proto_event_begin(s, &ev, dir, IM_KIND_PRESENCE);
	if (dir == IM_DIR_IN && imip_block_header(b, "From", &from) &&
	    !set_remote(&ev, imip_span_first_token(from)))
		goto fail;
	if (!set_text_with_body(&ev, (const char *)b->head.args.p, b->head.args.len,
				imip_block_body(b)))
		goto fail;
	proto_event_emit(s, &ev);
	return 0;
fail:
	event_free(&ev);
	return -1;
}

static const char *ack_description(unsigned code)
{
	switch (code) {
	case 800:
		return "missing presence status";
	case 801:
		return "unknown presence status";
	case 810:
		return "wrong password";
	case 811:
		return "illegal user id";
	}
	return "error";
}

static int decode_ack(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct span status = imip_span_first_token(b->head.args), reason, ref;
	struct imip_pending *failed = NULL;
	struct bytebuf text;
	struct im_event ev;
	unsigned code = 0;
	size_t i;
	bool ok;

	if (status.len == 0 || status.len > 4)
		return proto_session_malformed(s, "ACK without a numeric status");
	for (i = 0; i < status.len; i++) {
		if (status.p[i] < '0' || status.p[i] > '9')
			return proto_session_malformed(s, "ACK without a numeric status");
		code = code * 10 + (unsigned)(status.p[i] - '0');
	}
	if (imip_block_header(b, "Reference", &ref))
		failed = pending_find(s, ref);
	if (code >= 600 && code < 700) {
		if (failed)
			imip_pending_clear(failed);
		return 0;
	}

	reason.p = status.p + status.len;
	reason.len = b->head.args.len - status.len;
	reason = imip_span_trim(reason);
	bytebuf_init(&text);
	ok = bytebuf_printf(&text, "%u ", code);
	if (ok && reason.len) {
		char *r = text_utf8_or_latin1(reason.p, reason.len);

		ok = r && bytebuf_append_str(&text, r);
		free(r);
	} else if (ok) {
		ok = bytebuf_append_str(&text, ack_description(code));
	}
	ok = ok && bytebuf_terminate(&text);
	proto_event_begin(s, &ev, dir, IM_KIND_ERROR);
	if (ok) {
		ev.text = (char *)text.data;
		text.data = NULL;
	}
	bytebuf_free(&text);
	/* A failed login or presence change is about us, not about a peer. */
	if (ok && failed && (strcmp(failed->type, "MESG") == 0 || strcmp(failed->type, "LIST") == 0))
		ok = event_set_str(&ev.remote, failed->target);
	if (failed)
		imip_pending_clear(failed);
	if (!ok) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

static int decode_list(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct span verb = b->head.args, who, from;
	struct im_event ev;
	char word[IMIP_MAX_TYPE_WORD];
	size_t i;

	for (i = 0; i < verb.len && !imip_is_space(verb.p[i]); i++)
		;
	who.p = verb.p + i;
	who.len = verb.len - i;
	who = imip_span_first_token(who);
	verb.len = i;
	if (verb.len == 0 || verb.len >= sizeof(word))
		return proto_session_malformed(s, "LIST without a known operation");
	for (i = 0; i < verb.len; i++)
		word[i] = (char)(verb.p[i] >= 'A' && verb.p[i] <= 'Z' ? verb.p[i] + 'a' - 'A' : verb.p[i]);

	if (imip_block_header(b, "From", &from)) {
		if (dir == IM_DIR_OUT)
			learn_local(s, from);
		else if (who.len == 0)
			who = imip_span_first_token(from);
	}
	proto_event_begin(s, &ev, dir, IM_KIND_CONTACTS);
	if (!set_remote(&ev, who) || !set_text_with_body(&ev, word, verb.len, imip_block_body(b))) {
		event_free(&ev);
		return -1;
	}
	proto_event_emit(s, &ev);
	return 0;
}

/* The nickname after the number in `From: 12345 "nick"`, quotes off. */
static bool set_remote_name(struct im_event *ev, struct span from)
{
	const uint8_t *q = from.len ? memchr(from.p, '"', from.len) : NULL, *end;

	if (!q)
		return true;
	end = memchr(q + 1, '"', from.len - (size_t)(q + 1 - from.p));
	if (!end || end == q + 1)
		return true;
	free(ev->remote_name);
	ev->remote_name = text_utf8_or_latin1(q + 1, (size_t)(end - q - 1));
	return ev->remote_name != NULL;
}

static bool two_digits(const uint8_t *p, int *v)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return false;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

/* The server's stamp "Time: yyyy-mm-ddThh:mm:ssZ" (UTC), when it is one. */
static void set_sent_time(struct im_event *ev, struct span t)
{
	struct tm tm;
	int c, y, mo, d, h, mi, sec;
	time_t when;

	t = imip_span_first_token(t);
	if (t.len != 20 || t.p[4] != '-' || t.p[7] != '-' || t.p[10] != 'T' || t.p[13] != ':' ||
	    t.p[16] != ':' || t.p[19] != 'Z' || !two_digits(t.p, &c) || !two_digits(t.p + 2, &y) ||
	    !two_digits(t.p + 5, &mo) || !two_digits(t.p + 8, &d) || !two_digits(t.p + 11, &h) ||
	    !two_digits(t.p + 14, &mi) || !two_digits(t.p + 17, &sec) || mo < 1 || mo > 12 ||
	    d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = c * 100 + y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	when = timegm(&tm);
	if (when == (time_t)-1)
		return;
	ev->sent_ts = (double)when;
	ev->has_sent_ts = true;
}

static int decode_mesg(struct proto_session *s, enum im_dir dir, const struct imip_block *b)
{
	struct span from = { NULL, 0 }, to = { NULL, 0 }, peer;
	struct im_event ev;

	imip_block_header(b, "From", &from);
	imip_block_header(b, "To", &to);
	if (dir == IM_DIR_OUT) {
		learn_local(s, from);
		peer = imip_span_first_token(to);
	} else {
		learn_local(s, to);
		peer = imip_span_first_token(from);
	}
	proto_event_begin(s, &ev, dir, IM_KIND_MESSAGE);
	ev.content_type = imip_block_content_type(b);
	ev.has_text_span = true;
	ev.text_offset = b->body_off;
	ev.text_len = b->body_len;
	ev.text = imip_decode_text(imip_block_charset(b), imip_block_body(b));
	if (!ev.text || !set_remote(&ev, peer) || (dir == IM_DIR_IN && !set_remote_name(&ev, from))) {
		event_free(&ev);
		return -1;
	}
	{
		struct span t;

		/* The protocol description spells it "Timo:" (and so do our
		 * generated captures); "Time:" is what it means. */
		if (dir == IM_DIR_IN &&
		    (imip_block_header(b, "Time", &t) || imip_block_header(b, "Timo", &t)))
			set_sent_time(&ev, t);
	}
	proto_event_emit(s, &ev);
	return 0;
}

static void remember_outgoing(struct proto_session *s, const struct imip_block *b)
{
	struct span id, target = { (const uint8_t *)"", 0 }, list_target;
	size_t i;

	if (!imip_block_header(b, "ID", &id) || id.len == 0)
		return;
	if (imip_span_eq(b->head.type, "MESG")) {
		if (imip_block_header(b, "To", &target))
			target = imip_span_first_token(target);
	} else if (imip_span_eq(b->head.type, "LIST")) {
		list_target = b->head.args;
		for (i = 0; i < list_target.len && !imip_is_space(list_target.p[i]); i++)
			;
		list_target.p += i;
		list_target.len -= i;
		target = imip_span_first_token(list_target);
	}
	pending_add(s, id, b->head.type, target);
}

int imip_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct imip_block b;
	const char *why = NULL;
	struct span type;

	if (imip_block_parse(pdu, len, &b, &why) < 0)
		return proto_session_malformed(s, why);
	type = b.head.type;
	if (dir == IM_DIR_OUT)
		remember_outgoing(s, &b);

	if (imip_span_eq(type, "LOGN") || imip_span_eq(type, "LOGIN"))
		return decode_login(s, dir, &b);
	if (imip_span_eq(type, "STAT"))
		return decode_stat(s, dir, &b);
	if (imip_span_eq(type, "ACK"))
		return decode_ack(s, dir, &b);
	if (imip_span_eq(type, "LIST"))
		return decode_list(s, dir, &b);
	if (imip_span_eq(type, "MESG"))
		return decode_mesg(s, dir, &b);
	if (imip_span_eq(type, "DISC")) {
		struct im_event ev;

		proto_event_begin(s, &ev, dir, IM_KIND_LOGOUT);
		proto_event_emit(s, &ev);
		return 0;
	}
	/* HELO, PING and types nobody has described carry nothing to log. */
	return 0;
}
