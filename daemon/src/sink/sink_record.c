#include "sink/sink_record.h"

#include <stddef.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "util/cursor.h"

/* Version 2 added the archive's strings (server ... delivered_text) after
 * version 1's; a version 1 record (a log from before) still decodes. */
#define RECORD_VERSION 2
#define RECORD_VERSION_1_STRINGS 10
#define STRING_NULL 0xFFFFFFFFu

/* The string fields, in record order. char * and const char * fields
 * alike: a decoded view stores a pointer into the record in either. */
static const size_t string_fields[] = {
	offsetof(struct im_event, local),
	offsetof(struct im_event, remote),
	offsetof(struct im_event, client),
	offsetof(struct im_event, remote_address),
	offsetof(struct im_event, route),
	offsetof(struct im_event, route_to),
	offsetof(struct im_event, remote_name),
	offsetof(struct im_event, content_type),
	offsetof(struct im_event, text),
	offsetof(struct im_event, file_name),
	offsetof(struct im_event, server),
	offsetof(struct im_event, session),
	offsetof(struct im_event, community_id),
	offsetof(struct im_event, action),
	offsetof(struct im_event, rule),
	offsetof(struct im_event, categories),
	offsetof(struct im_event, delivered_text),
};

#define N_STRINGS (sizeof(string_fields) / sizeof(string_fields[0]))

/* Fixed part: ts, sent_ts (f64 bits), flow_id, file_size, proto, dir,
 * kind, flags. */
#define FIXED_SIZE (8 + 8 + 8 + 8 + 4)

enum {
	FLAG_GROUP = 1,
	FLAG_FILTERED = 2,
	FLAG_AUTO_RESPONSE = 4,
	FLAG_HAS_FILE_SIZE = 8,
	FLAG_HAS_SENT_TS = 16,
	FLAG_IDS_INFERRED = 32,
};

static const char *string_at(const struct im_event *ev, size_t off)
{
	const char *s;

	memcpy(&s, (const char *)ev + off, sizeof(s));
	return s;
}

static void string_set(struct im_event *ev, size_t off, const char *s)
{
	memcpy((char *)ev + off, &s, sizeof(s));
}

bool sink_record_encode(struct bytebuf *b, const struct im_event *ev)
{
	size_t lens[N_STRINGS], total = 4 + 1 + FIXED_SIZE, i;
	uint64_t bits;
	uint8_t *p;

	for (i = 0; i < N_STRINGS; i++) {
		const char *s = string_at(ev, string_fields[i]);

		lens[i] = s ? strlen(s) : 0;
		if (lens[i] >= STRING_NULL || lens[i] > SINK_RECORD_MAX)
			return false;
		total += 4 + (s ? lens[i] + 1 : 0);
	}
	if (total > SINK_RECORD_MAX || !bytebuf_reserve(b, total))
		return false;
	p = b->data + b->len;
	imw_store_le32(p, (uint32_t)total);
	p[4] = RECORD_VERSION;
	p += 5;
	memcpy(&bits, &ev->ts, sizeof(bits));
	imw_store_le64(p, bits);
	memcpy(&bits, &ev->sent_ts, sizeof(bits));
	imw_store_le64(p + 8, bits);
	imw_store_le64(p + 16, ev->flow_id);
	imw_store_le64(p + 24, ev->file_size);
	p[32] = (uint8_t)ev->proto;
	p[33] = (uint8_t)ev->dir;
	p[34] = (uint8_t)ev->kind;
	p[35] = (uint8_t)((ev->group ? FLAG_GROUP : 0) | (ev->filtered ? FLAG_FILTERED : 0) |
			  (ev->auto_response ? FLAG_AUTO_RESPONSE : 0) |
			  (ev->has_file_size ? FLAG_HAS_FILE_SIZE : 0) |
			  (ev->has_sent_ts ? FLAG_HAS_SENT_TS : 0) |
			  (ev->ids_inferred ? FLAG_IDS_INFERRED : 0));
	p += FIXED_SIZE;
	for (i = 0; i < N_STRINGS; i++) {
		const char *s = string_at(ev, string_fields[i]);

		if (!s) {
			imw_store_le32(p, STRING_NULL);
			p += 4;
			continue;
		}
		imw_store_le32(p, (uint32_t)lens[i]);
		memcpy(p + 4, s, lens[i] + 1);
		p += 4 + lens[i] + 1;
	}
	b->len += total;
	return true;
}

bool sink_record_decode(const uint8_t *p, size_t n, struct im_event *ev, size_t *used)
{
	struct cursor c;
	const uint8_t *f;
	uint32_t total, len;
	uint64_t bits;
	uint8_t version;
	size_t i, n_strings;

	if (n < 4)
		return false;
	total = imw_load_le32(p);
	if (total < 5 + FIXED_SIZE || total > n)
		return false;
	cursor_init(&c, p + 4, total - 4);
	if (!cursor_u8(&c, &version) || (version != RECORD_VERSION && version != 1))
		return false;
	n_strings = version == 1 ? RECORD_VERSION_1_STRINGS : N_STRINGS;
	f = cursor_take(&c, FIXED_SIZE);
	if (!f)
		return false;
	/* Not event_init(): a NULL content_type must stay NULL. */
	memset(ev, 0, sizeof(*ev));
	bits = imw_load_le64(f);
	memcpy(&ev->ts, &bits, sizeof(bits));
	bits = imw_load_le64(f + 8);
	memcpy(&ev->sent_ts, &bits, sizeof(bits));
	ev->flow_id = imw_load_le64(f + 16);
	ev->file_size = imw_load_le64(f + 24);
	if (f[32] >= IMW_PROTO_MAX || f[33] > IM_DIR_IN || f[34] >= IM_KIND_COUNT)
		return false;
	ev->proto = (enum imw_proto)f[32];
	ev->dir = (enum im_dir)f[33];
	ev->kind = (enum im_kind)f[34];
	ev->group = f[35] & FLAG_GROUP;
	ev->filtered = f[35] & FLAG_FILTERED;
	ev->auto_response = f[35] & FLAG_AUTO_RESPONSE;
	ev->has_file_size = f[35] & FLAG_HAS_FILE_SIZE;
	ev->has_sent_ts = f[35] & FLAG_HAS_SENT_TS;
	ev->ids_inferred = f[35] & FLAG_IDS_INFERRED;
	for (i = 0; i < n_strings; i++) {
		const uint8_t *s;

		if (!cursor_le32(&c, &len))
			return false;
		if (len == STRING_NULL)
			continue;
		s = cursor_take(&c, (size_t)len + 1);
		if (!s || s[len] != '\0' || memchr(s, '\0', len))
			return false;
		string_set(ev, string_fields[i], (const char *)s);
	}
	if (cursor_remaining(&c) != 0)
		return false;
	*used = total;
	return true;
}
