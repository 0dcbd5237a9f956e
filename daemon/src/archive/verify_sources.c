/* Where imwire verify reads rows from: a JSON lines file, or a database
 * through the sink's own backends (sink/sink_db.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/jsonl_row.h"
#include "archive/verify.h"
#include "event/event.h"
#include "sink/sink_db.h"
#include "util/bytebuf.h"

/* ---- JSON lines ---- */

struct jsonl_src {
	char *path;
};

static int jsonl_each(void *ctx, int (*fn)(void *arg, const struct verify_row *r), void *arg,
		      char *err, size_t err_size)
{
	struct jsonl_src *js = ctx;
	FILE *f = fopen(js->path, "re");
	struct verify_row row;
	struct jsonl_row j;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int rc = 0;

	if (!f) {
		snprintf(err, err_size, "%s: %s", js->path, strerror(errno));
		return -1;
	}
	jsonl_row_init(&j);
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (!jsonl_row_parse(&j, line, &row)) {
			/* Not an event of a chain: as a row that has no hash and no
			 * id, judged by the verifier like any unchained row. */
			memset(&row, 0, sizeof(row));
		}
		row.line = lineno;
		rc = fn(arg, &row);
	}
	free(line);
	jsonl_row_free(&j);
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

/* "[user[:password]@]host[:port]/database", or a socket's path for
 * host:port ("root@/run/mysqld/mysqld.sock/imwire"). */
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
	/* The database follows the last '/': a socket's path holds others. */
	slash = strrchr(host, '/');
	if (slash && slash != host)
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
	d->db.reader = true;
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
