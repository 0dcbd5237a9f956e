/* PostgreSQL's `messages` partitioned by time, for large sites where many
 * sensors write one archive (README, "Large sites: PostgreSQL partitions").
 *
 *   messages                       PARTITION BY LIST (sensor)
 *     messages_<name>_<hash>       one sensor's, PARTITION BY RANGE ("timestamp")
 *       ..._<YYYYMMDD>_<YYYYMMDD>  one day, week or month [from, to), UTC
 *       ..._default                anything outside them (old captures)
 *
 * Each sensor's writer makes its own partitions, `ahead` units ahead of
 * time, and retention drops a sensor's oldest range partitions whole when
 * every row in them has expired (nothing held, no audit record), instead
 * of deleting rows. The names carry the bounds, so nothing needs to parse
 * PostgreSQL's partition expressions. A table that is not partitioned
 * (IMSpector's, an older imwire's) is used as it is. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink/sink_pgsql_internal.h"
#include "util/bytebuf.h"

#define DEFAULT_AHEAD 3
#define MAX_PARTS 4096
#define NAME_MAX_LEN 64

static const char create_parent[] =
	"CREATE TABLE messages ("
	" id bigserial NOT NULL,"
	" \"timestamp\" timestamp with time zone NOT NULL default now(),"
	" clientaddress varchar,"
	" protocolname varchar,"
	" outgoing int default 0,"
	" type int default 0,"
	" localid varchar,"
	" remoteid varchar,"
	" filtered int default 0,"
	" eventdata text,"
	" sensor varchar(64) NOT NULL DEFAULT '',"
	" eventid bigint"
	") PARTITION BY LIST (sensor)";

/* A unique index of a partitioned table holds every partition key. */
static const char create_parent_index[] =
	"CREATE UNIQUE INDEX IF NOT EXISTS messages_sensor_eventid"
	" ON messages (sensor, eventid, \"timestamp\")";

int sink_db_pgsql_partition(struct sink_db *db, const char *unit, unsigned ahead, char *err,
			    size_t err_size)
{
	struct pgsql_ctx *c = db->ctx;

	if (!unit || strcmp(unit, "none") == 0)
		c->unit = PART_NONE;
	else if (strcmp(unit, "day") == 0)
		c->unit = PART_DAY;
	else if (strcmp(unit, "week") == 0)
		c->unit = PART_WEEK;
	else if (strcmp(unit, "month") == 0)
		c->unit = PART_MONTH;
	else {
		snprintf(err, err_size, "pgsql_partition: \"%s\" is not none, day, week or month", unit);
		return -1;
	}
	c->ahead = ahead ? ahead : DEFAULT_AHEAD;
	return 0;
}

/* ---- time ---- */

static int64_t unit_start(enum pgsql_part_unit u, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	time_t tt = (time_t)t;
	struct tm tm;

	switch (u) {
	case PART_WEEK: /* Monday; 1970-01-01 was a Thursday */
		return (days - ((days % 7 + 7 + 3) % 7)) * 86400;
	case PART_MONTH:
		gmtime_r(&tt, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		return (int64_t)timegm(&tm);
	default:
		return days * 86400;
	}
}

static int64_t unit_next(enum pgsql_part_unit u, int64_t t)
{
	time_t tt = (time_t)unit_start(u, t);
	struct tm tm;

	switch (u) {
	case PART_WEEK:
		return (int64_t)tt + 7 * 86400;
	case PART_MONTH:
		gmtime_r(&tt, &tm);
		tm.tm_mon++;
		return (int64_t)timegm(&tm);
	default:
		return (int64_t)tt + 86400;
	}
}

static void ymd(int64_t t, char out[9])
{
	time_t tt = (time_t)t;
	struct tm tm;

	unsigned y, m, d;

	gmtime_r(&tt, &tm);
	y = (unsigned)(tm.tm_year + 1900) % 10000;
	m = (unsigned)tm.tm_mon + 1;
	d = (unsigned)tm.tm_mday;
	out[0] = (char)('0' + y / 1000), out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10), out[3] = (char)('0' + y % 10);
	out[4] = (char)('0' + m / 10), out[5] = (char)('0' + m % 10);
	out[6] = (char)('0' + d / 10), out[7] = (char)('0' + d % 10);
	out[8] = '\0';
}

static bool parse_ymd(const char *s, int64_t *t)
{
	struct tm tm;
	int i;

	for (i = 0; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
	tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
	tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
	*t = (int64_t)timegm(&tm);
	return true;
}

/* ---- names ---- */

/* "messages_<up to 16 of [a-z0-9]>_<8 hex of SHA-256(sensor)>": any
 * sensor name gives a plain, distinct identifier. */
static void make_tag(struct pgsql_ctx *c, const char *sensor)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	size_t n = 0, i;
	char clean[17];

	crypto_hash_sha256(h, (const unsigned char *)sensor, strlen(sensor));
	for (i = 0; sensor[i] && n < 16; i++) {
		char ch = sensor[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			clean[n++] = ch;
	}
	clean[n] = '\0';
	snprintf(c->tag, sizeof(c->tag), "messages_%s_%02x%02x%02x%02x", clean, h[0], h[1], h[2],
		 h[3]);
}

static void range_name(const struct pgsql_ctx *c, int64_t from, int64_t to, char *out,
		       size_t size)
{
	char a[9], b[9];

	ymd(from, a);
	ymd(to, b);
	snprintf(out, size, "%s_%s_%s", c->tag, a, b);
}

/* One of this sensor's range partitions: its bounds from its name. */
static bool parse_range_name(const struct pgsql_ctx *c, const char *name, int64_t *from,
			     int64_t *to)
{
	size_t n = strlen(c->tag);

	return strncmp(name, c->tag, n) == 0 && name[n] == '_' && strlen(name + n) == 18 &&
	       name[n + 9] == '_' && parse_ymd(name + n + 1, from) && parse_ymd(name + n + 10, to) &&
	       *to > *from;
}

/* ---- what is there ---- */

static int take_first(void *arg, const char *const *cols, size_t n)
{
	char *out = arg;

	snprintf(out, 8, "%s", n && cols[0] ? cols[0] : "");
	return 1;
}

/* The relkind of `messages`: "r", "p", or "" when there is none. */
static int table_kind(struct sink_db *db, char kind[8])
{
	kind[0] = '\0';
	return db->ops->query(db,
			      "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('messages')",
			      NULL, 0, take_first, kind, NULL);
}

struct part_list {
	const struct pgsql_ctx *c;
	struct {
		int64_t from, to;
		char name[NAME_MAX_LEN];
	} v[MAX_PARTS];
	size_t n;
};

static int take_part(void *arg, const char *const *cols, size_t n)
{
	struct part_list *l = arg;
	int64_t from, to;

	if (n < 1 || !cols[0] || l->n == MAX_PARTS || !parse_range_name(l->c, cols[0], &from, &to))
		return 0;
	l->v[l->n].from = from;
	l->v[l->n].to = to;
	snprintf(l->v[l->n].name, NAME_MAX_LEN, "%s", cols[0]);
	l->n++;
	return 0;
}

static int by_from(const void *a, const void *b)
{
	const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* This sensor's range partitions, oldest first. */
static int list_parts(struct sink_db *db, struct part_list *l)
{
	struct pgsql_ctx *c = db->ctx;
	const char *params[1] = { c->tag };

	l->c = c;
	l->n = 0;
	if (db->ops->query(db,
			   "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
			   " WHERE i.inhparent = to_regclass(?)",
			   params, 1, take_part, l, NULL) < 0)
		return -1;
	qsort(l->v, l->n, sizeof(l->v[0]), by_from);
	return 0;
}

/* ---- making them ---- */

int pgsql_part_create(struct sink_db *db)
{
	struct pgsql_ctx *c = db->ctx;
	char kind[8];

	if (c->unit == PART_NONE)
		return 0;
	if (table_kind(db, kind) < 0)
		return -1;
	if (kind[0])
		return 0; /* there is one: used as it is */
	return pgsql_exec(db, create_parent) < 0 || pgsql_exec(db, create_parent_index) < 0 ? -1 : 0;
}

static int exec_sql(struct sink_db *db, struct bytebuf *b)
{
	int rc = bytebuf_terminate(b) ? pgsql_exec(db, (const char *)b->data) : -1;

	bytebuf_clear(b);
	return rc;
}

int pgsql_part_setup(struct sink_db *db)
{
	struct pgsql_ctx *c = db->ctx;
	struct part_list *l;
	struct bytebuf b;
	char kind[8], *lit;
	size_t i;
	int rc;

	if (table_kind(db, kind) < 0)
		return -1;
	/* A reader (imwire verify) makes nothing. */
	c->partitioned = strcmp(kind, "p") == 0 && !db->reader;
	if (!c->partitioned)
		return 0;
	/* Another sensor's writer made it, or ours: this sensor's part. */
	c->used = c->unit != PART_NONE ? c->unit : PART_MONTH;
	if (!c->ahead)
		c->ahead = DEFAULT_AHEAD;
	make_tag(c, db->sensor);
	lit = PQescapeLiteral(c->conn, db->sensor, strlen(db->sensor));
	if (!lit)
		return pgsql_fail(db, "partition");
	bytebuf_init(&b);
	rc = bytebuf_printf(&b,
			    "CREATE TABLE IF NOT EXISTS %s PARTITION OF messages FOR VALUES IN (%s)"
			    " PARTITION BY RANGE (\"timestamp\")",
			    c->tag, lit) ? exec_sql(db, &b) : -1;
	PQfreemem(lit);
	if (rc == 0 && bytebuf_printf(&b, "CREATE TABLE IF NOT EXISTS %s_default PARTITION OF %s DEFAULT",
				      c->tag, c->tag))
		rc = exec_sql(db, &b);
	bytebuf_free(&b);
	if (rc < 0)
		return -1;
	/* Go on from the partitions there are (made with any unit). */
	l = malloc(sizeof(*l));
	if (!l) {
		sink_db_set_error(db, "partition", "out of memory");
		return -1;
	}
	if (list_parts(db, l) < 0) {
		free(l);
		return -1;
	}
	c->until = 0;
	for (i = 0; i < l->n; i++)
		if (l->v[i].to > c->until)
			c->until = l->v[i].to;
	free(l);
	return pgsql_part_ensure(db, (int64_t)time(NULL));
}

int pgsql_part_ensure(struct sink_db *db, int64_t now)
{
	struct pgsql_ctx *c = db->ctx;
	int64_t target, from, to;
	char name[NAME_MAX_LEN], a[9], b[9];
	struct bytebuf sql;
	unsigned i;

	if (!c->partitioned)
		return 0;
	target = unit_start(c->used, now);
	for (i = 0; i < c->ahead; i++)
		target = unit_next(c->used, target);
	if (c->until >= target)
		return 0;
	from = c->until > unit_start(c->used, now) ? c->until : unit_start(c->used, now);
	bytebuf_init(&sql);
	for (; from < target; from = to) {
		to = unit_next(c->used, from);
		range_name(c, from, to, name, sizeof(name));
		ymd(from, a);
		ymd(to, b);
		if (!bytebuf_printf(&sql,
				    "CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM"
				    " ('%.4s-%.2s-%.2s 00:00:00+00') TO ('%.4s-%.2s-%.2s 00:00:00+00')",
				    name, c->tag, a, a + 4, a + 6, b, b + 4, b + 6)) {
			bytebuf_free(&sql);
			sink_db_set_error(db, "partition", "out of memory");
			return -1;
		}
		/* Refused (rows of that time wait in the default partition, or
		 * a partition of another unit overlaps): the rows go to the
		 * default, which always takes them. Not a failure of the batch. */
		if (exec_sql(db, &sql) < 0)
			c->warned = true;
		c->until = to;
	}
	bytebuf_free(&sql);
	return 0;
}

/* ---- retention ---- */

struct counts {
	uint64_t all, keep;
	bool ok;
};

static int take_counts(void *arg, const char *const *cols, size_t n)
{
	struct counts *k = arg;

	if (n == 2 && cols[0] && cols[1]) {
		k->all = strtoull(cols[0], NULL, 10);
		k->keep = strtoull(cols[1], NULL, 10);
		k->ok = true;
	}
	return 1;
}

int pgsql_part_expired(struct sink_db *db, uint64_t to, int64_t before_us, const char *hold,
		       int64_t *lo_us, int64_t *hi_us, uint64_t *rows)
{
	struct pgsql_ctx *c = db->ctx;
	struct part_list *l;
	struct bytebuf sql;
	char totext[24];
	const char *params[2] = { hold ? hold : "", totext };
	size_t i;
	int rc = 0;

	*lo_us = *hi_us = 0;
	*rows = 0;
	if (!c->partitioned)
		return 0;
	l = malloc(sizeof(*l));
	if (!l) {
		sink_db_set_error(db, "partition", "out of memory");
		return -1;
	}
	if (list_parts(db, l) < 0) {
		free(l);
		return -1;
	}
	snprintf(totext, sizeof(totext), "%" PRIu64, to);
	bytebuf_init(&sql);
	/* The oldest ones, one after the other with no gap, each wholly older
	 * than the cutoff, none holding a row the purge keeps. */
	for (i = 0; i < l->n && rc == 0; i++) {
		struct counts k = { 0, 0, false };

		if (l->v[i].to * 1000000 > before_us || (i && l->v[i].from != l->v[i - 1].to))
			break;
		bytebuf_clear(&sql);
		if (!bytebuf_printf(&sql,
				    "SELECT count(*), count(*) FILTER (WHERE kind = 'audit' OR eventid IS NULL"
				    " OR eventid > ? OR lower(localid) = ANY (string_to_array(lower(?), ','))"
				    " OR lower(split_part(localid, '/', 1)) = ANY (string_to_array(lower(?), ',')))"
				    " FROM %s",
				    l->v[i].name) ||
		    !bytebuf_terminate(&sql)) {
			sink_db_set_error(db, "partition", "out of memory");
			rc = -1;
			break;
		}
		{
			const char *p3[3] = { totext, params[0], params[0] };

			rc = db->ops->query(db, (const char *)sql.data, p3, 3, take_counts, &k, NULL);
		}
		if (rc < 0 || !k.ok || k.keep)
			break;
		*lo_us = l->v[0].from * 1000000;
		*hi_us = l->v[i].to * 1000000;
		*rows += k.all;
	}
	bytebuf_free(&sql);
	free(l);
	return rc;
}

int pgsql_part_drop(struct sink_db *db, int64_t lo_us, int64_t hi_us)
{
	struct part_list *l;
	struct bytebuf sql;
	size_t i;
	int rc = 0;

	if (lo_us >= hi_us)
		return 0;
	l = malloc(sizeof(*l));
	if (!l) {
		sink_db_set_error(db, "partition", "out of memory");
		return -1;
	}
	if (list_parts(db, l) < 0) {
		free(l);
		return -1;
	}
	bytebuf_init(&sql);
	for (i = 0; i < l->n && rc == 0; i++) {
		if (l->v[i].from * 1000000 < lo_us || l->v[i].to * 1000000 > hi_us)
			continue;
		if (!bytebuf_printf(&sql, "DROP TABLE IF EXISTS %s", l->v[i].name)) {
			sink_db_set_error(db, "partition", "out of memory");
			rc = -1;
			break;
		}
		rc = exec_sql(db, &sql);
	}
	bytebuf_free(&sql);
	free(l);
	return rc;
}
