/* How an event is written as text: the JSON object of JSON lines and
 * syslog, and IMSpector's log line and file path. The one place to add a
 * field to the text sinks (the databases' row is db_row_from_event, the
 * write-ahead record sink_record.c).
 *
 * This runs for every event, so no printf family: numbers go through
 * util/numfmt.c, and strings are copied in runs between the bytes that
 * need escaping, found eight bytes at a time. */
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

/* "%.6f"; values numfmt does not take (never a real timestamp) the slow way. */
static bool put_seconds(struct bytebuf *b, double v)
{
	size_t n;

	if (!bytebuf_reserve(b, NUMFMT_FIXED6_MAX))
		return false;
	n = numfmt_fixed6((char *)b->data + b->len, v);
	if (!n)
		return bytebuf_printf(b, "%.6f", v);
	b->len += n;
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

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Any byte of x is zero / below n (n <= 128; bytes >= 0x80 never count). */
static inline uint64_t has_zero(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

static inline uint64_t has_below(uint64_t x, uint8_t n)
{
	return (x - ONES * n) & ~x & HIGHS;
}

/* Sixteen bytes at a time with the compiler's generic vectors (GCC and
 * clang; SSE2 or NEON code, no intrinsics): a lane is all ones where its
 * byte needs escaping. */
typedef uint8_t json_v16 __attribute__((vector_size(16)));

static inline bool json_v16_clean(const uint8_t *p)
{
	json_v16 x, bad;
	uint64_t half[2];

	memcpy(&x, p, sizeof(x));
	bad = (json_v16)((x < 0x20) | (x == '"') | (x == '\\') | (x == 0x7F));
	memcpy(half, &bad, sizeof(half));
	return !(half[0] | half[1]);
}

/* Length of the leading run of p[0..n) that JSON takes unescaped. Blocks
 * of 16, the last block overlapping the one before, then 8, then bytes;
 * a block with a byte to escape is walked byte by byte to find it. */
static size_t json_clean_run(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t x;

	if (n >= 16) {
		for (; i + 16 <= n; i += 16)
			if (!json_v16_clean(p + i))
				goto bytes;
		if (i == n || json_v16_clean(p + n - 16))
			return n;
		goto bytes;
	}
	if (i + 8 <= n) {
		memcpy(&x, p + i, 8);
		if (!(has_below(x, 0x20) | has_zero(x ^ (ONES * '"')) |
		      has_zero(x ^ (ONES * '\\')) | has_zero(x ^ (ONES * 0x7F))))
			i += 8;
	}
bytes:
	while (i < n && !json_escape[p[i]])
		i++;
	return i;
}

static bool json_string(struct bytebuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t n = strlen((const char *)p), run;
	uint8_t *o;

	/* Room for the worst case (every byte \u00XX) and the quotes at once,
	 * so the runs and escapes below go straight into the buffer. */
	if (n > (SIZE_MAX - 2) / 6 || !bytebuf_reserve(b, 6 * n + 2))
		return false;
	o = b->data + b->len;
	*o++ = '"';
	while (n) {
		run = json_clean_run(p, n);
		memcpy(o, p, run);
		o += run;
		p += run;
		n -= run;
		if (!n)
			break;
		*o++ = '\\';
		if (json_escape[*p] == 'u') {
			o[0] = 'u';
			o[1] = '0';
			o[2] = '0';
			o[3] = (uint8_t)hex[*p >> 4];
			o[4] = (uint8_t)hex[*p & 15];
			o += 5;
		} else {
			*o++ = (uint8_t)json_escape[*p];
		}
		p++;
		n--;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
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

static inline __attribute__((always_inline)) bool json_opt(struct bytebuf *b, const char *key_lit,
							    size_t key_len, const char *v)
{
	return !v || (put_lit(b, key_lit, key_len) && json_string(b, v));
}

#define OPT(b, key, v) json_opt((b), ",\"" key "\":", sizeof(",\"" key "\":") - 1, (v))

/* The archive's fields (README, "The archive"), after every older one and
 * only when set, so plain logging keeps its lines; eventid, sensor and the
 * chain come from the writer, for the stores. */
static bool json_archive_fields(struct bytebuf *b, const struct im_event *ev)
{
	char hex[2 * sizeof(ev->hash) + 1];
	bool ok = true;

	if (ev->eventid)
		ok = LIT(b, ",\"eventid\":") && put_u64(b, ev->eventid);
	ok = ok && OPT(b, "sensor", ev->sensor) && OPT(b, "server", ev->server) &&
	     OPT(b, "session", ev->session) && OPT(b, "community_id", ev->community_id) &&
	     OPT(b, "action", ev->action) && OPT(b, "rule", ev->rule) &&
	     OPT(b, "categories", ev->categories) && OPT(b, "delivered_text", ev->delivered_text);
	if (ok && ev->chained) {
		numfmt_hex(hex, ev->prev_hash, sizeof(ev->prev_hash));
		ok = LIT(b, ",\"prev_hash\":\"") && bytebuf_append(b, hex, sizeof(hex) - 1);
		numfmt_hex(hex, ev->hash, sizeof(ev->hash));
		ok = ok && LIT(b, "\",\"hash\":\"") && bytebuf_append(b, hex, sizeof(hex) - 1) &&
		     bytebuf_append_byte(b, '"');
	}
	return ok;
}

bool sink_format_json(struct bytebuf *b, const struct im_event *ev)
{
	bool ok = LIT(b, "{\"ts\":") && put_seconds(b, ev->ts) && LIT(b, ",\"proto\":") &&
		  json_string(b, event_proto_name(ev->proto)) &&
		  (ev->dir == IM_DIR_OUT ? LIT(b, ",\"dir\":\"out\",\"kind\":")
					 : LIT(b, ",\"dir\":\"in\",\"kind\":")) &&
		  json_string(b, event_kind_name(ev->kind)) && LIT(b, ",\"local\":") &&
		  json_string(b, ev->local) && LIT(b, ",\"remote\":") && json_string(b, ev->remote) &&
		  (ev->group ? LIT(b, ",\"group\":true,\"client\":")
			     : LIT(b, ",\"group\":false,\"client\":")) &&
		  json_string(b, ev->client) && LIT(b, ",\"content_type\":") &&
		  json_string(b, ev->content_type) && LIT(b, ",\"text\":") &&
		  json_string(b, ev->text) &&
		  (ev->filtered ? LIT(b, ",\"filtered\":true,\"flow\":")
				: LIT(b, ",\"filtered\":false,\"flow\":")) &&
		  put_u64(b, ev->flow_id);

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
		ok = LIT(b, ",\"sent\":") && put_seconds(b, ev->sent_ts);
	if (ok && ev->ids_inferred)
		ok = LIT(b, ",\"ids_inferred\":true");
	/* Only routed events carry these, so the lines of plain logging stay
	 * as they always were. */
	if (ok && ev->route)
		ok = LIT(b, ",\"route\":") && json_string(b, ev->route);
	if (ok && ev->route_to)
		ok = LIT(b, ",\"route_to\":") && json_string(b, ev->route_to);
	return ok && json_archive_fields(b, ev) && bytebuf_append_byte(b, '}');
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
