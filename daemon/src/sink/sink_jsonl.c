#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/sink.h"
#include "util/bytebuf.h"

struct jsonl_ctx {
	FILE *out;
	bool owned;
	bool flush_each;
	struct bytebuf line;
};

static bool json_needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7F || c == '"' || c == '\\';
}

static bool json_string(struct bytebuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : ""), *run;
	bool ok = bytebuf_append_byte(b, '"');

	while (ok && *p) {
		/* Copy the stretch that needs no escaping at once. */
		for (run = p; *run && !json_needs_escape(*run); run++)
			;
		if (run > p) {
			ok = bytebuf_append(b, p, (size_t)(run - p));
			p = run;
			continue;
		}
		switch (*p) {
		case '"':
			ok = bytebuf_append_str(b, "\\\"");
			break;
		case '\\':
			ok = bytebuf_append_str(b, "\\\\");
			break;
		case '\n':
			ok = bytebuf_append_str(b, "\\n");
			break;
		case '\r':
			ok = bytebuf_append_str(b, "\\r");
			break;
		case '\t':
			ok = bytebuf_append_str(b, "\\t");
			break;
		default:
			ok = bytebuf_printf(b, "\\u%04x", *p);
		}
		p++;
	}
	return ok && bytebuf_append_byte(b, '"');
}

/* What a transfer carried, on its result event (events.h,
 * im_file_content); nothing on every other event. */
static bool json_file_result(struct bytebuf *b, const struct im_event *ev)
{
	const struct im_file_content *f = &ev->file;
	char cats[64];
	bool ok;

	if (f->state == IM_FILE_OFFERED)
		return true;
	ok = bytebuf_printf(b, ",\"file_state\":\"%s\",\"file_bytes\":%llu,\"data_flow\":%llu",
			    event_file_state_name(f->state), (unsigned long long)f->bytes,
			    (unsigned long long)f->data_flow);
	if (ok && f->gap_bytes)
		ok = bytebuf_printf(b, ",\"file_gap_bytes\":%llu", (unsigned long long)f->gap_bytes);
	if (ok && f->has_sha256)
		ok = bytebuf_printf(b, ",\"file_sha256\":\"%s\"", f->sha256);
	if (ok && f->mime)
		ok = bytebuf_append_str(b, ",\"file_mime\":") && json_string(b, f->mime);
	if (ok && f->stored)
		ok = bytebuf_append_str(b, ",\"file_stored\":") && json_string(b, f->stored);
	if (ok && f->scan != IM_SCAN_NONE)
		ok = bytebuf_printf(b, ",\"file_scan\":\"%s\"", event_scan_name(f->scan));
	if (ok && f->signature)
		ok = bytebuf_append_str(b, ",\"file_signature\":") && json_string(b, f->signature);
	if (ok && ev->categories) {
		/* "malware,unscanned" as ["malware","unscanned"] */
		char *p = (char *)event_category_names(ev->categories, cats, sizeof(cats)), *comma;

		ok = bytebuf_append_str(b, ",\"categories\":[");
		for (; ok && p; p = comma ? comma + 1 : NULL) {
			comma = strchr(p, ',');
			if (comma)
				*comma = '\0';
			ok = json_string(b, p) && (!comma || bytebuf_append_byte(b, ','));
		}
		ok = ok && bytebuf_append_byte(b, ']');
	}
	return ok;
}

bool sink_format_json(struct bytebuf *b, const struct im_event *ev)
{
	bool ok = bytebuf_printf(b, "{\"ts\":%.6f,\"proto\":", ev->ts) &&
		  json_string(b, event_proto_name(ev->proto)) &&
		  bytebuf_printf(b, ",\"dir\":\"%s\",\"kind\":", ev->dir == IM_DIR_OUT ? "out" : "in") &&
		  json_string(b, event_kind_name(ev->kind)) && bytebuf_append_str(b, ",\"local\":") &&
		  json_string(b, ev->local) && bytebuf_append_str(b, ",\"remote\":") &&
		  json_string(b, ev->remote) &&
		  bytebuf_printf(b, ",\"group\":%s,\"client\":", ev->group ? "true" : "false") &&
		  json_string(b, ev->client) && bytebuf_append_str(b, ",\"content_type\":") &&
		  json_string(b, ev->content_type) && bytebuf_append_str(b, ",\"text\":") &&
		  json_string(b, ev->text) &&
		  bytebuf_printf(b, ",\"filtered\":%s,\"flow\":%llu", ev->filtered ? "true" : "false",
				 (unsigned long long)ev->flow_id);

	if (ok && ev->kind == IM_KIND_FILE && ev->file_name)
		ok = bytebuf_append_str(b, ",\"file_name\":") && json_string(b, ev->file_name);
	if (ok && ev->kind == IM_KIND_FILE && ev->has_file_size)
		ok = bytebuf_printf(b, ",\"file_size\":%llu", (unsigned long long)ev->file_size);
	if (ok && ev->kind == IM_KIND_FILE)
		ok = json_file_result(b, ev);
	if (ok && ev->auto_response)
		ok = bytebuf_append_str(b, ",\"auto_response\":true");
	/* Only where a protocol has them, so other lines stay as they were. */
	if (ok && ev->remote_name)
		ok = bytebuf_append_str(b, ",\"remote_name\":") && json_string(b, ev->remote_name);
	if (ok && ev->has_sent_ts)
		ok = bytebuf_printf(b, ",\"sent\":%.6f", ev->sent_ts);
	if (ok && ev->ids_inferred)
		ok = bytebuf_append_str(b, ",\"ids_inferred\":true");
	/* Only routed events carry these, so the lines of plain logging stay
	 * as they always were. */
	if (ok && ev->route)
		ok = bytebuf_append_str(b, ",\"route\":") && json_string(b, ev->route);
	if (ok && ev->route_to)
		ok = bytebuf_append_str(b, ",\"route_to\":") && json_string(b, ev->route_to);
	return ok && bytebuf_append_byte(b, '}');
}

static int jsonl_write(struct sink *s, const struct im_event *ev)
{
	struct jsonl_ctx *c = s->ctx;

	bytebuf_clear(&c->line);
	if (!sink_format_json(&c->line, ev) || !bytebuf_append_byte(&c->line, '\n'))
		return -1;
	if (fwrite(c->line.data, 1, c->line.len, c->out) != c->line.len)
		return -1;
	if (c->flush_each && fflush(c->out) != 0)
		return -1;
	return 0;
}

static int jsonl_flush(struct sink *s)
{
	struct jsonl_ctx *c = s->ctx;

	return fflush(c->out) == 0 ? 0 : -1;
}

static void jsonl_close(struct sink *s)
{
	struct jsonl_ctx *c = s->ctx;

	fflush(c->out);
	if (c->owned)
		fclose(c->out);
	bytebuf_free(&c->line);
	free(c);
}

static const struct sink_ops jsonl_ops = {
	.name = "jsonl",
	.write = jsonl_write,
	.flush = jsonl_flush,
	.close = jsonl_close,
};

int sink_jsonl_open_stream(struct sink *s, FILE *out, bool flush_each)
{
	struct jsonl_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->out = out;
	c->flush_each = flush_each;
	bytebuf_init(&c->line);
	memset(s, 0, sizeof(*s));
	s->ops = &jsonl_ops;
	s->ctx = c;
	return 0;
}

int sink_jsonl_open_path(struct sink *s, const char *path, bool flush_each)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return -1;
	if (sink_jsonl_open_stream(s, f, flush_each) < 0) {
		int e = errno;

		fclose(f);
		errno = e;
		return -1;
	}
	((struct jsonl_ctx *)s->ctx)->owned = true;
	return 0;
}

int sink_write(struct sink *s, const struct im_event *ev)
{
	if (s->ops->write(s, ev) < 0) {
		s->failed++;
		return -1;
	}
	s->written++;
	return 0;
}

void sink_close(struct sink *s)
{
	if (s->ops)
		s->ops->close(s);
	s->ops = NULL;
	s->ctx = NULL;
}
