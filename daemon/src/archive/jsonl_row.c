/* A JSON lines archive's line as a chain row (jsonl_row.h). */
#include "archive/jsonl_row.h"

#include <stdlib.h>
#include <string.h>

#include "event/event.h"


enum jfield {
	J_TS, J_PROTO, J_DIR, J_KIND, J_LOCAL, J_REMOTE, J_CLIENT, J_CONTENT_TYPE, J_TEXT,
	J_FILTERED, J_ROUTE_TO, J_EVENTID, J_SENSOR, J_SERVER, J_SESSION, J_COMMUNITY_ID,
	J_ACTION, J_RULE, J_CATEGORIES, J_DELIVERED_TEXT, J_PREV_HASH, J_HASH, J_COUNT
};

_Static_assert(J_COUNT == JSONL_ROW_FIELDS, "jsonl_row.h's field count");

static const char *const jnames[J_COUNT] = {
	"ts", "proto", "dir", "kind", "local", "remote", "client", "content_type", "text",
	"filtered", "route_to", "eventid", "sensor", "server", "session", "community_id",
	"action", "rule", "categories", "delivered_text", "prev_hash", "hash",
};


static void put_utf8(struct bytebuf *b, unsigned long c, bool *ok)
{
	uint8_t u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = (uint8_t)c, n = 1;
	} else if (c < 0x800) {
		u[0] = (uint8_t)(0xC0 | c >> 6), u[1] = (uint8_t)(0x80 | (c & 0x3F)), n = 2;
	} else if (c < 0x10000) {
		u[0] = (uint8_t)(0xE0 | c >> 12), u[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
		u[2] = (uint8_t)(0x80 | (c & 0x3F)), n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | c >> 18), u[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
		u[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F)), u[3] = (uint8_t)(0x80 | (c & 0x3F));
		n = 4;
	}
	*ok = *ok && bytebuf_append(b, u, n);
}

static bool hex4(const char *p, unsigned long *out)
{
	char h[5];
	char *end;

	memcpy(h, p, 4);
	h[4] = '\0';
	*out = strtoul(h, &end, 16);
	return end == h + 4;
}

/* A JSON string at *p (after its quote) into b, NUL-terminated. */
static bool jstring(const char **pp, struct bytebuf *b)
{
	const char *p = *pp;
	unsigned long c, lo;
	bool ok = true;

	while (ok && *p && *p != '"') {
		if (*p != '\\') {
			ok = bytebuf_append_byte(b, (uint8_t)*p++);
			continue;
		}
		p++;
		switch (*p) {
		case 'n': ok = bytebuf_append_byte(b, '\n'); break;
		case 'r': ok = bytebuf_append_byte(b, '\r'); break;
		case 't': ok = bytebuf_append_byte(b, '\t'); break;
		case 'b': ok = bytebuf_append_byte(b, '\b'); break;
		case 'f': ok = bytebuf_append_byte(b, '\f'); break;
		case '/': case '\\': case '"': ok = bytebuf_append_byte(b, (uint8_t)*p); break;
		case 'u':
			if (strlen(p) < 5 || !hex4(p + 1, &c))
				return false;
			p += 4;
			if (c >= 0xD800 && c < 0xDC00 && p[1] == '\\' && p[2] == 'u' &&
			    strlen(p) >= 7 && hex4(p + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			}
			put_utf8(b, c, &ok);
			break;
		default:
			return false;
		}
		p++;
	}
	if (*p != '"')
		return false;
	*pp = p + 1;
	return ok && bytebuf_append_byte(b, '\0');
}

static int field_index(const char *name)
{
	int i;

	for (i = 0; i < J_COUNT; i++)
		if (strcmp(jnames[i], name) == 0)
			return i;
	return -1;
}

/* A flat JSON object; values kept as text (numbers and booleans as they
 * are written). */
static bool jparse(const char *p, struct jsonl_row *j)
{
	struct bytebuf key;
	size_t start;
	int idx;

	bytebuf_clear(&j->buf);
	memset(j->set, 0, sizeof(j->set));
	if (*p++ != '{')
		return false;
	bytebuf_init(&key);
	while (*p == '"') {
		bytebuf_clear(&key);
		p++;
		if (!jstring(&p, &key) || *p++ != ':')
			goto bad;
		idx = field_index((const char *)key.data);
		start = j->buf.len;
		if (*p == '"') {
			p++;
			if (!jstring(&p, &j->buf))
				goto bad;
		} else {
			size_t n = strcspn(p, ",}");

			if (!n || !bytebuf_append(&j->buf, p, n) || !bytebuf_append_byte(&j->buf, '\0'))
				goto bad;
			p += n;
		}
		if (idx >= 0) {
			j->off[idx] = start;
			j->set[idx] = true;
		}
		if (*p == ',')
			p++;
	}
	bytebuf_free(&key);
	return *p == '}';
bad:
	bytebuf_free(&key);
	return false;
}

static const char *jget(const struct jsonl_row *j, enum jfield f)
{
	return j->set[f] ? (const char *)j->buf.data + j->off[f] : NULL;
}

/* "1454964796.158820" as microseconds, from its digits. */
static int64_t ts_us_of(const char *s)
{
	int64_t sec = 0, frac = 0;
	int digits = 0;
	bool neg = *s == '-';

	if (neg)
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		sec = sec * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && digits < 6; s++, digits++)
			frac = frac * 10 + (*s - '0');
	for (; digits < 6; digits++)
		frac *= 10;
	return neg ? -(sec * 1000000 + frac) : sec * 1000000 + frac;
}

static bool row_of(struct verify_row *r, const struct jsonl_row *j)
{
	const char *v, *kind = jget(j, J_KIND);
	enum imw_proto proto;

	memset(r, 0, sizeof(*r));
	if (!(v = jget(j, J_EVENTID)))
		return false;
	r->f.eventid = strtoull(v, NULL, 10);
	r->f.ts_us = (v = jget(j, J_TS)) ? ts_us_of(v) : 0;
	r->f.outgoing = (v = jget(j, J_DIR)) && strcmp(v, "out") == 0;
	r->f.filtered = (v = jget(j, J_FILTERED)) && strcmp(v, "true") == 0;
	r->f.sensor = jget(j, J_SENSOR);
	proto = (v = jget(j, J_PROTO)) ? event_proto_from_name(v) : IMW_PROTO_NONE;
	r->f.protocol = proto == IMW_PROTO_NONE ? "" : event_proto_imspector_name(proto);
	r->f.kind = kind;
	r->f.local = jget(j, J_LOCAL);
	r->f.remote = jget(j, J_REMOTE);
	r->f.client = jget(j, J_CLIENT);
	r->f.server = jget(j, J_SERVER);
	r->f.session = jget(j, J_SESSION);
	r->f.community_id = jget(j, J_COMMUNITY_ID);
	r->f.action = jget(j, J_ACTION);
	r->f.rule = jget(j, J_RULE);
	r->f.categories = jget(j, J_CATEGORIES);
	r->f.text = kind && (strcmp(kind, "typing") == 0 || strcmp(kind, "webcam") == 0)
			    ? ""
			    : jget(j, J_TEXT);
	r->f.delivered_text = jget(j, J_DELIVERED_TEXT);
	r->f.route_to = jget(j, J_ROUTE_TO);
	r->f.content_type = jget(j, J_CONTENT_TYPE);
	r->has_hash = jget(j, J_PREV_HASH) && jget(j, J_HASH) &&
		      chain_unhex(jget(j, J_PREV_HASH), r->prev) &&
		      chain_unhex(jget(j, J_HASH), r->hash);
	return true;
}

void jsonl_row_init(struct jsonl_row *j)
{
	memset(j, 0, sizeof(*j));
	bytebuf_init(&j->buf);
}

void jsonl_row_free(struct jsonl_row *j)
{
	bytebuf_free(&j->buf);
}

bool jsonl_row_parse(struct jsonl_row *j, const char *line, struct verify_row *r)
{
	if (jparse(line, j) && row_of(r, j))
		return true;
	memset(r, 0, sizeof(*r));
	return false;
}
