#include "sink/sink_record.h"

#include <stddef.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "util/cursor.h"

/* 1: IMSpector's fields and imwire's first strings. 2 (main's archive)
 * added the archive's strings (server ... delivered_text) after version
 * 1's. 3 (file transfers, #20): a file result carries its own part after
 * the fixed one (FLAG_FILE_RESULT) and three more strings after version
 * 2's. Records of versions 1 and 2 (a log from before) still decode.
 * (The files branch's own unmerged "version 2", with a u32 of categories
 * in the fixed part, never reached main and is not read.) */
#define RECORD_VERSION 3
#define RECORD_VERSION_1_STRINGS 10
#define RECORD_VERSION_2_STRINGS 17
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
	/* version 2 on */
	offsetof(struct im_event, server),
	offsetof(struct im_event, session),
	offsetof(struct im_event, community_id),
	offsetof(struct im_event, action),
	offsetof(struct im_event, rule),
	offsetof(struct im_event, categories),
	offsetof(struct im_event, delivered_text),
	/* version 3 on */
	offsetof(struct im_event, file.mime),
	offsetof(struct im_event, file.stored),
	offsetof(struct im_event, file.signature),
};

#define N_STRINGS (sizeof(string_fields) / sizeof(string_fields[0]))

/* Fixed part (every version): ts, sent_ts (f64 bits), flow_id,
 * file_size, proto, dir, kind, flags. */
#define FIXED_SIZE (8 + 8 + 8 + 8 + 4)

/* A file result's part (events.h, im_file_content), after the fixed
 * part when FLAG_FILE_RESULT: state, scan, has_sha256, a zero; bytes,
 * gap_bytes, data_flow; the SHA-256 in hex (64 bytes, zeros without). */
#define FILE_PART_SIZE (4 + 8 + 8 + 8 + 64)

enum {
	FLAG_GROUP = 1,
	FLAG_FILTERED = 2,
	FLAG_AUTO_RESPONSE = 4,
	FLAG_HAS_FILE_SIZE = 8,
	FLAG_HAS_SENT_TS = 16,
	FLAG_IDS_INFERRED = 32,
	FLAG_FILE_RESULT = 64,
};

/* Only a file event past its offer has a result to carry. */
static bool has_file_result(const struct im_event *ev)
{
	return ev->kind == IM_KIND_FILE && ev->file.state != IM_FILE_OFFERED;
}

static void file_part_encode(uint8_t *p, const struct im_file_content *f)
{
	p[0] = (uint8_t)f->state;
	p[1] = (uint8_t)f->scan;
	p[2] = f->has_sha256 ? 1 : 0;
	p[3] = 0;
	imw_store_le64(p + 4, f->bytes);
	imw_store_le64(p + 12, f->gap_bytes);
	imw_store_le64(p + 20, f->data_flow);
	memset(p + 28, 0, 64);
	if (f->has_sha256)
		memcpy(p + 28, f->sha256, 64);
}

static bool file_part_decode(const uint8_t *p, struct im_file_content *f)
{
	if (p[0] >= IM_FILE_STATE_COUNT || p[1] >= IM_SCAN_COUNT || p[2] > 1 || p[3] != 0)
		return false;
	f->state = (enum im_file_state)p[0];
	f->scan = (enum im_scan)p[1];
	f->has_sha256 = p[2];
	f->bytes = imw_load_le64(p + 4);
	f->gap_bytes = imw_load_le64(p + 12);
	f->data_flow = imw_load_le64(p + 20);
	if (f->has_sha256) {
		memcpy(f->sha256, p + 28, 64);
		f->sha256[64] = '\0';
		if (memchr(f->sha256, '\0', 64))
			return false;
	}
	return true;
}

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
	bool file = has_file_result(ev);
	uint64_t bits;
	uint8_t *p;

	for (i = 0; i < N_STRINGS; i++) {
		const char *s = string_at(ev, string_fields[i]);

		lens[i] = s ? strlen(s) : 0;
		if (lens[i] >= STRING_NULL || lens[i] > SINK_RECORD_MAX)
			return false;
		total += 4 + (s ? lens[i] + 1 : 0);
	}
	if (file)
		total += FILE_PART_SIZE;
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
			  (ev->ids_inferred ? FLAG_IDS_INFERRED : 0) |
			  (file ? FLAG_FILE_RESULT : 0));
	p += FIXED_SIZE;
	if (file) {
		file_part_encode(p, &ev->file);
		p += FILE_PART_SIZE;
	}
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

static bool decode(const uint8_t *p, size_t n, struct im_event *ev, size_t *used, bool ours)
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
	if (!cursor_u8(&c, &version) || version < 1 || version > RECORD_VERSION)
		return false;
	f = cursor_take(&c, FIXED_SIZE);
	if (!f)
		return false;
	n_strings = version == 1   ? RECORD_VERSION_1_STRINGS
		    : version == 2 ? RECORD_VERSION_2_STRINGS
				   : N_STRINGS;
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
	if (version > 2 && (f[35] & FLAG_FILE_RESULT)) {
		const uint8_t *fp = cursor_take(&c, FILE_PART_SIZE);

		if (!fp || !file_part_decode(fp, &ev->file))
			return false;
	}
	for (i = 0; i < n_strings; i++) {
		const uint8_t *s;

		if (!cursor_le32(&c, &len))
			return false;
		if (len == STRING_NULL)
			continue;
		s = cursor_take(&c, (size_t)len + 1);
		if (!s || s[len] != '\0' || (!ours && memchr(s, '\0', len)))
			return false;
		string_set(ev, string_fields[i], (const char *)s);
	}
	if (cursor_remaining(&c) != 0)
		return false;
	*used = total;
	return true;
}

bool sink_record_decode(const uint8_t *p, size_t n, struct im_event *ev, size_t *used)
{
	return decode(p, n, ev, used, false);
}

bool sink_record_decode_ours(const uint8_t *p, size_t n, struct im_event *ev, size_t *used)
{
	return decode(p, n, ev, used, true);
}
