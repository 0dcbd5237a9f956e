#include "sink/sink_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/chain.h"
#include "archive/purge.h"
#include "sink/sink.h"
#include "util/bytebuf.h"
#include "util/numfmt.h"

const char *const db_archive_columns[DB_ARCHIVE_TEXT_COLUMNS] = {
	[DB_COL_KIND] = "kind",
	[DB_COL_SERVER] = "server",
	[DB_COL_SESSION] = "session",
	[DB_COL_COMMUNITY_ID] = "community_id",
	[DB_COL_ACTION] = "action",
	[DB_COL_RULE] = "rule",
	[DB_COL_CATEGORIES] = "categories",
	[DB_COL_DELIVERED_TEXT] = "delivered_text",
	[DB_COL_ROUTE_TO] = "route_to",
	[DB_COL_CONTENT_TYPE] = "content_type",
	[DB_COL_PREV_HASH] = "prev_hash",
	[DB_COL_HASH] = "hash",
};

const char *const db_file_columns[DB_FILE_COLUMNS] = {
	"filestate",	 "filebytes",	 "filesha256", "filemime",     "filescan",
	"filesignature", "filegapbytes", "filestored", "filedataflow",
};

static void file_columns(struct db_row *row, const struct im_event *ev)
{
	const struct im_file_content *f = &ev->file;
	size_t i;

	for (i = 0; i < DB_FILE_COLUMNS; i++)
		row->file[i] = "";
	if (ev->kind != IM_KIND_FILE || f->state == IM_FILE_OFFERED)
		return;
	row->file_bytes[numfmt_u64(row->file_bytes, f->bytes)] = '\0';
	row->file[0] = event_file_state_name(f->state);
	row->file[1] = row->file_bytes;
	row->file[2] = f->has_sha256 ? f->sha256 : "";
	row->file[3] = f->mime ? f->mime : "";
	row->file[4] = event_scan_name(f->scan);
	row->file[5] = f->signature ? f->signature : "";
	row->file_gap_bytes[numfmt_u64(row->file_gap_bytes, f->gap_bytes)] = '\0';
	row->file[6] = row->file_gap_bytes;
	row->file[7] = f->stored ? f->stored : "";
	row->data_flow[numfmt_u64(row->data_flow, f->data_flow)] = '\0';
	row->file[8] = row->data_flow;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

void db_row_from_event(struct db_row *row, const struct im_event *ev, uint64_t eventid)
{
	enum imspector_type type = event_imspector_type(ev->kind);

	memset(row, 0, sizeof(*row));
	row->eventid = eventid;
	row->timestamp = (int64_t)ev->ts;
	row->clientaddress = ev->client ? ev->client : "";
	/* The chain's protocol: "" for the archive's own records (no protocol's). */
	row->protocolname = ev->proto == IMW_PROTO_NONE ? "" : event_proto_imspector_name(ev->proto);
	row->outgoing = ev->dir == IM_DIR_OUT ? 1 : 0;
	row->type = (int)type;
	row->localid = ev->local ? ev->local : "";
	row->remoteid = ev->remote ? ev->remote : "";
	row->filtered = ev->filtered ? 1 : 0;
	/* As IMSpector's SQL plugins: no data for typing and webcam events. */
	if (type == IMSPECTOR_TYPE_TYPING || type == IMSPECTOR_TYPE_WEBCAM)
		row->eventdata = "";
	else
		row->eventdata = ev->text ? ev->text : "";
	row->ts_us = chain_ts_us(ev->ts);
	row->archive[DB_COL_KIND] = event_kind_name(ev->kind);
	row->archive[DB_COL_SERVER] = nonempty(ev->server);
	row->archive[DB_COL_SESSION] = nonempty(ev->session);
	row->archive[DB_COL_COMMUNITY_ID] = nonempty(ev->community_id);
	row->archive[DB_COL_ACTION] = nonempty(ev->action);
	row->archive[DB_COL_RULE] = nonempty(ev->rule);
	row->archive[DB_COL_CATEGORIES] = nonempty(ev->categories);
	row->archive[DB_COL_DELIVERED_TEXT] = nonempty(ev->delivered_text);
	row->archive[DB_COL_ROUTE_TO] = nonempty(ev->route_to);
	row->archive[DB_COL_CONTENT_TYPE] = nonempty(ev->content_type);
	if (ev->chained) {
		row->chained = true;
		chain_hex(ev->prev_hash, row->prev_hex);
		chain_hex(ev->hash, row->hash_hex);
	}
	file_columns(row, ev);
}

bool db_sql_archive_names(struct bytebuf *b, const char *q)
{
	size_t i;
	bool ok = bytebuf_printf(b, ", %sts_us%s", q, q);

	for (i = 0; ok && i < DB_ARCHIVE_TEXT_COLUMNS; i++)
		ok = bytebuf_printf(b, ", %s%s%s", q, db_archive_columns[i], q);
	return ok;
}

bool db_sql_archive_params(struct bytebuf *b, int first_dollar)
{
	size_t i;
	bool ok = true;

	for (i = 0; ok && i < DB_ARCHIVE_PARAMS; i++)
		ok = first_dollar ? bytebuf_printf(b, ", $%d", first_dollar + (int)i)
				  : bytebuf_append_str(b, ", ?");
	return ok;
}

bool db_sql_file_names(struct bytebuf *b, const char *q)
{
	size_t i;
	bool ok = true;

	for (i = 0; ok && i < DB_FILE_COLUMNS; i++)
		ok = bytebuf_printf(b, ", %s%s%s", q, db_file_columns[i], q);
	return ok;
}

bool db_sql_file_params(struct bytebuf *b, int first_dollar)
{
	size_t i;
	bool ok = true;

	for (i = 0; ok && i < DB_FILE_COLUMNS; i++)
		ok = first_dollar ? bytebuf_printf(b, ", $%d", first_dollar + (int)i)
				  : bytebuf_append_str(b, ", ?");
	return ok;
}

bool db_sql_archive_add(struct bytebuf *b, const char *q, const char *text_type)
{
	size_t i;
	bool ok = bytebuf_printf(b, "ALTER TABLE %smessages%s ADD COLUMN IF NOT EXISTS %sts_us%s bigint",
				 q, q, q, q);

	for (i = 0; ok && i < DB_ARCHIVE_TEXT_COLUMNS; i++)
		ok = bytebuf_printf(b, ", ADD COLUMN IF NOT EXISTS %s%s%s %s", q,
				    db_archive_columns[i], q, text_type);
	return ok && bytebuf_terminate(b);
}

const char *db_row_text(const struct db_row *row, enum db_archive_column col)
{
	if (col == DB_COL_PREV_HASH)
		return row->chained ? row->prev_hex : NULL;
	if (col == DB_COL_HASH)
		return row->chained ? row->hash_hex : NULL;
	return row->archive[col];
}

int sink_db_common_init(struct sink_db *db, const struct sink_db_ops *ops, void *ctx,
			const char *sensor)
{
	memset(db, 0, sizeof(*db));
	if (!sensor)
		sensor = "";
	if (strlen(sensor) > SINK_DB_SENSOR_MAX)
		return -1;
	db->sensor = strdup(sensor);
	if (!db->sensor)
		return -1;
	db->ops = ops;
	db->ctx = ctx;
	db->timeout_s = SINK_DB_DEFAULT_TIMEOUT_S;
	return 0;
}

void sink_db_set_error(struct sink_db *db, const char *what, const char *detail)
{
	char *nl;

	snprintf(db->err, sizeof(db->err), "%s: %s: %s", db->ops->name, what,
		 detail ? detail : "unknown error");
	/* Client libraries end their messages with newlines: keep one line. */
	while ((nl = strchr(db->err, '\n')))
		*nl = nl[1] ? ' ' : '\0';
}

void sink_db_free(struct sink_db *db)
{
	if (!db->ops)
		return;
	if (db->connected)
		db->ops->disconnect(db);
	db->ops->destroy(db);
	free(db->sensor);
	memset(db, 0, sizeof(*db));
}

/* rows[0..n) one by one: the index of a refused row in *bad. */
static int insert_each(struct sink_db *db, const struct db_row *rows, size_t n, size_t *bad)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = db->ops->insert(db, &rows[i]);
		if (rc == SINK_DB_ROW_REJECTED) {
			*bad = i;
			return SINK_DB_ROW_REJECTED;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A run of rows none refused yet: together when the backend can, and one
 * by one after a refusal among them, to name the row. */
static int insert_run(struct sink_db *db, const struct db_row *rows, size_t n, size_t *bad)
{
	size_t stored = 0;
	int rc;

	if (db->ops->insert_rows && n > 1) {
		rc = db->ops->insert_rows(db, rows, n, &stored);
		if (rc != SINK_DB_ROW_REJECTED)
			return rc < 0 ? -1 : 0;
	}
	rc = insert_each(db, rows + stored, n - stored, bad);
	if (rc == SINK_DB_ROW_REJECTED)
		*bad += stored;
	return rc;
}

/* One pass over the rows not yet refused; the index of a refused row in
 * *bad, or -1 on a connection failure, 0 when committed. */
static int insert_pass(struct sink_db *db, const struct db_row *rows, size_t n,
		       const bool *skip, size_t *bad)
{
	size_t i = 0, run;
	int rc;

	if (db->ops->begin(db) < 0)
		return -1;
	while (i < n) {
		if (skip[i]) {
			i++;
			continue;
		}
		for (run = 1; i + run < n && !skip[i + run]; run++)
			;
		rc = insert_run(db, rows + i, run, bad);
		if (rc == SINK_DB_ROW_REJECTED)
			*bad += i;
		if (rc < 0)
			return rc;
		i += run;
	}
	return db->ops->commit(db);
}

int sink_db_insert_batch(struct sink_db *db, const struct db_row *rows, size_t n,
			 size_t *rejected)
{
	bool *skip;
	size_t bad = 0, passes;
	int rc = -1;

	*rejected = 0;
	if (!db->connected && db->ops->connect(db) < 0)
		return -1;
	skip = calloc(n ? n : 1, sizeof(*skip));
	if (!skip) {
		sink_db_set_error(db, "batch", "out of memory");
		db->ops->disconnect(db);
		return -1;
	}
	/* Each pass either commits or refuses one more row: at most n + 1. */
	for (passes = 0; passes <= n; passes++) {
		rc = insert_pass(db, rows, n, skip, &bad);
		if (rc != SINK_DB_ROW_REJECTED)
			break;
		skip[bad] = true;
		(*rejected)++;
		if (db->ops->rollback(db) < 0) {
			rc = -1;
			break;
		}
	}
	free(skip);
	if (rc < 0)
		db->ops->disconnect(db);
	return rc < 0 ? -1 : 0;
}

int sink_db_query(struct sink_db *db, const char *sql, const char *const *params, size_t n_params,
		  db_row_fn fn, void *arg, uint64_t *changed)
{
	if (changed)
		*changed = 0;
	if (!db->connected && db->ops->connect(db) < 0)
		return -1;
	if (db->ops->query(db, sql, params, n_params, fn, arg, changed) < 0) {
		db->ops->disconnect(db);
		return -1;
	}
	return 0;
}

struct tail_arg {
	uint8_t *hash;
	bool *found;
	bool bad;
};

static int take_tail(void *arg, const char *const *cols, size_t n)
{
	struct tail_arg *t = arg;

	if (n == 1 && cols[0] && chain_unhex(cols[0], t->hash))
		*t->found = true;
	else
		t->bad = true;
	return 1;
}

int sink_db_chain_tail(struct sink_db *db, uint64_t before, uint8_t hash[32], bool *found)
{
	static const char sql[] =
		"SELECT hash FROM messages WHERE sensor = ? AND eventid < ? AND hash IS NOT NULL"
		" ORDER BY eventid DESC LIMIT 1";
	struct tail_arg t = { hash, found, false };
	char id[24];
	const char *params[2] = { db->sensor, id };

	*found = false;
	snprintf(id, sizeof(id), "%lld", (long long)before);
	if (sink_db_query(db, sql, params, 2, take_tail, &t, NULL) < 0)
		return -1;
	if (t.bad) {
		sink_db_set_error(db, "chain", "the last stored hash is not 64 hex digits");
		return -1;
	}
	return 0;
}

/* ---- a database as a sink (sink.h), behind the writer ---- */

struct db_sink {
	struct sink_db db;
	struct db_row *rows;
	size_t n, cap;
	/* A purge planned: its rows go once the next flush stored its record. */
	bool purging;
	struct db_purge plan;
};

static void db_sink_drop_plan(struct db_sink *d)
{
	if (!d->purging)
		return;
	sink_db_purge_free(&d->plan);
	d->purging = false;
}

static int db_sink_write(struct sink *s, const struct im_event *ev, uint64_t eventid)
{
	struct db_sink *d = s->ctx;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct db_row *r = realloc(d->rows, cap * sizeof(*r));

		if (!r)
			return sink_fail(s, ENOMEM, "%s: a row", d->db.ops->name);
		d->rows = r;
		d->cap = cap;
	}
	/* The row's strings point into ev, valid until flush() returns. */
	db_row_from_event(&d->rows[d->n++], ev, eventid);
	return 0;
}

static int db_sink_flush(struct sink *s)
{
	struct db_sink *d = s->ctx;
	size_t rejected = 0, n = d->n;

	d->n = 0;
	if (!n)
		return 0;
	if (sink_db_insert_batch(&d->db, d->rows, n, &rejected) < 0)
		goto failed;
	/* The purge's record is stored: now its rows. Cut short, the next
	 * attempt finds the record and finishes (sink_db_purge_plan). */
	if (d->purging && !rejected && sink_db_purge_delete(&d->db, &d->plan) < 0)
		goto failed;
	db_sink_drop_plan(d);
	if (rejected) {
		/* Left out, the rest kept: the writer counts them lost. */
		s->rejected += rejected;
		snprintf(s->err, sizeof(s->err), "%s", d->db.err);
		s->err_no = 0;
	}
	return 0;
failed:
	db_sink_drop_plan(d);
	snprintf(s->err, sizeof(s->err), "%s", d->db.err);
	s->err_no = 0;
	return -1;
}

static int db_sink_purge(struct sink *s, const struct purge_request *req, uint64_t id,
			 struct chain_purge *rec)
{
	struct db_sink *d = s->ctx;
	int rc;

	db_sink_drop_plan(d);
	rc = sink_db_purge_plan(&d->db, req, id, &d->plan);
	if (rc < 0) {
		snprintf(s->err, sizeof(s->err), "%s", d->db.err);
		s->err_no = 0;
		return -1;
	}
	if (rc > 0) {
		d->purging = true;
		*rec = d->plan.pl.p;
	}
	return rc;
}

static void db_sink_close(struct sink *s)
{
	struct db_sink *d = s->ctx;

	db_sink_drop_plan(d);
	sink_db_free(&d->db);
	free(d->rows);
	free(d);
}

static int db_sink_chain_tail(struct sink *s, uint64_t before, uint8_t hash[32], bool *found)
{
	struct db_sink *d = s->ctx;

	if (sink_db_chain_tail(&d->db, before, hash, found) < 0) {
		snprintf(s->err, sizeof(s->err), "%s", d->db.err);
		s->err_no = 0;
		return -1;
	}
	return 0;
}

static const struct sink_ops db_sink_ops = {
	.name = "database",
	.write = db_sink_write,
	.flush = db_sink_flush,
	.close = db_sink_close,
	.chain_tail = db_sink_chain_tail,
	.purge = db_sink_purge,
};

int sink_db_open(struct sink *s, struct sink_db *db, const char *id)
{
	struct db_sink *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	memset(s, 0, sizeof(*s));
	s->id = strdup(id);
	if (!s->id) {
		free(d);
		return -1;
	}
	d->db = *db;
	memset(db, 0, sizeof(*db));
	s->ops = &db_sink_ops;
	s->ctx = d;
	s->chained = true;
	return 0;
}
