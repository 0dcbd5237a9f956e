/* The TOC module's pieces, private to daemon/src/proto/toc/: the
 * per-session state (FLAP sequence numbers, rooms), spans into a frame's
 * text, and what each file offers the others. */
#ifndef IMW_PROTO_TOC_INTERNAL_H
#define IMW_PROTO_TOC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/oscar/oscar.h"
#include "proto/proto.h"
#include "util/bytebuf.h"

#define TOC_FLAPON "FLAPON\r\n\r\n"
#define TOC_FLAPON_LEN (sizeof(TOC_FLAPON) - 1)
/* Rooms whose "CHAT_JOIN:<id>:<name>" we remember per connection. */
#define TOC_MAX_ROOMS 16u
#define TOC_FILE_UUID "09461343-4C7F-11D1-8222-444553540000"

struct toc_room {
	char *id;
	char *name;
};

struct toc_state {
	struct flap_seq seq;
	bool toc2;
	bool login_sent, logout_sent;
	struct toc_room rooms[TOC_MAX_ROOMS];
	size_t next_room;
};

/* A span of the frame's text, relative to the PDU start. */
struct toc_span {
	size_t off;
	size_t len;
	bool quoted;
};

static inline struct toc_state *toc_state_of(struct proto_session *s)
{
	return s->state;
}

/* ---- toc_frame.c: framing, resync, detection ---- */

enum proto_detect toc_detect(const uint8_t *data, size_t len, enum im_dir dir);
enum proto_frame toc_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len, size_t *pdu_len);
size_t toc_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);

/* ---- toc_decode.c: commands and server messages to events ---- */

bool toc_next_arg(const uint8_t *p, size_t end, size_t *pos, struct toc_span *a);
char *toc_arg_text(const uint8_t *p, const struct toc_span *a);
bool toc_span_is(const uint8_t *p, const struct toc_span *a, const char *lit);
const char *toc_room_id(struct toc_state *st, const char *name);
/* Split the first n colon-separated fields off [pos, end); the rest of
 * the frame (the message) starts at *rest. */
bool toc_split_fields(const uint8_t *p, size_t pos, size_t end, struct toc_span *f, size_t n,
		      size_t *rest);
bool toc_word_is(const uint8_t *p, size_t pos, size_t end, const char *word, size_t *after);
int toc_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

/* ---- toc_encode.c: events to frames ---- */

int toc_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	       const uint8_t *orig, size_t orig_len, struct bytebuf *out);

#endif
