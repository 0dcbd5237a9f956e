#include "review/export.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "review/html.h"

#define QP_LINE 76
#define ENCODED_WORD_BYTES 45 /* input bytes per RFC 2047 word: 60 of base64 */

static const char *const format_names[] = { "csv", "jsonl", "eml", "mbox", "html" };

bool export_format_parse(const char *name, enum export_format *out)
{
	size_t i;

	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum export_format)i;
			return true;
		}
	return false;
}

const char *export_format_name(enum export_format f)
{
	return (unsigned)f < sizeof(format_names) / sizeof(format_names[0]) ? format_names[f] : "?";
}

bool export_by_conversation(enum export_format f)
{
	return f == EXPORT_EML || f == EXPORT_MBOX || f == EXPORT_HTML;
}

/* ---- CSV and JSON lines ---- */

bool export_csv_field(struct bytebuf *b, const char *s)
{
	const char *p;
	bool ok;

	if (!s)
		s = "";
	if (!strpbrk(s, ",\"\r\n"))
		return bytebuf_append_str(b, s);
	ok = bytebuf_append_byte(b, '"');
	for (p = s; ok && *p; p++)
		ok = (*p != '"' || bytebuf_append_byte(b, '"')) && bytebuf_append_byte(b, (uint8_t)*p);
	return ok && bytebuf_append_byte(b, '"');
}

struct opt_col {
	unsigned bit;
	const char *name;
};

static const struct opt_col csv_optional[] = {
	{ REVIEW_COL_SENSOR, "sensor" },	 { REVIEW_COL_ACTION, "action" },
	{ REVIEW_COL_RULE, "rule" },		 { REVIEW_COL_CATEGORIES, "categories" },
	{ REVIEW_COL_DELIVERED, "delivered_text" }, { REVIEW_COL_SESSION, "session" },
};

static const char *opt_value(const struct review_row *r, unsigned bit)
{
	switch (bit) {
	case REVIEW_COL_SENSOR:
		return r->sensor;
	case REVIEW_COL_ACTION:
		return r->action;
	case REVIEW_COL_RULE:
		return r->rule;
	case REVIEW_COL_CATEGORIES:
		return r->categories;
	case REVIEW_COL_DELIVERED:
		return r->delivered_text;
	default:
		return r->session;
	}
}

bool export_csv_header(struct bytebuf *b, unsigned cols)
{
	size_t i;
	bool ok = bytebuf_append_str(
		b, "id,time,protocol,direction,kind,local,remote,group,client,filtered");

	for (i = 0; ok && i < sizeof(csv_optional) / sizeof(csv_optional[0]); i++)
		if (cols & csv_optional[i].bit)
			ok = bytebuf_append_byte(b, ',') && bytebuf_append_str(b, csv_optional[i].name);
	return ok && bytebuf_append_str(b, ",text\r\n");
}

bool export_csv_row(struct bytebuf *b, const struct review_row *r, unsigned cols)
{
	char t[32];
	size_t i;
	bool ok;

	review_format_time(r->ts, t, sizeof(t));
	ok = bytebuf_printf(b, "%lld,%s,", (long long)r->id, t) &&
	     export_csv_field(b, review_proto_display(r->proto)) &&
	     bytebuf_append_str(b, r->outgoing ? ",out," : ",in,") &&
	     export_csv_field(b, review_row_kind(r)) && bytebuf_append_byte(b, ',') &&
	     export_csv_field(b, r->local) && bytebuf_append_byte(b, ',') &&
	     export_csv_field(b, r->remote) &&
	     bytebuf_append_str(b, review_row_is_group(r) ? ",1," : ",0,") &&
	     export_csv_field(b, r->client) && bytebuf_append_str(b, r->filtered ? ",1" : ",0");
	for (i = 0; ok && i < sizeof(csv_optional) / sizeof(csv_optional[0]); i++)
		if (cols & csv_optional[i].bit)
			ok = bytebuf_append_byte(b, ',') &&
			     export_csv_field(b, opt_value(r, csv_optional[i].bit));
	return ok && bytebuf_append_byte(b, ',') && export_csv_field(b, r->text) &&
	       bytebuf_append_str(b, "\r\n");
}

bool export_json_row(struct bytebuf *b, const struct review_row *r)
{
	json_t *o = json_object();
	char t[32], *s;
	size_t i;
	bool ok;

	if (!o)
		return false;
	review_format_time(r->ts, t, sizeof(t));
	ok = json_object_set_new(o, "id", json_integer(r->id)) == 0 &&
	     json_object_set_new(o, "ts", json_integer(r->ts)) == 0 &&
	     json_object_set_new(o, "time", json_string(t)) == 0 &&
	     json_object_set_new(o, "proto", json_string(review_proto_display(r->proto))) == 0 &&
	     json_object_set_new(o, "dir", json_string(r->outgoing ? "out" : "in")) == 0 &&
	     json_object_set_new(o, "kind", json_string(review_row_kind(r))) == 0 &&
	     json_object_set_new(o, "local", json_string(r->local)) == 0 &&
	     json_object_set_new(o, "remote", json_string(r->remote)) == 0 &&
	     json_object_set_new(o, "group", json_boolean(review_row_is_group(r))) == 0 &&
	     json_object_set_new(o, "client", json_string(r->client)) == 0 &&
	     json_object_set_new(o, "filtered", json_boolean(r->filtered)) == 0 &&
	     json_object_set_new(o, "text", json_string(r->text)) == 0;
	for (i = 0; ok && i < sizeof(csv_optional) / sizeof(csv_optional[0]); i++) {
		const char *v = opt_value(r, csv_optional[i].bit);

		if (v)
			ok = json_object_set_new(o, csv_optional[i].name, json_string(v)) == 0;
	}
	s = ok ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	ok = s && bytebuf_append_str(b, s) && bytebuf_append_byte(b, '\n');
	free(s);
	return ok;
}

/* ---- RFC 5322 ---- */

static bool is_plain_header_text(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return strlen(s) < 200 && !strstr(s, "=?");
}

static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	size_t k = n < max ? n : max;

	/* Never split a UTF-8 sequence between two encoded words. */
	while (k < n && k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	return k ? k : (n < max ? n : max);
}

/* RFC 2047 B-encoded words, folded onto continuation lines. */
static bool encoded_words(struct bytebuf *b, const char *s)
{
	size_t n = strlen(s), off = 0;
	char out[sodium_base64_ENCODED_LEN(ENCODED_WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	bool ok = true;

	if (n == 0)
		return true;
	while (ok && off < n) {
		size_t k = utf8_cut(s + off, n - off, ENCODED_WORD_BYTES);

		sodium_bin2base64(out, sizeof(out), (const unsigned char *)s + off, k,
				  sodium_base64_VARIANT_ORIGINAL);
		ok = (off == 0 || bytebuf_append_str(b, "\r\n ")) &&
		     bytebuf_append_str(b, "=?UTF-8?B?") && bytebuf_append_str(b, out) &&
		     bytebuf_append_str(b, "?=");
		off += k;
	}
	return ok;
}

static bool header_text(struct bytebuf *b, const char *name, const char *value)
{
	bool ok = bytebuf_append_str(b, name) && bytebuf_append_str(b, ": ");

	if (is_plain_header_text(value))
		ok = ok && bytebuf_append_str(b, value);
	else
		ok = ok && encoded_words(b, value);
	return ok && bytebuf_append_str(b, "\r\n");
}

static bool atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* An id as a mailbox: display name (quoted or encoded) and an address:
 * the id itself when it is an address already, else a made-up one under
 * PROTO.imwire.invalid (RFC 6761: never delivered). */
static bool mailbox(struct bytebuf *b, const char *proto, const char *id)
{
	const char *at = strchr(id, '@'), *p;
	bool address = at && at != id && at[1] && !strchr(at + 1, '@'), ok = true;
	size_t i;

	for (p = id; address && *p; p++)
		if (*p != '@' && !atext((unsigned char)*p))
			address = false;
	if (address && (id[0] == '.' || at[-1] == '.' || at[1] == '.'))
		address = false;
	if (!*id)
		id = "(unknown)";
	if (is_plain_header_text(id) && !strpbrk(id, "\"\\")) {
		ok = bytebuf_append_byte(b, '"') && bytebuf_append_str(b, id) &&
		     bytebuf_append_byte(b, '"');
	} else {
		ok = encoded_words(b, id);
	}
	ok = ok && bytebuf_append_str(b, " <");
	if (address)
		return ok && bytebuf_append_str(b, id) && bytebuf_append_byte(b, '>');
	for (i = 0, p = id; ok && *p && i < 64; p++, i++)
		ok = bytebuf_append_byte(b, (atext((unsigned char)*p) && *p != '.' && *p != '@') ? (uint8_t)*p
										      : '_');
	return ok && bytebuf_append_byte(b, '@') && bytebuf_append_str(b, proto) &&
	       bytebuf_append_str(b, ".imwire.invalid>");
}

static void rfc5322_date(int64_t ts, char *buf, size_t size)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/* Quoted-printable of one logical line (no line break inside), then CRLF;
 * "From " at a line start is encoded so no mbox reader mistakes it. */
static bool qp_line(struct bytebuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, col = 0;
	bool ok = true;

	for (i = 0; ok && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool last = i + 1 == n;
		bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
		size_t w;

		if (i == 0 && n >= 5 && memcmp(s, "From ", 5) == 0)
			literal = false;
		if (i == 0 && c == '.')
			literal = false;
		w = literal ? 1 : 3;
		if (col + w > QP_LINE - 1) {
			ok = bytebuf_append_str(b, "=\r\n");
			col = 0;
		}
		if (literal) {
			ok = ok && bytebuf_append_byte(b, c);
		} else {
			uint8_t e[3] = { '=', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15] };

			ok = ok && bytebuf_append(b, e, 3);
		}
		col += w;
	}
	return ok && bytebuf_append_str(b, "\r\n");
}

/* Lines of s (split at CR LF, LF or CR) each through qp_line, the first
 * after prefix, the others indented. */
static bool qp_text(struct bytebuf *b, struct bytebuf *tmp, const char *prefix, const char *s)
{
	const char *p = s;
	bool first = true, ok = true;

	do {
		size_t n = strcspn(p, "\r\n");

		bytebuf_clear(tmp);
		ok = bytebuf_append_str(tmp, first ? prefix : "    ") && bytebuf_append(tmp, p, n) &&
		     qp_line(b, (const char *)tmp->data, tmp->len);
		p += n;
		if (*p == '\r' && p[1] == '\n')
			p++;
		if (*p)
			p++;
		first = false;
	} while (ok && *p);
	return ok;
}

static const char *marks(const struct review_row *r, struct bytebuf *m)
{
	bytebuf_clear(m);
	if (r->filtered)
		bytebuf_append_str(m, " [BLOCKED]");
	if (r->action && *r->action && strcmp(r->action, "forwarded") != 0) {
		bytebuf_append_str(m, " [");
		bytebuf_append_str(m, r->action);
		bytebuf_append_str(m, "]");
	}
	if (r->rule && *r->rule) {
		bytebuf_append_str(m, " [rule ");
		bytebuf_append_str(m, r->rule);
		bytebuf_append_str(m, "]");
	}
	if (r->categories && *r->categories) {
		bytebuf_append_str(m, " [categories ");
		bytebuf_append_str(m, r->categories);
		bytebuf_append_str(m, "]");
	}
	if (!bytebuf_terminate(m))
		return "";
	return m->len ? (const char *)m->data : "";
}

/* Who said it, as a reader sees it. */
static void speaker(const struct review_row *r, const char **from, const char **to)
{
	*from = r->outgoing ? r->local : r->remote;
	*to = r->outgoing ? r->remote : r->local;
}

static bool eml_body(struct bytebuf *b, const struct conversation *c, const struct row_list *rows)
{
	struct bytebuf line, tmp, m;
	char t[32];
	size_t i;
	bool ok = true;

	bytebuf_init(&line);
	bytebuf_init(&tmp);
	bytebuf_init(&m);
	for (i = 0; ok && i < c->n_rows; i++) {
		const struct review_row *r = &rows->rows[c->rows[i]];
		const char *from, *to, *kind = review_row_kind(r);

		speaker(r, &from, &to);
		review_format_time(r->ts, t, sizeof(t));
		bytebuf_clear(&line);
		ok = bytebuf_printf(&line, "[%s] %s", t, *from ? from : "(unknown)") &&
		     (c->group || bytebuf_printf(&line, " -> %s", *to ? to : "(unknown)")) &&
		     (strcmp(kind, "message") == 0 || bytebuf_printf(&line, " (%s)", kind)) &&
		     bytebuf_append_str(&line, marks(r, &m)) && bytebuf_append_str(&line, ": ") &&
		     bytebuf_terminate(&line) && qp_text(b, &tmp, (const char *)line.data, r->text);
		if (ok && r->delivered_text && *r->delivered_text &&
		    strcmp(r->delivered_text, r->text) != 0)
			ok = qp_text(b, &tmp, "    delivered as: ", r->delivered_text);
	}
	bytebuf_free(&line);
	bytebuf_free(&tmp);
	bytebuf_free(&m);
	return ok;
}

bool export_eml(struct bytebuf *b, const struct conversation *c, const struct row_list *rows)
{
	char start[40], end[40], date[48];
	struct bytebuf v;
	size_t i;
	bool ok;
	const char *from = c->group ? (c->n_participants ? c->participants[0] : "") : c->local;

	bytebuf_init(&v);
	review_format_time(c->start, start, sizeof(start));
	review_format_time(c->end, end, sizeof(end));
	rfc5322_date(c->start, date, sizeof(date));
	/* From: the first local user; To: the peer or the room; Cc: the rest. */
	ok = bytebuf_append_str(b, "From: ") && mailbox(b, c->proto, from) &&
	     bytebuf_append_str(b, "\r\nTo: ") && mailbox(b, c->proto, c->remote);
	for (i = 0; ok && i < c->n_participants; i++) {
		if (strcmp(c->participants[i], c->remote) == 0 || strcmp(c->participants[i], from) == 0)
			continue;
		ok = bytebuf_append_str(b, v.len ? ",\r\n " : "\r\nCc: ") &&
		     mailbox(b, c->proto, c->participants[i]) && bytebuf_append_byte(&v, 1);
	}
	bytebuf_clear(&v);
	ok = ok && bytebuf_append_str(b, "\r\n") &&
	     bytebuf_printf(&v, "%s %s: %s%s%s, %.10s", c->proto,
			    c->group ? "group chat" : "conversation", c->group ? "" : c->local,
			    c->group ? "" : " / ", c->remote, start) &&
	     bytebuf_terminate(&v) && header_text(b, "Subject", (const char *)v.data) &&
	     bytebuf_printf(b, "Date: %s\r\nMessage-ID: <conversation-%lld@imwire.invalid>\r\n",
			    date, (long long)c->id) &&
	     bytebuf_append_str(b, "MIME-Version: 1.0\r\n"
				   "Content-Type: text/plain; charset=utf-8\r\n"
				   "Content-Transfer-Encoding: quoted-printable\r\n") &&
	     header_text(b, "X-IMwire-Protocol", c->proto) &&
	     bytebuf_printf(b, "X-IMwire-Conversation: %lld\r\n", (long long)c->id);
	bytebuf_clear(&v);
	for (i = 0; ok && i < c->n_participants; i++)
		ok = (i == 0 || bytebuf_append_str(&v, ", ")) &&
		     bytebuf_append_str(&v, c->participants[i]);
	ok = ok && bytebuf_terminate(&v) &&
	     header_text(b, "X-IMwire-Participants", v.data ? (const char *)v.data : "") &&
	     (!c->group || header_text(b, "X-IMwire-Room", c->remote)) &&
	     bytebuf_printf(b,
			    "X-IMwire-Start: %s\r\nX-IMwire-End: %s\r\nX-IMwire-Events: %zu\r\n"
			    "X-IMwire-Policy-Hits: %zu\r\n\r\n",
			    start, end, c->n_rows, c->n_hits) &&
	     eml_body(b, c, rows);
	bytebuf_free(&v);
	return ok;
}

bool export_mbox_entry(struct bytebuf *b, const struct conversation *c,
		       const struct row_list *rows)
{
	struct bytebuf m;
	time_t t = (time_t)c->start;
	struct tm tm;
	char date[40] = "Thu Jan  1 00:00:00 1970";
	size_t i;
	bool ok;

	bytebuf_init(&m);
	if (gmtime_r(&t, &tm))
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	ok = export_eml(&m, c, rows) && bytebuf_printf(b, "From imwire@imwire.invalid %s\n", date);
	/* CRLF to LF; the body is quoted-printable, so no line starts "From ". */
	for (i = 0; ok && i < m.len; i++)
		if (!(m.data[i] == '\r' && i + 1 < m.len && m.data[i + 1] == '\n'))
			ok = bytebuf_append_byte(b, m.data[i]);
	bytebuf_free(&m);
	return ok && bytebuf_append_byte(b, '\n');
}

/* ---- HTML report ---- */

static const char report_style[] =
	"body{font:14px sans-serif;margin:2em;color:#222}"
	"table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
	"vertical-align:top;text-align:left}.hit{background:#fdd}.t{white-space:pre-wrap}"
	"h2{margin-top:2em;font-size:16px}";

bool export_html_report(struct bytebuf *b, const char *title, const struct conversation_set *set,
			const struct row_list *rows)
{
	struct bytebuf m;
	char t[32], t2[32];
	size_t i, j, events = 0;
	bool ok;

	bytebuf_init(&m);
	for (i = 0; i < set->n; i++)
		events += set->conv[i].n_rows;
	ok = bytebuf_append_str(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
				   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
				   "'none'; style-src 'unsafe-inline'\"><title>") &&
	     html_escape(b, title) && bytebuf_append_str(b, "</title><style>") &&
	     bytebuf_append_str(b, report_style) && bytebuf_append_str(b, "</style></head><body><h1>") &&
	     html_escape(b, title) &&
	     bytebuf_printf(b,
			    "</h1><p id=\"summary\">%zu conversations, %zu events.</p>\n"
			    "<table id=\"conversations\"><tr><th>id</th><th>protocol</th><th>start</th>"
			    "<th>end</th><th>participants</th><th>events</th><th>policy hits</th></tr>\n",
			    set->n, events);
	for (i = 0; ok && i < set->n; i++) {
		const struct conversation *c = &set->conv[i];

		review_format_time(c->start, t, sizeof(t));
		review_format_time(c->end, t2, sizeof(t2));
		ok = bytebuf_printf(b, "<tr><td><a href=\"#c%lld\">%lld</a></td><td>", (long long)c->id,
				    (long long)c->id) &&
		     html_escape(b, c->proto) && bytebuf_printf(b, "</td><td>%s</td><td>%s</td><td>", t, t2);
		for (j = 0; ok && j < c->n_participants; j++)
			ok = (j == 0 || bytebuf_append_str(b, ", ")) && html_escape(b, c->participants[j]);
		ok = ok && bytebuf_printf(b, "</td><td>%zu</td><td>%zu</td></tr>\n", c->n_rows, c->n_hits);
	}
	ok = ok && bytebuf_append_str(b, "</table>\n");
	for (i = 0; ok && i < set->n; i++) {
		const struct conversation *c = &set->conv[i];

		ok = bytebuf_printf(b, "<h2 id=\"c%lld\">Conversation %lld: ", (long long)c->id,
				    (long long)c->id) &&
		     html_escape(b, c->proto) && bytebuf_append_str(b, " ") &&
		     (c->group ? bytebuf_append_str(b, "room ") && html_escape(b, c->remote)
			       : html_escape(b, c->local) && bytebuf_append_str(b, " / ") &&
					 html_escape(b, c->remote)) &&
		     bytebuf_append_str(b, "</h2>\n<table class=\"thread\"><tr><th>time</th><th>from</th>"
					   "<th>kind</th><th>text</th></tr>\n");
		for (j = 0; ok && j < c->n_rows; j++) {
			const struct review_row *r = &rows->rows[c->rows[j]];
			const char *from, *to;

			speaker(r, &from, &to);
			review_format_time(r->ts, t, sizeof(t));
			ok = bytebuf_printf(b, "<tr%s><td>%s</td><td>",
					    review_row_is_hit(r) ? " class=\"hit\"" : "", t) &&
			     html_escape(b, from) && bytebuf_append_str(b, "</td><td>") &&
			     html_escape(b, review_row_kind(r)) && html_escape(b, marks(r, &m)) &&
			     bytebuf_append_str(b, "</td><td class=\"t\">") && html_escape(b, r->text) &&
			     bytebuf_append_str(b, "</td></tr>\n");
		}
		ok = ok && bytebuf_append_str(b, "</table>\n");
	}
	bytebuf_free(&m);
	return ok && bytebuf_append_str(b, "</body></html>\n");
}

/* ---- files and the manifest ---- */

void export_sha256_hex(const void *data, size_t n, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, n);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

struct manifest {
	json_t *files;
	size_t n;
};

/* The file's line in the manifest: name, size, SHA-256. */
static int manifest_add(struct manifest *man, const char *name, size_t bytes, const char *hex,
			char *err, size_t err_size)
{
	json_t *entry =
		json_pack("{s:s, s:I, s:s}", "name", name, "bytes", (json_int_t)bytes, "sha256", hex);

	if (!entry || json_array_append_new(man->files, entry) < 0) {
		snprintf(err, err_size, "manifest: out of memory");
		return -1;
	}
	man->n++;
	return 0;
}

static int write_file(const char *dir, const char *name, const struct bytebuf *b,
		      struct manifest *man, char *err, size_t err_size)
{
	char path[4096], hex[65];
	int fd;
	size_t off = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, err_size, "%s/%s: path too long", dir, name);
		return -1;
	}
	/* Never overwrite: an export is evidence, a second one goes elsewhere. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (off < b->len) {
		ssize_t w = write(fd, b->data + off, b->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, err_size, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!man)
		return 0;
	export_sha256_hex(b->data ? b->data : (const uint8_t *)"", b->len, hex);
	return manifest_add(man, name, b->len, hex, err, err_size);
}

struct progress_bar {
	bool on;
	size_t total, done;
	double last;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_step(struct progress_bar *p, size_t n, bool final)
{
	double t, frac;
	int i, fill;

	p->done += n;
	if (!p->on || p->total == 0)
		return;
	t = now_s();
	if (!final && t - p->last < 0.2)
		return;
	p->last = t;
	frac = (double)p->done / (double)p->total;
	fill = (int)(frac * 30);
	fputs("\r[", stderr);
	for (i = 0; i < 30; i++)
		fputc(i < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %3.0f%% %zu/%zu events", frac * 100, p->done, p->total);
	if (final)
		fputs("\r\033[K", stderr);
}

static int flush_chunk(struct bytebuf *b, int fd, const char *path, crypto_hash_sha256_state *h,
		       char *err, size_t err_size)
{
	size_t off = 0;

	crypto_hash_sha256_update(h, b->data, b->len);
	while (off < b->len) {
		ssize_t w = write(fd, b->data + off, b->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, err_size, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
			return -1;
		}
		off += (size_t)w;
	}
	bytebuf_clear(b);
	return 0;
}

/* A one-file export being written: its bytes go through b, flushed to
 * fd past 1 MiB and hashed on the way. */
struct stream_out {
	int fd;
	const char *path;
	crypto_hash_sha256_state h;
	struct bytebuf b;
	size_t total;
	char *err;
	size_t err_size;
};

/* After each append: -1 when it failed (out of memory), else the flush's. */
static int stream_step(struct stream_out *so, bool appended)
{
	if (!appended)
		return -1;
	if (so->b.len <= 1 << 20)
		return 0;
	so->total += so->b.len;
	return flush_chunk(&so->b, so->fd, so->path, &so->h, so->err, so->err_size);
}

/* The optional columns some row has: the CSV header names them. */
static unsigned columns_of_rows(const struct row_list *rows)
{
	unsigned cols = 0;
	size_t i;

	for (i = 0; i < rows->n; i++)
		cols |= (rows->rows[i].sensor ? REVIEW_COL_SENSOR : 0) |
			(rows->rows[i].action ? REVIEW_COL_ACTION : 0) |
			(rows->rows[i].rule ? REVIEW_COL_RULE : 0) |
			(rows->rows[i].categories ? REVIEW_COL_CATEGORIES : 0) |
			(rows->rows[i].delivered_text ? REVIEW_COL_DELIVERED : 0) |
			(rows->rows[i].session ? REVIEW_COL_SESSION : 0);
	return cols;
}

/* The whole export through so, the last bytes flushed; 0 or -1. */
static int stream_export(const struct export_job *job, struct stream_out *so,
			 struct progress_bar *pb)
{
	unsigned cols = columns_of_rows(job->rows);
	size_t i;
	int rc = 0;

	if (job->format == EXPORT_CSV && !export_csv_header(&so->b, cols))
		rc = -1;
	if (job->format == EXPORT_MBOX) {
		for (i = 0; rc == 0 && i < job->convs->n; i++) {
			rc = stream_step(so, export_mbox_entry(&so->b, &job->convs->conv[i], job->rows));
			progress_step(pb, job->convs->conv[i].n_rows, false);
		}
	} else {
		for (i = 0; rc == 0 && i < job->rows->n; i++) {
			const struct review_row *r = &job->rows->rows[i];

			rc = stream_step(so, job->format == EXPORT_CSV ? export_csv_row(&so->b, r, cols)
								       : export_json_row(&so->b, r));
			progress_step(pb, 1, false);
		}
	}
	if (rc == 0) {
		so->total += so->b.len;
		rc = flush_chunk(&so->b, so->fd, so->path, &so->h, so->err, so->err_size);
	} else if (!so->err[0]) {
		snprintf(so->err, so->err_size, "%s: out of memory", so->path);
	}
	return rc;
}

/* A one-file format written as it is made (CSV, JSON lines, mbox), so a
 * large export does not sit in memory twice. */
static int write_stream(const struct export_job *job, const char *name, struct manifest *man,
			struct progress_bar *pb, char *err, size_t err_size)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char path[4096], hex[65];
	struct stream_out so = { .path = path, .err = err, .err_size = err_size };
	int rc;

	snprintf(path, sizeof(path), "%s/%s", job->dir, name);
	so.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (so.fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	crypto_hash_sha256_init(&so.h);
	bytebuf_init(&so.b);
	rc = stream_export(job, &so, pb);
	bytebuf_free(&so.b);
	if (rc == 0 && fsync(so.fd) < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (close(so.fd) < 0 && rc == 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		return -1;
	crypto_hash_sha256_final(&so.h, digest);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	return manifest_add(man, name, so.total, hex, err, err_size);
}

/* The events an export holds: its conversations' for formats read by
 * conversation, else its rows. */
static size_t events_of_job(const struct export_job *job)
{
	size_t i, events = 0;

	if (!export_by_conversation(job->format))
		return job->rows->n;
	for (i = 0; i < job->convs->n; i++)
		events += job->convs->conv[i].n_rows;
	return events;
}

/* One .eml file per conversation. */
static int write_emls(const struct export_job *job, struct manifest *man,
		      struct progress_bar *pb, char *err, size_t err_size)
{
	struct bytebuf b;
	char name[64];
	size_t i;
	int rc = 0;

	bytebuf_init(&b);
	for (i = 0; rc == 0 && i < job->convs->n; i++) {
		bytebuf_clear(&b);
		snprintf(name, sizeof(name), "conversation-%lld.eml", (long long)job->convs->conv[i].id);
		rc = export_eml(&b, &job->convs->conv[i], job->rows)
			     ? write_file(job->dir, name, &b, man, err, err_size)
			     : -1;
		progress_step(pb, job->convs->conv[i].n_rows, false);
	}
	bytebuf_free(&b);
	return rc;
}

static int write_html(const struct export_job *job, struct manifest *man,
		      struct progress_bar *pb, size_t events, char *err, size_t err_size)
{
	struct bytebuf b;
	int rc;

	bytebuf_init(&b);
	rc = export_html_report(&b, "imwire review export", job->convs, job->rows)
		     ? write_file(job->dir, "report.html", &b, man, err, err_size)
		     : -1;
	progress_step(pb, events, false);
	bytebuf_free(&b);
	return rc;
}

/* The export's files in job->dir, each listed in man. */
static int write_files(const struct export_job *job, struct manifest *man,
		       struct progress_bar *pb, size_t events, char *err, size_t err_size)
{
	switch (job->format) {
	case EXPORT_CSV:
		return write_stream(job, "events.csv", man, pb, err, err_size);
	case EXPORT_JSONL:
		return write_stream(job, "events.jsonl", man, pb, err, err_size);
	case EXPORT_MBOX:
		return write_stream(job, "conversations.mbox", man, pb, err, err_size);
	case EXPORT_EML:
		return write_emls(job, man, pb, err, err_size);
	case EXPORT_HTML:
		return write_html(job, man, pb, events, err, err_size);
	}
	return -1;
}

/* The manifest's "integrity": the chain state the archive was verified
 * against when the export was taken (or why it was not). */
static json_t *integrity_json(const struct export_job *job)
{
	const struct verify_result *r = job->chain;
	char hex[CHAIN_HEX_SIZE];

	if (!r)
		return json_pack("{s:b}", "checked", 0);
	if (job->chain_rc < 0)
		return json_pack("{s:b, s:s}", "checked", 0, "error",
				 job->chain_err ? job->chain_err : "");
	if (r->rows == r->unchained)
		return json_pack("{s:b, s:b, s:I}", "checked", 1, "chain", 0, "rows",
				 (json_int_t)r->rows);
	chain_hex(r->last_hash, hex);
	return json_pack("{s:b, s:b, s:b, s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:s?, s:s}",
			 "checked", 1, "chain", 1, "verified", job->chain_rc == 0, "sensor",
			 r->sensor, "rows", (json_int_t)r->rows, "unchained",
			 (json_int_t)r->unchained, "purges", (json_int_t)r->purges, "last_id",
			 (json_int_t)r->last_id, "last_hash", hex, "problems",
			 (json_int_t)r->problems, "first_problem", r->problems ? r->first : NULL,
			 "checkpoints", "not checked here: imwire verify --key FILE.pub "
					"--checkpoints LOG");
}

/* manifest.json: what was exported, from where, the archive's chain state,
 * and every file with its size and SHA-256; its own hash goes to res. */
static int write_manifest(const struct export_job *job, const struct manifest *man,
			  size_t events, struct export_result *res, char *err, size_t err_size)
{
	char created[32];
	struct bytebuf b;
	json_t *root;
	char *text;
	int rc = -1;

	review_format_time((int64_t)time(NULL), created, sizeof(created));
	root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:O}", "tool", "imwire export",
			 "created", created, "archive", job->archive ? job->archive : "",
			 "selection", job->selection ? job->selection : "", "format",
			 export_format_name(job->format), "events", (json_int_t)events,
			 "conversations",
			 (json_int_t)(export_by_conversation(job->format) ? job->convs->n : 0),
			 "files_count", (json_int_t)man->n, "files", man->files);
	if (root && json_object_set_new(root, "integrity", integrity_json(job)) < 0) {
		json_decref(root);
		root = NULL;
	}
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	bytebuf_init(&b);
	if (!text || !bytebuf_append_str(&b, text) || !bytebuf_append_byte(&b, '\n')) {
		snprintf(err, err_size, "manifest: out of memory");
	} else if (write_file(job->dir, "manifest.json", &b, NULL, err, err_size) == 0) {
		export_sha256_hex(b.data, b.len, res->manifest_sha256);
		rc = 0;
	}
	free(text);
	bytebuf_free(&b);
	return rc;
}

int export_write(const struct export_job *job, struct export_result *res, char *err,
		 size_t err_size)
{
	struct manifest man = { json_array(), 0 };
	struct progress_bar pb = { job->progress, 0, 0, 0 };
	size_t events;
	int rc;

	memset(res, 0, sizeof(*res));
	err[0] = '\0';
	if (!man.files || sodium_init() < 0) {
		snprintf(err, err_size, "out of memory");
		json_decref(man.files);
		return -1;
	}
	if (mkdir(job->dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, err_size, "%s: %s", job->dir, strerror(errno));
		json_decref(man.files);
		return -1;
	}
	events = events_of_job(job);
	pb.total = events;
	rc = write_files(job, &man, &pb, events, err, err_size);
	progress_step(&pb, 0, true);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, err_size, "out of memory");
	} else {
		rc = write_manifest(job, &man, events, res, err, err_size);
		res->files = man.n + (rc == 0);
		res->events = events;
		res->conversations = export_by_conversation(job->format) ? job->convs->n : 0;
	}
	json_decref(man.files);
	return rc;
}
