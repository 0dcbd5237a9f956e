/* Retention in a database (archive/purge.h): the plan, made from the
 * sensor's rows through the backend's generic query, and the deletes, one
 * statement (one transaction) per run of rows. The same SQL serves
 * SQLite, PostgreSQL and MariaDB. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/purge.h"
#include "sink/sink_db.h"

#define SCAN_PAGE 10000

static const char sql_record[] =
	"SELECT eventdata FROM messages WHERE sensor = ? AND eventid = ?";
static const char sql_last_purge[] =
	"SELECT eventdata FROM messages WHERE sensor = ? AND action = 'purge' AND eventid < ?"
	" ORDER BY eventid DESC LIMIT 1";
static const char sql_to[] =
	"SELECT MAX(eventid) FROM messages WHERE sensor = ? AND eventid < ? AND ts_us < ?";
/* The rows of partitions dropped whole (ts_us in [lo, hi)) are not read. */
static const char sql_scan[] =
	"SELECT eventid, ts_us, localid, kind, hash FROM messages WHERE sensor = ? AND eventid > ?"
	" AND eventid <= ? AND (ts_us IS NULL OR ts_us < ? OR ts_us >= ?)"
	" ORDER BY eventid LIMIT 10000";
static const char sql_span_rows[] =
	"SELECT count(*) FROM messages WHERE sensor = ? AND eventid <= ? AND ts_us >= ?"
	" AND ts_us < ?";
static const char sql_hash[] = "SELECT hash FROM messages WHERE sensor = ? AND eventid = ?";
static const char sql_delete[] =
	"DELETE FROM messages WHERE sensor = ? AND eventid >= ? AND eventid <= ?";

struct text_arg {
	char *text; /* the first row's first column, copied */
	bool found;
	bool oom;
};

static int take_text(void *arg, const char *const *cols, size_t n)
{
	struct text_arg *t = arg;

	t->found = true;
	if (n >= 1 && cols[0] && !(t->text = strdup(cols[0])))
		t->oom = true;
	return 1;
}

static int query_text(struct sink_db *db, const char *sql, const char *const *params, size_t n,
		      struct text_arg *t)
{
	memset(t, 0, sizeof(*t));
	if (sink_db_query(db, sql, params, n, take_text, t, NULL) < 0)
		return -1;
	if (t->oom) {
		sink_db_set_error(db, "retention", "out of memory");
		return -1;
	}
	return 0;
}

struct scan_arg {
	struct purge_plan *pl;
	uint64_t last; /* the last id seen */
	size_t rows;
	bool bad;
};

static int scan_row(void *arg, const char *const *c, size_t n)
{
	struct scan_arg *s = arg;
	uint8_t hash[CHAIN_HASH_LEN];
	bool has_hash;

	if (n != 5 || !c[0]) {
		s->bad = true;
		return 1;
	}
	s->last = strtoull(c[0], NULL, 10);
	s->rows++;
	has_hash = c[4] && chain_unhex(c[4], hash);
	purge_plan_row(s->pl, s->last, c[1] ? strtoll(c[1], NULL, 10) : 0, c[2], c[3],
		       has_hash ? hash : NULL);
	return 0;
}

/* Every row of the sensor in (from, to] but those of the partitions
 * dropped whole, a page at a time (a purge may span millions of rows; no
 * client library should hold them all). */
static int scan(struct sink_db *db, struct db_purge *dp)
{
	char lo[24], hi[24], a[24], b[24];
	const char *params[5] = { db->sensor, lo, hi, a, b };
	struct scan_arg s = { &dp->pl, dp->pl.p.from, 0, false };

	snprintf(hi, sizeof(hi), "%" PRIu64, dp->pl.p.to);
	snprintf(a, sizeof(a), "%" PRId64, dp->drop_lo_us);
	snprintf(b, sizeof(b), "%" PRId64, dp->drop_hi_us);
	do {
		snprintf(lo, sizeof(lo), "%" PRIu64, s.last);
		s.rows = 0;
		if (sink_db_query(db, sql_scan, params, 5, scan_row, &s, NULL) < 0)
			return -1;
		if (s.bad) {
			sink_db_set_error(db, "retention", "a row without an event id in the range");
			return -1;
		}
	} while (s.rows == SCAN_PAGE);
	if (!purge_plan_end(&dp->pl)) {
		sink_db_set_error(db, "retention", "out of memory");
		return -1;
	}
	return 0;
}

/* The partitions a purge drops whole (PostgreSQL's), checked against a
 * count by time: what the scan leaves out must be exactly their rows. */
static int span_of_parts(struct sink_db *db, struct db_purge *dp)
{
	char to[24], a[24], b[24];
	const char *params[4] = { db->sensor, to, a, b };
	struct text_arg t;
	uint64_t rows = 0;

	dp->drop_lo_us = dp->drop_hi_us = 0;
	if (!db->ops->purge_parts)
		return 0;
	if (db->ops->purge_parts(db, dp->pl.p.to, dp->pl.p.before_us, dp->pl.p.hold,
				 &dp->drop_lo_us, &dp->drop_hi_us, &rows) < 0)
		return -1;
	if (dp->drop_lo_us >= dp->drop_hi_us)
		return 0;
	snprintf(to, sizeof(to), "%" PRIu64, dp->pl.p.to);
	snprintf(a, sizeof(a), "%" PRId64, dp->drop_lo_us);
	snprintf(b, sizeof(b), "%" PRId64, dp->drop_hi_us);
	if (query_text(db, sql_span_rows, params, 4, &t) < 0)
		return -1;
	if (!t.text || strtoull(t.text, NULL, 10) != rows)
		dp->drop_lo_us = dp->drop_hi_us = 0; /* rows there by time but not by partition */
	else
		dp->dropped = rows;
	free(t.text);
	return 0;
}

/* Row `to`'s hash: the chain goes on from it (zeros: a row from before
 * the chain). */
static int continuation(struct sink_db *db, struct db_purge *dp)
{
	char to[24];
	const char *params[2] = { db->sensor, to };
	struct text_arg t;

	snprintf(to, sizeof(to), "%" PRIu64, dp->pl.p.to);
	if (query_text(db, sql_hash, params, 2, &t) < 0)
		return -1;
	if (!t.text || !chain_unhex(t.text, dp->pl.p.cont))
		memset(dp->pl.p.cont, 0, CHAIN_HASH_LEN);
	free(t.text);
	return 0;
}

/* The plan over what the store holds now (the record's figures, when it
 * is made from a stored record). */
static int make_plan(struct sink_db *db, struct db_purge *dp)
{
	if (span_of_parts(db, dp) < 0 || scan(db, dp) < 0 || continuation(db, dp) < 0)
		return -1;
	dp->pl.p.removed += dp->dropped;
	return 0;
}

int sink_db_purge_delete(struct sink_db *db, const struct db_purge *dp)
{
	char a[24], b[24];
	const char *params[3] = { db->sensor, a, b };
	size_t i;

	if (dp->drop_lo_us < dp->drop_hi_us && db->ops->drop_parts &&
	    db->ops->drop_parts(db, dp->drop_lo_us, dp->drop_hi_us) < 0) {
		db->ops->disconnect(db);
		return -1;
	}
	for (i = 0; i < dp->pl.n_runs; i++) {
		snprintf(a, sizeof(a), "%" PRIu64, dp->pl.runs[i].first);
		snprintf(b, sizeof(b), "%" PRIu64, dp->pl.runs[i].last);
		if (sink_db_query(db, sql_delete, params, 3, NULL, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

void sink_db_purge_free(struct db_purge *dp)
{
	purge_plan_free(&dp->pl);
	free(dp->hold);
	memset(dp, 0, sizeof(*dp));
}

/* The record of request id is stored: finish what it says (the rows it
 * removes that are still there). */
static int resume(struct sink_db *db, char *text)
{
	struct chain_purge rec;
	struct db_purge dp;
	int rc;

	memset(&dp, 0, sizeof(dp));
	if (!chain_purge_parse(text, &rec)) {
		sink_db_set_error(db, "retention", "the purge record stored does not parse");
		return -1;
	}
	if (!purge_plan_begin(&dp.pl, rec.from, rec.to, rec.before_us, rec.hold)) {
		sink_db_set_error(db, "retention", "out of memory");
		return -1;
	}
	rc = make_plan(db, &dp);
	if (rc == 0)
		rc = sink_db_purge_delete(db, &dp);
	sink_db_purge_free(&dp);
	return rc;
}

/* The `to` of the sensor's last purge before id (0: none). */
static int last_purge_end(struct sink_db *db, const char *idtext, uint64_t *prev_to)
{
	const char *params[2] = { db->sensor, idtext };
	struct chain_purge last;
	struct text_arg t;

	*prev_to = 0;
	if (query_text(db, sql_last_purge, params, 2, &t) < 0)
		return -1;
	if (t.found && (!t.text || !chain_purge_parse(t.text, &last))) {
		free(t.text);
		sink_db_set_error(db, "retention", "the last purge record does not parse");
		return -1;
	}
	if (t.found)
		*prev_to = last.to;
	free(t.text);
	return 0;
}

/* ---- rows from before the chain ----
 * An IMSpector table upgraded in place keeps its older rows, which have
 * no event id: outside every chain, they expire by their own timestamp
 * column (its type is the backend's), unless held, with no record. */

#define LEGACY_DELETE_IDS 500

struct legacy_arg {
	const struct purge_hold *hold;
	uint64_t last;  /* the last id seen */
	size_t rows;
	struct bytebuf ids; /* "1,2,3" to delete */
	size_t n_ids;
	bool oom;
};

static int legacy_row(void *arg, const char *const *c, size_t n)
{
	struct legacy_arg *a = arg;

	if (n != 2 || !c[0])
		return 1;
	a->last = strtoull(c[0], NULL, 10);
	a->rows++;
	if (purge_hold_matches(a->hold, c[1]))
		return 0;
	if (!bytebuf_printf(&a->ids, "%s%" PRIu64, a->n_ids ? "," : "", a->last))
		a->oom = true;
	a->n_ids++;
	return 0;
}

static int legacy_delete(struct sink_db *db, struct legacy_arg *a)
{
	struct bytebuf sql;
	int rc;

	if (!a->n_ids)
		return 0;
	bytebuf_init(&sql);
	/* The ids are numbers this code printed: no quoting to get wrong. */
	if (!bytebuf_printf(&sql, "DELETE FROM messages WHERE eventid IS NULL AND id IN (%.*s)",
			    (int)a->ids.len, (const char *)a->ids.data) ||
	    !bytebuf_terminate(&sql)) {
		bytebuf_free(&sql);
		sink_db_set_error(db, "retention", "out of memory");
		return -1;
	}
	rc = sink_db_query(db, (const char *)sql.data, NULL, 0, NULL, NULL, NULL);
	bytebuf_free(&sql);
	bytebuf_clear(&a->ids);
	a->n_ids = 0;
	return rc;
}

static int purge_legacy(struct sink_db *db, const struct purge_request *req)
{
	static const char sql_pg[] =
		"SELECT id, localid FROM messages WHERE eventid IS NULL AND id > ?"
		" AND \"timestamp\" < to_timestamp(?) ORDER BY id LIMIT 10000";
	static const char sql_other[] =
		"SELECT id, localid FROM messages WHERE eventid IS NULL AND id > ?"
		" AND timestamp < ? ORDER BY id LIMIT 10000";
	struct purge_hold hold;
	struct legacy_arg a;
	char lo[24], before[24];
	const char *params[2] = { lo, before };
	const char *sql = strcmp(db->ops->name, "pgsql") == 0 ? sql_pg : sql_other;
	int rc = 0;

	if (!purge_hold_parse(&hold, req->hold)) {
		sink_db_set_error(db, "retention", "out of memory");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.hold = &hold;
	bytebuf_init(&a.ids);
	/* Seconds, rounded down: a row of the cutoff's second stays. */
	snprintf(before, sizeof(before), "%" PRId64,
		 req->before_us >= 0 ? req->before_us / 1000000 : -((-req->before_us + 999999) / 1000000));
	do {
		snprintf(lo, sizeof(lo), "%" PRIu64, a.last);
		a.rows = 0;
		rc = sink_db_query(db, sql, params, 2, legacy_row, &a, NULL);
		if (rc == 0 && a.oom) {
			sink_db_set_error(db, "retention", "out of memory");
			rc = -1;
		}
		while (rc == 0 && a.n_ids >= LEGACY_DELETE_IDS)
			rc = legacy_delete(db, &a);
	} while (rc == 0 && a.rows == SCAN_PAGE);
	if (rc == 0)
		rc = legacy_delete(db, &a);
	bytebuf_free(&a.ids);
	purge_hold_free(&hold);
	return rc;
}

int sink_db_purge_plan(struct sink_db *db, const struct purge_request *req, uint64_t id,
		       struct db_purge *dp)
{
	char idtext[24], before[24];
	const char *params[3] = { db->sensor, idtext, NULL };
	struct text_arg t;
	uint64_t prev_to, to;
	int rc;

	memset(dp, 0, sizeof(*dp));
	if (purge_legacy(db, req) < 0)
		return -1;
	snprintf(idtext, sizeof(idtext), "%" PRIu64, id);
	if (query_text(db, sql_record, params, 2, &t) < 0)
		return -1;
	if (t.found) {
		rc = t.text ? resume(db, t.text) : 0;
		free(t.text);
		return rc < 0 ? -1 : 0;
	}
	if (last_purge_end(db, idtext, &prev_to) < 0)
		return -1;
	snprintf(before, sizeof(before), "%" PRId64, req->before_us);
	params[1] = idtext;
	params[2] = before;
	if (query_text(db, sql_to, params, 3, &t) < 0)
		return -1;
	to = t.text ? strtoull(t.text, NULL, 10) : 0;
	free(t.text);
	/* A purge covers all before it (purge.h): never less than the last. */
	if (to < prev_to)
		to = prev_to;
	if (!to)
		return 0; /* nothing older than the cutoff */
	dp->hold = strdup(req->hold);
	if (!dp->hold || !purge_plan_begin(&dp->pl, 0, to, req->before_us, dp->hold)) {
		free(dp->hold);
		dp->hold = NULL;
		sink_db_set_error(db, "retention", "out of memory");
		return -1;
	}
	rc = make_plan(db, dp);
	if (rc < 0 || !dp->pl.p.removed) {
		/* A failure, or all of it held: no record, nothing to do. */
		sink_db_purge_free(dp);
		return rc;
	}
	return 1;
}
