/* YMSG services to events: login, messages, typing and webcam
 * invitations, file transfers, conferences and chat rooms. Which service
 * gives what: ymsg.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ymsg/ymsg_internal.h"
#include "util/text.h"

static bool learn_local(struct proto_session *s, const struct ymsg_packet *pk,
			const struct ymsg_pair *pr)
{
	if (!pr || pr->len == 0 || ymsg_pair_is_local(s, pk, pr))
		return true;
	return proto_session_set_local(s, (const char *)pk->pdu + pr->off, pr->len);
}

static int out_of_memory(struct proto_session *s, struct im_event *ev)
{
	event_free(ev);
	return proto_session_malformed(s, "out of memory");
}

static bool set_field(char **field, const struct ymsg_packet *pk, const struct ymsg_pair *pr)
{
	char *v = ymsg_pair_text(pk, pr);

	if (!v)
		return false;
	free(*field);
	*field = v;
	return true;
}

/* "who: text" (who and text from pairs; text may be absent). */
static bool set_prefixed(char **field, const struct ymsg_packet *pk, const struct ymsg_pair *who,
			 const struct ymsg_pair *text)
{
	char *w = ymsg_pair_text(pk, who), *t = ymsg_pair_text(pk, text), *joined = NULL;
	bool ok = w && t && asprintf(&joined, "%s: %s", w, t) >= 0;

	free(w);
	free(t);
	if (!ok)
		return false;
	free(*field);
	*field = joined;
	return true;
}

static int emit_plain(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		      const struct ymsg_packet *pk, const struct ymsg_pair *remote, const char *text)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	if (!set_field(&ev.remote, pk, remote) || !event_set_str(&ev.text, text))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int on_login(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	struct ymsg_state *st = ymsg_state_of(s);
	const struct ymsg_pair *id = ymsg_pair_get(pk, 1);
	struct im_event ev;

	if (!id)
		id = ymsg_pair_get(pk, 0);
	if (pk->h.service == YS_AUTHRESP && dir == IM_DIR_OUT && ymsg_pair_get(pk, 0))
		id = ymsg_pair_get(pk, 0);
	if (!learn_local(s, pk, id))
		return proto_session_malformed(s, "out of memory");
	/* Buddies logging on come as LOGON with key 7 and no key 1. */
	if (pk->h.service != YS_LOGON || dir != IM_DIR_IN || !id || st->logged_in ||
	    pk->h.status == YMSG_STATUS_ERROR)
		return 0;
	st->logged_in = true;
	proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
	proto_event_emit(s, &ev);
	return 0;
}

struct ymsg_im {
	const struct ymsg_pair *from, *to, *text;
	bool utf8;
};

static int emit_im(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk,
		   const struct ymsg_im *im, bool error)
{
	struct im_event ev;
	const struct ymsg_pair *peer = dir == IM_DIR_OUT ? im->to : im->from;

	if (!im->text)
		return 0;
	if (dir == IM_DIR_IN && !s->local_id && !learn_local(s, pk, im->to))
		return proto_session_malformed(s, "out of memory");
	proto_event_begin(s, &ev, dir, error ? IM_KIND_ERROR : IM_KIND_MESSAGE);
	ev.content_type = "text/plain";
	ev.has_text_span = true;
	ev.text_offset = im->text->off;
	ev.text_len = im->text->len;
	if (!set_field(&ev.remote, pk, peer) || !set_field(&ev.text, pk, im->text))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int on_message(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	struct ymsg_im im;
	bool error = pk->h.status == YMSG_STATUS_ERROR;
	size_t i;
	int rc = 0;

	memset(&im, 0, sizeof(im));
	for (i = 0; i < pk->n_pairs; i++) {
		const struct ymsg_pair *pr = &pk->pairs[i];
		bool sender = pr->key == 4 || (pr->key == 1 && !(im.from && im.from->key == 4));
		bool starts_next = (pr->key == 31 && (im.from || im.text)) ||
				   ((sender || pr->key == 5 || pr->key == 14 || pr->key == 16) &&
				    im.text && (!sender || im.from) && (pr->key != 5 || im.to));

		if (starts_next) {
			if (emit_im(s, dir, pk, &im, error) < 0)
				rc = -1;
			memset(&im, 0, sizeof(im));
		}
		if (pr->key == 4 || (pr->key == 1 && !im.from))
			im.from = pr;
		else if (pr->key == 5)
			im.to = pr;
		else if (pr->key == 14 || (pr->key == 16 && error))
			im.text = pr;
		else if (pr->key == 97)
			im.utf8 = ymsg_pair_is(pk, pr, "1");
	}
	if (emit_im(s, dir, pk, &im, error) < 0)
		rc = -1;
	if (dir == IM_DIR_OUT && !learn_local(s, pk, ymsg_pair_get(pk, 1)))
		return proto_session_malformed(s, "out of memory");
	return rc;
}

static int on_notify(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	const struct ymsg_pair *what = ymsg_pair_get(pk, 49), *ind = ymsg_pair_get(pk, 14);
	const struct ymsg_pair *peer =
		dir == IM_DIR_OUT ? ymsg_pair_get(pk, 5) : ymsg_pair_get(pk, 4);

	if (dir == IM_DIR_OUT &&
	    !learn_local(s, pk, ymsg_pair_get(pk, 1) ? ymsg_pair_get(pk, 1) : ymsg_pair_get(pk, 4)))
		return proto_session_malformed(s, "out of memory");
	if (ymsg_pair_is(pk, what, "TYPING"))
		return emit_plain(s, dir, IM_KIND_TYPING, pk, peer,
				  ymsg_pair_is(pk, ymsg_pair_get(pk, 13), "0") ? "stopped" : "");
	if (ymsg_pair_is(pk, what, "WEBCAMINVITE"))
		return emit_plain(s, dir, IM_KIND_WEBCAM, pk, peer,
				  ymsg_pair_is(pk, ind, "1")	? "accepted"
				  : ymsg_pair_is(pk, ind, "-1") ? "declined"
								: "");
	return 0; /* GAME, IMVIRONMENT, CONTACTINFO... */
}

static bool transfer_seen(struct ymsg_state *st, const struct ymsg_packet *pk,
			  const struct ymsg_pair *id)
{
	size_t i;

	for (i = 0; id && i < YMSG_SEEN_TRANSFERS; i++)
		if (st->seen_transfer[i] && strlen(st->seen_transfer[i]) == id->len &&
		    memcmp(st->seen_transfer[i], pk->pdu + id->off, id->len) == 0)
			return true;
	return false;
}

static void transfer_remember(struct ymsg_state *st, const struct ymsg_packet *pk,
			      const struct ymsg_pair *id)
{
	char *copy;

	if (!id || transfer_seen(st, pk, id))
		return;
	copy = text_dup((const char *)pk->pdu + id->off, id->len);
	if (!copy)
		return; /* only costs a duplicate event for a later info packet */
	free(st->seen_transfer[st->next_seen]);
	st->seen_transfer[st->next_seen] = copy;
	st->next_seen = (st->next_seen + 1) % YMSG_SEEN_TRANSFERS;
}

/* The file name from a download URL when key 27 is missing. */
static char *name_from_url(const struct ymsg_packet *pk, const struct ymsg_pair *url)
{
	const uint8_t *p = pk->pdu + url->off;
	size_t end = url->len, start;

	for (start = 0; start < end && p[start] != '?'; start++)
		;
	end = start;
	while (start > 0 && p[start - 1] != '/')
		start--;
	return text_utf8_or_latin1(p + start, end - start);
}

static int emit_file(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk,
		     const struct ymsg_pair *peer, char *name, const struct ymsg_pair *size)
{
	struct im_event ev;
	uint64_t n = 0;
	bool ok;

	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	ev.file_name = name;
	ymsg_file_xfer(pk, &ev.xfer);
	ev.has_file_size = ymsg_pair_number(pk, size, &n);
	ev.file_size = n;
	if (ev.has_file_size)
		ok = asprintf(&ev.text, "%s (%llu bytes)", name, (unsigned long long)n) >= 0;
	else
		ok = (ev.text = text_dup(name, strlen(name))) != NULL;
	if (!ok)
		ev.text = NULL;
	if (!ok || !set_field(&ev.remote, pk, peer))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int on_file(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	struct ymsg_state *st = ymsg_state_of(s);
	const struct ymsg_pair *peer =
		dir == IM_DIR_OUT ? ymsg_pair_get(pk, 5) : ymsg_pair_get(pk, 4);
	const struct ymsg_pair *id = ymsg_pair_get(pk, 265), *action = ymsg_pair_get(pk, 222);
	const struct ymsg_pair *what = ymsg_pair_get(pk, 49), *url = ymsg_pair_get(pk, 20);
	size_t nth;

	switch (pk->h.service) {
	case YS_P2PFILEXFER:
		if (what && !ymsg_pair_is(pk, what, "FILEXFER"))
			return 0; /* PEERTOPEER set-up and IMVironments share the service */
		break;
	case YS_FILETRANS_15:
		if (action && !ymsg_pair_is(pk, action, "1"))
			return 0; /* cancel, accept, reject */
		transfer_remember(st, pk, id);
		break;
	case YS_FILETRANS_INFO_15:
	case YS_FILETRANS_ACC_15:
		if (pk->h.service == YS_FILETRANS_INFO_15 && ymsg_decode_relay_info(s, dir, pk) < 0)
			return -1;
		if (!id || transfer_seen(st, pk, id))
			return 0;
		transfer_remember(st, pk, id);
		break;
	}
	if (!ymsg_pair_get(pk, 27)) {
		char *name;

		if (!url)
			return 0;
		name = name_from_url(pk, url);
		if (!name)
			return proto_session_malformed(s, "out of memory");
		return emit_file(s, dir, pk, peer, name, ymsg_pair_get(pk, 28));
	}
	for (nth = 0; ymsg_pair_nth(pk, 27, nth); nth++) {
		char *name = ymsg_pair_text(pk, ymsg_pair_nth(pk, 27, nth));

		if (!name)
			return proto_session_malformed(s, "out of memory");
		if (emit_file(s, dir, pk, peer, name, ymsg_pair_nth(pk, 28, nth)) < 0)
			return -1;
	}
	return 0;
}

static int on_webcam(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	const struct ymsg_pair *peer = ymsg_pair_get(pk, 5);

	if (!peer)
		peer = ymsg_pair_get(pk, 4);
	if (!peer && ymsg_pair_get(pk, 1) && !ymsg_pair_is_local(s, pk, ymsg_pair_get(pk, 1)))
		peer = ymsg_pair_get(pk, 1);
	if (!peer)
		return 0; /* the server's key and address for our own upload */
	return emit_plain(s, dir, IM_KIND_WEBCAM, pk, peer, "");
}

/* A group event about room; with `who`, text is "who" or "who: text". */
static int emit_group(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		      const struct ymsg_packet *pk, const struct ymsg_pair *room,
		      const struct ymsg_pair *who, const struct ymsg_pair *text)
{
	struct im_event ev;
	bool ok;

	proto_event_begin(s, &ev, dir, kind);
	ev.group = true;
	if (text) {
		ev.has_text_span = kind == IM_KIND_MESSAGE;
		ev.text_offset = text->off;
		ev.text_len = text->len;
		if (kind == IM_KIND_MESSAGE)
			ev.content_type = "text/plain";
	}
	if (who && text)
		ok = set_prefixed(&ev.text, pk, who, text);
	else
		ok = set_field(&ev.text, pk, who ? who : text);
	if (!ok || !set_field(&ev.remote, pk, room))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int on_conference(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	const struct ymsg_pair *room = ymsg_pair_get(pk, 57), *who = NULL;
	bool in = dir == IM_DIR_IN;

	if (!room)
		return proto_session_malformed(s, "conference packet without a room");
	if (dir == IM_DIR_OUT && !learn_local(s, pk, ymsg_pair_get(pk, 1)))
		return proto_session_malformed(s, "out of memory");
	switch (pk->h.service) {
	case YS_CONFINVITE:
	case YS_CONFADDINVITE:
		who = in ? ymsg_pair_get(pk, 50) : NULL;
		return emit_group(s, dir, IM_KIND_RENDEZVOUS, pk, room, who, ymsg_pair_get(pk, 58));
	case YS_CONFLOGON:
		return emit_group(s, dir, IM_KIND_JOIN, pk, room, in ? ymsg_pair_get(pk, 53) : NULL,
				  NULL);
	case YS_CONFDECLINE:
		return emit_group(s, dir, IM_KIND_PART, pk, room, in ? ymsg_pair_get(pk, 54) : NULL,
				  NULL);
	case YS_CONFLOGOFF:
		return emit_group(s, dir, IM_KIND_PART, pk, room, in ? ymsg_pair_get(pk, 56) : NULL,
				  NULL);
	case YS_CONFMSG:
		if (!ymsg_pair_get(pk, 14))
			return proto_session_malformed(s, "conference message without text");
		return emit_group(s, dir, IM_KIND_MESSAGE, pk, room,
				  in ? ymsg_pair_get(pk, 3) : NULL, ymsg_pair_get(pk, 14));
	}
	return 0;
}

/* Comma-separated members of a chat room join (key 109, repeated). */
static int emit_room_join(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk,
			  const struct ymsg_pair *room)
{
	struct im_event ev;
	struct bytebuf b;
	size_t nth;
	bool ok = true;

	bytebuf_init(&b);
	for (nth = 0; ok && dir == IM_DIR_IN && ymsg_pair_nth(pk, 109, nth); nth++) {
		const struct ymsg_pair *m = ymsg_pair_nth(pk, 109, nth);

		ok = (nth == 0 || bytebuf_append_str(&b, ", ")) &&
		     bytebuf_append(&b, pk->pdu + m->off, m->len);
	}
	proto_event_begin(s, &ev, dir, IM_KIND_JOIN);
	ev.group = true;
	if (ok)
		ev.text = text_utf8_or_latin1(b.data ? b.data : (const uint8_t *)"", b.len);
	bytebuf_free(&b);
	if (!ok || !ev.text || !set_field(&ev.remote, pk, room))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int on_chat(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	const struct ymsg_pair *room = ymsg_pair_get(pk, 104);
	bool in = dir == IM_DIR_IN;

	if (dir == IM_DIR_OUT && !learn_local(s, pk, ymsg_pair_get(pk, 1)))
		return proto_session_malformed(s, "out of memory");
	switch (pk->h.service) {
	case YS_CHATLOGON:
		/* Without a room this is the log-on to the chat service itself. */
		return room ? emit_group(s, dir, IM_KIND_JOIN, pk, room, NULL, NULL) : 0;
	case YS_CHATLOGOFF:
	case YS_CHATLOGOUT:
		return room ? emit_group(s, dir, IM_KIND_PART, pk, room, NULL, NULL) : 0;
	case YS_CHATJOIN:
		if (!room)
			return proto_session_malformed(s, "chat join without a room");
		return emit_room_join(s, dir, pk, room);
	case YS_CHATLEAVE:
	case YS_CHATEXIT:
		if (!room)
			return proto_session_malformed(s, "chat leave without a room");
		return emit_group(s, dir, IM_KIND_PART, pk, room,
				  in ? ymsg_pair_get(pk, 109) : NULL, NULL);
	case YS_CHATADDINVITE:
		if (!room)
			return proto_session_malformed(s, "chat invitation without a room");
		return emit_group(s, dir, IM_KIND_RENDEZVOUS, pk, room,
				  in ? ymsg_pair_get(pk, 119) : NULL, ymsg_pair_get(pk, 117));
	case YS_COMMENT:
		if (!room || !ymsg_pair_get(pk, 117))
			return proto_session_malformed(s, "chat message without room or text");
		return emit_group(s, dir, IM_KIND_MESSAGE, pk, room,
				  in ? ymsg_pair_get(pk, 109) : NULL, ymsg_pair_get(pk, 117));
	}
	return 0; /* online, goto, ping */
}

static int dispatch(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	switch (pk->h.service) {
	case YS_AUTH:
	case YS_AUTHRESP:
	case YS_LOGON:
		return on_login(s, dir, pk);
	case YS_LOGOFF:
		if (dir != IM_DIR_OUT)
			return 0; /* from the server: a buddy went away */
		return emit_plain(s, dir, IM_KIND_LOGOUT, pk, NULL, "");
	case YS_MESSAGE:
		return on_message(s, dir, pk);
	case YS_NOTIFY:
		return on_notify(s, dir, pk);
	case YS_FILETRANSFER:
	case YS_P2PFILEXFER:
	case YS_FILETRANS_15:
	case YS_FILETRANS_INFO_15:
	case YS_FILETRANS_ACC_15:
		return on_file(s, dir, pk);
	case YS_WEBCAM:
		return on_webcam(s, dir, pk);
	case YS_CONFINVITE:
	case YS_CONFLOGON:
	case YS_CONFDECLINE:
	case YS_CONFLOGOFF:
	case YS_CONFADDINVITE:
	case YS_CONFMSG:
		return on_conference(s, dir, pk);
	case YS_CHATLOGON:
	case YS_CHATLOGOFF:
	case YS_CHATONLINE:
	case YS_CHATGOTO:
	case YS_CHATJOIN:
	case YS_CHATLEAVE:
	case YS_CHATEXIT:
	case YS_CHATADDINVITE:
	case YS_CHATLOGOUT:
	case YS_CHATPING:
	case YS_COMMENT:
		return on_chat(s, dir, pk);
	}
	return 0;
}

int ymsg_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct ymsg_state *st = ymsg_state_of(s);
	struct ymsg_packet pk;
	int rc;

	if (ymsg_packet_parse(pdu, len, &pk) < 0)
		return proto_session_malformed(s, "bad YMSG packet");
	st->version = pk.h.version;
	st->session[dir] = pk.h.session;
	rc = dispatch(s, dir, &pk);
	ymsg_packet_free(&pk);
	return rc;
}
