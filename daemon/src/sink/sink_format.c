/* How an event is written as text: the JSON object of JSON lines and
 * syslog, and IMSpector's log line and file path. The one place to add a
 * field to the text sinks (the databases' row is db_row_from_event, the
 * write-ahead record sink_record.c).
 *
 * This runs for every event, so no printf family: numbers go through
 * util/numfmt.c; a line's strings are measured once, the worst case of a
 * section of the line reserved once, and every byte then written straight
 * into the buffer, the strings tested and copied 16 and 32 bytes at a
 * time by the same loads (json_body). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sink/sink.h"
#include "util/bytebuf.h"
#include "util/numfmt.h"

/* A literal's bytes: always inline, so that the copy of a constant length
 * is a few moves rather than a call to memcpy (eight a line). */
static inline __attribute__((always_inline)) bool put_lit(struct bytebuf *b, const char *s,
							   size_t n)
{
	if (!bytebuf_reserve(b, n))
		return false;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return true;
}

#define LIT(b, s) put_lit((b), (s), sizeof(s) - 1)

static bool put_u64(struct bytebuf *b, uint64_t v)
{
	if (!bytebuf_reserve(b, NUMFMT_U64_MAX))
		return false;
	b->len += numfmt_u64((char *)b->data + b->len, v);
	return true;
}

static bool put_i64(struct bytebuf *b, int64_t v)
{
	if (!bytebuf_reserve(b, NUMFMT_I64_MAX))
		return false;
	b->len += numfmt_i64((char *)b->data + b->len, v);
	return true;
}

static bool put_pad(struct bytebuf *b, uint64_t v, unsigned width)
{
	if (!bytebuf_reserve(b, NUMFMT_U64_MAX))
		return false;
	b->len += numfmt_u64_pad((char *)b->data + b->len, v, width);
	return true;
}

/* The key (key_len bytes) and v as "%.6f"; values numfmt does not take
 * (never a real timestamp) the slow way. One reservation for both;
 * inline, so that the key is a copy of a constant length. */
static inline __attribute__((always_inline)) bool put_seconds(struct bytebuf *b, const char *key,
							       size_t key_len, double v)
{
	size_t n;

	if (!bytebuf_reserve(b, key_len + NUMFMT_FIXED6_MAX))
		return false;
	memcpy(b->data + b->len, key, key_len);
	n = numfmt_fixed6((char *)b->data + b->len + key_len, v);
	if (!n) {
		b->len += key_len;
		return bytebuf_printf(b, "%.6f", v);
	}
	b->len += key_len + n;
	return true;
}

/* What follows the backslash for each byte JSON needs escaped; 'u' means
 * \u00XX; 0 means the byte is copied as it is (UTF-8 included). */
static const char json_escape[256] = {
	['\b'] = 'u', ['\f'] = 'u', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
	[0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u', [0x06] = 'u',
	[0x07] = 'u', [0x0B] = 'u', [0x0E] = 'u', [0x0F] = 'u', [0x10] = 'u', [0x11] = 'u',
	[0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u',
	[0x18] = 'u', [0x19] = 'u', [0x1A] = 'u', [0x1B] = 'u', [0x1C] = 'u', [0x1D] = 'u',
	[0x1E] = 'u', [0x1F] = 'u', [0x7F] = 'u', ['"'] = '"', ['\\'] = '\\',
};

/* What the escaping below may write past the end of a string's output:
 * a short string goes out as one 8-byte store. Every reservation for
 * escaped text adds it. */
#define JSON_SLACK 8

/* The longest string a line takes: 2^k - 1 bytes, so that the lengths of
 * a line's strings ORed together exceed it exactly when one of them
 * does (one test for all), and small enough that the worst case of
 * JSON_FIELDS_MAX of them, escaped, fits in a size_t (2^57 bytes on a
 * 64-bit machine, 32 MiB on a 32-bit one). */
#define JSON_STR_MAX (SIZE_MAX >> 7)
#define JSON_FIELDS_MAX 16

/* The most a string of n <= JSON_STR_MAX bytes takes quoted (every byte
 * \u00XX), with the slack. */
#define JSON_ROOM(n) (6 * (n) + 2 + JSON_SLACK)

/* Sixteen bytes at a time with the compiler's generic vectors (GCC and
 * clang; SSE2 or NEON code, no intrinsics): a lane is all ones where its
 * byte needs escaping (below 0x20, '"', '\\', 0x7F; bytes from 0x80 are
 * UTF-8 and go as they are, as the table says). x ^ 2 <= 0x20 is both
 * x < 0x20 and x == '"' (0x22) in one compare. */
typedef uint8_t json_v16 __attribute__((vector_size(16)));

static inline json_v16 json_v16_mask(json_v16 x)
{
	return (json_v16)(((x ^ 2) <= 0x20) | (x == '\\') | (x == 0x7F));
}

/* The lanes of m as two words, so that a caller can keep only the lanes
 * it filled. */
static inline void json_v16_halves(json_v16 m, uint64_t half[2])
{
	memcpy(half, &m, 2 * sizeof(half[0]));
}

/* Any lane of m set. */
static inline bool json_v16_any(json_v16 m)
{
	uint64_t half[2];

	json_v16_halves(m, half);
	return (half[0] | half[1]) != 0;
}

static inline json_v16 json_v16_load(const uint8_t *p)
{
	json_v16 x;

	memcpy(&x, p, sizeof(x));
	return x;
}

/* Words in little-endian order whatever the machine's, so that byte i of
 * a string is bits 8i..8i+7 of the word (the lane masks below rely on it). */
static inline uint64_t load64le(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

static inline uint32_t load32le(const uint8_t *p)
{
	uint32_t x;

	memcpy(&x, p, sizeof(x));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap32(x);
#endif
	return x;
}

static inline void store64le(uint8_t *p, uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	memcpy(p, &x, sizeof(x));
}

/* p[0..n), 0 < n < 8, as the low bytes of a word, the rest zero: two
 * overlapping loads (or three bytes), never a byte outside the string. */
static inline uint64_t load_short(const uint8_t *p, size_t n)
{
	if (n >= 4)
		return load32le(p) | (uint64_t)load32le(p + n - 4) << (8 * (n - 4));
	return p[0] | (uint64_t)p[n >> 1] << (8 * (n >> 1)) | (uint64_t)p[n - 1] << (8 * (n - 1));
}

/* Two words side by side in a vector, for the one vector test. */
static inline json_v16 json_v16_words(uint64_t lo, uint64_t hi)
{
	uint64_t w[2] = { lo, hi };
	json_v16 x;

	memcpy(&x, w, sizeof(x));
	return x;
}

static inline uint8_t *json_escape_byte(uint8_t *o, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";

	*o++ = '\\';
	if (json_escape[c] != 'u') {
		*o++ = (uint8_t)json_escape[c];
		return o;
	}
	o[0] = 'u';
	o[1] = '0';
	o[2] = '0';
	o[3] = (uint8_t)hex[c >> 4];
	o[4] = (uint8_t)hex[c & 15];
	return o + 5;
}

/* p[0..n) escaped at o, which has room for the worst case and JSON_SLACK;
 * returns the end of what it wrote. A clean string (the usual one) is
 * tested and copied by the same loads, every test ORing the lanes of two
 * loads: 32 bytes a round while more than 32 are left; then 16 to 32 as
 * two overlapping blocks, 8 to 15 as two overlapping words, fewer as one
 * word built from the string's own bytes and stored whole (the slack).
 * A test that finds a byte to escape hands its bytes to the byte loop,
 * which copies up to that byte, escapes it and goes back to the tests. */
static inline __attribute__((always_inline)) uint8_t *json_body(uint8_t *o, const uint8_t *p,
								  size_t n)
{
	size_t lim;

	while (n) {
		if (n > 32) {
			json_v16 a = json_v16_load(p), z = json_v16_load(p + 16);

			if (!json_v16_any(json_v16_mask(a) | json_v16_mask(z))) {
				memcpy(o, &a, sizeof(a));
				memcpy(o + 16, &z, sizeof(z));
				o += 32;
				p += 32;
				n -= 32;
				continue;
			}
		} else if (n >= 16) {
			json_v16 a = json_v16_load(p), z = json_v16_load(p + n - 16);

			if (!json_v16_any(json_v16_mask(a) | json_v16_mask(z))) {
				memcpy(o, &a, sizeof(a));
				memcpy(o + n - 16, &z, sizeof(z));
				return o + n;
			}
		} else if (n >= 8) {
			uint64_t lo = load64le(p), hi = load64le(p + n - 8);

			if (!json_v16_any(json_v16_mask(json_v16_words(lo, hi)))) {
				store64le(o, lo);
				store64le(o + n - 8, hi);
				return o + n;
			}
		} else {
			/* only the low n lanes: the zeros above are not the string's */
			uint64_t w = load_short(p, n), mask = (UINT64_C(1) << (8 * n)) - 1;
			uint64_t half[2];

			json_v16_halves(json_v16_mask(json_v16_words(w, 0)), half);
			if (!(half[0] & mask)) {
				store64le(o, w);
				return o + n;
			}
		}
		/* A byte to escape among the next 32 (or the rest). */
		for (lim = n < 32 ? n : 32; lim && !json_escape[*p]; lim--, n--)
			*o++ = *p++;
		if (lim) {
			o = json_escape_byte(o, *p);
			p++;
			n--;
		}
	}
	return o;
}

/* s[0..n) quoted and escaped at o; see json_body. */
static inline __attribute__((always_inline)) uint8_t *json_put(uint8_t *o, const char *s,
								 size_t n)
{
	*o++ = '"';
	o = json_body(o, (const uint8_t *)s, n);
	*o++ = '"';
	return o;
}

/* A string field on its own: its length, its room, its bytes. */
static bool json_string(struct bytebuf *b, const char *s)
{
	size_t n;

	if (!s)
		s = "";
	n = strlen(s);
	if (n > JSON_STR_MAX || !bytebuf_reserve(b, JSON_ROOM(n)))
		return false;
	b->len = (size_t)(json_put(b->data + b->len, s, n) - b->data);
	return true;
}

/* What a transfer carried, on its result event (event.h,
 * im_file_content); nothing on every other event. */
static bool json_file_result(struct bytebuf *b, const struct im_event *ev)
{
	const struct im_file_content *f = &ev->file;
	bool ok;

	if (f->state == IM_FILE_OFFERED)
		return true;
	ok = LIT(b, ",\"file_state\":") && json_string(b, event_file_state_name(f->state)) &&
	     LIT(b, ",\"file_bytes\":") && put_u64(b, f->bytes) && LIT(b, ",\"data_flow\":") &&
	     put_u64(b, f->data_flow);
	if (ok && f->gap_bytes)
		ok = LIT(b, ",\"file_gap_bytes\":") && put_u64(b, f->gap_bytes);
	if (ok && f->has_sha256)
		ok = LIT(b, ",\"file_sha256\":") && json_string(b, f->sha256);
	if (ok && f->mime)
		ok = LIT(b, ",\"file_mime\":") && json_string(b, f->mime);
	if (ok && f->stored)
		ok = LIT(b, ",\"file_stored\":") && json_string(b, f->stored);
	if (ok && f->scan != IM_SCAN_NONE)
		ok = LIT(b, ",\"file_scan\":") && json_string(b, event_scan_name(f->scan));
	if (ok && f->signature)
		ok = LIT(b, ",\"file_signature\":") && json_string(b, f->signature);
	/* its categories (malware, unscanned) are the archive's field */
	return ok;
}

/* A literal at o, which has room for it: a copy of a constant length,
 * a few moves. */
static inline __attribute__((always_inline)) uint8_t *raw_lit(uint8_t *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

#define RAW(o, s) raw_lit((o), (s), sizeof(s) - 1)

/* A key with its punctuation, padded to one block that is copied whole
 * (the room counts the block) and then counted by its length: keys of
 * any length cost the same two moves. */
#define JSON_KEY_BLOCK 32
struct json_key {
	char s[JSON_KEY_BLOCK];
	size_t n;
};

#define JSON_KEY(lit) { lit, sizeof(lit) - 1 }

/* One string field of a line: its key, its text and length. */
struct json_field {
	const struct json_key *key;
	const char *s;
	size_t n;
};

/* A line's string fields, measured once (strlen) as they are added, and
 * the room they take; see json_fields. */
struct json_fields {
	struct json_field f[JSON_FIELDS_MAX];
	size_t count;
	size_t lens; /* every length ORed: above JSON_STR_MAX if one is */
	size_t room;
};

/* Empty; the array is left as it is (filled as fields are added): a line
 * is formatted for every event, and zeroing it cost more than the rest. */
static inline void json_fields_init(struct json_fields *fs)
{
	fs->count = 0;
	fs->lens = 0;
	fs->room = 0;
}

static inline __attribute__((always_inline)) void json_add(struct json_fields *fs,
							   const struct json_key *key,
							   const char *s)
{
	struct json_field *f = &fs->f[fs->count++];

	f->key = key;
	f->s = s;
	f->n = strlen(s);
	fs->lens |= f->n;
	fs->room += JSON_KEY_BLOCK + JSON_ROOM(f->n);
}

/* Room for the fields and `extra` bytes more, reserved once; false on
 * allocation failure or a string too long (JSON_STR_MAX). */
static bool json_fields_reserve(struct bytebuf *b, const struct json_fields *fs, size_t extra)
{
	/* count <= JSON_FIELDS_MAX and every length <= JSON_STR_MAX: the sum
	 * cannot overflow */
	return fs->lens <= JSON_STR_MAX && bytebuf_reserve(b, fs->room + extra);
}

/* The fields at o, key and quoted string each, in the one loop that the
 * escaping is inlined into. */
static uint8_t *json_fields_put(uint8_t *o, const struct json_fields *fs)
{
	const struct json_field *f;

	for (f = fs->f; f < fs->f + fs->count; f++) {
		memcpy(o, f->key->s, JSON_KEY_BLOCK);
		o = json_put(o + f->key->n, f->s, f->n);
	}
	return o;
}

static const struct json_key k_proto = JSON_KEY(",\"proto\":"),
			     k_dir_out = JSON_KEY(",\"dir\":\"out\",\"kind\":"),
			     k_dir_in = JSON_KEY(",\"dir\":\"in\",\"kind\":"),
			     k_local = JSON_KEY(",\"local\":"), k_remote = JSON_KEY(",\"remote\":"),
			     k_group_true = JSON_KEY(",\"group\":true,\"client\":"),
			     k_group_false = JSON_KEY(",\"group\":false,\"client\":"),
			     k_content_type = JSON_KEY(",\"content_type\":"),
			     k_text = JSON_KEY(",\"text\":");

#define K_FILTERED_TRUE ",\"filtered\":true,\"flow\":"
#define K_FILTERED_FALSE ",\"filtered\":false,\"flow\":"

/* The fields every event has, from proto to flow: the strings measured
 * once, the worst case of the whole reserved once, then every byte
 * written straight into the buffer. */
static bool json_head(struct bytebuf *b, const struct im_event *ev)
{
	struct json_fields fs;
	uint8_t *o;

	json_fields_init(&fs);
	json_add(&fs, &k_proto, event_proto_name(ev->proto));
	json_add(&fs, ev->dir == IM_DIR_OUT ? &k_dir_out : &k_dir_in, event_kind_name(ev->kind));
	json_add(&fs, &k_local, ev->local ? ev->local : "");
	json_add(&fs, &k_remote, ev->remote ? ev->remote : "");
	json_add(&fs, ev->group ? &k_group_true : &k_group_false, ev->client ? ev->client : "");
	json_add(&fs, &k_content_type, ev->content_type ? ev->content_type : "");
	json_add(&fs, &k_text, ev->text ? ev->text : "");
	if (!json_fields_reserve(b, &fs, sizeof(K_FILTERED_FALSE) + NUMFMT_U64_MAX))
		return false;
	o = json_fields_put(b->data + b->len, &fs);
	o = ev->filtered ? RAW(o, K_FILTERED_TRUE) : RAW(o, K_FILTERED_FALSE);
	o += numfmt_u64((char *)o, ev->flow_id);
	b->len = (size_t)(o - b->data);
	return true;
}

static const struct json_key k_sensor = JSON_KEY(",\"sensor\":"),
			     k_server = JSON_KEY(",\"server\":"),
			     k_session = JSON_KEY(",\"session\":"),
			     k_community_id = JSON_KEY(",\"community_id\":"),
			     k_action = JSON_KEY(",\"action\":"), k_rule = JSON_KEY(",\"rule\":"),
			     k_categories = JSON_KEY(",\"categories\":"),
			     k_delivered_text = JSON_KEY(",\"delivered_text\":");

#define K_EVENTID ",\"eventid\":"
#define K_PREV_HASH ",\"prev_hash\":\""
#define K_HASH "\",\"hash\":\""
/* eventid, the chain's hashes (each with numfmt_hex's NUL), the '}' */
#define TAIL_FIXED                                                                         \
	(sizeof(K_EVENTID) + NUMFMT_U64_MAX + sizeof(K_PREV_HASH) + sizeof(K_HASH) +       \
	 2 * (2 * sizeof(((struct im_event *)0)->hash) + 1) + 2)

static inline __attribute__((always_inline)) void json_add_opt(struct json_fields *fs,
							       const struct json_key *key,
							       const char *s)
{
	if (s)
		json_add(fs, key, s);
}

/* The archive's fields (README, "The archive"), after every older one and
 * only when set, so plain logging keeps its lines; eventid, sensor and the
 * chain come from the writer, for the stores. Then the closing brace: one
 * reservation for all of it, as for the head. */
static bool json_tail(struct bytebuf *b, const struct im_event *ev)
{
	struct json_fields fs;
	uint8_t *o;

	json_fields_init(&fs);
	json_add_opt(&fs, &k_sensor, ev->sensor);
	json_add_opt(&fs, &k_server, ev->server);
	json_add_opt(&fs, &k_session, ev->session);
	json_add_opt(&fs, &k_community_id, ev->community_id);
	json_add_opt(&fs, &k_action, ev->action);
	json_add_opt(&fs, &k_rule, ev->rule);
	json_add_opt(&fs, &k_categories, ev->categories);
	json_add_opt(&fs, &k_delivered_text, ev->delivered_text);
	if (!json_fields_reserve(b, &fs, TAIL_FIXED))
		return false;
	o = b->data + b->len;
	if (ev->eventid) {
		o = RAW(o, K_EVENTID);
		o += numfmt_u64((char *)o, ev->eventid);
	}
	o = json_fields_put(o, &fs);
	if (ev->chained) {
		o = RAW(o, K_PREV_HASH);
		o += numfmt_hex((char *)o, ev->prev_hash, sizeof(ev->prev_hash));
		o = RAW(o, K_HASH);
		o += numfmt_hex((char *)o, ev->hash, sizeof(ev->hash));
		*o++ = '"';
	}
	*o++ = '}';
	b->len = (size_t)(o - b->data);
	return true;
}

bool sink_format_json(struct bytebuf *b, const struct im_event *ev)
{
	bool ok = put_seconds(b, "{\"ts\":", 6, ev->ts) && json_head(b, ev);

	if (ok && ev->kind == IM_KIND_FILE && ev->file_name)
		ok = LIT(b, ",\"file_name\":") && json_string(b, ev->file_name);
	if (ok && ev->kind == IM_KIND_FILE && ev->has_file_size)
		ok = LIT(b, ",\"file_size\":") && put_u64(b, ev->file_size);
	if (ok && ev->kind == IM_KIND_FILE)
		ok = json_file_result(b, ev);
	if (ok && ev->auto_response)
		ok = LIT(b, ",\"auto_response\":true");
	/* Only where a protocol has them, so other lines stay as they were. */
	if (ok && ev->remote_name)
		ok = LIT(b, ",\"remote_name\":") && json_string(b, ev->remote_name);
	if (ok && ev->has_sent_ts)
		ok = put_seconds(b, ",\"sent\":", 8, ev->sent_ts);
	if (ok && ev->ids_inferred)
		ok = LIT(b, ",\"ids_inferred\":true");
	/* Only routed events carry these, so the lines of plain logging stay
	 * as they always were. */
	if (ok && ev->route)
		ok = LIT(b, ",\"route\":") && json_string(b, ev->route);
	if (ok && ev->route_to)
		ok = LIT(b, ",\"route_to\":") && json_string(b, ev->route_to);
	return ok && json_tail(b, ev);
}

bool sink_format_imspector_line(struct bytebuf *b, const struct im_event *ev)
{
	enum imspector_type type = event_imspector_type(ev->kind);
	const char *p;
	char fixed[6] = { ',', '0', ',', '0', ',', 0 };
	size_t run;
	bool ok;

	fixed[1] = ev->dir == IM_DIR_OUT ? '1' : '0';
	fixed[3] = (char)('0' + (int)type);
	fixed[5] = ev->filtered ? '1' : '0';
	ok = bytebuf_append_str(b, ev->client ? ev->client : "") && bytebuf_append_byte(b, ',') &&
	     put_i64(b, (int64_t)ev->ts) && bytebuf_append(b, fixed, sizeof(fixed)) &&
	     bytebuf_append_byte(b, ',');
	/* IMSpector leaves the data empty for typing and webcam events. */
	if (type == IMSPECTOR_TYPE_TYPING || type == IMSPECTOR_TYPE_WEBCAM)
		return ok;
	for (p = ev->text ? ev->text : ""; ok && *p; p += run) {
		run = strcspn(p, "\r\n");
		if (run) {
			ok = bytebuf_append(b, p, run);
			continue;
		}
		ok = *p == '\n' ? LIT(b, "\\n") : LIT(b, "\\r");
		run = 1;
	}
	return ok;
}

/* A path element from an id: never empty, never "." or "..", no '/'. */
static bool append_component(struct bytebuf *b, const char *id)
{
	size_t run;
	bool ok = true;

	if (!id || !*id)
		return LIT(b, "unknown");
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		ok = bytebuf_append_byte(b, '_');
	for (; ok && *id; id += run) {
		run = strcspn(id, "/");
		if (run) {
			ok = bytebuf_append(b, id, run);
			continue;
		}
		ok = bytebuf_append_byte(b, '_');
		run = 1;
	}
	return ok;
}

bool sink_format_imspector_path(struct bytebuf *b, const struct im_event *ev,
				struct sink_date_cache *dc)
{
	time_t t = (time_t)ev->ts;

	/* localtime_r once a minute of traffic, not once an event: the date
	 * cannot change within a minute (no zone moves its offset by less). */
	if (!dc->valid || t < dc->minute_start || t >= dc->minute_start + 60) {
		struct tm tm;

		if (!localtime_r(&t, &tm))
			return false;
		dc->minute_start = t - tm.tm_sec;
		dc->year = tm.tm_year + 1900;
		dc->month = tm.tm_mon + 1;
		dc->day = tm.tm_mday;
		dc->valid = true;
	}
	if (!bytebuf_append_str(b, event_proto_imspector_name(ev->proto)) ||
	    !bytebuf_append_byte(b, '/') || !append_component(b, ev->local) ||
	    !bytebuf_append_byte(b, '/') || !append_component(b, ev->remote) ||
	    !bytebuf_append_byte(b, '/'))
		return false;
	if (dc->year < 0 || dc->year > 9999) /* as "%04d" would print it */
		return bytebuf_printf(b, "%04d-%02d-%02d", dc->year, dc->month, dc->day);
	return put_pad(b, (uint64_t)dc->year, 4) && bytebuf_append_byte(b, '-') &&
	       put_pad(b, (uint64_t)dc->month, 2) && bytebuf_append_byte(b, '-') &&
	       put_pad(b, (uint64_t)dc->day, 2);
}
