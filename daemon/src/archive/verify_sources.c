/* Where imwire verify reads rows from: a JSON lines file, or a database
 * through the sink's own backends (sink/sink_db.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/verify.h"
#include "event/event.h"
#include "sink/sink_db.h"
#include "util/bytebuf.h"

/* ---- JSON lines ---- */

enum jfield {
	J_TS, J_PROTO, J_DIR, J_KIND, J_LOCAL, J_REMOTE, J_CLIENT, J_CONTENT_TYPE, J_TEXT,
	J_FILTERED, J_ROUTE_TO, J_EVENTID, J_SENSOR, J_SERVER, J_SESSION, J_COMMUNITY_ID,
	J_ACTION, J_RULE, J_CATEGORIES, J_DELIVERED_TEXT, J_PREV_HASH, J_HASH, J_COUNT
};

static const char *const jnames[J_COUNT] = {
	"ts", "proto", "dir", "kind", "local", "remote", "client", "content_type", "text",
	"filtered", "route_to", "eventid", "sensor", "server", "session", "community_id",
	"action", "rule", "categories", "delivered_text", "prev_hash", "hash",
};

struct jline {
	struct bytebuf buf; /* the values, NUL-terminated, one after another */
	size_t off[J_COUNT];
	bool set[J_COUNT];
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
static bool jparse(const char *p, struct jline *j)
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

static const char *jget(const struct jline *j, enum jfield f)
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

static bool row_of_jline(struct verify_row *r, const struct jline *j)
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

struct jsonl_src {
	char *path;
};

static int jsonl_each(void *ctx, int (*fn)(void *arg, const struct verify_row *r), void *arg,
		      char *err, size_t err_size)
{
	struct jsonl_src *js = ctx;
	FILE *f = fopen(js->path, "re");
	struct verify_row row;
	struct jline j;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int rc = 0;

	if (!f) {
		snprintf(err, err_size, "%s: %s", js->path, strerror(errno));
		return -1;
	}
	bytebuf_init(&j.buf);
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (!jparse(line, &j) || !row_of_jline(&row, &j)) {
			/* Not an event of a chain: as a row that has no hash and no
			 * id, judged by the verifier like any unchained row. */
			memset(&row, 0, sizeof(row));
		}
		row.line = lineno;
		rc = fn(arg, &row);
	}
	free(line);
	bytebuf_free(&j.buf);
	fclose(f);
	return 0;
}

int verify_source_jsonl(struct verify_source *src, const char *path, char *err, size_t err_size)
{
	struct jsonl_src *js = calloc(1, sizeof(*js));

	memset(src, 0, sizeof(*src));
	if (!js || !(js->path = strdup(path))) {
		free(js);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	src->kind = "jsonl";
	src->each = jsonl_each;
	src->ctx = js;
	return 0;
}

/* ---- databases ---- */

static const char select_rows[] =
	"SELECT eventid, ts_us, outgoing, filtered, sensor, protocolname, kind, localid, remoteid,"
	" clientaddress, server, session, community_id, action, rule, categories, eventdata,"
	" delivered_text, route_to, content_type, prev_hash, hash FROM messages WHERE sensor = ?"
	" ORDER BY eventid";
#define DB_COLUMNS 22

struct db_src {
	struct sink_db db;
	char *sensor; /* NULL: the table's only one, found at the first read */
	unsigned n_sensors;
};

static int take_sensor(void *arg, const char *const *c, size_t n)
{
	struct db_src *d = arg;

	if (n == 1 && d->n_sensors++ == 0)
		d->sensor = strdup(c[0] ? c[0] : "");
	return 0;
}

static int find_sensor(struct db_src *d, char *err, size_t err_size)
{
	if (sink_db_query(&d->db, "SELECT DISTINCT sensor FROM messages WHERE hash IS NOT NULL",
			  NULL, 0, take_sensor, d, NULL) < 0) {
		snprintf(err, err_size, "%s", d->db.err);
		return -1;
	}
	if (d->n_sensors > 1) {
		snprintf(err, err_size, "the table holds the chains of %u sensors: name one (--sensor)",
			 d->n_sensors);
		return -1;
	}
	if (!d->sensor && !(d->sensor = strdup(""))) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	return 0;
}

struct db_each {
	int (*fn)(void *arg, const struct verify_row *r);
	void *arg;
	int rc;
};

static int db_row(void *arg, const char *const *c, size_t n)
{
	struct db_each *e = arg;
	struct verify_row r;

	if (n != DB_COLUMNS)
		return 1;
	memset(&r, 0, sizeof(r));
	r.f.eventid = c[0] ? strtoull(c[0], NULL, 10) : 0;
	r.f.ts_us = c[1] ? strtoll(c[1], NULL, 10) : 0;
	r.f.outgoing = c[2] && strcmp(c[2], "0") != 0;
	r.f.filtered = c[3] && strcmp(c[3], "0") != 0;
	r.f.sensor = c[4];
	r.f.protocol = c[5];
	r.f.kind = c[6];
	r.f.local = c[7];
	r.f.remote = c[8];
	r.f.client = c[9];
	r.f.server = c[10];
	r.f.session = c[11];
	r.f.community_id = c[12];
	r.f.action = c[13];
	r.f.rule = c[14];
	r.f.categories = c[15];
	r.f.text = c[16];
	r.f.delivered_text = c[17];
	r.f.route_to = c[18];
	r.f.content_type = c[19];
	r.has_hash = c[20] && c[21] && chain_unhex(c[20], r.prev) && chain_unhex(c[21], r.hash);
	e->rc = e->fn(e->arg, &r);
	return e->rc;
}

static int db_each_rows(void *ctx, int (*fn)(void *arg, const struct verify_row *r), void *arg,
			char *err, size_t err_size)
{
	struct db_src *d = ctx;
	struct db_each e = { fn, arg, 0 };
	const char *params[1];

	if (!d->sensor && find_sensor(d, err, err_size) < 0)
		return -1;
	params[0] = d->sensor;

	if (sink_db_query(&d->db, select_rows, params, 1, db_row, &e, NULL) < 0) {
		snprintf(err, err_size, "%s", d->db.err);
		return -1;
	}
	return 0;
}

/* "[user[:password]@]host[:port]/database" */
static int mysql_init_spec(struct sink_db *db, const char *spec, const char *sensor)
{
	char *copy = strdup(spec), *at, *slash, *user = NULL, *pass = NULL, *host;
	int rc;

	if (!copy)
		return -1;
	host = copy;
	if ((at = strrchr(copy, '@'))) {
		*at = '\0';
		user = copy;
		host = at + 1;
		if ((pass = strchr(user, ':')))
			*pass++ = '\0';
	}
	slash = strchr(host, '/');
	if (slash && host[0] != '/')
		*slash++ = '\0';
	else
		slash = NULL;
	rc = sink_db_mysql_init(db, host, slash, user, pass, sensor);
	free(copy);
	return rc;
}

int verify_source_db(struct verify_source *src, const char *kind, const char *spec,
		     const char *sensor, char *err, size_t err_size)
{
	struct db_src *d = calloc(1, sizeof(*d));
	int rc = -1;

	memset(src, 0, sizeof(*src));
	if (!d || (sensor && !(d->sensor = strdup(sensor)))) {
		free(d);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if (strcmp(kind, "sqlite") == 0) {
		src->kind = "sqlite";
		rc = sink_db_sqlite_init(&d->db, spec, sensor);
	} else if (strcmp(kind, "pgsql") == 0) {
		src->kind = "pgsql";
		rc = sink_db_pgsql_init(&d->db, spec, sensor);
	} else if (strcmp(kind, "mysql") == 0) {
		src->kind = "mysql";
		rc = mysql_init_spec(&d->db, spec, sensor);
	} else {
		snprintf(err, err_size, "%s: not a kind of store (sqlite, pgsql, mysql, jsonl)", kind);
	}
	if (rc < 0) {
		if (!err[0])
			snprintf(err, err_size, "%s %s: cannot set up", kind, spec);
		free(d->sensor);
		free(d);
		return -1;
	}
	src->each = db_each_rows;
	src->ctx = d;
	return 0;
}

void verify_source_close(struct verify_source *src)
{
	if (!src->ctx)
		return;
	if (strcmp(src->kind, "jsonl") == 0) {
		struct jsonl_src *js = src->ctx;

		free(js->path);
		free(js);
	} else {
		struct db_src *d = src->ctx;

		sink_db_free(&d->db);
		free(d->sensor);
		free(d);
	}
	src->ctx = NULL;
}
