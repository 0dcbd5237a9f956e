/* Yahoo! Messenger (YMSG).
 *
 * A packet is a 20-byte big-endian header ("YMSG", version, vendor id,
 * payload length, service, status, session id) and a payload of
 * key/value pairs: a decimal key, C0 80, the value, C0 80. C0 80 can
 * never occur inside UTF-8 text, and a key is only digits, so a payload
 * length that points anywhere but the end of a value is caught as soon
 * as the bytes it covers are seen: framing checks the pairs and resyncs
 * on the next "YMSG" instead of swallowing the next packet.
 *
 * Services and what they give:
 *   0x57 AUTH, 0x54 AUTHRESP, 0x01 LOGON  local id (key 1, or 0); the
 *        server's LOGON naming us is the login event; 0x02 LOGOFF logout
 *   0x06 MESSAGE  1/4 from, 5 to, 14 text, 97 UTF-8 flag, 15 time; one
 *        packet may hold several messages (offline messages at login,
 *        each opened by key 31): a repeated key starts the next one
 *   0x4B NOTIFY  49 TYPING with 13 state (text "" when typing starts,
 *        "stopped" when it ends); 49 WEBCAMINVITE (14 " " invites,
 *        "1"/"-1" answers) as webcam events
 *   0x46 FILETRANSFER, 0x4D P2PFILEXFER, 0xDC FILETRANS_15  27 file
 *        name, 28 size (repeated for several files), 222 action (1
 *        offers); 0xDD/0xDE (info, accept) name a file only after the
 *        offer, so they make an event only when the offer was not seen
 *        (capture started late), matched by transfer id (key 265)
 *   0x50 WEBCAM  a webcam request naming a user (5 or 4)
 *   0x18-0x1D conferences (57 room): invite and add-invite (50 host, 58
 *        text) as rendezvous, logon/decline/logoff (53/54/56 who) as
 *        join/part, 0x1D message (3 sender, 14 text); 0x1E/0x1F chat
 *        logon/logoff as join/part of room 104 when one is named (none
 *        when they only log on to or off the chat service)
 *   0x96-0xA8 chat rooms (104 room): 0x98 join (109 members, 130 on our
 *        own join), 0x99/0x9B leave, 0x9D invite (119 inviter, 117
 *        text), 0xA0 logout (as 0x1F), 0xA8 message (109 sender, 117 text);
 *        0x96 online, 0x97 goto and 0xA1 ping carry nothing to log
 * Conference and chat room events are group events whose remote is the
 * room; text from others is prefixed "sender: " as IMSpector does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "proto/proto.h"
#include "proto/ymsg/ymsg.h"
#include "util/cursor.h"
#include "util/text.h"

#define YMSG_HEADER_LEN 20u
#define YMSG_MAX_PDU (YMSG_HEADER_LEN + 0xFFFFu)
/* Keys in use stay below 10000; six digits leave room. */
#define YMSG_MAX_KEY_DIGITS 6u
/* File transfer ids remembered to tell a late info/accept from a seen offer. */
#define YMSG_SEEN_TRANSFERS 32u
#define YMSG_DEFAULT_VERSION 16u
#define YMSG_STATUS_OFFLINE 0x5a55aa56u /* what clients put on outgoing messages */
#define YMSG_STATUS_ERROR 0xffffffffu

enum ymsg_service {
	YS_LOGON = 0x01,
	YS_LOGOFF = 0x02,
	YS_MESSAGE = 0x06,
	YS_CONFINVITE = 0x18,
	YS_CONFLOGON = 0x19,
	YS_CONFDECLINE = 0x1a,
	YS_CONFLOGOFF = 0x1b,
	YS_CONFADDINVITE = 0x1c,
	YS_CONFMSG = 0x1d,
	YS_CHATLOGON = 0x1e,
	YS_CHATLOGOFF = 0x1f,
	YS_FILETRANSFER = 0x46,
	YS_NOTIFY = 0x4b,
	YS_P2PFILEXFER = 0x4d,
	YS_WEBCAM = 0x50,
	YS_AUTHRESP = 0x54,
	YS_AUTH = 0x57,
	YS_CHATONLINE = 0x96,
	YS_CHATGOTO = 0x97,
	YS_CHATJOIN = 0x98,
	YS_CHATLEAVE = 0x99,
	YS_CHATEXIT = 0x9b,
	YS_CHATADDINVITE = 0x9d,
	YS_CHATLOGOUT = 0xa0,
	YS_CHATPING = 0xa1,
	YS_COMMENT = 0xa8,
	YS_FILETRANS_15 = 0xdc,
	YS_FILETRANS_INFO_15 = 0xdd,
	YS_FILETRANS_ACC_15 = 0xde,
};

struct ymsg_header {
	uint16_t version;
	uint16_t vendor;
	uint16_t length;
	uint16_t service;
	uint32_t status;
	uint32_t session;
};

struct ymsg_pair {
	unsigned key;
	size_t off; /* of the value, from the PDU start */
	size_t len;
};

struct ymsg_packet {
	struct ymsg_header h;
	const uint8_t *pdu;
	struct ymsg_pair *pairs;
	size_t n_pairs;
};

struct ymsg_state {
	uint16_t version; /* last seen, for packets we build */
	uint32_t session[2];
	bool logged_in;
	char *seen_transfer[YMSG_SEEN_TRANSFERS];
	size_t next_seen;
};

enum ymsg_scan {
	YMSG_SCAN_OK,
	YMSG_SCAN_SHORT,
	YMSG_SCAN_BAD,
};

static struct ymsg_state *state_of(struct proto_session *s)
{
	return s->state;
}

static void header_read(const uint8_t *p, struct ymsg_header *h)
{
	struct cursor c;

	cursor_init(&c, p + 4, YMSG_HEADER_LEN - 4);
	cursor_be16(&c, &h->version);
	cursor_be16(&c, &h->vendor);
	cursor_be16(&c, &h->length);
	cursor_be16(&c, &h->service);
	cursor_be32(&c, &h->status);
	cursor_be32(&c, &h->session);
}

static bool is_separator(const uint8_t *p, size_t i, size_t n)
{
	return i + 1 < n && p[i] == 0xC0 && p[i + 1] == 0x80;
}

/* Check the pairs of a payload of `total` bytes of which `avail` are here.
 * BAD as soon as a key is not a short decimal number, or (when the whole
 * payload is here) when it does not end right after a value. */
static enum ymsg_scan pairs_check(const uint8_t *p, size_t avail, size_t total)
{
	size_t i = 0, key_len = 0;
	bool in_key = true;
	size_t n = avail < total ? avail : total;

	while (i < n) {
		if (p[i] == 0xC0 && i + 1 == n && n < total)
			return YMSG_SCAN_SHORT;
		if (is_separator(p, i, n)) {
			if (in_key && key_len == 0)
				return YMSG_SCAN_BAD;
			in_key = !in_key;
			key_len = 0;
			i += 2;
			continue;
		}
		if (in_key) {
			if (p[i] < '0' || p[i] > '9' || ++key_len > YMSG_MAX_KEY_DIGITS)
				return YMSG_SCAN_BAD;
		}
		i++;
	}
	if (avail < total)
		return YMSG_SCAN_SHORT;
	return in_key && key_len == 0 ? YMSG_SCAN_OK : YMSG_SCAN_BAD;
}

/* Is there a YMSG packet at data, and how long is it? */
static enum ymsg_scan scan_packet(const uint8_t *data, size_t len, size_t *pdu_len)
{
	struct ymsg_header h;
	enum ymsg_scan r;

	if (len < 4)
		return memcmp(data, "YMSG", len) == 0 ? YMSG_SCAN_SHORT : YMSG_SCAN_BAD;
	if (memcmp(data, "YMSG", 4) != 0)
		return YMSG_SCAN_BAD;
	if (len < 12)
		return len > 4 && data[4] != 0 ? YMSG_SCAN_BAD : YMSG_SCAN_SHORT;
	if (!imw_sig_ymsg(data, len))
		return YMSG_SCAN_BAD;
	if (len < YMSG_HEADER_LEN)
		return YMSG_SCAN_SHORT;
	header_read(data, &h);
	r = pairs_check(data + YMSG_HEADER_LEN, len - YMSG_HEADER_LEN, h.length);
	if (r == YMSG_SCAN_OK)
		*pdu_len = YMSG_HEADER_LEN + h.length;
	return r;
}

static int packet_parse(const uint8_t *pdu, size_t len, struct ymsg_packet *pk)
{
	size_t pdu_len = 0, i, n_sep = 0, start;

	memset(pk, 0, sizeof(*pk));
	if (scan_packet(pdu, len, &pdu_len) != YMSG_SCAN_OK || pdu_len != len)
		return -1;
	header_read(pdu, &pk->h);
	pk->pdu = pdu;
	for (i = YMSG_HEADER_LEN; i < len; i++)
		if (is_separator(pdu, i, len)) {
			n_sep++;
			i++;
		}
	if (n_sep == 0)
		return 0;
	pk->pairs = calloc(n_sep / 2, sizeof(*pk->pairs));
	if (!pk->pairs)
		return -1;
	start = YMSG_HEADER_LEN;
	while (start < len) {
		struct ymsg_pair *pr = &pk->pairs[pk->n_pairs];
		unsigned key = 0;

		for (i = start; !is_separator(pdu, i, len); i++)
			key = key * 10 + (unsigned)(pdu[i] - '0');
		pr->key = key;
		pr->off = i + 2;
		for (i = pr->off; !is_separator(pdu, i, len); i++)
			;
		pr->len = i - pr->off;
		start = i + 2;
		pk->n_pairs++;
	}
	return 0;
}

static void packet_free(struct ymsg_packet *pk)
{
	free(pk->pairs);
	pk->pairs = NULL;
}

static const struct ymsg_pair *pair_nth(const struct ymsg_packet *pk, unsigned key, size_t nth)
{
	size_t i;

	for (i = 0; i < pk->n_pairs; i++)
		if (pk->pairs[i].key == key && nth-- == 0)
			return &pk->pairs[i];
	return NULL;
}

static const struct ymsg_pair *pair_get(const struct ymsg_packet *pk, unsigned key)
{
	return pair_nth(pk, key, 0);
}

static bool pair_is(const struct ymsg_packet *pk, const struct ymsg_pair *pr, const char *lit)
{
	return pr && pr->len == strlen(lit) && memcmp(pk->pdu + pr->off, lit, pr->len) == 0;
}

static char *pair_text(const struct ymsg_packet *pk, const struct ymsg_pair *pr)
{
	if (!pr)
		return text_dup("", 0);
	return text_utf8_or_latin1(pk->pdu + pr->off, pr->len);
}

static bool pair_number(const struct ymsg_packet *pk, const struct ymsg_pair *pr, uint64_t *v)
{
	size_t i;

	if (!pr || pr->len == 0 || pr->len > 19)
		return false;
	*v = 0;
	for (i = 0; i < pr->len; i++) {
		uint8_t c = pk->pdu[pr->off + i];

		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (uint64_t)(c - '0');
	}
	return true;
}

static bool pair_is_local(struct proto_session *s, const struct ymsg_packet *pk,
			  const struct ymsg_pair *pr)
{
	return pr && s->local_id && strlen(s->local_id) == pr->len &&
	       strncasecmp(s->local_id, (const char *)pk->pdu + pr->off, pr->len) == 0;
}

static bool learn_local(struct proto_session *s, const struct ymsg_packet *pk,
			const struct ymsg_pair *pr)
{
	if (!pr || pr->len == 0 || pair_is_local(s, pk, pr))
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
	char *v = pair_text(pk, pr);

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
	char *w = pair_text(pk, who), *t = pair_text(pk, text), *joined = NULL;
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

/* --- login --- */

static int on_login(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	struct ymsg_state *st = state_of(s);
	const struct ymsg_pair *id = pair_get(pk, 1);
	struct im_event ev;

	if (!id)
		id = pair_get(pk, 0);
	if (pk->h.service == YS_AUTHRESP && dir == IM_DIR_OUT && pair_get(pk, 0))
		id = pair_get(pk, 0);
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

/* --- messages --- */

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
			im.utf8 = pair_is(pk, pr, "1");
	}
	if (emit_im(s, dir, pk, &im, error) < 0)
		rc = -1;
	if (dir == IM_DIR_OUT && !learn_local(s, pk, pair_get(pk, 1)))
		return proto_session_malformed(s, "out of memory");
	return rc;
}

/* --- notify: typing and webcam invitations --- */

static int on_notify(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	const struct ymsg_pair *what = pair_get(pk, 49), *ind = pair_get(pk, 14);
	const struct ymsg_pair *peer = dir == IM_DIR_OUT ? pair_get(pk, 5) : pair_get(pk, 4);

	if (dir == IM_DIR_OUT && !learn_local(s, pk, pair_get(pk, 1) ? pair_get(pk, 1) : pair_get(pk, 4)))
		return proto_session_malformed(s, "out of memory");
	if (pair_is(pk, what, "TYPING"))
		return emit_plain(s, dir, IM_KIND_TYPING, pk, peer,
				  pair_is(pk, pair_get(pk, 13), "0") ? "stopped" : "");
	if (pair_is(pk, what, "WEBCAMINVITE"))
		return emit_plain(s, dir, IM_KIND_WEBCAM, pk, peer,
				  pair_is(pk, ind, "1")	   ? "accepted"
				  : pair_is(pk, ind, "-1") ? "declined"
							   : "");
	return 0; /* GAME, IMVIRONMENT, CONTACTINFO... */
}

/* --- files --- */

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
	ev.has_file_size = pair_number(pk, size, &n);
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
	struct ymsg_state *st = state_of(s);
	const struct ymsg_pair *peer = dir == IM_DIR_OUT ? pair_get(pk, 5) : pair_get(pk, 4);
	const struct ymsg_pair *id = pair_get(pk, 265), *action = pair_get(pk, 222);
	const struct ymsg_pair *what = pair_get(pk, 49), *url = pair_get(pk, 20);
	size_t nth;

	switch (pk->h.service) {
	case YS_P2PFILEXFER:
		if (what && !pair_is(pk, what, "FILEXFER"))
			return 0; /* PEERTOPEER set-up and IMVironments share the service */
		break;
	case YS_FILETRANS_15:
		if (action && !pair_is(pk, action, "1"))
			return 0; /* cancel, accept, reject */
		transfer_remember(st, pk, id);
		break;
	case YS_FILETRANS_INFO_15:
	case YS_FILETRANS_ACC_15:
		if (!id || transfer_seen(st, pk, id))
			return 0;
		transfer_remember(st, pk, id);
		break;
	}
	if (!pair_get(pk, 27)) {
		char *name;

		if (!url)
			return 0;
		name = name_from_url(pk, url);
		if (!name)
			return proto_session_malformed(s, "out of memory");
		return emit_file(s, dir, pk, peer, name, pair_get(pk, 28));
	}
	for (nth = 0; pair_nth(pk, 27, nth); nth++) {
		char *name = pair_text(pk, pair_nth(pk, 27, nth));

		if (!name)
			return proto_session_malformed(s, "out of memory");
		if (emit_file(s, dir, pk, peer, name, pair_nth(pk, 28, nth)) < 0)
			return -1;
	}
	return 0;
}

static int on_webcam(struct proto_session *s, enum im_dir dir, const struct ymsg_packet *pk)
{
	const struct ymsg_pair *peer = pair_get(pk, 5);

	if (!peer)
		peer = pair_get(pk, 4);
	if (!peer && pair_get(pk, 1) && !pair_is_local(s, pk, pair_get(pk, 1)))
		peer = pair_get(pk, 1);
	if (!peer)
		return 0; /* the server's key and address for our own upload */
	return emit_plain(s, dir, IM_KIND_WEBCAM, pk, peer, "");
}

/* --- conferences and chat rooms --- */

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
	const struct ymsg_pair *room = pair_get(pk, 57), *who = NULL;
	bool in = dir == IM_DIR_IN;

	if (!room)
		return proto_session_malformed(s, "conference packet without a room");
	if (dir == IM_DIR_OUT && !learn_local(s, pk, pair_get(pk, 1)))
		return proto_session_malformed(s, "out of memory");
	switch (pk->h.service) {
	case YS_CONFINVITE:
	case YS_CONFADDINVITE:
		who = in ? pair_get(pk, 50) : NULL;
		return emit_group(s, dir, IM_KIND_RENDEZVOUS, pk, room, who, pair_get(pk, 58));
	case YS_CONFLOGON:
		return emit_group(s, dir, IM_KIND_JOIN, pk, room, in ? pair_get(pk, 53) : NULL, NULL);
	case YS_CONFDECLINE:
		return emit_group(s, dir, IM_KIND_PART, pk, room, in ? pair_get(pk, 54) : NULL, NULL);
	case YS_CONFLOGOFF:
		return emit_group(s, dir, IM_KIND_PART, pk, room, in ? pair_get(pk, 56) : NULL, NULL);
	case YS_CONFMSG:
		if (!pair_get(pk, 14))
			return proto_session_malformed(s, "conference message without text");
		return emit_group(s, dir, IM_KIND_MESSAGE, pk, room, in ? pair_get(pk, 3) : NULL,
				  pair_get(pk, 14));
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
	for (nth = 0; ok && dir == IM_DIR_IN && pair_nth(pk, 109, nth); nth++) {
		const struct ymsg_pair *m = pair_nth(pk, 109, nth);

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
	const struct ymsg_pair *room = pair_get(pk, 104);
	bool in = dir == IM_DIR_IN;

	if (dir == IM_DIR_OUT && !learn_local(s, pk, pair_get(pk, 1)))
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
		return emit_group(s, dir, IM_KIND_PART, pk, room, in ? pair_get(pk, 109) : NULL, NULL);
	case YS_CHATADDINVITE:
		if (!room)
			return proto_session_malformed(s, "chat invitation without a room");
		return emit_group(s, dir, IM_KIND_RENDEZVOUS, pk, room, in ? pair_get(pk, 119) : NULL,
				  pair_get(pk, 117));
	case YS_COMMENT:
		if (!room || !pair_get(pk, 117))
			return proto_session_malformed(s, "chat message without room or text");
		return emit_group(s, dir, IM_KIND_MESSAGE, pk, room, in ? pair_get(pk, 109) : NULL,
				  pair_get(pk, 117));
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

static int ymsg_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct ymsg_state *st = state_of(s);
	struct ymsg_packet pk;
	int rc;

	if (packet_parse(pdu, len, &pk) < 0)
		return proto_session_malformed(s, "bad YMSG packet");
	st->version = pk.h.version;
	st->session[dir] = pk.h.session;
	rc = dispatch(s, dir, &pk);
	packet_free(&pk);
	return rc;
}

static enum proto_frame ymsg_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				   size_t len, size_t *pdu_len)
{
	(void)s;
	(void)dir;
	switch (scan_packet(data, len, pdu_len)) {
	case YMSG_SCAN_OK:
		return PROTO_FRAME_PDU;
	case YMSG_SCAN_SHORT:
		return PROTO_FRAME_NEED_MORE;
	case YMSG_SCAN_BAD:
		break;
	}
	return PROTO_FRAME_GARBAGE;
}

/* The first offset where frame would not say garbage. */
static size_t ymsg_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos, pdu_len;

	(void)s;
	(void)dir;
	for (pos = 0; pos < len; pos++)
		if (data[pos] == 'Y' && scan_packet(data + pos, len - pos, &pdu_len) != YMSG_SCAN_BAD)
			return pos;
	return len;
}

static enum proto_detect ymsg_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	size_t pos, pdu_len;

	(void)dir;
	if (imw_sig_ymsg(data, len))
		return PROTO_DETECT_YES;
	if (len < 12 && scan_packet(data, len, &pdu_len) == YMSG_SCAN_SHORT)
		return PROTO_DETECT_MAYBE;
	/* Picked up mid-packet: a whole packet further on will do. */
	for (pos = 1; pos + YMSG_HEADER_LEN <= len; pos++)
		if (data[pos] == 'Y' && scan_packet(data + pos, len - pos, &pdu_len) == YMSG_SCAN_OK)
			return PROTO_DETECT_YES;
	return PROTO_DETECT_NO;
}

/* --- encode --- */

static bool append_pair(struct bytebuf *b, unsigned key, const char *value)
{
	return bytebuf_printf(b, "%u", key) && bytebuf_append(b, "\xC0\x80", 2) &&
	       bytebuf_append_str(b, value) && bytebuf_append(b, "\xC0\x80", 2);
}

static bool append_header(struct bytebuf *b, uint16_t version, uint16_t vendor, size_t length,
			  uint16_t service, uint32_t status, uint32_t session)
{
	uint8_t h[YMSG_HEADER_LEN];

	memcpy(h, "YMSG", 4);
	imw_store_be16(h + 4, version);
	imw_store_be16(h + 6, vendor);
	imw_store_be16(h + 8, (uint16_t)length);
	imw_store_be16(h + 10, service);
	imw_store_be32(h + 12, status);
	imw_store_be32(h + 16, session);
	return bytebuf_append(b, h, sizeof(h));
}

/* UTF-8 into Latin-1 for a packet not flagged UTF-8; '?' for the rest. */
static bool append_latin1(struct bytebuf *out, const char *text)
{
	const uint8_t *p = (const uint8_t *)text;

	while (*p) {
		uint32_t cp = '?';
		size_t n = 1;

		if (p[0] < 0x80) {
			cp = p[0];
		} else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
			cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
			n = 2;
		} else {
			while ((p[n] & 0xC0) == 0x80)
				n++;
		}
		if (!bytebuf_append_byte(out, cp <= 0xFF ? (uint8_t)cp : '?'))
			return false;
		p += n;
	}
	return true;
}

/* The text pair the event came from: its recorded span, else the first
 * text key of the packet's service. */
static const struct ymsg_pair *event_text_pair(const struct ymsg_packet *pk,
					       const struct im_event *ev)
{
	unsigned key = pk->h.service == YS_COMMENT ? 117 : 14;
	size_t i;

	for (i = 0; ev->has_text_span && i < pk->n_pairs; i++)
		if (pk->pairs[i].off == ev->text_offset && pk->pairs[i].len == ev->text_len)
			return &pk->pairs[i];
	return pair_get(pk, key);
}

static int encode_with_orig(enum im_dir dir, const struct im_event *ev, const uint8_t *orig,
			    size_t orig_len, struct bytebuf *out)
{
	struct ymsg_packet pk;
	const struct ymsg_pair *text, *sender = NULL;
	const char *new_text = ev->text;
	struct bytebuf value;
	char *old;
	size_t body_len, start = out->len;
	bool ok, same;

	if (packet_parse(orig, orig_len, &pk) < 0)
		return -1;
	text = event_text_pair(&pk, ev);
	if (!text || !(pk.h.service == YS_MESSAGE || pk.h.service == YS_CONFMSG ||
		       pk.h.service == YS_COMMENT)) {
		packet_free(&pk);
		return -1;
	}
	if (dir == IM_DIR_IN && pk.h.service == YS_CONFMSG)
		sender = pair_get(&pk, 3);
	else if (dir == IM_DIR_IN && pk.h.service == YS_COMMENT)
		sender = pair_get(&pk, 109);
	if (sender) {
		size_t n = sender->len;

		if (strlen(new_text) >= n + 2 && memcmp(new_text, orig + sender->off, n) == 0 &&
		    memcmp(new_text + n, ": ", 2) == 0)
			new_text += n + 2;
	}
	old = pair_text(&pk, text);
	same = old && strcmp(old, new_text) == 0;
	free(old);
	if (same) {
		packet_free(&pk);
		return bytebuf_append(out, orig, orig_len) ? 0 : -1;
	}
	bytebuf_init(&value);
	ok = pair_is(&pk, pair_get(&pk, 97), "1") ? bytebuf_append_str(&value, new_text)
						  : append_latin1(&value, new_text);
	/* A separator inside the value would split it into new pairs. */
	ok = ok && !(value.len >= 2 && memmem(value.data, value.len, "\xC0\x80", 2));
	body_len = orig_len - YMSG_HEADER_LEN - text->len + value.len;
	ok = ok && body_len <= 0xFFFF &&
	     append_header(out, pk.h.version, pk.h.vendor, body_len, pk.h.service, pk.h.status,
			   pk.h.session) &&
	     bytebuf_append(out, orig + YMSG_HEADER_LEN, text->off - YMSG_HEADER_LEN) &&
	     bytebuf_append(out, value.data, value.len) &&
	     bytebuf_append(out, orig + text->off + text->len, orig_len - text->off - text->len);
	bytebuf_free(&value);
	packet_free(&pk);
	if (!ok) {
		out->len = start;
		return -1;
	}
	return 0;
}

static bool value_ok(const char *v)
{
	return v && !strstr(v, "\xC0\x80");
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct ymsg_state *st = s ? state_of(s) : NULL;
	const char *local = ev->local && ev->local[0] ? ev->local : s ? s->local_id : NULL;
	const char *text = ev->text, *colon;
	uint16_t version = st && st->version ? st->version : YMSG_DEFAULT_VERSION;
	uint32_t session = st ? st->session[dir] : 0;
	struct bytebuf body;
	char *sender = NULL;
	uint16_t service = YS_MESSAGE;
	uint32_t status = dir == IM_DIR_OUT ? YMSG_STATUS_OFFLINE : 1;
	bool ok;

	if (!local || !local[0] || !ev->remote || !ev->remote[0] || !value_ok(local) ||
	    !value_ok(ev->remote) || !value_ok(text))
		return -1;
	bytebuf_init(&body);
	if (ev->group) {
		/* A chat room message; a conference would need its member list. */
		service = YS_COMMENT;
		status = 0;
		ok = append_pair(&body, 1, local) && append_pair(&body, 104, ev->remote);
		if (ok && dir == IM_DIR_IN) {
			colon = strstr(text, ": ");
			sender = colon ? text_dup(text, (size_t)(colon - text)) : NULL;
			if (colon)
				text = colon + 2;
			ok = sender && value_ok(sender) && append_pair(&body, 109, sender);
		}
		ok = ok && append_pair(&body, 117, text) && append_pair(&body, 124, "1");
	} else if (dir == IM_DIR_OUT) {
		ok = append_pair(&body, 1, local) && append_pair(&body, 5, ev->remote) &&
		     append_pair(&body, 14, text) && append_pair(&body, 97, "1");
	} else {
		ok = append_pair(&body, 5, local) && append_pair(&body, 4, ev->remote) &&
		     append_pair(&body, 14, text) && append_pair(&body, 97, "1");
	}
	ok = ok && body.len <= 0xFFFF &&
	     append_header(out, version, 0, body.len, service, status, session) &&
	     bytebuf_append(out, body.data, body.len);
	bytebuf_free(&body);
	free(sender);
	return ok ? 0 : -1;
}

static int ymsg_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		       const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	size_t mark = out->len;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	rc = orig ? encode_with_orig(dir, ev, orig, orig_len, out) : encode_fresh(s, dir, ev, out);
	if (rc < 0)
		out->len = mark;
	return rc;
}

static int ymsg_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct ymsg_state));
	return s->state ? 0 : -1;
}

static void ymsg_session_free(struct proto_session *s)
{
	struct ymsg_state *st = state_of(s);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < YMSG_SEEN_TRANSFERS; i++)
		free(st->seen_transfer[i]);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_ymsg = {
	PROTO_IDENTITY(YMSG),
	.max_pdu = YMSG_MAX_PDU,
	.detect = ymsg_detect,
	.frame = ymsg_frame,
	.decode = ymsg_decode,
	.resync = ymsg_resync,
	.session_init = ymsg_session_init,
	.session_free = ymsg_session_free,
	.encode = ymsg_encode,
	/* No local_receipt: the server sends nothing back for a delivered
	 * MESSAGE; YMSG 16's MESSAGE_ACK (0xFB) comes from the recipient's
	 * client (libpurple yahoo_process_message) and travels like a message. */
};
