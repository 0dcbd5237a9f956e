#include "sink/sink_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/sink.h"
#include "util/numfmt.h"

const char *const db_file_columns[DB_FILE_COLUMNS] = {
	"filestate", "filebytes",  "filesha256",   "filemime",	"filescan",
	"filesignature", "categories", "filegapbytes", "filestored", "filedataflow",
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
	row->file[6] = event_category_names(ev->categories, row->categories, sizeof(row->categories));
	row->file_gap_bytes[numfmt_u64(row->file_gap_bytes, f->gap_bytes)] = '\0';
	row->file[7] = row->file_gap_bytes;
	row->file[8] = f->stored ? f->stored : "";
	row->data_flow[numfmt_u64(row->data_flow, f->data_flow)] = '\0';
	row->file[9] = row->data_flow;
}

void db_row_from_event(struct db_row *row, const struct im_event *ev, uint64_t eventid)
{
	enum imspector_type type = event_imspector_type(ev->kind);

	memset(row, 0, sizeof(*row));
	row->eventid = eventid;
	row->timestamp = (int64_t)ev->ts;
	row->clientaddress = ev->client ? ev->client : "";
	row->protocolname = event_proto_imspector_name(ev->proto);
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
	file_columns(row, ev);
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

/* One pass over the rows not yet refused; the index of a refused row in
 * *bad, or -1 on a connection failure, 0 when committed. */
static int insert_pass(struct sink_db *db, const struct db_row *rows, size_t n,
		       const bool *skip, size_t *bad)
{
	size_t i;
	int rc;

	if (db->ops->begin(db) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (skip[i])
			continue;
		rc = db->ops->insert(db, &rows[i]);
		if (rc == SINK_DB_ROW_REJECTED) {
			*bad = i;
			return SINK_DB_ROW_REJECTED;
		}
		if (rc < 0)
			return -1;
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

/* ---- a database as a sink (sink.h), behind the writer ---- */

struct db_sink {
	struct sink_db db;
	struct db_row *rows;
	size_t n, cap;
};

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
	if (sink_db_insert_batch(&d->db, d->rows, n, &rejected) < 0) {
		snprintf(s->err, sizeof(s->err), "%s", d->db.err);
		s->err_no = 0;
		return -1;
	}
	if (rejected) {
		/* Left out, the rest kept: the writer counts them lost. */
		s->rejected += rejected;
		snprintf(s->err, sizeof(s->err), "%s", d->db.err);
		s->err_no = 0;
	}
	return 0;
}

static void db_sink_close(struct sink *s)
{
	struct db_sink *d = s->ctx;

	sink_db_free(&d->db);
	free(d->rows);
	free(d);
}

static const struct sink_ops db_sink_ops = {
	.name = "database",
	.write = db_sink_write,
	.flush = db_sink_flush,
	.close = db_sink_close,
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
	return 0;
}
